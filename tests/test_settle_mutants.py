"""Focused tests of settle.py, fileowner.py and filelocks.py that the mutation run (issue 22) showed missing.

Files are real files under ``tmp_path``; another writer is a real open file
description (or a real process). Where a race must land at one exact instant
(a file rewritten between the two reads settle makes, a file removed between
its stat and its open, a writer that opens the file while it is watched), an
``os`` or ``time`` function is wrapped so the other program acts right there:
the interleaving is replayed, never left to chance. No function of the modules
under test is replaced.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore.configloader
import pytest

from awswidget import filelocks, fileowner, fileread, settle
from awswidget.errors import ConfigFileError, FileChangedError, WriteError

ROOT = Path(__file__).resolve().parents[1]
GOOD = b"[default]\nregion = eu-west-1\n"


class _Hung(Exception):
    pass


def _hung(signum: int, frame: Any) -> None:
    raise _Hung("still waiting after 30 s: a wait that never ends")


@pytest.fixture(autouse=True)
def _fresh_memory() -> Iterator[None]:
    """Module-level memory (in-place writers seen, stuck inodes, parses) starts and ends empty.

    Every test here takes well under two seconds; one that waits 30 s is stopped (a blocking open of a
    FIFO, a loop that never gives up), so a mutation run does not sit out its long wall-clock limit.
    """
    fileread.forget_cached()
    settle._foreign.clear()
    settle._stuck.clear()
    previous = signal.signal(signal.SIGALRM, _hung)
    signal.setitimer(signal.ITIMER_REAL, 30)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        fileread.forget_cached()
        settle._foreign.clear()
        settle._stuck.clear()


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def _sleeps(monkeypatch: pytest.MonkeyPatch, act: Callable[[int], None]) -> list[float]:
    """Make the n-th ``time.sleep`` (n = 1, 2, ...) call ``act(n)`` when it ends: the other program moves there."""
    real_sleep = time.sleep
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        real_sleep(seconds)
        act(len(slept))

    monkeypatch.setattr(time, "sleep", sleep)
    return slept


def _rename_over(target: Path, data: bytes) -> None:
    """What a writer that renames leaves: a new inode with ``data``."""
    tmp = target.with_name(target.name + ".new")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def _age(target: Path, seconds: float) -> None:
    """Set the file's mtime ``seconds`` back (a file nobody touched for that long)."""
    then = time.time() - seconds
    os.utime(target, (then, then))


def _ahead(target: Path) -> None:
    """Set the file's mtime a minute ahead: a file server's clock ahead of ours (a network file system).

    The mtime then says nothing, and how long a version has been quiet is settle's own watch from its
    first read of that version: wait lengths that do not depend on how busy this machine is.
    """
    _age(target, -60)


# ---------------------------------------------------------------- writer_open: the kernel's answer


