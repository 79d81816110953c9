"""Secrets stay secret: one test per channel a secret could leak through, each with a negative control.

The journey walks every user path of the picker and the setup form on one manager, against moto's server
(``local_aws``): verify, switch to a role (AssumeRole: its reply carries a fresh secret and token), save
through the form (verified with STS), overwrite, CSV import, rejections, remove, a failed write and a
repair. After every step a channel test searches its channel for every secret and token seen so far:
repr/str, DEBUG log records of every logger, warnings, widget state (``get_state``,
``Widget.get_manager_state``, ``embed_data``, a notebook saved with widget state), files other than the
credentials file, and ``os.environ``. Exceptions and tracebacks get their own table of cases (wrong secret
against ``auth_aws``, parse errors of lines holding a secret, write errors). Each channel's negative
control plants a secret in that channel and proves the same check finds it.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import os
import subprocess
import sys
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ipywidgets import FileUpload, Widget

from awswidget import WriteError, _redact, _session, files
from awswidget.manager import CredentialsManager
from awswidget.mfa import MfaPrompter, MfaRequest
from awswidget.sso import DeviceLogin, sso_config
from awswidget.validate import parse_key_csv
from awswidget.widgets import CredentialSetupForm, ProfilePicker

from .conftest import AuthAws, AwsFiles
from .leaks import (
    Capture,
    debug_everything,
    environ_leaks,
    exception_text,
    file_problems,
    leaks,
    new_secret,
    new_token,
    widget_state_texts,
)
from .test_form import fill, upload

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
ROOT = Path(__file__).resolve().parent.parent
_SHADOW = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def temp_key_id() -> str:
    return "ASIA" + uuid.uuid4().hex[:16].upper()


@pytest.fixture(autouse=True)
def _close_widgets() -> Iterator[None]:
    yield
    Widget.close_all()  # the widget registry is process-wide: state captured in the next test starts empty


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, recwarn: pytest.WarningsRecorder) -> Capture:
    return debug_everything(caplog, recwarn)


# ---------------------------------------------------------------- the journey


class Journey:
    """Every user path of the picker and the form on one manager, with a check after each step."""

    STEPS = ("open", "verify", "switch to a role", "save", "overwrite", "csv import", "rejections", "remove",
             "failed write", "repair")

    def __init__(self, aws_files: AwsFiles, endpoint: str) -> None:
        self.files = aws_files
        self.endpoint = endpoint
        self.secrets: list[str] = []  # every secret, token and password the journey typed, stored or received
        self.objects: list[Any] = []  # the public objects that held or handled one
        self.texts: dict[str, str] = {}  # text shown to the user that is not a repr (the repair diff)
        self.errors: list[BaseException] = []

    def secret(self) -> str:
        self.secrets.append(new_secret())
        return self.secrets[-1]

    def token(self) -> str:
        self.secrets.append(new_token())
        return self.secrets[-1]

    def run(self, check: Callable[[str], None], steps: tuple[str, ...] = STEPS) -> None:
        for step in steps:
            getattr(self, "_" + step.replace(" ", "_"))()
            check(step)

    # ------------------------------------------------------------ steps

    def _open(self) -> None:
        ep = self.endpoint
        role = f"arn:aws:iam::123456789012:role/leaks-{uuid.uuid4().hex[:8]}"  # a new role: nothing cached for it
        self.files.write(
            f"[profile temp]\nregion = us-east-1\nendpoint_url = {ep}\n\n"
            f"[profile role]\nrole_arn = {role}\nsource_profile = temp\nregion = us-east-1\nendpoint_url = {ep}\n",
            f"[temp]\naws_access_key_id = {temp_key_id()}\naws_secret_access_key = {self.secret()}\n"
            f"aws_session_token = {self.token()}\n",
        )
        self.m = CredentialsManager()
        self.picker = ProfilePicker(self.m, verify=False)
        self.picker.details.selected_index = 0  # the details table: every setting of the selection
        self.form = CredentialSetupForm(self.m, endpoint_url=ep)
        self.form.save_endpoint_checkbox.value = True  # saved profiles reach the local endpoint by themselves
        self.objects += [self.m, self.picker, self.form, self.m.files]

    def _refresh(self) -> None:
        """Click the picker's refresh button and wait for the verification it starts."""
        self.picker.refresh_button.click()
        future = self.picker.verification
        if future is not None:
            future.exception(timeout=60)

    def _verify(self) -> None:
        self.picker.profile_select.value = "temp"
        self._refresh()
        assert self.m.status == "verified", self.m.message
        assert "aws_session_token" in self.picker.details.children[0].value  # listed, its value hidden
        self.objects += [self.m.identity, self.m.profile_info(), self.m.expiry]

    def _switch_to_a_role(self) -> None:
        self.picker.profile_select.value = "role"
        self._refresh()
        assert self.m.status == "verified", self.m.message
        creds = self.m.session.get_credentials().get_frozen_credentials()  # type: ignore[union-attr]
        self.secrets += [creds.secret_key, creds.token]  # fresh from AssumeRole's reply
        self.objects += [self.m.identity, self.m.profile_info(), self.m.expiry, self.m.session]
        with self.m.using("temp"):
            self.m.client("sts").get_caller_identity()

    def _save_click(self, confirm: bool = False) -> Any:
        form = self.form
        form.save_button.click()
        assert form.last_save is not None
        result = form.last_save.result(timeout=60)
        if confirm:
            assert result is None and form.save_confirm.visible, form.message.value
            form.save_confirm.yes_button.click()
            result = form.last_save.result(timeout=60)
        return result

    def _save(self) -> None:
        fill(self.form, "onboarded", temp_key_id(), self.secret(), region="us-east-1", token=self.token(), verify=True)
        info = self._save_click()
        assert info is not None, self.form.message.value
        self.objects.append(info)

    def _overwrite(self) -> None:
        fill(self.form, "onboarded", KEY_ID, self.secret(), region="us-east-1", verify=True)
        info = self._save_click(confirm=True)
        assert info is not None and "Replaced" in self.form.message.value, self.form.message.value

    def _csv_import(self) -> None:
        secret, password = self.secret(), self.secret()  # the console password is as secret as the key
        content = (
            "User name,Password,Access key ID,Secret access key,Console login link\n"
            f"csv.user,{password},{KEY_ID},{secret},https://123456789012.signin.aws.amazon.com/console\n"
        ).encode()
        upload(self.form, content, name="csv.user_accessKeys.csv")
        self.objects.append(parse_key_csv(content))
        info = self._save_click()
        assert info is not None and info.name == "csv.user", self.form.message.value

    def _rejections(self) -> None:
        form = self.form
        typo = self.secret()
        self.secrets.append(typo[:20] + " " + typo[20:])
        fill(form, "typo", KEY_ID, self.secrets[-1])  # a stray space: validation refuses it
        assert form.submit() is None and "Not saved" in form.message.value
        fill(form, "onboarded", KEY_ID, self.secret())  # exists: the user declines to replace it
        assert form.submit() is None and form.save_confirm.visible
        form.save_confirm.no_button.click()
        form.endpoint_url = "http://127.0.0.1:9"  # nothing listens there: verification fails
        try:
            fill(form, "unreachable", KEY_ID, self.secret(), region="us-east-1", verify=True)
            assert self._save_click() is None and "Could not reach" in form.message.value
        finally:
            form.endpoint_url = self.endpoint

    def _remove(self) -> None:
        form = self.form
        form.remove_select.value = "csv.user"
        form.remove_button.click()
        form.remove_confirm.yes_button.click()
        assert "csv.user" not in self.m.profiles

    def _failed_write(self) -> None:
        self.files.credentials.chmod(0o400)  # a read-only credentials file is refused: the write fails
        try:
            fill(self.form, "failed", KEY_ID, self.secret())
            assert self.form.submit() is None and "Could not write" in self.form.message.value
            with pytest.raises(WriteError) as caught:
                self.m.add_profile("failed", KEY_ID, self.secret())
            self.errors.append(caught.value)
        finally:
            self.files.credentials.chmod(0o600)

    def _repair(self) -> None:
        creds = self.files.credentials
        with creds.open("a") as f:  # a torn write by another tool: the key twice, botocore rejects the file
            f.write(f"\n[torn]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {self.secret()}\n"
                    f"aws_secret_access_key = {self.secret()}\n")
        self._refresh()
        assert self.m.file_errors and "torn" not in self.m.profiles
        snapshot = files.read_file(creds)
        self.objects += [snapshot, snapshot.error]
        plan = self.m.plan_repair(str(creds))
        assert plan is not None
        self.objects.append(plan)
        self.texts["repair diff"] = plan.diff
        self.m.repair_file(str(creds), plan)
        assert not self.m.file_errors and "torn" in self.m.profiles


