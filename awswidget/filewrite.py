"""Writing a shared file safely, even while another program rewrites it in place.

:func:`update_file` holds the folder's lock (:mod:`awswidget.filelocks`), reads
the file fresh, lets the caller edit a round-trip document, writes a temporary
file in the same folder (fsynced, re-parsed by botocore and checked against
the untouched sections), checks that nobody changed the target meanwhile
(identity and bytes), then :func:`os.replace`.

Other programs take no lock: ``aws configure set`` truncates the file, then
writes it again, in place. Three guards keep such a writer's data:

* **Before committing**, a file that looks mid-rewrite -- empty, unparseable,
  or changed in place since this process last saw that inode -- while it was
  modified in the last :data:`SETTLE` seconds is waited for until it has stayed
  unchanged that long, and read again (:mod:`awswidget.settle`). A write is
  never based on the empty instant of someone else's rewrite.
* **After the rename**, the replaced inode is checked through a descriptor
  kept open since the read: if another program wrote into it meanwhile (its
  write would otherwise vanish with the unlinked inode), its final content is
  read back and the edit applied again on top of it.
* **Shortly after**, the file is checked once more (:data:`GRACE`): a writer
  that read the old version before our rename and wrote it back after, in
  place, dropped our change; the edit is applied again on what it wrote.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import _fastini
from ._ini import EditError, IniDocument
from .errors import ConfigFileError, FileChangedError, WriteError
from .filelocks import locked
from .fileowner import FILE_MODE, TMP_MARK, ensure_folder, fsync_dir, owner_for_new, temp_files, temp_name
from .fileread import FileSnapshot, expand_path, read_bytes, remember_written, stat_key, stat_regular
from .settle import Version, changed_since, foreign_writer_seen, open_version, parse_data, settled_version

__all__ = ["TMP_MARK", "WriteResult", "refuse_read_only", "temp_files", "update_file", "write_atomic"]

log = logging.getLogger(__name__)

# Seconds after our rename during which an in-place writer that read the old version may still
# write it back; waited only for files another program has been seen rewriting in place.
GRACE = 0.05


def _sweep_temp_files(real_path: str) -> None:
    # Called under the folder's lock: no other writer of this file is running, so
    # any temporary file left is from a writer that died.
    for path in temp_files(real_path):
        with contextlib.suppress(OSError):
            os.unlink(path)
            log.info("Removed a temporary file left by an interrupted write: %s", os.path.basename(path))


@dataclass(frozen=True)
class WriteResult:
    """What :func:`update_file` did; ``old_data``/``new_data`` are the bytes replaced and written (for an undo)."""

    path: str
    changed: bool
    created: bool
    old_data: bytes = field(default=b"", repr=False, compare=False)
    new_data: bytes = field(default=b"", repr=False, compare=False)


def _check_result(doc: IniDocument, before: dict[str, Any], after: dict[str, Any]) -> str | None:
    """Why the re-parsed temp file is wrong, or None when it is exactly what we meant."""
    for header, values in before.items():
        if header in doc.removed:
            if header in after:
                return f"section [{header}] is still present"
            continue
        if header not in doc.expected and after.get(header) != values:
            return f"untouched section [{header}] changed"
    for header in after:
        if header not in before and header not in doc.expected:
            return f"unexpected section [{header}]"
    for header, values in doc.expected.items():
        got = after.get(header, {})
        for key, value in values.items():
            if got.get(key) != value:
                return f"key '{key}' of [{header}] did not read back"
        for key, value in before.get(header, {}).items():
            if key not in values and got.get(key) != value:
                return f"untouched key '{key}' of [{header}] changed"
    return None


def refuse_read_only(path: str, st: os.stat_result | None) -> None:
    """A file its owner made read-only (``chmod 400``) is never replaced, not even by root."""
    if st is None:
        return
    mode = stat.S_IMODE(st.st_mode)
    if not mode & stat.S_IWUSR or (os.geteuid() != 0 and not os.access(path, os.W_OK)):
        raise WriteError(
            path=path,
            reason=f"it is read-only (mode {mode:04o}), so awswidget does not replace it; "
            f"make it writable first (chmod u+w {path}) if it should change",
        )


def write_atomic(
    path: str,
    st: os.stat_result | None,
    data: bytes,
    new: bytes,
    check: Callable[[dict[str, Any]], str | None],
) -> dict[str, Any] | None:
    """Replace ``path`` (a resolved real path, its lock held) by ``new``, atomically.

    ``st`` and ``data`` are the version the change was computed from (``None``
    and ``b""`` for a file that did not exist). The temporary file in the same
    folder gets the old mode (0600 when created) and owner (a file root creates
    goes to the folder's owner), is fsynced, re-parsed by botocore and passed
    to ``check`` (which returns why it is wrong, or ``None``). Returns
    botocore's parse of what was written, or ``None``, writing nothing, when
    the target no longer is that version (another program changed it); raises
    :class:`~awswidget.errors.WriteError` for any other failure -- a read-only
    target included -- leaving the target untouched and no temporary file behind.
    """
    import botocore.configloader
    import botocore.exceptions

    refuse_read_only(path, st)
    folder = os.path.dirname(path)
    tmp = temp_name(path)
    mode = stat.S_IMODE(st.st_mode) if st is not None else FILE_MODE
    owner = owner_for_new(folder, st)
    problem: str | None = None
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except OSError as exc:
        raise WriteError(path=path, reason=f"cannot create a temporary file in {folder} ({exc.strerror})") from None
    try:
        try:
            with os.fdopen(fd, "wb") as f:
                os.fchmod(f.fileno(), mode)
                if owner is not None:
                    # root editing someone's file must not take it over
                    os.fchown(f.fileno(), *owner)
                f.write(new)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise WriteError(path=path, reason=exc.strerror or type(exc).__name__) from None
        try:
            try:  # the bytes on disk, read back and parsed as botocore parses them
                after = _fastini.parse(read_bytes(tmp), tmp)
            except _fastini.Unsupported:
                after = botocore.configloader.raw_config_parse(tmp)
        except botocore.exceptions.ConfigParseError:
            # Its message quotes the line, which may hold the secret being written: no chaining.
            problem = "the edited file would not parse (an awswidget bug)"
        else:
            wrong = check(after)
            if wrong:
                problem = f"self-check failed: {wrong} (an awswidget bug)"
        if problem is not None:
            raise WriteError(path=path, reason=problem)
        now = stat_regular(path)
        if (now is None) != (st is None):
            return None
        if now is not None and st is not None:
            # Timestamps can miss a same-size edit within one clock tick: compare the bytes too.
            if stat_key(now) != stat_key(st) or read_bytes(path) != data:
                return None
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise WriteError(path=path, reason=exc.strerror or type(exc).__name__) from None
        tmp = ""
        fsync_dir(folder)
        return after
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def update_file(
    path: str | os.PathLike[str],
    edit: Callable[[IniDocument, dict[str, Any]], None],
    *,
    lock_held: bool = False,
    max_attempts: int = 5,
    lock_timeout: float = 30.0,
    snapshot: FileSnapshot | None = None,
) -> WriteResult:
    """Apply ``edit`` to a shared file safely.

    ``edit(doc, sections)`` receives the round-trip document and botocore's
    parse of a fresh read, and edits the document in place (it may raise to
    refuse). It is called again on a fresh read when another program changed
    the file meanwhile, so it must be idempotent (set or remove). A file
    botocore cannot parse is never rewritten
    (:class:`~awswidget.errors.ConfigFileError`), nor a read-only one
    (:class:`~awswidget.errors.WriteError`). Created files get mode 0600 and a
    created folder 0700; existing files keep their mode and owner. A symlinked
    file is written through to its target, and the link is kept.

    ``snapshot`` is the caller's read of the file under the same lock: when the
    file is still exactly that version (identity and content), its parse is
    reused instead of parsing again.

    Raises
    ------
    ConfigFileError
        The file is not a regular file, cannot be read, or botocore cannot parse it.
    WriteError
        The lock, the temporary file or the replacement failed (disk full,
        read-only folder or file...); the file is unchanged.
    FileChangedError
        Another program changed the file on every one of ``max_attempts`` tries.
    """
    path = expand_path(path)
    real = os.path.realpath(path)
    if not lock_held:
        ensure_folder(os.path.dirname(real))  # a WriteError when a file stands where the folder should be
        stat_regular(real)  # refuse a directory or a FIFO before locking
        with locked([real], lock_timeout):
            return update_file(path, edit, lock_held=True, max_attempts=max_attempts, snapshot=snapshot)

    _sweep_temp_files(real)
    base = settled_version(real, path, snapshot)
    target: Version | None = None  # what the file must be at the rename, when it is not ``base``
    created = base.st is None
    changed = False
    old_data = base.data
    new = b""
    try:
        for _attempt in range(max_attempts):
            assert base.sections is not None
            try:
                doc = IniDocument(base.data.decode("utf-8"))
            except (UnicodeDecodeError, EditError):
                raise ConfigFileError(path, "awswidget cannot edit this file safely") from None
            try:
                edit(doc, base.sections)
            except EditError as exc:
                raise WriteError(path=path, reason=str(exc)) from None
            new = doc.text().encode("utf-8")
            expect = target or base
            if new == expect.data:
                break  # nothing to change, or the file already says what we meant
            after = write_atomic(real, expect.st, expect.data, new, functools.partial(_check_result, doc, base.sections))
            if after is None:
                # Another program (the AWS CLI takes no lock) changed it: start again from a fresh read.
                log.info("%s changed while being written; retrying on a fresh read", path)
                base, target = _swap(base, target, settled_version(real, path), None)
                continue
            old_data = base.data  # what the file held but for our change (for an undo)
            changed = True
            remember_written(path, real, after, new)
            written = open_version(real)
            lost = changed_since(base, real)
            if lost is not None:
                # Another program wrote into the inode we replaced: its write would vanish with it.
                log.info("another program wrote %s while we replaced it; applying the edit to its version", path)
                try:
                    lost.sections = parse_data(real, path, lost.data)
                except ConfigFileError:
                    # What it wrote cannot be read: there is nothing to merge; ours stays.
                    log.warning("another program wrote an unreadable version of %s during our write; kept ours", path)
                    lost.close()
                    written.close()
                    break
                base, target = _swap(base, target, lost, written)
                continue
            if written.data != new:
                base, target = _swap(base, target, settled_version(real, path), None)
                written.close()
                continue
            if foreign_writer_seen(real):
                # A file another program rewrites in place: one that read it before our rename may
                # write its old version back over ours a moment later.
                time.sleep(GRACE)
                if changed_since(written, real) is not None:
                    log.info("another program rewrote %s right after our write; applying the edit again", path)
                    base, target = _swap(base, target, settled_version(real, path), None)
                    written.close()
                    continue
            written.close()
            break
        else:
            raise FileChangedError(path=path, attempts=max_attempts)
    finally:
        base.close()
        if target is not None:
            target.close()
    return WriteResult(path, changed=changed, created=created and changed, old_data=old_data, new_data=new if changed else b"")


def _swap(base: Version, target: Version | None, new_base: Version, new_target: Version | None) -> tuple[Version, Version | None]:
    base.close()
    if target is not None and target is not new_target:
        target.close()
    return new_base, new_target
