"""Repair of the common breakages of a shared file, as an explicit user action.

botocore rejects a whole file for one of these, so every profile in it vanishes:

* a UTF-8 byte-order mark at the start (left by a Windows editor);
* a section that appears twice, or a key that appears twice in a section
  (left by another tool's torn or repeated write, or by hand editing).

The rule: **the last occurrence wins**, and nothing else is lost. A repeated
key keeps its last value (the other lines with that key go); a repeated
section is merged into its last occurrence (the earlier headers go, and the
keys only an earlier occurrence had move into the last one). That is exactly
how a lenient INI reader -- ``configparser.RawConfigParser(strict=False)``,
and botocore itself on Python 2 -- read such a file, and the most likely
intent of a tool that appended a profile or a key again: the later text was
written to count. Comments and blank lines stay where they are.

Nothing here runs by itself. :func:`plan_repair` only reads: it says what it
would change (sentences and a unified diff with key values masked);
:func:`apply_repair` then saves a backup next to the file (mode 0600) and
writes the repaired text through the same locked, atomic writer as every
other edit, after checking that the file is still the one planned for.
"""

from __future__ import annotations

import configparser
import contextlib
import difflib
import hashlib
import io
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._ini import Change, EditError, IniDocument, scan
from .errors import ConfigFileError, WriteError
from .filelocks import locked
from .fileowner import FILE_MODE, fsync_dir, owner_for_new
from .fileread import expand_path, read_bytes, read_file, remember_written, shown_name, stat_regular
from .filewrite import write_atomic
from .validate import mask

__all__ = ["RepairPlan", "apply_repair", "plan_repair"]

_BOM = "\ufeff"
BACKUP_MARK = ".awswidget-backup-"
# Keys whose values are shown masked in a diff.
_SECRET_KEY_RE = re.compile(r"secret|token|password|passwd|key|credential_process", re.IGNORECASE)
# Anything shaped like a key, a secret or a token, wherever it stands (comments included).
_SECRET_RUN_RE = re.compile(r"[A-Za-z0-9/+=]{20,}")
_COMMENTED_OPTION_RE = re.compile(r"^(\s*[#;]\s*)([^=:\s]+)(\s*[=:]\s*)(.*?)(\s*)$")


@dataclass(frozen=True)
class RepairPlan:
    """What :func:`apply_repair` will change in one file. Holds no printable secret.

    ``description`` lists one sentence per change; ``diff`` is a unified diff
    of the whole change with the values of secret keys (and anything shaped
    like a key) masked. The repaired text itself is kept out of ``repr``.
    """

    path: str
    description: tuple[str, ...]
    diff: str = field(repr=False)
    original_digest: str = field(repr=False)
    new_data: bytes = field(repr=False)
    expected: dict[str, dict[str, Any]] = field(repr=False)

    def __str__(self) -> str:
        return f"Repair of {self.path}:\n" + "\n".join(f"- {line}" for line in self.description)


def _lenient_view(text: str, strict: bool) -> dict[str, dict[str, Any]] | None:
    """The file as botocore would see it, read by configparser strict or not (``None``: unreadable)."""
    from ._botocore import parse_nested  # botocore's own reading of nested blocks

    parser = configparser.RawConfigParser(strict=strict)
    try:
        # newline=None: universal newlines, as when botocore opens the file.
        parser.read_file(io.StringIO(text, newline=None))
        view: dict[str, dict[str, Any]] = {}
        for section in parser.sections():
            view[section] = {}
            for option in parser.options(section):
                value = parser.get(section, option)
                view[section][option] = parse_nested(value) if value.startswith("\n") else value
    except (configparser.Error, ValueError):
        return None
    return view


def _describe(change: Change) -> str:
    lines = ", ".join(str(n) for n in change.lines)
    section = shown_name(change.header)
    where = f"[{section}]" if section else "a section"
    if change.kind == "section":
        return (
            f"Section {where} appears {len(change.lines)} times (lines {lines}): merge them into the last one "
            f"(line {change.kept}); where several set a key, the last value wins."
        )
    key = shown_name(change.key or "")
    what = f"Key '{key}'" if key else "A key"
    return (
        f"{what} of {where} is set {len(change.lines)} times (lines {lines}): keep the last one "
        f"(line {change.kept}) and remove the others."
    )


def _masked_lines(text: str, bom: bool) -> list[str]:
    """The lines of ``text`` for display: values of secret keys and anything key-shaped masked."""
    try:
        lines = scan(text)
    except EditError:
        return []
    shown = []
    secret_key = None
    for line in lines:
        body = line.text.rstrip("\r\n")
        if line.kind == "option":
            secret_key = line.key if line.key and _SECRET_KEY_RE.search(line.key) else None
            if secret_key:
                name, sep, value = re.split(r"(\s*[=:]\s*)", body, maxsplit=1)
                body = f"{name}{sep}{mask(value)}"
        elif line.kind == "continuation" and secret_key:
            body = _indent_of(body) + mask(body.strip())
        elif line.kind == "comment":
            m = _COMMENTED_OPTION_RE.match(body)
            if m and _SECRET_KEY_RE.search(m.group(2)):
                body = m.group(1) + m.group(2) + m.group(3) + mask(m.group(4))
        if line.kind == "section":
            secret_key = None
        shown.append(_SECRET_RUN_RE.sub(lambda m: mask(m.group(0)), body))
    if bom and shown:
        shown[0] = "<U+FEFF byte-order mark>" + shown[0]
    return shown


