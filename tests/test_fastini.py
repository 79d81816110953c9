"""The fast reader against botocore as the oracle: equal results, equal rejections.

For every input, ``awswidget._fastini.parse(data, path)`` must give what
``botocore.configloader.raw_config_parse(path)`` gives for a file holding
``data``: the same sections and keys in the same order, the same values (nested
dicts included), or the same ``ConfigParseError`` around the same kind of
configparser error with the same message (which holds the line number and the
line). ``profile_map`` must equal ``build_profile_map``, order and deep copy
included. Inputs: the corpus, hypothesis-generated files, and a fixed table
whose botocore answers are written down (if botocore's reading changes, the
table fails and the verified fingerprints must be renewed after a review).
"""

from __future__ import annotations

import configparser
import copy
import hashlib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import botocore.configloader
import botocore.exceptions
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from awswidget import _fastini
from tests.helpers import CORPUS

# Derandomized and without a database, like tests/test_fuzz_files.py: CI runs the same examples every time.
SETTINGS = settings(max_examples=700, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
DEEP = settings(SETTINGS, max_examples=6000)


def _ordered(value: Any) -> Any:
    """Dict equality ignores order and types of equal values: this does not."""
    if isinstance(value, dict):
        return (type(value).__name__, [(k, _ordered(v)) for k, v in value.items()])
    return (type(value).__name__, value)


def _outcome(read: Any) -> tuple[Any, ...]:
    try:
        return ("ok", _ordered(read()))
    except botocore.exceptions.ConfigParseError as exc:
        error = exc.kwargs["error"]
        if isinstance(error, UnicodeDecodeError):
            # botocore's positions count from the start of the chunk it was decoding: compare the bad bytes.
            detail: Any = (error.encoding, error.reason, error.object[error.start : error.end])
        else:
            detail = (str(error), getattr(error, "lineno", None), getattr(error, "errors", None))
        return ("error", str(exc), type(error), detail)


def _compare(data: bytes, folder: Path) -> tuple[Any, ...]:
    path = folder / "config"
    path.write_bytes(data)
    expected = _outcome(lambda: botocore.configloader.raw_config_parse(str(path)))
    got = _outcome(lambda: _fastini.parse(data, str(path)))
    assert got == expected
    if expected[0] == "ok":
        parsed = botocore.configloader.raw_config_parse(str(path))
        _compare_maps(parsed)
        mine = _fastini.parse(data, str(path))
        assert any(known is mine for known, _nested in _fastini._made)  # its map is copied without the type walk
        _compare_maps(mine)
    return expected


def _compare_maps(parsed: dict[str, Any]) -> None:
    before = copy.deepcopy(parsed)
    got = _fastini.profile_map(parsed)
    assert _ordered(got) == _ordered(botocore.configloader.build_profile_map(parsed))
    # A deep copy: nothing in the result is an object of the input, and changing it leaves the input alone.
    inner = {id(d) for d in parsed.values()} | {id(v) for d in parsed.values() for v in d.values() if isinstance(v, dict)}
    for group in (got["profiles"], got["sso_sessions"], got["services"], got):
        for values in group.values():
            assert id(values) not in inner
            if isinstance(values, dict):
                values["__touched__"] = "x"
                for v in values.values():
                    assert id(v) not in inner
    assert _ordered(parsed) == _ordered(before)


# --------------------------------------------------------------------------- the corpus


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.iterdir()))
def test_corpus_file_reads_as_botocore_reads_it(name: str, tmp_path: Path) -> None:
    path = CORPUS / name
    data = path.read_bytes()
    expected = _outcome(lambda: botocore.configloader.raw_config_parse(str(path)))
    assert _outcome(lambda: _fastini.parse(data, str(path))) == expected
    # The same bytes under another name: still equal (the path appears in messages only).
    _compare(data, tmp_path)


