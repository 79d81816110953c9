"""Environment writes that no thread reading the environment can crash on.

glibc before 2.41 grows the environment with ``realloc``: ``os.environ[name] = value`` for a
variable that was not set frees the array that a ``getenv`` in another thread may be walking at
that moment. Native threads do walk it, with nothing to stop them: once polars has read from S3,
its I/O runtime looks up ``POLARS_LOG_CONCURRENCY`` twenty times a second for as long as the
kernel lives; pyarrow's and DuckDB's S3 code read the proxy and ``AWS_*`` variables while a query
runs. A switch exports ``AWS_PROFILE`` and its neighbours, so a switch could end the kernel with a
segmentation fault: after one polars read from S3, plain ``os.environ`` writes crashed the process
within seconds, every time (it ended a CI run too).

:func:`update` therefore never changes an array in place: every change is a new array, made
live with one pointer store, and an array that was live is freed only once 64 later ones have
replaced it and ten seconds have passed (glibc 2.41 stopped freeing them at all). The strings it
points to are never freed, as glibc's own never are; both come from C's ``malloc``, so nothing is
freed when the interpreter exits either. Python's ``os.environ`` mapping is updated to match, so
Python code, subprocesses and native code see the same environment. Another Python thread may write
``os.environ`` (glibc's ``setenv``) while an array is built: the live array is read again just before
the store, with nothing in between that lets another Python thread run, and a change found there
means building again (else that write would be undone, or its freed array walked). What this cannot
cover is a native thread calling ``setenv`` without the GIL at the same moment: that is glibc's, as ever.

Where the C environment cannot be reached this way (not Linux, no ``environ`` symbol, an
``os.environ`` that is not the standard mapping), :func:`update` writes ``os.environ`` as usual.
"""

from __future__ import annotations

import collections
import ctypes
import hashlib
import os
import posix
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["native", "update"]

KEEP_ARRAYS = 64  # arrays that were live and are kept however old: a reader is never that far behind
KEEP_SECONDS = 10.0
ATTEMPTS = 20  # builds while other threads keep changing the environment; then glibc writes it

_lock = threading.Lock()
# Memory from C's malloc, not Python objects: the interpreter frees its objects as it exits, while native
# threads still read the environment (a buffer of ctypes' ended a run with a crash at exit).
# A digest of "NAME=value" -> its address (never freed). The digest, not the text: a secret a Dask worker's
# renewal replaced is not kept in a Python object for the worker's life (C's copy stays, as glibc's does).
_strings: dict[bytes, int] = {}
# The arrays made live (address, the moment it was): the one after an array says when it was replaced.
_arrays: collections.deque[tuple[int, float]] = collections.deque()


def _standard(mapping: object) -> bool:
    """Whether ``mapping`` is os's own environment mapping (its bytes and encoders are what is written)."""
    return all(hasattr(mapping, name) for name in ("_data", "encodekey", "encodevalue"))


def _find_environ() -> tuple[ctypes.c_void_p, Any, Any] | None:
    if not sys.platform.startswith("linux"):
        return None
    if not _standard(os.environ):
        return None
    try:
        libc = ctypes.CDLL(None)
        environ = ctypes.c_void_p.in_dll(libc, "environ")
        # Called holding the GIL (PyDLL): a CDLL call lets other Python threads run, and their os.environ
        # writes would change the array being copied every time (each build allocates).
        held = ctypes.PyDLL(None)
        malloc, free = held.malloc, held.free
    except (OSError, ValueError, AttributeError):
        return None
    malloc.restype, malloc.argtypes = ctypes.c_void_p, (ctypes.c_size_t,)
    free.restype, free.argtypes = None, (ctypes.c_void_p,)
    return environ, malloc, free


_found = _find_environ()
_environ: ctypes.c_void_p | None = _found[0] if _found is not None else None
_malloc: Any = _found[1] if _found is not None else None
_free: Any = _found[2] if _found is not None else None


def native() -> bool:
    """Whether :func:`update` replaces the C environment itself (else it writes ``os.environ``)."""
    return _environ is not None


def update(changes: Mapping[str, str | None]) -> None:
    """Set (a string) or remove (``None``) environment variables, as one change.

    Raises what ``os.environ`` raises for a name or value it cannot hold (``TypeError`` for
    anything but a string, ``ValueError`` for ``=`` in a name or a NUL anywhere), before
    anything changes.
    """
    if not changes:
        return
    with _lock:
        if _environ is None or not _standard(os.environ):  # a notebook may have put a dict in its place since
            for name, value in changes.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            return
        encoded = {_encoded_name(name): None if value is None else _encoded_value(value) for name, value in changes.items()}
        mapping: Any = os.environ
        data: dict[bytes, bytes] = mapping._data  # what os.environ reads from (bytes on POSIX)
        _replace(encoded)
        for key, data_value in encoded.items():  # at once: a Ctrl-C in between would leave the two apart
            if data_value is None:
                data.pop(key, None)
            else:
                data[key] = data_value
        _collect()


