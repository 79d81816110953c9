"""``awswidget scan``: exit codes, what it prints (masked), folders, --fix, and the pre-commit hook file."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from awswidget.scan.cli import EXIT_CLEAN, EXIT_FOUND, EXIT_USAGE, main
from tests.scan_support import EXAMPLE_KEY_ID, EXAMPLE_SECRET, Keys, cell, clean_cell, notebook, planted, write

ROOT = Path(__file__).resolve().parent.parent
KEYS = Keys.new()


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def assert_no_clear_value(*texts: str) -> None:
    for text in texts:
        for value in KEYS.values:
            assert value not in text
            assert value[4:16] not in text


def test_clean_folder_exits_0(tmp_path: Path) -> None:
    write(tmp_path / "a.ipynb", notebook([clean_cell()]))
    (tmp_path / "notes.md").write_text("nothing here\n")
    code, out, _ = run(str(tmp_path))
    assert code == EXIT_CLEAN and "No AWS credentials in 2 files." in out


def test_examples_alone_exit_0_and_are_named(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text(f"aws_access_key_id = {EXAMPLE_KEY_ID}\naws_secret_access_key = {EXAMPLE_SECRET}\n")
    code, out, _ = run(str(tmp_path))
    assert code == EXIT_CLEAN
    assert "documented example" in out and "2 documented example keys, not counted" in out


def test_a_leak_exits_1_with_file_cell_line_and_masked_value(tmp_path: Path) -> None:
    nb, _ = planted(KEYS)["source boto3.client kwargs"]
    (tmp_path / "sub").mkdir()
    path = write(tmp_path / "sub" / "leak.ipynb", nb)
    code, out, err = run(str(tmp_path))
    assert code == EXIT_FOUND
    assert f"{path}, cells[1] (In [2]), source, line 1: access key id ****************{KEYS.key_id[-4:]}" in out
    assert "secret access key ****************" in out
    assert "2 credentials in 1 file" in out
    assert_no_clear_value(out, err)


def test_text_files_and_skipped_folders(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"AWS_ACCESS_KEY_ID={KEYS.key_id}\nAWS_SECRET_ACCESS_KEY={KEYS.secret}\n")
    for skipped in (".git", ".ipynb_checkpoints"):
        (tmp_path / skipped).mkdir()
        (tmp_path / skipped / "x.txt").write_text(f"k={KEYS.key_id}\n")
    (tmp_path / "image.bin").write_bytes(b"\x00\x01" + KEYS.key_id.encode())
    code, out, _ = run(str(tmp_path))
    assert code == EXIT_FOUND
    assert f"{tmp_path / '.env'}, line 1: access key id" in out and f"{tmp_path / '.env'}, line 2: secret access key" in out
    assert ".git" not in out and "checkpoints" not in out and "image.bin" not in out


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run()[0] == EXIT_USAGE
    code, _, err = run(str(tmp_path / "missing.ipynb"))
    assert code == EXIT_USAGE and "no such file or folder" in err
    assert run("--bogus", str(tmp_path))[0] == EXIT_USAGE


def test_unreadable_file_is_not_clean(tmp_path: Path) -> None:
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "gone")  # listed by the walk, unreadable
    code, _, err = run(str(tmp_path))
    assert code == EXIT_USAGE and "dangling.txt: cannot read" in err


def test_console_script_dispatches_scan(tmp_path: Path) -> None:
    (tmp_path / "k.txt").write_text(f"key {KEYS.key_id}\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "awswidget", "scan", str(tmp_path)], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == EXIT_FOUND and "access key id ****************" in done.stdout
    assert_no_clear_value(done.stdout, done.stderr)
    helped = subprocess.run([sys.executable, "-m", "awswidget", "--help"], capture_output=True, text=True, env=env, check=False)
    assert "scan" in helped.stdout


def leaky_notebook() -> dict:
    k, s, _ = KEYS.values
    return notebook(
        [
            clean_cell(1),
            cell(f's3 = boto3.client("s3", aws_access_key_id="{k}", aws_secret_access_key="{s}")\nprint(s3)\n', [
                {"output_type": "stream", "name": "stdout", "text": ["<botocore.client.S3>\n"]},
                {"output_type": "stream", "name": "stdout", "text": [f"{k} {s}\n"]},
            ], count=2),
            cell("creds\n", [{"output_type": "execute_result", "execution_count": 3, "metadata": {},
                              "data": {"text/plain": [f"{{'SecretAccessKey': '{s}'}}"]}}], count=3),
            clean_cell(4),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}, "widgets": {
            "application/vnd.jupyter.widget-state+json": {"state": {"m": {"model_name": "PasswordModel",
                                                          "state": {"_model_name": "PasswordModel", "value": s}}}}}},
    )


def test_fix_removes_outputs_and_widget_state_and_leaves_sources(tmp_path: Path) -> None:
    tmp_path = tmp_path / "nb"
    tmp_path.mkdir()
    path = write(tmp_path / "leak.ipynb", leaky_notebook())
    path.chmod(0o640)
    before = json.loads(path.read_text())
    code, out, err = run("--fix", str(path))
    assert code == EXIT_FOUND  # the source still holds the keys
    after = json.loads(path.read_text())
    assert after["cells"][1]["outputs"] == before["cells"][1]["outputs"][:1]
    assert after["cells"][2]["outputs"] == []
    assert "widgets" not in after["metadata"] and after["metadata"]["kernelspec"] == before["metadata"]["kernelspec"]
    assert after["cells"][1]["source"] == before["cells"][1]["source"]
    for i in (0, 3):
        assert after["cells"][i] == before["cells"][i]
    assert (after["nbformat"], after["nbformat_minor"]) == (4, 5)
    assert "cells[1]: removed output 1" in out and "cells[2]: removed output 0" in out and "widget state" in out
    assert "edit it by hand" in out or "source, line 1" in out
    assert oct(path.stat().st_mode & 0o777) == "0o640"
    assert not [p for p in tmp_path.iterdir() if p.name != "leak.ipynb"], "no temporary file left"
    assert_no_clear_value(out, err)
    # What --fix did is what nbformat would write for that content: every other byte is as it was.
    assert path.read_text() == json.dumps(after, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def test_fix_keeps_a_foreign_layout_byte_for_byte(tmp_path: Path) -> None:
    nb = leaky_notebook()
    nb["cells"][1]["source"] = ["print(1)\n"]  # only outputs and widget state leak now
    path = tmp_path / "two.ipynb"
    path.write_text(json.dumps(nb, indent=2, ensure_ascii=True) + "\n")
    code, out, _ = run("--fix", str(path))
    assert code == EXIT_FOUND  # changed: pre-commit wants a new `git add`
    assert run(str(path))[0] == EXIT_CLEAN
    expected = json.loads(path.read_text())
    assert path.read_text() == json.dumps(expected, indent=2, ensure_ascii=True) + "\n"
    assert "nbformat's layout" not in out


def test_fix_on_a_clean_notebook_changes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "ok.ipynb", notebook([clean_cell()]))
    before = path.read_bytes(), path.stat().st_mtime_ns
    assert run("--fix", str(path))[0] == EXIT_CLEAN
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_pre_commit_hooks_file() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    ids = {h["id"]: h for h in hooks}
    assert ids["awswidget-scan"]["entry"] == "awswidget scan"
    assert ids["awswidget-scan"]["language"] == "python"
    assert "jupyter" in ids["awswidget-scan"]["types_or"]
    assert ids["awswidget-scan-fix"]["entry"] == "awswidget scan --fix"


def test_fix_refuses_a_file_that_is_not_a_notebook(tmp_path: Path) -> None:
    from awswidget.errors import AwsWidgetError
    from awswidget.scan import fix_notebook_file

    path = tmp_path / "broken.ipynb"
    path.write_text(f'{{"cells": [ "{KEYS.key_id}"')
    before = path.read_bytes()
    try:
        fix_notebook_file(path)
    except AwsWidgetError as exc:
        assert "not a notebook" in str(exc) and KEYS.key_id not in str(exc)
    else:
        raise AssertionError("fixed a file that is not JSON")
    assert path.read_bytes() == before
    code, out, err = run("--fix", str(path))
    assert code == EXIT_FOUND and "not a notebook" in err
    assert_no_clear_value(out, err)


def test_scan_core_imports_no_widget_kernel_or_server() -> None:
    code = ("import sys, awswidget.scan, awswidget.scan.cli, awswidget.scan.hook, awswidget.scan.magic\n"
            "print(sorted(m for m in ('ipywidgets', 'IPython', 'ipykernel', 'tornado', 'jupyter_server', 'boto3') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.stdout.strip() == "[]"


def test_iam_unique_ids_pass_and_show_only_with_verbose(tmp_path: Path) -> None:
    from tests.scan_support import key_id

    (tmp_path / "whoami.json").write_text(json.dumps({"UserId": key_id("AIDA"), "Arn": "arn:aws:iam::123456789012:user/x"}))
    code, out, _ = run(str(tmp_path))
    assert code == EXIT_CLEAN and "unique id" not in out
    code, out, _ = run("-v", str(tmp_path))
    assert code == EXIT_CLEAN and "unique id ****************" in out and "not a credential" in out