@pytest.fixture
def journey(aws_env: AwsFiles, local_aws: Any) -> Journey:
    return Journey(aws_env, local_aws.endpoint_url)


def shown_texts(j: Journey) -> dict[str, str]:
    """repr and str of every public object of the journey, and every text the manager and widgets show."""
    texts = {f"{i} {type(o).__name__}": f"{o!r}\n{o!s}" for i, o in enumerate([*j.objects, *j.errors])}
    m = getattr(j, "m", None)
    if m is not None:
        texts["manager traits"] = repr(m.trait_values()) + repr(m.describe()) + repr([m.profile_info(n) for n in m.profiles])
        texts["picker text/plain"] = j.picker._repr_mimebundle_()["text/plain"]
        texts["form messages"] = " ".join([j.form.message.value, *(w.value for w in j.form.field_messages.values())])
    return {**texts, **j.texts}


# ---------------------------------------------------------------- 1. repr and str


@pytest.mark.integration
def test_repr_and_str_of_every_public_object_hold_no_secret(journey: Journey) -> None:
    checked: list[str] = []

    def check(step: str) -> None:
        assert leaks(journey.secrets, shown_texts(journey)) == [], step
        checked.append(step)

    journey.run(check)
    assert checked == list(Journey.STEPS)
    kinds = {type(o).__name__ for o in journey.objects}
    assert {"CredentialsManager", "ProfilePicker", "CredentialSetupForm", "SharedFiles", "Identity", "ProfileInfo",
            "KeyCsv", "FileSnapshot", "ConfigFileError", "RepairPlan", "ExpiryStatus"} <= kinds