@pytest.mark.parametrize("n", [1, 9, 300])
def test_generated_benchmark_files_read_as_botocore_reads_them(n: int, tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
    try:
        import genfiles
    finally:
        sys.path.pop(0)
    made = genfiles.generate(tmp_path / "files", n)
    for path in (made.config, made.credentials):
        data = path.read_bytes()
        assert _compare(data, tmp_path)[0] == "ok"
        assert _compare(data.replace(b"\n", b"\r\n"), tmp_path)[0] == "ok"


def test_big_files_with_bad_bytes_far_down_are_rejected_alike(tmp_path: Path) -> None:
    # botocore decodes such a file in chunks (8 KiB): the bad bytes are met long after the first lines.
    body = b"".join(b"[profile p%d]\nregion = eu-west-1\n" % i for i in range(5000))
    assert len(body) > 100_000
    assert _compare(body + b"k = \xe9t\xe9\n", tmp_path)[2] is UnicodeDecodeError
    assert _compare(b"[a]\nnot an option\n" + body + b"\xff", tmp_path)[2] is UnicodeDecodeError  # noted lines come last
    # A duplicate before the bad bytes: which error botocore meets first depends on its chunks. Not ours to say.
    for data in (b"[a]\n[a]\n" + body + b"\xff", body + b"[profile p7]\n\xff"):
        with pytest.raises(_fastini.Unsupported):
            _fastini.parse(data, "f")


def test_corpus_holds_both_results_and_rejections() -> None:
    kinds = {_outcome(lambda p=p: botocore.configloader.raw_config_parse(str(p)))[0] for p in CORPUS.iterdir()}
    assert kinds == {"ok", "error"} and len(list(CORPUS.iterdir())) >= 60


# --------------------------------------------------------------------------- generated files

NAMES = st.sampled_from(["default", "DEFAULT", "Default", "dev", "prod", "a b", "ünï", "x]y", " pad ", "profile", "a'b", '"q"', "\u3000w"])
HEADER = st.one_of(
    st.tuples(st.sampled_from(["", "profile ", "profile  ", "profile\t", "sso-session ", "services ", "profilex ", "Profile "]), NAMES).map("".join),
    st.sampled_from(['profile "a b"', "profile 'x", "profile a b", "profile default", "sso-session", "services", "", "]", "[x", "a\x0bb"]),
)
KEY = st.sampled_from(["region", "Region", "REGION", "aws_access_key_id", "s3", "k", "k k", "ünï", "İx", "", " ", "a;b", "a#b", "x\x85y"])
SEP = st.sampled_from(["=", " = ", ":", " : ", "\t=", "=:", ":=", " =  ", "= ="])
TEXT = st.sampled_from(["v", "", "a=b", "a:b", "x ;c", "x #c", "[s]", "[", "]", "  sp  ", "é\u2028f", "g\x0ch", "\xa0n\xa0", "\x1cx", "tab\there"])
INDENT = st.sampled_from(["", "", "", " ", "  ", "\t", "\u3000", "\xa0", "\x0c", "    "])
OPTION = st.tuples(st.sampled_from(["", "", "", " ", "\t"]), KEY, SEP, TEXT).map("".join)
LINE = st.one_of(
    OPTION,
    OPTION,
    st.tuples(st.sampled_from(["", "", " "]), HEADER, st.sampled_from(["]", "]", "] ; c", "]x]", "] junk"])).map(lambda t: f"{t[0]}[{t[1]}{t[2]}"),
    st.tuples(INDENT, KEY, SEP, TEXT).map("".join),
    st.tuples(INDENT, TEXT).map("".join),  # continuation, nested "k=v", or a line that is not an option
    st.tuples(INDENT, st.sampled_from(["#", ";", "# c", "; [x]", "#=", "x"])).map("".join),
    st.sampled_from(["", " ", "\t", "\u3000", "\x0b", "[DEFAULT]"]),
    # a value continued (or a nested block) over the next lines
    st.tuples(OPTION, st.lists(st.tuples(st.sampled_from(["  ", "\t", "    ", " "]), TEXT), min_size=1, max_size=3)).map(
        lambda t: t[0] + "".join(f"\n{i}{x or 'w'}" for i, x in t[1])
    ),
    st.tuples(st.sampled_from(["  ", "\t", "    "]), KEY, st.sampled_from(["=", " = ", ""]), TEXT).map("".join),
)
EOL = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def files(draw: Any) -> bytes:
    lines = draw(st.lists(LINE, max_size=24))
    if draw(st.integers(0, 3)) != 2:  # most files start with a header, so that more than line 1 is read
        lines.insert(0, f"[{draw(HEADER)}]")
    mixed = draw(st.booleans())
    eol = draw(EOL)
    text = "".join(line.replace("\n", eol) + (draw(EOL) if mixed else eol) for line in lines)
    if draw(st.booleans()) and text:
        text = text[:-1] if text.endswith(("\n", "\r")) else text  # no final line break (or a lone \r\n half)
    data = text.encode()
    if draw(st.integers(0, 15)) == 9:  # not 0: hypothesis draws its minimum often
        data = b"\xef\xbb\xbf" + data
    if draw(st.integers(0, 11)) == 9:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe2\x82", b"\x80abc"])) + data[at:]
    return data


def _check_generated(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        try:
            expected = _compare(data, Path(folder))
        except _fastini.Unsupported:
            # The only input refused here: invalid UTF-8 after a line botocore may stop at first.
            event("Unsupported")
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
        else:
            event(f"botocore: {expected[0]} {expected[2].__name__ if expected[0] == 'error' else ''}")
            if expected[0] == "ok":
                text = repr(expected[1])
                for feature, mark in (("a nested block", "('dict', [('"), ("a continued value", "\\n"), ("[DEFAULT]", "[DEFAULT]")):
                    if mark in (text if feature != "[DEFAULT]" else data.decode()):
                        event(f"read: {feature}")


@SETTINGS
@given(data=files())
def test_generated_file_reads_as_botocore_reads_it(data: bytes) -> None:
    _check_generated(data)


@pytest.mark.slow
@DEEP
@given(data=files())
def test_generated_file_reads_as_botocore_reads_it_deeper(data: bytes) -> None:
    _check_generated(data)


# --------------------------------------------------------------------------- behaviour fingerprint

# botocore's answers, written down: (file text, result or (error kind, line)). If one changes, botocore or
# configparser reads differently now: review _fastini against the new code, then renew its fingerprints.
FIXED: list[tuple[str, Any]] = [
    ("[default]\nregion = us-east-1\n", {"default": {"region": "us-east-1"}}),
    ("[a]\nK : v ; not a comment\n", {"a": {"k": "v ; not a comment"}}),
    ("[a]\nk = x\n  more\n\n  after blank\n", {"a": {"k": "x\nmore\n\nafter blank"}}),
    ("[a]\ns3 =\n  x = 1\n  y=2=3\n", {"a": {"s3": {"x": "1", "y": "2=3"}}}),
    ("[DEFAULT]\nr = 1\n[a]\nk = 2\n[b]\nr = 3\n", {"a": {"k": "2", "r": "1"}, "b": {"r": "3"}}),
    ("[a] junk ]\nk=v\n", {"a] junk ": {"k": "v"}}),
    ("[a]\nk = 1\n  [b]\n", {"a": {"k": "1\n[b]"}}),
    ("[a]\r\nk = 1\rj = 2", {"a": {"k": "1", "j": "2"}}),
    ("[a]\nk = \n", {"a": {"k": ""}}),
    ("[a]\nk = v\n[a]\n", (configparser.DuplicateSectionError, 3)),
    ("[a]\nk = 1\nK = 2\n", (configparser.DuplicateOptionError, 3)),
    ("k = v\n", (configparser.MissingSectionHeaderError, 1)),
    ("\ufeff[a]\n", (configparser.MissingSectionHeaderError, 1)),
    ("[a]\nnovalue\n= x\n", (configparser.ParsingError, 2)),
    ("[a]\ns3 =\n  novalue\n", (ValueError, None)),
]


@pytest.mark.parametrize(("text", "expected"), FIXED)
def test_botocore_still_reads_the_fixed_table_as_recorded(text: str, expected: Any, tmp_path: Path) -> None:
    outcome = _compare(text.encode(), tmp_path)
    if isinstance(expected, dict):
        assert outcome == ("ok", _ordered(expected))
    else:
        kind, line = expected
        assert outcome[2] is kind
        assert outcome[3][1] == line or (outcome[3][2] or [(None,)])[0][0] == line


def test_the_replayed_code_is_the_verified_code() -> None:
    # Fails when botocore's configloader or CPython's configparser changes: then parse() refuses every input
    # (Unsupported, botocore reads instead) until this file passes against the new code and the new
    # fingerprints are added to BOTOCORE_VERIFIED / STDLIB_VERIFIED.
    boto, std = _fastini._fingerprint()
    assert boto in _fastini.BOTOCORE_VERIFIED, f"botocore {botocore.__version__}: new reader fingerprint {boto}"
    assert std in _fastini.STDLIB_VERIFIED, f"configparser: new fingerprint {std}"


# --------------------------------------------------------------------------- guards and the profile map


def test_unverified_code_or_locale_is_unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_fastini, "BOTOCORE_VERIFIED", frozenset())
    with pytest.raises(_fastini.Unsupported):
        _fastini.parse(b"[a]\n", "f")
    monkeypatch.undo()
    monkeypatch.setattr("locale.getpreferredencoding", lambda do_setlocale=True: "ISO-8859-1")
    with pytest.raises(_fastini.Unsupported):
        _fastini.parse(b"[a]\n", "f")


def test_invalid_utf8_after_a_duplicate_is_unsupported_but_after_a_bad_line_is_botocores_error(tmp_path: Path) -> None:
    with pytest.raises(_fastini.Unsupported):
        _fastini.parse(b"[a]\n[a]\nk = \xff\n", "f")
    assert _compare(b"[a]\nnovalue\nk = \xff\n", tmp_path)[2] is UnicodeDecodeError


@pytest.mark.parametrize(
    "parsed",
    [
        {"profile a": {"k": "v"}, "default": {"s3": {"x": "1"}}, "profile default": {}, "sso-session s": {}, "services x": {}},
        {"profile 'a b'": {}, "profile a b": {}, "profile": {}, "profilex y": {}, "sso_sessions": {"k": "v"}, "profiles": {}},
        {"profile \"unclosed": {}, "profile a\\ b": {}, "services": {}},
    ],
)
def test_profile_map_equals_botocores(parsed: dict[str, Any]) -> None:
    _compare_maps(parsed)


def test_profile_map_hands_other_shapes_to_botocore() -> None:
    shared = {"k": "v"}
    parsed: dict[str, Any] = {"profile a": shared, "profile b": shared, "c": {"n": 1, "l": [1]}}
    got = _fastini.profile_map(parsed)
    assert got == botocore.configloader.build_profile_map(parsed)
    assert got["profiles"]["a"] is got["profiles"]["b"] and got["profiles"]["a"] is not shared  # deepcopy's memo


# --------------------------------------------------------------------------- the code digest (a fast fingerprint)


def test_a_recorded_code_digest_stands_for_the_source_fingerprints_it_was_recorded_with() -> None:
    digest = _fastini._code_digest()
    sources = tuple(hashlib.sha256(f().encode()).hexdigest() for f in (_fastini._botocore_source, _fastini._stdlib_source))
    if digest in _fastini.CODE_FINGERPRINTS:
        assert _fastini.CODE_FINGERPRINTS[digest] == sources
    # else: a Python or botocore whose compiled code is not recorded: the sources are read (10 ms more at start-up)
    assert _fastini._fingerprint() == sources


def test_the_code_digest_is_the_same_in_every_process() -> None:
    script = "from awswidget import _fastini; print(_fastini._code_digest())"
    root = str(Path(__file__).resolve().parent.parent)
    seen = {
        subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": root},
                       capture_output=True, text=True, check=True, timeout=120).stdout.strip()
        for seed in ("0", "1", "12345")
    }
    assert seen == {_fastini._code_digest()}


