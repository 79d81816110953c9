"""Fuzzing the setup form and the CSV import (hypothesis): nothing escapes a callback, nothing bad is written.

Every input is driven the way a frontend drives it: ``value`` assignments for the text boxes, ``set_state``
for the region selector and the file upload, ``click()`` for the buttons. A widget callback that raised
would show up as a WARNING record (``shows_errors``, or ipywidgets' "Exception in callback" for buttons):
none may appear. Bad values must produce a message next to their field, and a rejected form must leave the
shared files byte for byte as they were. The secret (and a CSV's console password) must never appear in
any message, in the widget state or in a log record.

Example counts are bounded (see ``FUZZ``) so that each test takes seconds; ``derandomize`` makes every run
try the same examples (reproducible in CI). To search further, run with ``derandomize=False`` and a larger
``max_examples``: 250 random examples per test (60 runs of 20 steps for the buttons) found nothing more.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import threading
import time
import unicodedata
from collections.abc import Iterator
from html import escape
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from ipywidgets import Widget
from traitlets import TraitError

from awswidget import ValidationError
from awswidget.keys import looks_like_secret
from awswidget.manager import CredentialsManager
from awswidget.validate import (
    is_temporary_key,
    parse_key_csv,
    validate_access_key_id,
    validate_profile_name,
    validate_region,
    validate_secret_access_key,
    validate_session_token,
)
from awswidget.widgets import CredentialSetupForm

from .conftest import AwsFiles
from .leaks import decoded_state, leaks, widget_state_texts

# A strategy must not see the global random module change (the regression guard for settle() below).
pytestmark = pytest.mark.filterwarnings("error::hypothesis.errors.HypothesisDeprecationWarning")

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,  # no .hypothesis folder in the work tree
    derandomize=True,
    # No shrinking: huge inputs take minutes to shrink; a failure prints the example as generated, and
    # derandomize makes it come back on the next run.
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
ERROR_COLOR = "#b00020"
MAX_MESSAGE = 4000  # a message never echoes a huge input


# ---------------------------------------------------------------- strategies

# Arbitrary unicode (control characters included), whitespace around values, and huge strings.
any_text = st.text(max_size=80)
controls = st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), min_size=1, max_size=6)
huge = st.builds(lambda c, n: c * n, st.characters(), st.integers(5_000, 50_000))


def padded(core: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``core`` as pasted: sometimes with whitespace or control characters around it or inside it."""
    return st.one_of(
        core,
        st.tuples(st.sampled_from(["", " ", "\t", "\n", " \r\n"]), core, st.sampled_from(["", " ", "\n"])).map("".join),
        st.tuples(core, controls, core).map("".join),
    )


