"""The package surface: explicit exports, a core that never imports ipywidgets, and what the wheel and sdist ship."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import awswidget


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip()


def test_all_is_explicit_and_resolves() -> None:
    assert awswidget.__version__
    for name in awswidget.__all__:
        assert getattr(awswidget, name) is not None, name


def test_core_does_not_import_ipywidgets() -> None:
    modules = "awswidget, awswidget.manager, awswidget.files, awswidget.profiles, awswidget.validate, awswidget.identity, awswidget.resources"
    out = _run(
        f"import sys; import {modules}\n"
        "m = awswidget.CredentialsManager(config_file='/nonexistent/c', credentials_file='/nonexistent/k')\n"
        "print('ipywidgets' in sys.modules, 'ipykernel' in sys.modules)"
    )
    assert out == "False False"


def test_plain_import_is_light() -> None:
    # boto3 and ipywidgets load on first use, not on `import awswidget`.
    assert _run("import sys, awswidget; print('boto3' in sys.modules, 'ipywidgets' in sys.modules)") == "False False"


def test_widgets_load_on_first_use() -> None:
    out = _run("import sys, awswidget; awswidget.ProfilePicker; print('ipywidgets' in sys.modules)")
    assert out == "True"


def test_ruff_is_clean() -> None:
    # The lint is part of the suite, so the one test command checks it too.
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "awswidget", "tests"], cwd=root, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------- the wheel and the sdist

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist, and the wheel built from it (what ``python -m build`` does), from a copy of the tree."""
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: the test extra brings hatchling; no index is needed to build.
    built = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    return out


def _wheel(dist: Path) -> Path:
    (wheel,) = dist.glob("awswidget-*.whl")
    return wheel


def test_the_wheel_ships_the_notebooks_inside_the_package_and_nothing_else_of_notebooks(dist: Path) -> None:
    names = zipfile.ZipFile(_wheel(dist)).namelist()
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("awswidget/_notebooks/")) == NOTEBOOKS
    assert not [n for n in names if n.endswith((".png", ".cfg")) or not n.startswith("awswidget")]  # no images, no sanitize.cfg
    assert not [n for n in names if ".data/" in n]  # nothing in share/ any more


def test_the_wheel_carries_the_license_and_the_python_versions(dist: Path) -> None:
    wheel = zipfile.ZipFile(_wheel(dist))
    (license_name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
    assert wheel.read(license_name) == (ROOT / "LICENSE").read_bytes()
    assert b"Apache License\n                           Version 2.0, January 2004" in wheel.read(license_name)
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    text = wheel.read(metadata).decode()
    assert "License-Expression: Apache-2.0" in text and "Requires-Python: >=3.10" in text
    versions = [line.rsplit(":: ", 1)[1] for line in text.splitlines() if line.startswith("Classifier: Programming Language :: Python :: 3.")]
    assert versions == ["3.10", "3.11", "3.12", "3.13"]
    assert "OWNER" not in text  # no placeholder address in the published metadata


def test_the_sdist_has_what_the_tests_and_binder_need(dist: Path) -> None:
    (sdist,) = dist.glob("awswidget-*.tar.gz")
    names = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    assert {"LICENSE", "README.md", "pyproject.toml", "notebooks/sanitize.cfg", "binder/start", "tests/conftest.py"} <= names
    assert {f"notebooks/{name}" for name in NOTEBOOKS} <= names


def test_a_user_install_of_the_wheel_finds_its_own_notebooks(dist: Path, tmp_path: Path) -> None:
    # `pip install --user` into a fresh user base, run from a folder outside the source tree, with the
    # source tree off the path: what a user who installed from the index has (the editable install's copy
    # is still on sys.path, after the user site: it must not be the one found).
    userbase = tmp_path / "userbase"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONNOUSERSITE", "PIP_TARGET")}
    env.update(PYTHONUSERBASE=str(userbase), PIP_BREAK_SYSTEM_PACKAGES="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--user", "--no-deps", "--no-index", "--no-warn-script-location", str(_wheel(dist))],
        env=env, cwd=tmp_path, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    probe = (
        "import json, pathlib, sys, awswidget\n"
        "from awswidget.demo import find_notebooks, runner\n"
        "found = find_notebooks()\n"
        "copied = runner._copy_notebooks(found, pathlib.Path(sys.argv[1]))\n"
        "print(json.dumps({'package': awswidget.__file__, 'found': str(found), 'copied': sorted(p.name for p in copied.iterdir())}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "copied")], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert Path(result["package"]).is_relative_to(userbase)  # the control: the installed copy runs, not the checkout
    assert Path(result["found"]).is_relative_to(userbase) and Path(result["found"]).name == "_notebooks"
    assert result["copied"] == NOTEBOOKS
    for name in NOTEBOOKS:
        assert (tmp_path / "copied" / name).read_bytes() == (ROOT / "notebooks" / name).read_bytes()
