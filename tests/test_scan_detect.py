"""Detection in one text: each shape and context that is a credential, each near miss that is not."""

from __future__ import annotations

import base64
import hashlib
import secrets

import pytest

from awswidget.scan import find_in_text
from awswidget.scan.detect import Finding
from tests.scan_support import EXAMPLE_KEY_ID, EXAMPLE_SECRET, key_id, secret, token

K, S, T = key_id(), secret(), token()


def kinds(text: str) -> list[tuple[str, str]]:
    return [(f.kind, text[f.span[0] : f.span[1]]) for f in find_in_text(text) if f.leak]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"key = '{K}'", [("access_key_id", K)]),
        (f'boto3.client("s3", aws_access_key_id="{K}", aws_secret_access_key="{S}")', [("access_key_id", K), ("secret_access_key", S)]),
        (f'boto3.Session("{K}", "{S}")', [("access_key_id", K), ("secret_access_key", S)]),
        (f'os.environ["AWS_SECRET_ACCESS_KEY"] = "{S}"', [("secret_access_key", S)]),
        (f"os.environ.setdefault('AWS_SECRET_ACCESS_KEY', '{S}')", [("secret_access_key", S)]),
        (f"export AWS_SECRET_ACCESS_KEY={S}", [("secret_access_key", S)]),
        (f"aws configure set aws_secret_access_key {S}", [("secret_access_key", S)]),
        (f'{{"SecretAccessKey": "{S}"}}', [("secret_access_key", S)]),
        (f"secret_key => '{S}'", [("secret_access_key", S)]),
        (f"MY_APP_SECRET_KEY={S}", [("secret_access_key", S)]),
        (f"Access key ID,Secret access key\n{K},{S}\n", [("access_key_id", K), ("secret_access_key", S)]),
        (f"key = '{K}'\n\nsecret = '{S}'", [("access_key_id", K), ("secret_access_key", S)]),
        (f"aws_session_token = {T}", [("session_token", T)]),
        (f"print('{T}')", [("session_token", T)]),
        (f"https://x.s3.amazonaws.com/o?X-Amz-Credential={K}%2F2024", [("access_key_id", K)]),
        (f"{key_id('ASIA')} ok", [("access_key_id", None)]),
    ],
)
def test_credentials_are_found(text: str, expected: list[tuple[str, str | None]]) -> None:
    found = kinds(text)
    assert [k for k, _ in found] == [k for k, _ in expected]
    assert all(v is None or got == v for (_, got), (_, v) in zip(found, expected, strict=True))


@pytest.mark.parametrize(
    "text",
    [
        "/usr/share/perl5/Debconf/FrontEnd/Dialog",
        f"{K[:4]}x usr/share/perl5/Debconf/FrontEnd/Dialog",  # not a key ID: nothing to stand next to
        f"key {K} path /usr/share/perl5/Debconf/FrontEnd/Dialog",
        f"key {K} rel usr/share/perl5/Debconf/FrontEnd/Dialog",
        f"key {K} commit {hashlib.sha1(b'x').hexdigest()}",  # noqa: S324 (a hash in hex)
        f"key {K} url https://example.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "secret_arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf'",
        f"aws_secret_access_key = {'x' * 40}",  # a placeholder
        f"aws_secret_access_key = {hashlib.sha1(b'y').hexdigest()}",  # noqa: S324
        "aws_secret_access_key = os.environ['AWS_SECRET_ACCESS_KEY']",
        f"data:image/png;base64,{base64.b64encode(b'x' * 30).decode()}AKIAEIYAIEQQEBAJAAAA{base64.b64encode(b'y' * 30).decode()}",
        "iVBORw0KGgoAAAANSUhEUgAKIAEIYAIEQQEBAJAAAAAAAA+/",
        f"secret {secret()}{secret()}",  # 80 characters: not a secret key's length
        f"session_token = {'a1' * 60}",  # hex
        "tokenizer = AutoTokenizer.from_pretrained('bert-base-uncased')  # 0123456789012345678901234567890123456789",
    ],
)
def test_near_misses_are_not_credentials(text: str) -> None:
    assert [(f.kind, f.context) for f in find_in_text(text) if f.leak and f.kind != "access_key_id"] == []
    if K not in text:
        assert [f for f in find_in_text(text) if f.leak] == []


