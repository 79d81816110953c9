"""Expiry of temporary credentials: time left, the warning, the remedy; with an injected clock.

The credentials come from real resolutions (AssumeRole against the local moto
server, a credential_process script); only "now" is injected.
"""

from __future__ import annotations

import datetime as dt
import queue
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from awswidget import CredentialsManager, _session
from awswidget.expiry import ExpiryStatus, Ticker, credentials_expiry, describe, format_remaining, status_for
from awswidget.localaws import LocalAws
from awswidget.profiles import ProfileInfo
from awswidget.sso import sso_config
from awswidget.widgets import ProfilePicker

from .conftest import AwsFiles

UTC = dt.timezone.utc
T0 = dt.datetime(2030, 5, 17, 12, 0, tzinfo=UTC)
KEYS = "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"


@pytest.fixture(autouse=True)
def fresh_role_cache() -> Iterator[None]:
    _session.role_cache().clear()
    yield
    _session.role_cache().clear()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(-5, "0 s"), (0, "0 s"), (45, "45 s"), (60, "1 min"), (299, "4 min"), (3600, "1 h 00 min"), (3600 + 65 * 60, "2 h 05 min")],
)
def test_format_remaining(seconds: int, text: str) -> None:
    assert format_remaining(dt.timedelta(seconds=seconds)) == text


@pytest.mark.parametrize(
    ("left", "action", "renews", "level", "message"),
    [
        (dt.timedelta(minutes=42), "mfa", False, "ok", "MFA session: 42 min left (until 12:42 UTC)."),
        (dt.timedelta(minutes=4), "mfa", False, "warning", "MFA session ends in 4 min (12:04 UTC): refresh and enter a new MFA code to continue."),
        (dt.timedelta(minutes=-3), "mfa", False, "expired", "MFA session ended at 11:57 UTC: refresh and enter a new MFA code."),
        (dt.timedelta(minutes=2), "sso-login", False, "warning", "MFA session ends in 2 min (12:02 UTC): log in with SSO again to continue."),
        (dt.timedelta(minutes=3), "refresh", True, "ok", "MFA session: renewed automatically (current ones until 12:03 UTC)."),
        # Past their end, renewing ones are not said to last "until" a time gone by (issue 15, item 12).
        (dt.timedelta(minutes=-3), "refresh", True, "ok", "MFA session: renewed automatically on the next call (the last ones ended at 11:57 UTC)."),
    ],
)
def test_describe(left: dt.timedelta, action: str, renews: bool, level: str, message: str) -> None:
    status = describe(T0 + left, T0, what="MFA session", action=action, renews=renews)
    assert (status.level, status.message, status.remaining) == (level, message, left)
    assert status.action == ("none" if renews else action)


def test_sso_login_expiry_comes_from_the_token_cache(aws_env: AwsFiles) -> None:
    aws_env.write(config="[profile dev]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = r\n"
                  "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n")
    config = _session.merged_config(str(aws_env.config), str(aws_env.credentials))
    info = ProfileInfo("dev", "sso", sso_session="corp")
    assert status_for(None, info, config, T0) is None  # not logged in: nothing to count down
    key = sso_config(config, "dev").cache_key
    _session.sso_token_cache()[key] = {"accessToken": "x", "expiresAt": "2030-05-17T12:08:00Z"}
    status = status_for(None, info, config, T0)
    assert status == ExpiryStatus(T0 + dt.timedelta(minutes=8), dt.timedelta(minutes=8), "warning", False, "sso-login",
                                  "SSO login ends in 8 min (12:08 UTC): log in with SSO again to continue.")


# ---------------------------------------------------------------- real credentials, injected clock


@pytest.fixture
def role_env(aws_env: AwsFiles, local_aws: LocalAws) -> AwsFiles:
    endpoint = f"region = us-east-1\nendpoint_url = {local_aws.endpoint_url}\n"
    return aws_env.write(
        config=f"[profile base]\n{endpoint}"
        f"[profile role]\nrole_arn = arn:aws:iam::123456789012:role/ops\nsource_profile = base\n{endpoint}"
        f"[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/admin\nsource_profile = base\n"
        f"mfa_serial = arn:aws:iam::123456789012:mfa/alice\n{endpoint}"
        f"[profile via-admin]\nrole_arn = arn:aws:iam::123456789012:role/audit\nsource_profile = admin\n{endpoint}",
        credentials=f"[base]\n{KEYS}",
    )


def answer_mfa(m: CredentialsManager) -> None:
    m.observe(lambda change: change.new is not None and change.new.answer("123456"), names="mfa_request")


@pytest.mark.integration
def test_static_keys_have_no_expiry(role_env: AwsFiles) -> None:
    m = CredentialsManager()
    m.profile = "base"
    m.verify()
    assert m.expiry is None and m.expires_at is None and credentials_expiry(m.session) is None


@pytest.mark.integration
def test_a_role_without_mfa_renews_by_itself(role_env: AwsFiles) -> None:
    m = CredentialsManager()
    m.profile = "role"
    assert m.expires_at is None  # unverified: nothing resolved yet
    m.verify()
    status = m.check_expiry(now=m.expires_at + dt.timedelta(minutes=1))  # type: ignore[operator]
    assert status is not None and status.renews and status.level == "ok" and status.action == "none"