def _encoded_name(name: str) -> bytes:
    mapping: Any = os.environ
    return checked_name(mapping.encodekey(name))  # str only (TypeError), as os.environ takes them


def _encoded_value(value: str) -> bytes:
    mapping: Any = os.environ
    return checked_value(mapping.encodevalue(value))


def checked_name(key: bytes) -> bytes:
    """``key`` if the C environment can hold it as a name (ValueError as os.putenv's otherwise)."""
    if not key or b"=" in key or b"\0" in key:
        raise ValueError(f"illegal environment variable name {os.fsdecode(key)!r}")
    return key


def checked_value(data: bytes) -> bytes:
    """``data`` if the C environment can hold it as a value (never quoted: it may be a secret)."""
    if b"\0" in data:
        raise ValueError("embedded null byte")
    return data


def _replace(encoded: dict[bytes, bytes | None]) -> None:
    """Make a new array of the current one with ``encoded`` applied, and make it the environment."""
    assert _environ is not None
    fresh = {name: _string(name, value) for name, value in encoded.items() if value is not None}
    for _attempt in range(ATTEMPTS):
        base, pointers = _live()
        if pointers is None:
            continue
        array = _build(pointers, encoded, fresh)
        now = time.monotonic()
        view = (ctypes.c_void_p * len(pointers)).from_address(base) if base else None
        # No call from this check to the store: no other Python thread's setenv can come in between.
        if _environ.value == base and (view is None or view[:] == pointers):
            _environ.value = array
            _arrays.append((array, now))
            return
        _free(array)  # never live
    # Changed under every build (a native thread's setenv in a loop): glibc's own writes, as before this module.
    for name, value in encoded.items():
        if value is None:
            posix.unsetenv(name)
        else:
            posix.putenv(name, value)


def _live() -> tuple[int | None, list[int | None] | None]:
    """The live array and its pointers (with the final NULL); None for the pointers if it changed meanwhile.

    Only the array is read until it is known to have been live as a whole: a pointer read from an array
    that another thread's setenv freed meanwhile is never followed. Its strings are never freed.
    """
    assert _environ is not None
    base = _environ.value
    if not base:
        return base, [None]
    current = ctypes.cast(base, ctypes.POINTER(ctypes.c_void_p))
    pointers: list[int | None] = []
    while (address := current[len(pointers)]) is not None:
        pointers.append(address)
    pointers.append(None)
    view = (ctypes.c_void_p * len(pointers)).from_address(base)
    if _environ.value != base or view[:] != pointers:  # nothing between the two reads: one moment's array
        return base, None
    return base, pointers


def _build(pointers: list[int | None], encoded: dict[bytes, bytes | None], fresh: dict[bytes, int]) -> int:
    entries: list[int | None] = []
    done: set[bytes] = set()
    for address in pointers[:-1]:
        assert address is not None  # only the last one is NULL
        name = ctypes.string_at(address).partition(b"=")[0]
        if name not in encoded:
            entries.append(address)
        elif name not in done:  # a name set twice (by putenv) is replaced once, as unsetenv removes both
            done.add(name)
            if encoded[name] is not None:
                entries.append(fresh[name])
    entries.extend(address for name, address in fresh.items() if name not in done)
    entries.append(None)
    array = _allocate(ctypes.sizeof(ctypes.c_void_p) * len(entries))
    (ctypes.c_void_p * len(entries)).from_address(array)[:] = entries  # type: ignore[assignment]
    return array


def _collect() -> None:
    """Free the arrays replaced long enough ago (the one after an array says when it was replaced)."""
    while len(_arrays) > KEEP_ARRAYS and time.monotonic() - _arrays[1][1] > KEEP_SECONDS:
        _free(_arrays.popleft()[0])


def _string(name: bytes, value: bytes) -> int:
    entry = name + b"=" + value
    digest = hashlib.blake2b(entry, digest_size=20).digest()
    address = _strings.get(digest)
    if address is not None and ctypes.string_at(address) == entry:
        return address
    address = _allocate(len(entry) + 1)
    (ctypes.c_char * (len(entry) + 1)).from_address(address).raw = entry + b"\0"
    _strings.setdefault(digest, address)
    return address


def _allocate(size: int) -> int:
    address: int | None = _malloc(size)
    if not address:
        raise MemoryError("no memory for the environment")
    return address


def _after_fork() -> None:
    # fork() copies the lock as it was: held, if another thread of the parent was writing at that moment.
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
