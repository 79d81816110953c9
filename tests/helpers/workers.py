"""Code run by the concurrent writer processes of tests/test_concurrency.py (multiprocessing, spawn)."""

from __future__ import annotations

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


def adder(worker: int, config: str, credentials: str, count: int, results: Any) -> None:
    """Add ``count`` profiles (keys and a region) as fast as the file layer goes (no manager reload between)."""
    from awswidget import settle
    from awswidget.files import SharedFiles
    from awswidget.store import ProfileStore

    store = ProfileStore(SharedFiles(config, credentials), lock_timeout=120)  # four writers and the CLI: long waits
    errors: list[str] = []
    for i in range(count):
        try:
            store.save_keys(
                f"aw{worker}-{i:03d}",
                access_key_id=key_id(worker * 1000 + i, "W"),
                secret_access_key=secret(worker),
                settings={"region": REGIONS[i % len(REGIONS)]},
            )
        except Exception as exc:  # reported to the test, which fails on any
            errors.append(f"worker {worker} profile {i}: {type(exc).__name__}: {exc}")
    results.put((worker, errors, settle.waits))
