"""botocore's DEBUG logs carry session tokens and credential replies: awswidget keeps them out.

Text in, text out: every credential-bearing name (botocore's service models say which) in every shape
botocore logs it, with values holding the characters that once ended a redaction early; registered
secrets on their own; the record factory's handling of arguments, tracebacks and broken records; and
install/uninstall. The real botocore calls are in test_redact_botocore.py.
"""

from __future__ import annotations

import json
import logging
import sys
import urllib.parse
from collections.abc import Callable, Iterator

import botocore.loaders
import pytest

from awswidget import CredentialsManager, _redact

from .conftest import AwsFiles

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDplanted" + "A" * 40
# Each character here once ended a redaction and let the tail through.
ODD = "HEADpart;,&'\"\\/=+ %<>TAILpart"
REDACTED = _redact.REDACTED


@pytest.fixture
def debug_everything(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # the root logger: every library's records
    for name in ("botocore", "boto3", "urllib3"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.fixture
def known() -> Iterator[Callable[..., None]]:
    registered: list[str] = []

    def remember(*secrets: str) -> None:
        registered.extend(secrets)
        _redact.remember(*secrets)

    yield remember
    _redact.forget(*registered)


def _all_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)


def _clean(text: str) -> None:
    out = _redact.redact(text)
    assert "HEAD" not in out and "TAIL" not in out and "part" not in out, (text, out)
    assert REDACTED in out


# ---------------------------------------------------------------- names × shapes


def _model_names() -> set[str]:
    """Every member (and wire name) botocore's credential services mark sensitive, except access key IDs."""
    loader = botocore.loaders.create_loader()
    names = set()
    for service in ("sts", "sso", "sso-oidc", "signin", "cognito-identity"):
        shapes = loader.load_service_model(service, "service-2")["shapes"]
        for shape in shapes.values():
            for name, member in shape.get("members", {}).items():
                target = shapes[member["shape"]]
                if not (target.get("sensitive") or member.get("sensitive")):
                    continue
                inner = target["members"].items() if target["type"] == "structure" else [(name, member)]
                for inner_name, inner_member in inner:
                    names.update({inner_name, inner_member.get("locationName") or inner_name})
    names.discard("accessKeyId")  # shown masked everywhere, and in every SigV4 Credential= anyway
    return names


MODEL_NAMES = sorted(_model_names())
OTHER_NAMES = [
    "SessionToken", "X-Amz-Security-Token", "aws_secret_access_key", "aws_session_token", "aws_security_token",
    "deviceCode", "TokenCode", "Authorization", "DPoP", "dpopKey", "x-amz-server-side-encryption-customer-key",
    "x-amz-copy-source-server-side-encryption-customer-key", "Password", "NewPassword", "SecretString",
    "PrivateKey", "Passphrase", "sso_bearer_token", "security-token", "SECRETACCESSKEY",
]


def test_the_models_name_what_we_expect() -> None:
    # If botocore adds a sensitive member to a credential service, the table below covers it by itself.
    assert {"x-amz-sso_bearer_token", "WebIdentityToken", "SAMLAssertion", "TradeInToken", "clientSecret",
            "refreshToken", "idToken", "codeVerifier", "subjectToken", "assertion", "Token", "SecretKey"} <= set(MODEL_NAMES)


SHAPES: dict[str, Callable[[str, str], str]] = {
    "repr str": lambda k, v: "params: " + repr({"headers": {k: v, "User-Agent": "x"}}),
    "repr bytes": lambda k, v: "Sending http request: <AWSPreparedRequest headers=" + repr({k: v.encode()}) + ">",
    "JSON": lambda k, v: json.dumps({"x": 1, k: v}),
    "JSON in a bytes body": lambda k, v: "Response body:\n" + repr(json.dumps({"a": {k: v}}).encode()),
    "JSON in a str body": lambda k, v: repr({"body": json.dumps({k: v})}),
    "XML": lambda k, v: "<R><{0}>{1}</{0}></R>".format(k, v.replace("&", "&amp;").replace("<", "&lt;")),
    "XML in a bytes body": lambda k, v: repr("<R><{0} a='1'>{1}</{0}></R>".format(k, v.replace("&", "&amp;").replace("<", "&lt;")).encode()),
    "header line": lambda k, v: f"CanonicalRequest:\nGET\n/\nhost:h\n{k.lower()}:{v}\n\nhost;{k.lower()}",
    "header line, spaced": lambda k, v: f"{k}: {v}\nnext: line",
    "shared file line": lambda k, v: f"[p]\n{k} = {v}\nregion = x",
    "tight line start": lambda k, v: f"[p]\n  {k}={v.replace(' ', ' x ')}",
    "query string": lambda k, v: f"url=https://h/?a=1&{k}={urllib.parse.quote(v, safe='')}&b=2",
    "form body": lambda k, v: repr({"body": f"Action=X&{k}={urllib.parse.quote_plus(v)}"}),
}


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("name", MODEL_NAMES + OTHER_NAMES)
def test_every_credential_name_in_every_shape_is_blanked_whole(name: str, shape: str) -> None:
    _clean(SHAPES[shape](name, ODD))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Exact output: the name stays (a reader sees what was hidden), the value is gone, the quoting survives.
        (repr({"x-amz-sso_bearer_token": ODD}), "{'x-amz-sso_bearer_token': '***'}"),
        (repr({"X-Amz-Security-Token": ODD.encode()}), "{'X-Amz-Security-Token': b'***'}"),
        ('{"accessToken" : "a\\"b", "n": 1}', '{"accessToken" : "***", "n": 1}'),
        (repr(json.dumps({"refreshToken": ODD}).encode()), """b'{"refreshToken": "***"}'"""),
        (repr(json.dumps({"refreshToken": ODD})), """'{"refreshToken": "***"}'"""),
        ("<SessionToken>a&amp;b</SessionToken>", "<SessionToken>***</SessionToken>"),
        ("x-amz-security-token:a;b c\nhost:h", "x-amz-security-token:***\nhost:h"),
        ("aws_session_token = a;b c\nregion = r", "aws_session_token = ***\nregion = r"),
        ("aws_session_token =a", "aws_session_token =***"),
        ("aws_session_token= a", "aws_session_token= ***"),
        ("x\n aws_session_token=a b\nregion = r", "x\n aws_session_token=***\nregion = r"),
        ("?X-Amz-Security-Token=a%3Bb&X-Amz-Signature=s", "?X-Amz-Security-Token=***&X-Amz-Signature=s"),
        ("?X-Amz-Security-Token=a'b", "?X-Amz-Security-Token=***'b"),
        ("Token: a b", "Token: ***"),
    ],
)
def test_exact_output(text: str, expected: str) -> None:
    assert _redact.redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # Names that only look like credential names: pagination, types, identifiers, codes a person reads.
        repr({"NextToken": "page-2", "tokenType": "Bearer", "userCode": "ABCD-EFGH", "accessKeyId": "ASIAX", "RoleArn": "arn"}),
        json.dumps({"nextToken": "page-2", "expiresIn": 1, "Code": "Success", "RoleSessionName": "s"}),
        "<NextToken>page-2</NextToken><AccessKeyId>ASIAX</AccessKeyId>",
        "?NextToken=page-2&MaxResults=5",
        "Event before-call.sts.GetSessionToken: calling handler <function f>",
        "Loading JSON file: /usr/lib/botocore/data/sts/service-2.json",
        "web_identity_token_file = /var/run/token",
        "token_url=https://x/a?b=1 mytoken: y",
        "a 'quoted \\'word\\'' here",
    ],
)
def test_lookalike_names_and_plain_text_are_left_alone(text: str) -> None:
    assert _redact.redact(text) == text


