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


def _putenv(name: Any, value: Any) -> None:
    with _environ._lock:
        _environ._replace({_environ.checked_name(os.fsencode(name)): _environ.checked_value(os.fsencode(value))})
        _environ._collect()


def _unsetenv(name: Any) -> None:
    with _environ._lock:
        _environ._replace({_environ.checked_name(os.fsencode(name)): None})
        _environ._collect()


def install() -> bool:
    """Make every ``os.environ`` write of this process a safe one; False where there is no native writer."""
    if not _environ.native():
        return False
    os.putenv, os.unsetenv = _putenv, _unsetenv
    return True