def pasted(core: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``core`` with the whitespace a paste brings (still valid: the form strips it)."""
    blank = st.sampled_from(["", "", " ", "\t", "\n", " \r\n"])
    return st.tuples(blank, core, blank).map("".join)


# What a user should type (secrets long enough that finding one in a message is a leak, not a coincidence) ...
VALID = {
    "profile_name": st.one_of(st.from_regex(r"[A-Za-z0-9_.@+-]{1,40}", fullmatch=True), st.sampled_from(["default", "existing"])),
    "access_key_id": st.from_regex(r"(AKIA|ASIA)[A-Z0-9]{16}", fullmatch=True),
    "secret_access_key": st.from_regex(r"[A-Za-z0-9/+]{40}", fullmatch=True),
    "session_token": st.from_regex(r"[A-Za-z0-9/+=]{100,400}", fullmatch=True),
}
# ... and anything else: near misses, reserved names, arbitrary unicode, huge strings.
JUNK = {
    "profile_name": st.one_of(st.from_regex(r"[A-Za-z0-9_.@+-]{100,140}", fullmatch=True),
                              st.sampled_from(["Default", "DEFAULT", "profile", "sso-session", "a b", "[x]", ""]),
                              any_text, huge),
    "access_key_id": st.one_of(st.from_regex(r"[A-Za-z0-9_]{14,130}", fullmatch=True), any_text, huge),
    "secret_access_key": st.one_of(st.from_regex(r"[!-~]{24,60}", fullmatch=True), st.text(min_size=24, max_size=80), huge),
    "session_token": st.one_of(st.just(""), st.text(min_size=24, max_size=80), huge),
}


def field_value(name: str) -> st.SearchStrategy[str]:
    """A value for one field: as often valid (pasted) as not."""
    return st.one_of(pasted(VALID[name]), padded(JUNK[name]))


@st.composite
def form_inputs(draw: st.DrawFn) -> dict[str, str]:
    """The four text fields: all valid about half the time (so saves happen), else each valid or not."""
    if draw(st.booleans()):
        return {name: draw(pasted(VALID[name])) for name in VALID}
    return {name: draw(field_value(name)) for name in VALID}


profile_names, key_ids, secrets, tokens = (field_value(name) for name in VALID)


# ---------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def _close_widgets() -> Iterator[None]:
    yield
    Widget.close_all()


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def recorded_logs() -> Iterator[list[logging.LogRecord]]:
    """Every record of every logger while the block runs (DEBUG and up)."""
    handler = _Records()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler.records
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def callback_failures(records: list[logging.LogRecord]) -> list[str]:
    """Exceptions caught inside widget callbacks (by ``shows_errors`` or by ipywidgets for buttons)."""
    return [r.getMessage() for r in records
            if r.levelno >= logging.WARNING and (r.name.startswith("awswidget") or r.name == "traitlets")]


def reset(files: AwsFiles) -> None:
    """No shared files: each example starts from a clean home."""
    for path in (files.config, files.credentials):
        path.unlink(missing_ok=True)


def shared_bytes(files: AwsFiles) -> tuple[bytes | None, bytes | None]:
    return tuple(p.read_bytes() if p.exists() else None for p in (files.config, files.credentials))  # type: ignore[return-value]


def messages(form: CredentialSetupForm) -> dict[str, str]:
    return {"message": form.message.value, **{f"{k} message": w.value for k, w in form.field_messages.items()},
            "confirm": form.save_confirm.question.value}


def check_messages(form: CredentialSetupForm, hidden: list[str], quoted: str = "") -> None:
    """Messages are short, hold no raw control character, and never quote a secret (nor does the repr).

    ``quoted`` is a file name the CSV message names on purpose, as the browser gave it.
    """
    shown = messages(form)
    for where, text in shown.items():
        assert len(text) < MAX_MESSAGE, where
        own = text.replace(escape(quoted), "") if quoted else text
        assert not any(unicodedata.category(c) == "Cc" for c in own.replace("\n", "")), (where, text)
    assert leaks(hidden, {**shown, "repr": repr(form)}) == []


def secret_values(typed: list[str], shown: list[str]) -> list[str]:
    """The typed secrets a leak search can look for: long enough, and not also typed into a shown field."""
    values = [t.strip() for t in typed if len(t.strip()) >= 24]
    return [v for v in values if leaks([v], {"shown": " ".join(shown)}) == []]


def field_errors(name: str, key_id: str, secret: str, token: str, region: str) -> set[str]:
    """The fields an independent reading of the validators rejects."""
    errors = set()
    for check in (
        lambda: validate_profile_name(name),
        lambda: validate_access_key_id(key_id),
        lambda: validate_secret_access_key(secret),
        lambda: validate_session_token(token, key_id),
        lambda: validate_region(region or None),
    ):
        try:
            check()
        except ValidationError as exc:
            errors.add(exc.field)
    if looks_like_secret(name):  # a secret pasted as the name is refused, whatever the name rules say
        errors.add("profile_name")
    return errors


def settle(m: CredentialsManager, timeout: float = 60.0) -> None:
    """Wait for the background work a save started (the manager's verification) to end.

    Its AWS calls run in a thread, and botocore's retry jitter draws on the global ``random`` module: a
    draw while Hypothesis generates the next example is what ``HypothesisDeprecationWarning: Do not use
    the random module inside strategies`` reported (and it made the examples depend on thread timing).
    """
    deadline = time.monotonic() + timeout
    while m.status == "verifying":
        assert time.monotonic() < deadline, "the background verification did not end"
        time.sleep(0.01)
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and thread.name.startswith("awswidget-verify"):
            thread.join(max(0.0, deadline - time.monotonic()))


def set_upload(form: CredentialSetupForm, content: bytes, name: str) -> None:
    """What the frontend sends for one picked file (ipywidgets' own deserializer turns it into the value)."""
    form.csv_upload.set_state(
        {"value": [{"name": name, "type": "text/csv", "size": len(content), "content": memoryview(content), "last_modified": 0}]}
    )


# ---------------------------------------------------------------- the fields


@pytest.mark.integration
@settings(FUZZ, max_examples=40)  # each example builds a form and may verify against the local endpoint
@given(values=form_inputs(), region_at=st.integers(0, 10_000),
       order=st.permutations(["profile_name", "access_key_id", "secret_access_key", "session_token", "region"]),
       verify=st.booleans(), clicked=st.booleans())
def test_fuzz_fields_then_save(aws_env: AwsFiles, local_aws: Any, values: dict[str, str], region_at: int,
                               order: list[str], verify: bool, clicked: bool) -> None:
    aws_env.write("[profile existing]\nregion = eu-west-1\n",
                  "[existing]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = " + "b" * 40 + "\n")
    m = CredentialsManager()
    form = CredentialSetupForm(m, endpoint_url=local_aws.endpoint_url)
    form.verify_checkbox.value = verify
    name, secret = values["profile_name"], values["secret_access_key"]
    hidden = secret_values([secret, values["session_token"]], [name, values["access_key_id"]])
    before = shared_bytes(aws_env)
    with recorded_logs() as records:
        for field in order:
            if field == "region":
                form.region.set_state({"index": region_at % len(form.region.options)})
            else:
                getattr(form, field).value = values[field]
            check_messages(form, hidden)
        expected = field_errors(form.profile_name.value, form.access_key_id.value, form.secret_access_key.value,
                                form.session_token.value, form.region.value)
        assert form.save_button.disabled is bool(expected)
        for field in expected:  # a bad value is marked as it is typed; an empty field only after a save attempt
            value = str(getattr(form, field).value or "").strip()
            if value or (field == "session_token" and is_temporary_key(form.access_key_id.value)):
                assert ERROR_COLOR in form.field_messages[field].value, (field, form.field_messages[field].value)
        if clicked:
            form.save_button.click()
            assert form.last_save is not None
            info = form.last_save.result(timeout=60)
        else:
            info = form.submit()
    assert callback_failures(records) == []
    assert leaks(hidden, {"logs": "\n".join(r.getMessage() for r in records)}) == []
    check_messages(form, hidden)
    event("rejected" if expected else "asked to replace" if info is None else "saved")
    if expected:
        assert info is None and "Not saved" in form.message.value
        # After the attempt every rejected field is marked, also the empty ones; the secret and the token were
        # cleared (the token field then only asks again for a temporary key).
        for field in expected - {"session_token"}:
            assert ERROR_COLOR in form.field_messages[field].value, (field, form.field_messages[field].value)
        assert shared_bytes(aws_env) == before  # nothing written for invalid input
    elif info is None:  # valid, but the name exists: the form asks first and writes nothing meanwhile
        assert form.save_confirm.visible and "already exists" in form.save_confirm.question.value, form.message.value
        assert shared_bytes(aws_env) == before
        form.save_confirm.no_button.click()
    else:
        assert info.name == name.strip()
        assert secret.strip() in aws_env.credentials.read_text()
    if not form.save_confirm.visible:
        assert form.secret_access_key.value == "" and form.session_token.value == ""  # cleared after every outcome
    assert leaks(hidden, widget_state_texts(form, notebook=False)) == []
    settle(m)
    Widget.close_all()  # layouts and styles too: the next example's state holds its own widgets only


@FUZZ
@given(region=padded(st.one_of(st.sampled_from(["us-east-1", "eu-west-2", "cn-north-1", "us-gov-west-1", "xx-newplace-9"]),
                               st.from_regex(r"[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}", fullmatch=True), any_text, huge)))
def test_fuzz_region_values(aws_env: AwsFiles, region: str) -> None:
    """A region from the API or the manager: a field message on the region, or a form that saves it."""
    reset(aws_env)
    m = CredentialsManager()
    try:
        cleaned, _warnings = validate_region(region)
    except ValidationError as exc:
        assert exc.field == "region" and len(str(exc)) < MAX_MESSAGE
        assert not any(unicodedata.category(c) == "Cc" for c in str(exc))
        with pytest.raises(ValidationError):
            m.add_profile("dev", "AKIAIOSFODNN7EXAMPLE", "a" * 40, region=region)
        assert not aws_env.credentials.exists()
        return
    if cleaned is None:
        return  # blank: no region
    m.add_profile("base", "AKIAIOSFODNN7EXAMPLE", "b" * 40, select=True)
    if cleaned != region:
        with pytest.raises(TraitError):  # the trait takes a region as written, and says how to write it
            m.region = region
    m.region = cleaned
    with recorded_logs() as records:
        form = CredentialSetupForm(m)
        assert form.region.value == cleaned  # the current region is offered, even one botocore does not list
        form.verify_checkbox.value = False
        form.profile_name.value, form.access_key_id.value, form.secret_access_key.value = "dev", "AKIAIOSFODNN7EXAMPLE", "a" * 40
        info = form.submit()
    assert callback_failures(records) == []
    assert info is not None and info.region == cleaned, form.message.value


# ---------------------------------------------------------------- the CSV import


def _outcome(content: bytes) -> Any:
    """What parse_key_csv makes of ``content``: a KeyCsv, or the ValidationError (nothing else may come out)."""
    try:
        return parse_key_csv(content)
    except ValidationError as exc:
        assert exc.field == "csv"
        return exc


def check_upload(aws_env: AwsFiles, content: bytes, filename: str, hidden: list[str]) -> None:
    reset(aws_env)
    form = CredentialSetupForm(CredentialsManager())
    form.verify_checkbox.value = False
    form.access_key_id.value = "AKIAEXISTINGVALUE123"
    expected = _outcome(content)
    with recorded_logs() as records:
        set_upload(form, content, filename)
    assert callback_failures(records) == []
    assert form.csv_upload.value == ()  # the file's content left the widget state at once
    csv_message = form.field_messages["csv"].value
    event(f"refused: {expected.reason[:40]}" if isinstance(expected, ValidationError) else "imported")
    if isinstance(expected, ValidationError):
        assert ERROR_COLOR in csv_message and escape(expected.reason) in csv_message
        assert escape(filename or "the file") in csv_message and "<img" not in csv_message
        assert form._held.secret is None and form.access_key_id.value == "AKIAEXISTINGVALUE123"  # nothing half-imported
    else:
        assert ERROR_COLOR not in csv_message and "Imported key" in csv_message
        assert form.access_key_id.value == expected.access_key_id and form.secret_access_key.value == ""
    texts = {**messages(form), **widget_state_texts(form, notebook=False), "logs": "\n".join(r.getMessage() for r in records)}
    assert leaks(hidden, texts) == []
    check_messages(form, hidden, quoted=filename)
    if not isinstance(expected, ValidationError) and not form.save_button.disabled:
        before = shared_bytes(aws_env)
        info = form.submit()
        if info is not None:
            written = aws_env.credentials.read_text()
            assert expected.secret_access_key in written
            # The console password stays out (unless it happens to be part of the secret).
            assert all(h not in written for h in hidden if h not in expected.secret_access_key)
        else:
            assert shared_bytes(aws_env) == before
        assert leaks(hidden, {**messages(form), **widget_state_texts(form, notebook=False)}) == []
    Widget.close_all()


filenames = st.one_of(st.just("accessKeys.csv"), st.text(max_size=40), st.just("<img src=x onerror=alert(1)>.csv"))


LAYOUTS = (
    ("Access key ID", "Secret access key"),
    ("User name", "Password", "Access key ID", "Secret access key", "Console login link"),
)
EXTRA = ("User name", "Password", "Console login link", "Notes", "Access key ID", "Secret access key")


@st.composite
def key_csvs(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """An IAM console CSV as spreadsheets and hands change it: extra, repeated or reordered columns, header
    case and spacing, delimiter, quoting, line ends, BOM, rows. Half of them are readable variations; the
    others may also mangle a header, use another delimiter or encoding, or lose the key row."""
    wild = draw(st.booleans())
    secret = draw(field_value("secret_access_key") if wild else VALID["secret_access_key"])
    key_id = draw(field_value("access_key_id") if wild else VALID["access_key_id"])
    password = draw(st.from_regex(r"[!-~]{24,40}", fullmatch=True))
    columns = [*draw(st.sampled_from(LAYOUTS)), *draw(st.lists(st.sampled_from(EXTRA), max_size=2))]
    if draw(st.booleans()):
        columns = draw(st.permutations(columns))
    spellings = (lambda h: [h, h.upper(), h.lower(), f" {h} "]) if not wild else (lambda h: [h, h.upper(), h.replace(" ", "_")])
    header = [draw(st.sampled_from(spellings(h))) for h in columns]
    cell = {"User name": draw(st.one_of(st.just("build.bot"), any_text)), "Password": password, "Access key ID": key_id,
            "Secret access key": secret, "Console login link": "https://123456789012.signin.aws.amazon.com/console",
            "Notes": draw(any_text)}
    rows = [[cell[c] for c in columns] for _ in range(draw(st.sampled_from([1, 0, 2]) if wild else st.just(1)))]
    if rows and wild and draw(st.booleans()):
        rows[0] = rows[0][: draw(st.integers(0, len(columns)))]  # a row cut short
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=draw(st.sampled_from([",", ";", "\t", *(["|"] if wild else [])])),
                        lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"])),
                        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])))
    writer.writerows([header, *rows])
    text = ("\ufeff" if draw(st.booleans()) else "") + buffer.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "latin-1"])) if wild else "utf-8"
    # A value that also stands in a shown column (say, a "secret" equal to the key ID) is no secret to look for.
    shown = " ".join(str(cell[c]) for c in ("Access key ID", "User name", "Notes"))
    return text.encode(encoding, errors="replace"), [
        v for v in (secret.strip(), password) if len(v) >= 24 and v not in shown
    ]


