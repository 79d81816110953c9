"""False positives on real public notebooks: ../shared/nb_corpus/clean/ (51 notebooks, 27 MB; SOURCES.md there
says where each comes from). They are read from there, never copied into the project; the test skips, saying
so, when the folder is absent. AWSWIDGET_NB_CORPUS points elsewhere."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from awswidget.scan import find_in_text, scan_notebook, scan_paths
from awswidget.scan.notebook import scan_notebook_bytes
from tests.scan_support import Keys, cell

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("AWSWIDGET_NB_CORPUS", ROOT.parent / "shared" / "nb_corpus" / "clean"))


@pytest.fixture(scope="module")
def notebooks() -> list[Path]:
    found = sorted(CORPUS.glob("*.ipynb")) if CORPUS.is_dir() else []
    if not found:
        pytest.skip(f"the clean notebook corpus is absent ({CORPUS}): false positives not measured")
    return found


def test_no_false_positive_on_real_notebooks(notebooks: list[Path]) -> None:
    result = scan_paths([str(p) for p in notebooks])
    walked = [f for p in notebooks for f in scan_notebook(json.loads(p.read_bytes()), str(p))]
    as_text = [f for p in notebooks for f in find_in_text(p.read_text(encoding="utf-8"))]
    flagged = {f.path for f in result.findings + walked} | ({"(raw text)"} if as_text else set())
    print(f"false positives: {len(flagged)}/{len(notebooks)} notebooks "
          f"({len(result.findings)} fast path, {len(walked)} full walk, {len(as_text)} as raw text)")
    assert result.errors == []
    assert [f.describe() for f in result.findings + walked + as_text] == []


def test_a_key_planted_in_a_real_notebook_is_found(notebooks: list[Path], tmp_path: Path) -> None:
    """Negative control: the corpus is not clean because the scanner is blind to it."""
    biggest = max(notebooks, key=lambda p: p.stat().st_size)
    nb = json.loads(biggest.read_bytes())
    keys = Keys.new()
    index = len(nb["cells"]) // 2
    nb["cells"].insert(index, cell(f'boto3.Session("{keys.key_id}", "{keys.secret}")\n'))
    found = scan_notebook_bytes(json.dumps(nb, indent=1).encode(), "planted")
    assert [(f.kind, f.cell) for f in found] == [("access_key_id", index), ("secret_access_key", index)]
