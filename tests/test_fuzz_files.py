"""Hypothesis: whatever is written reads back through botocore, and untouched bytes stay put.

Generated files mix line endings, a missing final newline, comments, blank lines,
indentation, ``=``/``:`` delimiters with any spacing, continuation lines, nested
``s3 =`` blocks and unicode; generated edits set, update, remove keys and remove
sections. After every edit botocore's parse must equal the model (the parse
before, with the edit applied), and the bytes before the edited section and
after it must be exactly the old ones.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.configloader
import botocore.session
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from awswidget import files
from awswidget._ini import IniDocument, split_lines
from awswidget.manager import CredentialsManager

# Derandomized and without a database, so CI runs the same examples every time (exploratory
# campaigns: run with a larger max_examples and derandomize=False by hand).
SETTINGS = settings(
    max_examples=120, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)

EOL = st.sampled_from(["\n", "\r\n", "\r"])
KEY = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)
# Any text a line can hold: no line break, no surrogate; configparser strips the ends.
VALUE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=24).map(str.strip)
NAME = st.one_of(
    st.from_regex(r"[A-Za-z0-9_.@+-]{1,10}", fullmatch=True),
    st.text(st.characters(whitelist_categories=("Ll", "Lu", "Lo", "Nd")), min_size=1, max_size=6),
)
HEADER = st.tuples(st.sampled_from(["", "profile ", "sso-session ", "services "]), NAME).map("".join).filter(
    lambda h: h.strip() == h and h not in ("DEFAULT",)
)
SEP = st.sampled_from([" = ", "=", " =", "= ", ": ", ":", "\t=\t", "  =  "])
INDENT = st.sampled_from(["", "", "  ", "\t"])
COMMENT = st.tuples(st.sampled_from(["#", ";", "  #", "\t;"]), VALUE).map(lambda t: f"{t[0]} {t[1]}".rstrip())


@st.composite
def sections(draw: Any) -> list[str]:
    """The lines (without endings) of one section body."""
    indent = draw(INDENT)
    lines: list[str] = []
    for key in draw(st.lists(KEY, max_size=5, unique=True)):
        shape = draw(st.sampled_from(["plain", "plain", "plain", "continued", "nested"]))
        if shape == "nested":
            lines.append(f"{indent}{key} =")
            lines += [f"{indent}    {sub} = {draw(VALUE)}" for sub in draw(st.lists(KEY, min_size=1, max_size=3, unique=True))]
        else:
            value = draw(VALUE)
            if shape == "continued":
                value = value or "first"
            lines.append(f"{indent}{key}{draw(SEP)}{value}".rstrip() if not value else f"{indent}{key}{draw(SEP)}{value}")
            if shape == "continued":
                lines += [f"{indent}  {draw(VALUE) or 'more'}" for _ in range(draw(st.integers(1, 2)))]
        lines += draw(st.lists(st.one_of(COMMENT, st.sampled_from(["", "   "])), max_size=2))
    return lines


@st.composite
def documents(draw: Any) -> str:
    eol = draw(EOL)
    lines = draw(st.lists(COMMENT, max_size=2))
    for header in draw(st.lists(HEADER, max_size=5, unique=True)):
        lines.append(f"[{header}]" + draw(st.sampled_from(["", "", "  ", " ; note"])))
        lines += draw(sections())
        lines += [""] * draw(st.integers(0, 2))
    text = eol.join(lines)
    return text + (eol if lines and draw(st.booleans()) else "")


@dataclass
class Set:
    header: str
    values: dict[str, str | None]


@dataclass
class Remove:
    header: str


@st.composite
def edits(draw: Any, model: dict[str, dict[str, Any]]) -> list[Set | Remove]:
    """Edits of existing sections and keys (updates, removals) as often as of new ones."""
    ops: list[Set | Remove] = []
    headers = sorted(model)
    for _ in range(draw(st.integers(1, 4))):
        existing = draw(st.booleans()) and headers
        header = draw(st.sampled_from(headers)) if existing else draw(HEADER)
        if existing and draw(st.integers(0, 3)) == 0:
            ops.append(Remove(header))
            continue
        known = sorted(model.get(header, {}))
        key = st.one_of(st.sampled_from(known), KEY) if known else KEY
        keys = draw(st.lists(key, min_size=1, max_size=3, unique=True))
        ops.append(Set(header, {k: draw(st.one_of(VALUE, st.none())) for k in keys}))
    return ops


@dataclass
class Around:
    head: str  # the text before the section
    untouched: list[str]  # lines of the section that an edit of ``keys`` must keep, in order
    trailing: str  # blank and comment lines after the section's last key
    tail: str  # the text from the next header on


def _around(text: str, header: str, keys: set[str]) -> Around | None:
    doc = IniDocument(text)
    lines = doc._lines
    for start, body_end in doc._sections(lambda h: h == header):
        nxt = body_end
        while nxt < len(lines) and lines[nxt].kind != "section":
            nxt += 1
        untouched = [line.text.rstrip("\r\n") for line in lines[start + 1 : nxt] if line.kind in ("blank", "comment") or line.key not in keys]
        return Around(
            "".join(line.text for line in lines[:start]),
            untouched,
            "".join(line.text for line in lines[body_end:nxt]),
            "".join(line.text for line in lines[nxt:]),
        )
    return None


def _endings(text: str) -> set[str]:
    crlf = text.count("\r\n")
    return {e for e, n in (("\r\n", crlf), ("\r", text.count("\r") - crlf), ("\n", text.count("\n") - crlf)) if n}


def _is_subsequence(needles: list[str], hay: list[str]) -> bool:
    it = iter(hay)
    return all(any(n == h for h in it) for n in needles)


def _apply(model: dict[str, dict[str, Any]], op: Set | Remove) -> None:
    if isinstance(op, Remove):
        model.pop(op.header, None)
        return
    section = model.get(op.header)
    new = {k: v for k, v in op.values.items() if v is not None}
    if section is None:
        if new:
            model[op.header] = new
        return
    for key, value in op.values.items():
        if value is None:
            section.pop(key, None)
        else:
            section[key] = value


@SETTINGS
@given(data=st.data(), text=documents())
def test_write_then_read_through_botocore(data: st.DataObject, text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "file"
        path.write_bytes(text.encode())
        try:
            model = botocore.configloader.raw_config_parse(str(path))
        except botocore.exceptions.ConfigParseError:
            assume(False)  # only what botocore reads is ours to edit
        for op in data.draw(edits(model)):
            before = path.read_bytes().decode()
            keys = set(op.values) if isinstance(op, Set) else set()
            around = _around(before, op.header, keys)
            if isinstance(op, Set):
                files.update_file(path, lambda doc, _s, op=op: doc.set(op.header, op.values))
            else:
                files.update_file(path, lambda doc, _s, op=op: doc.remove(lambda h: h == op.header))
            after = path.read_bytes().decode()
            _apply(model, op)
            assert botocore.configloader.raw_config_parse(str(path)) == model
            # One line-ending style stays one style (CRLF stays CRLF); a set keeps a missing final newline missing.
            if len(_endings(before)) == 1:
                assert _endings(after) <= _endings(before)
            if isinstance(op, Set) and before:
                assert before.endswith(("\n", "\r")) == after.endswith(("\n", "\r"))
            if around is None:
                # A new section is appended: everything before stays (a missing final newline is added).
                assert after.startswith(before) or after.startswith(before + "\n") or after.startswith(before + "\r")
                continue
            if isinstance(op, Remove):
                # Exactly: header, keys and inner comments go, with the blank lines that separated the
                # section; comments after its last key stay (they may describe the next section). A
                # following header that would read as a continuation loses its indentation.
                tails = {around.tail, around.tail.lstrip()}
                if around.trailing.strip():
                    assert any(after == around.head + around.trailing + t for t in tails)
                elif around.tail:
                    assert any(after == around.head + t for t in tails)
                else:
                    head = around.head
                    last = split_lines(head)[-1:] or [""]
                    allowed = {head, head[: len(head) - len(last[0])] if not last[0].strip() else head}
                    if not before.endswith(("\n", "\r")):  # a missing final newline stays missing
                        allowed = {a.rstrip("\r\n") if a.rstrip("\r\n") else a for a in allowed}
                    assert after in allowed
            else:
                assert after.startswith(around.head) and after.endswith(around.tail)
                section = after[len(around.head) : len(after) - len(around.tail)]
                assert _is_subsequence(around.untouched, [line.rstrip("\r\n") for line in split_lines(section)])


NAMES = st.from_regex(r"[A-Za-z0-9_.@+-]{1,16}", fullmatch=True).filter(
    lambda n: n.lower() not in ("default", "profile", "sso-session", "services") or n == "default"
)
KEY_IDS = st.from_regex(r"(AKIA|ASIA)[A-Z0-9]{16}", fullmatch=True)
SECRETS = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=60)


@settings(SETTINGS, max_examples=40)
@given(config=documents(), credentials=documents(), name=NAMES, key_id=KEY_IDS, secret=SECRETS, data=st.data())
def test_manager_round_trip(config: str, credentials: str, name: str, key_id: str, secret: str, data: st.DataObject) -> None:
    """add_profile then remove_profile through the manager: botocore sees exactly that, nothing else moves."""
    with tempfile.TemporaryDirectory() as folder:
        cfg, creds = Path(folder) / "config", Path(folder) / "credentials"
        cfg.write_bytes(config.encode())
        creds.write_bytes(credentials.encode())
        try:
            for p in (cfg, creds):
                botocore.configloader.raw_config_parse(str(p))
        except botocore.exceptions.ConfigParseError:
            assume(False)
        token = data.draw(st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9/+=]{8,64}", fullmatch=True))) if key_id.startswith("AKIA") else "tok" + secret.replace("=", "")[:20] + "x" * 8
        region = data.draw(st.sampled_from(["us-east-1", "eu-west-1", "cn-north-1", None]))

        def profiles() -> dict[str, Any]:
            s = botocore.session.Session()
            s.set_config_variable("config_file", str(cfg))
            s.set_config_variable("credentials_file", str(creds))
            return s.full_config["profiles"]

        reference = profiles()
        m = CredentialsManager(config_file=str(cfg), credentials_file=str(creds), export_env=False, install_default=False)
        m.add_profile(name, key_id, secret, region=region, session_token=token, overwrite=True)
        after = profiles()
        got = after.pop(name)
        assert (got["aws_access_key_id"], got["aws_secret_access_key"]) == (key_id, secret.strip())
        assert got.get("aws_session_token") == (token.strip() if token else None) and "aws_security_token" not in got
        if region:
            assert got["region"] == region
        assert {k: v for k, v in after.items()} == {k: v for k, v in reference.items() if k != name}
        m.remove_profile(name)
        final = profiles()
        assert name not in final and final == {k: v for k, v in reference.items() if k != name}


# --------------------------------------------------------------------------- file pairs


SPECIAL_HEADER = st.sampled_from(
    ["default", "profile dev", "profile prod", "sso-session corp", "services local", "plugins", "preview", "profile a.b@c"]
)


@st.composite
def shared_files(draw: Any) -> str:
    """A whole shared file in one line-ending style: special sections and special shapes included."""
    eol = draw(EOL)
    shape = draw(st.sampled_from(["empty", "comments only", "sections", "sections", "sections"]))
    if shape == "empty":
        return ""
    lines = draw(st.lists(COMMENT, min_size=1 if shape == "comments only" else 0, max_size=3))
    if shape == "sections":
        for header in draw(st.lists(st.one_of(SPECIAL_HEADER, HEADER), max_size=5, unique=True)):
            lines.append(f"[{header}]")
            lines += draw(sections())
            lines += [""] * draw(st.integers(0, 1))
    text = eol.join(lines)
    return text + (eol if lines and draw(st.booleans()) else "")  # with or without a final newline


@settings(SETTINGS, max_examples=40)
@given(config=shared_files(), credentials=shared_files(), name=NAMES, key_id=KEY_IDS.filter(lambda k: k.startswith("AKIA")), secret=SECRETS)
def test_file_pairs_list_like_botocore_and_add_then_remove_restores_every_byte(
    config: str, credentials: str, name: str, key_id: str, secret: str
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        cfg, creds = Path(folder) / "config", Path(folder) / "credentials"
        cfg.write_bytes(config.encode())
        creds.write_bytes(credentials.encode())
        try:
            for p in (cfg, creds):
                botocore.configloader.raw_config_parse(str(p))
        except botocore.exceptions.ConfigParseError:
            assume(False)
        s = botocore.session.Session()
        s.set_config_variable("config_file", str(cfg))
        s.set_config_variable("credentials_file", str(creds))
        m = CredentialsManager(config_file=str(cfg), credentials_file=str(creds), export_env=False, install_default=False)
        # (a) the same profiles as botocore, whatever the file holds
        assert sorted(m.profiles) == sorted(s.available_profiles)
        assume(name not in m.profiles)
        before = (cfg.read_bytes(), creds.read_bytes())
        # (b) add then remove gives back every byte of both files; (c) neither raises
        m.add_profile(name, key_id, secret, region="eu-west-1", output="json")
        assert name in m.profiles
        m.remove_profile(name)
        assert (cfg.read_bytes(), creds.read_bytes()) == before
        assert sorted(os.listdir(folder)) == ["config", "credentials"]
