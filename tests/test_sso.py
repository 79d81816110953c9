"""SSO (IAM Identity Center): profile settings, the device login, the CLI's token cache, botocore reading it.

moto (5.x) implements neither SSO OIDC (RegisterClient, StartDeviceAuthorization,
CreateToken) nor the SSO portal (GetRoleCredentials): those four calls are
answered by botocore's Stubber, on real botocore clients, and nothing else is.
The role credentials the stubbed portal hands out belong to a real IAM user of
the local moto server (with signature checks on), so the final STS call proves
that botocore's own SSO provider resolved working credentials from our token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.stub import ANY, Stubber
from botocore.tokens import SSOTokenProvider
from botocore.utils import JSONFileCache, SSOTokenLoader
from ipywidgets.embed import dependency_state

from awswidget import CredentialsManager, VerificationError, _session
from awswidget.sso import DeviceLogin, SsoConfig, SsoConfigError, SsoLoginError, sso_config, token_expiry
from awswidget.widgets.sso import SsoLoginPanel

from .conftest import AuthAws, AwsFiles, IamKey

START_URL = "https://corp.awsapps.com/start"
LEGACY_URL = "https://legacy.awsapps.com/start"
ACCESS_TOKEN = "aoa-access-" + "t" * 40
REFRESH_TOKEN = "aor-refresh-" + "r" * 40
CLIENT_SECRET = "client-secret-" + "s" * 40
DEVICE_CODE = "device-code-" + "d" * 30
VERIFY_URL = "https://device.sso.eu-west-1.amazonaws.com/"
USER_CODE = "WDKF-QRTX"
CORP_FILE = hashlib.sha1(b"corp", usedforsecurity=False).hexdigest() + ".json"  # the CLI's token file name

CONFIG = """\
[profile dev]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = ReadOnly
region = us-east-1
{endpoint}

[profile legacy]
sso_start_url = https://legacy.awsapps.com/start
sso_region = us-east-1
sso_account_id = 444455556666
sso_role_name = Admin
region = us-east-1
{endpoint}

[profile keys]
region = us-east-1

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access
"""


class Clock:
    """A clock that only moves when the login sleeps."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        self.sleeps: list[float] = []

    def __call__(self) -> dt.datetime:
        return self.now

    def sleep(self, seconds: float) -> bool:
        self.sleeps.append(seconds)
        self.now += dt.timedelta(seconds=seconds)
        return False


def oidc(
    region: str = "eu-west-1",
    *,
    start_url: str = START_URL,
    steps: tuple[str, ...] = ("ok",),
    register: Any = "botocore-client-corp",
    scopes: list[str] | None = None,
    expires_in: int = 600,
    interval: int = 5,
) -> tuple[Any, Stubber]:
    """A real sso-oidc client whose three calls are answered by a Stubber (moto lacks SSO OIDC).

    ``register`` is the expected client name (``ANY``: named after the time, as for
    legacy profiles), or None when no registration call may happen.
    """
    client = botocore.session.Session().create_client("sso-oidc", region_name=region, config=Config(signature_version=UNSIGNED))
    stub = Stubber(client)
    if register is not None:
        expected: dict[str, Any] = {"clientName": register, "clientType": "public"}
        if scopes:
            expected["scopes"] = scopes
        stub.add_response(
            "register_client",
            {"clientId": "client-id-1", "clientSecret": CLIENT_SECRET, "clientIdIssuedAt": 1, "clientSecretExpiresAt": 4102444800},
            expected,
        )
    stub.add_response(
        "start_device_authorization",
        {
            "deviceCode": DEVICE_CODE,
            "userCode": USER_CODE,
            "verificationUri": VERIFY_URL,
            "verificationUriComplete": f"{VERIFY_URL}?user_code={USER_CODE}",
            "expiresIn": expires_in,
            "interval": interval,
        },
        {"clientId": "client-id-1", "clientSecret": CLIENT_SECRET, "startUrl": start_url},
    )
    token_request = {
        "grantType": "urn:ietf:params:oauth:grant-type:device_code",
        "clientId": "client-id-1",
        "clientSecret": CLIENT_SECRET,
        "deviceCode": DEVICE_CODE,
    }
    errors = {
        "pending": "AuthorizationPendingException",
        "slow_down": "SlowDownException",
        "expired": "ExpiredTokenException",
        "denied": "AccessDeniedException",
    }
    for step in steps:
        if step == "ok":
            stub.add_response(
                "create_token",
                {"accessToken": ACCESS_TOKEN, "tokenType": "Bearer", "expiresIn": 28800, "refreshToken": REFRESH_TOKEN},
                token_request,
            )
        else:
            stub.add_client_error("create_token", service_error_code=errors[step], http_status_code=400, expected_params=token_request)
    stub.activate()
    return client, stub


