"""Who owns what awswidget creates, and with which mode.

Created files are 0600 and created folders 0700 whatever the umask. When root
edits someone else's ``~/.aws`` (``sudo`` in a notebook, a provisioning
script), whatever it creates -- the folder, a new file, a temporary file that
becomes the file -- is given to the owner of the folder it is created in, so
the user is never locked out of their own files.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid

from .errors import WriteError

__all__ = [
    "DIR_MODE", "FILE_MODE", "TMP_MARK", "ensure_folder", "fsync_dir", "owner_for_new", "sweep_temp_files", "temp_files", "temp_name",
]

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700
TMP_MARK = ".awswidget-tmp"


def temp_name(real_path: str) -> str:
    """A fresh name for a temporary file beside ``real_path`` (``.<name>.<random>.awswidget-tmp``)."""
    folder, base = os.path.split(real_path)
    return os.path.join(folder, f".{base}.{uuid.uuid4().hex[:12]}{TMP_MARK}")


def temp_files(real_path: str) -> list[str]:
    """Temporary files of interrupted writes of ``real_path`` (full paths)."""
    folder, base = os.path.split(real_path)
    prefix = f".{base}."
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [os.path.join(folder, n) for n in names if n.startswith(prefix) and n.endswith(TMP_MARK)]


def sweep_temp_files(real_path: str) -> None:
    """Remove the temporary files of interrupted writes of ``real_path``.

    Called under the folder's lock: no other writer of this file is running, so any
    temporary file left is from a writer that died.
    """
    for path in temp_files(real_path):
        with contextlib.suppress(OSError):
            os.unlink(path)
            log.info("Removed a temporary file left by an interrupted write: %s", os.path.basename(path))


def owner_for_new(folder: str, existing: os.stat_result | None = None) -> tuple[int, int] | None:
    """The (uid, gid) a file created in ``folder`` must get, or ``None`` to keep the creator's.

    Only root creates files for others: an existing file's owner is kept, a new
    file goes to the folder's owner.
    """
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    if existing is not None:
        owner = (existing.st_uid, existing.st_gid)
    else:
        try:
            st = os.stat(folder)
        except OSError:
            return None
        owner = (st.st_uid, st.st_gid)
    return None if owner[0] == 0 else owner


def ensure_folder(folder: str) -> None:
    """Create ``folder`` (and missing parents) with mode 0700, owned like its parent when root creates it."""
    if os.path.isdir(folder):
        return
    parent = os.path.dirname(folder)
    if parent and parent != folder:
        ensure_folder(parent)
    problem = None
    try:
        os.mkdir(folder, DIR_MODE)
        os.chmod(folder, DIR_MODE)  # mkdir's mode is filtered by the umask
        owner = owner_for_new(parent or ".")
        if owner is not None:
            # root making ~user/.aws: a root-owned 0700 folder would shut the user out of it
            os.chown(folder, *owner)
    except FileExistsError:
        if not os.path.isdir(folder):
            problem = "a file is where this folder should be"
    except OSError as exc:
        problem = f"cannot create the folder ({exc.strerror or type(exc).__name__})"
    if problem is not None:
        raise WriteError(path=folder, reason=problem)


def fsync_dir(folder: str) -> None:
    """Make a rename in ``folder`` durable (best effort: some file systems refuse a directory fsync)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
