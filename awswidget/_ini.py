"""A line-level, round-trip editor for the shared AWS files.

Edits touch only the lines of the keys and sections they change; every other
byte -- comments, blank lines, spacing, unknown keys, nested ``s3 =`` blocks,
line endings (CRLF stays CRLF) -- is kept. Lines are classified the way
:mod:`configparser` reads them (botocore's parser), so "which lines belong to
which section" agrees with what botocore sees; the writer re-parses the result
with botocore before it replaces a file, so any disagreement is caught.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# configparser's SECTCRE and OPTCRE (default delimiters "=" and ":").
_SECTION_RE = re.compile(r"\[(?P<header>.+)\]")
_OPTION_RE = re.compile(r"(?P<option>.*?)\s*(?P<vi>[=:])\s*(?P<value>.*)$")
# Universal newlines, as configparser reads a file: \r\n, \r or \n.
_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


@dataclass
class _Line:
    text: str
    kind: str  # "blank" | "comment" | "section" | "option" | "continuation"
    header: str | None = None  # the section header for "section" lines
    key: str | None = None  # the option name (lower case) for option and continuation lines


def split_lines(text: str) -> list[str]:
    return _LINE_RE.findall(text)


def _scan(text: str) -> list[_Line]:
    lines: list[_Line] = []
    in_section = False
    optname: str | None = None
    indent_level = 0
    for raw in split_lines(text):
        value = raw.strip()
        if not value or value[0] in "#;":
            lines.append(_Line(raw, "blank" if not value else "comment", key=optname))
            continue
        indent = len(raw) - len(raw.lstrip())
        if in_section and optname and indent > indent_level:
            lines.append(_Line(raw, "continuation", key=optname))
            continue
        indent_level = indent
        m = _SECTION_RE.match(value)
        if m:
            in_section = True
            optname = None
            lines.append(_Line(raw, "section", header=m.group("header")))
            continue
        m = _OPTION_RE.match(value)
        if not in_section or not m or not m.group("option"):
            # botocore cannot parse this file; the writer refuses it before editing.
            raise ValueError("unparseable line")
        optname = m.group("option").rstrip().lower()
        lines.append(_Line(raw, "option", key=optname))
    return lines


def _eol_of(text: str) -> str:
    if text.endswith("\r\n"):
        return "\r\n"
    if text.endswith("\r"):
        return "\r"
    return "\n"


class IniDocument:
    """An editable view of one INI file that keeps every untouched byte."""

    def __init__(self, text: str) -> None:
        self._lines = _scan(text)
        endings = [_eol_of(line.text) for line in self._lines if line.text.endswith(("\n", "\r"))]
        # New lines follow the file's own convention (the most common ending).
        self.eol = max(set(endings), key=endings.count) if endings else "\n"
        #: header -> {key: value or None (removed)} written by set(); headers removed by remove()
        self.expected: dict[str, dict[str, str | None]] = {}
        self.removed: set[str] = set()

    def text(self) -> str:
        return "".join(line.text for line in self._lines)

    def headers(self) -> list[str]:
        return [line.header for line in self._lines if line.kind == "section" and line.header is not None]

    def _sections(self, match: Callable[[str], bool]) -> list[tuple[int, int]]:
        """(start, end) line ranges of the matching sections; end excludes trailing blanks and comments."""
        spans = []
        i = 0
        n = len(self._lines)
        while i < n:
            line = self._lines[i]
            if line.kind == "section" and line.header is not None and match(line.header):
                j = i + 1
                body_end = i + 1
                while j < n and self._lines[j].kind != "section":
                    if self._lines[j].kind in ("option", "continuation"):
                        body_end = j + 1
                    j += 1
                spans.append((i, body_end))
                i = j
            else:
                i += 1
        return spans

    def _option_span(self, start: int, end: int, key: str) -> tuple[int, int] | None:
        """The lines of ``key`` in a section: its option line and any continuation lines."""
        for i in range(start + 1, end):
            if self._lines[i].kind == "option" and self._lines[i].key == key:
                last = j = i + 1
                while j < end and self._lines[j].kind in ("continuation", "blank", "comment"):
                    if self._lines[j].kind == "continuation":
                        last = j + 1
                    j += 1
                return i, last
        return None

    def set(self, header: str, values: dict[str, str | None], match: Callable[[str], bool] | None = None) -> None:
        """Set (or, with ``None``, remove) keys of a section, creating it when needed.

        ``match`` finds the existing section (default: the exact ``header``);
        when several match, the last one -- the one botocore uses -- is edited.
        """
        spans = self._sections(match or (lambda h: h == header))
        if not spans:
            new = {k: v for k, v in values.items() if v is not None}
            if new:
                self._append_section(header, new)
                self.expected[header] = dict(values)
            return
        start, end = spans[-1]
        spans_by_key = {key: self._option_span(start, end, key) for key in values}
        inserts = [
            _Line(f"{key} = {value}{self.eol}", "option", key=key)
            for key, value in values.items()
            if spans_by_key[key] is None and value is not None
        ]
        edits: list[tuple[int, int, list[_Line]]] = []
        if inserts:
            self._ensure_eol(end - 1)
            edits.append((end, end, inserts))
        for key, value in values.items():
            span = spans_by_key[key]
            if span is None:
                continue
            i, j = span
            last = self._lines[j - 1].text
            # The new line ends like the old one did (even with no newline at the end of a file).
            eol = _eol_of(last) if last.endswith(("\n", "\r")) else ""
            edits.append((i, j, [] if value is None else [_Line(f"{key} = {value}{eol}", "option", key=key)]))
        for i, j, replacement in sorted(edits, key=lambda e: e[0], reverse=True):
            self._lines[i:j] = replacement
        self.expected[self._lines[start].header or header] = dict(values)

    def remove(self, match: Callable[[str], bool]) -> int:
        """Remove every matching section (header, keys and inner comments); return how many."""
        spans = self._sections(match)
        for start, end in reversed(spans):
            self.removed.add(self._lines[start].header or "")
            stop = end
            # Take the blank lines that separated the section from what follows,
            # so removals do not accumulate empty lines; keep comments.
            while stop < len(self._lines) and self._lines[stop].kind == "blank":
                stop += 1
            if stop < len(self._lines) and self._lines[stop].kind != "section":
                stop = end
            if start > 0 and stop == len(self._lines):
                # Removing the last section: drop the blank lines before it instead.
                while start > 0 and self._lines[start - 1].kind == "blank":
                    start -= 1
            del self._lines[start:stop]
        return len(spans)

    def _ensure_eol(self, index: int) -> None:
        if 0 <= index < len(self._lines):
            line = self._lines[index]
            if not line.text.endswith(("\n", "\r")):
                line.text += self.eol

    def _append_section(self, header: str, values: dict[str, str]) -> None:
        if self._lines:
            self._ensure_eol(len(self._lines) - 1)
            if self._lines[-1].kind != "blank":
                self._lines.append(_Line(self.eol, "blank"))
        self._lines.append(_Line(f"[{header}]{self.eol}", "section", header=header))
        for key, value in values.items():
            self._lines.append(_Line(f"{key} = {value}{self.eol}", "option", key=key))
