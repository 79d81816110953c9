"""The demo's SSO and console logins, completed against the stand-ins the sandbox starts beside moto.

Nothing here is faked in the test process: the sandbox is created as the demo creates it (moto,
the IAM Identity Center portal and the sign-in, all in the endpoint's process), the person's part
is played over HTTP on the pages a person would open (the portal's Allow button, the sign-in page's
code), and what the logins hand out is then used against the demo's moto with its signature checks:
STS names the profile's role or user, S3 lists the account's bucket, and a read-only role is
refused a write.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest

from awswidget import CredentialsManager, ProfilePicker
from awswidget.demo import ACCOUNTS, SANDBOX_VAR, Sandbox, create_sandbox, load_sandbox
from awswidget.demo.signin import NOTICE as SIGNIN_NOTICE
from awswidget.demo.signin import read_code
from awswidget.demo.sso_portal import NOTICE as PORTAL_NOTICE
from awswidget.demo.sso_portal import Account, SsoServer
from awswidget.demo.world import MANAGEMENT_ACCOUNT, SSO_ROLES

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
ANALYTICS, PRODUCTION = ACCOUNTS["analytics"], ACCOUNTS["production"]
WAIT = 30.0


def wait_until(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)
    return value


def page(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:  # noqa: S310 - 127.0.0.1
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def allow(verification_url: str) -> str:
    """The person: open the verification link, check the notice and the code, click Allow. Returns the result page."""
    status, text = page(verification_url)
    assert status == 200 and PORTAL_NOTICE.split(":")[0] in text and "local stand-in" in text, text
    form = re.search(r"<form method='post' action='([^']+)'>.*?name='user_code' value='([^']+)'", text)
    assert form is not None, text
    base = verification_url.split("/device", 1)[0]
    body = urllib.parse.urlencode({"user_code": form.group(2)}).encode()
    request = urllib.request.Request(base + form.group(1), data=body, method="POST")  # noqa: S310 - 127.0.0.1
    with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
        return str(reply.read().decode())


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    created = create_sandbox(tmp_path_factory.mktemp("logins") / "sandbox")
    yield created
    created.stop()


@pytest.fixture
def sandbox(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """The sandbox's environment, logged out, its config as the sandbox wrote it (put back after each test)."""
    for name, value in box.environ().items():
        monkeypatch.setenv(name, value)
    config = box.config_file.read_bytes()
    for cache in ("sso", "login"):
        shutil.rmtree(box.path / cache, ignore_errors=True)
    yield box
    box.config_file.write_bytes(config)


# --------------------------------------------------------------------------- where the logins go


def test_the_sandbox_sends_sso_and_sign_in_to_its_own_stand_ins(sandbox: Sandbox) -> None:
    env = sandbox.environ()
    assert env["AWS_ENDPOINT_URL_SSO"] == env["AWS_ENDPOINT_URL_SSO_OIDC"] == sandbox.sso_url
    assert env["AWS_ENDPOINT_URL_SIGNIN"] == sandbox.signin_url
    urls = {sandbox.endpoint_url, sandbox.sso_url, sandbox.signin_url}
    assert len(urls) == 3 and all(url.startswith("http://127.0.0.1:") for url in urls)
    # The logins' caches stay in the sandbox.
    assert env["AWSWIDGET_SSO_CACHE"] == str(sandbox.path / "sso" / "cache")
    assert env["AWS_LOGIN_CACHE_DIRECTORY"] == str(sandbox.path / "login" / "cache")
    assert f"sso_start_url = {sandbox.sso_start_url}\n" in sandbox.config_file.read_text()
    # A kernel joining the sandbox (awswidget demo, binder) finds the same services.
    joined = load_sandbox(sandbox.path)
    assert joined is not None and joined.environ() == env
    # The start URL is a page that says what it is, as is every page of both.
    status, text = page(sandbox.sso_start_url)
    assert status == 200 and PORTAL_NOTICE.replace("'", "&#x27;") in text


def test_the_keys_the_services_mint_with_are_private_to_the_sandbox(sandbox: Sandbox) -> None:
    keys = sandbox.path / "login-services.json"
    assert oct(keys.stat().st_mode & 0o777) == "0o600"
    assert set(json.loads(keys.read_text())) == {"identity_center", "console"}


