"""The package surface: explicit exports, and a core that never imports ipywidgets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
