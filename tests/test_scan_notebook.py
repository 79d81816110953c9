"""Notebooks: a key planted in each place is found there (recall), the fast path agrees with the full walk."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pytest

from awswidget.scan import scan_file, scan_notebook, scan_notebook_bytes
from awswidget.scan.notebook import may_hold_credentials
from tests.scan_support import Keys, cell, clean_cell, notebook, planted, write

KEYS = Keys.new()
PLACES = planted(KEYS)
WHERE = {
    "stream output": "output", "execute_result text/plain": "output", "display_data text/html": "output",
    "error traceback": "output", "application/json output": "output", "presigned URL": "output",
    "widget state Password": "widget state", "widget state Text": "widget state", "attachment": "attachment",
    "cell metadata": "metadata", "notebook metadata": "metadata",
    "temporary key and token signature": "output+source",
}


@pytest.mark.parametrize("place", sorted(PLACES))
def test_each_place_is_found_and_located(place: str, tmp_path: Path) -> None:
    nb, expected = PLACES[place]
    path = write(tmp_path / "leak.ipynb", nb)
    found = [f for f in scan_file(path) if f.leak]
    assert len(found) == expected, [f.describe() for f in found]
    assert "+".join(sorted({f.where for f in found})) == WHERE.get(place, "source")
    assert all(f.path == str(path) for f in found)
    if WHERE.get(place) != "widget state" and place != "notebook metadata":
        cells = [i for i, c in enumerate(nb["cells"]) if "outputs" in c or "attachments" in c or c["cell_type"] == "markdown"]
        assert {f.cell for f in found} <= set(cells)


def test_recall_on_the_positive_corpus(tmp_path: Path) -> None:
    """Every credential planted, in every place, is found: recall is 1.0 (printed for the report)."""
    planted_total = found_total = 0
    for name, (nb, expected) in PLACES.items():
        found = [f for f in scan_file(write(tmp_path / f"{abs(hash(name))}.ipynb", nb)) if f.leak]
        planted_total += expected
        found_total += min(len(found), expected)
    print(f"recall {found_total}/{planted_total} = {found_total / planted_total:.3f} over {len(PLACES)} places")
    assert found_total == planted_total


def test_execution_count_and_output_index_are_reported() -> None:
    nb, _ = PLACES["source boto3.client kwargs"]
    nb["cells"][1]["execution_count"] = 7
    key = next(f for f in scan_notebook(nb, "n.ipynb") if f.kind == "access_key_id")
    assert (key.cell, key.execution_count, key.line) == (1, 7, 1)
    assert key.location() == "n.ipynb, cells[1] (In [7]), source, line 1"
    out = next(f for f in scan_notebook(PLACES["stream output"][0]) if f.where == "output")
    assert out.output == 0 and out.line in (1, 2)


@pytest.mark.parametrize("place", sorted(PLACES))
def test_fast_path_agrees_with_the_full_walk(place: str) -> None:
    nb = PLACES[place][0]
    nb["cells"].append(clean_cell(9))
    data = (json.dumps(nb, indent=1, sort_keys=True) + "\n").encode()
    assert may_hold_credentials(data)
    assert scan_notebook_bytes(data) == scan_notebook(nb)


def test_a_clean_notebook_with_images_is_not_parsed() -> None:
    nb = notebook([clean_cell(i) for i in range(20)])
    png = base64.b64encode(secrets.token_bytes(200_000)).decode()
    nb["cells"][0]["outputs"][0]["data"]["image/png"] = png[:5000] + "AKIA" + "A" * 16 + png[5000:]
    data = json.dumps(nb, indent=1).encode()
    assert not may_hold_credentials(data)
    assert scan_notebook_bytes(data) == []


def test_a_key_just_after_an_image_is_still_seen() -> None:
    nb = notebook([clean_cell(1), cell(f"k = '{KEYS.key_id}'\n")])
    data = json.dumps(nb, indent=1).encode()
    assert may_hold_credentials(data)
    assert [f.cell for f in scan_notebook_bytes(data)] == [1]


def test_svg_output_is_text() -> None:
    nb = notebook([cell("x\n", [{"output_type": "display_data", "metadata": {},
                                 "data": {"image/svg+xml": [f"<svg><text>{KEYS.key_id}</text></svg>"]}}])])
    assert [f.where for f in scan_notebook_bytes(json.dumps(nb).encode())] == ["output"]


def test_a_broken_notebook_is_scanned_as_text(tmp_path: Path) -> None:
    path = tmp_path / "conflict.ipynb"
    path.write_text(f'{{"cells": [\n<<<<<<< HEAD\n "source": "k = \'{KEYS.key_id}\'"\n', encoding="utf-8")
    (found,) = scan_file(path)
    assert found.where == "text" and found.line == 3


@pytest.mark.parametrize("nb", [{}, {"cells": None}, {"cells": [None, 1, {"outputs": [None, {"data": None}]}]},
                                {"cells": [{"source": 3, "outputs": "x", "attachments": {"a": None}}], "metadata": {"widgets": 1}}])
def test_odd_notebook_shapes_do_not_raise(nb: dict) -> None:
    assert scan_notebook(nb) == []


def test_cutting_payloads_keeps_valid_json_with_escaped_quotes() -> None:
    nb = notebook([cell("x\n", [{"output_type": "display_data", "metadata": {},
                                 "data": {"image/png": 'ab\\"cd\\\\', "text/plain": [f"k {KEYS.key_id}"]}}])])
    data = json.dumps(nb).encode()
    assert b'\\\\\\"cd' in data  # the payload holds an escaped backslash and an escaped quote
    (found,) = scan_notebook_bytes(data)
    assert found.where == "output"
