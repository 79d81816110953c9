"""Code run by the concurrent writer processes of tests/test_concurrency.py and tests/test_midrewrite.py (spawn)."""

from __future__ import annotations

import os
import time
from typing import Any

from tests.helpers import key_id, secret

REGIONS = ("us-east-1", "eu-west-1", "ap-south-1", "sa-east-1", "ca-central-1", "eu-north-1", "us-west-2")
UPDATED_REGION = "ap-northeast-1"


def profile(worker: int, round_: int) -> str:
    return f"w{worker:02d}-r{round_}"


def original_key(worker: int, round_: int) -> str:
    return key_id(worker * 100 + round_, "A")


def updated_key(worker: int, round_: int) -> str:
    return key_id(worker * 100 + round_, "U")


def expected_after(workers: int, round_: int) -> dict[str, tuple[str, str]]:
    """Every profile that must exist after ``round_``: name -> (access key ID, region)."""
    expected = {}
    for w in range(workers):
        expected[profile(w, round_)] = (original_key(w, round_), REGIONS[round_ % len(REGIONS)])
        if round_ >= 1:
            expected[profile(w, round_ - 1)] = (updated_key(w, round_ - 1), UPDATED_REGION)
    return expected


def writer(worker: int, config: str, credentials: str, rounds: int, start: Any, end: Any, results: Any) -> None:
    """Per round: add a profile, update the previous round's, remove the one before; through the public API."""
    from awswidget.manager import CredentialsManager

    m = CredentialsManager(config_file=config, credentials_file=credentials, export_env=False, install_default=False)
    errors: list[str] = []
    ops = 0
    for r in range(rounds):
        start.wait()
        try:
            m.add_profile(profile(worker, r), original_key(worker, r), secret(worker), region=REGIONS[r % len(REGIONS)])
            ops += 1
            if r >= 1:
                m.add_profile(profile(worker, r - 1), updated_key(worker, r - 1), secret(worker), region=UPDATED_REGION, overwrite=True)
                ops += 1
            if r >= 2:
                m.remove_profile(profile(worker, r - 2))
                ops += 1
        except Exception as exc:  # reported to the test, which fails on any
            errors.append(f"worker {worker} round {r}: {type(exc).__name__}: {exc}")
        end.wait()
    results.put((worker, ops, errors))


def _ino(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def adder(worker: int, config: str, credentials: str, count: int, results: Any) -> None:
    """Add ``count`` profiles (keys and a region) as fast as the file layer goes (no manager reload between).

    Reports ``(worker, errors, settle waits, spans)``: a span per file write,
    ``{"profile", "file", "start", "end", "last_look", "ino_before", "ino_after"}``
    (wall clock; ``last_look``: when the write last looked at the file for
    another program's write; the inode the file's name held before and after).
    """
    from awswidget import filewrite, settle
    from awswidget import store as store_module
    from awswidget.files import SharedFiles
    from awswidget.store import ProfileStore

    roles = {os.path.realpath(config): "config", os.path.realpath(credentials): "credentials"}
    spans: list[dict[str, Any]] = []
    saving: dict[str, Any] = {"profile": "", "span": None}
    real_update: Any = getattr(store_module, "update_file", None)

    # Pass-through probes, not mocks: when each file's write began and returned (under the lock), and
    # when it last looked at the file after its rename (for another program's write). Only awswidget
    # renames (the CLI writes in place), so the inodes before and after tell which write replaced what.
    def timed_update(path: str, edit: Any, **kwargs: Any) -> Any:
        span = {"profile": saving["profile"], "file": roles.get(os.path.realpath(path), path), "start": time.time()}
        span["ino_before"], saving["span"] = _ino(path), span
        try:
            return real_update(path, edit, **kwargs)
        finally:
            span |= {"end": time.time(), "ino_after": _ino(path)}
            saving["span"] = None
            spans.append(span)

    def looking(real_look: Any) -> Any:
        def look(*args: Any) -> Any:
            try:
                return real_look(*args)
            finally:
                if saving["span"] is not None:
                    saving["span"]["last_look"] = time.time()

        return look

    if real_update is not None:  # without it the test can blame nothing on the CLI: it then fails on any loss
        setattr(store_module, "update_file", timed_update)  # noqa: B010 (this process only)
        for name in ("open_version", "changed_since"):  # the looks after the rename (a missing one: the end is used)
            if hasattr(filewrite, name):
                setattr(filewrite, name, looking(getattr(filewrite, name)))
    store = ProfileStore(SharedFiles(config, credentials), lock_timeout=120)  # four writers and the CLI: long waits
    errors: list[str] = []
    for i in range(count):
        saving["profile"] = name = f"aw{worker}-{i:03d}"
        try:
            store.save_keys(
                name,
                access_key_id=key_id(worker * 1000 + i, "W"),
                secret_access_key=secret(worker),
                settings={"region": REGIONS[i % len(REGIONS)]},
            )
        except Exception as exc:  # reported to the test, which fails on any
            errors.append(f"worker {worker} profile {i}: {type(exc).__name__}: {exc}")
    results.put((worker, errors, settle.waits, spans))
