"""Console login (``aws login``): the profile kind, the CLI's token cache, a login from the notebook, log out.

The sign-in service is awswidget/demo/signin.py on 127.0.0.1. It is anchored to the real client: the cache
awswidget writes is read by botocore's own login provider through a plain ``boto3.Session``, which then
renews through the same server (with botocore's own DPoP proof, checked by the server); every credential
the server hands out is a real temporary credential of the local moto server with signature checks on,
so an STS call proves that botocore resolved working credentials from our file.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import os
import shutil
import stat
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions as be
import pytest
from ipywidgets.embed import dependency_state

from awswidget import CredentialsManager, VerificationError, console
from awswidget.console import ConsoleLogin, ConsoleLoginError, parse_code
from awswidget.demo.signin import LoginServer
from awswidget.identity import explain
from awswidget.widgets.console_login import ConsoleLoginPanel
from awswidget.widgets.picker import ProfilePicker

from .conftest import AuthAws, AwsFiles

ROOT = Path(__file__).resolve().parent.parent
# The fields of the AWS CLI v2's cache file (awscli/customizations/login/utils.py), in its order.
CLI_FIELDS = ["accessToken", "tokenType", "clientId", "refreshToken", "idToken", "dpopKey"]
CLI_ACCESS_FIELDS = ["accessKeyId", "secretAccessKey", "sessionToken", "accountId", "expiresAt"]

CONFIG = """\
[profile console]
region = us-east-1
services = local
{session}
[profile keys]
region = us-east-1

[services local]
signin =
  endpoint_url = {signin}
sts =
  endpoint_url = {sts}
"""
CREDENTIALS = """\
[keys]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
"""


@pytest.fixture(scope="module")
def role(auth_aws: AuthAws) -> str:
    """A role alice may assume: the sign-in server hands out its temporary credentials."""
    iam = auth_aws.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": auth_aws.key.arn},
                                                      "Action": "sts:AssumeRole"}]}
    name = f"console-{uuid.uuid4().hex[:8]}"
    return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])  # type: ignore[attr-defined]


class Minted(list):  # type: ignore[type-arg]
    """Every credential the server handed out, in order."""


@pytest.fixture
def server(auth_aws: AuthAws, role: str) -> Iterator[LoginServer]:
    sts = auth_aws.client("sts")
    minted = Minted()

    def mint() -> dict[str, str]:
        creds = sts.assume_role(RoleArn=role, RoleSessionName="alice")["Credentials"]  # type: ignore[attr-defined]
        minted.append(creds)
        return {"accessKeyId": creds["AccessKeyId"], "secretAccessKey": creds["SecretAccessKey"], "sessionToken": creds["SessionToken"]}

    with LoginServer(principal=auth_aws.key.arn, mint=mint) as srv:
        srv.minted = minted  # type: ignore[attr-defined]
        yield srv


@pytest.fixture
def files(aws_env: AwsFiles, server: LoginServer, auth_aws: AuthAws) -> AwsFiles:
    return aws_env.write(CONFIG.format(session="", signin=server.endpoint_url, sts=auth_aws.endpoint_url), CREDENTIALS)


def cache_file(home: Path, session: str) -> Path:
    return home / ".aws" / "login" / "cache" / (hashlib.sha256(session.encode()).hexdigest() + ".json")


def log_in(m: CredentialsManager, server: LoginServer, profile: str = "console", **kwargs: Any) -> Any:
    login = m.console_login(profile, **kwargs)
    return login.finish(server.sign_in(login.url))


def sts_arn(profile: str = "console") -> str:
    """The caller as a plain boto3 session sees it: botocore's own login provider, nothing of awswidget."""
    return str(boto3.Session(profile_name=profile).client("sts").get_caller_identity()["Arn"])


# ------------------------------------------------------------------ the profile kind


def test_a_login_session_profile_is_listed_as_a_console_login(aws_env: AwsFiles) -> None:
    aws_env.write("[profile web]\nlogin_session = arn:aws:iam::123456789012:user/alice\nregion = eu-west-1\n")
    info = CredentialsManager().profile_info("web")
    assert (info.kind, info.kind_label, info.label) == ("login", "console login", "web (console login)")
    assert info.login_session == "arn:aws:iam::123456789012:user/alice"


# ------------------------------------------------------------------ login: the CLI's cache, read by botocore


