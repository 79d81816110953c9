"""tests/benchmarks/bench_scan.py runs (a script pytest does not collect): at 1 MB, one repeat, without
detect-secrets (no PyPI in the test run). No timing is asserted: every figure was measured or says why not,
each ratio divides two medians, and the notebook it generates is what it claims to be."""

from __future__ import annotations

import base64
import json
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
        import bench_scan as module
    finally:
        sys.path.remove(str(BENCH_DIR))
    return module


def test_generated_notebook_is_big_valid_and_holds_images(bench: Any, tmp_path: Path) -> None:
    path = bench.generate(tmp_path, 2, leak=True)
    assert 2e6 <= path.stat().st_size <= 3e6
    nb = json.loads(path.read_text())
    pngs = [o["data"]["image/png"] for c in nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert pngs and all(base64.b64decode(p).startswith(b"\x89PNG\r\n\x1a\n") for p in pngs)


def test_every_figure_is_measured_and_ratios_divide_medians(bench: Any, tmp_path: Path) -> None:
    results = bench.run(1, 1, tmp_path, use_detect_secrets=False)
    for rows in results.figures.values():
        for key, row in rows.items():
            if key.startswith("detect_secrets"):
                assert row.value is None and "disabled" in row.note
            else:
                assert row.samples and row.value == statistics.median(row.samples) > 0
        for top, bottom in bench.RATIOS:
            r = bench.ratio(rows, top, bottom)
            assert r is None or r == pytest.approx(rows[top].value / rows[bottom].value)
    assert any(c.startswith("clean: ") and c.endswith("awswidget found 0 leak(s)") for c in results.checks)
    assert any(c.startswith("leak: ") and c.endswith("awswidget found 4 leak(s)") for c in results.checks)
    table = bench.render(results)
    assert "## clean" in table and "## leak" in table and "detect-secrets disabled" in table
