"""Regression tests for what review 44 found in awswidget._environ (one behaviour each).

The writer built a new array from the live one and stored it, releasing the GIL in between (malloc):
what another Python thread's ``os.environ`` write (glibc's ``setenv``/``unsetenv``) did meanwhile was
undone at the C level while ``os.environ`` kept it, and a walk of an array that setenv had just
realloc'd could crash. Before the writer, glibc's lock and the GIL ordered the two: nothing was lost.
Also: a child forked mid-update, a Ctrl-C after the swap, and old secrets kept in a Python dict.
"""

from __future__ import annotations

import ctypes
import gc
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from awswidget import _environ

pytestmark = pytest.mark.skipif(not _environ.native(), reason="the native writer is Linux's")

LIBC = ctypes.CDLL(None)
LIBC.getenv.restype = ctypes.c_char_p
LIBC.getenv.argtypes = (ctypes.c_char_p,)
LIBC.setenv.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int)
LIBC.unsetenv.argtypes = (ctypes.c_char_p,)
NAMES = ("AWSWIDGET_R44_OURS", "AWSWIDGET_R44_THEIRS", "AWSWIDGET_R44_OTHER")


@pytest.fixture
def clean() -> Iterator[None]:
    yield
    for name in NAMES:
        LIBC.unsetenv(name.encode())
    _environ.update(dict.fromkeys(NAMES))
    for name in NAMES:
        os.environ._data.pop(name.encode(), None)  # type: ignore[attr-defined]


def _glibc(action: str) -> Callable[[], None]:
    """What another thread's ``os.environ`` write does: glibc's call, then the mapping (as os.environ does)."""
    def run() -> None:
        data: Any = os.environ._data  # type: ignore[attr-defined]
        if action == "add":
            assert LIBC.setenv(b"AWSWIDGET_R44_THEIRS", b"theirs", 1) == 0
            data[b"AWSWIDGET_R44_THEIRS"] = b"theirs"
        elif action == "replace":
            assert LIBC.setenv(b"AWSWIDGET_R44_OTHER", b"changed", 1) == 0
            data[b"AWSWIDGET_R44_OTHER"] = b"changed"
        else:
            assert LIBC.unsetenv(b"AWSWIDGET_R44_OTHER") == 0
            data.pop(b"AWSWIDGET_R44_OTHER", None)
    return run