def test_a_secret_inside_a_literal_inside_a_literal_is_blanked() -> None:
    inner = repr({"SessionToken": ODD})
    for text in (repr(inner), repr(repr(inner).encode()), repr({"body": repr(inner)})):
        _clean(text)


def _nest(value: object, times: int) -> str:
    text = value if isinstance(value, str) else repr(value)
    for _ in range(times):
        text = repr(text)
    return text


def test_literals_nested_deeper_than_the_limit_are_blanked_whole() -> None:
    limit = _redact.MAX_NESTING
    assert limit == 6
    # Within the limit, a literal with nothing secret in it comes back as it was, however deep.
    assert _redact.redact(_nest("a\\b", limit)) == _nest("a\\b", limit)
    # One level deeper it cannot be read, so it is blanked (and the levels around it re-quoted).
    assert _redact.redact(_nest("a\\b", limit + 1)) == _nest(REDACTED, limit + 1)
    assert _redact.redact(_nest(repr(b"a\\b"), limit)) == _nest("b" + repr(REDACTED), limit)
    # A credential at the deepest readable level keeps its name in sight.
    deep = _nest(repr({"Token": ODD}), limit - 1)
    assert _redact.redact(deep) == _nest(repr({"Token": REDACTED}), limit - 1)


@pytest.mark.parametrize(
    ("escaped", "plain"),
    [
        ("a\\nb\\rc\\td", "a\nb\rc\td"),
        ("q\\'s\\\"d\\\\b\\/s", "q's\"d\\b/s"),
        ("\\x7f\\x41\\u20ac\\U0001f600", "\x7fA€😀"),
        ("\\q", "q"),  # an escape repr never writes: the character itself
    ],
)
def test_escapes_are_decoded_as_repr_and_json_write_them(escaped: str, plain: str) -> None:
    assert _redact._unescape(escaped) == plain


