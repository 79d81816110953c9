"""The line model (awswidget._iniscan) and the editor (awswidget._ini): what a mutation run (issue 22) showed
no other fast test pinned.

tests/test_ini_cases.py pins nearly every line of both already; the cases here are the ones a surviving
mutant changed. The survivors that change nothing a caller can see (an initial value that is always
overwritten before it is read, a guard that only skips a regex that would not match) are listed with
their reasons in the run notes, not tested.
"""

from __future__ import annotations

import configparser
import io
from collections.abc import Callable

import pytest

from awswidget._ini import IniDocument
from awswidget._iniscan import EditError, Line, scan


def _read(text: str) -> dict[str, dict[str, str]]:
    parser = configparser.RawConfigParser()
    parser.read_file(io.StringIO(text, newline=None))
    return {s: dict(parser.items(s)) for s in parser.sections()}


def test_lines_before_the_first_option_follow_no_option() -> None:
    # A file that opens with a comment (a tool's "managed by" banner) or a blank line: those lines
    # follow no option, so their key is None, as for the lines between a header and its first option.
    lines = scan("# managed by a tool\n\n[s]\n; about k\nk = v\n# after k\n")
    assert [(line.kind, line.key) for line in lines] == [
        ("comment", None),
        ("blank", None),
        ("section", None),
        ("comment", None),
        ("option", "k"),
        ("comment", "k"),
    ]


# ---------------------------------------------------------------- the editor: removing the last section


@pytest.mark.parametrize(
    ("text", "out"),
    [
        ("# banner\n[old]\nk = v", "# banner"),  # one line left: it loses its newline, as the file had none
        ("[a]\nk = v  \n[old]\nk = v", "[a]\nk = v  "),  # only the line ending goes, not the spaces before it
        ("[a]\nk = ABX\n[old]\nk = v", "[a]\nk = ABX"),  # nor the value's last characters
        ("[a]\r\nk = 1\r\n[old]\r\nk = v", "[a]\r\nk = 1"),
    ],
)
def test_removing_the_last_section_of_a_file_without_a_final_newline(text: str, out: str) -> None:
    doc = IniDocument(text)
    assert doc.remove(lambda header: header == "old") == 1
    assert doc.text() == out
    assert _read(out) == {s: v for s, v in _read(text).items() if s != "old"}


# ---------------------------------------------------------------- the editor: merging duplicates


def test_merge_into_an_empty_last_occurrence_followed_by_another_section() -> None:
    # The key sits in the first [default] only; the second is empty and [profile b] follows it: the
    # carried line goes into the second occurrence, before [profile b].
    text = "[default]\nregion = eu-west-1\n[default]\n[profile b]\nregion = x\n"
    doc = IniDocument(text)
    doc.merge_duplicates()
    assert doc.text() == "[default]\nregion = eu-west-1\n[profile b]\nregion = x\n"
    assert _read(doc.text()) == {"default": {"region": "eu-west-1"}, "profile b": {"region": "x"}}


# ---------------------------------------------------------------- the editor: an empty value at the end


@pytest.mark.parametrize(("header", "out"), [("n", "[s]\na = 1\n\n[n]\nk = "), ("s", "[s]\na = 1\nk = ")])
def test_an_empty_value_last_in_a_file_without_a_final_newline_is_written_as_key_equals_space(
    header: str, out: str
) -> None:
    # The same "k = " a file with a final newline gets ("k = \n"): only the line ending is left off,
    # in a new section as in an existing one.
    doc = IniDocument("[s]\na = 1")
    doc.set(header, {"k": ""})
    assert doc.text() == out
    assert _read(out)[header]["k"] == ""


@pytest.mark.parametrize("text", ["[s]\nk = v", "[s]\nk =\n  nested = 1"])
def test_removing_the_only_key_of_a_file_without_a_final_newline_leaves_the_header_without_one(text: str) -> None:
    doc = IniDocument(text)
    doc.set("s", {"k": None})
    assert doc.text() == "[s]"


# ---------------------------------------------------------------- the editor's self-check, against a faulty edit
# The self-check is the last guard against an edit that would change how the file reads (a bug of the editor
# itself: no correct edit triggers it), so these give it a faulty edit by hand, as test_ini_cases.py's
# self-check tests do through monkeypatch. It finds the changed lines by identity: every line that is not
# the very same Line object must be read again.

_JUNK = Line("junk\n", "comment")  # a line configparser cannot read, recorded as a harmless comment


def _faulty_edit(text: str, edit: Callable[[list[Line]], None]) -> IniDocument:
    doc = IniDocument(text)
    before = list(doc._lines)
    edit(doc._lines)
    doc._check_structure(before)
    return doc


@pytest.mark.parametrize(
    ("text", "edit"),
    [
        # the first line replaced, the rest kept (the region starts at line 0, not after it)
        ("[a]\nk = 1\n[a]\n\n[a]\n", lambda lines: lines.__setitem__(0, _JUNK)),
        ("[a]\n[b]\nk = 1\n", lambda lines: lines.__setitem__(0, _JUNK)),
        # a line put before the only line of the file
        ("[a]\n", lambda lines: lines.insert(0, _JUNK)),
        ("[a]\nk = 1\n", lambda lines: lines.insert(0, _JUNK)),
        # a key of the first section rewritten and a line appended at the end: both regions are read again
        ("[a]\nk = 1\n[b]\n", lambda lines: (lines.__setitem__(1, Line("k = 1\n", "option", key="k")), lines.append(_JUNK))),
        # a header near the top rewritten and one near the end replaced: every line between is read again
        (
            "[a]\n[b]\nk = 1\n[c]\n[d]\nk = 2\n",
            lambda lines: (lines.__setitem__(1, Line("[b]\n", "section", header="b")), lines.__setitem__(4, _JUNK)),
        ),
    ],
)
def test_the_self_check_reads_every_line_of_a_faulty_edit_again(
    text: str, edit: Callable[[list[Line]], None]
) -> None:
    with pytest.raises(EditError, match=r"^the edit would make the file unreadable$"):
        _faulty_edit(text, edit)


def test_the_self_check_passes_an_edit_that_reads_as_meant() -> None:
    doc = _faulty_edit("[a]\nk = 1\n", lambda lines: lines.insert(0, Line("# a note\n", "comment")))
    assert doc.text() == "# a note\n[a]\nk = 1\n"


def test_the_self_check_reads_on_past_blank_and_comment_lines_to_the_next_header(monkeypatch: pytest.MonkeyPatch) -> None:
    # A new key written shallower than the indented header after it makes that header its continuation
    # ([t] and its keys would vanish into [s]); blank and comment lines in between must not end the re-read.
    monkeypatch.setattr(IniDocument, "_insert_indent", lambda self, start, end: "")
    doc = IniDocument("[s]\n\n# c\n  [t]\nb = 1\n")
    with pytest.raises(EditError, match=r"^the edit would change how other lines of the file read$"):
        doc.set("s", {"a": "1"})
