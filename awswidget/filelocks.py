"""Cross-process locks of the shared files that leave nothing behind in ``~/.aws``.

One writer at a time: a writer holds the lock of the *folder* that holds the
file (the folder of a symlink's target), an exclusive ``flock`` (the primitive of
:func:`filelock.lock_descriptor`) on a read-only descriptor of the directory.

Why the folder and not a ``credentials.lock`` file beside the target: such a
file outlives every write, and one made by root (``sudo``, a provisioning
script editing a user's files) is root-owned with mode 0600, so the user's next
write cannot open it and fails until someone deletes it by hand. A folder
exists as long as its file, is the same inode for root and for its owner, needs
no write permission to lock, and the kernel drops the lock when the holder's
descriptor closes, even after SIGKILL: nothing is created, nothing goes stale,
nothing needs cleaning. The cost is that files in one folder share one lock,
which the shared files need anyway (a profile write spans both).

A file system that cannot ``flock`` a directory (NFS emulates flock with POSIX
locks, which need a writable descriptor) falls back to a lock file
``.awswidget.lock`` in the folder (:class:`filelock.FileLock`), which root
gives to the folder's owner so it cannot lock the owner out; there it stays.

Locks are reentrant per thread: a thread that already holds a folder's lock
does not wait for itself. Different threads exclude each other like processes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import time
from collections.abc import Iterator

from .errors import WriteError
from .fileowner import FILE_MODE, ensure_folder, owner_for_new
from .fileread import expand_path

try:
    import fcntl
except ImportError:  # not POSIX: the lock file below (filelock's own primitive for the platform)
    fcntl = None  # type: ignore[assignment]

__all__ = ["lock_folders", "locked"]

POLL = 0.005  # seconds between tries while another writer holds the lock
# flock on a directory descriptor is refused with one of these where a file system cannot do it.
_NO_DIR_FLOCK = {errno.EBADF, errno.EINVAL, errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EISDIR}

_held = threading.local()


def _held_folders() -> dict[str, int]:
    if not hasattr(_held, "folders"):
        _held.folders = {}
    return _held.folders  # type: ignore[no-any-return]


def lock_folders(paths: list[str]) -> list[str]:
    """The folders whose locks guard ``paths`` (each file's real folder), in locking order."""
    return sorted({os.path.dirname(os.path.realpath(expand_path(p))) for p in paths})


def _lock_nonblocking(fd: int) -> bool:
    """Take the exclusive lock of ``fd``'s file at once: ``True``, or ``False`` while another holds it.

    The primitive of :func:`filelock.lock_descriptor` on POSIX, called directly: importing
    filelock costs 10 ms, 4% of a fresh kernel's first switch (issue 17), so it is imported
    only for the lock-file fallback below, which is also what a system without ``fcntl`` gets.
    """
    if fcntl is None:
        raise OSError(errno.ENOSYS, "flock is not available here")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):  # held elsewhere (EWOULDBLOCK is EAGAIN here)
            return False
        raise
    return True


def _unlock(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)  # only ever called after _lock_nonblocking took the lock: fcntl exists


@contextlib.contextmanager
def _folder_lock(folder: str, timeout: float) -> Iterator[None]:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        raise WriteError(path=folder, reason=f"cannot open the folder to lock it ({exc.strerror or type(exc).__name__})") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                got = _lock_nonblocking(fd)
            except OSError as exc:
                if exc.errno not in _NO_DIR_FLOCK:
                    raise WriteError(path=folder, reason=f"cannot lock the folder ({exc.strerror or type(exc).__name__})") from None
                break
            if got:
                try:
                    yield
                finally:
                    _unlock(fd)
                return
            if time.monotonic() >= deadline:
                raise WriteError(path=folder, reason=f"another program holds the lock of this folder for over {timeout:g} s")
            time.sleep(POLL)
    finally:
        os.close(fd)
    # Only reached where the folder cannot be flocked: the lock file of the files inside.
    with _file_lock(folder, timeout):
        yield


@contextlib.contextmanager
def _file_lock(folder: str, timeout: float) -> Iterator[None]:
    from filelock import FileLock, Timeout

    lock_path = os.path.join(folder, ".awswidget.lock")
    lock = FileLock(lock_path, timeout=timeout, mode=FILE_MODE)
    problem = None
    try:
        lock.acquire()
    except Timeout:
        problem = f"another program holds its lock ({lock_path}) for over {timeout:g} s"
    except OSError as exc:
        problem = f"cannot create its lock file {lock_path} ({exc.strerror or type(exc).__name__})"
    if problem is not None:
        raise WriteError(path=folder, reason=problem)
    try:
        owner = owner_for_new(folder)
        if owner is not None:
            with contextlib.suppress(OSError):
                os.chown(lock_path, *owner)
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def locked(paths: list[str], timeout: float = 30.0) -> Iterator[None]:
    """Hold the cross-process locks of several files (always taken in the same order).

    Raises :class:`~awswidget.errors.WriteError` when a lock cannot be taken:
    held by another program for ``timeout`` seconds, or the folder cannot be
    created or opened.
    """
    held = _held_folders()
    with contextlib.ExitStack() as stack:
        for folder in lock_folders(paths):
            ensure_folder(folder)
            if held.get(folder):
                held[folder] += 1
            else:
                stack.enter_context(_folder_lock(folder, timeout))
                held[folder] = 1
            stack.callback(_release_count, held, folder)
        yield


def _release_count(held: dict[str, int], folder: str) -> None:
    held[folder] -= 1
    if not held[folder]:
        del held[folder]
