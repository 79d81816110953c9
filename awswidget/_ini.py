"""A line-level, round-trip editor for the shared AWS files (the line model is in :mod:`awswidget._iniscan`).

Edits touch only the lines of the keys and sections they change; every other
byte -- comments, blank lines, spacing, unknown keys, nested ``s3 =`` blocks,
line endings (CRLF stays CRLF), a missing final newline -- is kept. Lines are
classified the way :mod:`configparser` reads them (botocore's parser), so
"which lines belong to which section" agrees with what botocore sees. After
every edit the document is classified again and must read as intended (an
indented line can turn into a continuation of the line before it); the writer
also re-parses the result with botocore before it replaces a file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ._iniscan import (
    EditError,
    Line,
    check_entry,
    eol_of,
    has_eol,
    indent_of,
    nested_block_error_line,
    scan,
    split_lines,
)

__all__ = ["Change", "EditError", "IniDocument", "nested_block_error_line", "scan", "split_lines"]


@dataclass(frozen=True)
class Change:
    """One change made by :meth:`IniDocument.merge_duplicates` (1-based line numbers of the original)."""

    kind: str  # "section" | "key"
    header: str
    key: str | None
    lines: tuple[int, ...]  # every occurrence
    kept: int  # the occurrence that wins


class IniDocument:
    """An editable view of one INI file that keeps every untouched byte."""

    def __init__(self, text: str) -> None:
        self._lines = scan(text)
        crlf = text.count("\r\n")
        counts = {"\n": text.count("\n") - crlf, "\r": text.count("\r") - crlf, "\r\n": crlf}
        # New lines follow the file's own convention (the most common ending; LF when there is none).
        self.eol = max(counts, key=lambda eol: counts[eol]) if any(counts.values()) else "\n"
        #: header -> {key: value or None (removed)} written by set(); headers removed by remove()
        self.expected: dict[str, dict[str, str | None]] = {}
        self.removed: set[str] = set()

    def text(self) -> str:
        return "".join(line.text for line in self._lines)

    def headers(self) -> list[str]:
        return [line.header for line in self._lines if line.kind == "section" and line.header is not None]

    # ------------------------------------------------------------------ structure

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

    def _option_spans(self, start: int, end: int) -> list[tuple[str, int, int]]:
        """(key, first, last + 1) of every option of a section body, with its continuation lines."""
        spans = []
        for i in range(start + 1, end):
            if self._lines[i].kind == "option":
                last = j = i + 1
                while j < end and self._lines[j].kind in ("continuation", "blank", "comment"):
                    if self._lines[j].kind == "continuation":
                        last = j + 1
                    j += 1
                spans.append((self._lines[i].key or "", i, last))
        return spans

    def _option_span(self, start: int, end: int, key: str) -> tuple[int, int] | None:
        """The lines of ``key`` in a section: its option line and any continuation lines."""
        for name, i, j in self._option_spans(start, end):
            if name == key:
                return i, j
        return None

    def _next_significant(self, index: int) -> int | None:
        for j in range(index, len(self._lines)):
            if self._lines[j].kind not in ("blank", "comment"):
                return j
        return None

    def _insert_indent(self, start: int, end: int) -> str:
        """Indentation for a new key at the end of a section body that keeps every other line's meaning.

        After an option, configparser reads a deeper-indented line as its
        continuation, so a new key takes the indentation of the section's last
        option; in an empty section it must also be at least as deep as the
        next header, or that header would become the new key's continuation.
        """
        options = [i for i in range(start + 1, end) if self._lines[i].kind == "option"]
        if options:
            return indent_of(self._lines[options[-1]].text)
        indent = indent_of(self._lines[start].text)
        nxt = self._next_significant(end)
        if nxt is not None:
            indent = max(indent, indent_of(self._lines[nxt].text), key=len)
        return indent

    def _eol_before(self, index: int) -> str:
        # A "\r" followed by a line that starts with "\n" would read as one "\r\n".
        if self.eol == "\r" and index < len(self._lines) and self._lines[index].text.startswith("\n"):
            return "\r\n"
        return self.eol

    def _check_structure(self, before: list[Line]) -> None:
        """Classify the edited lines again: every line must read as we meant it to.

        Only the changed region is scanned again, widened to the section header
        before it and the first header after it: a header resets configparser's
        state, so lines beyond it read as they did. (Unchanged lines are the very
        same ``Line`` objects, so the region is found by identity.)
        """
        after = self._lines
        prefix = 0
        limit = min(len(before), len(after))
        while prefix < limit and before[prefix] is after[prefix]:
            prefix += 1
        suffix = 0
        while suffix < limit - prefix and before[-1 - suffix] is after[-1 - suffix]:
            suffix += 1
        # The window starts at an unchanged header (or the top of the file) ...
        start = max(prefix - 1, 0)
        while start > 0 and after[start].kind != "section":
            start -= 1
        # ... and ends with the first header after the change, whose own reading it verifies.
        end = len(after) - suffix
        while end < len(after) and after[end].kind != "section":
            end += 1
        window = after[start : end + 1]
        try:
            again = scan("".join(line.text for line in window))
        except EditError:
            raise EditError("the edit would make the file unreadable") from None

        def shape(lines: list[Line]) -> list[tuple[str, str | None, str | None]]:
            return [
                ("other", None, None) if line.kind in ("blank", "comment") else (line.kind, line.header, line.key)
                for line in lines
            ]

        if shape(again) != shape(window):
            raise EditError("the edit would change how other lines of the file read")

    # ------------------------------------------------------------------ edits

    def set(self, header: str, values: dict[str, str | None], match: Callable[[str], bool] | None = None) -> None:
        """Set (or, with ``None``, remove) keys of a section, creating it when needed.

        ``match`` finds the existing section (default: the exact ``header``);
        when several match, the last one -- the one botocore uses -- is edited.
        A replaced key keeps its line's indentation and line ending. Keys are
        written in lower case, as configparser reads every key.
        """
        values = {key.lower(): value for key, value in values.items()}
        for key, value in values.items():
            check_entry(header, key, value)
        before = list(self._lines)
        spans = self._sections(match or (lambda h: h == header))
        if not spans:
            new = {k: v for k, v in values.items() if v is not None}
            if new:
                self._append_section(header, new)
                self.expected[header] = dict(values)
                self._check_structure(before)
            return
        start, end = spans[-1]
        spans_by_key = {key: self._option_span(start, end, key) for key in values}
        new_keys = [(k, v) for k, v in values.items() if spans_by_key[k] is None and v is not None]
        edits: list[tuple[int, int, list[Line]]] = []
        if new_keys:
            indent = self._insert_indent(start, end)
            # At the very end of a file with no final newline, the new last line has none either.
            no_final_eol = end == len(self._lines) and not has_eol(self._lines[end - 1].text)
            self._ensure_eol(end - 1)
            inserts = [
                Line(f"{indent}{key} = {value}{self._eol_before(end)}", "option", key=key) for key, value in new_keys
            ]
            if no_final_eol:
                inserts[-1].text = inserts[-1].text.rstrip("\r\n")
            edits.append((end, end, inserts))
        for key, value in values.items():
            span = spans_by_key[key]
            if span is None:
                continue
            i, j = span
            last = self._lines[j - 1].text
            # The new line ends like the old one did (even with no newline at the end of a file).
            eol = eol_of(last) if has_eol(last) else ""
            indent = indent_of(self._lines[i].text)
            edits.append((i, j, [] if value is None else [Line(f"{indent}{key} = {value}{eol}", "option", key=key)]))
        # Removing the file's last line when it had no newline: the line before becomes the last, without one.
        final_eol = has_eol(self._lines[-1].text)
        for i, j, replacement in sorted(edits, key=lambda e: e[0], reverse=True):
            self._lines[i:j] = replacement
        if not final_eol and has_eol(self._lines[-1].text):
            self._lines[-1].text = self._lines[-1].text.rstrip("\r\n")
        self.expected[self._lines[start].header or header] = dict(values)
        self._check_structure(before)

    def remove(self, match: Callable[[str], bool]) -> int:
        """Remove every matching section (header, keys and inner comments); return how many."""
        spans = self._sections(match)
        before = list(self._lines)
        for start, end in reversed(spans):
            self.removed.add(self._lines[start].header or "")
            stop = end
            # Take the blank lines that separated the section from what follows,
            # so removals do not accumulate empty lines; keep comments.
            while stop < len(self._lines) and self._lines[stop].kind == "blank":
                stop += 1
            if stop < len(self._lines) and self._lines[stop].kind != "section":
                stop = end
            if stop == len(self._lines) and start > 0 and self._lines[start - 1].kind == "blank":
                # Removing the last section: take the one blank line before it, which is what
                # _append_section puts there, so adding then removing a profile is an exact no-op.
                start -= 1
            at_end_without_eol = stop == len(self._lines) and not has_eol(self._lines[-1].text)
            del self._lines[start:stop]
            if at_end_without_eol:
                # The file had no final newline: it still has none (and adding then removing is a no-op).
                # A blank line left last goes first: without its line break it would be a line of no bytes.
                while self._lines and self._lines[-1].text in ("\n", "\r\n", "\r"):
                    del self._lines[-1]
                if self._lines and has_eol(self._lines[-1].text):
                    self._lines[-1].text = self._lines[-1].text.rstrip("\r\n")
            self._unindent_orphan_header(start)
        if spans:
            self._check_structure(before)
        return len(spans)

    def _unindent_orphan_header(self, index: int) -> None:
        """After a removal, an indented header deeper than the option now before it would read as
        that option's continuation: take its indentation away (a header's indentation means nothing)."""
        nxt = self._next_significant(index)
        if nxt is None or self._lines[nxt].kind != "section":
            return
        for j in range(index - 1, -1, -1):
            kind = self._lines[j].kind
            if kind == "section":
                return
            if kind == "option":
                if len(indent_of(self._lines[nxt].text)) > len(indent_of(self._lines[j].text)):
                    self._lines[nxt].text = self._lines[nxt].text.lstrip()
                return

    def _ensure_eol(self, index: int) -> None:
        if 0 <= index < len(self._lines):
            line = self._lines[index]
            if not has_eol(line.text):
                line.text += self.eol

    def _append_section(self, header: str, values: dict[str, str]) -> None:
        eol = self.eol
        no_final_eol = bool(self._lines) and not has_eol(self._lines[-1].text)
        if self._lines:
            self._ensure_eol(len(self._lines) - 1)
            # Always exactly one separating blank line (remove() takes exactly one back); it ends
            # like the line before it, so "\r" + "\n" never merge into one line ending.
            self._lines.append(Line(eol_of(self._lines[-1].text), "blank"))
        self._lines.append(Line(f"[{header}]{eol}", "section", header=header))
        for key, value in values.items():
            self._lines.append(Line(f"{key} = {value}{eol}", "option", key=key))
        if no_final_eol:
            self._lines[-1].text = self._lines[-1].text.rstrip("\r\n")

    # ------------------------------------------------------------------ repair

    def merge_duplicates(self) -> list[Change]:
        """Merge repeated sections and keys the way a lenient INI reader reads them.

        A repeated section is merged into its last occurrence: header lines of
        the earlier ones go, and their keys that no later occurrence sets again
        move into the last one. A repeated key keeps its last occurrence. This
        is what ``configparser.RawConfigParser(strict=False)`` (and botocore on
        Python 2) made of such a file. Comment and blank lines stay where they are.
        """
        sections: dict[str, list[tuple[int, int]]] = {}
        for start, end in self._sections(lambda _h: True):
            sections.setdefault(self._lines[start].header or "", []).append((start, end))
        changes: list[Change] = []
        drop: set[int] = set()
        moves: dict[int, list[Line]] = {}  # insertion index -> moved lines
        for header, spans in sections.items():
            entries: dict[str, list[tuple[int, int, int]]] = {}  # key -> [(occurrence, first, stop)]
            for n, (start, end) in enumerate(spans):
                for key, i, j in self._option_spans(start, end):
                    entries.setdefault(key, []).append((n, i, j))
            if len(spans) > 1:
                changes.append(Change("section", header, None, tuple(s + 1 for s, _ in spans), spans[-1][0] + 1))
                drop.update(start for start, _ in spans[:-1])
            target_start, target_end = spans[-1]
            moved: list[Line] = []
            for key, found in entries.items():
                if len(found) > 1:
                    changes.append(Change("key", header, key, tuple(i + 1 for _, i, _ in found), found[-1][1] + 1))
                for _n, i, j in found[:-1]:
                    drop.update(k for k in range(i, j) if self._lines[k].kind in ("option", "continuation"))
                n, i, j = found[-1]
                if n != len(spans) - 1:
                    # The winning value sits in an earlier occurrence: carry it into the last one.
                    carried = [k for k in range(i, j) if self._lines[k].kind in ("option", "continuation")]
                    drop.update(carried)
                    moved.extend(Line(self._lines[k].text, self._lines[k].kind, key=key) for k in carried)
            if moved:
                indent = self._insert_indent(target_start, target_end)
                for line in moved:
                    if line.kind == "option":
                        line.text = indent + line.text.lstrip()
                    if not has_eol(line.text):
                        line.text += self.eol
                moves[target_end] = moved
        if not changes:
            return []
        lines: list[Line] = []
        for index, line in enumerate(self._lines):
            if index in moves:
                if lines:
                    self._ensure_eol_line(lines[-1])
                lines.extend(moves[index])
            if index not in drop:
                lines.append(line)
        if len(self._lines) in moves:
            if lines:
                self._ensure_eol_line(lines[-1])
            lines.extend(moves[len(self._lines)])
        before, self._lines = self._lines, lines
        self._check_structure(before)
        return sorted(changes, key=lambda c: c.lines[0])

    def _ensure_eol_line(self, line: Line) -> None:
        if not has_eol(line.text):
            line.text += self.eol