@st.composite
def mangled_csvs(draw: st.DrawFn) -> bytes:
    """A key CSV with a stretch of it replaced by arbitrary bytes."""
    content = draw(key_csvs())[0]
    start = draw(st.integers(0, len(content)))
    end = draw(st.integers(start, min(len(content), start + 20)))
    return content[:start] + draw(st.binary(max_size=20)) + content[end:]


@FUZZ
@given(content=st.one_of(st.binary(max_size=3000), st.binary(max_size=300).map(lambda b: b"\xef\xbb\xbf" + b),
                         mangled_csvs()),
       filename=filenames)
def test_fuzz_csv_import_arbitrary_bytes(aws_env: AwsFiles, content: bytes, filename: str) -> None:
    check_upload(aws_env, content, filename, [])


@FUZZ
@given(case=key_csvs(), filename=filenames)
# Found by this test: a user name with control characters, or a huge one, was shown as it was in the file.
@example(case=(b"User name,Access key ID,Secret access key\nbob\x11\x10,AKIAIOSFODNN7EXAMPLE," + b"s" * 40 + b"\n", []),
         filename="accessKeys.csv")
@example(case=(b"User name,Access key ID,Secret access key\n" + b"u" * 50_000 + b",AKIAIOSFODNN7EXAMPLE," + b"s" * 40 + b"\n",
               []), filename="accessKeys.csv")
