"""Validation tables: what is accepted (cleaned, with warnings), what is refused, and never the secret in a message."""

from __future__ import annotations

import pytest

from awswidget.errors import ValidationError
from awswidget.validate import (
    KeyCsv,
    known_regions,
    mask,
    parse_key_csv,
    partition_of,
    suggest_profile_name,
    validate_access_key_id,
    validate_profile_name,
    validate_region,
    validate_secret_access_key,
    validate_session_token,
    validate_value,
)
from tests.helpers import KEY_ID, SECRET


def _refused(fn: object, *args: object, field: str, secret: str | None = None) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        fn(*args)  # type: ignore[operator]
    error = caught.value
    assert isinstance(error, ValueError) and error.field == field and error.reason
    if secret:
        for text in (str(error), repr(error), repr(error.args), repr(error.kwargs)):
            assert secret not in text
        assert error.__cause__ is None and error.__context__ is None
    return error


# --------------------------------------------------------------------------- profile names


@pytest.mark.parametrize(
    ("name", "clean"),
    [("default", "default"), ("dev", "dev"), ("a.b@c+d-e_f", "a.b@c+d-e_f"), ("  padded\n", "padded"), ("x" * 128, "x" * 128), ("9", "9")],
)
def test_profile_name_accepted(name: str, clean: str) -> None:
    assert validate_profile_name(name) == clean


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("", "Enter a profile name"),
        ("   ", "Enter a profile name"),
        ("my profile", "no spaces"),
        ("tab\tname", "no spaces"),
        ("[evil]", "brackets"),
        ("a]b", "brackets"),
        ("x\ny", "letters, digits"),
        ("x\ry", "letters, digits"),
        ("quote'", "quotes"),
        ('dq"', "quotes"),
        ("semi;colon", "letters, digits"),
        ("hash#", "letters, digits"),
        ("eq=x", "letters, digits"),
        ("café", "letters, digits"),
        ("x" * 129, "at most 128"),
        ("DEFAULT", "reserved"),
        ("profile", "reserved"),
        ("Profile", "reserved"),
        ("sso-session", "reserved"),
        ("services", "reserved"),
        ("Default", "'default' (lower case)"),
    ],
)
def test_profile_name_refused(name: str, says: str) -> None:
    assert says in _refused(validate_profile_name, name, field="profile_name").reason


# --------------------------------------------------------------------------- access key IDs


@pytest.mark.parametrize(
    ("key_id", "warned"),
    [
        (KEY_ID, False),
        ("ASIAIOSFODNN7EXAMPLE", False),
        ("  AKIAIOSFODNN7EXAMPLE\n", False),
        ("AKIAIOSFODNN7EXAMPL", True),  # 19 characters
        ("akiaiosfodnn7example", True),  # lower case: allowed by the pattern, not AWS-shaped
        ("localstack_test_key", True),
        ("A" * 16, True),
        ("A" * 128, True),
    ],
)
def test_access_key_id_accepted(key_id: str, warned: bool) -> None:
    clean, warnings = validate_access_key_id(key_id)
    assert clean == key_id.strip() and bool(warnings) == warned


@pytest.mark.parametrize("key_id", ["", "   ", "A" * 15, "A" * 129, "AKIA-IOSFODNN7EXAMPLE", "AKIA IOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLÉ", KEY_ID + "\n[x]"])
def test_access_key_id_refused(key_id: str) -> None:
    _refused(validate_access_key_id, key_id, field="access_key_id")


# --------------------------------------------------------------------------- secrets and tokens


def test_secret_accepted_and_warned_by_length_only() -> None:
    assert validate_secret_access_key(SECRET) == (SECRET, [])
    assert validate_secret_access_key(f" {SECRET}\r\n") == (SECRET, [])
    short = SECRET[:39]
    clean, warnings = validate_secret_access_key(short)
    assert clean == short and warnings == ["AWS secret access keys are 40 characters; this one has 39."]
    assert short not in warnings[0]