def test_repr_and_logs_of_mfa_and_sso_objects_hold_no_code_or_token(aws_env: AwsFiles, logs: Capture) -> None:
    """An answered MFA request, and an SSO device login (sso-oidc answered by botocore's Stubber: moto lacks it)."""
    from .test_sso import ACCESS_TOKEN, CLIENT_SECRET, CONFIG, DEVICE_CODE, REFRESH_TOKEN, Clock, oidc

    aws_env.write(config=CONFIG.format(endpoint=""))
    m = CredentialsManager()
    m.profile = "keys"  # not an SSO profile: the login must not start a verification against AWS
    picker = ProfilePicker(m, verify=False)
    request = MfaRequest("role", "arn:aws:iam::111122223333:mfa/alice", timeout=5)
    request.answer("918273")
    code = request.wait()
    clock = Clock()
    client, stub = oidc(scopes=["sso:account:access"])
    config = sso_config(_session.merged_config(str(aws_env.config), str(aws_env.credentials)), "dev")
    login = DeviceLogin(config, profile="dev", client=client, clock=clock, sleep=clock.sleep, cache_dir=str(aws_env.root / "sso"))
    final = login.run()
    stub.assert_no_pending_responses()
    objects = [request, MfaPrompter("role"), login, final, config, m, picker]
    secrets = [code, ACCESS_TOKEN, REFRESH_TOKEN, CLIENT_SECRET, DEVICE_CODE]
    texts = {type(o).__name__: f"{o!r}\n{o!s}" for o in objects}
    assert final.status == "succeeded" and "918273" not in texts["MfaRequest"]
    assert leaks(secrets, texts) == []
    assert leaks(secrets, widget_state_texts(picker)) == []
    assert leaks(secrets, {"logs": logs.text()}) == []


def test_negative_control_repr(journey: Journey) -> None:
    """The repr check finds a secret held by an object whose repr shows it."""
    journey.run(lambda step: None, steps=("open",))
    secret = journey.secrets[0]
    assert leaks([secret], shown_texts(journey)) == []
    journey.objects.append(dataclasses.replace(journey.m.profile_info("temp"), region=secret))
    assert leaks([secret], shown_texts(journey)) != []


# ---------------------------------------------------------------- 2. log records at DEBUG, every logger


@pytest.mark.integration
def test_debug_logs_of_every_logger_hold_no_secret(journey: Journey, logs: Capture) -> None:
    journey.run(lambda step: None)
    text = logs.text()
    assert leaks(journey.secrets, {"logs": text}) == []
    # DEBUG really was on, and botocore really logged what would have leaked: blanked by the record factory.
    # filelock logs nothing since the folder itself is flocked: no lock file to announce.
    assert {"botocore", "urllib3", "awswidget"} <= {r.name.split(".")[0] for r in logs.records}
    assert any(r.name.startswith("botocore") and r.levelno == logging.DEBUG for r in logs.records)
    assert "X-Amz-Security-Token" in text and "AssumeRole" in text
    assert f"<SecretAccessKey>{_redact.REDACTED}" in text and f"<SessionToken>{_redact.REDACTED}" in text


