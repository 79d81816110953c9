"""awswidget's environment writes: seen alike by Python, native code and children; never an array freed under a reader.

glibc's ``setenv`` frees the environment array that a ``getenv`` in another thread may be walking
(polars' runtime polls one twenty times a second): see ``awswidget._environ``. The invariant that
makes a reader safe is checked directly (a live array is never changed or freed; glibc's own
``setenv`` breaks it, so the check can fail), and end to end in a fresh interpreter where two C threads
call ``getenv`` without pause while the exporter switches 20,000 times (and glibc's own writes, under the
same readers, crash).
"""

from __future__ import annotations

import collections
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from awswidget import _environ

pytestmark = pytest.mark.skipif(not _environ.native(), reason="the native writer is Linux's")

LIBC = ctypes.CDLL(None)
LIBC.getenv.restype = ctypes.c_char_p
LIBC.setenv.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int)
ENVIRON = ctypes.c_void_p.in_dll(LIBC, "environ")
STRESS = Path(__file__).parent / "helpers" / "environ_stress.py"
READER = Path(__file__).parent / "helpers" / "getenv_reader.c"
GLIBC = tuple(int(part) for part in (os.confstr("CS_GNU_LIBC_VERSION") or "glibc 0.0").split()[-1].split(".")[:2])


@pytest.fixture
def names() -> Iterator[list[str]]:
    chosen = [f"AWSWIDGET_TEST_{n}" for n in range(3)]
    yield chosen
    _environ.update(dict.fromkeys(chosen))


def snapshot() -> tuple[int, list[int | None]]:
    """The live array's address and its pointers, up to and with its NULL."""
    base = ENVIRON.value
    assert base
    array = ctypes.cast(base, ctypes.POINTER(ctypes.c_void_p))
    pointers: list[int | None] = []
    while True:
        pointers.append(array[len(pointers)])
        if pointers[-1] is None:
            return base, pointers


def unchanged(base: int, pointers: list[int | None]) -> bool:
    array = ctypes.cast(base, ctypes.POINTER(ctypes.c_void_p))
    return [array[i] for i in range(len(pointers))] == pointers


def child_sees(*names: str) -> list[str | None]:
    code = "import json, os, sys; print(json.dumps([os.environ.get(n) for n in sys.argv[1:]]))"
    out = subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True, check=True).stdout
    import json

    return list(json.loads(out))


def test_a_change_is_seen_by_python_native_code_and_children(names: list[str]) -> None:
    a, b, c = names
    _environ.update({a: "one", b: "zwei \u00e9", c: None})
    assert (os.environ.get(a), os.environ.get(b), os.environ.get(c)) == ("one", "zwei \u00e9", None)
    assert (LIBC.getenv(a.encode()), LIBC.getenv(b.encode()), LIBC.getenv(c.encode())) == (b"one", "zwei \u00e9".encode(), None)
    assert child_sees(a, b, c) == ["one", "zwei \u00e9", None]

    _environ.update({a: None, b: "two"})
    assert (os.environ.get(a), os.environ.get(b)) == (None, "two")
    assert (LIBC.getenv(a.encode()), LIBC.getenv(b.encode())) == (None, b"two")
    assert child_sees(a, b) == [None, "two"]


def test_variables_set_by_glibc_itself_are_kept_and_can_be_changed(names: list[str]) -> None:
    a, b, _ = names
    assert LIBC.setenv(a.encode(), b"by-glibc", 1) == 0  # a C library's own setenv: not in os.environ
    _environ.update({b: "ours"})
    assert LIBC.getenv(a.encode()) == b"by-glibc" and LIBC.getenv(b.encode()) == b"ours"
    _environ.update({a: "changed"})
    assert LIBC.getenv(a.encode()) == b"changed" and os.environ[a] == "changed"


@pytest.mark.parametrize(("change", "error"), [
    ({"A=B": "x"}, ValueError), ({"": "x"}, ValueError), ({"AWSWIDGET_TEST_NUL": "x\0y"}, ValueError),
    ({"AWSWIDGET_TEST_INT": 1}, TypeError),
])
def test_a_name_or_value_the_environment_cannot_hold_changes_nothing(names: list[str], change: dict[str, object],
                                                                    error: type[Exception]) -> None:
    before, pointers = snapshot()
    python_before = dict(os.environ)
    with pytest.raises(error):
        _environ.update({names[0]: "first", **change})  # type: ignore[dict-item]
    assert ENVIRON.value == before and unchanged(before, pointers)
    assert dict(os.environ) == python_before


