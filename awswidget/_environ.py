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
Python code, subprocesses and native code see the same environment. What this cannot cover is
another thread writing ``os.environ`` itself at the same moment: that is glibc's ``setenv``, as ever.

Where the C environment cannot be reached this way (not Linux, no ``environ`` symbol, an
``os.environ`` that is not the standard mapping), :func:`update` writes ``os.environ`` as usual.
"""

from __future__ import annotations

import collections
import ctypes
import os
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["native", "update"]

KEEP_ARRAYS = 64  # arrays that were live and are kept however old: a reader is never that far behind
KEEP_SECONDS = 10.0

_lock = threading.Lock()
# Memory from C's malloc, not Python objects: the interpreter frees its objects as it exits, while native
# threads still read the environment (a buffer of ctypes' ended a run with a crash at exit).
_strings: dict[bytes, int] = {}  # "NAME=value" -> its address (never freed)
# The arrays made live (address, the moment it was): the one after an array says when it was replaced.
_arrays: collections.deque[tuple[int, float]] = collections.deque()


def _find_environ() -> tuple[ctypes.c_void_p, Any, Any] | None:
    if not sys.platform.startswith("linux"):
        return None
    mapping = os.environ
    if not all(hasattr(mapping, name) for name in ("_data", "encodekey", "encodevalue")):
        return None
    try:
        libc = ctypes.CDLL(None)
        environ = ctypes.c_void_p.in_dll(libc, "environ")
        malloc, free = libc.malloc, libc.free
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
        if _environ is None:
            for name, value in changes.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            return
        encoded = {_encoded_name(name): None if value is None else _encoded_value(value) for name, value in changes.items()}
        _replace(encoded)
        mapping: Any = os.environ
        data: dict[bytes, bytes] = mapping._data  # what os.environ reads from (bytes on POSIX)
        for key, data_value in encoded.items():
            if data_value is None:
                data.pop(key, None)
            else:
                data[key] = data_value


def _encoded_name(name: str) -> bytes:
    mapping: Any = os.environ
    key: bytes = mapping.encodekey(name)  # str only (TypeError), as os.environ takes them
    if not key or b"=" in key or b"\0" in key:
        raise ValueError(f"illegal environment variable name {name!r}")
    return key


def _encoded_value(value: str) -> bytes:
    mapping: Any = os.environ
    data: bytes = mapping.encodevalue(value)
    if b"\0" in data:
        raise ValueError("embedded null byte")
    return data


def _replace(encoded: dict[bytes, bytes | None]) -> None:
    """Make a new array of the current one with ``encoded`` applied, and make it the environment."""
    assert _environ is not None
    entries: list[ctypes.c_void_p | int | None] = []
    done: set[bytes] = set()
    if _environ.value:
        current = ctypes.cast(_environ.value, ctypes.POINTER(ctypes.c_void_p))
        index = 0
        while (address := current[index]) is not None:
            index += 1
            name = ctypes.string_at(address).partition(b"=")[0]
            if name not in encoded:
                entries.append(address)
            elif name not in done:  # a name set twice (by putenv) is replaced once, as unsetenv removes both
                done.add(name)
                if (value := encoded[name]) is not None:
                    entries.append(_string(name, value))
    entries.extend(_string(name, value) for name, value in encoded.items() if name not in done and value is not None)
    entries.append(None)
    array = _allocate(ctypes.sizeof(ctypes.c_void_p) * len(entries))
    (ctypes.c_void_p * len(entries)).from_address(array)[:] = entries
    now = time.monotonic()
    _arrays.append((array, now))
    _environ.value = array
    while len(_arrays) > KEEP_ARRAYS and now - _arrays[1][1] > KEEP_SECONDS:  # replaced long enough ago
        _free(_arrays.popleft()[0])


def _string(name: bytes, value: bytes) -> int:
    entry = name + b"=" + value
    address = _strings.get(entry)
    if address is None:
        address = _strings[entry] = _allocate(len(entry) + 1)
        ctypes.memmove(address, entry + b"\0", len(entry) + 1)
    return address


def _allocate(size: int) -> int:
    address: int | None = _malloc(size)
    if not address:
        raise MemoryError("no memory for the environment")
    return address
