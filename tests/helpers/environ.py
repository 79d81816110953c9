"""The suite's own environment writes, made as safe as awswidget's (see ``awswidget._environ``).

The suite writes the environment thousands of times (every test's ``monkeypatch.setenv``), in a
process where polars' I/O runtime, once a test has read S3 with it, calls ``getenv`` twenty times
a second from a native thread. With glibc's ``setenv`` that ended a CI run with a segmentation
fault in an unrelated test. :func:`install` routes ``os.putenv`` and ``os.unsetenv`` -- what
``os.environ`` calls -- through awswidget's writer for the whole run; awswidget's own code calls
that writer itself (tests/test_environ.py runs it in a fresh interpreter, without this).
"""

from __future__ import annotations

import os
from typing import Any

from awswidget import _environ


def _key(name: Any) -> bytes:
    key = os.fsencode(name)
    if not key or b"=" in key or b"\0" in key:
        raise ValueError("illegal environment variable name")
    return key


def _putenv(name: Any, value: Any) -> None:
    data = os.fsencode(value)
    if b"\0" in data:
        raise ValueError("embedded null byte")
    with _environ._lock:
        _environ._replace({_key(name): data})
        _environ._collect()


def _unsetenv(name: Any) -> None:
    with _environ._lock:
        _environ._replace({_key(name): None})
        _environ._collect()


def install() -> bool:
    """Make every ``os.environ`` write of this process a safe one; False where there is no native writer."""
    if not _environ.native():
        return False
    os.putenv, os.unsetenv = _putenv, _unsetenv
    return True
