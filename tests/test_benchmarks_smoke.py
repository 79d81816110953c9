"""The benchmark script runs: every row of its table is filled, every ratio divides two medians.

tests/benchmarks/bench.py is a script (pytest does not collect it). This runs
its code at tiny N with one repeat, to keep it from rotting; it asserts no
timing at all, only that each figure was measured (or says why not) and that
the semantic checks inside the benchmark ran.
"""

from __future__ import annotations

import os
import socket
import statistics
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH_DIR = Path(__file__).parent / "benchmarks"


@pytest.fixture(scope="module")
def bench() -> Any:
    sys.path.insert(0, str(BENCH_DIR))
    try:
        import bench as module
    finally:
        sys.path.remove(str(BENCH_DIR))
    return module


@pytest.fixture(scope="module")
def results(bench: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    # No awscli venv here (creating one needs PyPI): the CLI rows must say why they are empty.
    return bench.run([10, 24], bench.Settings.tiny(), tmp_path_factory.mktemp("bench"), cli=False)


def test_generator_is_seeded_and_botocore_reads_exactly_n(bench: Any, tmp_path: Path) -> None:
    import botocore.session

    genfiles = sys.modules["genfiles"]
    first = genfiles.generate(tmp_path / "a", 40)
    second = genfiles.generate(tmp_path / "b", 40)
    assert first.config.read_bytes() == second.config.read_bytes()
    assert first.credentials.read_bytes() == second.credentials.read_bytes()
    session = botocore.session.Session()
    session.set_config_variable("config_file", str(first.config))
    session.set_config_variable("credentials_file", str(first.credentials))
    assert sorted(session.available_profiles) == sorted(first.names)
    assert len(first.names) == 40
    text = first.config.read_text()
    for marker in ("[sso-session ", "source_profile = ", "mfa_serial = ", "credential_process = ", "\n# "):
        assert marker in text, marker
    assert "aws_session_token = " in first.credentials.read_text()


def test_every_row_is_filled_at_every_size(results: Any) -> None:
    for row in results.rows.values():
        sizes = [0] if row.key.startswith("import.") else results.sizes
        for n in sizes:
            cell = row.cells.get(n)
            assert cell is not None, f"{row.key} has no cell at N={n}"
            if row.key.startswith("write.cli") or row.key.startswith("write.vs_cli"):
                assert cell.value is None and "CLI disabled" in cell.note
            elif cell.value is None:
                # Only the picker may be missing, and only while its module is not there.
                assert "ProfilePicker" in cell.note, (row.key, n, cell.note)
            else:
                assert cell.value > 0, (row.key, n)


def test_ratios_divide_two_measured_medians(results: Any) -> None:
    ratio_rows = [row for row in results.rows.values() if row.ratio_of is not None]
    assert {row.key for row in ratio_rows} >= {"picker.ratio", "state.ratio", "switch.speedup", "write.vs_bare", "import.ratio"}
    checked = 0
    for row in ratio_rows:
        top, bottom = (results.rows[key] for key in row.ratio_of)
        for n, cell in row.cells.items():
            if cell.value is None:
                continue
            a, b = top.cells[n], bottom.cells[n]
            assert a.samples and b.samples, "a ratio of something not measured"
            assert a.value == statistics.median(a.samples) and b.value == statistics.median(b.samples)
            assert cell.value == pytest.approx(a.value / b.value, rel=1e-12)
            checked += 1
    assert checked >= 8


def test_switch_semantics_and_no_network_were_checked(results: Any) -> None:
    joined = " ".join(results.checks)
    for n in results.sizes:
        assert f"N={n}: 3 switches resolved the same credentials both ways" in joined
        assert f"N={n}: an external same-size edit" in joined
    assert "no network request was attempted" in joined
    # Every kind of profile was switched to across the run, so each provider was exercised.
    assert "assume-role" in joined and "shared-credentials-file" in joined


def test_table_lists_every_row_and_target(bench: Any, results: Any) -> None:
    table = bench.render(results)
    for row in results.rows.values():
        assert row.label in table
    for target in results.targets:
        assert target.text in table
    assert f"Machine: {os.cpu_count()} cores" in table
    assert "botocore " in table and "Python " in table


def test_socket_guard_refuses_and_records(bench: Any) -> None:
    """Negative control: the guard that backs "no network request" does catch one."""
    attempts: list[str] = []
    with bench.no_network(attempts), pytest.raises(OSError, match="network access refused"):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    assert attempts
    with bench.no_network(attempts), pytest.raises(OSError):
        socket.getaddrinfo("example.com", 443)
    assert len(attempts) == 2


def test_switch_check_tells_profiles_apart(bench: Any, tmp_path: Path) -> None:
    """Negative control: the credentials comparison the switch figure relies on can fail."""
    import boto3

    import awswidget

    gen = sys.modules["genfiles"].generate(tmp_path / "files", 12)
    first, second = [p for p in gen.of_kind("static") if p != "default"][:2]
    with bench.isolated(gen):
        m = awswidget.CredentialsManager()
        m.profile = first
        boto3.client("s3")
        ours = bench._credentials(m.session)
        same, other = (boto3.Session(profile_name=p) for p in (first, second))
        for session in (same, other):
            session.client("s3")
        assert ours == bench._credentials(same)
        assert ours[1] == gen.key_ids[first]
        assert ours != bench._credentials(other)