def _indent_of(text: str) -> str:
    return text[: len(text) - len(text.lstrip())]


def plan_repair(path: str | os.PathLike[str]) -> RepairPlan | None:
    """Work out how to repair ``path``; only reads it.

    Returns ``None`` when there is nothing awswidget can repair: the file is
    missing, botocore reads it already, or it is broken in another way (no
    section header, binary garbage...) -- its ``ConfigFileError`` says where.
    """
    path = expand_path(path)
    snapshot = read_file(path)
    if not snapshot.exists or snapshot.error is None:
        return None
    try:
        if stat_regular(path) is None:
            return None
        data = read_bytes(path)
        text = data.decode("utf-8")
    except (ConfigFileError, UnicodeDecodeError):
        return None
    description = []
    bom = text.startswith(_BOM)
    if bom:
        text = text[len(_BOM) :]
        description.append(
            "Remove the UTF-8 byte-order mark at the start of the file (left by a Windows editor); "
            "botocore rejects every profile while it is there."
        )
    try:
        doc = IniDocument(text)
        changes = doc.merge_duplicates()
    except EditError:
        return None
    description.extend(_describe(change) for change in changes)
    if not description:
        return None
    new_text = doc.text()
    expected = _lenient_view(new_text, strict=True)
    # The repaired file must read (strictly, as botocore reads) exactly as a lenient reader read the original.
    if expected is None or expected != _lenient_view(text, strict=False):
        return None
    diff = "".join(
        line + "\n"
        for line in difflib.unified_diff(
            _masked_lines(text, bom), _masked_lines(new_text, False), f"{path} (now)", f"{path} (repaired)", lineterm=""
        )
    )
    return RepairPlan(
        path=path,
        description=tuple(description),
        diff=diff,
        original_digest=hashlib.sha256(data).hexdigest(),
        new_data=new_text.encode("utf-8"),
        expected=expected,
    )


def _write_backup(path: str, data: bytes, st: os.stat_result, clock: Callable[[], float]) -> str:
    """Save ``data`` next to ``path`` as ``<name>.awswidget-backup-<time>`` with mode 0600."""
    folder, base = os.path.split(path)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(clock()))
    for n in range(100):
        backup = os.path.join(folder, f"{base}{BACKUP_MARK}{stamp}" + (f"-{n}" if n else ""))
        try:
            fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            continue
        except OSError as exc:
            raise WriteError(path=path, reason=f"cannot save a backup in {folder} ({exc.strerror})") from None
        break
    else:
        raise WriteError(path=path, reason=f"too many backups named {base}{BACKUP_MARK}{stamp}")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), FILE_MODE)  # 0600 whatever the original's mode: it holds keys
            owner = owner_for_new(folder, st)
            if owner is not None:
                os.fchown(f.fileno(), *owner)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(backup)
        raise WriteError(path=path, reason=f"cannot save a backup ({exc.strerror or type(exc).__name__})") from None
    fsync_dir(folder)
    return backup


def _check_repaired(expected: dict[str, dict[str, Any]]) -> Callable[[dict[str, Any]], str | None]:
    def check(after: dict[str, Any]) -> str | None:
        return None if after == expected else "the repaired file does not read as planned"

    return check


def apply_repair(plan: RepairPlan, *, clock: Callable[[], float] = time.time) -> str:
    """Apply ``plan``: save a backup next to the file, then write the repaired text safely.

    The file must still be exactly the one the plan was made from. The write
    takes the file's lock, goes through a temporary file that botocore must
    read as planned, and ends with an atomic rename; a symlinked file is
    repaired at its target, the link kept. Returns the backup's path.

    Raises
    ------
    WriteError
        The file changed since the plan was made, or the backup or the write
        failed; the file is unchanged.
    """
    real = os.path.realpath(plan.path)
    with locked([real]):
        st = stat_regular(real)
        data = read_bytes(real) if st is not None else b""
        if st is None or hashlib.sha256(data).hexdigest() != plan.original_digest:
            raise WriteError(path=plan.path, reason="it changed since the repair was planned; plan the repair again")
        backup = _write_backup(plan.path, data, st, clock)
        after = write_atomic(real, st, data, plan.new_data, _check_repaired(plan.expected))
        if after is None:
            raise WriteError(
                path=plan.path, reason=f"another program changed it during the repair (the backup is kept: {backup})"
            )
        remember_written(plan.path, real, after, plan.new_data)
    return backup
