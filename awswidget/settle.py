"""Telling a finished file from one another program is rewriting in place, and waiting for it.

``aws configure set`` (and editors that save in place) truncate a file, then
write it again. A writer that reads between the two sees an empty or partial
file; renaming its edit of that over the file loses everything else, and the
other program's write goes to the unlinked inode. A version is **suspect** when
it is empty (and not a version this process wrote itself), when it does not
parse, when it is smaller than the last version this process saw holding
content and stops in the middle of a line, or when this process knew that very
inode with other content (it was rewritten in place). A suspect version modified less than
:data:`SETTLE` seconds ago (:data:`SETTLE_EMPTY` for an empty file that held
content) is waited for until it has stayed unchanged that long -- by its mtime, or as observed here when clocks disagree -- and read
again. A file replaced by rename (a new inode) is complete by construction and
is not waited for.

Those heuristics cannot see a rewrite whose first part parses and ends its
last line (Python's text writer hands the OS ~8 KB chunks that end at a
newline). Where the kernel can tell, it is asked instead: a version whose file
another process holds open for writing is not finished, and is waited for
until the writer closes it (:func:`writer_open`, a Linux read lease).

Every read keeps a descriptor on the inode it read, so the writer can tell
afterwards whether someone wrote into the inode it replaced
(:func:`changed_since`).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import stat
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigFileError, FileChangedError
from .fileowner import FILE_MODE, temp_name
from .fileread import (
    Changed,
    FileSnapshot,
    botocore_parse,
    cached_snapshot,
    history,
    remember_read,
    same_version,
    stat_key,
    stat_regular,
)

__all__ = [
    "SETTLE",
    "Version",
    "changed_since",
    "foreign_writer_seen",
    "open_version",
    "parse_data",
    "settled_version",
    "writer_open",
]

log = logging.getLogger(__name__)

SETTLE = 0.2  # seconds a suspect file must stay unchanged before it is trusted
# An empty file that held content when this process last read it: the damage of trusting it is total.
SETTLE_EMPTY = 1.0
SETTLE_MAX = 10.0  # a file still suspect after this long is reported, not written
FOREIGN_MEMORY = 600.0  # seconds an in-place writer seen on a file is remembered
_POLL = 0.01

#: How many times this process waited for a file to settle (read by tests and benchmarks).
waits = 0
_foreign: dict[str, float] = {}
_foreign_lock = threading.Lock()
_stuck: set[tuple[int, int]] = set()  # inodes a writer held open past a whole wait (set ops are atomic)


def _mark_foreign(real: str) -> None:
    with _foreign_lock:
        _foreign[real] = time.monotonic()


def foreign_writer_seen(real: str) -> bool:
    """Whether another program was seen rewriting ``real`` in place in the last :data:`FOREIGN_MEMORY` seconds."""
    with _foreign_lock:
        seen = _foreign.get(real)
    return seen is not None and time.monotonic() - seen < FOREIGN_MEMORY


@dataclass
class Version:
    """One version of a file as read: its stat, its bytes, a descriptor on its inode, botocore's parse."""

    st: os.stat_result | None
    data: bytes = field(repr=False)
    fd: int | None = None
    sections: dict[str, dict[str, Any]] | None = field(default=None, repr=False)

    def close(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None


def writer_open(fd: int) -> bool | None:
    """Whether any process holds the file of ``fd`` (opened read-only) open for writing; ``None`` when unknown.

    Asked of the kernel with a read lease, which Linux refuses (EAGAIN) exactly
    while the file is open for writing -- as the AWS CLI holds it from its
    truncating ``open(path, "w")`` until its ``close``. The lease is released at
    once. Elsewhere (no ``F_SETLEASE``, a file we neither own nor have
    ``CAP_LEASE`` for, NFS...) the answer is ``None`` and the heuristics decide.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX
        return None
    setlease, setsig = getattr(fcntl, "F_SETLEASE", None), getattr(fcntl, "F_SETSIG", None)
    if setlease is None or setsig is None:
        return None
    try:
        # Whoever opens the file for writing while we hold the lease makes the kernel signal us: SIGIO
        # by default, which kills the process (the user's kernel). SIGURG is ignored by default.
        fcntl.fcntl(fd, setsig, signal.SIGURG)
        fcntl.fcntl(fd, setlease, fcntl.F_RDLCK)
    except OSError as exc:
        return True if exc.errno == errno.EAGAIN else None
    try:
        return False
    finally:
        # Held for microseconds: an opener for writing is blocked only until this release.
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, setlease, fcntl.F_UNLCK)


def _writers_gone(fd: int, real: str, deadline: float) -> bool:
    """Poll until no process holds ``fd``'s file open for writing: ``False`` when one still does at ``deadline``.

    An inode a writer kept open past a whole wait is not waited for again while
    it stays open (a program that keeps the file open for good would hold up every write).
    """
    try:
        st = os.fstat(fd)
    except OSError:
        return True
    inode = (st.st_dev, st.st_ino)
    while writer_open(fd):
        if inode in _stuck or time.monotonic() >= deadline:
            if inode not in _stuck:
                log.warning("another program has held %s open for writing for %.0f s; going by its content", real, SETTLE_MAX)
            _stuck.add(inode)
            return False
        _mark_foreign(real)
        _wait(_POLL)
    _stuck.discard(inode)
    return True


_ONE_READ_MAX = 0x7FFFF000  # Linux returns at most this much from one read


def _read_fd(fd: int, size: int) -> bytes:
    """The whole file from offset 0: one read of ``size`` (its fstat size) and one byte more, then on
    while it keeps growing. One call, one copy: the join of chunks was a second pass over the file (issue 17)."""
    data = os.pread(fd, size + 1, 0)
    if len(data) <= size and len(data) < _ONE_READ_MAX:  # short: the end of a regular file
        return data
    chunks = [data]
    offset = len(data)
    while chunk := os.pread(fd, 1 << 20, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def open_version(real: str) -> Version:
    """Read the file at ``real`` now (``st=None`` when missing); raises ConfigFileError when it cannot."""
    for _ in range(20):
        if stat_regular(real) is None:  # refuses a FIFO before opening it
            return Version(None, b"")
        try:
            fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK)
        except FileNotFoundError:
            continue
        except OSError as exc:
            reason = "permission denied; botocore would ignore it" if isinstance(exc, PermissionError) else exc.strerror
            raise ConfigFileError(real, f"cannot be read ({reason or type(exc).__name__})") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                continue
            data = _read_fd(fd, st.st_size)
            again = os.fstat(fd)
            with contextlib.suppress(OSError):
                if stat_key(again) == stat_key(st) and os.path.samestat(os.stat(real), st):
                    version, fd = Version(st, data, fd), -1
                    return version
        except OSError as exc:
            raise ConfigFileError(real, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
        finally:
            if fd >= 0:
                os.close(fd)
    raise FileChangedError(path=real, attempts=20)


def _ours(version: Version, path: str, written: tuple[int, ...] | None) -> bool:
    """Whether ``version`` is exactly what this process wrote last: its identity *and* its bytes.

    The identity alone is not proof. It is taken by a ``stat`` after the rename,
    and an in-place writer that read the file before our rename may truncate our
    new inode in between (``aws configure set`` does): the identity remembered is
    then that of its empty or half-written file, which must not pass for ours.
    """
    st = version.st
    if st is None or stat_key(st) != written:
        return False
    known = cached_snapshot(path)
    return known is not None and known.key == written and same_version(known, st, version.data)


def _suspect(version: Version, held: FileSnapshot | None, ours: bool) -> bool:
    st = version.st
    if st is None or ours:
        return False  # missing, or exactly what this process wrote last
    if not version.data:
        return True  # the instant between another program's truncation and its write
    if held is None or held.key is None or held.data is None:
        return False
    if len(version.data) < len(held.data) and not version.data.endswith((b"\n", b"\r")):
        # Shrank and stops mid-line: the first part of someone's rewrite (a finished file ends its
        # lines; a removal by a writer that renames, awswidget's own included, is not waited for).
        return True
    # The inode this process saw holding other content: rewritten in place since, maybe not finished.
    return held.key[:2] == (st.st_dev, st.st_ino) and held.data != version.data


def _finished(version: Version) -> bool:
    """No process holds the file open for writing (or nobody can tell), and it is still the version read."""
    assert version.fd is not None and version.st is not None
    held = writer_open(version.fd)
    if held is not False:
        return held is None
    try:
        return stat_key(os.fstat(version.fd)) == stat_key(version.st)
    except OSError:
        return True


def _wait(seconds: float) -> None:
    global waits
    waits += 1
    log.debug("waiting %.3f s for a file another program may be rewriting", seconds)
    time.sleep(seconds)


def _quiet_for(st: os.stat_result, first_seen: float) -> float:
    """How long this version has gone unchanged: by its mtime, or by our own watch when clocks disagree."""
    by_mtime = (time.time_ns() - st.st_mtime_ns) / 1e9
    return max(by_mtime, time.monotonic() - first_seen)


def settled_version(real: str, path: str, snapshot: FileSnapshot | None = None) -> Version:
    """The file's current version with botocore's parse, once it does not look mid-rewrite.

    ``snapshot`` is a parse the caller already holds: reused when it is that
    very version. Raises ConfigFileError for a file botocore cannot parse that
    has stopped changing, FileChangedError for one that never stops.
    """
    held, written = history(path)
    deadline = time.monotonic() + SETTLE_MAX
    writers_patient = True
    first_seen: dict[tuple[int, ...], float] = {}
    while True:
        version = open_version(real)
        if version.st is None:
            version.sections = {}
            return version
        key = stat_key(version.st)
        quiet = _quiet_for(version.st, first_seen.setdefault(key, time.monotonic()))
        patient = quiet < SETTLE and time.monotonic() < deadline
        if _suspect(version, held, _ours(version, path, written)):
            _mark_foreign(real)
            settle = SETTLE_EMPTY if not version.data and held is not None else SETTLE
            if quiet < settle and time.monotonic() < deadline:
                version.close()
                _wait(min(settle - quiet, settle) + _POLL)
                continue
        if writers_patient and time.monotonic() < deadline and version.fd is not None and not _finished(version):
            # Held open for writing (a rewrite whose first part parses and ends its line) or changed
            # since our read: read again once the writer has closed it.
            writers_patient = _writers_gone(version.fd, real, deadline)
            version.close()
            continue
        # A parse of this very version (the caller's, or the cache's) is reused: parsing is most of a write's cost.
        for known in (snapshot, cached_snapshot(path)):
            if known is not None and known.error is None and same_version(known, version.st, version.data):
                version.sections = known.sections
                return version
        try:
            version.sections = botocore_parse(real, version.data)
            remember_read(path, version.st, version.sections, version.data)
        except Changed:
            version.close()
            if time.monotonic() >= deadline:
                raise FileChangedError(path=path, attempts=len(first_seen)) from None
            continue
        except ConfigFileError:
            version.close()
            if patient:  # possibly a torn in-place write: look again once it is quiet
                _mark_foreign(real)
                _wait(min(SETTLE - quiet, SETTLE) + _POLL)
                continue
            raise
        return version


def changed_since(version: Version, real: str) -> Version | None:
    """The new content of the inode ``version`` read, if another program wrote into it since; else ``None``.

    Waits until the inode has stayed unchanged for :data:`SETTLE` seconds
    (:data:`SETTLE_EMPTY` while it is empty and held content). The result has
    its own descriptor on that inode and no parse yet (the inode may no longer
    have a name: parse it with :func:`parse_data`). A replaced inode (no name
    left) that stays empty is ``None``: there is nothing to merge into the file,
    and merging an edit into the empty inode would replace the whole file by
    the edit alone.
    """
    if version.fd is None or version.st is None:
        return None
    # A writer holding the inode open may be between two chunks of a rewrite, or not have written yet:
    # its content is taken once it has closed the file.
    writers_patient = _writers_gone(version.fd, real, time.monotonic() + SETTLE_MAX)
    try:
        st = os.fstat(version.fd)
    except OSError:
        return None
    mark = (version.st.st_size, version.st.st_mtime_ns)
    if (st.st_size, st.st_mtime_ns) == mark:
        return None
    _mark_foreign(real)
    deadline = time.monotonic() + SETTLE_MAX
    since = time.monotonic()
    last = (st.st_size, st.st_mtime_ns)
    while time.monotonic() < deadline:
        quiet = time.monotonic() - since
        # Truncated and not written yet: an in-place writer that a busy machine holds up between its
        # truncation and its write (aws configure set) is given the same time as in settled_version.
        emptied = last[0] == 0 and bool(version.data)
        if quiet >= (SETTLE_EMPTY if emptied else SETTLE):
            if writers_patient and writer_open(version.fd):
                writers_patient = _writers_gone(version.fd, real, deadline)
                st = os.fstat(version.fd)
                last, since = (st.st_size, st.st_mtime_ns), time.monotonic()
                continue
            break
        if emptied and quiet >= SETTLE:
            _wait(_POLL * 10)
        else:
            time.sleep(_POLL)
        st = os.fstat(version.fd)
        if (st.st_size, st.st_mtime_ns) != last:
            last, since = (st.st_size, st.st_mtime_ns), time.monotonic()
    if last[0] == 0 and version.data and st.st_nlink == 0:
        log.warning("another program emptied the old %s as it was replaced, and wrote nothing into it; kept ours", real)
        return None
    fd = os.dup(version.fd)
    st = os.fstat(fd)
    return Version(st, _read_fd(fd, st.st_size), fd)


def parse_data(real: str, path: str, data: bytes) -> dict[str, dict[str, Any]]:
    """botocore's parse of ``data`` (read from an inode that may have no name), via a private temp file."""
    tmp = temp_name(real)
    try:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE), "wb") as f:
            f.write(data)
        try:
            return botocore_parse(tmp, data)
        except ConfigFileError as exc:
            raise ConfigFileError(path, exc.reason, exc.lineno) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
