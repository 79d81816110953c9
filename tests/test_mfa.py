"""MFA for role profiles: the prompter's routes, the code box, and AssumeRole against moto.

moto's STS accepts AssumeRole with SerialNumber/TokenCode but does not check the
code, so the one "AWS rejects the code" test answers AssumeRole with botocore's
Stubber (and says so); every other call goes to the local moto server.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import queue
import threading
from collections.abc import Iterator
from typing import Any

import botocore.credentials
import botocore.session
import pytest
from botocore.stub import Stubber
from ipywidgets import Widget
from ipywidgets.embed import dependency_state

from awswidget import CredentialsManager, VerificationError, _session
from awswidget.errors import ValidationError
from awswidget.localaws import LocalAws
from awswidget.mfa import (
    MfaCancelledError,
    MfaError,
    MfaPrompter,
    MfaRequest,
    MfaTimeoutError,
    MfaUnavailableError,
    is_code,
    prompt_route,
    validate_mfa_code,
)
from awswidget.widgets.mfa import MfaPrompt

from .conftest import AwsFiles

SERIAL = "arn:aws:iam::111111111111:mfa/alice"
ROLE = "arn:aws:iam::123456789012:role/admin"
KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
BOTOCORE_PROMPT = f"Enter MFA code for {SERIAL}: "  # what AssumeRoleCredentialFetcher passes


@pytest.fixture(autouse=True)
def fresh_role_cache() -> Iterator[None]:
    """The assumed-role cache is process-wide by design: start and end every test empty."""
    _session.role_cache().clear()
    yield
    _session.role_cache().clear()


def write_profiles(files: AwsFiles, endpoint: str) -> None:
    files.write(
        config=f"""\
[profile base]
region = us-east-1
endpoint_url = {endpoint}
mfa_serial = {SERIAL}

[profile mfa]
role_arn = {ROLE}
source_profile = base
mfa_serial = {SERIAL}
region = us-east-1
endpoint_url = {endpoint}
""",
        credentials=f"[base]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n",
    )


class Requests:
    """Every MFA request the manager publishes, in order."""

    def __init__(self, manager: CredentialsManager) -> None:
        self.queue: queue.Queue[MfaRequest] = queue.Queue()
        manager.observe(lambda change: change.new is not None and self.queue.put(change.new), names="mfa_request")

    def next(self, timeout: float = 15) -> MfaRequest:
        return self.queue.get(timeout=timeout)

    @property
    def count(self) -> int:
        return self.queue.qsize()


class AssumeRoleCalls:
    """The parameters of every AssumeRole botocore sends from the manager's sessions."""

    def __init__(self, manager: CredentialsManager) -> None:
        self.params: list[dict[str, Any]] = []
        self._hook(manager.session)
        manager.observe(lambda change: self._hook(change.new), names="session")

    def _hook(self, session: Any) -> None:
        if session is not None:
            session._session.register("before-parameter-build.sts.AssumeRole", lambda params, **_: self.params.append(dict(params)))


@pytest.fixture
def mfa_env(aws_env: AwsFiles, local_aws: LocalAws) -> AwsFiles:
    write_profiles(aws_env, local_aws.endpoint_url)
    return aws_env


# ---------------------------------------------------------------- the code and the request


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("123456", "123456"), (" 123 456 ", "123456"), ("000000", "000000"), ("12345", None), ("1234567", None), ("12a456", None), ("", None),
     ("\uff11\uff12\uff13\uff14\uff15\uff16", None), ("\u0661\u0662\u0663\u0664\u0665\u0666", None), ("12345\uff16", None)],
)
def test_validate_mfa_code(typed: str, expected: str | None) -> None:
    assert is_code(typed) is (expected is not None)  # the widgets' "is it complete?" agrees (ASCII digits only)
    if expected is None:
        with pytest.raises(ValidationError) as info:
            validate_mfa_code(typed)
        assert info.value.field == "mfa_code"
        assert "6 digits" in str(info.value) or "6-digit" in str(info.value)
    else:
        assert validate_mfa_code(typed) == expected


def test_request_is_answered_from_another_thread() -> None:
    request = MfaRequest("mfa", SERIAL, timeout=15)
    threading.Thread(target=request.answer, args=("654 321",)).start()
    assert request.wait() == "654321"
    assert request.state == "answered" and not request.pending
    assert "654321" not in repr(request)


def test_request_refuses_a_bad_code_and_keeps_waiting() -> None:
    request = MfaRequest("mfa", SERIAL, timeout=15)
    with pytest.raises(ValidationError):
        request.answer("12345")
    assert request.pending
    request.answer("123456")
    assert request.wait() == "123456"
    with pytest.raises(MfaError, match="no longer waiting"):
        request.answer("654321")  # one answer per request


