"""The kernel path: history and environment scanned in a real ipykernel; KeyMove and the cell rewrites."""

from __future__ import annotations

import ast
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from awswidget.scan import KeyMove, keys_from_environment, rewrite_source, scan_history, scan_kernel
from tests.scan_support import EXAMPLE_KEY_ID, EXAMPLE_SECRET, Keys

ROOT = Path(__file__).resolve().parent.parent
KEYS = Keys.new()
K, S, T = KEYS.values


# ---------------------------------------------------------------- rewrites (text in, text out)

@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (f's3 = boto3.client("s3", aws_access_key_id="{K}", aws_secret_access_key="{S}")\n',
         "import awswidget\nm = awswidget.default_manager()\nm.profile = 'dev'\ns3 = m.client(\"s3\")\n"),
        (f'ddb = boto3.resource("dynamodb", region_name="eu-west-1", aws_access_key_id="{K}", aws_secret_access_key="{S}")\n',
         "import awswidget\nm = awswidget.default_manager()\nm.profile = 'dev'\nddb = m.resource(\"dynamodb\", region_name=\"eu-west-1\")\n"),
        (f'session = boto3.Session("{K}", "{S}", region_name="us-east-2")\n',
         "session = boto3.Session(profile_name='dev', region_name=\"us-east-2\")\n"),
        (f'import os\nos.environ["AWS_ACCESS_KEY_ID"] = "{K}"\nos.environ["AWS_SECRET_ACCESS_KEY"] = "{S}"\nprint(1)\n',
         "import os\nos.environ['AWS_PROFILE'] = 'dev'\nprint(1)\n"),
        (f'key = "{K}"\nsecret = "{S}"\ns3 = boto3.client("s3", aws_access_key_id=key, aws_secret_access_key=secret)\n',
         "import awswidget\nm = awswidget.default_manager()\nm.profile = 'dev'\ns3 = m.client(\"s3\")\n"),
        (f"%env AWS_ACCESS_KEY_ID={K}\n%env AWS_SECRET_ACCESS_KEY={S}\n!aws s3 ls\n",
         "%env AWS_PROFILE=dev\n!aws s3 ls\n"),
    ],
)
def test_rewrite(source: str, expected: str) -> None:
    rewrite = rewrite_source(source, {K, S}, "dev")
    assert rewrite.source == expected
    assert rewrite.complete
    if not source.startswith("%"):
        ast.parse(rewrite.source)


def test_rewrite_that_cannot_remove_a_key_says_so() -> None:
    rewrite = rewrite_source(f'creds = {{"id": "{K}", "secret": "{S}"}}\n', {K, S}, "dev")
    assert not rewrite.complete
    assert K not in repr(rewrite) and S not in repr(rewrite)


# ---------------------------------------------------------------- KeyMove and the history


def test_history_pairs_keys_and_counts_cells() -> None:
    history = [(1, "import boto3"), (2, f'c = boto3.client("s3", aws_access_key_id="{K}", aws_secret_access_key="{S}")'),
               (3, "c.list_buckets()"), (4, f'again = boto3.Session("{K}", "{S}")')]
    findings, moves = scan_history(history)
    assert [(f.execution_count, f.kind) for f in findings] == [(2, "access_key_id"), (2, "secret_access_key"),
                                                              (4, "access_key_id"), (4, "secret_access_key")]
    (move,) = moves
    assert (move.access_key_id, move.secret_access_key, move.execution_counts) == (K, S, (2, 4))
    text = move.instructions("dev")
    assert "Replace In [2] with:" in text and 'c = m.client("s3")' in text
    assert "Replace In [4] with:" in text and "boto3.Session(profile_name='dev')" in text
    assert K not in text and S not in text


def test_keymove_repr_is_masked() -> None:
    move = KeyMove(K, S, T, (3,), True)
    for shown in (repr(move), str(move), f"{move}", repr([move])):
        assert K not in shown and S not in shown and T not in shown and K[4:12] not in shown
        assert "****************" + K[-4:] in shown and "In [3]" in shown and "environment" in shown


def test_environment_keys() -> None:
    env = {"AWS_ACCESS_KEY_ID": K, "AWS_SECRET_ACCESS_KEY": S, "AWS_SESSION_TOKEN": T}
    move = keys_from_environment(env)
    assert move is not None and (move.access_key_id, move.secret_access_key, move.session_token) == (K, S, T)
    assert "os.environ.pop(name, None)" in move.instructions("dev") and "AWS_PROFILE" in move.instructions("dev")
    scan = scan_kernel(shell=None, environ=env)
    assert [(f.where, f.kind) for f in scan.findings] == [("environment", "access_key_id"), ("environment", "secret_access_key"),
                                                          ("environment", "session_token")]
    assert keys_from_environment({"AWS_ACCESS_KEY_ID": K}) is None
    example = scan_kernel(shell=None, environ={"AWS_ACCESS_KEY_ID": EXAMPLE_KEY_ID, "AWS_SECRET_ACCESS_KEY": EXAMPLE_SECRET})
    assert example.leaks == () and example.moves[0].example


