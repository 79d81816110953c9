"""The shape of the package, enforced: arrows only down, typed, small modules, botocore internals in one place."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from awswidget import _botocore

PACKAGE = Path(__file__).resolve().parent.parent / "awswidget"
ROOT = PACKAGE.parent


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_import_layers_and_the_widget_free_core() -> None:
    """import-linter's contracts in pyproject.toml: widgets -> manager -> services -> files -> errors, no cycles."""
    done = subprocess.run(["lint-imports", "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "BROKEN" not in done.stdout and done.stdout.count("KEPT") >= 2


def test_mypy_is_clean_over_the_package() -> None:
    done = subprocess.run([sys.executable, "-m", "mypy", "awswidget"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:]


def code_lines(path: Path) -> int:
    """Lines of code: not blank, not a comment, not part of a docstring."""
    source = path.read_text(encoding="utf-8")
    docs: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
            if isinstance(body[0].value.value, str):
                docs.update(range(body[0].lineno, (body[0].end_lineno or body[0].lineno) + 1))
    return sum(
        1
        for number, line in enumerate(source.splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#") and number not in docs
    )


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path: Path) -> None:
    lines = code_lines(path)
    assert lines <= 400, f"{path.relative_to(ROOT)} has {lines} lines of code: split it by job (the team keeps modules under ~400)"


PRIVATE_BOTOCORE = re.compile(
    r"\b(_client_creator|_credential_sourcer|_expiry_time|_parse_nested|ProfileProviderBuilder)\b|[Ss]ession\._(session|credentials)\b"
)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_botocore_internals_live_in_one_module(path: Path) -> None:
    if path.name in ("_botocore.py", "_fastini.py"):
        return  # the one home of botocore's internals, and the fast reader that replays (and hashes) its reader
    code = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#"))
    found = PRIVATE_BOTOCORE.findall(code)
    assert not found, f"{path.name} reaches into botocore ({found}): go through awswidget._botocore"


def test_every_botocore_internal_still_has_the_shape_we_rely_on() -> None:
    problems = _botocore.check()
    assert problems == [], "The installed botocore changed an internal awswidget uses:\n" + "\n".join(problems)


def test_the_check_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    import botocore.configloader

    monkeypatch.delattr(botocore.configloader, "_parse_nested")
    assert any("_parse_nested" in p for p in _botocore.check())


def _string_constants(path: Path) -> list[str]:
    return [n.value for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_one_home_for_the_sentences_that_were_written_several_times() -> None:
    """ "root user / IAM user alice" and the expiry remedies are built in texts.py only; the MFA code shape in mfa.py."""
    for path in modules():
        if path.name == "texts.py":
            continue
        strings = _string_constants(path)
        assert not any("root user" in s for s in strings), f"{path.name} builds 'root user' itself: use texts.who()"
        assert not any("log in with SSO again" in s for s in strings), f"{path.name} words a remedy itself"
        if path.name != "mfa.py" or path.parent.name == "widgets":
            assert not any(s in (r"\d{6}", r"[0-9]{6}") for s in strings), f"{path.name} has its own MFA code pattern"


def test_the_core_names_no_widget() -> None:
    """Sentences of the core say what to do, not which button to click."""
    core = [p for p in modules() if "widgets" not in p.parts]
    for path in core:
        for text in _string_constants(path):
            for words in ("click Refresh", "code box", "the picker's", "the setup form's"):
                assert words not in text, f"{path.name}: {text!r}"


# The modules that may write os.environ themselves: the writer, and the Dask worker plugin's fallback for a
# worker without awswidget (it runs there, shipped by value).
ENVIRON_WRITERS = {"_environ.py", "dask.py"}


def _environ_writes(tree: ast.AST) -> list[int]:
    """Lines that write ``os.environ``: item assignment or deletion, a mutating method, os.putenv/unsetenv."""
    def is_environ(node: ast.AST) -> bool:
        return isinstance(node, ast.Attribute) and node.attr == "environ" and isinstance(node.value, ast.Name) and node.value.id == "os"

    lines = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target] if isinstance(node, ast.AugAssign) else []
        if any(isinstance(t, ast.Subscript) and is_environ(t.value) for t in targets):
            lines.append(node.lineno)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if is_environ(node.func.value) and node.func.attr in ("pop", "update", "setdefault", "clear", "popitem", "__setitem__", "__delitem__"):
                lines.append(node.lineno)
            if isinstance(node.func.value, ast.Name) and node.func.value.id == "os" and node.func.attr in ("putenv", "unsetenv"):
                lines.append(node.lineno)
    return sorted(lines)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_environment_is_written_through_one_writer(path: Path) -> None:
    """glibc's setenv can crash a native thread's getenv (awswidget._environ): no other module writes os.environ."""
    if path.name in ENVIRON_WRITERS:
        return
    assert _environ_writes(ast.parse(path.read_text())) == [], f"{path.name}: write through awswidget._environ.update"


def test_the_environment_check_can_fail() -> None:
    sample = "import os\nos.environ['A'] = '1'\nos.environ.pop('A')\ndel os.environ['A']\nos.putenv('A', '1')\nos.environ.get('A')\n"
    assert _environ_writes(ast.parse(sample)) == [2, 3, 4, 5]
    dask = (PACKAGE / "follow" / "dask.py").read_text()
    assert len(_environ_writes(ast.parse(dask))) == 2  # the fallback's two writes, and nothing else