def test_request_cancel_and_timeout_say_what_happened() -> None:
    cancelled = MfaRequest("mfa", SERIAL, timeout=15)
    cancelled.cancel()
    with pytest.raises(MfaCancelledError, match="profile 'mfa' was cancelled"):
        cancelled.wait()
    slow = MfaRequest("mfa", SERIAL, timeout=0.05)
    with pytest.raises(MfaTimeoutError, match="No MFA code was entered for profile 'mfa' within 0 seconds"):
        slow.wait()
    assert slow.state == "timed-out"


# ---------------------------------------------------------------- routes


def test_route_depends_on_the_thread() -> None:
    assert threading.current_thread() is threading.main_thread()  # pytest runs tests on the main thread
    assert prompt_route() == "terminal"  # no kernel in this process
    seen: list[str] = []
    worker = threading.Thread(target=lambda: seen.append(prompt_route()))
    worker.start()
    worker.join()
    assert seen == ["widget"]


def test_console_prompt_uses_getpass_as_it_is_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """ipykernel swaps getpass.getpass while a cell runs: the prompter must look it up then."""
    asked: list[str] = []

    def forwarded(prompt: str = "") -> str:
        asked.append(prompt)
        return "246810"

    monkeypatch.setattr(getpass, "getpass", forwarded)
    prompter = MfaPrompter("mfa", route=lambda: "stdin")
    assert prompter(BOTOCORE_PROMPT) == "246810"
    assert asked == [f"MFA code for {SERIAL} (profile mfa): "]
    # Negative control: botocore's own default prompter was bound at import and would miss the swap.
    default = botocore.credentials.AssumeRoleProvider.__init__.__defaults__
    assert forwarded not in default and any(getattr(d, "__name__", "") in ("getpass", "unix_getpass") for d in default)


@pytest.mark.parametrize(
    ("behaviour", "error", "words"),
    [
        (EOFError, MfaCancelledError, "cancelled"),
        (RuntimeError("raw_input was called, but this frontend does not support input requests."), MfaUnavailableError, "cannot show an input prompt"),
        ("12ab56", MfaError, "exactly 6 digits"),
    ],
)
def test_console_prompt_failures_are_clear(monkeypatch: pytest.MonkeyPatch, behaviour: Any, error: type, words: str) -> None:
    def answer(prompt: str = "") -> str:
        if isinstance(behaviour, str):
            return behaviour
        raise behaviour

    monkeypatch.setattr(getpass, "getpass", answer)
    with pytest.raises(error, match=words):
        MfaPrompter("mfa", route=lambda: "stdin")(BOTOCORE_PROMPT)


def test_nowhere_to_ask_fails_at_once() -> None:
    with pytest.raises(MfaUnavailableError, match=r"verify\(block=False\)"):
        MfaPrompter("mfa", route=lambda: "none")(BOTOCORE_PROMPT)
    with pytest.raises(MfaUnavailableError, match="nothing is listening"):
        MfaPrompter("mfa", publish=None, route=lambda: "widget")(BOTOCORE_PROMPT)


def test_widget_route_publishes_then_withdraws_the_request() -> None:
    published: list[tuple[MfaRequest, bool]] = []

    def publish(request: MfaRequest) -> None:
        published.append((request, request.pending))
        if request.pending:
            request.answer("135790")

    assert MfaPrompter("mfa", publish, route=lambda: "widget")(BOTOCORE_PROMPT) == "135790"
    assert [pending for _, pending in published] == [True, False]
    assert published[0][0].serial == SERIAL and published[0][0].profile == "mfa"


def test_closing_the_code_box_leaves_no_dangling_references(aws_env: AwsFiles) -> None:
    from ipywidgets import Button, HBox
    from ipywidgets.widgets.widget import _instances

    # Negative control: a live box that holds a closed widget breaks every later get_manager_state().
    button = Button()
    row = HBox([button])
    button.close()
    with pytest.raises(AttributeError):
        Widget.get_manager_state()
    row.close()
    before = set(_instances)
    MfaPrompt(manager=CredentialsManager()).close()
    Widget.get_manager_state()
    left = {type(_instances[k]).__name__ for k in set(_instances) - before}
    assert all(name == "Layout" or name.endswith("Style") for name in left), left


# ---------------------------------------------------------------- against moto's STS


