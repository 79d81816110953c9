"""botocore's own DEBUG logging of real calls holds no credential, whoever produced it (issue 15, items 4 and 8).

Real botocore clients send real HTTP requests, and botocore logs them as it always does (the request
parameters, the signed request's headers, the canonical request, the reply's headers and body). STS
goes to moto's server (``local_aws``); the SSO portal, SSO OIDC and the sign-in service, which moto
lacks, go to a tiny HTTP server this module runs on 127.0.0.1 that answers with their real reply
shapes. Every credential is unique to its test and holds ``; , & ' "`` and a backslash, so a
redaction that stops at any of them leaves a tail that the search below finds. Each test first
proves that the credential really was in botocore's records (the factory removed) and then that,
with the factory on, no record holds any part of it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import botocore.compat
import botocore.session
import pytest
from botocore.config import Config

from awswidget import CredentialsManager, _redact
from awswidget._session import sso_cache_dir

from .conftest import AwsFiles
from .leaks import Capture, debug_everything


def credential(kind: str) -> str:
    """A credential unique to one test, with every character that once ended a redaction early."""
    return f"{kind}-{uuid.uuid4().hex}" + ";,&'\"\\=/+" + f"TAIL{uuid.uuid4().hex[:12]}"


def parts(secret: str) -> list[str]:
    """The secret and the pieces a redaction that stopped early would leave behind."""
    pieces = [secret, secret.split(";")[0], secret.rsplit("TAIL", 1)[1]]
    return [p for p in pieces if len(p) >= 8]


def leaked(text: str, secrets: list[str]) -> list[str]:
    return [p for s in secrets for p in parts(s) if p in text]


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, recwarn: pytest.WarningsRecorder) -> Capture:
    return debug_everything(caplog, recwarn)


def without_redaction(call: Callable[[], Any], logs: Capture) -> str:
    """The text of the records ``call`` produces with the factory removed (the negative control)."""
    _redact.uninstall()
    try:
        call()
        return logs.text()
    finally:
        _redact.install()
        logs.clear()


# ---------------------------------------------------------------- a tiny AWS endpoint for what moto lacks


class FakeAws(ThreadingHTTPServer):
    """Answers the SSO portal, SSO OIDC, sign-in and STS calls with their real reply shapes."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.replies: dict[str, tuple[str, str]] = {}  # path or STS action -> (content type, body)
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def reply_json(self, path: str, body: dict[str, Any]) -> None:
        self.replies[path] = ("application/json", json.dumps(body))

    def reply_xml(self, action: str, result: str) -> None:
        body = (
            f'<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><{action}Result>{result}'
            f"</{action}Result><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></{action}Response>"
        )
        self.replies[action] = ("text/xml", body)


class _Handler(BaseHTTPRequestHandler):
    server: FakeAws

    def log_message(self, *args: Any) -> None:  # quiet: the test reads botocore's log, not ours
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urllib.parse.urlsplit(self.path).path
        self.server.requests.append((self.command, self.path, dict(self.headers), body))
        key = path
        if self.command == "POST" and path == "/":  # STS (query protocol): the action is in the form body
            key = urllib.parse.parse_qs(body.decode())["Action"][0]
        content_type, text = self.server.replies.get(key, ("application/json", "{}"))
        data = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer


@pytest.fixture
def fake_aws() -> Iterator[FakeAws]:
    server = FakeAws()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def client(service: str, endpoint: str, **kwargs: Any) -> Any:
    session = botocore.session.Session(profile=None)
    return session.create_client(
        service,
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="not-a-secret-" + "x" * 27,
        config=Config(retries={"max_attempts": 1}),
        **kwargs,
    )


# ---------------------------------------------------------------- the calls, one per credential-bearing member


def _sso_portal(aws: FakeAws) -> tuple[Callable[[], Any], list[str]]:
    bearer, secret, token = credential("bearer"), credential("secret"), credential("session")
    aws.reply_json(
        "/federation/credentials",
        {"roleCredentials": {"accessKeyId": "ASIAQQQQQQQQQQQQQQQQ", "secretAccessKey": secret, "sessionToken": token, "expiration": 1}},
    )
    sso = client("sso", aws.endpoint_url)
    return lambda: sso.get_role_credentials(roleName="r", accountId="111122223333", accessToken=bearer), [bearer, secret, token]


def _oidc_token(aws: FakeAws) -> tuple[Callable[[], Any], list[str]]:
    sent = [credential(k) for k in ("client-secret", "refresh", "device", "verifier")]
    got = [credential(k) for k in ("access", "new-refresh", "id")]
    aws.reply_json("/token", {"accessToken": got[0], "refreshToken": got[1], "idToken": got[2], "tokenType": "Bearer", "expiresIn": 1})
    oidc = client("sso-oidc", aws.endpoint_url)
    return lambda: oidc.create_token(
        clientId="c", clientSecret=sent[0], grantType="refresh_token", refreshToken=sent[1], deviceCode=sent[2], codeVerifier=sent[3]
    ), sent + got