@pytest.fixture
def sso_files(aws_env: AwsFiles) -> AwsFiles:
    return aws_env.write(config=CONFIG.format(endpoint=""))


def cache_dir(files: AwsFiles) -> Path:
    return files.root / ".aws" / "sso" / "cache"


def full_config(files: AwsFiles) -> dict[str, Any]:
    return _session.merged_config(str(files.config), str(files.credentials))


# ---------------------------------------------------------------- settings


def test_profiles_are_listed_with_kind_account_and_role(sso_files: AwsFiles) -> None:
    m = CredentialsManager()
    dev, legacy = m.profile_info("dev"), m.profile_info("legacy")
    assert (dev.kind, dev.sso_session, dev.sso_account_id, dev.sso_role_name) == ("sso", "corp", "111122223333", "ReadOnly")
    assert (legacy.kind, legacy.sso_start_url, legacy.sso_account_id, legacy.sso_role_name) == ("sso", LEGACY_URL, "444455556666", "Admin")
    assert dev.label == "dev (SSO)"


def test_sso_config_resolves_sessions_and_the_legacy_form(sso_files: AwsFiles) -> None:
    config = full_config(sso_files)
    assert sso_config(config, "dev") == SsoConfig(START_URL, "eu-west-1", "corp", ("sso:account:access",), "111122223333", "ReadOnly")
    assert sso_config(config, "legacy") == SsoConfig(LEGACY_URL, "us-east-1", None, (), "444455556666", "Admin")
    # The CLI's (and botocore's) token file names: SHA-1 of the session name, or of the legacy start URL.
    assert f"{sso_config(config, 'dev').cache_key}.json" == CORP_FILE
    assert sso_config(config, "legacy").cache_key == hashlib.sha1(LEGACY_URL.encode(), usedforsecurity=False).hexdigest()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[profile p]\nsso_session = nope\nsso_account_id = 1\nsso_role_name = r\n", r"no \[sso-session nope\] section"),
        ("[profile p]\nsso_session = s\n[sso-session s]\nsso_start_url = https://x\n", r"\[sso-session s\] is missing sso_region"),
        ("[profile p]\nsso_start_url = https://x\n", "profile 'p' is missing sso_region"),
        ("[profile p]\nregion = us-east-1\n", "not an SSO profile"),
    ],
)
def test_broken_sso_settings_are_named(aws_env: AwsFiles, text: str, words: str) -> None:
    aws_env.write(config=text)
    with pytest.raises(SsoConfigError, match=words):
        sso_config(full_config(aws_env), "p")


# ---------------------------------------------------------------- the device flow