def test_a_bytes_literal_with_characters_beyond_latin1_is_written_back() -> None:
    out = _redact.redact("b'\\u20ac \"SecretString\": \"a\\'b\"'")
    assert out == """b'? "SecretString": "***"'"""


def test_literals_are_rewritten_only_when_they_held_a_secret() -> None:
    text = "{'a': 'it\\'s \"x\"', 'Token': 'v'}"
    assert _redact.redact(text) == "{'a': 'it\\'s \"x\"', 'Token': '***'}"


# ---------------------------------------------------------------- secrets awswidget registered


def test_a_registered_secret_is_blanked_in_any_text(known: Callable[..., None]) -> None:
    secret = "plain-value-1234"
    assert _redact.redact(f"got {secret} here") == f"got {secret} here"  # no shape: nothing says it is secret
    known(secret)
    assert _redact.redact(f"got {secret} here, and {secret}") == f"got {REDACTED} here, and {REDACTED}"


def test_a_registered_secret_with_quotes_is_blanked_inside_a_repr(known: Callable[..., None]) -> None:
    secret = "it's \"quoted\" 12"
    known(secret)
    assert secret not in repr({"v": secret}) and REDACTED in _redact.redact(repr({"v": secret}))
    assert "quoted" not in _redact.redact(repr({"v": secret}))


def test_the_length_bound_of_registered_secrets(known: Callable[..., None]) -> None:
    assert _redact.MIN_SECRET == 8
    known("1234567", "12345678", None, "")  # type: ignore[arg-type]
    assert _redact.redact("x1234567x") == "x1234567x"  # too short to be told from ordinary text
    assert _redact.redact("x12345678x") == f"x{REDACTED}x"


def test_longer_registered_secrets_go_first(known: Callable[..., None]) -> None:
    known("abcdefgh", "abcdefgh-and-more", "bcdefghi", "abcdefghi")  # by length, not by alphabet
    assert _redact.redact("[abcdefgh-and-more]") == f"[{REDACTED}]"
    assert _redact.redact("[abcdefghi]") == f"[{REDACTED}]"


def test_forget(known: Callable[..., None]) -> None:
    known("forget-me-please")
    _redact.forget("forget-me-please", None)
    assert _redact.redact("forget-me-please") == "forget-me-please"


def test_redact_shapes() -> None:
    cases = [
        (f"aws_secret_access_key = {SECRET}", SECRET),
        (f"{{'X-Amz-Security-Token': b'{TOKEN}'}}", TOKEN),
        (f"<SessionToken>{TOKEN}</SessionToken><SecretAccessKey>{SECRET}</SecretAccessKey>", TOKEN),
        (f'{{"accessToken": "{TOKEN}", "clientSecret": "{SECRET}"}}', SECRET),
    ]
    for text, secret in cases:
        assert secret not in _redact.redact(text), text
        assert REDACTED in _redact.redact(text)


# ---------------------------------------------------------------- the record factory


@pytest.fixture(autouse=True)
def _installed() -> None:
    # A fresh factory for each test (as the first CredentialsManager installs it), built by today's _wrap.
    _redact.uninstall()
    _redact.install()


def _record(msg: str, *args: object, exc_info: object = None) -> logging.LogRecord:
    return logging.getLogRecordFactory()("botocore.endpoint", logging.DEBUG, __file__, 1, msg, args, exc_info)


def test_a_secret_written_straight_into_the_message_is_cleaned(known: Callable[..., None]) -> None:
    known("straight-in-the-message")
    record = _record("token straight-in-the-message")
    assert record.msg == f"token {REDACTED}" and record.args is None


def test_arguments_are_formatted_in_so_no_handler_sees_them_raw() -> None:
    record = _record("%s and %d", "plain", 3)
    assert (record.msg, record.args) == ("plain and 3", None)
    record = _record("nothing to format")
    assert (record.msg, record.args) == ("nothing to format", ())