def test_login_writes_the_cli_cache_and_botocore_reads_it(files: AwsFiles, server: LoginServer, auth_aws: AuthAws) -> None:
    m = CredentialsManager(activate=False)
    state = log_in(m, server)
    session = auth_aws.key.arn
    assert state.status == "succeeded" and state.session == session
    path = cache_file(files.root, session)
    token = json.loads(path.read_text())
    assert list(token) == CLI_FIELDS and list(token["accessToken"]) == CLI_ACCESS_FIELDS
    assert token["clientId"] == console.CLIENT_ID and token["tokenType"] == "aws_sigv4"
    assert token["accessToken"]["accountId"] == auth_aws.key.account
    assert token["dpopKey"].startswith("-----BEGIN EC PRIVATE KEY-----\n") and token["dpopKey"].endswith("-----END EC PRIVATE KEY-----\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert f"login_session = {session}" in files.config.read_text()  # the profile now names its login, as aws login leaves it
    assert ":assumed-role/" in sts_arn()  # botocore's login provider, through a plain boto3.Session, against moto
    assert m.profile_info("console").kind == "login"


def test_botocore_renews_through_the_server_with_the_cached_key(files: AwsFiles, server: LoginServer) -> None:
    server.expires_in = 120  # under botocore's refresh windows: every new session renews first
    m = CredentialsManager(activate=False)
    log_in(m, server)
    path = cache_file(files.root, server.principal)
    before = json.loads(path.read_text())
    assert sts_arn()
    after = json.loads(path.read_text())
    assert ("refresh_token", "ok") in server.calls  # botocore's own DPoP proof, signed with the key we cached
    assert after["refreshToken"] != before["refreshToken"]  # rotated: the server refuses the old one from now on
    assert after["accessToken"]["accessKeyId"] == server.minted[-1]["AccessKeyId"] != before["accessToken"]["accessKeyId"]  # type: ignore[attr-defined]
    assert list(after) == CLI_FIELDS and after["dpopKey"] == before["dpopKey"]
    # awswidget reads what botocore wrote: the time left is the renewed credentials'.
    ends = console.token_expiry(m._catalog.config, "console")
    assert ends is not None and ends.strftime("%Y-%m-%dT%H:%M:%SZ") == after["accessToken"]["expiresAt"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    server.reuse_window = 0  # from now on a used refresh token is refused
    assert sts_arn()  # a second renewal works only if botocore saved the rotated refresh token
    assert server.calls.count(("refresh_token", "ok")) == 2
    assert server.requests[-1]["refreshToken"] == after["refreshToken"]


def _unreadable_export(key: Any) -> bool:
    from awscrt.crypto import EC, ECExportFormat

    try:
        EC.new_key_from_der_data(key.export_key(ECExportFormat.SEC1))
    except RuntimeError:
        return True
    return False


def _short_coordinate(key: Any) -> bool:
    return any(len(c) < 32 for c in key.get_public_coords())


@pytest.mark.parametrize("flaw", [_unreadable_export, _short_coordinate], ids=["unreadable-export", "short-coordinate"])
def test_a_key_awscrt_shortens_is_never_used_for_a_login(
    files: AwsFiles, server: LoginServer, monkeypatch: pytest.MonkeyPatch, flaw: Any
) -> None:
    """About one P-256 key in 256 has a leading zero byte in its private scalar, and as many in each public
    coordinate; awscrt shortens them. A shortened export is refused when botocore loads it to renew
    (AWS_ERROR_CAL_UNSUPPORTED_KEY_FORMAT: the login worked once and every renewal failed, as CI saw); a shortened
    coordinate breaks the JWK's full-length rule in every DPoP proof. The first key drawn here has the flaw."""
    import base64 as b64

    from awscrt.crypto import EC, ECType

    bad = next(key for key in iter(lambda: EC.new_generate(ECType.P_256), None) if flaw(key))
    assert not console.usable_key(bad)
    drawn = iter([bad])
    real = EC.new_generate
    monkeypatch.setattr(EC, "new_generate", staticmethod(lambda kind: next(drawn, None) or real(kind)))
    server.expires_in = 120  # every new session renews first, with the cached key
    m = CredentialsManager(activate=False)
    log_in(m, server)
    assert next(drawn, None) is None  # the flawed key was offered to the login
    pem = json.loads(cache_file(files.root, server.principal).read_text())["dpopKey"]
    cached = EC.new_key_from_der_data(b64.b64decode("".join(pem.splitlines()[1:-1])))  # as botocore loads it
    assert [len(c) for c in cached.get_public_coords()] == [32, 32] and console.usable_key(cached)
    assert sts_arn()  # botocore loaded the cached key and renewed with it
    assert ("refresh_token", "ok") in server.calls


def test_the_manager_verifies_a_console_login_and_reports_automatic_renewal(files: AwsFiles, server: LoginServer) -> None:
    m = CredentialsManager(activate=False)
    m.profile = "console"
    log_in(m, server)
    identity = m.verify()
    assert ":assumed-role/" in identity.arn and m.status == "verified"
    assert m.expiry is not None and m.expiry.renews and m.expiry.action == "none"
    assert m.expiry.message.startswith("Console login credentials: renewed automatically")


def test_an_ended_console_session_says_so(files: AwsFiles, server: LoginServer) -> None:
    server.expires_in = 120
    m = CredentialsManager(activate=False)
    m.profile = "console"
    log_in(m, server)
    server.end_sessions()
    m.select(fresh=True)
    with pytest.raises(VerificationError) as caught:
        m.verify()
    assert caught.value.code == "LoginRefreshRequired"
    assert "console login has ended" in m.message and "LoginRefreshRequired" not in m.message
    assert ("refresh_token", "TOKEN_EXPIRED") in server.calls


def test_login_errors_become_sentences() -> None:
    cases = {
        be.LoginRefreshRequired(): "console login has ended",
        be.LoginInsufficientPermissions(): "signin:CreateOAuth2Token",
        be.LoginTokenLoadError(error_msg="x"): "No console login is cached",
        be.LoginError(): "could not be used or renewed",
        be.MissingDependencyException(msg="x"): 'pip install "botocore[crt]"',
    }
    for exc, words in cases.items():
        error = explain(exc)
        assert words in error.reason and "Verification failed" not in error.reason, (exc, error.reason)


def test_a_profile_without_a_login_yet_asks_for_one(files: AwsFiles) -> None:
    files.write(CONFIG.format(session="login_session = arn:aws:iam::123456789012:user/nobody", signin="http://127.0.0.1:9", sts="http://127.0.0.1:9"))
    m = CredentialsManager(activate=False)
    m.profile = "console"
    with pytest.raises(VerificationError, match="No console login is cached for this profile"):
        m.verify()


def test_the_missing_awscrt_message(files: AwsFiles, server: LoginServer) -> None:
    """Without awscrt (its import made to fail in a fresh interpreter), both botocore's error and a login say what to install."""
    m = CredentialsManager(activate=False)
    log_in(m, server)
    code = (
        "import sys; sys.modules['awscrt'] = None\n"  # import awscrt now raises ImportError, as when it is not installed
        "import awswidget\n"
        "from awswidget import CredentialsManager, VerificationError\n"
        "from awswidget.console import ConsoleLoginError\n"
        "m = CredentialsManager(activate=False); m.profile = 'console'\n"
        "try:\n    m.verify()\nexcept VerificationError as e:\n    print('VERIFY', e.code, e.reason)\n"
        "try:\n    m.console_login('console')\nexcept ConsoleLoginError as e:\n    print('LOGIN', e.code, e.reason)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert any(line.startswith("VERIFY MissingDependency ") and 'pip install "botocore[crt]"' in line for line in lines), done.stdout
    assert any(line.startswith("LOGIN missing-crt ") and "awscrt" in line for line in lines), done.stdout


# ------------------------------------------------------------------ the cache folder


def test_aws_login_cache_directory_is_honoured(files: AwsFiles, server: LoginServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGINS_HERE", "elsewhere")
    monkeypatch.setenv("AWS_LOGIN_CACHE_DIRECTORY", "~/$LOGINS_HERE/cache")  # expanded as botocore and the CLI expand it
    m = CredentialsManager(activate=False)
    log_in(m, server)
    path = files.root / "elsewhere" / "cache" / (hashlib.sha256(server.principal.encode()).hexdigest() + ".json")
    assert path.is_file() and not cache_file(files.root, server.principal).exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert sts_arn()  # botocore looks there too
    assert console.token_expiry(m._catalog.config, "console") is not None


def test_the_aws_cli_uses_a_login_made_here(files: AwsFiles, server: LoginServer) -> None:
    """The AWS CLI, as a subprocess, reads the cache awswidget wrote (and renews it through the server)."""
    aws = shutil.which("aws")
    if aws is None:
        pytest.skip("no aws CLI on PATH")
    server.expires_in = 120
    log_in(CredentialsManager(activate=False), server)
    done = subprocess.run([aws, "sts", "get-caller-identity", "--profile", "console", "--output", "json"],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ))
    if done.returncode != 0 and "login_session" in done.stderr:
        pytest.skip(f"this aws CLI predates console logins: {done.stderr[:200]}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert ":assumed-role/" in json.loads(done.stdout)["Arn"]
    assert ("refresh_token", "ok") in server.calls


# ------------------------------------------------------------------ log out


def test_logout_removes_exactly_what_the_cli_removes(files: AwsFiles, server: LoginServer) -> None:
    m = CredentialsManager(activate=False)
    m.profile = "console"
    log_in(m, server)
    folder = cache_file(files.root, server.principal).parent
    other = folder / (hashlib.sha256(b"arn:aws:iam::123456789012:user/bob").hexdigest() + ".json")
    other.write_text('{"accessToken": {"accessKeyId": "ASIAOTHER"}}')
    sso = files.root / ".aws" / "sso" / "cache" / "abc.json"
    sso.parent.mkdir(parents=True)
    sso.write_text("{}")
    config_before = files.config.read_text()
    assert m.console_logout() is True
    assert sorted(p.name for p in folder.iterdir()) == [other.name]  # aws logout: <sha256 of login_session>.json only
    assert sso.exists() and files.config.read_text() == config_before  # the profile keeps its login_session
    assert m.status == "unverified"
    with pytest.raises(VerificationError, match="No console login is cached"):
        m.verify()
    assert m.console_logout() is False  # nothing left to remove (the CLI says "no login session" and succeeds)
    with pytest.raises(ConsoleLoginError, match="not a console login"):
        m.console_logout("keys")


# ------------------------------------------------------------------ refusals


def test_codes_that_are_not_this_logins_are_refused_and_nothing_is_written(files: AwsFiles, server: LoginServer) -> None:
    m = CredentialsManager(activate=False)
    login = m.console_login("console")
    with pytest.raises(ConsoleLoginError, match="not the code the sign-in page shows") as bad:
        login.finish("not base64 at all!")
    assert bad.value.code == "bad-code"
    other = m.console_login("console")
    with pytest.raises(ConsoleLoginError) as foreign:
        login.finish(server.sign_in(other.url))  # a real code, of another login
    assert foreign.value.code == "state"
    code = server.sign_in(login.url)
    server.expire_codes()
    with pytest.raises(ConsoleLoginError) as late:
        login.finish(code)
    assert late.value.code == "expired" and login.state.status == "failed"
    assert not (files.root / ".aws" / "login").exists() and "login_session" not in files.config.read_text()
    with pytest.raises(ConsoleLoginError, match="over"):
        login.finish(code)  # one exchange per login


def test_profiles_with_other_credentials_are_refused_like_the_cli_does(files: AwsFiles) -> None:
    m = CredentialsManager(activate=False)
    with pytest.raises(ConsoleLoginError, match="already uses access key credentials"):
        m.console_login("keys")


def test_a_login_as_someone_else_does_not_take_over_the_profile(files: AwsFiles, server: LoginServer, auth_aws: AuthAws) -> None:
    files.write(CONFIG.format(session="login_session = arn:aws:iam::123456789012:user/bob", signin=server.endpoint_url,
                              sts=auth_aws.endpoint_url))
    m = CredentialsManager(activate=False)
    with pytest.raises(ConsoleLoginError) as caught:
        log_in(m, server)
    assert caught.value.code == "other-session" and not (files.root / ".aws" / "login").exists()
    assert log_in(m, server, replace=True).status == "succeeded"
    assert f"login_session = {server.principal}" in files.config.read_text()


def test_parse_code_reads_what_the_cli_reads() -> None:
    import base64

    assert parse_code(base64.b64encode(b"state=abc&code=xyz").decode()) == ("xyz", "abc")
    with pytest.raises(ConsoleLoginError):
        parse_code(base64.b64encode(b"state=abc").decode())


# ------------------------------------------------------------------ secrets


def test_no_token_code_or_key_in_reprs_logs_or_widget_state(
    files: AwsFiles, server: LoginServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.expires_in = 120
    caplog.set_level(logging.DEBUG)
    m = CredentialsManager(activate=False)
    m.profile = "console"
    picker = ProfilePicker(m, verify=False)
    panel = picker.console_panel
    login = panel.start()
    code = server.sign_in(login.url)
    panel.code.value = code  # as the frontend sets it when the person pastes
    panel._on_submit(None)
    assert panel.code.value == ""
    panel.future.result(timeout=30)
    m.verify()
    assert sts_arn()  # one renewal through botocore too
    token = json.loads(cache_file(files.root, server.principal).read_text())
    secrets_ = [code, token["refreshToken"], token["idToken"], token["dpopKey"].splitlines()[1],
                token["accessToken"]["secretAccessKey"], token["accessToken"]["sessionToken"]]
    secrets_ += [c["SecretAccessKey"] for c in server.minted] + [c["SessionToken"] for c in server.minted]  # type: ignore[attr-defined]
    # What the client sent: the authorization code, the PKCE verifier, the refresh tokens.
    secrets_ += [str(r[k]) for r in server.requests for k in ("code", "codeVerifier", "refreshToken") if k in r]
    assert len(server.requests) >= 2 and parse_code(code)[0] in secrets_
    state = json.dumps(dependency_state(picker))
    texts = [state, repr(login), repr(login.state), repr(m), repr(picker), caplog.text, m.message]
    for secret in secrets_:
        for text in texts:
            assert secret not in text
    picker.close()


# ------------------------------------------------------------------ the widget


def test_the_panel_appears_for_a_console_profile_with_no_login_and_logs_it_in(
    files: AwsFiles, server: LoginServer, auth_aws: AuthAws
) -> None:
    # A profile `aws login` made on another machine: login_session is there, the cache file is not.
    files.write(CONFIG.format(session=f"login_session = {server.principal}", signin=server.endpoint_url, sts=auth_aws.endpoint_url))
    server.expires_in = 120  # every new session renews: an ended console session shows at the next check
    m = CredentialsManager(activate=False)
    m.profile = "keys"
    picker = ProfilePicker(m, verify=False)
    panel = picker.console_panel
    assert panel in picker.children and panel.layout.display == "none"
    m.profile = "console"
    assert panel.layout.display is None and panel.login_button.description == "Log in"
    panel.login_button.click()
    assert panel.login is not None and html.escape(panel.login.url) in panel.link.value
    assert panel._waiting.layout.display is None
    panel.code.value = server.sign_in(panel.login.url)
    panel.submit_button.click()
    panel.future.result(timeout=30)
    assert panel.code.value == "" and panel.login.state.status == "succeeded"
    m.verify()
    assert m.status == "verified" and panel.layout.display is None  # logged in: the panel shrinks to Log out
    assert panel.login_button.layout.display == "none" and panel.logout_button.layout.display is None
    server.end_sessions()
    m.select(fresh=True)
    with pytest.raises(VerificationError):
        m.verify()
    assert panel.layout.display is None and panel.login_button.layout.display is None  # ended: Log in is offered again
    picker.close()


def test_a_mistyped_code_is_reported_in_the_panel_and_the_login_goes_on(files: AwsFiles, server: LoginServer) -> None:
    m = CredentialsManager(activate=False)
    m.profile = "console"
    panel = ConsoleLoginPanel(m)
    panel.login_button.click()
    panel.code.value = "garbage"
    panel.submit_button.click()
    assert "not the code" in panel.message.value and panel.code.value == ""
    assert panel.login.state.status == "waiting"
    panel.submit(server.sign_in(panel.login.url)).result(timeout=30)
    assert panel.login.state.status == "succeeded"
    panel.close()


def test_console_login_objects_hold_what_they_should(files: AwsFiles) -> None:
    m = CredentialsManager(activate=False)
    login = m.console_login("console")
    assert isinstance(login, ConsoleLogin) and repr(login) == "<ConsoleLogin 'console' status='waiting'>"
    assert login.url.startswith(files.config.read_text().split("endpoint_url = ")[1].split()[0] + "/v1/authorize?")
    login.cancel()
    assert login.state.status == "cancelled"


def test_a_region_is_saved_only_to_a_profile_that_has_none(aws_env: AwsFiles, server: LoginServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """As the CLI: a region it had to ask for goes into the profile; a profile's own region is never replaced."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SIGNIN", server.endpoint_url)  # botocore's per-service endpoint variable
    aws_env.write("[profile bare]\noutput = json\n\n[profile placed]\nregion = eu-west-1\n")
    m = CredentialsManager(activate=False)
    with pytest.raises(ConsoleLoginError) as caught:
        m.console_login("bare")
    assert caught.value.code == "no-region"
    log_in(m, server, "bare", region="ap-southeast-2")
    log_in(m, server, "placed", region="us-west-2", replace=True)
    bare, placed = m.profile_info("bare"), m.profile_info("placed")
    assert (bare.kind, bare.region, bare.login_session) == ("login", "ap-southeast-2", server.principal)
    assert (placed.kind, placed.region) == ("login", "eu-west-1")


def test_the_local_sign_in_service_refuses_what_the_real_one_would(server: LoginServer) -> None:
    """The anchor is only as good as the server's checks: no DPoP proof, a wrong PKCE verifier, another key."""
    import base64 as b64
    from urllib.parse import parse_qs

    from awscrt.crypto import EC, ECType
    from botocore import UNSIGNED
    from botocore.config import Config

    client = boto3.Session().client("signin", region_name="us-east-1", endpoint_url=server.endpoint_url,
                                    config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    keys = {"now": EC.new_generate(ECType.P_256)}

    def proof(params: dict[str, Any], **_: Any) -> None:
        if "key" in keys:
            params["headers"]["DPoP"] = console.dpop_proof(keys["key"], params["url"])

    client.meta.events.register("before-call.signin.CreateOAuth2Token", proof)
    verifier = "v" * 64
    challenge = b64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    redirect = f"{server.endpoint_url}/v1/sessions/confirmation"

    def code() -> str:
        url = (f"{server.endpoint_url}/v1/authorize?response_type=code&client_id={console.CLIENT_ID}&state=s"
               f"&code_challenge_method=SHA-256&scope=openid&redirect_uri={redirect}&code_challenge={challenge}")
        shown = b64.b64decode(server.sign_in(url)).decode()
        return parse_qs(shown)["code"][0]

    def redeem(verifier_: str) -> dict[str, Any]:
        body = {"clientId": console.CLIENT_ID, "grantType": "authorization_code", "code": code(),
                "codeVerifier": verifier_, "redirectUri": redirect}
        return client.create_o_auth2_token(tokenInput=body)["tokenOutput"]  # type: ignore[no-any-return]

    with pytest.raises(be.ClientError, match="DPoP"):
        redeem(verifier)  # no proof at all
    keys["key"] = keys["now"]
    with pytest.raises(be.ClientError, match="PKCE"):
        redeem("w" * 64)
    output = redeem(verifier)
    keys["key"] = EC.new_generate(ECType.P_256)  # another key than the one the refresh token is bound to
    with pytest.raises(be.ClientError, match="DPoP key differs"):
        client.create_o_auth2_token(tokenInput={"clientId": console.CLIENT_ID, "grantType": "refresh_token",
                                                "refreshToken": output["refreshToken"]})


# ------------------------------------------------------------------ a login belongs to its profile


def test_selecting_another_profile_cancels_a_waiting_login(files: AwsFiles, server: LoginServer) -> None:
    """The panel follows the selection: the link and code box of 'console' never sit under another profile's name."""
    m = CredentialsManager(activate=False)
    m.profile = "console"
    panel = ConsoleLoginPanel(m)
    login = panel.start()
    code = server.sign_in(login.url)
    m.profile = "keys"
    assert login.state.status == "cancelled" and "another profile was selected" in login.state.message
    assert panel.layout.display == "none" or panel._waiting.layout.display == "none"
    panel.code.value = code  # pasted after the switch: refused, 'console' is not logged in behind the user's back
    panel.submit_button.click()
    assert "over" in panel.message.value and panel.code.value == ""
    assert not cache_file(files.root, server.principal).exists() and "login_session" not in files.config.read_text()
    panel.close()


def test_an_exchange_under_way_keeps_its_own_profiles_name(files: AwsFiles, auth_aws: AuthAws) -> None:
    """An exchange cannot be stopped (the code is spent): while it runs after a switch, the heading names its profile."""
    gate = threading.Event()

    def mint() -> dict[str, str]:
        gate.wait(30)  # holds the exchange on the server until the test has switched profiles
        return {"accessKeyId": "ASIAHELDEXCHANGE0001", "secretAccessKey": "held" * 10, "sessionToken": "token"}

    with LoginServer(principal=auth_aws.key.arn, mint=mint) as srv:
        files.write(CONFIG.format(session="", signin=srv.endpoint_url, sts=auth_aws.endpoint_url), CREDENTIALS)
        m = CredentialsManager(activate=False)
        m.profile = "console"
        panel = ConsoleLoginPanel(m)
        login = panel.start()
        panel.submit(srv.sign_in(login.url))
        m.profile = "keys"
        try:
            assert login.state.status == "exchanging"
            assert "<b>console</b>" in panel.heading.value and "keys" not in panel.heading.value
        finally:
            gate.set()
        assert panel.future.result(timeout=30).profile == "console"
    assert m.profile_info("console").login_session == auth_aws.key.arn and m.profile_info("keys").kind != "login"
    panel.close()


def test_closing_the_picker_cancels_a_waiting_login(files: AwsFiles, server: LoginServer) -> None:
    m = CredentialsManager(activate=False)
    m.profile = "console"
    picker = ProfilePicker(m, verify=False)
    login = picker.console_panel.start()
    code = server.sign_in(login.url)
    picker.close()
    assert login.state.status == "cancelled"
    with pytest.raises(ConsoleLoginError, match="over"):
        login.finish(code)
    assert not cache_file(files.root, server.principal).exists()


def test_sending_a_code_before_logging_in_raises_the_packages_error(files: AwsFiles) -> None:
    panel = ConsoleLoginPanel(CredentialsManager(activate=False))
    with pytest.raises(ConsoleLoginError, match="Start the login first"):
        panel.submit("x")
    panel.close()


# ------------------------------------------------------------------ a cache folder others may write into


def test_a_cache_folder_of_ours_that_others_may_write_into_is_made_private(files: AwsFiles, server: LoginServer) -> None:
    folder = cache_file(files.root, server.principal).parent
    folder.mkdir(parents=True)
    folder.chmod(0o777)  # left by an old tool, or a umask of 000
    log_in(CredentialsManager(activate=False), server)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(cache_file(files.root, server.principal).stat().st_mode) == 0o600


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_cache_folder_of_another_user_that_others_may_write_into_is_refused(files: AwsFiles, server: LoginServer) -> None:
    folder = cache_file(files.root, server.principal).parent
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    os.chown(folder, 65534, 65534)  # nobody's
    config_before = files.config.read_text()
    with pytest.raises(ConsoleLoginError) as caught:
        log_in(CredentialsManager(activate=False), server)
    assert caught.value.code == "unsafe-folder" and str(folder) in caught.value.reason and "chmod 700" in caught.value.reason
    assert list(folder.iterdir()) == [] and stat.S_IMODE(folder.stat().st_mode) == 0o777  # nothing written, nothing changed
    assert files.config.read_text() == config_before


# ------------------------------------------------------------------ a broken cache: one sentence per way


BROKEN_SECRET = "REFRESHTOKENTHATMUSTNOTSHOW123"
BROKEN_CONFIG = "[profile console]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:9\nlogin_session = {session}\n"
EXPIRED_WITH_A_BAD_KEY = {
    "accessToken": {"accessKeyId": "ASIAEXPIREDEXPIRED01", "secretAccessKey": "SECRETKEYTHATMUSTNOTSHOW", "sessionToken": "t",
                    "accountId": "123456789012", "expiresAt": "2020-01-01T00:00:00Z"},
    "tokenType": "aws_sigv4", "clientId": console.CLIENT_ID, "refreshToken": BROKEN_SECRET, "idToken": "a.b.c",
    "dpopKey": "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBadKey\n-----END EC PRIVATE KEY-----\n",
}


def _not_json(path: Path) -> None:
    path.write_text('{"refreshToken": "' + BROKEN_SECRET + '", "accessToken": ')


def _a_list(path: Path) -> None:
    path.write_text(json.dumps([BROKEN_SECRET]))


def _fields_missing(path: Path) -> None:
    path.write_text(json.dumps({"refreshToken": BROKEN_SECRET}))


def _bad_key(path: Path) -> None:
    path.write_text(json.dumps(EXPIRED_WITH_A_BAD_KEY))


def _a_folder(path: Path) -> None:
    path.mkdir()


def _missing(path: Path) -> None:
    pass


@pytest.mark.parametrize(("make", "code", "words"), [
    (_not_json, "LoginCacheDamaged", "is not valid JSON"),
    (_a_list, "LoginCacheDamaged", "is not a JSON object"),
    (_fields_missing, "LoginCacheDamaged", "lacks accessToken, dpopKey, clientId"),
    (_bad_key, "LoginCacheDamaged", "signing key (dpopKey) that cannot be read"),
    (_a_folder, "LoginCacheFolder", "is a folder: remove that folder, then log in again"),
    (_missing, "LoginTokenLoad", "No console login is cached for this profile"),
], ids=["not-json", "not-an-object", "fields-missing", "expired-with-a-bad-key", "a-folder", "missing"])
def test_each_broken_cache_gets_its_own_sentence_naming_the_file(aws_env: AwsFiles, make: Any, code: str, words: str) -> None:
    session = "arn:aws:iam::123456789012:user/alice"
    aws_env.write(BROKEN_CONFIG.format(session=session))
    path = cache_file(aws_env.root, session)
    path.parent.mkdir(parents=True)
    make(path)
    m = CredentialsManager(activate=False)
    m.profile = "console"
    with pytest.raises(VerificationError) as caught:
        m.verify()
    error = caught.value
    assert (error.code, words in error.reason, str(path) in error.reason) == (code, True, True), error.reason
    assert "log in" in error.reason and "Verification failed" not in error.reason
    assert BROKEN_SECRET not in error.reason and "SECRETKEY" not in error.reason and "BadKey" not in error.reason
    assert error.reason in m.message


def test_an_unreadable_cache_file_says_to_fix_its_permissions(aws_env: AwsFiles) -> None:
    """In a fresh interpreter that cannot read the file (as root: without the capabilities that bypass file modes)."""
    session = "arn:aws:iam::123456789012:user/alice"
    aws_env.write(BROKEN_CONFIG.format(session=session))
    path = cache_file(aws_env.root, session)
    path.parent.mkdir(parents=True)
    _bad_key(path)
    path.chmod(0)
    code = (
        "from awswidget import CredentialsManager, VerificationError\n"
        "m = CredentialsManager(activate=False); m.profile = 'console'\n"
        "try:\n    m.verify()\nexcept VerificationError as e:\n    print(e.code); print(e.reason)\n"
    )
    command = [sys.executable, "-c", code]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("root reads any file, and setpriv (util-linux) is not here to drop that")
        command = [setpriv, "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", "--", *command]
    done = subprocess.run(command, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    error_code, reason = done.stdout.splitlines()[:2]
    assert error_code == "LoginCacheUnreadable", done.stdout
    assert str(path) in reason and "permission denied" in reason and f"chmod 600 {path}" in reason
    assert BROKEN_SECRET not in done.stdout


# ------------------------------------------------------------------ after a refused renewal, and log out


def test_after_a_refused_renewal_the_status_no_longer_promises_one(files: AwsFiles, server: LoginServer) -> None:
    server.expires_in = 120
    m = CredentialsManager(activate=False)
    m.profile = "console"
    log_in(m, server)
    assert m.expiry is not None and (m.expiry.renews, m.expiry.action) == (True, "none")
    server.end_sessions()
    m.select(fresh=True)
    with pytest.raises(VerificationError, match="console login has ended"):
        m.verify()
    m.select(fresh=True)  # what Refresh or a re-run cell does: the status is read from the cache again
    assert m.expiry is not None and (m.expiry.renews, m.expiry.action) == (False, "console-login"), m.expiry
    assert "renewed automatically" not in m.expiry.message and "log in to the console again" in m.expiry.message
    panel = ConsoleLoginPanel(m)
    assert panel.layout.display is None and panel.login_button.layout.display is None  # Log in is offered
    panel.close()
    log_in(m, server)  # a new login: renewal is promised again
    assert m.expiry is not None and (m.expiry.renews, m.expiry.action) == (True, "none")


def test_the_panel_logs_out(files: AwsFiles, server: LoginServer) -> None:
    m = CredentialsManager(activate=False)
    m.profile = "console"
    log_in(m, server)
    panel = ConsoleLoginPanel(m)
    assert panel.layout.display is None and panel.logout_button.layout.display is None
    assert panel.login_button.layout.display == "none"
    panel.logout_button.click()
    assert not cache_file(files.root, server.principal).exists()  # what aws logout removes
    assert f"login_session = {server.principal}" in files.config.read_text()
    assert panel.logout_button.layout.display == "none" and panel.login_button.layout.display is None
    assert "log in" in panel.message.value
    panel.close()
