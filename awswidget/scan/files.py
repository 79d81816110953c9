"""Scan files and folders: notebooks as notebooks, anything else that is text as text."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .detect import Finding, ScanError, find_in_text
from .notebook import _KEY_ID_BYTES_RE, _RAW_TRIGGERS, scan_notebook_bytes

__all__ = ["ScanResult", "iter_files", "scan_file", "scan_paths"]

SKIPPED_DIRS = frozenset({".git", ".ipynb_checkpoints", ".hg", ".svn", "__pycache__"})
_BINARY_SNIFF = 8192


@dataclass
class ScanResult:
    """What a scan of paths found: ``findings`` in file order, ``errors`` (a file that could not be read,
    said in one line without its content) and how many ``files`` were read."""

    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    files: int = 0

    @property
    def leaks(self) -> list[Finding]:
        return [f for f in self.findings if f.leak]


def iter_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Each file under ``paths`` (recursing into folders, skipping .git and .ipynb_checkpoints), sorted."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
                for name in sorted(files):
                    yield Path(root) / name
        else:
            yield path


def _scan_text_bytes(data: bytes, path: str) -> list[Finding]:
    if not _KEY_ID_BYTES_RE.search(data) and not any(t in data for t in _RAW_TRIGGERS[:8]):
        return []
    text = data.decode("utf-8", errors="replace")
    return [dataclasses.replace(f, path=path) for f in find_in_text(text)]


def scan_file(path: str | os.PathLike[str]) -> list[Finding]:
    """Findings of one file; binary files (a NUL byte near the start) have none.

    Raises :class:`ScanError` when the file cannot be read.
    """
    name = str(path)
    notebook = name.endswith(".ipynb")
    try:
        with open(path, "rb") as handle:
            head = handle.read(_BINARY_SNIFF)
            if b"\x00" in head and not notebook:
                return []  # binary: a parquet file or an image is not read through
            data = head + handle.read()
    except OSError as exc:
        raise ScanError(name, f"cannot read ({exc.strerror or type(exc).__name__})") from None
    if notebook:
        try:
            return scan_notebook_bytes(data, name)
        except (ValueError, RecursionError):
            pass  # not JSON (a conflict marker, a half-written file): its text can still hold a key
        if b"\x00" in head:
            return []
    return _scan_text_bytes(data, name)


def scan_paths(paths: Iterable[str | os.PathLike[str]]) -> ScanResult:
    """Scan files and folders; a file that cannot be read is an error of the result, not an exception."""
    result = ScanResult()
    for path in iter_files(paths):
        try:
            result.findings += scan_file(path)
        except ScanError as exc:
            result.errors.append(str(exc))
            continue
        result.files += 1
    return result