def test_the_code_digest_changes_with_the_replayed_code(monkeypatch: pytest.MonkeyPatch) -> None:
    before = _fastini._code_digest()
    raw: Any = configparser.RawConfigParser

    def optionxform(self: Any, optionstr: str) -> str:
        return optionstr.upper()

    monkeypatch.setattr(raw.optionxform, "__code__", optionxform.__code__)
    assert _fastini._code_digest() != before
    monkeypatch.undo()
    assert _fastini._code_digest() == before
    monkeypatch.setattr(raw, "_SECT_TMPL", raw._SECT_TMPL + "x")
    assert _fastini._code_digest() != before
    monkeypatch.undo()
    monkeypatch.setattr(botocore.configloader._parse_nested, "__defaults__", ("x",))
    assert _fastini._code_digest() != before


@pytest.mark.parametrize("patch", ["raw_config_parse", "optionxform code", "SECTCRE", "OPTCRE"])
def test_a_reader_patched_after_the_first_parse_hands_every_file_to_botocore(monkeypatch: pytest.MonkeyPatch, patch: str) -> None:
    """A reviewer patched botocore's reader (or configparser's) after the first parse: the fast reader kept
    answering from its cached verdict and listed a profile botocore no longer does."""
    _fastini.parse(b"[profile a]\nk = v\n", "f")  # verdict cached for the code as it is
    raw: Any = configparser.RawConfigParser
    if patch == "raw_config_parse":
        monkeypatch.setattr(botocore.configloader, "raw_config_parse", lambda *a, **k: {})
    elif patch == "optionxform code":

        def optionxform(self: Any, optionstr: str) -> str:
            return optionstr.upper()

        monkeypatch.setattr(raw.optionxform, "__code__", optionxform.__code__)
    elif patch == "SECTCRE":  # compiled from another template than the hashed one
        monkeypatch.setattr(raw, "SECTCRE", re.compile(r"\[\s*(?P<header>[^]]+?)\s*\]", re.VERBOSE))
    else:
        monkeypatch.setattr(raw, "OPTCRE", re.compile(r"(?P<option>.*?)\s*(?P<vi>=)\s*(?P<value>.*)$", re.VERBOSE))
    with pytest.raises(_fastini.Unsupported):
        _fastini.parse(b"[profile a]\nk = v\n", "f")
    monkeypatch.undo()
    assert _fastini.parse(b"[profile a]\nk = v\n", "f") == {"profile a": {"k": "v"}}  # the verified code again


@pytest.mark.parametrize("text", [
    "[DEFAULT]\ns3 =\n  max_concurrent_requests = 4\n[profile a]\nregion = eu-west-1\n[profile b]\ns3 =\n  addressing_style = path\n",
    "[profile a]\ns3 =\n  max_concurrent_requests = 4\n[profile b]\nregion = eu-west-1\n[sso-session s]\nsso_region = us-east-1\n",
])
def test_the_map_of_a_parse_made_here_shares_no_nested_value_with_it(text: str, tmp_path: Path) -> None:
    """A parse made by the fast reader is copied without the type walk (issue 17); a nested value, its own or
    one a [DEFAULT] section gives every section, must still be a copy of its own."""
    _compare(text.encode(), tmp_path)
