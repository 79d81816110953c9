"""botocore's DEBUG logs carry session tokens and AssumeRole replies: awswidget keeps them out."""

from __future__ import annotations

import logging

import pytest

from awswidget import CredentialsManager, _redact

from .conftest import AwsFiles

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDplanted" + "A" * 40


@pytest.fixture
def debug_everything(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # the root logger: every library's records
    for name in ("botocore", "boto3", "urllib3"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _all_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)


def test_redact_shapes() -> None:
    cases = [
        (f"aws_secret_access_key = {SECRET}", SECRET),
        (f"{{'X-Amz-Security-Token': b'{TOKEN}'}}", TOKEN),
        (f"<SessionToken>{TOKEN}</SessionToken><SecretAccessKey>{SECRET}</SecretAccessKey>", TOKEN),
        (f'{{"accessToken": "{TOKEN}", "clientSecret": "{SECRET}"}}', SECRET),
    ]
    for text, secret in cases:
        assert secret not in _redact.redact(text), text
        assert _redact.REDACTED in _redact.redact(text)


@pytest.mark.integration
def test_debug_logs_of_verify_and_switch_hold_no_secret_or_token(
    aws_env: AwsFiles, local_aws: object, debug_everything: pytest.LogCaptureFixture
) -> None:
    endpoint = local_aws.endpoint_url  # type: ignore[attr-defined]
    aws_env.write(
        f"[profile temp]\nregion = us-east-1\nendpoint_url = {endpoint}\n\n"
        f"[profile role]\nrole_arn = arn:aws:iam::222222222222:role/r\nsource_profile = temp\n"
        f"region = us-east-1\nendpoint_url = {endpoint}\n",
        f"[temp]\naws_access_key_id = ASIAQQQQQQQQQQQQQQQQ\naws_secret_access_key = {SECRET}\naws_session_token = {TOKEN}\n",
    )
    m = CredentialsManager()
    m.profile = "temp"
    m.verify()
    m.profile = "role"  # AssumeRole: the reply body carries a fresh secret and token
    m.verify()
    creds = m.session.get_credentials().get_frozen_credentials()
    text = _all_text(debug_everything)
    assert "GetCallerIdentity" in text or "get_caller_identity" in text.lower()  # DEBUG really was on
    for secret in (SECRET, TOKEN, creds.secret_key, creds.token):
        assert secret not in text


def test_negative_control_without_redaction_the_token_leaks(
    aws_env: AwsFiles, debug_everything: pytest.LogCaptureFixture
) -> None:
    # Proves the check above can fail: with the factory removed, a token logged the
    # way botocore logs request headers shows up in the captured records.
    _redact.install()
    _redact.uninstall()
    try:
        logging.getLogger("botocore.endpoint").debug("Sending http request: %s", {"X-Amz-Security-Token": TOKEN})
        assert TOKEN in _all_text(debug_everything)
    finally:
        _redact.install()
    debug_everything.clear()
    logging.getLogger("botocore.endpoint").debug("Sending http request: %s", {"X-Amz-Security-Token": TOKEN})
    assert TOKEN not in _all_text(debug_everything)


def test_opt_out(monkeypatch: pytest.MonkeyPatch) -> None:
    _redact.uninstall()
    monkeypatch.setenv("AWSWIDGET_REDACT_LOGS", "0")
    _redact.install()
    assert logging.getLogRecordFactory() is logging.LogRecord
    monkeypatch.delenv("AWSWIDGET_REDACT_LOGS")
    _redact.install()
    assert logging.getLogRecordFactory() is not logging.LogRecord
