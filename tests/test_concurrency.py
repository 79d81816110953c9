"""Many processes writing the same shared files at once lose nothing.

Writer processes (multiprocessing, spawn) race through rounds behind a barrier:
each adds a profile, updates its previous one (``overwrite=True``) and removes
the one before that, through ``CredentialsManager.add_profile``/``remove_profile``.
After every round the test reads both files with botocore and checks every
profile of every process: present with its latest key and region, or gone.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from pathlib import Path

import botocore.configloader
import botocore.session
import pytest

from tests.helpers.workers import REGIONS, expected_after, writer


def _race(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, processes: int, rounds: int) -> tuple[int, int, float]:
    folder = tmp_path / ".aws"
    config, credentials = folder / "config", folder / "credentials"
    ctx = multiprocessing.get_context("spawn")
    start, end = ctx.Barrier(processes + 1, timeout=300), ctx.Barrier(processes + 1, timeout=300)
    results = ctx.Queue()
    workers = [
        ctx.Process(target=writer, args=(w, str(config), str(credentials), rounds, start, end, results), daemon=True)
        for w in range(processes)
    ]
    for p in workers:
        p.start()
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    lost = 0
    began = time.perf_counter()
    try:
        for r in range(rounds):
            start.wait()  # everyone is ready: go
            end.wait()  # everyone is done with this round
            # strict botocore parses: raise on any torn, duplicated or malformed content
            creds = botocore.configloader.raw_config_parse(str(credentials))
            conf = botocore.configloader.raw_config_parse(str(config))
            expected = expected_after(processes, r)
            for name, (key, region) in expected.items():
                lost += creds.get(name, {}).get("aws_access_key_id") != key
                lost += conf.get(f"profile {name}", {}).get("region") != region
            lost += len(set(creds) - set(expected)) + len({h.removeprefix("profile ") for h in conf} - set(expected))
            assert set(botocore.session.Session().available_profiles) == set(expected)
        seconds = time.perf_counter() - began
        reports = []
        for _ in workers:
            try:
                reports.append(results.get(timeout=120))
            except queue.Empty:
                pytest.fail("a writer process did not report")
    finally:
        for p in workers:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
    errors = [e for _, _, errs in reports for e in errs]
    assert errors == []
    ops = sum(n for _, n, _ in reports)
    return ops, lost, seconds


def test_concurrent_writers_lose_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ops, lost, seconds = _race(tmp_path, monkeypatch, processes=8, rounds=3)
    print(f"\nconcurrency: 8 processes x 3 rounds, {ops} operations, {lost} lost, {seconds:.1f} s")
    assert ops == 8 * (1 + 2 + 3) and lost == 0


@pytest.mark.slow
def test_fifty_writers_five_rounds_lose_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    processes, rounds = 50, 5
    assert rounds <= len(REGIONS)
    ops, lost, seconds = _race(tmp_path, monkeypatch, processes, rounds)
    print(f"\nconcurrency: {processes} processes x {rounds} rounds, {ops} operations, {lost} lost, {seconds:.1f} s")
    assert ops == processes * (1 + 2 + 3 * (rounds - 2)) and lost == 0