def test_writer_open_is_true_exactly_while_a_writer_holds_the_file(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    fd = os.open(target, os.O_RDONLY)
    try:
        assert settle.writer_open(fd) is False
        # The lease is let go at once: nothing stays that would make an opener for writing wait.
        assert fcntl.fcntl(fd, fcntl.F_GETLEASE) == fcntl.F_UNLCK
        with open(target, "r+b"):
            assert settle.writer_open(fd) is True
            # Whoever opens the file for writing while a lease is held signals us: SIGURG (ignored by
            # default), never the default SIGIO, which would kill the kernel. (Read while refused: the
            # kernel resets it when a lease is let go.)
            assert fcntl.fcntl(fd, fcntl.F_GETSIG) == int(settle.signal.SIGURG)
        assert settle.writer_open(fd) is False
    finally:
        os.close(fd)


def test_writer_open_is_unknown_where_the_kernel_cannot_tell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    r, w = os.pipe()
    try:
        assert settle.writer_open(r) is None  # no lease on a pipe (EINVAL, not EAGAIN)
    finally:
        os.close(r)
        os.close(w)
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    fd = os.open(target, os.O_RDONLY)
    try:
        with open(target, "r+b"):
            monkeypatch.delattr(fcntl, "F_SETLEASE")  # not Linux
            assert settle.writer_open(fd) is None
            monkeypatch.undo()
            monkeypatch.delattr(fcntl, "F_SETSIG")
            assert settle.writer_open(fd) is None
            monkeypatch.undo()
            monkeypatch.setitem(sys.modules, "fcntl", None)  # no fcntl at all (Windows): the import fails
            assert settle.writer_open(fd) is None
            monkeypatch.undo()
            assert settle.writer_open(fd) is True
    finally:
        os.close(fd)


# ---------------------------------------------------------------- _writers_gone: waiting for a writer to close


def test_a_writer_that_closes_is_waited_for_and_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    real = str(target)
    fd = os.open(target, os.O_RDONLY)
    writer = open(target, "r+b")  # closed by the "other program" below

    def act(n: int) -> None:
        if n == 3:
            writer.close()

    slept = _sleeps(monkeypatch, act)
    before = settle.waits
    try:
        assert settle._writers_gone(fd, real, time.monotonic() + 30) is True
    finally:
        writer.close()
        os.close(fd)
    assert slept == [settle._POLL] * 3 and settle.waits == before + 3
    assert settle.foreign_writer_seen(real)
    assert not settle._stuck


def test_a_writer_that_never_closes_is_given_up_on_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    real = str(target)
    fd = os.open(target, os.O_RDONLY)
    inode = (os.fstat(fd).st_dev, os.fstat(fd).st_ino)
    writer = open(target, "r+b")
    try:
        with caplog.at_level(logging.WARNING, logger="awswidget.settle"):
            start = time.monotonic()
            assert settle._writers_gone(fd, real, time.monotonic() + 0.1) is False
            assert 0.1 <= time.monotonic() - start < 5
            assert inode in settle._stuck
            # Stuck: not waited for again while it stays open, and not warned about twice.
            before = settle.waits
            assert settle._writers_gone(fd, real, time.monotonic() + 30) is False
            assert settle.waits == before
        assert [r.getMessage() for r in caplog.records] == [
            f"another program has held {real} open for writing for 10 s; going by its content"
        ]
        writer.close()
        assert settle._writers_gone(fd, real, time.monotonic() + 30) is True
        assert inode not in settle._stuck
        # Forgotten once closed: the next writer is waited for again.
        writer = open(target, "r+b")
        before = settle.waits
        assert settle._writers_gone(fd, real, time.monotonic() + 0.05) is False
        assert settle.waits > before
    finally:
        writer.close()
        os.close(fd)


def test_writers_gone_of_a_closed_descriptor_waits_for_nothing() -> None:
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    before = settle.waits
    assert settle._writers_gone(r, "/nowhere", time.monotonic() + 30) is True
    assert settle.waits == before


# ---------------------------------------------------------------- _finished


def test_finished_means_no_writer_and_still_the_version_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    version = settle.open_version(str(target))
    try:
        assert settle._finished(version) is True
        with open(target, "r+b"):
            assert settle._finished(version) is False  # held open for writing
        with open(target, "ab") as f:
            f.write(b"output = json\n")
        assert settle._finished(version) is False  # closed, but written since the read
        real_fstat = os.fstat
        fd = version.fd

        def fstat(n: int) -> os.stat_result:
            if n == fd:
                raise OSError(errno.EIO, "Input/output error")
            return real_fstat(n)

        monkeypatch.setattr(os, "fstat", fstat)
        assert settle._finished(version) is True  # nobody can tell: the content decides
    finally:
        version.close()
    r, w = os.pipe()
    try:
        # A file the kernel cannot answer for (no lease): finished, whatever its stat says now.
        unknown = settle.Version(os.stat(target), GOOD, r)
        assert settle._finished(unknown) is True
    finally:
        os.close(r)
        os.close(w)


# ---------------------------------------------------------------- _read_fd, _quiet_for


def test_read_fd_reads_on_while_the_file_is_longer_than_its_fstat(tmp_path: Path) -> None:
    target = tmp_path / "config"
    big = b"".join(b"[profile p%d]\nregion = eu-west-1\n" % i for i in range(120_000))  # > 3 MiB: several chunks
    target.write_bytes(big)
    fd = os.open(target, os.O_RDONLY)
    try:
        # The size given is what an fstat said before the file grew: the rest is read too.
        assert settle._read_fd(fd, 0) == big
        assert settle._read_fd(fd, 5) == big
        assert settle._read_fd(fd, len(big)) == big
        assert settle._read_fd(fd, len(big) + 10) == big  # shrank since: the end of the file
    finally:
        os.close(fd)


def test_quiet_for_takes_the_longer_of_mtime_and_our_own_watch(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    _age(target, 100)
    assert 99 < settle._quiet_for(os.stat(target), time.monotonic()) < 110
    future = time.time() + 100  # a clock ahead of ours (a network file system): our own watch decides
    os.utime(target, (future, future))
    assert 4.9 < settle._quiet_for(os.stat(target), time.monotonic() - 5) < 6
    os.utime(target, ns=(time.time_ns() - 1_500_000_000,) * 2)
    assert 1.4 < settle._quiet_for(os.stat(target), time.monotonic()) < 2.4  # nanoseconds, not microseconds


# ---------------------------------------------------------------- open_version: one consistent read, or none


def _on_call(monkeypatch: pytest.MonkeyPatch, name: str, before: Callable[[int], None] | None = None,
             after: Callable[[int], None] | None = None) -> list[int]:
    """Wrap ``os.<name>``: ``before(n)`` / ``after(n)`` run around its n-th call (n = 1, 2, ...)."""
    real = getattr(os, name)
    calls: list[int] = []

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        calls.append(len(calls) + 1)
        if before is not None:
            before(len(calls))
        try:
            return real(*args, **kwargs)
        finally:
            if after is not None:
                after(len(calls))

    monkeypatch.setattr(os, name, wrapped)
    return calls


def test_a_version_is_its_bytes_its_stat_and_a_descriptor_on_its_inode(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    fds = _open_fds()
    version = settle.open_version(str(target))
    try:
        assert version.data == GOOD and version.st is not None and version.fd is not None
        assert fileread.stat_key(version.st) == fileread.stat_key(os.stat(target))
        assert os.path.samestat(os.fstat(version.fd), os.stat(target))
        assert version.sections is None  # not parsed yet
        assert "region" not in repr(version)  # the bytes (keys) stay out of the repr
    finally:
        version.close()
    assert version.fd is None
    version.close()  # twice: harmless
    assert _open_fds() == fds
    missing = settle.open_version(str(tmp_path / "missing"))
    assert missing.st is None and missing.data == b"" and missing.fd is None


def test_a_file_removed_between_its_stat_and_its_open_is_looked_at_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"[old]\n")

    def remove(n: int) -> None:
        if n == 1:
            target.unlink()

    def put_back(n: int) -> None:
        if n == 1:
            _rename_over(target, GOOD)

    _on_call(monkeypatch, "open", before=remove, after=put_back)
    version = settle.open_version(str(target))
    version.close()
    assert version.data == GOOD


def test_a_fifo_put_in_place_between_stat_and_open_is_never_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"[old]\n")
    fifo = tmp_path / "fifo"

    def swap_in(n: int) -> None:
        if n == 1:
            os.mkfifo(fifo)
            os.replace(fifo, target)

    def swap_back(n: int) -> None:
        if n == 1:
            _rename_over(target, GOOD)

    fds = _open_fds()
    opens = _on_call(monkeypatch, "open", before=swap_in, after=swap_back)
    version = settle.open_version(str(target))  # opened without blocking, seen to be no file, let go
    version.close()
    assert version.data == GOOD and len(opens) == 2
    assert _open_fds() == fds


def test_a_file_that_cannot_be_opened_is_a_config_file_error_naming_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    real_open = os.open

    def failing(exc: OSError) -> Callable[..., int]:
        def open_(path: Any, *args: Any, **kwargs: Any) -> int:
            if os.fspath(path) == str(target):
                raise exc
            return real_open(path, *args, **kwargs)

        return open_

    monkeypatch.setattr(os, "open", failing(OSError(errno.EIO, "Input/output error")))
    with pytest.raises(ConfigFileError) as err:
        settle.open_version(str(target))
    assert str(err.value) == f"{target}: cannot be read (Input/output error)"
    assert err.value.path == str(target)
    assert err.value.__cause__ is None and err.value.__suppress_context__
    monkeypatch.setattr(os, "open", failing(OSError()))
    with pytest.raises(ConfigFileError) as err:
        settle.open_version(str(target))
    assert err.value.reason == "cannot be read (OSError)"


_UNREADABLE_CHILD = """
import os, sys
from awswidget import settle
from awswidget.errors import ConfigFileError
# One call as root first: a mutation run's trampoline reads its configuration on the first call.
settle.open_version(sys.argv[1]).close()
os.setgid(1); os.setuid(1)
try:
    settle.open_version(sys.argv[1])
except ConfigFileError as exc:
    print(exc)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_a_file_another_user_may_not_read_says_botocore_would_ignore_it() -> None:
    # A folder uid 1 can reach (pytest's tmp_path is under a 0700 folder of root's).
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)  # noqa: S103 -- uid 1 must reach the file to be refused it
        target = Path(folder) / "config"
        target.write_bytes(GOOD)
        os.chmod(target, 0o600)  # root's, and not readable by uid 1
        # Read here too: a mutation run picks the tests of a function by the calls made in its own process.
        settle.open_version(str(target)).close()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        out = subprocess.run(
            [sys.executable, "-c", _UNREADABLE_CHILD, str(target)], env=env, capture_output=True, text=True, timeout=60
        )
    assert out.stdout.strip() == f"{target}: cannot be read (permission denied; botocore would ignore it)", out.stderr


def test_a_read_that_fails_is_a_config_file_error_and_leaks_no_descriptor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    fds = _open_fds()

    def pread(*args: Any) -> bytes:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "pread", pread)
    with pytest.raises(ConfigFileError) as err:
        settle.open_version(str(target))
    assert str(err.value) == f"{target}: cannot be read (Input/output error)"
    assert err.value.__cause__ is None and err.value.__suppress_context__

    def pread_no_reason(*args: Any) -> bytes:
        raise OSError()

    monkeypatch.setattr(os, "pread", pread_no_reason)
    with pytest.raises(ConfigFileError) as err:
        settle.open_version(str(target))
    assert err.value.reason == "cannot be read (OSError)"
    assert _open_fds() == fds


def test_a_file_written_in_place_during_the_read_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"[default]\nregion = a\n")
    fds = _open_fds()

    def write_in_place(n: int) -> None:
        if n == 1:  # the same inode, longer: the fstat after the read differs from the one before
            with open(target, "ab") as f:
                f.write(b"output = json\n")

    preads = _on_call(monkeypatch, "pread", after=write_in_place)
    version = settle.open_version(str(target))
    version.close()
    assert version.data == b"[default]\nregion = a\noutput = json\n"
    assert len(preads) == 2
    assert _open_fds() == fds


def test_a_file_removed_after_the_read_is_looked_at_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)

    def remove(n: int) -> None:
        if n == 1:
            target.unlink()  # the inode's ctime changes: the fstat after the read differs

    _on_call(monkeypatch, "pread", after=remove)
    version = settle.open_version(str(target))
    assert version.st is None and version.data == b"" and version.fd is None
    monkeypatch.undo()
    target.write_bytes(GOOD)

    def remove_late(n: int) -> None:
        if n == 2:
            target.unlink()  # right after the fstat that follows the read: only the path's stat can tell

    _on_call(monkeypatch, "fstat", after=remove_late)
    version = settle.open_version(str(target))
    assert version.st is None and version.data == b"" and version.fd is None


def test_a_file_replaced_on_every_read_is_a_file_changed_error_after_twenty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    fds = _open_fds()

    def replace(n: int) -> None:
        _rename_over(target, b"[default]\nregion = r%d\n" % n)

    _on_call(monkeypatch, "pread", after=replace)
    opens = _on_call(monkeypatch, "open")
    with pytest.raises(FileChangedError) as err:
        settle.open_version(str(target))
    assert str(err.value) == (
        f"{target} was changed by another program while awswidget was writing it (20 attempts). "
        "Nothing was overwritten; try again."
    )
    assert len(opens) == 20
    assert _open_fds() == fds


def test_a_version_let_go_is_closed_even_on_descriptor_zero(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A daemon (or a kernel started with stdin closed) has descriptor 0 free: os.open may return it.
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    got: list[int] = []
    _on_call(monkeypatch, "pread", after=lambda n: _rename_over(target, b"[default]\nregion = r%d\n" % n) if n == 1 else None)
    saved = os.dup(0)
    try:
        os.close(0)
        real_open = os.open

        def open_(*args: Any, **kwargs: Any) -> int:
            got.append(real_open(*args, **kwargs))
            return got[-1]

        monkeypatch.setattr(os, "open", open_)
        version = settle.open_version(str(target))  # first read on descriptor 0, rejected: read again
        monkeypatch.setattr(os, "open", real_open)
        # The rejected read's descriptor 0 was closed: the second read got it again.
        assert got == [0, 0] and version.fd == 0 and version.data == b"[default]\nregion = r1\n"
        version.close()
        with pytest.raises(OSError):
            os.fstat(0)  # descriptor 0 was given back
    finally:
        os.dup2(saved, 0)
        os.close(saved)


# ---------------------------------------------------------------- settled_version: when a version is trusted


def _settled(target: Path, label: str | None = None) -> settle.Version:
    version = settle.settled_version(str(target), label or str(target))
    version.close()
    return version


def _in_place(target: Path, data: bytes) -> None:
    """What ``aws configure set`` leaves: the same inode, truncated and written again."""
    with open(target, "r+b") as f:
        f.truncate(0)
        f.write(data)


def test_a_missing_file_settles_at_once_as_empty(tmp_path: Path) -> None:
    version = settle.settled_version(str(tmp_path / "config"), str(tmp_path / "config"))
    assert version.st is None and version.data == b"" and version.sections == {}


def test_a_file_rewritten_in_place_while_waited_for_is_waited_for_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each new version gets its own "first seen" time: a file that keeps changing is trusted only once
    # one version of it has stayed unchanged for SETTLE seconds (not SETTLE after the first version).
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    _settled(target)  # this process knows the inode holding GOOD
    versions = [b"[default]\nregion = b\n", b"[default]\nregion = cc\n", b"[default]\nregion = final\n"]
    _in_place(target, versions[0])
    _ahead(target)

    def rewrite(n: int) -> None:
        if n < len(versions):
            _in_place(target, versions[n])  # right as settle's wait ends
            _ahead(target)

    slept = _sleeps(monkeypatch, rewrite)
    version = _settled(target)
    assert version.data == versions[-1]
    assert version.sections == {"default": {"region": "final"}}
    # One wait per version (each SETTLE of quiet, plus a poll), none of SETTLE_EMPTY.
    assert len(slept) == 3 and all(settle.SETTLE - 0.05 < s <= settle.SETTLE + settle._POLL for s in slept)
    assert settle.foreign_writer_seen(str(target))


def test_our_identity_on_a_file_someone_truncated_is_not_ours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Our writer notes the identity of the file it renamed into place with a stat *after* the rename; an
    # in-place writer (aws configure set) may truncate our new inode in between. The identity noted is then
    # that of the empty file, and only the bytes tell it is not what we wrote: it is waited for.
    target = tmp_path / "config"
    ours = b"[default]\nregion = ours\n"
    target.write_bytes(ours)
    _in_place(target, b"")  # truncated right after our rename...
    _ahead(target)
    fileread.remember_written(str(target), str(target), {"default": {"region": "ours"}}, ours)  # ...then noted

    def write(n: int) -> None:
        if n == 1:
            _in_place(target, b"[default]\nregion = theirs\n")  # its write follows
            _age(target, 10)

    slept = _sleeps(monkeypatch, write)
    version = _settled(target)
    assert version.data == b"[default]\nregion = theirs\n"
    assert len(slept) == 1 and slept[0] > settle.SETTLE  # SETTLE_EMPTY: the file held content


def test_a_suspect_version_is_waited_for_only_what_is_left_of_settle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    _settled(target)
    _in_place(target, b"[default]\nregion = b\n")
    os.utime(target, ns=(time.time_ns() - 50_000_000,) * 2)  # rewritten 0.05 s ago (or longer: a busy machine)
    slept = _sleeps(monkeypatch, lambda n: None)
    version = _settled(target)
    assert version.data == b"[default]\nregion = b\n"
    # One wait, for what is left of SETTLE (at most 0.15 s, plus a poll): not a whole SETTLE, not twice.
    assert len(slept) == 1 and 0 < slept[0] <= settle.SETTLE - 0.05 + settle._POLL


def test_a_suspect_version_long_quiet_is_trusted_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    _settled(target)
    _in_place(target, b"[default]\nregion = b\n")
    _age(target, 100)
    slept = _sleeps(monkeypatch, lambda n: None)
    before = settle.waits
    assert _settled(target).data == b"[default]\nregion = b\n"
    assert slept == [] and settle.waits == before
    assert settle.foreign_writer_seen(str(target))  # seen rewritten in place all the same


def test_a_file_emptied_after_holding_content_is_waited_for_settle_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    _settled(target)
    _in_place(target, b"")  # aws configure set's truncation, its write still to come
    _ahead(target)

    def write(n: int) -> None:
        if n == 1:
            _in_place(target, GOOD)

    slept = _sleeps(monkeypatch, write)
    version = _settled(target)
    assert version.data == GOOD
    assert len(slept) == 1 and settle.SETTLE_EMPTY - 0.05 < slept[0] <= settle.SETTLE_EMPTY + settle._POLL


def test_an_empty_file_never_seen_with_content_is_waited_for_settle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"")
    _ahead(target)
    slept = _sleeps(monkeypatch, lambda n: None)
    version = _settled(target)
    assert version.data == b"" and version.sections == {}
    assert len(slept) == 1 and settle.SETTLE - 0.05 < slept[0] <= settle.SETTLE + settle._POLL


def test_a_torn_write_that_does_not_parse_is_read_again_once_quiet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No history (so not suspect by the rules): a fresh version that botocore rejects may be the first
    # part of an in-place write; it is read again once quiet, and the finished file is what is read.
    target = tmp_path / "config"
    target.write_bytes(b"[default]\nregion = eu-west-1\n[prof")
    os.utime(target, ns=(time.time_ns() - 50_000_000,) * 2)  # written 0.05 s ago (or longer: a busy machine)

    def finish(n: int) -> None:
        if n == 1:
            _in_place(target, GOOD)
            _age(target, 10)

    slept = _sleeps(monkeypatch, finish)
    version = _settled(target)
    assert version.data == GOOD and version.sections == {"default": {"region": "eu-west-1"}}
    assert len(slept) == 1 and 0 < slept[0] <= settle.SETTLE - 0.05 + settle._POLL
    assert settle.foreign_writer_seen(str(target))


def test_a_fresh_file_that_stays_unparsable_is_reported_after_one_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"[default]\nregion = eu-west-1\n[prof")
    _ahead(target)
    slept = _sleeps(monkeypatch, lambda n: None)
    with pytest.raises(ConfigFileError) as err:
        _settled(target)
    assert err.value.lineno == 3
    assert len(slept) == 1 and settle.SETTLE - 0.05 < slept[0] <= settle.SETTLE + settle._POLL


def test_an_old_file_that_does_not_parse_is_reported_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"[default]\nregion = eu-west-1\n[prof")
    _age(target, 100)
    slept = _sleeps(monkeypatch, lambda n: None)
    fds = _open_fds()
    with pytest.raises(ConfigFileError) as err:
        settle.settled_version(str(target), "~/.aws/config")
    assert err.value.lineno == 3 and err.value.path == str(target)
    assert slept == [] and not settle.foreign_writer_seen(str(target))
    assert _open_fds() == fds  # the version read was let go


def test_the_wait_is_counted_and_logged_at_debug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"")
    _ahead(target)
    before = settle.waits
    with caplog.at_level(logging.DEBUG, logger="awswidget.settle"):
        _settled(target)
    assert settle.waits == before + 1
    [record] = [r for r in caplog.records if r.name == "awswidget.settle"]
    assert record.levelno == logging.DEBUG
    assert re.fullmatch(r"waiting 0\.[12]\d\d s for a file another program may be rewriting", record.getMessage())


def test_quiet_for_an_ancient_mtime_is_in_seconds(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    os.utime(target, ns=(0, 0))  # 1970: ~1.8e9 s ago, where even a wrong billionth would show
    assert abs(settle._quiet_for(os.stat(target), time.monotonic()) - time.time()) < 0.5


def test_a_file_changed_while_botocore_reads_it_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # "İ" lower-cases to two characters: the fast reader leaves this file to botocore, which reads the
    # file itself; another writer replaces it right before that read.
    first = "[default]\nİkey = 1\n".encode()
    second = "[default]\nİkey = 2\n".encode()
    target = tmp_path / "config"
    target.write_bytes(first)
    _age(target, 10)
    real_parse = botocore.configloader.raw_config_parse
    parses: list[str] = []

    def raw_config_parse(path: str, *args: Any, **kwargs: Any) -> Any:
        parses.append(path)
        if len(parses) == 1:
            _rename_over(target, second)
            _age(target, 10)
        return real_parse(path, *args, **kwargs)

    monkeypatch.setattr(botocore.configloader, "raw_config_parse", raw_config_parse)
    version = _settled(target, "~/.aws/config")
    assert version.data == second
    assert version.sections == real_parse(str(target))
    assert len(parses) == 2
    cached = fileread.cached_snapshot("~/.aws/config")  # remembered under the caller's name, as read
    assert cached is not None and cached.data == second and cached.sections is version.sections
    assert version.st is not None and cached.key == fileread.stat_key(version.st)


def test_a_file_changed_on_every_read_by_botocore_is_a_file_changed_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "config"
    target.write_bytes("[default]\nİkey = 0\n".encode())
    _age(target, 10)
    real_parse = botocore.configloader.raw_config_parse
    parses: list[str] = []

    def raw_config_parse(path: str, *args: Any, **kwargs: Any) -> Any:
        parses.append(path)
        _rename_over(target, f"[default]\nİkey = {len(parses)}\n".encode())
        _age(target, 10)
        return real_parse(path, *args, **kwargs)

    monkeypatch.setattr(botocore.configloader, "raw_config_parse", raw_config_parse)
    monkeypatch.setattr(settle, "SETTLE_MAX", 0.3)
    fds = _open_fds()
    with pytest.raises(FileChangedError) as err:
        settle.settled_version(str(target), "~/.aws/config")
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert str(err.value) == (
        f"~/.aws/config was changed by another program while awswidget was writing it ({len(parses)} attempts). "
        "Nothing was overwritten; try again."
    )
    assert len(parses) > 1
    assert _open_fds() == fds


def test_a_parse_of_that_very_version_is_reused_and_no_other(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    _age(target, 10)
    snapshot = fileread.read_file(str(target))
    assert snapshot.error is None
    # The caller's parse of this very version: handed back as it is, not parsed again.
    reused = settle.settled_version(str(target), "label", snapshot)
    reused.close()
    assert reused.sections is snapshot.sections
    # The cache's parse of this version: settled_version remembers what it parsed under the caller's name.
    parsed = _settled(target, "label")
    assert parsed.sections == snapshot.sections and parsed.sections is not snapshot.sections
    assert _settled(target, "label").sections is parsed.sections
    # A parse of another version (the same size and inode, other bytes) is not this version's.
    stale = fileread.read_file(str(target))
    _in_place(target, b"[default]\nregion = us-west-2\n")
    _age(target, 10)
    fileread.forget_cached()
    version = settle.settled_version(str(target), "fresh", stale)
    version.close()
    assert version.sections == {"default": {"region": "us-west-2"}}
    # A snapshot that failed is never reused.
    target.write_bytes(b"[default]\nregion = eu-west-1\n")
    _age(target, 10)
    failed = fileread.FileSnapshot(str(target), True, {}, ConfigFileError(str(target), "no"), snapshot.key, 0o600, b"")
    fileread.forget_cached()
    again = settle.settled_version(str(target), "again", failed)
    again.close()
    assert again.sections == {"default": {"region": "eu-west-1"}}


def test_a_writer_holding_the_file_open_is_waited_for_until_it_closes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first part of a rewrite that parses and ends its line (Python hands the OS 8 KB chunks ending
    # at a newline): only the kernel can tell it is not finished.
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    _age(target, 10)
    writers: list[Any] = [open(target, "ab")]
    rest = [b"[profile two]\nregion = us-east-2\n", b"[profile three]\nregion = us-east-1\n"]

    def write_rest(n: int) -> None:
        if n == 2 and writers:
            writers[0].write(rest[0])
            writers.pop().close()  # the writer is done...

    real_open = os.open
    opens = [0]

    def open_(path: Any, *args: Any, **kwargs: Any) -> int:
        fd = real_open(path, *args, **kwargs)
        if os.fspath(path) == str(target):
            opens[0] += 1
            if opens[0] == 2:  # ...and another one opens it right as settle reads it again
                writers.append(open(target, "ab"))
        return fd

    monkeypatch.setattr(os, "open", open_)

    def second(n: int) -> None:
        write_rest(n)
        if n == 4 and writers:
            writers[0].write(rest[1])
            writers.pop().close()

    slept = _sleeps(monkeypatch, second)
    try:
        version = _settled(target)
    finally:
        for w in writers:
            w.close()
    assert version.data == GOOD + rest[0] + rest[1]
    assert len(slept) == 4 and settle.foreign_writer_seen(str(target))


def test_a_writer_that_never_closes_is_given_up_on_and_its_content_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    _age(target, 10)
    monkeypatch.setattr(settle, "SETTLE_MAX", 0.2)
    with open(target, "ab"), caplog.at_level(logging.WARNING, logger="awswidget.settle"):
        start = time.monotonic()
        version = _settled(target)
        assert time.monotonic() - start < 5
    assert version.data == GOOD and version.sections == {"default": {"region": "eu-west-1"}}
    assert len(caplog.records) == 1


# ---------------------------------------------------------------- changed_since: what another program wrote into the inode read


def _watch(target: Path) -> settle.Version:
    version = settle.open_version(str(target))
    assert version.fd is not None
    return version


def test_changed_since_knows_nothing_without_a_descriptor_or_a_stat(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    st = os.stat(target)
    assert settle.changed_since(settle.Version(None, b""), str(target)) is None
    assert settle.changed_since(settle.Version(st, GOOD), str(target)) is None
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    assert settle.changed_since(settle.Version(st, GOOD, r), str(target)) is None  # a descriptor gone
    version = _watch(target)
    try:
        assert settle.changed_since(settle.Version(None, GOOD, version.fd), str(target)) is None
    finally:
        version.close()
    assert not settle.foreign_writer_seen(str(target))


def test_changed_since_takes_the_inode_once_the_writer_holding_it_closes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    version = _watch(target)
    writer = open(target, "ab")
    writer.write(b"[profile a]\n")
    writer.flush()

    def finish(n: int) -> None:
        if n == 40 and not writer.closed:  # 0.4 s on: longer than SETTLE, well within SETTLE_MAX
            writer.write(b"region = us-east-2\n")
            writer.close()

    _sleeps(monkeypatch, finish)
    try:
        with caplog.at_level(logging.WARNING, logger="awswidget.settle"):
            lost = settle.changed_since(version, str(target))
    finally:
        writer.close()
        version.close()
    assert lost is not None
    lost.close()
    assert lost.data == GOOD + b"[profile a]\nregion = us-east-2\n"
    assert caplog.records == []
    assert list(settle._foreign) == [str(target)]  # the writer is remembered for this file, under its name


def test_changed_since_gives_up_on_a_writer_that_never_closes_and_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    version = _watch(target)
    monkeypatch.setattr(settle, "SETTLE_MAX", 0.2)
    try:
        with open(target, "ab") as writer, caplog.at_level(logging.WARNING, logger="awswidget.settle"):
            writer.write(b"[profile a]\n")
            writer.flush()
            lost = settle.changed_since(version, str(target))
    finally:
        version.close()
    assert lost is not None
    lost.close()
    assert lost.data == GOOD + b"[profile a]\n"
    assert [r.getMessage() for r in caplog.records] == [
        f"another program has held {target} open for writing for 0 s; going by its content"
    ]


def test_changed_since_waits_again_for_writers_that_open_the_inode_while_it_is_watched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    version = _watch(target)
    with open(target, "ab") as f:
        f.write(b"[profile a]\n")
    parts = [b"region = us-east-2\n", b"output = json\n"]
    writers: list[Any] = []
    state = {"waits": settle.waits, "phase": 0}

    def act(n: int) -> None:
        polled = settle.waits != state["waits"]  # a sleep of _writers_gone's (counted), not of the watch
        state["waits"] = settle.waits
        phase = state["phase"]
        if not polled and phase in (0, 2):
            writers.append(open(target, "ab"))  # opens the inode while it looks quiet, writes nothing yet
            state["phase"] += 1
        elif polled and phase in (1, 3):
            writers[-1].write(parts[phase // 2])
            writers[-1].close()
            state["phase"] += 1

    _sleeps(monkeypatch, act)
    try:
        lost = settle.changed_since(version, str(target))
    finally:
        for w in writers:
            w.close()
        version.close()
    assert state["phase"] == 4
    assert lost is not None
    lost.close()
    assert lost.data == GOOD + b"[profile a]\n" + parts[0] + parts[1]
    assert list(settle._foreign) == [str(target)]  # remembered under the file's name only


def test_changed_since_watches_until_the_inode_stops_changing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    version = _watch(target)
    with open(target, "ab") as f:
        f.write(b"[profile a]\n")

    def more(n: int) -> None:
        if n in (5, 10):
            with open(target, "ab") as f:
                f.write(b"region = r%d\n" % n)

    slept = _sleeps(monkeypatch, more)
    start = time.monotonic()
    try:
        lost = settle.changed_since(version, str(target))
    finally:
        version.close()
    assert lost is not None
    lost.close()
    assert lost.data == GOOD + b"[profile a]\nregion = r5\nregion = r10\n"
    assert lost.st is not None and os.path.samestat(lost.st, os.stat(target))
    assert set(slept) == {settle._POLL}  # plain polls: nothing was emptied
    assert time.monotonic() - start >= settle.SETTLE
    # Quiet after SETTLE, not SETTLE_EMPTY: each poll lasts at least _POLL, so SETTLE of quiet after the
    # last change (at poll 10) takes at most SETTLE / _POLL polls, however busy the machine.
    assert len(slept) <= 10 + round(settle.SETTLE / settle._POLL) + 1
    assert settle.foreign_writer_seen(str(target))


def test_an_old_inode_emptied_as_it_was_replaced_is_nothing_to_merge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    version = _watch(target)
    _in_place(target, b"")  # aws configure set truncates the inode we read...
    _rename_over(target, b"[default]\nregion = ours\n")  # ...as our write replaces it
    slept = _sleeps(monkeypatch, lambda n: None)
    start = time.monotonic()
    try:
        with caplog.at_level(logging.WARNING, logger="awswidget.settle"):
            assert settle.changed_since(version, str(target)) is None
    finally:
        version.close()
    # Given SETTLE_EMPTY to write: short polls for SETTLE, then counted waits of ten polls.
    assert time.monotonic() - start >= settle.SETTLE_EMPTY
    assert slept[0] == settle._POLL and slept[-1] == settle._POLL * 10
    assert [r.getMessage() for r in caplog.records] == [
        f"another program emptied the old {target} as it was replaced, and wrote nothing into it; kept ours"
    ]
    assert settle.foreign_writer_seen(str(target))


def test_an_inode_emptied_in_place_and_still_the_file_is_reported_empty(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    version = _watch(target)
    _in_place(target, b"")
    try:
        lost = settle.changed_since(version, str(target))
    finally:
        version.close()
    assert lost is not None and lost.data == b"" and lost.st is not None and lost.st.st_size == 0
    lost.close()


def test_a_write_into_an_old_inode_already_replaced_is_handed_back(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_bytes(GOOD)
    version = _watch(target)
    late = open(target, "r+b")  # opened before our rename, written after it
    _rename_over(target, b"[default]\nregion = ours\n")
    late.seek(0, os.SEEK_END)
    late.write(b"[profile late]\nregion = ap-south-1\n")
    late.close()
    try:
        lost = settle.changed_since(version, str(target))
    finally:
        version.close()
    assert lost is not None and lost.fd is not None and lost.st is not None
    try:
        assert lost.data == GOOD + b"[profile late]\nregion = ap-south-1\n"
        assert lost.st.st_nlink == 0 and lost.st.st_size == len(lost.data)
        assert fileread.stat_key(os.fstat(lost.fd)) == fileread.stat_key(lost.st)  # its own descriptor on that inode
    finally:
        lost.close()


def test_parse_data_parses_through_a_private_copy_it_removes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Content the fast reader leaves to botocore, which reads a file: the copy is 0600, beside the file,
    # named as awswidget's temporary files are (swept after a crash), and gone afterwards.
    data = "[default]\nİkey = 1\n".encode()
    probe = tmp_path / "probe"
    probe.write_bytes(data)
    expected = botocore.configloader.raw_config_parse(str(probe))
    folder = tmp_path / "aws"
    folder.mkdir()
    real = str(folder / "config")
    real_parse = botocore.configloader.raw_config_parse
    seen: list[tuple[str, int, bytes]] = []

    def raw_config_parse(path: str, *args: Any, **kwargs: Any) -> Any:
        seen.append((path, os.stat(path).st_mode & 0o777, Path(path).read_bytes()))
        return real_parse(path, *args, **kwargs)

    monkeypatch.setattr(botocore.configloader, "raw_config_parse", raw_config_parse)
    old_umask = os.umask(0)
    try:
        sections = settle.parse_data(real, "~/.aws/config", data)
    finally:
        os.umask(old_umask)
    [(copy, mode, copied)] = seen
    assert mode == 0o600 and copied == data
    assert os.path.dirname(copy) == str(folder)
    assert re.fullmatch(r"\.config\.[0-9a-f]{12}\.awswidget-tmp", os.path.basename(copy))
    assert sections == expected
    assert os.listdir(folder) == []


# ---------------------------------------------------------------- fileowner: names, owners, folders


def test_a_temporary_name_is_hidden_beside_the_file_and_marked(tmp_path: Path) -> None:
    real = str(tmp_path / "credentials")
    names = {fileowner.temp_name(real) for _ in range(50)}
    assert len(names) == 50
    for name in names:
        assert os.path.dirname(name) == str(tmp_path)
        assert re.fullmatch(r"\.credentials\.[0-9a-f]{12}\.awswidget-tmp", os.path.basename(name))


def test_temp_files_lists_this_files_temporary_files_only(tmp_path: Path) -> None:
    real = str(tmp_path / "config")
    ours = fileowner.temp_name(real)
    for name in (ours, fileowner.temp_name(str(tmp_path / "credentials")), str(tmp_path / ".config.abc"),
                 str(tmp_path / "config"), str(tmp_path / ".configx.1.awswidget-tmp"),
                 str(tmp_path / "x.config.1.awswidget-tmp")):
        Path(name).write_bytes(b"")
    assert fileowner.temp_files(real) == [ours]
    assert fileowner.temp_files(str(tmp_path / "missing" / "config")) == []


def test_a_process_that_is_not_root_keeps_what_it_creates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "users-home"
    folder.mkdir()
    if os.geteuid() == 0:
        os.chown(folder, 1, 1)
    monkeypatch.setattr(os, "geteuid", lambda: 1)  # uid 1 creating in a folder of its own
    assert fileowner.owner_for_new(str(folder)) is None
    assert fileowner.owner_for_new(str(folder), os.stat(folder)) is None
    monkeypatch.delattr(os, "geteuid")  # Windows: no owners to give
    assert fileowner.owner_for_new(str(folder)) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give files to another user")
def test_root_gives_what_it_creates_to_the_folders_owner_and_keeps_a_files_owner(tmp_path: Path) -> None:
    folder = tmp_path / "users-home"
    folder.mkdir()
    os.chown(folder, 1, 2)
    assert fileowner.owner_for_new(str(folder)) == (1, 2)
    existing = tmp_path / "file"
    existing.write_bytes(b"")
    os.chown(existing, 3, 4)
    assert fileowner.owner_for_new(str(folder), os.stat(existing)) == (3, 4)  # an existing file's owner wins
    os.chown(existing, 0, 4)
    assert fileowner.owner_for_new(str(folder), os.stat(existing)) is None  # root's own file stays root's
    os.chown(folder, 0, 5)
    assert fileowner.owner_for_new(str(folder)) is None
    assert fileowner.owner_for_new(str(tmp_path / "missing")) is None


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_ensure_folder_makes_every_missing_folder_private(tmp_path: Path, umask: int) -> None:
    target = tmp_path / "a" / "b" / "c"
    old = os.umask(umask)
    try:
        fileowner.ensure_folder(str(target))
        fileowner.ensure_folder(str(target))  # there already: nothing to do
    finally:
        os.umask(old)
    for folder in (tmp_path / "a", tmp_path / "a" / "b", target):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a folder to another user")
def test_root_gives_each_folder_it_creates_to_the_owner_of_its_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "users-home"
    home.mkdir()
    os.chown(home, 1, 2)
    fileowner.ensure_folder(str(home / ".aws" / "sub"))
    for folder in (home / ".aws", home / ".aws" / "sub"):
        assert (os.stat(folder).st_uid, os.stat(folder).st_gid) == (1, 2)
    monkeypatch.chdir(home)  # a relative name: its parent is the current folder
    fileowner.ensure_folder("relative")
    assert (os.stat(home / "relative").st_uid, os.stat(home / "relative").st_gid) == (1, 2)


def test_a_new_folder_is_never_open_to_others_even_for_an_instant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / ".aws"
    real_chmod = os.chmod
    before_chmod: list[int] = []

    def chmod(path: Any, mode: int, *args: Any, **kwargs: Any) -> None:
        if os.fspath(path) == str(target):
            before_chmod.append(stat.S_IMODE(os.stat(target).st_mode))
        real_chmod(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "chmod", chmod)
    old = os.umask(0)
    try:
        fileowner.ensure_folder(str(target))
    finally:
        os.umask(old)
    # Created 0700 (not 0777 then narrowed): no one else can enter it between the mkdir and the chmod.
    assert before_chmod == [0o700]


def test_a_folder_made_meanwhile_by_another_process_is_fine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / ".aws"
    real_mkdir = os.mkdir

    def mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        if os.fspath(path) == str(target) and not target.exists():
            real_mkdir(path, 0o755)  # the other process wins the race
        real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    fileowner.ensure_folder(str(target))
    assert target.is_dir()


def test_a_folder_that_cannot_be_made_is_a_write_error_naming_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(WriteError) as err:
        fileowner.ensure_folder(str(tmp_path / "file"))
    assert str(err.value) == f"Could not write {tmp_path / 'file'}: a file is where this folder should be. The file was left unchanged."
    long = tmp_path / ("x" * 300)
    with pytest.raises(WriteError) as err:
        fileowner.ensure_folder(str(long))
    assert str(err.value) == f"Could not write {long}: cannot create the folder (File name too long). The file was left unchanged."
    def mkdir(*args: Any, **kwargs: Any) -> None:
        raise OSError()  # no reason given: its type is named

    with monkeypatch.context() as m:
        m.setattr(os, "mkdir", mkdir)
        with pytest.raises(WriteError) as err:
            fileowner.ensure_folder(str(tmp_path / "other"))
    assert str(err.value) == f"Could not write {tmp_path / 'other'}: cannot create the folder (OSError). The file was left unchanged."
    with pytest.raises(WriteError) as err:
        fileowner.ensure_folder(str(tmp_path / "file" / "sub"))  # the parent is the file
    assert str(err.value) == f"Could not write {tmp_path / 'file'}: a file is where this folder should be. The file was left unchanged."


def test_ensure_folder_in_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    fileowner.ensure_folder("relative")
    assert (tmp_path / "relative").is_dir()
    assert stat.S_IMODE(os.stat(tmp_path / "relative").st_mode) == 0o700


def test_fsync_dir_is_best_effort(tmp_path: Path) -> None:
    fds = _open_fds()
    fileowner.fsync_dir(str(tmp_path))
    fileowner.fsync_dir(str(tmp_path / "missing"))  # refused: no error
    assert _open_fds() == fds


# ---------------------------------------------------------------- filelocks: which folders, how often held


def test_the_locks_of_files_are_their_real_folders_once_each_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "target").write_bytes(b"")
    os.symlink(tmp_path / "a" / "target", tmp_path / "b" / "link")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert filelocks.lock_folders([str(tmp_path / "b" / "x"), "~/b/link", "$HOME/a/y", str(tmp_path / "b" / "z")]) == [
        str(tmp_path / "a"),
        str(tmp_path / "b"),
    ]
    assert filelocks.lock_folders([]) == []


def test_a_thread_holding_a_folders_lock_takes_it_again_and_lets_go_once(tmp_path: Path) -> None:
    config, credentials = str(tmp_path / "config"), str(tmp_path / "credentials")
    held = filelocks._held_folders()
    assert held == {} and filelocks._held_folders() is held
    with filelocks.locked([config]):
        assert held == {str(tmp_path): 1}
        with filelocks.locked([credentials, config]):
            assert held == {str(tmp_path): 2}
        assert held == {str(tmp_path): 1}
        assert _locked_elsewhere(tmp_path)
    assert held == {}
    assert not _locked_elsewhere(tmp_path)
    other: list[dict[str, int]] = []
    thread = threading.Thread(target=lambda: other.append(filelocks._held_folders()))
    thread.start()
    thread.join()
    assert other == [{}] and other[0] is not held  # per thread


def _locked_elsewhere(folder: Path) -> bool:
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
