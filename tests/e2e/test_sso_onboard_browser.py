"""Issue 21 in the browser: an IAM Identity Center profile onboarded end to end in JupyterLab.

A person types the start URL and SSO region into the pane, clicks Log in, opens
the verification link the pane shows (a second tab, as on any machine), checks
the code and allows access; the pane lists the accounts and roles (paginated by
the local portal, awswidget/demo/sso_portal.py), the person filters, selects, saves; the
picker lists and selects the new profile and verifies it: botocore's SSO
provider gets role credentials from the portal (a real sandbox IAM key) and
moto's STS answers with the sandbox account.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from awswidget.demo import ACCOUNTS, Sandbox
from awswidget.demo.sso_portal import Account, SsoServer, running

from .aws import new_key, read_ini
from .conftest import screenshot
from .kernel import KernelProbe
from .pages import LabPage, choose, expect, option_value, write_notebook
from .servers import LabServer

pytestmark = pytest.mark.e2e

NOTEBOOK = "sso-onboard.ipynb"
START_URL = "https://corp.awsapps.com/start"


@pytest.fixture
def portal(sandbox: Sandbox) -> Iterator[SsoServer]:
    """The local IAM Identity Center; the sandbox's shared files are put back afterwards (other tests share them)."""
    accounts = [Account(ACCOUNTS["analytics"], "Analytics", ["DataScientist", "ReadOnly"]),
                Account("210987654321", "Sandbox Dev", ["Developer"]), Account("310987654321", "Billing", ["Viewer"])]
    before = sandbox.config_file.read_bytes()
    with running(SsoServer(accounts, page_size=2, start_url=START_URL, interval=1)) as server:
        yield server
    sandbox.config_file.write_bytes(before)


def test_onboard_an_sso_profile_in_jupyterlab(lab: LabServer, sandbox: Sandbox, lab_page: LabPage, page: Any, portal: SsoServer) -> None:
    key = new_key(sandbox)
    portal.role_keys[(ACCOUNTS["analytics"], "DataScientist")] = {
        "accessKeyId": key.access_key_id, "secretAccessKey": key.secret_access_key, "sessionToken": ""}
    session = f"corp{uuid.uuid4().hex[:6]}"
    write_notebook(
        lab.notebook_dir / NOTEBOOK,
        # The kernel's botocore talks to the local portal, as it would to any configured endpoint.
        f"import os\nos.environ['AWS_ENDPOINT_URL_SSO'] = os.environ['AWS_ENDPOINT_URL_SSO_OIDC'] = {portal.url!r}",
        "import awswidget\npicker = awswidget.ProfilePicker()\npicker",
        "from awswidget.widgets.sso_form import SsoSetupPane\npane = SsoSetupPane()\npane",
    )
    nb = lab_page.open(NOTEBOOK)
    nb.run_all()
    pane = nb.panel.locator(".awswidget-sso-setup")
    expect(pane).to_have_count(1)
    pane.scroll_into_view_if_needed()
    pane.locator(".awswidget-sso-start-url input").fill(START_URL)
    choose(pane.locator(".awswidget-sso-sso-region select"), "eu-west-1")
    pane.locator(".awswidget-sso-session-name input").fill(session)
    pane.locator("button.awswidget-sso-login").click()

    # The link with the code, and the code in large type; the person opens it in another tab and allows.
    code = pane.locator(".awswidget-sso-user-code")
    expect(code).to_contain_text(portal.user_code)
    link = pane.locator(".awswidget-sso-link a")
    expect(link).to_have_attribute("href", f"{portal.url}/device?user_code={portal.user_code}")
    screenshot(page, "sso-onboard-login", focus=pane)
    with page.context.expect_page() as opened:
        link.click()
    verify = opened.value
    expect(verify.locator("#code")).to_have_text(portal.user_code)
    verify.locator("#allow").click()
    expect(verify.locator("#done")).to_be_visible()
    verify.close()

    # Every account and role, from every page; filter, select all shown, save.
    message = pane.locator(".awswidget-sso-message")
    expect(message).to_contain_text("4 role(s) in 3 account(s)", timeout=30_000)
    roles = pane.locator(".awswidget-sso-roles select")
    expect(roles.locator("option")).to_have_count(4)
    pane.locator(".awswidget-sso-filter input").fill("analytics data")
    expect(roles.locator("option")).to_have_count(1)
    pane.locator("button.awswidget-sso-select-all").click()
    name_box = pane.locator(".awswidget-sso-names input")
    expect(name_box).to_have_count(1)
    expect(name_box).to_have_value("Analytics-DataScientist")
    name = f"sso-{uuid.uuid4().hex[:6]}"
    name_box.fill(name)
    name_box.press("Enter")
    choose(pane.locator(".awswidget-sso-region select"), "us-east-1")
    expect(name_box).to_have_value(name)
    pane.locator("button.awswidget-sso-save").click()
    expect(message).to_contain_text(f"Saved 1 profile(s): {name}")

    picker = nb.panel.locator(".awswidget-picker")
    select = picker.locator(".awswidget-profile-select select")
    expect(select).to_have_value(option_value(select, name))  # listed, and selected
    expect(picker.locator(".awswidget-status")).to_contain_text(ACCOUNTS["analytics"], timeout=60_000)  # verified
    screenshot(page, "sso-onboard-saved", focus=pane)

    config = read_ini(sandbox.config_file)
    assert dict(config[f"profile {name}"]) == {
        "sso_session": session, "sso_account_id": ACCOUNTS["analytics"], "sso_role_name": "DataScientist", "region": "us-east-1"}
    assert dict(config[f"sso-session {session}"]) == {
        "sso_start_url": START_URL, "sso_region": "eu-west-1", "sso_registration_scopes": "sso:account:access"}
    token_file = sandbox.path / "sso" / "cache" / (hashlib.sha1(session.encode(), usedforsecurity=False).hexdigest() + ".json")
    assert json.loads(token_file.read_text())["startUrl"] == START_URL  # where `aws sso login` would look
    with KernelProbe(lab.kernel_file(NOTEBOOK)) as kernel:
        state = kernel.state()
    assert state["profile"] == state["boto3_profile"] == state["AWS_PROFILE"] == name
    assert state["status"] == "verified" and state["sts_account"] == ACCOUNTS["analytics"]
    # Nothing secret reached the page.
    html = nb.panel.inner_html()
    assert not any(secret in html for secret in (*portal.access_tokens, *portal.refresh_tokens, key.secret_access_key))
