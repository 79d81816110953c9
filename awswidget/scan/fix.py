"""Take secrets out of a notebook: drop the outputs, widget state and attachments that carry one.

Sources are the user's code: :func:`clean_notebook` leaves them alone unless asked to mask the secrets in
them (the save hook does, in the copy it writes). :func:`fix_notebook_file` rewrites a notebook file
atomically, serialised the way it was (nbformat's layout detected by a round trip), so that every other
cell and output keeps its bytes.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .detect import Finding, ScanError, mask_value
from .notebook import flatten, scan_notebook

__all__ = ["FixReport", "clean_notebook", "fix_notebook_file"]


@dataclass
class FixReport:
    """What a fix removed, and the findings in sources it left for a person (``needs_hand``)."""

    path: str | None = None
    removed_outputs: list[tuple[int, int]] = field(default_factory=list)  # (cell index, output index)
    removed_attachments: list[tuple[int, str]] = field(default_factory=list)  # (cell index, name)
    removed_widget_state: bool = False
    masked_in_sources: list[Finding] = field(default_factory=list)
    needs_hand: list[Finding] = field(default_factory=list)
    reformatted: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.removed_outputs or self.removed_attachments or self.removed_widget_state or self.masked_in_sources)

    def summary(self) -> str:
        """One line per change, and one per source that still holds a credential."""
        lines = []
        where = f"{self.path}: " if self.path else ""
        for cell, output in self.removed_outputs:
            lines.append(f"{where}cells[{cell}]: removed output {output}")
        for cell, name in self.removed_attachments:
            lines.append(f"{where}cells[{cell}]: removed attachment {name!r}")
        if self.removed_widget_state:
            lines.append(f"{where}removed the saved widget state (metadata.widgets)")
        for f in self.masked_in_sources:
            lines.append(f"{f.location()}: masked {f.kind.replace('_', ' ')} {f.masked} in the saved copy")
        for f in self.needs_hand:
            lines.append(f"{f.location()}: still holds {f.kind.replace('_', ' ')} {f.masked}: edit it by hand (use a profile)")
        if self.reformatted:
            lines.append(f"{where}its JSON layout was not nbformat's: rewritten in nbformat's layout")
        return "\n".join(lines)


def _mask_source(source: Any, findings: list[Finding]) -> Any:
    text = "".join(source) if isinstance(source, list) else source
    for f in sorted(findings, key=lambda f: f.span, reverse=True):
        start, end = f.span
        text = text[:start] + mask_value(f.kind, text[start:end]) + text[end:]
    return text.splitlines(keepends=True) if isinstance(source, list) else text


def clean_notebook(nb: dict[str, Any], findings: list[Finding] | None = None, mask_sources: bool = False) -> FixReport:
    """Remove, in place, what carries a leak in ``nb``; return what was done.

    Outputs, attachments and widget state that hold a credential are dropped; cell and notebook
    metadata that hold one, and sources unless ``mask_sources``, are left and listed in ``needs_hand``.
    """
    findings = [f for f in (scan_notebook(nb) if findings is None else findings) if f.leak]
    report = FixReport()
    cells = nb.get("cells") or []
    for index, cell in enumerate(cells):
        mine = [f for f in findings if f.cell == index]
        if not mine:
            continue
        bad_outputs = sorted({f.output for f in mine if f.where == "output" and f.output is not None}, reverse=True)
        for out in bad_outputs:
            del cell["outputs"][out]
            report.removed_outputs.append((index, out))
        if any(f.where == "attachment" for f in mine):
            report.removed_attachments += [(index, name) for name in _bad_attachments(cell)]
        in_source = [f for f in mine if f.where == "source"]
        if in_source and mask_sources:
            cell["source"] = _mask_source(cell.get("source", ""), in_source)
            report.masked_in_sources += in_source
        elif in_source:
            report.needs_hand += in_source
        in_meta = [f for f in mine if f.where == "metadata"]
        if in_meta and mask_sources:
            cell["metadata"] = _mask_json(cell["metadata"], in_meta)
            report.masked_in_sources += in_meta
        else:
            report.needs_hand += in_meta
    metadata = nb.get("metadata")
    if any(f.where == "widget state" for f in findings) and isinstance(metadata, dict):
        metadata.pop("widgets", None)
        report.removed_widget_state = True
    in_meta = [f for f in findings if f.cell is None and f.where == "metadata"]
    if in_meta and mask_sources and isinstance(metadata, dict):
        rest = _mask_json({k: v for k, v in metadata.items() if k != "widgets"}, in_meta)
        metadata.update(rest)
        report.masked_in_sources += in_meta
    else:
        report.needs_hand += in_meta
    report.removed_outputs.sort()
    return report


def _mask_json(value: Any, findings: list[Finding]) -> Any:
    """``value`` (metadata) with every credential the findings point at masked in its strings."""
    text = flatten(value)
    masks = {text[f.span[0] : f.span[1]]: mask_value(f.kind, text[f.span[0] : f.span[1]]) for f in findings}

    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: walk(sub) for k, sub in v.items()}
        if isinstance(v, list):
            return [walk(sub) for sub in v]
        if isinstance(v, str):
            for clear, masked in masks.items():
                v = v.replace(clear, masked)
        return v

    return walk(value)


def _bad_attachments(cell: dict[str, Any]) -> list[str]:
    from .notebook import _attachments, find_in_text

    bad = []
    for name in list(cell.get("attachments") or {}):
        if any(f.leak for text in _attachments({"attachments": {name: cell["attachments"][name]}}) for f in find_in_text(text)):
            del cell["attachments"][name]
            bad.append(name)
    if not cell.get("attachments"):
        cell.pop("attachments", None)
    return bad


def _layouts(text: str) -> list[dict[str, Any]]:
    """json.dumps settings that could have written ``text`` (nbformat's first)."""
    indent: Any = 1
    second = text.split("\n", 2)[1] if text.count("\n") >= 2 else ""
    if second.startswith(" "):
        indent = len(second) - len(second.lstrip(" "))
    elif second.startswith("\t"):
        indent = "\t"
    return [
        {"indent": indent, "sort_keys": sort, "ensure_ascii": ascii_, "separators": (",", ": ")}
        for sort in (True, False)
        for ascii_ in (False, True)
    ]


def _dump(nb: Any, text: str, original: Any) -> tuple[str, bool]:
    newline = "\n" if text.endswith("\n") else ""
    for layout in _layouts(text):
        if json.dumps(original, **layout) + newline == text:
            return json.dumps(nb, **layout) + newline, False
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n", True


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it (fsync, rename), keeping its mode."""
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fix_notebook_file(path: str | os.PathLike[str]) -> FixReport:
    """Remove outputs, attachments and widget state carrying a credential from a notebook file.

    The file is rewritten only if something was removed. Raises :class:`ScanError` when it cannot be read,
    is not a JSON notebook, or cannot be written (then it is unchanged).
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
        original = json.loads(text)
        nb = json.loads(text)
    except OSError as exc:
        raise ScanError(str(file), f"cannot read ({exc.strerror or type(exc).__name__})") from None
    except (ValueError, RecursionError):
        raise ScanError(str(file), "not a notebook (not valid UTF-8 JSON); not fixed") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ScanError(str(file), "not a notebook (no cells); not fixed")
    findings = scan_notebook(nb, str(file))
    report = clean_notebook(nb, findings)
    report.path = str(file)
    if report.changed:
        out, report.reformatted = _dump(nb, text, original)
        try:
            write_atomically(file, out)
        except OSError as exc:
            raise ScanError(str(file), f"cannot write ({exc.strerror or type(exc).__name__}); left unchanged") from None
    return report