@pytest.mark.integration
@pytest.mark.parametrize("profile", ["admin", "via-admin"])  # MFA on the role itself, or on the role it sources from
def test_mfa_credentials_warn_then_expire_ten_minutes_early(role_env: AwsFiles, profile: str) -> None:
    m = CredentialsManager()
    m.profile = profile
    answer_mfa(m)
    m.verify(block=False).result(timeout=30)  # type: ignore[union-attr]
    real_end = credentials_expiry(m.session)
    assert real_end is not None
    usable_end = real_end - dt.timedelta(minutes=10)  # botocore's mandatory refresh window: it stops using them here
    assert m.expires_at == usable_end
    ok = m.check_expiry(now=usable_end - dt.timedelta(minutes=30))
    warn = m.check_expiry(now=usable_end - dt.timedelta(minutes=3))
    gone = m.check_expiry(now=usable_end + dt.timedelta(seconds=1))
    assert (ok.level, warn.level, gone.level) == ("ok", "warning", "expired")  # type: ignore[union-attr]
    assert "30 min left" in ok.message and "ends in 3 min" in warn.message  # type: ignore[union-attr]
    assert gone.action == "mfa" and "enter a new MFA code" in gone.message  # type: ignore[union-attr]
    assert m.expiry == gone


@pytest.mark.integration
def test_picker_shows_time_left_then_the_remedy_and_refresh_asks_for_a_new_code(role_env: AwsFiles) -> None:
    m = CredentialsManager()
    m.profile = "base"
    picker = ProfilePicker(m)
    picker.verification.result(timeout=30)  # type: ignore[union-attr]
    codes: queue.Queue[object] = queue.Queue()
    m.observe(lambda change: change.new is not None and codes.put(change.new), names="mfa_request")
    picker.profile_select.value = "admin"
    codes.get(timeout=15)
    assert picker.mfa_prompt.layout.display is None
    picker.mfa_prompt.code.value = "123456"
    picker.verification.result(timeout=30)  # type: ignore[union-attr]
    assert "MFA session:" in picker.status.value and "min left" in picker.status.value
    m.check_expiry(now=m.expires_at - dt.timedelta(minutes=2))  # type: ignore[operator]
    assert "⚠ MFA session ends in 2 min" in picker.status.value and "enter a new MFA code" in picker.status.value
    # botocore's own clock must see them as expired too before it asks again: age the cached credentials.
    (entry,) = _session.role_cache().values()
    entry["Credentials"]["Expiration"] = dt.datetime.now(UTC) + dt.timedelta(minutes=5)
    picker.refresh_button.click()
    request = codes.get(timeout=15)
    picker.mfa_prompt.submit("654321")
    assert request.state == "answered"  # type: ignore[attr-defined]
    assert picker.verification.result(timeout=30).principal_kind == "assumed role"  # type: ignore[union-attr]
    picker.close()


@pytest.mark.integration
def test_expiry_never_resolves_credentials(aws_env: AwsFiles, local_aws: LocalAws, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    script = tmp_path / "creds.py"
    script.write_text(
        f"open({str(runs)!r}, 'a').write('x')\n"
        'print(\'{"Version": 1, "AccessKeyId": "AKIAIOSFODNN7EXAMPLE", '
        '"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "Expiration": "2100-01-01T00:00:00Z"}\')\n'
    )
    aws_env.write(config=f'[profile proc]\ncredential_process = "{sys.executable}" "{script}"\nendpoint_url = {local_aws.endpoint_url}\n')
    m = CredentialsManager()
    m.profile = "proc"
    assert m.check_expiry() is None and credentials_expiry(m.session) is None
    assert not runs.exists()  # nothing ran the process
    m.session.get_credentials()  # type: ignore[union-attr]  # negative control: resolving does run it
    assert runs.read_text() == "x"
    m.verify()
    assert m.expires_at == dt.datetime(2100, 1, 1, tzinfo=UTC) and runs.read_text() == "x"


# ---------------------------------------------------------------- the ticker


def test_ticker_calls_back_until_stopped() -> None:
    ticks: queue.Queue[bool] = queue.Queue()
    calls: queue.Queue[int] = queue.Queue()
    count = iter(range(1, 100))

    def callback() -> None:
        n = next(count)
        calls.put(n)
        if n == 2:
            raise RuntimeError("a failing tick does not stop the ticker")

    ticker = Ticker(callback, interval=30, wait=lambda seconds: ticks.get(timeout=10))
    ticker.start()
    assert ticker.running
    for expected in (1, 2, 3):
        ticks.put(False)  # "30 s passed"
        assert calls.get(timeout=10) == expected
    ticks.put(True)  # "stopped"
    ticker._thread.join(10)  # type: ignore[union-attr]
    assert not ticker.running and calls.empty()


def test_ticker_stop_wakes_the_default_wait() -> None:
    ticker = Ticker(lambda: None, interval=3600).start()
    ticker.stop()
    ticker._thread.join(10)  # type: ignore[union-attr]
    assert not ticker.running
