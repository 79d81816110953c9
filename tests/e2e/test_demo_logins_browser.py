"""The demo's SSO and console logins, completed by a person in JupyterLab.

The sandbox is the demo's (moto, and beside it the demo's stand-ins for IAM Identity Center
and AWS Sign-In); the kernel has its environment and nothing else. In the picker the person
chooses ``sso-dev``, clicks Log in with SSO, opens the link (a second tab), sees the page say it
is the demo's stand-in and show the same code, clicks Allow: the picker verifies the analytics
account. Then ``console-dev``: Log in, open the link, copy the code the sign-in page shows, paste
it, send it: the picker verifies the analyst. The kernel's boto3 then reads S3 with that login.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from awswidget.demo import ACCOUNTS, Sandbox

from .conftest import screenshot
from .kernel import KernelProbe
from .pages import LabPage, choose, expect, write_notebook
from .servers import LabServer

pytestmark = pytest.mark.e2e

NOTEBOOK = "demo-logins.ipynb"


@pytest.fixture
def logged_out(sandbox: Sandbox) -> Iterator[None]:
    """No login of an earlier test; afterwards none of this one's (other tests share the sandbox)."""
    before = sandbox.config_file.read_bytes()
    for cache in ("sso", "login"):
        shutil.rmtree(sandbox.path / cache, ignore_errors=True)
    yield
    for cache in ("sso", "login"):
        shutil.rmtree(sandbox.path / cache, ignore_errors=True)
    sandbox.config_file.write_bytes(before)


def test_sso_and_console_logins_complete_in_the_demo(
    lab: LabServer, sandbox: Sandbox, lab_page: LabPage, page: Any, logged_out: None
) -> None:
    write_notebook(lab.notebook_dir / NOTEBOOK, "import awswidget\npicker = awswidget.ProfilePicker()\npicker")
    nb = lab_page.open(NOTEBOOK)
    nb.run_all()
    picker = nb.panel.locator(".awswidget-picker")
    select = picker.locator(".awswidget-profile-select select")
    status = picker.locator(".awswidget-status")

    # SSO: the device code and link; the demo portal's page; Allow.
    choose(select, "sso-dev")
    sso = picker.locator(".awswidget-sso-panel")
    sso.get_by_role("button", name="Log in with SSO").click()
    link = sso.locator("a")
    expect(link).to_have_attribute("href", re.compile(rf"^{re.escape(sandbox.sso_url)}/device\?user_code=[A-Z]{{4}}-[A-Z]{{4}}$"))
    code = str(link.get_attribute("href")).rsplit("=", 1)[1]
    expect(sso).to_contain_text(code)
    with page.context.expect_page() as opened:
        link.click()
    verify = opened.value
    expect(verify.locator("#notice")).to_contain_text("local stand-in for the AWS access portal")
    expect(verify.locator("#code")).to_have_text(code)
    screenshot(verify, "demo-sso-portal")
    verify.locator("#allow").click()
    expect(verify.locator("#done")).to_contain_text("approved")
    verify.close()
    expect(status).to_contain_text(ACCOUNTS["analytics"], timeout=60_000)
    screenshot(page, "demo-sso-logged-in", focus=picker)

    # Console login: the link; the demo sign-in page's code, pasted back.
    choose(select, "console-dev")
    console = picker.locator(".awswidget-console-login")
    console.locator("button", has_text=re.compile(r"^\s*Log in\s*$")).click()
    link = console.locator("a")
    expect(link).to_have_attribute("href", re.compile(rf"^{re.escape(sandbox.signin_url)}/v1/authorize\?"))
    with page.context.expect_page() as opened:
        link.click()
    signin = opened.value
    expect(signin.locator("#notice")).to_contain_text("local stand-in for AWS Sign-In")
    pasted = signin.locator("#verification-code").inner_text()
    screenshot(signin, "demo-sign-in")
    signin.close()
    console.locator("input[type=password]").fill(pasted)
    console.get_by_role("button", name="Send code").click()
    expect(status).to_contain_text("analyst", timeout=60_000)

    with KernelProbe(lab.kernel_file(NOTEBOOK)) as kernel:
        state = kernel.state()
        objects = kernel.evaluate(
            "__import__('json').dumps(len(__import__('boto3').client('s3').list_objects_v2(Bucket='analytics-raw-events')['Contents']))"
        )
    assert state["profile"] == state["AWS_PROFILE"] == "console-dev"
    assert state["status"] == "verified" and state["sts_account"] == ACCOUNTS["analytics"]
    assert objects == 3
    assert pasted not in nb.panel.inner_html()  # the code box is a password box, cleared once sent