@pytest.mark.integration
def test_negative_control_logs_without_redaction(journey: Journey, logs: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Opted out (AWSWIDGET_REDACT_LOGS=0), the same journey puts the token and the role's secret in the logs."""
    _redact.uninstall()
    monkeypatch.setenv("AWSWIDGET_REDACT_LOGS", "0")
    try:
        journey.run(lambda step: None, steps=("open", "verify", "switch to a role"))
        assert logging.getLogRecordFactory() is logging.LogRecord  # the manager did not install it
        text = logs.text()
        token, role_secret, role_token = journey.secrets[1:4]  # the profile's token, then AssumeRole's reply
        for secret in (token, role_secret, role_token):
            assert leaks([secret], {"logs": text}) != []
    finally:
        monkeypatch.delenv("AWSWIDGET_REDACT_LOGS")
        _redact.install()
    assert logging.getLogRecordFactory() is not logging.LogRecord


LOGGING_CHILD = """
import logging, os, sys
logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format="%(name)s %(message)s")
from awswidget import CredentialsManager
m = CredentialsManager()
m.verify()
print("VERIFIED", m.status)
"""


@pytest.mark.integration
@pytest.mark.parametrize("opt_out", [False, True], ids=["default", "AWSWIDGET_REDACT_LOGS=0"])
def test_redaction_is_on_by_default_and_the_documented_opt_out_turns_it_off(
    aws_env: AwsFiles, local_aws: Any, opt_out: bool
) -> None:
    """A fresh kernel-like process with DEBUG logging to its output, as a notebook user would turn it on."""
    secret, token = new_secret(), new_token()
    aws_env.write(
        f"[default]\nregion = us-east-1\nendpoint_url = {local_aws.endpoint_url}\n",
        f"[default]\naws_access_key_id = {temp_key_id()}\naws_secret_access_key = {secret}\naws_session_token = {token}\n",
    )
    env = {k: v for k, v in os.environ.items() if k != "AWSWIDGET_REDACT_LOGS"} | {"PYTHONPATH": str(ROOT)}
    if opt_out:
        env["AWSWIDGET_REDACT_LOGS"] = "0"
    done = subprocess.run([sys.executable, "-c", LOGGING_CHILD], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert "VERIFIED verified" in done.stdout, done.stderr[-2000:]
    assert "X-Amz-Security-Token" in done.stdout  # botocore logged the header
    assert (token in done.stdout) is opt_out


# ---------------------------------------------------------------- 3. warnings


@pytest.mark.integration
def test_warnings_hold_no_secret(journey: Journey) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        journey.run(lambda step: None)
    text = "\n".join(f"{w.category.__name__} {w.message} {w.filename}" for w in caught)
    assert leaks(journey.secrets, {"warnings": text}) == []


def test_negative_control_warnings(aws_env: AwsFiles) -> None:
    """A warning that quotes a secret is caught by both ways of recording warnings."""
    secret = new_secret()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn(f"profile keys {secret}", UserWarning, stacklevel=1)
    assert leaks([secret], {"warnings": "\n".join(str(w.message) for w in caught)}) != []
    with pytest.warns(UserWarning) as recorded:
        warnings.warn(f"profile keys {secret}", UserWarning, stacklevel=1)
    assert leaks([secret], {"warnings": "\n".join(str(w.message) for w in recorded)}) != []


# ---------------------------------------------------------------- 4. exceptions and tracebacks


def _raised(call: Callable[[], Any]) -> BaseException:
    try:
        call()
    except Exception as exc:
        return exc
    raise AssertionError("no exception")


def _validation_errors(aws_env: AwsFiles, secret: str) -> tuple[list[BaseException], list[str]]:
    m = CredentialsManager()
    token = new_token()
    return [
        _raised(lambda: m.add_profile("dev", KEY_ID, secret[:20] + " " + secret[20:])),
        _raised(lambda: m.add_profile("dev", KEY_ID, secret + "é")),
        _raised(lambda: m.add_profile("dev", secret, KEY_ID)),  # the two pasted the wrong way round
        _raised(lambda: m.add_profile("dev", temp_key_id(), secret, session_token=token + " x")),
        _raised(lambda: m.add_profile("dev", temp_key_id(), secret)),  # a temporary key without its token
        _raised(lambda: m.add_profile("dev", KEY_ID, secret, endpoint_url=f"http://x\n{secret}")),
        _raised(lambda: m.verify_keys(secret, secret)),
        _raised(lambda: parse_key_csv(f"Access key ID,Secret access key\n{secret},{secret}\n".encode())),
        _raised(lambda: parse_key_csv(f"Access key ID,Secret access key\n{KEY_ID},{secret} {secret}\n".encode())),
        # A spreadsheet saved the file as Latin-1: the decoder's error holds every byte of the file.
        _raised(lambda: parse_key_csv(f"User name,Password,Access key ID,Secret access key\nj\xf6rg,{token},{KEY_ID},{secret}\n".encode("latin-1"))),
    ], [token]


def _verification_errors(aws_env: AwsFiles, secret: str, auth: AuthAws) -> tuple[list[BaseException], list[str]]:
    key = auth.key
    token = new_token()
    aws_env.write(
        f"[default]\nregion = us-east-1\nendpoint_url = {auth.endpoint_url}\n\n"
        f"[profile temp]\nregion = us-east-1\nendpoint_url = {auth.endpoint_url}\n",
        f"[default]\naws_access_key_id = {key.access_key_id}\naws_secret_access_key = {secret}\n\n"
        f"[temp]\naws_access_key_id = {temp_key_id()}\naws_secret_access_key = {secret}\naws_session_token = {token}\n",
    )
    m = CredentialsManager()
    errors = [
        _raised(lambda: m.verify_keys(key.access_key_id, secret, endpoint_url=auth.endpoint_url)),  # wrong secret
        _raised(lambda: m.verify()),
    ]
    assert all("secret access key is wrong" in str(e) for e in errors), errors
    m.profile = "temp"
    future = m.verify(block=False)
    errors.append(future.exception(timeout=60))  # type: ignore[union-attr]
    errors.append(_raised(lambda: m.verify_keys(temp_key_id(), secret, token, endpoint_url=auth.endpoint_url)))
    errors.append(RuntimeError(m.message))
    return errors, [token]


# A line that holds the secret, in every way botocore's parser can reject it.
PARSE_CASES = {
    "pasted on its own line": "[dev]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n{s}\n",
    "before any section": "{s}\n[dev]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n",
    "unclosed header": "[dev\naws_secret_access_key = {s}\n",
    "key twice": "[dev]\naws_secret_access_key = {s}\naws_secret_access_key = {s}x\n",
    "secret as a key": "[dev]\n{s} = 1\n{s} = 2\n",
    "secret as a section": "[{s}]\na = 1\n[{s}]\nb = 2\n",
    "nested block": "[dev]\ns3 =\n  {s}\n",
    "not UTF-8": "[dev]\naws_secret_access_key = {s}\udcff\n",
    "BOM": "\ufeff[dev]\naws_secret_access_key = {s}\n",
}


def _parse_errors(aws_env: AwsFiles, secret: str, layout: str) -> tuple[list[BaseException], list[str]]:
    aws_env.write()
    text = PARSE_CASES[layout].format(s=secret)
    aws_env.credentials.write_bytes(text.encode("utf-8", "surrogateescape"))
    m = CredentialsManager()
    snapshot = files.read_file(aws_env.credentials)
    assert snapshot.error is not None and m.file_errors
    errors: list[BaseException] = [snapshot.error, RuntimeError("\n".join(m.file_errors) + m.message)]
    errors.append(_raised(lambda: m.add_profile("new", KEY_ID, new_secret())))
    errors.append(_raised(lambda: m.remove_profile("dev")))
    errors.append(_raised(lambda: files.update_file(aws_env.credentials, lambda doc, _s: doc.set("x", {"a": "b"}))))
    plan = m.plan_repair(str(aws_env.credentials))
    if plan is not None:
        errors.append(RuntimeError(f"{plan!r}\n{plan}\n{plan.diff}"))
    return errors, []


@pytest.mark.parametrize("case", ["validation", *(f"parse: {k}" for k in PARSE_CASES), "write"])
def test_exception_messages_and_tracebacks_hold_no_secret(aws_env: AwsFiles, case: str) -> None:
    secret = new_secret()
    if case == "validation":
        errors, more = _validation_errors(aws_env, secret)
    elif case == "write":
        errors, more = _write_errors(aws_env, secret)
    else:
        errors, more = _parse_errors(aws_env, secret, case.split(": ", 1)[1])
    assert errors
    places = {f"{i} {type(e).__name__}": exception_text(e) for i, e in enumerate(errors)}
    assert leaks([secret, *more], places) == []


@pytest.mark.integration
def test_verification_errors_and_tracebacks_hold_no_secret(auth_aws: AuthAws, aws_env: AwsFiles) -> None:
    """A wrong secret and an unknown temporary key against moto with signature checks on."""
    secret = new_secret()
    errors, more = _verification_errors(aws_env, secret, auth_aws)
    places = {f"{i} {type(e).__name__}": exception_text(e) for i, e in enumerate(errors)}
    assert leaks([secret, *more], places) == []


class _Body:
    """The raw body of a canned HTTP reply (what urllib3 would stream)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        yield self.data


def _signature_mismatch_echo(request: Any, **_kwargs: Any) -> Any:
    """AWS's reply to a request signed with a wrong secret: it quotes the canonical request it expected.

    moto's server does not quote it, so this one reply is canned, through botocore's ``before-send``
    event: the request is built and signed, and the reply parsed, by the real botocore client. STS (query
    protocol) puts the quote in the message, S3 in a ``CanonicalRequest`` element, as AWS does.
    """
    from xml.sax.saxutils import escape

    from botocore.awsrequest import AWSResponse

    headers = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}
    canonical = (
        f"{request.method}\n/\n\nhost:{request.url.split('/')[2]}\nx-amz-date:{headers['X-Amz-Date']}\n"
        f"x-amz-security-token:{headers['X-Amz-Security-Token']}\n\nhost;x-amz-date;x-amz-security-token\n"
    )
    mismatch = "The request signature we calculated does not match the signature you provided. Check your key and signing method."
    if "sts." in request.url:
        body = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
            f"<Code>SignatureDoesNotMatch</Code><Message>{escape(mismatch)}\n\nThe Canonical String for this request "
            f"should have been\n'{escape(canonical)}'</Message></Error><RequestId>4c1f0e2a</RequestId></ErrorResponse>"
        )
    else:
        body = (
            f"<Error><Code>SignatureDoesNotMatch</Code><Message>{escape(mismatch)}</Message>"
            f"<AWSAccessKeyId>{headers['Authorization'].split('Credential=')[1][:20]}</AWSAccessKeyId>"
            f"<CanonicalRequest>{escape(canonical)}</CanonicalRequest><RequestId>4c1f0e2a</RequestId></Error>"
        )
    return AWSResponse(request.url, 403, {"Content-Type": "application/xml"}, _Body(body.encode()))


@pytest.mark.parametrize("call", ["verify (STS)", "list buckets (S3)"])
def test_aws_quoting_the_signed_request_stays_out_of_errors_and_logs(aws_env: AwsFiles, logs: Capture, call: str) -> None:
    from awswidget.resources import list_buckets

    secret, token = new_secret(), new_token()
    aws_env.write("[default]\nregion = us-east-1\n",
                  f"[default]\naws_access_key_id = {temp_key_id()}\naws_secret_access_key = {secret}\n"
                  f"aws_session_token = {token}\n")
    m = CredentialsManager()
    # The canned reply replaces the HTTP exchange: nothing leaves the machine.
    m.session._session.register("before-send", _signature_mismatch_echo)  # type: ignore[union-attr]
    if call == "verify (STS)":
        error = _raised(m.verify)
    else:
        error = _raised(lambda: list_buckets(m.client("s3")))
    assert "secret access key is wrong" in str(error)
    assert "x-amz-security-token:" in logs.text()  # botocore logged the reply body; the token is blanked
    places = {"exception": exception_text(error), "message": m.message, "logs": logs.text()}
    assert leaks([secret, token], places) == []


def _write_errors(aws_env: AwsFiles, secret: str) -> tuple[list[BaseException], list[str]]:
    m = CredentialsManager()
    m.add_profile("dev", KEY_ID, secret)
    aws_env.credentials.chmod(0o400)  # a read-only credentials file is refused
    new = new_secret()
    errors = [_raised(lambda: m.add_profile("other", KEY_ID, new)),
              _raised(lambda: m.add_profile("dev", KEY_ID, new, overwrite=True)),
              _raised(lambda: m.remove_profile("dev"))]
    assert all(isinstance(e, WriteError) for e in errors), errors
    return errors, [new]


@pytest.mark.parametrize("plant", ["message", "cause", "hidden context", "kwargs"])
def test_negative_control_exceptions(plant: str) -> None:
    """The exception check finds a secret in the message, the chained cause, a context hidden by
    ``raise ... from None`` (a debugger still shows it) and the attributes."""
    from awswidget.errors import ConfigFileError, VerificationError

    secret = new_secret()
    error: BaseException
    if plant == "message":
        error = VerificationError(f"wrong key {secret}")
    elif plant == "kwargs":
        error = ConfigFileError("/x/credentials", "bad line")
        error.kwargs["line"] = secret
    else:
        try:
            try:
                raise ValueError(f"aws_secret_access_key = {secret}")
            except ValueError as inner:
                if plant == "cause":
                    raise VerificationError("Verification failed.") from inner
                raise VerificationError("Verification failed.") from None
        except VerificationError as exc:
            error = exc
    assert leaks([secret], {"exception": exception_text(error)}) != []


# ---------------------------------------------------------------- 5. widget state (and 8. the saved notebook)


@pytest.mark.integration
def test_widget_state_holds_no_secret_after_every_user_path(journey: Journey) -> None:
    def check(step: str) -> None:
        places = widget_state_texts(journey.picker, journey.form)
        assert leaks(journey.secrets, places) == [], step
        assert journey.form.secret_access_key.value == "" and journey.form.session_token.value == "", step
        assert journey.form.csv_upload.value == (), step

    journey.run(check)


@pytest.mark.integration
def test_saved_notebook_holds_no_secret_after_onboarding(journey: Journey) -> None:
    """The widget-state JSON a notebook stores (embed_data's manager_state in nbformat's metadata)."""
    journey.run(lambda step: None, steps=("open", "verify", "save", "csv import"))
    notebook = widget_state_texts(journey.picker, journey.form)["notebook"]
    assert "application/vnd.jupyter.widget-state+json" in notebook and "onboarded" in notebook
    assert leaks(journey.secrets, {"notebook": notebook}) == []


@pytest.mark.parametrize("plant", ["typed, not saved", "upload, not imported"])
def test_negative_control_widget_state(aws_env: AwsFiles, plant: str) -> None:
    """A secret typed into the Password box (or a CSV waiting in the upload) is in every state form."""
    form = CredentialSetupForm(CredentialsManager())
    secret = new_secret()
    assert leaks([secret], widget_state_texts(form)) == []
    if plant == "typed, not saved":
        fill(form, "dev", KEY_ID, secret)
        view: Widget = form
    else:
        view = FileUpload()
        view.value = ({"name": "k.csv", "type": "text/csv", "size": 40, "content": memoryview(secret.encode()),
                       "last_modified": datetime.datetime.now(datetime.timezone.utc)},)
    found = leaks([secret], widget_state_texts(form, view))
    assert {f.split(":")[0] for f in found} == {"get_state", "get_manager_state", "embed_data", "notebook"}


# ---------------------------------------------------------------- 6. files other than the credentials file


class TempDirWatch:
    """New entries of the system temporary folder since the test began (a writer using mkstemp there)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.gettempdir())
        self.before = set(os.listdir(self.root))

    def problems(self, secrets: list[str]) -> list[str]:
        found, budget = [], 2000
        for name in sorted(set(os.listdir(self.root)) - self.before):
            if name.startswith("pytest-of-"):
                continue
            entry = self.root / name
            paths = [entry] if entry.is_file() else ([Path(d, f) for d, _, fs in os.walk(entry) for f in fs] if entry.is_dir() else [])
            for path in paths[:budget]:
                budget -= 1
                try:
                    if path.is_symlink() or path.stat().st_size > 1 << 20:
                        continue
                    content = path.read_bytes().decode("utf-8", "replace")
                except OSError:
                    continue  # another process's file came and went
                found += [f"secret {s[:4]}… in {path}" for s in secrets if s in content]
        return found


@pytest.mark.integration
def test_no_secret_or_leftover_in_other_files(journey: Journey, aws_env: AwsFiles, tmp_path: Path) -> None:
    tmp = TempDirWatch()
    seen: list[str] = []

    def check(step: str) -> None:
        problems = file_problems(tmp_path, journey.secrets, [aws_env.credentials])
        assert problems + tmp.problems(journey.secrets) == [], step
        seen.extend(p.name for p in aws_env.credentials.parent.iterdir())

    journey.run(check)
    assert {"config", "credentials"} <= set(seen) and not any(name.endswith(".lock") for name in seen)
    assert any(".awswidget-backup-" in name for name in seen)  # the repair's backup was checked (0600)
    assert sum(s in aws_env.config.read_text() for s in journey.secrets) == 0


FAILING_WRITE = """
import json, resource, sys
sys.path.insert(0, {root!r})
from tests.leaks import exception_text
from awswidget.manager import CredentialsManager
m = CredentialsManager()
# A disk that fills up during the write: the temporary file cannot grow past this many bytes.
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
try:
    m.add_profile("big", "AKIAIOSFODNN7EXAMPLE", {secret!r}, region="us-east-1", overwrite=True)
except Exception as exc:
    print(json.dumps({{"type": type(exc).__name__, "text": exception_text(exc)}}))
"""


def test_a_write_failing_midway_leaves_no_temp_file_and_no_secret(aws_env: AwsFiles, tmp_path: Path) -> None:
    """Disk full during the write (RLIMIT_FSIZE, in a child process): the error and the folder hold no secret."""
    old = new_secret()
    aws_env.write("[default]\nregion = us-east-1\n",
                  f"[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {old}\n")
    before = aws_env.credentials.read_bytes()
    secret = new_secret()
    code = FAILING_WRITE.format(root=str(ROOT), limit=len(before) + 10, secret=secret)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    # failed while writing the credentials' temporary file; the config written first was put back
    assert out["type"] in ("WriteError", "RolledBackError") and "too large" in out["text"]
    assert leaks([secret, old], {"error": out["text"], "stderr": done.stderr}) == []
    assert aws_env.credentials.read_bytes() == before
    assert file_problems(tmp_path, [secret, old], [aws_env.credentials]) == []


@pytest.mark.parametrize("plant", ["temp file", "loose backup", "secret in config", "secret in lock"])
def test_negative_control_files(aws_env: AwsFiles, tmp_path: Path, plant: str) -> None:
    secret = new_secret()
    aws_env.write("[default]\nregion = us-east-1\n", f"[default]\naws_secret_access_key = {secret}\n")
    folder = aws_env.credentials.parent
    assert file_problems(tmp_path, [secret], [aws_env.credentials]) == []
    if plant == "temp file":
        (folder / f".credentials.0123456789ab{files.TMP_MARK}").write_text("")
    elif plant == "loose backup":
        backup = folder / "credentials.awswidget-backup-20240101-000000"
        backup.write_text(aws_env.credentials.read_text())
        backup.chmod(0o644)
    elif plant == "secret in config":
        aws_env.config.write_text(f"[default]\naws_secret_access_key = {secret}\n")
    else:
        (folder / "credentials.lock").write_text(secret)
    assert file_problems(tmp_path, [secret], [aws_env.credentials]) != []


def test_negative_control_system_temp_folder() -> None:
    watch = TempDirWatch()
    secret = new_secret()
    with tempfile.NamedTemporaryFile("w", prefix="awswidget-leak-check-", delete=True) as f:
        f.write(secret)
        f.flush()
        assert watch.problems([secret]) != []


# ---------------------------------------------------------------- 7. os.environ


@pytest.mark.integration
def test_environment_gets_the_profile_name_and_region_never_keys(journey: Journey) -> None:
    def check(step: str) -> None:
        assert environ_leaks(journey.secrets) == [], step
        assert [v for v in _SHADOW if v in os.environ] == [], step
        m = getattr(journey, "m", None)
        if m is not None and m.profile is not None:
            assert os.environ.get("AWS_PROFILE") == m.profile, step
            assert os.environ.get("AWS_DEFAULT_REGION") == m.region, step

    journey.run(check)


def test_negative_control_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = new_secret()
    assert environ_leaks([secret]) == []
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    assert environ_leaks([secret]) == ["AWS_SECRET_ACCESS_KEY"]


# ---------------------------------------------------------------- the search itself


def test_leak_search_finds_partial_and_case_changed_copies() -> None:
    secret = new_secret()
    assert leaks([secret], {"x": f"..{secret}.."}) == [f"x: {secret[:6]}…"]
    assert leaks([secret], {"x": secret.upper()}) != []  # a value lower- or upper-cased on the way
    assert leaks([secret], {"x": secret[:30] + "…"}) != []  # an echo cut at 30 characters
    assert leaks([secret], {"x": "*" * 16 + secret[-4:]}) == []  # masked like the AWS CLI: fine