def _oidc_with_iam(aws: FakeAws) -> tuple[Callable[[], Any], list[str]]:
    sent = [credential(k) for k in ("assertion", "subject", "refresh", "verifier")]
    got = [credential(k) for k in ("access", "new-refresh", "id")]
    aws.reply_json("/token", {"accessToken": got[0], "refreshToken": got[1], "idToken": got[2], "tokenType": "Bearer", "expiresIn": 1})
    oidc = client("sso-oidc", aws.endpoint_url)
    return lambda: oidc.create_token_with_iam(
        clientId="c", grantType="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=sent[0], subjectToken=sent[1],
        subjectTokenType="urn:ietf:params:oauth:token-type:access_token", refreshToken=sent[2], codeVerifier=sent[3],
    ), sent + got


def _oidc_register(aws: FakeAws) -> tuple[Callable[[], Any], list[str]]:
    secret = credential("client-secret")
    aws.reply_json("/client/register", {"clientId": "c", "clientSecret": secret, "clientIdIssuedAt": 1, "clientSecretExpiresAt": 2})
    oidc = client("sso-oidc", aws.endpoint_url)
    return lambda: oidc.register_client(clientName="n", clientType="public"), [secret]


def _oidc_device(aws: FakeAws) -> tuple[Callable[[], Any], list[str]]:
    secret, device = credential("client-secret"), credential("device")
    aws.reply_json("/device_authorization", {"deviceCode": device, "userCode": "ABCD-EFGH", "verificationUri": "https://x", "expiresIn": 1, "interval": 1})
    oidc = client("sso-oidc", aws.endpoint_url)
    return lambda: oidc.start_device_authorization(clientId="c", clientSecret=secret, startUrl="https://x.awsapps.com/start"), [secret, device]


def _signin(aws: FakeAws) -> tuple[Callable[[], Any], list[str]]:
    refresh, verifier = credential("refresh"), credential("verifier")
    secret, token, new_refresh, id_token = (credential(k) for k in ("secret", "session", "new-refresh", "id"))
    aws.reply_json(
        "/v1/token",
        {"accessToken": {"accessKeyId": "ASIAQQQQQQQQQQQQQQQQ", "secretAccessKey": secret, "sessionToken": token},
         "tokenType": "aws_sigv4", "expiresIn": 900, "refreshToken": new_refresh, "idToken": id_token},
    )
    signin = client("signin", aws.endpoint_url)
    return lambda: signin.create_o_auth2_token(
        tokenInput={"clientId": "c", "grantType": "refresh_token", "refreshToken": refresh, "codeVerifier": verifier}
    ), [refresh, verifier, secret, token, new_refresh, id_token]


def _sts_saml(aws: FakeAws) -> tuple[Callable[[], Any], list[str]]:
    assertion, secret, token = credential("saml"), credential("secret"), credential("session")
    # What XML carries is escaped; the escapes are part of the text botocore logs.
    escaped = [v.replace("&", "&amp;").replace("'", "&apos;").replace('"', "&quot;") for v in (secret, token)]
    aws.reply_xml(
        "AssumeRoleWithSAML",
        f"<Credentials><AccessKeyId>ASIAQQQQQQQQQQQQQQQQ</AccessKeyId><SecretAccessKey>{escaped[0]}</SecretAccessKey>"
        f"<SessionToken>{escaped[1]}</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials>",
    )
    sts = client("sts", aws.endpoint_url)
    return lambda: sts.assume_role_with_saml(
        RoleArn="arn:aws:iam::111122223333:role/r", PrincipalArn="arn:aws:iam::111122223333:saml-provider/p", SAMLAssertion=assertion
    ), [assertion, *escaped]


CALLS = {
    "sso GetRoleCredentials": _sso_portal,
    "sso-oidc CreateToken": _oidc_token,
    "sso-oidc CreateTokenWithIAM": _oidc_with_iam,
    "sso-oidc RegisterClient": _oidc_register,
    "sso-oidc StartDeviceAuthorization": _oidc_device,
    "signin CreateOAuth2Token": _signin,
    "sts AssumeRoleWithSAML": _sts_saml,
}


@pytest.mark.parametrize("call", list(CALLS))
def test_botocores_request_and_reply_logs_to_a_local_server_hold_no_credential(
    fake_aws: FakeAws, logs: Capture, call: str
) -> None:
    run, secrets = CALLS[call](fake_aws)
    control = without_redaction(run, logs)
    assert leaked(control, secrets), "botocore did not log the credentials at all: this test would prove nothing"
    assert fake_aws.requests, "the call never reached the local server"
    run()
    text = logs.text()
    assert "Response body" in text and "Sending http request" in text  # botocore's DEBUG logging really ran
    assert leaked(text, secrets) == []


# ---------------------------------------------------------------- whole profiles: the CLI's caches, files, moto