def test_a_live_array_is_never_changed_or_freed(names: list[str]) -> None:
    _environ.update({names[0]: "start"})
    first = snapshot()
    seen = [first]
    for step in range(_environ.KEEP_ARRAYS):  # adds, changes and removals, each one new array
        _environ.update({names[step % 3]: None if step % 4 == 3 else f"v{step}"})
        seen.append(snapshot())
    addresses = [base for base, _ in seen]
    assert len(set(addresses)) == len(addresses)
    assert all(unchanged(base, pointers) for base, pointers in seen)  # every one still as a reader saw it


@pytest.mark.skipif(GLIBC >= (2, 41), reason="glibc 2.41 keeps the arrays it replaces")
def test_the_check_can_fail_glibcs_own_setenv_changes_the_live_array(names: list[str]) -> None:
    assert LIBC.setenv(names[0].encode(), b"x", 1) == 0  # glibc's array is the live one now
    base, pointers = snapshot()
    assert LIBC.setenv(names[1].encode(), b"y", 1) == 0  # a new name: realloc
    assert ENVIRON.value == base or not unchanged(base, pointers)  # grown in place, or freed under a reader


def test_arrays_are_freed_once_old_and_far_behind(names: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [0.0]
    monkeypatch.setattr(_environ, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))  # _environ's clock only
    # A deque of this test's own: the run's arrays keep their real times (the last one made here stays live
    # when the run's deque comes back, untracked: never freed, which is always safe).
    monkeypatch.setattr(_environ, "_arrays", collections.deque())
    for step in range(_environ.KEEP_ARRAYS * 2):
        _environ.update({names[0]: f"v{step}"})
    assert len(_environ._arrays) == _environ.KEEP_ARRAYS * 2  # all made at one moment: all kept
    clock[0] += _environ.KEEP_SECONDS + 1
    _environ.update({names[0]: "later"})
    assert len(_environ._arrays) == _environ.KEEP_ARRAYS
    assert os.environ[names[0]] == "later" and LIBC.getenv(names[0].encode()) == b"later"


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> str:
    """tests/helpers/getenv_reader.c built: C threads calling getenv in a loop, never needing the GIL."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    assert compiler, "a C compiler builds the native reader (the machine's gcc)"
    library = tmp_path_factory.mktemp("reader") / "reader.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-pthread", "-o", str(library), str(READER)], check=True)
    return str(library)


def stress(tmp_path: Path, reader: str, count: int, *options: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "config"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
               AWS_EC2_METADATA_DISABLED="true")
    return subprocess.run([sys.executable, str(STRESS), str(count), reader, *options], capture_output=True, text=True,
                          env=env, timeout=300)


def test_the_exporter_survives_native_readers_in_a_fresh_interpreter(tmp_path: Path, reader: str) -> None:
    """20,000 switches of the real exporter while two C threads call getenv without pause, as polars' runtime does;
    the readers still run as the interpreter exits."""
    done = stress(tmp_path, reader, 20000)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    exports, reads = re.fullmatch(r"exports (\d+) reads (\d+)\n", done.stdout).groups()  # type: ignore[union-attr]
    assert int(exports) == 20000 and int(reads) > 1_000_000, done.stdout


@pytest.mark.skipif(GLIBC >= (2, 41), reason="glibc 2.41 keeps the arrays it replaces: its own writes are safe too")
def test_the_check_can_fail_glibcs_writes_crash_under_the_same_readers(tmp_path: Path, reader: str) -> None:
    """The same load through glibc's setenv (os.environ): a segmentation fault (13 of 13 runs, within 0.6 s)."""
    done = stress(tmp_path, reader, 200000, "--plain")
    assert done.returncode == -signal.SIGSEGV, (done.returncode, done.stdout, done.stderr[-500:])


def test_a_profile_name_the_environment_cannot_carry_is_refused_before_anything_changes(aws_env: Any) -> None:
    """botocore reads a NUL in a section name; os.environ cannot hold one (the switch raised a bare ValueError
    half-way: boto3's default session already replaced, the variables not). A region with one is no region."""
    import boto3

    from awswidget import CredentialsManager, SelectionError

    aws_env.write(config="[default]\nregion = us-east-1\n[profile a\0b]\nregion = eu-west-1\n")
    m = CredentialsManager(profile="default")
    assert "a\0b" in m.profiles
    before = (m.profile, m.region, boto3.DEFAULT_SESSION, os.environ.get("AWS_PROFILE"), os.environ.get("AWS_REGION"))
    with pytest.raises(SelectionError, match="NUL character"):
        m.profile = "a\0b"
    assert (m.profile, m.region, boto3.DEFAULT_SESSION, os.environ.get("AWS_PROFILE"), os.environ.get("AWS_REGION")) == before
    m.release()
