"""Reading the shared AWS files exactly as botocore does, and a cache that is never stale.

Reading goes through botocore's own parser (:mod:`botocore.configloader`), so
awswidget and boto3 agree on what a profile is. Problems botocore hides -- an
unreadable file reads as empty, one bad line rejects the whole file -- are
turned into a :class:`~awswidget.errors.ConfigFileError` naming the file and
line (never the line's text, which may hold a key).

The cache keeps the last version of each file this process read or wrote; it
is checked against the file's identity and bytes on every use, and the writer
also consults it to notice a file rewritten in place by another program.
"""

from __future__ import annotations

import configparser
import contextlib
import gc
import os
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ._ini import EditError, nested_block_error_line, scan
from ._redact import shown_name
from .errors import ConfigFileError

__all__ = [
    "Changed",
    "FileSnapshot",
    "botocore_parse",
    "cached_snapshot",
    "expand_path",
    "forget_cached",
    "gc_paused",
    "history",
    "read_bytes",
    "read_file",
    "read_file_cached",
    "remember_read",
    "remember_written",
    "same_version",
    "shown_name",
    "stat_key",
    "stat_regular",
]

BOM = b"\xef\xbb\xbf"


def expand_path(path: str | os.PathLike[str]) -> str:
    """Expand ``~`` and ``$VARS`` in a path exactly as botocore does (``configloader.raw_config_parse``)."""
    return os.path.expanduser(os.path.expandvars(os.fspath(path)))


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False
_gc_young_at_pause = 0
# Objects a paused block leaves behind, beyond which they are promoted (gc_paused): a profile table, not a value.
PROMOTE_AT = 10_000
_promoted_after = -1  # the number of full collections there had been when _promote last moved anything


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """A block in which Python's cyclic garbage collector does not run (it may nest, in any thread).

    Reading a big file builds hundreds of thousands of small dicts and strings, none in a cycle,
    yet every 700 of them start a collection that walks what is already held: at 100,000 profiles
    that was 40% of the time to list the profiles (issue 17). Reference counting still frees everything as
    usual; a collection runs again as soon as the last block ends, if one was due.

    When the last block ends with :data:`PROMOTE_AT` or more new objects, they are moved to the
    collector's oldest generation at once (:func:`_promote`): they are a table that lives as long
    as its manager, and left young, the next young collections walk all of them again and their
    number alone starts a full collection -- 70 ms of a fresh kernel's first switch at 10,000
    profiles (issue 17).
    """
    global _gc_pauses, _gc_was_enabled, _gc_young_at_pause
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            _gc_young_at_pause = gc.get_count()[0]
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                try:
                    if gc.get_count()[0] - _gc_young_at_pause >= PROMOTE_AT:  # what the block left, not what was there
                        _promote()
                finally:
                    gc.enable()  # whatever happens above: never a process left without its collector


def _promote() -> None:
    """Move every object the collector tracks into its oldest generation now (CPython: freeze, then unfreeze).

    Promoted with the table: the objects younger than the last collection (a few thousand at
    most), which a full collection frees as ever when they are garbage. Promoted objects do not
    count towards the next full collection, so garbage promoted with them (a dropped manager's
    botocore cycles, holding the parse it was built from) waits for one that other work starts:
    at most one promotion between two full collections, or managers built again and again pile
    up (review 42: 556 MB after 120 constructions at 10,000 profiles, 135 MB with this rule).
    Nothing is done when anyone has frozen objects (a server that forks keeps them out of
    collections on purpose) or where the interpreter has no ``gc.freeze``.
    """
    global _promoted_after
    freeze, unfreeze, frozen = (getattr(gc, name, None) for name in ("freeze", "unfreeze", "get_freeze_count"))
    if freeze is None or unfreeze is None or frozen is None or frozen():
        return
    full = gc.get_stats()[-1]["collections"]
    if full == _promoted_after:  # promoted already since the last full collection: this table ages as usual
        return
    freeze()
    unfreeze()
    _promoted_after = full


@dataclass(frozen=True)
class FileSnapshot:
    """One file as botocore reads it, at one moment.

    ``sections`` is botocore's ``raw_config_parse`` result (empty when the file
    is missing or untrusted); ``error`` says why a file that exists cannot be
    used. ``key`` identifies the version read (device, inode, size, mtime,
    ctime) and ``data`` is its content.
    """

    path: str
    exists: bool
    sections: dict[str, dict[str, Any]] = field(repr=False)
    error: ConfigFileError | None = None
    key: tuple[int, ...] | None = None
    mode: int | None = None
    # The bytes parsed: comparing them is how a cached parse proves it is current
    # (several times cheaper than hashing again; the parse holds the same secrets anyway).
    data: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def real_path(self) -> str:
        return os.path.realpath(self.path)


class Changed(Exception):
    """The file changed while it was being read."""