def _utc(minutes: float) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_sso_profile_with_the_clis_cached_token_logs_no_token_or_key(
    aws_env: AwsFiles, fake_aws: FakeAws, logs: Capture
) -> None:
    # The token was written by `aws sso login`, not by awswidget: nothing was registered with the redactor.
    # It expires in 5 minutes, so botocore refreshes it first (CreateToken with the client secret).
    cached = {k: credential(k) for k in ("accessToken", "refreshToken", "clientSecret")}
    # Names unique to this run: credentials resolved once are cached for the process.
    session, role = f"corp-{uuid.uuid4().hex[:8]}", f"ReadOnly{uuid.uuid4().hex[:8]}"
    aws_env.write(
        f"[profile dev]\nsso_session = {session}\nsso_account_id = 111122223333\nsso_role_name = {role}\n"
        f"region = us-east-1\nendpoint_url = {fake_aws.endpoint_url}\n\n"
        f"[sso-session {session}]\nsso_start_url = https://{session}.awsapps.com/start\nsso_region = us-east-1\n"
        "sso_registration_scopes = sso:account:access\n",
    )
    folder = sso_cache_dir()
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, hashlib.sha1(session.encode(), usedforsecurity=False).hexdigest() + ".json"), "w") as f:
        json.dump(
            {"startUrl": f"https://{session}.awsapps.com/start", "region": "us-east-1", "expiresAt": _utc(5), "clientId": "c",
             "registrationExpiresAt": _utc(60 * 24), **cached},
            f,
        )
    fresh = {k: credential(k) for k in ("accessToken", "refreshToken", "secretAccessKey", "sessionToken")}
    fake_aws.reply_json("/token", {"accessToken": fresh["accessToken"], "refreshToken": fresh["refreshToken"], "tokenType": "Bearer", "expiresIn": 3600})
    fake_aws.reply_json(
        "/federation/credentials",
        {"roleCredentials": {"accessKeyId": "ASIAQQQQQQQQQQQQQQQQ", "secretAccessKey": fresh["secretAccessKey"],
                             "sessionToken": fresh["sessionToken"], "expiration": 4102444800000}},
    )
    fake_aws.reply_xml(
        "GetCallerIdentity",
        "<Arn>arn:aws:sts::111122223333:assumed-role/ReadOnly/me</Arn><UserId>AROA:me</UserId><Account>111122223333</Account>",
    )
    m = CredentialsManager()
    m.profile = "dev"
    m.verify()
    assert m.status == "verified", m.message
    paths = [path.split("?")[0] for _, path, _, _ in fake_aws.requests]
    assert "/token" in paths and "/federation/credentials" in paths  # the refresh and the portal call both ran
    secrets = [*cached.values(), *fresh.values()]
    text = logs.text()
    assert "x-amz-sso_bearer_token" in text and "Response body" in text
    assert leaked(text, secrets) == []


@pytest.mark.integration
def test_web_identity_and_file_tokens_with_odd_characters_leave_no_tail_in_moto_logs(
    aws_env: AwsFiles, local_aws: Any, logs: Capture, tmp_path: Any
) -> None:
    endpoint = local_aws.endpoint_url
    web_token = credential("web-identity")  # written by some other tool (a CI runner, EKS): never seen by awswidget
    (tmp_path / "token").write_text(web_token)
    secret, session_token = credential("secret"), credential("session")
    role = "role_arn = arn:aws:iam::123456789012:role/wi-{}\n".format
    token_file = f"web_identity_token_file = {tmp_path / 'token'}\nregion = us-east-1\nendpoint_url = {endpoint}\n"
    aws_env.write(
        # Two web-identity profiles: assumed roles are cached, and each run must call AssumeRoleWithWebIdentity.
        f"[profile control]\n{role(uuid.uuid4().hex)}{token_file}\n[profile wi]\n{role(uuid.uuid4().hex)}{token_file}\n"
        f"[profile temp]\nregion = us-east-1\nendpoint_url = {endpoint}\n",
        f"[temp]\naws_access_key_id = ASIAQQQQQQQQQQQQQQQQ\naws_secret_access_key = {secret}\n"
        f"aws_session_token = {session_token}\n",
    )
    m = CredentialsManager()

    def calls(profile: str) -> None:
        m.profile = profile
        m.verify()
        m.profile = "temp"
        m.verify()

    control = without_redaction(lambda: calls("control"), logs)
    assert leaked(control, [web_token]) and leaked(control, [session_token])  # both really were logged
    _redact.forget(secret, session_token)  # whatever the manager registered: the shapes alone must hold
    calls("wi")
    assert m.status == "verified", m.message
    text = logs.text()
    # botocore's own SigV4 signer logs the canonical request; with awscrt installed (botocore[crt], a dependency)
    # requests are signed by the CRT, which logs nothing of it.
    assert "AssumeRoleWithWebIdentity" in text and ("CanonicalRequest" in text or botocore.compat.HAS_CRT)
    assert leaked(text, [web_token, secret, session_token]) == []
