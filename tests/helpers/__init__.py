"""Helpers shared by the file-layer tests, and the code their child processes run."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

# The documented example key pair: shaped like real keys, valid for validation.
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
ROLES = ("config", "credentials")


def sha256(path: str | os.PathLike[str]) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def key_id(n: int, tag: str = "") -> str:
    """A distinct, valid AWS-shaped access key ID (AKIA + 16 upper-case letters/digits)."""
    body = (tag.upper() + f"{n:016d}")[-16:]
    return "AKIA" + body


def secret(n: int) -> str:
    """A distinct 40-character secret access key."""
    return f"{n:08d}" + "S" * 32


def corpus_cases() -> dict[str, dict[str, Path]]:
    """Corpus files grouped by stem: ``{"stem": {"config": path, "credentials": path}}``."""
    cases: dict[str, dict[str, Path]] = {}
    for path in sorted(CORPUS.iterdir()):
        stem, _, role = path.name.rpartition(".")
        if role in ROLES:
            cases.setdefault(stem, {})[role] = path
    return cases


ROOT = Path(__file__).resolve().parent.parent.parent


def run_child(action: str, args: dict[str, object], prefix: list[str] | None = None, timeout: float = 120) -> dict[str, object]:
    """Run ``tests.helpers.child ACTION`` (optionally under ``prefix``, e.g. setpriv) and return its JSON."""
    import json
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {
        "PYTHONPATH": str(ROOT),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    done = subprocess.run(
        [*(prefix or []), sys.executable, "-m", "tests.helpers.child", action, json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def patch_stat_key(monkeypatch: object, fake: object) -> None:
    """Make every file-layer module see ``fake`` as the file identity (a file system with coarse times)."""
    from awswidget import fileread, filewrite, settle

    for module in (fileread, filewrite, settle):
        monkeypatch.setattr(module, "stat_key", fake)  # type: ignore[attr-defined]


def as_user(uid: int, action: object) -> tuple[int, str]:
    """Run ``action()`` in a forked child that has become ``uid`` (no groups); return (exit code, what it returned).

    The child keeps the modules this process has imported (another user may not be able to read them),
    so warm them up first by doing the same kind of work in the parent.
    """
    import traceback

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            out = str(action())  # type: ignore[operator]
        except BaseException:
            out, code = traceback.format_exc(), 1
        os.write(write_end, out.encode())
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        out = f.read().decode()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out
