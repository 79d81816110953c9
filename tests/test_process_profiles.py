"""credential_process profiles and assume-role chains, resolved by botocore against the local moto server.

Every credential_process here is a small Python script under tmp_path, run by
botocore itself. The keys it prints belong to real IAM users of moto's server
(signature checks on), so a verified identity proves the process's output was used.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import boto3
import botocore.exceptions
import botocore.session
import pytest
from ipywidgets.embed import dependency_state

from awswidget import CredentialsManager, VerificationError, _session
from awswidget.localaws import LocalAws
from awswidget.widgets import ProfilePicker

from .conftest import AuthAws, AwsFiles, IamKey

SECRET_MARK = "PLANTED-SECRET-9f8e7d6c5b4a"  # what a broken process might print: must never be shown


@pytest.fixture(autouse=True)
def fresh_role_cache() -> None:
    _session.role_cache().clear()


def process(tmp_path: Path, name: str, body: str) -> str:
    """A script under tmp_path, as a credential_process command line."""
    script = tmp_path / f"{name}.py"
    script.write_text(body)
    return f'"{sys.executable}" "{script}"'


def credentials_json(key: IamKey, expiration: str | None = None) -> str:
    doc = {"Version": 1, "AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key}
    if expiration:
        doc["Expiration"] = expiration
    return json.dumps(doc)


def printing(key: IamKey, expiration: str | None = None, count_runs: Path | None = None) -> str:
    count = f"open({str(count_runs)!r}, 'a').write('x')\n" if count_runs else ""
    return f"{count}print({credentials_json(key, expiration)!r})\n"


def verify_error(m: CredentialsManager) -> VerificationError:
    with pytest.raises(VerificationError) as info:
        m.verify()
    assert m.status == "error"
    return info.value


# ---------------------------------------------------------------- credential_process


@pytest.mark.integration
def test_process_credentials_with_expiration_verify_and_show_time_left(aws_env: AwsFiles, auth_aws: AuthAws, tmp_path: Path) -> None:
    key = auth_aws.new_key()
    command = process(tmp_path, "ok", printing(key, "2100-01-01T00:00:00Z"))
    aws_env.write(config=f"[profile proc]\ncredential_process = {command}\nregion = us-east-1\nendpoint_url = {auth_aws.endpoint_url}\n")
    m = CredentialsManager()
    assert m.profile_info("proc").kind == "process"
    m.profile = "proc"
    assert m.verify().arn == key.arn  # type: ignore[union-attr]
    assert m.expires_at is not None and m.expires_at.isoformat() == "2100-01-01T00:00:00+00:00"
    assert m.expiry is not None and m.expiry.renews and "Process credentials: renewed automatically" in m.expiry.message


@pytest.mark.integration
def test_process_credentials_without_expiration_have_no_expiry(aws_env: AwsFiles, auth_aws: AuthAws, tmp_path: Path) -> None:
    key = auth_aws.new_key()
    command = process(tmp_path, "static", printing(key))
    aws_env.write(config=f"[profile proc]\ncredential_process = {command}\nendpoint_url = {auth_aws.endpoint_url}\n")
    m = CredentialsManager()
    m.profile = "proc"
    assert m.verify().arn == key.arn  # type: ignore[union-attr]
    assert m.expires_at is None and m.expiry is None


FAILING = f"""\
import sys
print('{{"Version": 1, "AccessKeyId": "AKIA{SECRET_MARK}"}}')
print("token refresh failed for user bob, password={SECRET_MARK}", file=sys.stderr)
sys.exit(3)
"""
NOT_JSON = f'print("secret_access_key={SECRET_MARK}")\n'


@pytest.mark.parametrize(
    ("body", "words", "botocore_error"),
    [
        (FAILING, "credential_process failed (its output is not shown", botocore.exceptions.CredentialRetrievalError),
        (NOT_JSON, "not credentials JSON (not shown", json.JSONDecodeError),
    ],
)
def test_process_errors_are_clear_and_never_show_the_output(
    aws_env: AwsFiles, tmp_path: Path, caplog: pytest.LogCaptureFixture, body: str, words: str, botocore_error: type
) -> None:
    command = process(tmp_path, "broken", body)
    aws_env.write(config=f"[profile proc]\ncredential_process = {command}\n")
    # Negative control: botocore's own error carries the planted secret (in its text or its parsed document).
    with pytest.raises(botocore_error) as raw:
        botocore.session.Session(profile="proc").get_credentials()
    assert SECRET_MARK in str(raw.value) + getattr(raw.value, "doc", "")

    caplog.set_level(logging.DEBUG)
    m = CredentialsManager()
    m.profile = "proc"
    picker = ProfilePicker(m, verify=False)
    error = verify_error(m)
    assert words in error.reason and error.code == "CredentialProcess"
    assert words in picker.status.value
    shown = " ".join([str(error), repr(error), m.message, repr(m), *m.warnings, picker.status.value, json.dumps(dependency_state([picker], drop_defaults=False))])
    assert SECRET_MARK not in shown
    assert SECRET_MARK not in caplog.text  # botocore logs the failure with a traceback: the text is redacted away
    picker.close()


def test_a_missing_process_command_is_named(aws_env: AwsFiles, tmp_path: Path) -> None:
    aws_env.write(config=f"[profile proc]\ncredential_process = {tmp_path / 'no-such-helper'} --token {SECRET_MARK}\n")
    m = CredentialsManager()
    m.profile = "proc"
    error = verify_error(m)
    assert "could not be started (No such file or directory)" in error.reason and SECRET_MARK not in m.message


# ---------------------------------------------------------------- assume-role chains

ROLE_A = "arn:aws:iam::123456789012:role/first"
ROLE_B = "arn:aws:iam::210987654321:role/second"


@pytest.fixture
def chain_env(aws_env: AwsFiles, local_aws: LocalAws, tmp_path: Path) -> tuple[AwsFiles, IamKey]:
    """Role chains against moto without signature checks (its IAM would want each made-up role to exist)."""
    key = IamKey("base", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "123456789012", "")
    endpoint = f"endpoint_url = {local_aws.endpoint_url}\nregion = us-east-1\n"
    command = process(tmp_path, "source", printing(key))
    aws_env.write(
        config=f"""\