@pytest.mark.integration
def test_background_verification_takes_the_code_from_the_code_box(mfa_env: AwsFiles) -> None:
    m = CredentialsManager()
    m.profile = "mfa"
    box = MfaPrompt(manager=m)
    requests, calls = Requests(m), AssumeRoleCalls(m)
    assert box.layout.display == "none"
    future = m.verify(block=False)
    request = requests.next()
    assert (request.profile, request.serial) == ("mfa", SERIAL)
    assert box.layout.display is None and SERIAL in box.label.value
    box.code.value = "123456"  # typing the sixth digit submits
    identity = future.result(timeout=30)
    assert identity.arn.startswith("arn:aws:sts::123456789012:assumed-role/admin/")
    assert calls.params == [{"RoleArn": ROLE, "RoleSessionName": calls.params[0]["RoleSessionName"], "SerialNumber": SERIAL, "TokenCode": "123456"}]
    assert m.status == "verified" and m.mfa_request is None
    assert box.layout.display == "none" and box.code.value == ""
    assert "123456" not in json.dumps(dependency_state([box], drop_defaults=False))
    assert m.expiry is not None and m.expiry.action == "mfa" and "MFA session" in m.expiry.message
    box.close()


@pytest.mark.integration
def test_one_code_serves_until_the_credentials_expire(mfa_env: AwsFiles) -> None:
    m = CredentialsManager()
    m.profile = "mfa"
    requests, calls = Requests(m), AssumeRoleCalls(m)
    future = m.verify(block=False)
    requests.next().answer("123456")
    first = future.result(timeout=30).arn  # names the role session botocore opened
    # A switch away and back, and a refresh, build new sessions: the cached credentials serve them.
    m.profile = "base"
    m.profile = "mfa"
    assert m.verify(block=False).result(timeout=30).arn == first  # type: ignore[union-attr]
    assert m.refresh_credentials(block=False).result(timeout=30).arn == first  # type: ignore[union-attr]
    assert requests.count == 0 and len(calls.params) == 1
    # Within botocore's 15-minute window the cached credentials count as expired: a refresh asks again.
    (entry,) = _session.role_cache().values()
    entry["Credentials"]["Expiration"] = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
    future = m.refresh_credentials(block=False)
    requests.next().answer("654321")
    assert future.result(timeout=30).arn.startswith("arn:aws:sts::123456789012:assumed-role/admin/")  # type: ignore[union-attr]
    assert [c["TokenCode"] for c in calls.params] == ["123456", "654321"]


@pytest.mark.integration
def test_timeout_is_an_error_and_the_next_try_asks_again(mfa_env: AwsFiles) -> None:
    m = CredentialsManager(mfa_timeout=0.3)
    m.profile = "mfa"
    requests = Requests(m)
    with pytest.raises(MfaTimeoutError):
        m.verify(block=False).result(timeout=30)  # type: ignore[union-attr]
    assert requests.next().state == "timed-out" and m.mfa_request is None
    assert m.status == "error" and "No MFA code was entered for profile 'mfa'" in m.message
    m.mfa_timeout = 15.0  # read when the next prompt starts
    future = m.verify(block=False)  # a fresh session was built after the failure: botocore asks again
    requests.next().answer("123456")
    assert future.result(timeout=30).account == "123456789012"  # type: ignore[union-attr]


@pytest.mark.integration
def test_cancel_from_the_code_box_then_retry(mfa_env: AwsFiles) -> None:
    m = CredentialsManager()
    m.profile = "mfa"
    box, requests = MfaPrompt(manager=m), Requests(m)
    future = m.verify(block=False)
    requests.next()
    box.code.value = "12"
    box.cancel_button.click()
    with pytest.raises(MfaCancelledError):
        future.result(timeout=30)
    assert m.status == "error" and "cancelled" in m.message and box.code.value == ""
    future = m.verify(block=False)  # a fresh session was built: botocore asks again
    requests.next()
    box.code.value = "12x"
    assert "Digits only" in box.message.value
    assert box.submit("999999") is True
    assert future.result(timeout=30).account == "123456789012"
    box.close()


@pytest.mark.integration
def test_switching_away_withdraws_the_pending_prompt(mfa_env: AwsFiles) -> None:
    m = CredentialsManager()
    m.profile = "mfa"
    requests = Requests(m)
    future = m.verify(block=False)
    request = requests.next()
    m.profile = "base"
    assert request.state == "cancelled" and m.mfa_request is None
    assert isinstance(future.exception(timeout=30), MfaCancelledError)
    assert m.profile == "base" and m.status == "unverified"  # the stale verification changed nothing