@pytest.mark.parametrize(
    ("secret", "says"),
    [
        ("", "Enter the secret"),
        ("  \n", "Enter the secret"),
        (SECRET[:20] + " " + SECRET[20:], "spaces or line breaks"),
        (SECRET[:20] + "\n" + SECRET[20:], "spaces or line breaks"),
        (SECRET[:20] + "\r" + SECRET[20:], "spaces or line breaks"),
        (SECRET[:20] + "\x00" + SECRET[20:], "printable ASCII"),
        (SECRET[:20] + "é" + SECRET[20:], "printable ASCII"),
        (SECRET[:20] + "\x1b[31m" + SECRET[20:], "printable ASCII"),
    ],
)
def test_secret_refused_without_echoing_it(secret: str, says: str) -> None:
    error = _refused(validate_secret_access_key, secret, field="secret_access_key", secret=secret.strip() or None)
    assert says in error.reason
    if secret.strip():
        assert SECRET[:20] not in str(error) and SECRET[21:] not in str(error)


def test_session_token_rules() -> None:
    assert validate_session_token(None) is None
    assert validate_session_token("  ", KEY_ID) is None
    assert validate_session_token(" IQoJb3JpZ2luX2Vj== \n", "ASIAIOSFODNN7EXAMPLE") == "IQoJb3JpZ2luX2Vj=="
    assert "temporary key" in _refused(validate_session_token, None, "ASIAIOSFODNN7EXAMPLE", field="session_token").reason
    for token in ("IQoJ b3Jp", "IQoJ\nb3Jp", "IQoJ\x00b3Jp", "IQoJé"):
        _refused(validate_session_token, token, KEY_ID, field="session_token", secret=token)


@pytest.mark.parametrize(("value", "clean"), [("json", "json"), ("  text  ", "text"), ("http://127.0.0.1:5000/a=b", "http://127.0.0.1:5000/a=b"), ("naïve ☃", "naïve ☃")])
def test_value_accepted(value: str, clean: str) -> None:
    assert validate_value("output", value) == clean


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\x00b", "json\n[profile x]"])
def test_value_with_a_line_break_refused(value: str) -> None:
    error = _refused(validate_value, "endpoint_url", value, field="endpoint_url")
    assert "'endpoint_url'" in error.reason and value not in str(error)


# --------------------------------------------------------------------------- regions


@pytest.mark.parametrize(
    ("region", "clean", "warned"),
    [
        ("us-east-1", "us-east-1", False),
        ("eu-west-2", "eu-west-2", False),
        ("cn-north-1", "cn-north-1", False),
        ("us-gov-west-1", "us-gov-west-1", False),
        (" US-EAST-1 ", "us-east-1", False),
        ("us-east-9", "us-east-9", True),  # the general pattern: maybe newer than this botocore
        ("xx-future-1", "xx-future-1", True),
        (None, None, False),
        ("", None, False),
    ],
)
def test_region_accepted(region: str | None, clean: str | None, warned: bool) -> None:
    got, warnings = validate_region(region)
    assert got == clean and bool(warnings) == warned


@pytest.mark.parametrize("region", ["us east 1", "us-east-1\n[x]", "useast1", "aws-global", "x" * 100, "🚀"])
def test_region_refused(region: str) -> None:
    error = _refused(validate_region, region, field="region")
    assert "\n" not in str(error) and len(str(error)) < 160


@pytest.mark.parametrize(
    "region",
    [
        "us-east-\u0661",  # an Arabic-Indic digit: botocore's regionRegex (unicode \d) takes it
        "us-east-\uff11",  # a fullwidth digit: the same
        "us-e\u03b1st-1",  # a Greek letter: botocore's unicode \w takes it
    ],
)
def test_a_region_name_with_unicode_digits_or_letters_is_refused(region: str) -> None:
    # Without the isascii() check botocore's regionRegex accepts these, and no endpoint URL has them.
    # Word for word: the refusal is the region one, not another error.
    reason = _refused(validate_region, region, field="region").reason
    assert reason == f"{region!r} is not an AWS region name (for example us-east-1 or eu-west-2)."


def test_a_region_only_botocores_region_regex_takes_is_accepted_with_the_warning() -> None:
    # Three digits and an underscore are outside _REGION_SHAPE; the aws partition's regionRegex takes them.
    for region in ("us-east-123", "us-east_x-1"):
        assert validate_region(region) == (
            region,
            [f"'{region}' is not in this botocore's region list; it may be newer than botocore."],
        )


