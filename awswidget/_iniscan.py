"""How configparser (botocore's parser) reads the lines of a shared file, line by line.

The line model the round-trip editor (:mod:`awswidget._ini`) edits, and the
checks every edit must pass before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["OPTION_RE", "EditError", "Line", "check_entry", "eol_of", "has_eol", "indent_of", "nested_block_error_line", "scan", "split_lines"]

# configparser's SECTCRE and OPTCRE (default delimiters "=" and ":").
_SECTION_RE = re.compile(r"\[(?P<header>.+)\]")
OPTION_RE = re.compile(r"(?P<option>.*?)\s*(?P<vi>[=:])\s*(?P<value>.*)$")
# Universal newlines, as configparser reads a file: \r\n, \r or \n.
_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
# Keys awswidget writes; every AWS setting has this shape.
_KEY_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


class EditError(ValueError):
    """An edit that cannot be made safely, or a line that cannot be read; nothing has been written."""

    def __init__(self, reason: str, lineno: int | None = None) -> None:
        super().__init__(reason)
        self.lineno = lineno


@dataclass
class Line:
    text: str
    kind: str  # "blank" | "comment" | "section" | "option" | "continuation"
    header: str | None = None  # the section header for "section" lines
    key: str | None = None  # the option name (lower case) for option and continuation lines


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` with their endings, split as configparser reads them (universal newlines)."""
    return _LINE_RE.findall(text)


def indent_of(text: str) -> str:
    return text[: len(text) - len(text.lstrip())]


def has_eol(text: str) -> bool:
    return text.endswith(("\n", "\r"))


def _option_name(value: str) -> str | None:
    """The option name configparser's OPTCRE finds in a stripped line, or ``None``.

    ``(?P<option>.*?)\\s*(?P<vi>[=:])\\s*(?P<value>.*)$`` takes the text before the
    first delimiter, without its trailing whitespace; found here with ``str.find``
    (the regex costs more than the rest of a scan of a large file).
    """
    eq, colon = value.find("="), value.find(":")
    cut = eq if colon < 0 or 0 <= eq < colon else colon
    return value[:cut].rstrip() if cut >= 0 else None


def scan(text: str) -> list[Line]:
    """Classify lines exactly as ``configparser.RawConfigParser._read`` does.

    Duplicates are not checked here (the repair needs to see them); a line
    botocore could never read raises :class:`EditError` naming its number only.
    """
    lines: list[Line] = []
    append = lines.append
    in_section = False
    optname: str | None = None
    indent_level = 0
    for lineno, raw in enumerate(split_lines(text), start=1):
        value = raw.strip()
        if not value or value[0] in "#;":
            # Blank and comment lines neither end a value nor reset the indentation
            # (configparser's empty_lines_in_values=True).
            append(Line(raw, "comment" if value else "blank", key=optname))
            continue
        indent = len(raw) - len(raw.lstrip())
        if in_section and optname and indent > indent_level:
            append(Line(raw, "continuation", key=optname))
            continue
        indent_level = indent
        m = _SECTION_RE.match(value) if value[0] == "[" else None
        if m:
            in_section = True
            optname = None
            append(Line(raw, "section", header=m.group("header")))
            continue
        option = _option_name(value) if in_section else None
        if not option:
            raise EditError(f"line {lineno} is not 'key = value', a [section] or a comment", lineno)
        optname = option.lower()
        append(Line(raw, "option", key=optname))
    return lines


def nested_block_error_line(text: str) -> int | None:
    """The first line of a nested block (``s3 =`` then indented lines) that has no '='.

    botocore reads such a block as ``key = value`` pairs and rejects the file
    without saying where; this says where.
    """
    try:
        lines = scan(text)
    except EditError:
        return None
    nested = False
    for lineno, line in enumerate(lines, start=1):
        if line.kind == "option":
            m = OPTION_RE.match(line.text.strip())
            nested = m is not None and not m.group("value")
        elif line.kind == "section":
            nested = False
        elif line.kind == "continuation" and nested and "=" not in line.text:
            return lineno
    return None


def eol_of(text: str) -> str:
    if text.endswith("\r\n"):
        return "\r\n"
    if text.endswith("\r"):
        return "\r"
    return "\n"


def check_entry(header: str, key: str, value: str | None) -> None:
    # Refuse what would break the file's structure, before anything is written.
    if not header or any(c in header for c in "\r\n"):
        raise EditError("a section name cannot be empty or contain line breaks")
    if not _KEY_RE.fullmatch(key):
        raise EditError(f"'{key[:40]}' is not a valid key name")
    if value is not None:
        if any(c in value for c in "\r\n"):
            raise EditError(f"the value of '{key}' cannot contain line breaks")
        if value != value.strip():
            raise EditError(f"the value of '{key}' cannot start or end with spaces")