@pytest.mark.integration
def test_a_rejected_code_says_so(mfa_env: AwsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto accepts any TokenCode: AWS's refusal is played by botocore's Stubber, for AssumeRole only."""
    stubbers: list[Stubber] = []
    create_client = botocore.session.Session.create_client

    def create_and_stub(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, service_name, *args, **kwargs)
        if service_name == "sts" and kwargs.get("aws_access_key_id") == KEY and not stubbers:  # the AssumeRole client
            stubber = Stubber(client)
            stubber.add_client_error(
                "assume_role",
                service_error_code="AccessDenied",
                service_message="MultiFactorAuthentication failed with invalid MFA one time pass code. ",
                http_status_code=403,
            )
            stubber.activate()
            stubbers.append(stubber)
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", create_and_stub)
    m = CredentialsManager()
    m.profile = "mfa"
    requests = Requests(m)
    future = m.verify(block=False)
    requests.next().answer("000000")
    with pytest.raises(VerificationError) as info:
        future.result(timeout=30)
    assert info.value.code == "MfaRejected" and len(stubbers) == 1
    stubbers[0].assert_no_pending_responses()
    assert "did not accept the MFA code" in m.message and "wait for the next code" in m.message
    future = m.verify(block=False)  # the next client is moto's again
    requests.next().answer("123456")
    assert future.result(timeout=30).account == "123456789012"  # type: ignore[union-attr]


@pytest.mark.integration
def test_verifying_from_a_widget_callback_on_the_main_thread_is_refused(mfa_env: AwsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocking verification on the main thread of a kernel outside a cell: nobody could answer."""
    monkeypatch.setattr("awswidget.mfa.prompt_route", lambda: "none")
    m = CredentialsManager()
    m.profile = "mfa"
    with pytest.raises(MfaUnavailableError):
        m.verify()
    assert "widget callback" in m.message and m.status == "error"


# ---------------------------------------------------------------- MFA for plain keys (GetSessionToken)


@pytest.mark.integration
def test_mfa_login_saves_session_credentials_as_a_profile(mfa_env: AwsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []
    create_client = botocore.session.Session.create_client

    def create_and_watch(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, service_name, *args, **kwargs)
        client.meta.events.register("before-parameter-build.sts.GetSessionToken", lambda params, **_: sent.append(dict(params)))
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", create_and_watch)
    m = CredentialsManager()
    info = m.mfa_login("123 456", "base", duration_seconds=900)
    assert sent == [{"SerialNumber": SERIAL, "TokenCode": "123456", "DurationSeconds": 900}]
    assert (info.name, info.kind, m.profile) == ("base-mfa", "temporary", "base-mfa")
    assert info.region == "us-east-1" and info.endpoint_url == m.profile_info("base").endpoint_url
    assert "aws_session_token" in mfa_env.credentials.read_text()
    assert m.verify().account == "123456789012"  # type: ignore[union-attr]
    assert m.mfa_login("654321", "base").name == "base-mfa"  # a later code replaces the temporary keys


def test_mfa_login_refuses_what_it_cannot_do(mfa_env: AwsFiles) -> None:
    from awswidget import ProfileExistsError

    mfa_env.write(credentials=mfa_env.credentials.read_text() + f"[base-mfa]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n")
    before = mfa_env.credentials.read_text()
    m = CredentialsManager()
    with pytest.raises(ValidationError, match="names no MFA device"):
        m.mfa_login("123456", "base-mfa")  # plain keys without mfa_serial
    with pytest.raises(ValidationError, match="6 digits"):
        m.mfa_login("12345", "base")
    with pytest.raises(ProfileExistsError):  # long-lived keys are never overwritten by temporary ones
        m.mfa_login("123456", "base")
    assert mfa_env.credentials.read_text() == before


# ---------------------------------------------------------------- a real kernel: the stdin fallback


CELL = """
import awswidget
m = awswidget.CredentialsManager()
m.profile = "mfa"
print("ARN", m.client("sts").get_caller_identity()["Arn"])
"""


@pytest.fixture
def kernel(mfa_env: AwsFiles) -> Iterator[Any]:
    import os

    from jupyter_client.manager import start_new_kernel

    env = {k: v for k, v in os.environ.items()}
    km, kc = start_new_kernel(kernel_name="python3", env=env)
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def run_cell(kc: Any, code: str, *, allow_stdin: bool, reply: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """Execute ``code``; answer input requests with ``reply``; return stdout text and the prompts seen."""
    msg_id = kc.execute(code, allow_stdin=allow_stdin)
    prompts: list[dict[str, Any]] = []
    out: list[str] = []
    while True:
        if allow_stdin:
            try:
                request = kc.get_stdin_msg(timeout=0.2)
            except queue.Empty:
                pass
            else:
                prompts.append(request["content"])
                kc.input(reply)
        try:
            msg = kc.get_iopub_msg(timeout=0.2)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            out.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(out), prompts


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_a_cell_on_the_main_thread_gets_ipykernels_password_prompt(kernel: Any) -> None:
    out, prompts = run_cell(kernel, CELL, allow_stdin=True, reply="123456")
    assert [p["password"] for p in prompts] == [True]
    assert prompts[0]["prompt"] == f"MFA code for {SERIAL} (profile mfa): "
    assert "ARN arn:aws:sts::123456789012:assumed-role/admin/" in out


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_a_frontend_without_stdin_gets_a_clear_error(kernel: Any) -> None:
    out, prompts = run_cell(kernel, CELL, allow_stdin=False)
    assert prompts == []
    assert "MfaUnavailableError" in out and "cannot show an input prompt" in out
