"""Crashes and full disks: a write either happens completely or not at all.

* SIGKILL at random moments during writes of a 10,000-profile credentials file:
  every trial leaves exactly the old or the new content, never a torn file, and
  the temporary files of killed writers are swept by the next write.
* A real full disk (a 64 KiB tmpfs in a private mount namespace: ENOSPC), a file
  size limit (RLIMIT_FSIZE: EFBIG) and a read-only file system (EROFS, which
  stops root too): a clear ``WriteError``, the file unchanged, nothing left behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import botocore.configloader
import pytest

from awswidget import files
from awswidget._ini import IniDocument
from tests.helpers import ROOT, SECRET, run_child
from tests.helpers.crash_zygote import A, B

PROFILES = 10_000


def _big_credentials(path: Path) -> None:
    lines = [f"[profile-{i:05d}]\naws_access_key_id = AKIA{i:016d}\naws_secret_access_key = {SECRET}\n\n" for i in range(PROFILES)]
    path.write_text("".join(lines) + f"[crash-target]\naws_access_key_id = {A}\n")
    path.chmod(0o600)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_sigkill_at_random_moments_never_tears_the_file(tmp_path: Path) -> None:
    folder = tmp_path / ".aws"
    folder.mkdir(mode=0o700)
    path = folder / "credentials"
    _big_credentials(path)
    old_text = path.read_text()
    doc = IniDocument(old_text)
    doc.set("crash-target", {"aws_access_key_id": B})
    contents = {hashlib.sha256(old_text.encode()).hexdigest(): "A", hashlib.sha256(doc.text().encode()).hexdigest(): "B"}
    trials = int(os.environ.get("AWSWIDGET_CRASH_TRIALS", "200"))
    rng = random.Random(20240607)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {"PYTHONPATH": str(ROOT)}
    zygote = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.crash_zygote", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert zygote.stdin is not None and zygote.stdout is not None

    def ask(command: str) -> str:
        zygote.stdin.write(command + "\n")  # type: ignore[union-attr]
        zygote.stdin.flush()  # type: ignore[union-attr]
        return zygote.stdout.readline().strip()  # type: ignore[union-attr]

    started = time.perf_counter()
    outcome = {"old": 0, "new": 0, "corrupt": 0}
    mid_write = 0
    temp_seen: set[str] = set()
    try:
        write_seconds = float(ask("time"))
        for _ in range(trials):
            before = _digest(path)
            pid = int(ask("fork"))
            # The random moment of the kill, uniform over about two and a half writes (the child writes in a
            # loop): under load a write takes longer than the measured one, and a window of one write only
            # landed every kill before the first rename (200 of 200 "old" once, at load ~10). This is the
            # experiment's random delay, not a wait for anything.
            threading.Event().wait(rng.uniform(0, 2.5 * write_seconds))
            os.kill(pid, signal.SIGKILL)
            status = int(ask(f"reap {pid}"))
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, "the writer stopped on its own"
            after = _digest(path)
            if after not in contents:
                outcome["corrupt"] += 1
            else:
                outcome["old" if after == before else "new"] += 1
            temps = files.temp_files(str(path))
            mid_write += bool(temps)
            temp_seen.update(temps)
    finally:
        zygote.stdin.close()
        zygote.wait(timeout=60)
    left_before_sweep = len(files.temp_files(str(path)))
    files.update_file(path, lambda doc, _s: doc.set("crash-target", {"aws_secret_access_key": SECRET}))
    swept = [t for t in temp_seen if not os.path.exists(t)]
    seconds = time.perf_counter() - started
    print(
        f"\ncrash trials: {trials} SIGKILLs during writes of a {PROFILES:,}-profile file "
        f"({path.stat().st_size / 1e6:.1f} MB, {write_seconds:.2f} s per write): "
        f"old content {outcome['old']}, new content {outcome['new']}, corrupt {outcome['corrupt']}; "
        f"killed with a temp file on disk {mid_write}, temp files left {len(temp_seen)} "
        f"({left_before_sweep} still there at the end), swept by the next write {len(swept)}; {seconds:.0f} s"
    )
    assert outcome["corrupt"] == 0 and outcome["old"] + outcome["new"] == trials
    assert outcome["old"] and outcome["new"]  # the kills landed both before and after the rename
    assert files.temp_files(str(path)) == [] and len(swept) == len(temp_seen)
    parsed = botocore.configloader.raw_config_parse(str(path))
    assert len(parsed) == PROFILES + 1 and parsed["crash-target"]["aws_secret_access_key"] == SECRET
    assert (path.stat().st_mode & 0o777) == 0o600


# --------------------------------------------------------------------------- full disk, size limit, read-only


def _private_mount_works() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


needs_mount = pytest.mark.skipif(not _private_mount_works(), reason="needs root and unshare to mount a private tmpfs")
ORIGINAL = "[a]\nx = 1\n"


def _in_private_tmpfs(folder: Path, setup: str, args: dict[str, object]) -> dict[str, object]:
    """Run the child's write on a 64 KiB tmpfs mounted on ``folder`` in a private mount namespace."""
    path = folder / "credentials"
    child = shlex.join([sys.executable, "-m", "tests.helpers.child", "write", json.dumps({"path": str(path), **args})])
    script = (
        f"set -e; mount -t tmpfs -o size=64k,mode=0700 tmpfs {shlex.quote(str(folder))}; "
        f"printf '%s' {shlex.quote(ORIGINAL)} > {shlex.quote(str(path))}; {setup} {child}"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@needs_mount
def test_disk_full_is_a_clear_error_and_the_file_is_unchanged(tmp_path: Path) -> None:
    folder = tmp_path / "full"
    folder.mkdir()
    out = _in_private_tmpfs(folder, "", {"value_size": 200_000})  # the new file cannot fit in 64 KiB
    assert out["error"] == "WriteError"
    assert "No space left on device" in str(out["message"]) and "left unchanged" in str(out["message"])
    assert out["content"] == ORIGINAL
    assert out["listing"] == ["credentials"]  # no temporary file and no lock file left


@needs_mount
def test_read_only_file_system_stops_root_with_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    out = _in_private_tmpfs(folder, f"mount -o remount,ro {shlex.quote(str(folder))};", {})
    assert out["error"] == "WriteError" and "Read-only file system" in str(out["message"])
    assert out["content"] == ORIGINAL and out["listing"] == ["credentials"]


def test_file_size_limit_is_a_clear_error_and_the_file_is_unchanged(tmp_path: Path) -> None:
    """RLIMIT_FSIZE (EFBIG) stands in for a full disk where mounting is not allowed."""
    path = tmp_path / "credentials"
    path.write_text(ORIGINAL)
    out = run_child("write", {"path": str(path), "fsize": 4096, "value_size": 100_000})
    assert out["error"] == "WriteError" and "File too large" in str(out["message"])
    assert path.read_text() == ORIGINAL == out["content"]
    assert files.temp_files(str(path)) == []
