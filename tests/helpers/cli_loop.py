"""Run the real AWS CLI's ``aws configure set`` in a loop (in the CLI's own virtual environment).

Run as ``<awscli-venv>/bin/python cli_loop.py ROUNDS [PAUSE]``, with AWS_CONFIG_FILE and
AWS_SHARED_CREDENTIALS_FILE pointing at the files under test. This is the
CLI's own entry point (``awscli.clidriver``), called once per command like
``aws configure set ...`` but without a new interpreter each time, so it
writes many times a second: every kind of write the CLI makes, each round --

* a new credentials section (the CLI appends it),
* a new config section ``[profile cli-N]`` (appended),
* a key of an existing credentials section (the whole file truncated and rewritten in place),
* the ``[default]`` region of the config (truncated and rewritten in place).

Every write the CLI makes to those two files is recorded (through ``open``,
whatever the CLI's internals): which inode it read last and when, when it
opened the file for writing (the truncation, for a rewrite) and which inode,
when it closed it and which inode the file's name held then, and the section
headers it wrote. The test uses this to tell a loss the CLI caused (a rewrite
of a version read before awswidget's write, a write into a file awswidget had
replaced) from one awswidget caused. ``PAUSE`` (seconds, default 0) makes the
CLI wait up to that long, at random, between its read and its write and
between its truncation and its write, as a loaded machine makes it.

Prints one JSON line: what it set and what it wrote, for the test to find
every value afterwards. Never imported by the test process: awscli replaces
botocore where it is imported.
"""

from __future__ import annotations

import builtins
import json
import os
import random
import re
import sys
import time
from typing import Any

_HEADER = re.compile(r"^\s*\[([^\]\r\n]+)\]", re.M)


def _ino(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


class _Recorder:
    """Wraps ``open`` for the two files: their reads and writes, in order, with times and inodes."""

    def __init__(self, files: dict[str, str], pause: float) -> None:
        self.files = files  # path -> "config" | "credentials"
        self.pause = pause
        self.rng = random.Random(0)
        self.writes: list[dict[str, Any]] = []
        self.last_read: dict[str, tuple[float, int]] = {}
        self.setting: dict[str, str] = {}
        self.real_open = builtins.open

    def _nap(self) -> None:
        if self.pause and self.rng.random() < 0.5:
            time.sleep(self.rng.uniform(0, self.pause))

    def open(self, file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        role = self.files.get(os.path.abspath(file)) if isinstance(file, str) else None
        if role is None or mode not in ("r", "w", "a"):
            return self.real_open(file, mode, *args, **kwargs)
        when = time.time()
        f = self.real_open(file, mode, *args, **kwargs)
        ino = os.fstat(f.fileno()).st_ino
        if mode == "r":
            self.last_read[role] = (when, ino)
            return _Reading(f, self._nap)
        read_t, read_ino = self.last_read.get(role, (None, None))
        entry = {"file": role, "mode": mode, "read_t": read_t, "read_ino": read_ino, "open_t": when, "open_ino": ino}
        entry |= self.setting
        self._nap()
        return _Writing(f, entry, self, str(file))


class _Reading:
    def __init__(self, f: Any, nap: Any) -> None:
        self.f, self.nap = f, nap

    def __enter__(self) -> _Reading:
        return self

    def __exit__(self, *exc: object) -> None:
        self.f.close()
        self.nap()  # between its read and its write: where a busy machine stops it

    def __iter__(self) -> Any:
        return iter(self.f)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.f, name)


class _Writing:
    def __init__(self, f: Any, entry: dict[str, Any], recorder: _Recorder, path: str) -> None:
        self.f, self.entry, self.recorder, self.path = f, entry, recorder, path
        self.parts: list[str] = []

    def __enter__(self) -> _Writing:
        return self

    def write(self, text: str) -> int:
        self.parts.append(text)
        return int(self.f.write(text))

    def __exit__(self, *exc: object) -> None:
        self.f.close()
        self.entry |= {"close_t": time.time(), "close_path_ino": _ino(self.path)}
        self.entry["headers"] = _HEADER.findall("".join(self.parts))
        self.recorder.writes.append(self.entry)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.f, name)


def main() -> None:
    from awscli.clidriver import create_clidriver

    rounds = int(sys.argv[1])
    pause = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    files = {os.path.abspath(os.environ["AWS_CONFIG_FILE"]): "config", os.path.abspath(os.environ["AWS_SHARED_CREDENTIALS_FILE"]): "credentials"}
    recorder = _Recorder(files, pause)
    builtins.open = recorder.open  # this process runs the CLI only
    done = []
    failures = 0
    for n in range(rounds):
        name = f"cli-{n:04d}"
        key = "AKIA" + f"CLI{n:013d}"
        commands = [
            ["configure", "set", "aws_access_key_id", key, "--profile", name],
            ["configure", "set", "region", "eu-central-1", "--profile", name],
            ["configure", "set", "aws_secret_access_key", f"cli-secret-{n:04d}" + "x" * 24, "--profile", name],
            ["configure", "set", "region", f"us-west-{1 + n % 2}"],
        ]
        for args in commands:
            recorder.setting = {"profile": args[5] if len(args) > 5 else "default", "key": args[2]}
            failures += create_clidriver().main(args) != 0
        done.append(name)
    builtins.open = recorder.real_open
    print(
        json.dumps(
            {"profiles": done, "default_region": f"us-west-{1 + (rounds - 1) % 2}", "failures": failures, "writes": recorder.writes}
        )
    )


if __name__ == "__main__":
    main()