def test_device_login_polls_as_told_and_writes_the_clis_token_file(sso_files: AwsFiles) -> None:
    clock = Clock()
    client, stub = oidc(steps=("pending", "slow_down", "pending", "ok"), scopes=["sso:account:access"])
    states: list[Any] = []
    config = sso_config(full_config(sso_files), "dev")
    login = DeviceLogin(config, profile="dev", client=client, clock=clock, sleep=clock.sleep, on_change=states.append)
    final = login.run()
    stub.assert_no_pending_responses()
    # interval 5, +5 for good after slow_down (RFC 8628 section 3.5)
    assert clock.sleeps == [5, 5, 10, 10]
    assert [s.status for s in states][:2] == ["waiting", "waiting"] and final.status == "succeeded"
    waiting = states[0]
    assert (waiting.user_code, waiting.verification_uri_complete) == (USER_CODE, f"{VERIFY_URL}?user_code={USER_CODE}")
    assert waiting.fraction_left() == 1.0 and states[-2].fraction_left() < 1.0
    # Exactly the file `aws sso login` writes: same folder, name, fields, time format; 0600 in a 0700 folder.
    folder = cache_dir(sso_files)
    path = folder / CORP_FILE
    token = json.loads(path.read_text())
    assert set(token) == {"startUrl", "region", "accessToken", "expiresAt", "clientId", "clientSecret", "registrationExpiresAt", "refreshToken"}
    assert (token["startUrl"], token["region"], token["accessToken"]) == (START_URL, "eu-west-1", ACCESS_TOKEN)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", token["expiresAt"])
    assert token["registrationExpiresAt"] == "2100-01-01T00:00:00Z"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sorted(p.name for p in folder.iterdir()) == sorted([path.name, f"{config.registration_key}.json"])  # no temp files
    # Nothing secret in what a widget would show.
    shown = repr(states) + repr(login)
    for secret in (ACCESS_TOKEN, REFRESH_TOKEN, CLIENT_SECRET, DEVICE_CODE):
        assert secret not in shown
    assert token_expiry(config) == clock.now + dt.timedelta(seconds=28800)


def test_botocores_own_providers_read_the_token_back(sso_files: AwsFiles) -> None:
    clock = Clock()
    config = full_config(sso_files)
    for profile, region, start_url, register, scopes in (
        ("dev", "eu-west-1", START_URL, "botocore-client-corp", ["sso:account:access"]),
        ("legacy", "us-east-1", LEGACY_URL, ANY, None),  # legacy registrations are named after the time
    ):
        client, _ = oidc(region, start_url=start_url, register=register, scopes=scopes)
        DeviceLogin(sso_config(config, profile), client=client, clock=clock, sleep=clock.sleep).run()
    folder = str(cache_dir(sso_files))
    # botocore fixed its own default folder when it was imported, before HOME pointed here: hence explicit paths.
    assert SSOTokenProvider._SSO_TOKEN_CACHE_DIR != folder and _session.sso_cache_dir() == folder
    provider = SSOTokenProvider(botocore.session.Session(profile="dev"), cache=JSONFileCache(folder), profile_name="dev")
    assert provider.load_token().get_frozen_token().token == ACCESS_TOKEN
    assert SSOTokenLoader(JSONFileCache(folder))(LEGACY_URL)["accessToken"] == ACCESS_TOKEN


def test_a_cached_registration_is_reused(sso_files: AwsFiles) -> None:
    clock = Clock()
    config = sso_config(full_config(sso_files), "dev")
    client, _ = oidc(scopes=["sso:account:access"])
    DeviceLogin(config, client=client, clock=clock, sleep=clock.sleep).run()
    again, stub = oidc(register=None)  # no RegisterClient answer queued: calling it would fail
    DeviceLogin(config, client=again, clock=clock, sleep=clock.sleep).run()
    stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("steps", "code", "words"),
    [
        (("pending", "expired"), "expired", "expired before it was approved"),
        (("denied",), "denied", "denied in the browser"),
    ],
)
def test_the_service_ends_the_login(sso_files: AwsFiles, steps: tuple[str, ...], code: str, words: str) -> None:
    clock = Clock()
    client, _ = oidc(steps=steps, scopes=["sso:account:access"])
    states: list[Any] = []
    login = DeviceLogin(sso_config(full_config(sso_files), "dev"), client=client, clock=clock, sleep=clock.sleep, on_change=states.append)
    with pytest.raises(SsoLoginError, match=words) as info:
        login.run()
    assert info.value.code == code
    assert states[-1].status == "failed" and words in states[-1].message
    assert not (cache_dir(sso_files) / CORP_FILE).exists()


def test_polling_stops_when_the_code_expires_even_if_the_service_keeps_saying_pending(sso_files: AwsFiles) -> None:
    clock = Clock()
    client, stub = oidc(steps=("pending", "pending"), scopes=["sso:account:access"], expires_in=12)
    login = DeviceLogin(sso_config(full_config(sso_files), "dev"), client=client, clock=clock, sleep=clock.sleep)
    with pytest.raises(SsoLoginError, match="expired"):
        login.run()
    stub.assert_no_pending_responses()
    assert clock.sleeps == [5, 5, 5]  # 15 s > 12 s: no third poll