[profile base]
{endpoint}
[profile first]
role_arn = {ROLE_A}
source_profile = base
{endpoint}
[profile second]
role_arn = {ROLE_B}
source_profile = first
{endpoint}
[profile from-env]
role_arn = {ROLE_A}
credential_source = Environment
{endpoint}
[profile from-process]
role_arn = {ROLE_B}
source_profile = proc
{endpoint}
[profile proc]
credential_process = {command}
{endpoint}
[profile loop-a]
role_arn = {ROLE_A}
source_profile = loop-b
{endpoint}
[profile loop-b]
role_arn = {ROLE_B}
source_profile = loop-a
{endpoint}
[profile orphan]
role_arn = {ROLE_A}
source_profile = ghost
{endpoint}
[profile both]
role_arn = {ROLE_A}
source_profile = base
credential_source = Environment
{endpoint}
""",
        credentials=f"[base]\naws_access_key_id = {key.access_key_id}\naws_secret_access_key = {key.secret_access_key}\n",
    )
    return aws_env, key


@pytest.mark.integration
@pytest.mark.parametrize(
    ("profile", "arn_prefix"),
    [
        ("first", "arn:aws:sts::123456789012:assumed-role/first/"),
        ("second", "arn:aws:sts::210987654321:assumed-role/second/"),  # base -> first -> second
        ("from-process", "arn:aws:sts::210987654321:assumed-role/second/"),  # a process as the source
    ],
)
def test_role_chains_resolve_through_botocore(chain_env: tuple[AwsFiles, IamKey], profile: str, arn_prefix: str) -> None:
    m = CredentialsManager()
    m.profile = profile
    assert m.verify().arn.startswith(arn_prefix)  # type: ignore[union-attr]
    assert m.expiry is not None and m.expiry.renews and "Role credentials: renewed automatically" in m.expiry.message


@pytest.mark.integration
def test_credential_source_environment(chain_env: tuple[AwsFiles, IamKey], monkeypatch: pytest.MonkeyPatch) -> None:
    _, key = chain_env
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key.secret_access_key)
    m = CredentialsManager()
    m.profile = "from-env"
    assert m.verify().arn.startswith("arn:aws:sts::123456789012:assumed-role/first/")  # type: ignore[union-attr]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("profile", "words", "code"),
    [
        ("loop-a", "The source_profile chain loops back on itself (loop-a → loop-b → loop-a).", "InfiniteLoop"),
        ("orphan", 'The source_profile "ghost" referenced in the profile "orphan" does not exist.', "InvalidConfig"),
        ("both", 'The profile "both" contains both source_profile and credential_source.', "InvalidConfig"),
    ],
)
def test_broken_chains_are_a_clear_error_for_that_profile_only(
    chain_env: tuple[AwsFiles, IamKey], profile: str, words: str, code: str
) -> None:
    m = CredentialsManager()
    picker = ProfilePicker(m)  # listing and showing them is no problem
    assert {"loop-a", "loop-b", "orphan", "both"} <= set(m.profiles)
    picker.profile_select.value = profile
    picker.verification.exception(timeout=30)  # type: ignore[union-attr]
    assert m.status == "error" and m.message == f"Profile '{profile}' could not be verified: {words}"
    assert m.profile_info(profile).kind == "role"
    picker.profile_select.value = "first"  # every other profile still works
    assert picker.verification.result(timeout=30).account == "123456789012"  # type: ignore[union-attr]
    picker.close()
    m.profile = profile
    assert verify_error(m).code == code


def test_a_client_used_in_a_cell_never_shows_a_failing_process_output(aws_env: AwsFiles, tmp_path: Path) -> None:
    """Issue 15, item 12: m.client(...) in a running cell raised botocore's error with the stderr verbatim."""
    command = process(tmp_path, "broken", FAILING)
    aws_env.write(config=f"[profile proc]\ncredential_process = {command}\nregion = us-east-1\n")
    m = CredentialsManager()
    m.profile = "proc"
    for make in (m.client, boto3.client):
        with pytest.raises(botocore.exceptions.CredentialRetrievalError) as raised:
            make("sts").get_caller_identity()  # botocore resolves the credentials as it makes the client
        text = str(raised.value)
        assert SECRET_MARK not in text and "exited with code 3" in text and "run the command in a terminal" in text