def test_known_regions_come_from_botocore() -> None:
    aws = known_regions()
    names = [r.name for r in aws]
    assert "us-east-1" in names and "eu-west-1" in names and names == sorted(names)
    assert not any(n.endswith("-global") or n == "aws" for n in names)
    assert all(r.partition == "aws" for r in aws)
    every = {r.name for r in known_regions(None)}
    assert {"cn-north-1", "us-gov-west-1"} <= every and not {"cn-north-1"} & set(names)
    assert next(r for r in aws if r.name == "us-east-1").label.startswith("us-east-1 — ")


@pytest.mark.parametrize(
    ("region", "partition"),
    [("us-east-1", "aws"), ("cn-north-1", "aws-cn"), ("cn-northwest-9", "aws-cn"), ("us-gov-west-1", "aws-us-gov"), ("nowhere", "aws")],
)
def test_partition_of(region: str, partition: str) -> None:
    assert partition_of(region) == partition


# --------------------------------------------------------------------------- masking


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (KEY_ID, "****************MPLE"),
        (SECRET, "****************EKEY"),
        ("abcdefgh", "******gh"),
        ("abc", "***"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_like_the_cli(value: str | None, masked: str) -> None:
    assert mask(value) == masked


# --------------------------------------------------------------------------- key CSVs

ONE_KEY = f"Access key ID,Secret access key\n{KEY_ID},{SECRET}\n"
NEW_USER = (
    "User name,Password,Access key ID,Secret access key,Console login link\n"
    f"alice,Tr0ub4dor&3-PASSWORD,{KEY_ID},{SECRET},https://123456789012.signin.aws.amazon.com/console\n"
)


@pytest.mark.parametrize(
    ("data", "user"),
    [
        (ONE_KEY, None),
        (ONE_KEY.encode(), None),
        (b"\xef\xbb\xbf" + ONE_KEY.encode(), None),
        ("\ufeff" + ONE_KEY, None),
        (ONE_KEY.replace("\n", "\r\n").encode(), None),
        (f"  access KEY id , SECRET ACCESS KEY \n  {KEY_ID}  ,  {SECRET}  \n\n", None),
        (f'"Access key ID","Secret access key"\n"{KEY_ID}","{SECRET}"\n', None),
        (ONE_KEY.replace(",", ";"), None),
        (ONE_KEY.replace(",", "\t"), None),
        (f"Secret access key,Access key ID\n{SECRET},{KEY_ID}\n", None),  # column order does not matter
        (NEW_USER, "alice"),
        (NEW_USER.encode("utf-8-sig"), "alice"),
    ],
)
def test_key_csv_layouts(data: str | bytes, user: str | None) -> None:
    parsed = parse_key_csv(data)
    assert (parsed.access_key_id, parsed.secret_access_key, parsed.user_name) == (KEY_ID, SECRET, user)
    shown = f"{parsed!r} {parsed}"
    assert SECRET not in shown and KEY_ID not in shown and "PASSWORD" not in shown
    assert "PASSWORD" not in repr(vars(parsed))  # the console password is never even kept


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "empty"),
        ("\n\n  \n", "empty"),
        ("Access key ID,Secret access key\n", "header but no key"),
        (f"Key,Secret\n{KEY_ID},{SECRET}\n", "no 'Access key ID'"),
        (f"{KEY_ID},{SECRET}\n", "no 'Access key ID'"),
        (f"Access key ID,Secret access key\n{KEY_ID}\n", "missing columns"),
        (b"\xff\xfeA\x00c\x00", "not a text (UTF-8)"),
        (f"Access key ID,Secret access key\nnot-a-key,{SECRET}\n", "access key ID"),
        (f"Access key ID,Secret access key\n{KEY_ID},{SECRET[:20]} {SECRET[20:]}\n", "spaces"),
        (f"Access key ID,Secret access key\n{KEY_ID},\n", "Enter the secret"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text (UTF-8)"),
    ],
)
def test_key_csv_refused_on_the_csv_field_without_its_content(data: str | bytes, says: str) -> None:
    error = _refused(parse_key_csv, data, field="csv")
    assert says in error.reason
    for text in (str(error), repr(error)):
        assert SECRET not in text and SECRET[:20] not in text and SECRET[20:] not in text


def test_key_csv_repr_when_built_directly() -> None:
    assert repr(KeyCsv(KEY_ID, SECRET, "bob")) == "KeyCsv(access_key_id='****************MPLE', user_name='bob')"