def test_in_process_shell_history(monkeypatch: pytest.MonkeyPatch) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        shell.run_cell(f'key, secret = "{K}", "{S}"', store_history=True)
        scan = scan_kernel(shell, environ={})
        assert any(f.where == "history" and f.kind == "access_key_id" for f in scan.findings)
        assert [m.access_key_id for m in scan.moves] == [K]
    finally:
        InteractiveShell.clear_instance()


# ---------------------------------------------------------------- a real kernel


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[Any]:
    from jupyter_client.manager import start_new_kernel

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PYTHONPATH=str(ROOT), HOME=str(tmp_path), IPYTHONDIR=str(tmp_path / "ipython"),
               AWS_CONFIG_FILE=str(tmp_path / "config"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
               AWS_EC2_METADATA_DISABLED="true")
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp_path))
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def execute(kc: Any, code: str) -> dict[str, Any]:
    """Run ``code`` as a cell (stored in history); return its outputs by kind and its execution count."""
    outputs: list[dict[str, Any]] = []
    reply = kc.execute_interactive(code, store_history=True, timeout=60, output_hook=outputs.append)
    return {"count": reply["content"]["execution_count"], "status": reply["content"]["status"],
            "stdout": "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream"),
            "errors": [m["content"] for m in outputs if m["msg_type"] == "error"]}


def test_real_kernel_history_and_environment(kernel: Any) -> None:
    first = execute(kernel, "import boto3, os")
    leak = execute(kernel, f's3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="{K}", aws_secret_access_key="{S}")')
    execute(kernel, f'os.environ["AWS_ACCESS_KEY_ID"] = "{K}"\nos.environ["AWS_SECRET_ACCESS_KEY"] = "{S}"')
    assert leak["status"] == "ok" and leak["count"] == first["count"] + 1
    probe = execute(kernel, """
import json
from awswidget.scan import scan_kernel
scan = scan_kernel()
(move,) = scan.moves
print(json.dumps({
    "findings": [[f.where, f.kind, f.execution_count, f.masked, f.context] for f in scan.findings],
    "pair_ok": [move.access_key_id == os.environ["AWS_ACCESS_KEY_ID"], move.secret_access_key == os.environ["AWS_SECRET_ACCESS_KEY"]],
    "counts": list(move.execution_counts), "env": move.from_environment, "repr": repr(move),
    "instructions": move.instructions("dev"), "ipywidgets": "ipywidgets" in __import__("sys").modules,
}))
""")
    assert probe["status"] == "ok", probe["errors"]
    result = json.loads(probe["stdout"].strip().splitlines()[-1])
    masked = "*" * 16 + K[-4:]
    assert ["history", "access_key_id", leak["count"], masked, "boto3.client(...) with literal keys"] in result["findings"]
    assert ["history", "secret_access_key", leak["count"], "*" * 16, "boto3.client(...) with literal keys"] in result["findings"]
    assert ["history", "secret_access_key", leak["count"] + 1, "*" * 16, "environment variable set in code"] in result["findings"]
    assert ["environment", "access_key_id", None, masked, "AWS_ACCESS_KEY_ID is set"] in result["findings"]
    assert result["pair_ok"] == [True, True]
    assert result["counts"] == [leak["count"], leak["count"] + 1] and result["env"] is True
    assert f'Replace In [{leak["count"]}] with:' in result["instructions"]
    assert 's3 = m.client("s3", region_name="us-east-1")' in result["instructions"]
    assert result["ipywidgets"] is False, "the scan core must not import ipywidgets"
    printed = json.dumps(result)
    assert K not in printed and S not in printed
    magic = execute(kernel, "%load_ext awswidget\n%aws scan")
    assert magic["status"] == "ok"
    assert masked in magic["stdout"] and "Move into a profile" in magic["stdout"]
    assert K not in magic["stdout"] and S not in magic["stdout"]


def test_real_kernel_clean(kernel: Any) -> None:
    execute(kernel, "x = 1")
    probe = execute(kernel, "from awswidget.scan import scan_kernel; s = scan_kernel(); print(len(s.findings), len(s.moves))")
    assert probe["stdout"].split() == ["0", "0"], (probe, sys.executable)


def test_watch_calls_back_only_for_cells_with_keys_and_stops() -> None:
    from IPython.core.interactiveshell import InteractiveShell

    from awswidget.scan import watch

    shell = InteractiveShell.instance()
    seen: list[Any] = []
    try:
        stop = watch(seen.append, shell)
        shell.run_cell("x = 1", store_history=True)
        assert seen == []
        shell.run_cell(f'c = boto3.Session("{K}", "{S}") if False else None', store_history=True)
        (scan,) = seen
        message = scan.message()
        assert message is not None and message.startswith("AWS keys in cell In [") and "*" * 16 + K[-4:] in message
        assert K not in message and S not in message
        stop()
        stop()  # twice is harmless
        shell.run_cell(f'again = "{K}"', store_history=True)
        assert len(seen) == 1
    finally:
        InteractiveShell.clear_instance()


def test_watch_without_ipython_raises_an_awswidget_error() -> None:
    from awswidget.errors import AwsWidgetError
    from awswidget.scan import watch

    with pytest.raises(AwsWidgetError, match="needs a running IPython"):
        watch(lambda _: None, shell=None)


def test_clean_kernel_has_no_message() -> None:
    assert scan_kernel(shell=None, environ={}).message() is None