def test_base64_runs_do_not_make_key_ids() -> None:
    blob = base64.b64encode(secrets.token_bytes(2_000_000)).decode()
    planted = blob[:1000] + "AKIAEIYAIEQQEBAJAAAA" + blob[1000:]
    assert [f for f in find_in_text(planted) if f.leak] == []


def test_documented_examples_are_examples_not_leaks() -> None:
    found = find_in_text(f"aws_access_key_id = {EXAMPLE_KEY_ID}\naws_secret_access_key = {EXAMPLE_SECRET}\n"
                         "AKIAI44QH8DHBEXAMPLE je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY")
    assert [(f.kind, f.example, f.leak) for f in found] == [
        ("access_key_id", True, False), ("secret_access_key", True, False),
        ("access_key_id", True, False), ("secret_access_key", True, False),
    ]


@pytest.mark.parametrize("prefix", ["AIDA", "AROA", "AGPA", "ANPA", "ANVA", "AIPA", "APKA", "ASCA"])
def test_iam_unique_ids_are_recognised_but_not_leaks(prefix: str) -> None:
    (found,) = find_in_text(f'"UserId": "{key_id(prefix)}"')
    assert found.kind == "unique_id" and not found.leak


@pytest.mark.parametrize("prefix", ["AKIA", "ASIA", "ABIA", "ACCA"])
def test_credential_prefixes_are_leaks(prefix: str) -> None:
    (found,) = find_in_text(f"x {key_id(prefix)} y")
    assert found.kind == "access_key_id" and found.leak


def test_finding_never_shows_the_value() -> None:
    text = f'boto3.client("s3", aws_access_key_id="{K}", aws_secret_access_key="{S}", aws_session_token="{T}")'
    found = find_in_text(text)
    assert len(found) == 3
    for f in found:
        shown = " ".join([repr(f), str(f), f.describe(), f.location(), repr(vars(f))])
        for value in (K, S, T, K[4:], S[:20], S[-20:], T[20:60]):
            assert value not in shown
    key = found[0]
    assert key.masked == "*" * 16 + K[-4:] and key.line == 1 and key.context == "boto3.client(...) with literal keys"
    assert found[1].masked == found[2].masked == "*" * 16


def test_lines_and_columns_are_one_based() -> None:
    (f,) = find_in_text(f"a\r\nb\n  key={K}\n")
    assert (f.line, f.column) == (3, 7)
    assert isinstance(f, Finding) and f.span == (len("a\r\nb\n  key="), len("a\r\nb\n  key=") + 20)


def test_allowlist_pragma_skips_only_its_line() -> None:
    text = f"fixture = '{K}'  # awswidget: allow\nother = '{key_id()}'\nalso = '{K}'  # pragma: allowlist secret\n"
    assert [f.line for f in find_in_text(text)] == [2]


def test_a_closed_call_is_not_the_context() -> None:
    # Regression: a boto3.client("s3") closed on an earlier line made a later key look like its argument.
    (f,) = find_in_text(f'c = boto3.client("s3")\nwrite((other / "x").replace(KEY, "{K}"))')
    assert f.context == "key ID shape"
    (g,) = find_in_text(f'c = boto3.client(\n    "s3",\n    aws_access_key_id="{K}",\n)')
    assert g.context == "boto3.client(...) with literal keys"


def test_a_named_secret_may_start_or_end_with_a_slash() -> None:
    """Real secret keys are base64: "/" can come first or last (the sandbox's moto handed out such a key)."""
    from awswidget.scan import find_in_text

    from .scan_support import secret

    base = secret()
    for value in ("/" + base[1:], base[:-1] + "/", base[:19] + "//" + base[21:]):
        assert len(value) == 40
        found = find_in_text(f'aws_secret_access_key = "{value}"')
        assert [f.kind for f in found if f.leak] == ["secret_access_key"], value


def test_a_named_secret_with_slashes_is_found_whatever_its_segments_look_like() -> None:
    """A random base64 secret with two or more slashes can split into name-like segments: named, it still counts."""
    from awswidget.scan import find_in_text

    value = "aB3xQ/rT5yUi/oP7aSdF9gHjK1lZ2xC4vB6nM8qW"
    assert len(value) == 40
    assert [f.kind for f in find_in_text(f'aws_secret_access_key = "{value}"') if f.leak] == ["secret_access_key"]