# --------------------------------------------------------------------------- SSO


def test_sso_dev_logs_in_from_the_picker_and_reads_its_account(sandbox: Sandbox) -> None:
    m = CredentialsManager()
    picker = ProfilePicker(m)
    picker.profile_select.value = "sso-dev"
    wait_until(lambda: m.status == "error", "the picker to say there is no SSO login yet")
    picker.sso_panel.login_button.click()
    link = wait_until(lambda: re.search(r'href="([^"]+)"', picker.sso_panel.link.value), "the verification link")
    state = m.sso_login_state
    assert state is not None and state.user_code
    code = state.user_code
    assert code in picker.sso_panel.user_code.value and link.group(1).endswith(f"?user_code={code}")
    assert "Request approved" in allow(link.group(1))
    picker.sso_panel.future.result(timeout=WAIT)
    identity = wait_until(lambda: m.status == "verified" and m.identity, "the picker to verify the SSO profile")
    assert identity.account == ANALYTICS
    wait_until(lambda: ANALYTICS in picker.status.value, "the picker to show the account")  # after its own re-check
    assert re.fullmatch(rf"arn:aws:sts::{ANALYTICS}:assumed-role/AWSReservedSSO_ReadOnly_[0-9a-f]{{16}}/demo-user", identity.arn)
    # What the notebook then uses: boto3's default session, against the demo's moto with its checks.
    assert boto3.client("sts").get_caller_identity()["Arn"] == identity.arn
    s3 = boto3.client("s3")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="analytics-raw-events")["Contents"]] == ["2026/11/01.csv", "2026/11/02.csv", "2026/11/03.csv"]
    with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
        s3.put_object(Bucket="analytics-raw-events", Key="x.csv", Body=b"x")  # a read-only permission set
    # The CLI's token file, in the sandbox: never in the user's ~/.aws.
    assert list((sandbox.path / "sso" / "cache").glob("*.json"))
    assert not (Path.home() / ".aws" / "sso").exists()
    picker.close()


def test_the_setup_forms_onboarding_lists_the_demo_worlds_accounts_and_roles(sandbox: Sandbox) -> None:
    m = CredentialsManager()
    login = m.sso_setup_login(sandbox.sso_start_url, "us-east-1", session_name="demo-onboard")
    future = login.start()
    wait_until(lambda: login.state.verification_uri_complete, "the verification link")
    allow(login.state.verification_uri_complete)
    assert future.result(timeout=WAIT).status == "succeeded"
    found = m.sso_accounts(sandbox.sso_start_url, "us-east-1", session_name="demo-onboard")
    expected = {(name, ACCOUNTS[name], role) for name, roles in SSO_ROLES.items() for role in roles}
    assert {(r.account_name, r.account_id, r.role_name) for r in found.roles} == expected
    assert MANAGEMENT_ACCOUNT not in {r.account_id for r in found.roles}  # the portal's own account is not offered
    # A role that is not assigned gets no credentials, as the portal answers it.
    token_file = sandbox.path / "sso" / "cache" / (hashlib.sha1(b"demo-onboard", usedforsecurity=False).hexdigest() + ".json")
    token = json.loads(token_file.read_text())["accessToken"]
    with pytest.raises(botocore.exceptions.ClientError, match="ForbiddenException"):
        boto3.client("sso", region_name="us-east-1").get_role_credentials(roleName="Admin", accountId=PRODUCTION, accessToken=token)
    m.add_sso_profiles("demo-onboard", sandbox.sso_start_url, "us-east-1", [("prod-sso", PRODUCTION, "ReadOnly")],
                       region="eu-west-1", select="prod-sso")
    assert m.verify().account == PRODUCTION
    orders = boto3.client("s3").list_objects_v2(Bucket="prod-orders")["Contents"]
    assert len(orders) == 4