@pytest.mark.parametrize(
    ("user", "name"),
    [("alice", "alice"), ("Alice Smith", "Alice-Smith"), ("ops/deploy", "ops-deploy"), ("", None), (None, None), ("???", None), ("profile", None)],
)
def test_suggest_profile_name(user: str | None, name: str | None) -> None:
    assert suggest_profile_name(user) == name


# --------------------------------------------------------------------------- values that are not text


@pytest.mark.parametrize(
    ("validator", "field", "what"),
    [
        (validate_profile_name, "profile_name", "A profile name"),
        (validate_access_key_id, "access_key_id", "An access key ID"),
        (validate_secret_access_key, "secret_access_key", "The secret access key"),
        (validate_session_token, "session_token", "The session token"),
        (validate_region, "region", "A region"),
        (lambda v: validate_value("output", v), "output", "The value of 'output'"),
    ],
)
@pytest.mark.parametrize("value", [{"a": "b"}, {}, ["x"], 42, b"bytes", 1.5, True])
def test_values_that_are_not_text_are_refused(validator: object, field: str, what: str, value: object) -> None:
    # botocore reads "key =" followed by indented lines as a dict: a ValidationError, never an AttributeError.
    error = _refused(validator, value, field=field)
    if isinstance(value, dict):
        assert error.reason == f"{what} is a nested block of settings; it must be a single value."
    else:
        assert error.reason == f"{what} must be text, not {type(value).__name__}."


def test_none_is_empty_for_every_validator() -> None:
    assert validate_region(None) == (None, [])
    assert validate_session_token(None) is None
    assert "Enter" in _refused(validate_profile_name, None, field="profile_name").reason
    assert "Enter" in _refused(validate_access_key_id, None, field="access_key_id").reason
    assert "Enter" in _refused(validate_secret_access_key, None, field="secret_access_key").reason


def test_is_temporary_key_takes_anything() -> None:
    from awswidget.validate import is_temporary_key

    assert is_temporary_key(" ASIAIOSFODNN7EXAMPLE") and not is_temporary_key("AKIAIOSFODNN7EXAMPLE")
    assert not is_temporary_key({"a": "ASIA"}) and not is_temporary_key(None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- every sentence, word for word

_NAME_CHARS = "A profile name may use letters, digits and _ . @ + - only (no spaces, brackets or quotes)."
_KEY_ID_SHAPE = "An access key ID is 16 to 128 letters, digits or underscores (it usually starts with AKIA or ASIA)."
_NO_COLUMNS = (
    "The key file has no 'Access key ID' and 'Secret access key' columns; "
    "download it from the IAM console (Security credentials → Access keys)."
)


@pytest.mark.parametrize(
    ("call", "field", "reason"),
    [
        (lambda: validate_profile_name("  "), "profile_name", "Enter a profile name."),
        (lambda: validate_profile_name("a" * 129), "profile_name", "A profile name has at most 128 characters."),
        (lambda: validate_profile_name("a b"), "profile_name", _NAME_CHARS),
        (lambda: validate_profile_name("DEFAULT"), "profile_name", "'DEFAULT' is a reserved section name; choose another name."),
        (lambda: validate_profile_name("Default"), "profile_name", "Write the default profile as 'default' (lower case)."),
        (lambda: validate_access_key_id(""), "access_key_id", "Enter the access key ID."),
        (lambda: validate_access_key_id("short"), "access_key_id", _KEY_ID_SHAPE),
        (lambda: validate_secret_access_key(""), "secret_access_key", "Enter the secret access key."),
        (lambda: validate_secret_access_key("a b"), "secret_access_key", "The secret access key cannot contain spaces or line breaks."),
        (lambda: validate_secret_access_key("aé"), "secret_access_key", "The secret access key can only contain printable ASCII characters."),
        (lambda: validate_session_token(None, "ASIAIOSFODNN7EXAMPLE"), "session_token",
         "This is a temporary key (ASIA…): enter the session token that came with it."),
        (lambda: validate_session_token("a b"), "session_token", "The session token cannot contain spaces or line breaks."),
        (lambda: validate_value("output", "a\nb"), "output", "The value of 'output' cannot contain line breaks."),
        (lambda: validate_region("nowhere"), "region", "'nowhere' is not an AWS region name (for example us-east-1 or eu-west-2)."),
        (lambda: parse_key_csv(b"\xff"), "csv", "The key file is not a text (UTF-8) CSV file."),
        (lambda: parse_key_csv(""), "csv", "The key file is empty."),
        (lambda: parse_key_csv("a,b\n1,2\n"), "csv", _NO_COLUMNS),
        (lambda: parse_key_csv("Access key ID,Secret access key\n"), "csv", "The key file has a header but no key."),
        (lambda: parse_key_csv(f"Access key ID,Secret access key\n{KEY_ID}\n"), "csv", "The key row of the file is missing columns."),
        (lambda: parse_key_csv(f"Access key ID,Secret access key\nshort,{SECRET}\n"), "csv", "In the key file: " + _KEY_ID_SHAPE),
    ],
)
def test_every_refusal_word_for_word(call: object, field: str, reason: str) -> None:
    # The sentences users read are part of the contract: a changed word is a deliberate change here.
    error = _refused(call, field=field)
    assert error.reason == reason


def test_the_warnings_word_for_word() -> None:
    assert validate_access_key_id("A" * 16)[1] == [
        "This access key ID does not look like an AWS one (AKIA… or ASIA…, 20 characters)."
    ]
    assert validate_secret_access_key("s" * 39)[1] == ["AWS secret access keys are 40 characters; this one has 39."]
    assert validate_region("xx-newplace-1")[1] == [
        "'xx-newplace-1' is not in this botocore's region list; it may be newer than botocore."
    ]


@pytest.mark.parametrize(
    ("region", "shown"),
    [
        ("q" * 40, repr("q" * 40)),  # at the limit: whole
        ("q" * 41, repr("q" * 40)[:-1] + "…'"),  # one more: cut, with an ellipsis inside the quotes
        ("no\tplace", repr("no\tplace")),  # control characters escaped
    ],
)
def test_a_refused_region_is_echoed_escaped_and_cut_at_40_characters(region: str, shown: str) -> None:
    reason = _refused(validate_region, region, field="region").reason
    assert reason == f"{shown} is not an AWS region name (for example us-east-1 or eu-west-2)."


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("", ""),
        (None, ""),
        ("abc", "***"),  # under 4 characters: nothing shown
        ("abcdefgh", "******gh"),  # a quarter at most
        ("0123456789abcdef", "************cdef"),  # 16: every character stands for itself
        ("0123456789abcdefg", "****************defg"),  # longer: 16 asterisks, whatever the length
    ],
)
def test_mask_boundaries(value: str | None, masked: str) -> None:
    assert mask(value) == masked