def stat_key(st: os.stat_result) -> tuple[int, ...]:
    """The identity of one version of a file: device, inode, size, mtime and ctime (ns)."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def stat_regular(path: str) -> os.stat_result | None:
    """stat() that refuses anything but a regular file (ConfigFileError); ``None`` when absent."""
    problem = None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        problem = "a folder on its path is a file"
    except PermissionError:
        problem = "cannot be reached (permission denied)"
    except OSError as exc:  # a symlink loop, a name too long, an I/O error
        problem = f"cannot be reached ({exc.strerror or type(exc).__name__})"
    if problem is not None:
        raise ConfigFileError(path, problem)
    if stat.S_ISDIR(st.st_mode):
        raise ConfigFileError(path, "is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        # A FIFO would block a reader forever; devices and sockets make no sense here.
        raise ConfigFileError(path, "is not a regular file (a pipe, socket or device); it is not read")
    return st


def read_bytes(path: str) -> bytes:
    """The whole content of ``path``; ConfigFileError when it cannot be read."""
    problem = None
    try:
        with open(path, "rb") as f:
            return f.read()
    except PermissionError:
        # botocore would silently read this file as empty: say so instead.
        problem = "cannot be read (permission denied); botocore would ignore it"
    except OSError as exc:
        problem = f"cannot be read ({exc.strerror or type(exc).__name__})"
    raise ConfigFileError(path, problem)


def _line_of_offset(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _parse_error(path: str, error: BaseException, data: bytes) -> ConfigFileError:
    """Translate a parser error into ours, keeping line numbers but never line text."""
    if not isinstance(error, (UnicodeDecodeError, configparser.ParsingError)):
        # configparser notes a line it cannot read and goes on, so a later duplicate can be what it
        # reports (an unclosed "[profile x" makes the next keys repeat the section before): name the
        # first line that cannot be read instead.
        try:
            scan(data.decode("utf-8"))
        except EditError as exc:
            if exc.lineno is not None and exc.lineno < (getattr(error, "lineno", None) or exc.lineno + 1):
                return ConfigFileError(path, "this line is not 'key = value', a [section] or a comment", exc.lineno)
        except UnicodeDecodeError:
            pass
    if isinstance(error, configparser.MissingSectionHeaderError):
        return ConfigFileError(path, "this line is outside any [section]; the file must start with a header such as [default]", error.lineno)
    if isinstance(error, configparser.DuplicateSectionError):
        name = shown_name(error.section)
        what = f"section [{name}]" if name else "a section"
        return ConfigFileError(path, f"{what} appears twice (an earlier line has the same header)", error.lineno)
    if isinstance(error, configparser.DuplicateOptionError):
        key, section = shown_name(error.option), shown_name(error.section)
        what = f"key '{key}'" if key else "a key"
        where = f" of section [{section}]" if section else ""
        return ConfigFileError(path, f"{what}{where} appears twice", error.lineno)
    if isinstance(error, configparser.ParsingError):
        linenos = [lineno for lineno, _ in error.errors]
        more = f" (and {len(linenos) - 1} more line(s))" if len(linenos) > 1 else ""
        return ConfigFileError(path, f"this line is not 'key = value', a [section] or a comment{more}", linenos[0] if linenos else None)
    if isinstance(error, UnicodeDecodeError):
        lineno = None
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            lineno = _line_of_offset(data, exc.start)
        return ConfigFileError(path, "the file is not UTF-8 text", lineno)
    if isinstance(error, ValueError):
        lineno = nested_block_error_line(data.decode("utf-8", errors="replace"))
        return ConfigFileError(path, "a line of an indented (nested) block has no '='", lineno)
    return ConfigFileError(path, f"botocore cannot parse it ({type(error).__name__})")


def botocore_parse(path: str, data: bytes) -> dict[str, dict[str, Any]]:
    """botocore's parse of ``path``, which must still hold ``data``; raises ConfigFileError.

    botocore opens the file itself, so the bytes are read again afterwards: a
    file changed meanwhile raises :class:`Changed` rather than pairing one
    version's bytes with another's parse.
    """
    import botocore.configloader
    import botocore.exceptions

    if data.startswith(BOM):
        raise ConfigFileError(
            path,
            "starts with a UTF-8 byte-order mark (often left by a Windows editor); "
            "botocore rejects every profile in it",
            1,
        )
    from . import _fastini

    problem: ConfigFileError | None = None
    try:
        # The fast reader parses exactly these bytes (no second read needed), and is proven equal to
        # botocore's (tests/test_fastini.py); it says Unsupported for anything it is not proven on.
        return _fastini.parse(data, path)
    except _fastini.Unsupported:
        pass
    except botocore.exceptions.ConfigParseError as exc:
        problem = _parse_error(path, exc.kwargs.get("error", exc), data)
    if problem is not None:
        raise problem  # outside the except block: the offending line is not even the __context__
    try:
        sections = botocore.configloader.raw_config_parse(path)
    except botocore.exceptions.ConfigNotFound:
        raise Changed from None
    except botocore.exceptions.ConfigParseError as exc:
        # exc.kwargs["error"] quotes the offending line, which may hold a key: it is
        # translated here and raised outside this block, so it is not even the __context__.
        problem = _parse_error(path, exc.kwargs.get("error", exc), data)
    if read_bytes(path) != data:
        raise Changed
    if problem is not None:
        raise problem
    return sections


def read_file(path: str | os.PathLike[str]) -> FileSnapshot:
    """Read one shared file with botocore's parser; never raises for a bad file.

    A missing file reads as empty (``exists=False``). Anything that stops
    botocore from trusting the file -- not a regular file (a directory, a FIFO,
    which is never opened), unreadable, not UTF-8, a line botocore rejects --
    is returned as ``error`` with empty ``sections``.
    """
    path = expand_path(path)
    for _ in range(5):
        try:
            st = stat_regular(path)
            if st is None:
                return FileSnapshot(path, False, {})
            data = read_bytes(path)
            key, mode = stat_key(st), stat.S_IMODE(st.st_mode)
            try:
                with gc_paused():
                    sections = botocore_parse(path, data)
            except ConfigFileError as exc:
                # Kept without its traceback: its frames hold the file's bytes.
                return FileSnapshot(path, True, {}, exc.with_traceback(None), key, mode, data)
            after = stat_regular(path)
        except Changed:
            continue
        except ConfigFileError as exc:
            return FileSnapshot(path, True, {}, exc.with_traceback(None))
        if after is not None and stat_key(after) == key:
            snap = FileSnapshot(path, True, sections, None, key, mode, data)
            _remember(path, snap)
            return snap
    # Changing under our feet on every try: report it rather than guess.
    return FileSnapshot(path, True, {}, ConfigFileError(path, "kept changing while being read; try again"))


_cache: dict[str, FileSnapshot] = {}
_cache_lock = threading.Lock()
# For telling an in-place rewrite from a finished file (awswidget.settle): the last version of each
# file that held something, and the identity of the version this process wrote last. An empty read
# never becomes the reference: it is exactly what a file looks like mid-rewrite.
_held_content: dict[str, FileSnapshot] = {}
_written: dict[str, tuple[int, ...]] = {}


def _remember(path: str, snap: FileSnapshot) -> None:
    with _cache_lock:
        _cache[path] = snap
        if snap.error is None and snap.exists and snap.data:
            _held_content[path] = snap


def history(path: str) -> tuple[FileSnapshot | None, tuple[int, ...] | None]:
    """(the last version of ``path`` seen holding content, the identity of the version last written here)."""
    with _cache_lock:
        return _held_content.get(path), _written.get(path)


def cached_snapshot(path: str) -> FileSnapshot | None:
    """The last good version of ``path`` this process read or wrote (not checked against the disk)."""
    with _cache_lock:
        return _cache.get(path)


def forget_cached(path: str | None = None) -> None:
    """Drop the cached parse of ``path`` (of every file when ``None``)."""
    with _cache_lock:
        for table in (_cache, _held_content, _written):
            if path is None:
                table.clear()
            else:
                table.pop(path, None)


def read_file_cached(path: str | os.PathLike[str]) -> FileSnapshot:
    """:func:`read_file`, reusing the last parse while the file is unchanged on disk.

    The file's identity (device, inode, size, mtime, ctime) and its content
    are checked on every call -- timestamps alone can miss a same-size edit
    made within one clock tick -- so edits made by other programs are seen at
    once. Only botocore's parse is saved.
    """
    path = expand_path(path)
    hit = cached_snapshot(path)
    if hit is not None:
        try:
            st = stat_regular(path)
            if st is None:
                if not hit.exists:
                    return hit
            elif hit.key == stat_key(st) and hit.data is not None and hit.data == read_bytes(path):
                return hit
        except ConfigFileError:
            pass
    snap = read_file(path)
    _remember(path, snap)
    return snap


def same_version(snapshot: FileSnapshot, st: os.stat_result, data: bytes) -> bool:
    """Whether ``snapshot`` parsed exactly this version of the file (identity and content)."""
    if snapshot.error is not None or snapshot.key != stat_key(st):
        return False
    return snapshot.data is not None and snapshot.data == data


def remember_read(path: str, st: os.stat_result, sections: dict[str, Any], data: bytes) -> None:
    """Cache a good parse of one version of ``path`` read by the writer."""
    _remember(path, FileSnapshot(path, True, sections, None, stat_key(st), stat.S_IMODE(st.st_mode), data))


def remember_written(path: str, real: str, sections: dict[str, Any], data: bytes) -> None:
    """Cache what botocore read back from the file just written, so the next read need not parse it."""
    try:
        st = os.stat(real)
    except OSError:
        st = None
    with _cache_lock:
        _cache.pop(real, None)
        _cache.pop(path, None)
    if st is not None:
        # Should another program have replaced it since, the bytes no longer match and
        # read_file_cached parses the file again.
        _remember(path, FileSnapshot(path, True, sections, None, stat_key(st), stat.S_IMODE(st.st_mode), data))
        with _cache_lock:
            _written[path] = stat_key(st)