def test_cancel_wakes_the_waiting_login(sso_files: AwsFiles) -> None:
    client, _ = oidc(steps=(), scopes=["sso:account:access"], interval=60)
    waiting = threading.Event()
    login = DeviceLogin(
        sso_config(full_config(sso_files), "dev"), client=client, on_change=lambda s: s.status == "waiting" and waiting.set()
    )
    future = login.start()  # the real sleeper: a 60 s wait that cancel() cuts short
    assert waiting.wait(10)
    login.cancel()
    assert isinstance(future.exception(timeout=10), SsoLoginError)
    assert login.state.status == "cancelled" and "cancelled" in login.state.message


# ---------------------------------------------------------------- the manager, botocore's SSO provider, moto


@pytest.fixture
def portal(monkeypatch: pytest.MonkeyPatch, auth_aws: AuthAws) -> IamKey:
    """GetRoleCredentials (moto has no SSO portal API) answered by a Stubber with a real moto user's key."""
    key = auth_aws.new_key()
    real = botocore.session.Session.create_client

    def create_client(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        client = real(self, service_name, *args, **kwargs)
        if service_name == "sso":
            stub = Stubber(client)
            expires = int((dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).timestamp() * 1000)
            stub.add_response(
                "get_role_credentials",
                {"roleCredentials": {"accessKeyId": key.access_key_id, "secretAccessKey": key.secret_access_key, "sessionToken": "", "expiration": expires}},
                {"roleName": stub_expect["role"], "accountId": stub_expect["account"], "accessToken": ACCESS_TOKEN},
            )
            stub.activate()
        return client

    stub_expect: dict[str, str] = {}
    monkeypatch.setattr(botocore.session.Session, "create_client", create_client)
    key.expect = stub_expect  # type: ignore[attr-defined]
    return key


def wait_for(obj: Any, name: str, predicate: Callable[[Any], bool], timeout: float = 20) -> None:
    """Wait (bounded) until trait ``name`` of ``obj`` satisfies ``predicate``."""
    done = threading.Event()

    def check(_change: Any = None) -> None:
        if predicate(getattr(obj, name)):
            done.set()

    obj.observe(check, names=name)
    try:
        check()
        assert done.wait(timeout), f"{name} is still {getattr(obj, name)!r}"
    finally:
        obj.unobserve(check, names=name)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("profile", "region", "register", "role", "account"),
    [("dev", "eu-west-1", "botocore-client-corp", "ReadOnly", "111122223333"), ("legacy", "us-east-1", ANY, "Admin", "444455556666")],
)
def test_login_from_the_manager_then_botocore_resolves_the_profile(
    aws_env: AwsFiles, auth_aws: AuthAws, portal: IamKey, profile: str, region: str, register: Any, role: str, account: str
) -> None:
    aws_env.write(config=CONFIG.format(endpoint=f"endpoint_url = {auth_aws.endpoint_url}"))
    portal.expect.update(role=role, account=account)  # type: ignore[attr-defined]
    m = CredentialsManager()
    m.profile = profile
    with pytest.raises(VerificationError, match="log in again"):
        m.verify()
    assert m.status == "error"
    clock = Clock()
    start = START_URL if profile == "dev" else LEGACY_URL
    client, _ = oidc(region, start_url=start, register=register, scopes=["sso:account:access"] if profile == "dev" else None)
    state = m.sso_login(block=True, client=client, clock=clock, sleep=clock.sleep)
    assert state.status == "succeeded" and m.sso_login_state == state  # type: ignore[union-attr]
    wait_for(m, "status", lambda s: s in ("verified", "error"))  # the login re-verifies the selection
    assert m.status == "verified", m.message
    assert m.identity is not None and m.identity.arn == portal.arn
    status = m.check_expiry(now=clock.now + dt.timedelta(hours=7, minutes=55))  # the access token lasts 8 h
    assert m.expires_at == clock.now + dt.timedelta(hours=8) == status.expires_at  # type: ignore[union-attr]
    if profile == "dev":  # sso_session + refresh token + client registration: botocore renews the token itself
        assert status.renews and status.action == "none" and status.level == "ok"  # type: ignore[union-attr]
        assert "renewed automatically with its refresh token" in status.message  # type: ignore[union-attr]
    else:  # a legacy profile's token is never refreshed by botocore: the login's end is the end
        assert status.action == "sso-login" and not status.renews  # type: ignore[union-attr]
        assert status.level == "warning" and "SSO login ends in 5 min" in status.message and "log in with SSO again" in status.message  # type: ignore[union-attr]