def test_allowing_one_code_approves_no_other_login() -> None:
    """The demo portal gives each login its own code: Allow on one page approves that login only."""
    portal = SsoServer([Account(ANALYTICS, "analytics", ["ReadOnly"])], start_url="https://x.example/start", fresh_codes=True)
    client = portal.handle("POST", "/client/register", {}, {}, {})[1]
    creds = {"clientId": client["clientId"], "clientSecret": client["clientSecret"]}

    def start() -> dict[str, Any]:
        return portal.handle("POST", "/device_authorization", {}, {}, {**creds, "startUrl": "https://x.example/start"})[1]

    def token(device: dict[str, Any]) -> str | None:
        grant = {**creds, "grantType": "urn:ietf:params:oauth:grant-type:device_code", "deviceCode": device["deviceCode"]}
        return portal.handle("POST", "/token", {}, {}, grant)[2]

    first, second = start(), start()
    assert first["userCode"] != second["userCode"] and re.fullmatch(r"[A-Z]{4}-[A-Z]{4}", first["userCode"])
    assert portal.handle("POST", "/device/approve", {}, {}, {"user_code": "ABCD-EFGH"})[0] == 400  # an unknown code
    assert portal.handle("POST", "/device/approve", {}, {}, {"user_code": first["userCode"]})[0] == 200
    assert token(first) is None  # approved: tokens
    assert token(second) == "AuthorizationPendingException"


# --------------------------------------------------------------------------- console login


def test_console_dev_logs_in_with_the_code_the_demo_sign_in_page_shows(sandbox: Sandbox) -> None:
    m = CredentialsManager()
    picker = ProfilePicker(m)
    picker.profile_select.value = "console-dev"
    wait_until(lambda: m.status == "error", "the picker to say there is no console login yet")
    login = picker.console_panel.start()  # what Log in does
    assert login.url.startswith(f"{sandbox.signin_url}/v1/authorize?")
    status, text = page(login.url)  # the person opens the link: the page says what it is, and shows the code
    assert status == 200 and SIGNIN_NOTICE.replace("'", "&#x27;") in text and "user/analyst" in text
    picker.console_panel.submit(read_code(login.url)).result(timeout=WAIT)
    identity = wait_until(lambda: m.status == "verified" and m.identity, "the picker to verify the console login")
    assert identity.arn == f"arn:aws:iam::{ANALYTICS}:user/analyst"
    assert boto3.client("sts").get_caller_identity()["Arn"] == identity.arn
    assert len(boto3.client("s3").list_objects_v2(Bucket="analytics-raw-events")["Contents"]) == 3
    # The cache is in the sandbox, where botocore's own login provider (a plain session) finds it too.
    assert list((sandbox.path / "login" / "cache").glob("*.json"))
    plain = boto3.Session(profile_name="console-dev").client("sts").get_caller_identity()
    assert plain["Arn"] == identity.arn
    picker.close()


# --------------------------------------------------------------------------- binder


def test_binders_sandbox_keeps_the_logins_after_its_start_script_exits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """binder/start runs ``awswidget sandbox`` and execs Jupyter: the stand-ins must outlive that command."""
    env = {k: v for k, v in os.environ.items() if k != SANDBOX_VAR and not k.startswith("AWS_")}
    env["TMPDIR"] = str(tmp_path)
    probe = "import os; print(os.environ['AWS_ENDPOINT_URL_SSO'], os.environ['AWS_ENDPOINT_URL_SIGNIN'])"
    out = subprocess.run(["bash", str(ROOT / "binder" / "start"), sys.executable, "-c", probe],
                         env=env, capture_output=True, text=True, timeout=120)
    folder = tmp_path / "awswidget-sandbox"
    meta = json.loads((folder / "sandbox.json").read_text())
    try:
        assert out.returncode == 0, out.stderr
        joined = load_sandbox(folder)
        assert joined is not None and out.stdout.split() == [joined.sso_url, joined.signin_url]
        for name, value in joined.environ().items():
            monkeypatch.setenv(name, value)
        m = CredentialsManager()
        login = m.console_login("console-dev")
        assert login.finish(read_code(login.url)).status == "succeeded"  # type: ignore[union-attr]
        m.profile = "console-dev"
        assert m.verify().arn == f"arn:aws:iam::{ANALYTICS}:user/analyst"
    finally:
        os.kill(meta["endpoint_pid"], signal.SIGTERM)
    wait_until(lambda: _gone(meta["sso_url"]), "the stand-ins to stop with the endpoint")


def _gone(url: str) -> bool:
    try:
        urllib.request.urlopen(f"{url}/start", timeout=2)  # noqa: S310 - 127.0.0.1
    except urllib.error.HTTPError:
        return False
    except OSError:
        return True
    return False