@pytest.mark.parametrize("action", ["add", "replace", "remove"])
def test_a_write_of_another_thread_while_the_array_is_built_is_kept(action: str, clean: None,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Another thread runs while update() is between reading the live array and storing its own (the GIL
    went to it at a malloc, or at a switch between two bytecodes): its write must not be undone."""
    _environ.update({"AWSWIDGET_R44_OTHER": "before"})
    other = _glibc(action)
    real_monotonic = _environ.time.monotonic
    fired: list[bool] = []

    def built_then_other_thread() -> float:  # called once the new array is built, before it is stored
        if not fired:
            fired.append(True)
            other()
        return real_monotonic()

    monkeypatch.setattr(_environ.time, "monotonic", built_then_other_thread)
    _environ.update({"AWSWIDGET_R44_OURS": "ours"})
    assert fired
    expected = {"add": (b"theirs", b"before"), "replace": (None, b"changed"), "remove": (None, None)}[action]
    assert (LIBC.getenv(b"AWSWIDGET_R44_THEIRS"), LIBC.getenv(b"AWSWIDGET_R44_OTHER")) == expected
    assert LIBC.getenv(b"AWSWIDGET_R44_OURS") == b"ours"
    for name in NAMES:  # and os.environ says the same as C
        value = LIBC.getenv(name.encode())
        assert os.environb.get(name.encode()) == value, name


RACE = textwrap.dedent("""
    import ctypes, os, sys, threading
    from awswidget import _environ
    libc = ctypes.CDLL(None); libc.getenv.restype = ctypes.c_char_p; libc.getenv.argtypes = (ctypes.c_char_p,)
    sys.setswitchinterval(1e-5)  # many switches: many chances for the other thread to write mid-update
    for i in range(200):
        os.environ[f"R44_PAD{i}"] = "x" * 10
    go, paused, stop = threading.Event(), threading.Event(), [False]
    def theirs():
        n = 0
        while not stop[0]:
            if not go.is_set():
                paused.set(); go.wait(); paused.clear()
            n += 1
            os.environ[f"R44_THEIRS{n % 20}"] = str(n)  # glibc's setenv: new names and replacements
            if n % 3 == 0:
                os.environ.pop(f"R44_THEIRS{(n - 1) % 20}", None)
    thread = threading.Thread(target=theirs, daemon=True)
    go.set(); thread.start()
    lost = 0
    for batch in range(20):
        for i in range(300):
            _environ.update({f"R44_OURS{i % 7}": str(i), f"R44_OURS{(i + 3) % 7}": None})
        go.clear(); paused.wait()
        names = [f"R44_THEIRS{j}" for j in range(20)] + [f"R44_OURS{j}" for j in range(7)]
        lost += sum(libc.getenv(n.encode()) != os.environb.get(n.encode()) for n in names)
        go.set()
    stop[0] = True; go.set(); thread.join()
    print("lost", lost)
""")


def test_writes_of_another_python_thread_during_updates_are_not_lost() -> None:
    """End to end, in a fresh interpreter (the suite routes os.environ through the writer): a thread writing
    os.environ (glibc) while another updates; at every pause, C and os.environ agree on every variable."""
    done = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "lost 0"


def test_a_forked_child_can_write_while_the_parent_was_mid_update(clean: None) -> None:
    """fork() copies a held lock as held: a child forked while another thread of the parent was in update()
    (the suite routes every os.environ write through it) must still be able to write its environment."""
    import threading

    held, release = threading.Event(), threading.Event()

    def writer_mid_update() -> None:
        with _environ._lock:  # where update() is while it builds an array
            held.set()
            release.wait()

    thread = threading.Thread(target=writer_mid_update)
    thread.start()
    held.wait()
    try:
        pid = os.fork()
        if pid == 0:  # the child: one thread, a lock copied as held
            import signal

            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.alarm(5)  # a deadlock ends the child with SIGALRM, not the run
            _environ.update({"AWSWIDGET_R44_OURS": "child"})
            os._exit(0 if LIBC.getenv(b"AWSWIDGET_R44_OURS") == b"child" else 3)
        _, status = os.waitpid(pid, 0)
    finally:
        release.set()
        thread.join()
    assert os.waitstatus_to_exitcode(status) == 0


def test_an_interrupt_while_old_arrays_are_freed_leaves_os_environ_and_c_agreeing(
        clean: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C arrives between bytecodes; freeing arrays that are long gone is after the swap: it must not
    leave the C environment changed and os.environ not."""
    for step in range(_environ.KEEP_ARRAYS + 2):
        _environ.update({"AWSWIDGET_R44_OTHER": f"v{step}"})
    monkeypatch.setattr(_environ, "KEEP_SECONDS", -1.0)  # every array but the last 64 is old enough now

    real_free, raised = _environ._free, list[int]()

    def interrupted(address: int) -> None:
        if not raised:  # once: pytest's own os.environ writes go through the writer too
            raised.append(address)
            raise KeyboardInterrupt
        real_free(address)

    monkeypatch.setattr(_environ, "_free", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _environ.update({"AWSWIDGET_R44_OURS": "set"})
    assert LIBC.getenv(b"AWSWIDGET_R44_OURS") == os.environb.get(b"AWSWIDGET_R44_OURS")


def test_a_replaced_secret_is_not_kept_in_a_python_object(clean: None) -> None:
    """The Dask plugin sets a worker's session credentials through update(): once renewed, the old secret
    must not stay reachable from Python for the worker's life (C's copy stays, as glibc's always did)."""
    old, new = "R44oldSecretValueWJalrXUtnFEMIK7MDENG", "R44newSecretValuebPxRfiCYEXAMPLEKEY00"
    _environ.update({"AWSWIDGET_R44_OURS": old})
    _environ.update({"AWSWIDGET_R44_OURS": new})
    del old  # only the literal in this function's code object remains; look for what the writer holds
    gc.collect()
    held = [k for k in _environ._strings if isinstance(k, bytes) and b"R44oldSecretValue" in k]
    assert held == []
    assert LIBC.getenv(b"AWSWIDGET_R44_OURS") == new.encode()


def test_an_environment_that_changes_under_every_build_is_written_by_glibc(clean: None,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The new check's way out (a native thread's setenv in a loop would change every array read): the change
    is still made, by glibc as before the writer, and no exception leaves update()."""
    _environ.update({"AWSWIDGET_R44_OTHER": "before"})
    monkeypatch.setattr(_environ, "_live", lambda: (_environ._environ.value, None))  # type: ignore[union-attr]
    _environ.update({"AWSWIDGET_R44_OURS": "glibc", "AWSWIDGET_R44_OTHER": None})
    assert (LIBC.getenv(b"AWSWIDGET_R44_OURS"), LIBC.getenv(b"AWSWIDGET_R44_OTHER")) == (b"glibc", None)
    assert (os.environ.get("AWSWIDGET_R44_OURS"), os.environ.get("AWSWIDGET_R44_OTHER")) == ("glibc", None)


def test_an_os_environ_replaced_by_a_dict_is_written_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """A notebook that did ``os.environ = dict(os.environ)``: a switch must not end in AttributeError
    (manager methods raise only AwsWidgetError); the dict is written, as it was before the writer."""
    replaced = dict(os.environ)
    monkeypatch.setattr(os, "environ", replaced)
    _environ.update({"AWSWIDGET_R44_OURS": "in the dict"})
    assert replaced["AWSWIDGET_R44_OURS"] == "in the dict"