# Found in a full run: a "secret" equal to the key ID is shown as the key ID, legitimately.
@example(case=(b'"Access key ID"\t"Secret access key"\r\n"' + b"0" * 24 + b'"\t"' + b"0" * 24 + b'"\r\n', []),
         filename="accessKeys.csv")
def test_fuzz_csv_import_layouts(aws_env: AwsFiles, case: tuple[bytes, list[str]], filename: str) -> None:
    content, hidden = case
    check_upload(aws_env, content, filename, hidden)


# ---------------------------------------------------------------- every button, in any order


class FormMachine(RuleBasedStateMachine):
    """A user clicking around the form: typing, uploading, saving, answering, removing, in any order."""

    files: AwsFiles
    endpoint: str

    def __init__(self) -> None:
        super().__init__()
        self.files.write("[profile existing]\nregion = eu-west-1\n",
                         "[existing]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = " + "b" * 40 + "\n")
        self.m = CredentialsManager()
        self.form = CredentialSetupForm(self.m, endpoint_url=self.endpoint)
        self.hidden: list[str] = []
        self.before = shared_bytes(self.files)
        self.logs = recorded_logs()
        self.records = self.logs.__enter__()

    def teardown(self) -> None:
        settle(self.m)
        self.logs.__exit__(None, None, None)
        Widget.close_all()
        reset(self.files)

    def _wait(self) -> None:
        if self.form.last_save is not None:
            self.form.last_save.exception(timeout=60)
        settle(self.m)

    @rule(field=st.sampled_from(["profile_name", "access_key_id"]), value=st.one_of(profile_names, key_ids))
    def type_text(self, field: str, value: str) -> None:
        getattr(self.form, field).value = value

    @rule(value=secrets)
    def type_secret(self, value: str) -> None:
        self.hidden.append(value.strip())
        self.form.secret_access_key.value = value

    @rule(value=tokens)
    def type_token(self, value: str) -> None:
        self.hidden.append(value.strip())
        self.form.session_token.value = value

    @rule(at=st.integers(0, 1000))
    def pick_region(self, at: int) -> None:
        self.form.region.set_state({"index": at % len(self.form.region.options)})

    @rule(name=st.sampled_from(["verify_checkbox", "select_checkbox", "save_endpoint_checkbox"]), on=st.booleans())
    def tick(self, name: str, on: bool) -> None:
        getattr(self.form, name).value = on

    @rule(case=key_csvs())
    def upload(self, case: tuple[bytes, list[str]]) -> None:
        self.hidden += case[1]
        set_upload(self.form, case[0], "accessKeys.csv")

    @rule()
    def click_save(self) -> None:
        self.form.save_button.click()
        self._wait()

    @rule(yes=st.booleans())
    def answer_save_question(self, yes: bool) -> None:
        confirm = self.form.save_confirm
        (confirm.yes_button if yes else confirm.no_button).click()
        self._wait()

    @rule(at=st.integers(0, 100), yes=st.booleans())
    def remove(self, at: int, yes: bool) -> None:
        form = self.form
        if form.remove_select.options:
            form.remove_select.value = form.remove_select.options[at % len(form.remove_select.options)]
        form.remove_button.click()
        (form.remove_confirm.yes_button if yes else form.remove_confirm.no_button).click()

    @invariant()
    def nothing_escaped_and_nothing_leaked(self) -> None:
        assert callback_failures(self.records) == []
        check_messages(self.form, [h for h in self.hidden if len(h) >= 24])
        now = shared_bytes(self.files)
        if now != self.before:  # the files change only through a save or a removal the user confirmed
            text = self.form.message.value
            event("files changed")
            assert "Saved profile" in text or "Replaced the keys" in text or "Removed profile" in text, text
            self.before = now

    @invariant()
    def widget_state_holds_no_secret_once_saved_or_rejected(self) -> None:
        form = self.form
        if not form.save_confirm.visible and form.secret_access_key.value == "" and form.session_token.value == "":
            state = decoded_state(Widget.get_manager_state())  # every widget's get_state()
            assert leaks([h for h in self.hidden if len(h) >= 24], {"state": state}) == []