@pytest.mark.integration
def test_the_panel_shows_link_code_progress_and_outcome(sso_files: AwsFiles, auth_aws: AuthAws, portal: IamKey) -> None:
    sso_files.write(config=CONFIG.format(endpoint=f"endpoint_url = {auth_aws.endpoint_url}"))
    portal.expect.update(role="ReadOnly", account="111122223333")  # type: ignore[attr-defined]
    clock = Clock()
    polling, go_on = threading.Event(), threading.Event()

    def sleep(seconds: float) -> bool:
        clock.sleep(seconds)
        polling.set()
        return go_on.wait(10)  # the test looks at the panel while the kernel "waits"

    client, _ = oidc(steps=("pending", "ok"), scopes=["sso:account:access"])
    m = CredentialsManager()
    m.profile = "keys"
    panel = SsoLoginPanel(manager=m, login_options={"client": client, "clock": clock, "sleep": sleep})
    assert panel.layout.display == "none"  # not an SSO profile
    m.profile = "dev"
    assert panel.layout.display is None
    assert "corp" in panel.heading.value and "111122223333" in panel.heading.value and "ReadOnly" in panel.heading.value
    panel.login_button.click()
    assert polling.wait(10)
    assert f'href="{VERIFY_URL}?user_code={USER_CODE}"' in panel.link.value and 'target="_blank"' in panel.link.value
    assert USER_CODE in panel.user_code.value and "font-size:2em" in panel.user_code.value
    assert panel.login_button.disabled and panel.cancel_button.layout.display is None
    assert panel._waiting.layout.display is None and 0 < panel.progress.value <= 1
    go_on.set()
    panel.future.result(timeout=20)
    assert "Logged in to corp" in panel.message.value and panel._waiting.layout.display == "none"
    wait_for(m, "status", lambda s: s in ("verified", "error"))
    assert m.status == "verified"
    assert panel.login_button.description == "Log in again"
    state = json.dumps(dependency_state([panel], drop_defaults=False))
    for secret in (ACCESS_TOKEN, REFRESH_TOKEN, CLIENT_SECRET, DEVICE_CODE):
        assert secret not in state
    panel.close()


def test_panel_reports_a_broken_profile_in_its_message(aws_env: AwsFiles) -> None:
    aws_env.write(config="[profile p]\nsso_session = nope\nsso_account_id = 1\nsso_role_name = r\n")
    m = CredentialsManager()
    m.profile = "p"
    panel = SsoLoginPanel(manager=m)
    panel.login_button.click()
    assert "no [sso-session nope] section" in panel.message.value


def test_closing_the_panel_leaves_no_dangling_references(sso_files: AwsFiles) -> None:
    """As for the MFA code box (whose test has the negative control): only layouts and styles stay."""
    from ipywidgets import Widget
    from ipywidgets.widgets.widget import _instances

    before = set(_instances)
    SsoLoginPanel(manager=CredentialsManager()).close()
    Widget.get_manager_state()
    left = {type(_instances[k]).__name__ for k in set(_instances) - before}
    assert all(name == "Layout" or name.endswith("Style") for name in left), left


def test_link_is_never_a_script(sso_files: AwsFiles) -> None:
    from awswidget.widgets.sso import _link

    assert "href" not in _link("javascript:alert(1)")
    assert 'href="https://x.example/?a=1&amp;b=&quot;2&quot;"' in _link('https://x.example/?a=1&b="2"')


@pytest.fixture(autouse=True)
def _no_leftover_logins() -> Iterator[None]:
    yield
    _session.role_cache().clear()