def test_mask_keep() -> None:
    assert mask("0123456789abcdefg", keep=2) == "*" * 16 + "fg"
    assert mask("0123456789abcdefg", keep=0) == "*" * 16


def test_key_csv_with_lone_carriage_returns() -> None:
    parsed = parse_key_csv(f"Access key ID,Secret access key\r{KEY_ID},{SECRET}\r")
    assert (parsed.access_key_id, parsed.secret_access_key) == (KEY_ID, SECRET)


def test_key_csv_that_the_csv_reader_rejects() -> None:
    error = _refused(parse_key_csv, "Access key ID,Secret access key\n" + "x" * 200_000 + "\n", field="csv")
    assert error.reason == "The key file is not a valid CSV file."


def test_key_csv_with_only_one_of_the_two_key_columns() -> None:
    for header in ("Access key ID", "Secret access key", "Access key ID,Password"):
        error = _refused(parse_key_csv, f"{header}\n{KEY_ID}\n", field="csv")
        assert error.reason == _NO_COLUMNS


@pytest.mark.parametrize(
    ("data", "user"),
    [
        (f"Access key ID,Secret access key,User name\n{KEY_ID},{SECRET}\n", None),  # the row ends before the user
        (f"Access key ID,Secret access key,User name\n{KEY_ID},{SECRET},\n", None),  # empty
        (f"User name,Access key ID,Secret access key\nbad name!,{KEY_ID},{SECRET}\n", None),  # not an IAM name
        (f"User name,Access key ID,Secret access key\nXavier,{KEY_ID},{SECRET}\n", "Xavier"),
    ],
)
def test_key_csv_user_name_column(data: str, user: str | None) -> None:
    assert parse_key_csv(data).user_name == user


def test_values_and_names_that_start_or_end_with_x() -> None:
    # Guards against character sets that are too wide (a check that also hit 'X').
    assert validate_value("output", "XML") == "XML"
    assert suggest_profile_name("Xavier X") == "Xavier-X"