@pytest.mark.integration
def test_fuzz_every_button_in_any_order(aws_env: AwsFiles, local_aws: Any) -> None:
    FormMachine.files, FormMachine.endpoint = aws_env, local_aws.endpoint_url
    run_state_machine_as_test(
        FormMachine,
        settings=settings(FUZZ, max_examples=10, stateful_step_count=12),
    )


@pytest.mark.parametrize("plant", ["button callback", "guarded callback", "secret in a message"])
def test_negative_control_fuzz_checks(aws_env: AwsFiles, plant: str) -> None:
    """The fuzz checks see an exception caught inside a callback, and a secret shown in a message."""
    form = CredentialSetupForm(CredentialsManager())
    secret = "Zq/" + "0123456789abcdef" * 3
    with recorded_logs() as records:
        check_messages(form, [secret])
        assert callback_failures(records) == []
        if plant == "button callback":
            form.save_button.on_click(lambda _b: 1 / 0)  # ipywidgets catches it and logs a WARNING
            form.save_button.click()
        elif plant == "guarded callback":
            form.remove_select.options = ("ghost",)  # not a profile: the click handler's lookup fails
            form.remove_select.value = "ghost"
            form.remove_button.click()
            assert "ghost" in form.message.value  # shows_errors put it in the status line
        else:
            form.message.value = f"Not saved: {secret}"
    if plant == "secret in a message":
        with pytest.raises(AssertionError):
            check_messages(form, [secret])
    else:
        assert callback_failures(records) != []