def test_a_broken_record_is_left_as_it_is() -> None:
    record = _record("%s %s", "only one")
    assert (record.msg, record.args) == ("%s %s", ("only one",))


def _exc_info(message: str, raised: bool = True) -> tuple:  # type: ignore[type-arg]
    if not raised:
        error = ValueError(message)
        return (ValueError, error, None)
    try:
        raise ValueError(message)
    except ValueError:
        return sys.exc_info()


def test_a_traceback_holding_a_credential_is_cleaned_and_the_exception_dropped() -> None:
    for info in (_exc_info(f"bad reply {{'SessionToken': {ODD!r}}}"), _exc_info(f"<SecretAccessKey>{ODD.replace('<', '&lt;')}<", raised=False)):
        record = _record("Exception received", exc_info=info)
        assert record.exc_info is None and REDACTED in record.exc_text and "TAIL" not in record.exc_text
        assert "ValueError" in record.exc_text
        assert "TAIL" not in logging.Formatter().format(record)


def test_a_traceback_without_a_credential_is_left_to_the_handler() -> None:
    info = _exc_info("nothing secret here")
    record = _record("Exception received", exc_info=info)
    assert record.exc_info == info and record.exc_text is None
    empty = (None, None, None)  # exc_info=True outside an except block
    record = _record("no exception", exc_info=empty)
    assert record.exc_info == empty and record.exc_text is None


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


# ---------------------------------------------------------------- install and uninstall


def test_opt_out(monkeypatch: pytest.MonkeyPatch) -> None:
    _redact.uninstall()
    monkeypatch.setenv("AWSWIDGET_REDACT_LOGS", "0")
    _redact.install()
    assert logging.getLogRecordFactory() is logging.LogRecord
    monkeypatch.setenv("AWSWIDGET_REDACT_LOGS", "1")
    _redact.install()
    assert logging.getLogRecordFactory() is not logging.LogRecord


def test_install_wraps_once_and_uninstall_restores_what_was_there() -> None:
    _redact.uninstall()
    before = logging.getLogRecordFactory()
    _redact.install()
    _redact.install()
    installed = logging.getLogRecordFactory()
    assert installed is not before and installed.__wrapped__ is before  # type: ignore[attr-defined]
    _redact.uninstall()
    assert logging.getLogRecordFactory() is before
    _redact.install()
    assert logging.getLogRecordFactory() is not before


def test_uninstall_leaves_a_factory_someone_set_later() -> None:
    _redact.install()
    ours = logging.getLogRecordFactory()

    def theirs(*args: object, **kwargs: object) -> logging.LogRecord:
        return ours(*args, **kwargs)

    logging.setLogRecordFactory(theirs)
    try:
        _redact.uninstall()
        assert logging.getLogRecordFactory() is theirs
    finally:
        logging.setLogRecordFactory(ours.__wrapped__)  # type: ignore[attr-defined]
        _redact.install()


def test_the_factory_passes_keyword_arguments_on() -> None:
    record = logging.getLogRecordFactory()(
        "botocore", logging.DEBUG, __file__, 1, "plain", (), None, func="caller", sinfo="stack here"
    )
    assert (record.funcName, record.stack_info) == ("caller", "stack here")


# shown_name's edges. Its pattern is built at import, where mutmut does not mutate: these pin what a
# mutation run cannot (issue 22, fifth run).
@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("a" * 15, "a" * 15),  # a run of 15 key characters is a name ...
        ("a" * 16, None),  # ... 16 may be a pasted key
        ("profile " + "A1/+" * 4, None),  # "/" and "+" are key characters (a secret key is base64) ...
        ("profile " + "A1==" * 4, None),  # ... and "=" too
        ("xxxxxxxx-xxxxxxxx", "xxxxxxxx-xxxxxxxx"),  # "-", "_", "." and a space end a run
        ("xxxxxxxx_xxxxxxxx", "xxxxxxxx_xxxxxxxx"),
        ("xxxxxxxx.xxxxxxxx", "xxxxxxxx.xxxxxxxx"),
        ("xxxxxxxx xxxxxxxx", "xxxxxxxx xxxxxxxx"),
        ("a b " * 16, "a b " * 16),  # 64 characters
        ("caf\u00e9", "caf\u00e9"),  # printable beyond ASCII
        ("a\u200bb", None),  # a zero-width space is not printable
        ("a\x7fb", None),
    ],
)
def test_shown_name_edges(name: str, shown: str | None) -> None:
    assert _redact.shown_name(name) == shown
