"""The save hook: on a model (unit), and in a real Jupyter server through the contents REST API."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from awswidget.scan.hook import clean_model, pre_save_hook
from tests.scan_support import EXAMPLE_KEY_ID, Keys, cell, clean_cell, notebook

ROOT = Path(__file__).resolve().parent.parent
KEYS = Keys.new()
K, S, T = KEYS.values
CONFIG_LINE = 'c.ContentsManager.pre_save_hook = "awswidget.scan.hook.pre_save_hook"\n'


def leaky() -> dict[str, Any]:
    nb = notebook([
        clean_cell(1),
        cell(f's3 = boto3.client("s3", aws_access_key_id="{K}", aws_secret_access_key="{S}")\nprint(s3)\n',
             [{"output_type": "stream", "name": "stdout", "text": "<S3 client>\n"},
              {"output_type": "stream", "name": "stdout", "text": f"{K}\n{S}\n"}], count=2),
        cell(f"example = '{EXAMPLE_KEY_ID}'\n", count=3),
    ], metadata={"widgets": {"application/vnd.jupyter.widget-state+json": {"state": {"p": {
        "model_name": "PasswordModel", "state": {"_model_name": "PasswordModel", "value": S}}}}}})
    for c in nb["cells"]:
        c["source"] = "".join(c["source"])  # the contents API sends sources as one string
    return nb


def assert_no_secret(text: str) -> None:
    for value in (K, S, T):
        assert value not in text


def test_hook_masks_sources_and_drops_outputs_and_widget_state() -> None:
    nb = leaky()
    model = {"type": "notebook", "format": "json", "content": nb}
    untouched = json.dumps([nb["cells"][0], nb["cells"][2]])
    pre_save_hook(model=model, path="leak.ipynb", contents_manager=None)
    saved = json.dumps(model["content"])
    assert_no_secret(saved)
    source = model["content"]["cells"][1]["source"]
    assert source == f's3 = boto3.client("s3", aws_access_key_id="{"*" * 16 + K[-4:]}", aws_secret_access_key="{"*" * 16}")\nprint(s3)\n'
    assert model["content"]["cells"][1]["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "<S3 client>\n"}]
    assert "widgets" not in model["content"]["metadata"]
    assert json.dumps([model["content"]["cells"][0], model["content"]["cells"][2]]) == untouched  # the example stays
    assert "kept 5 AWS credentials out of the saved file" in model["message"]


def test_hook_leaves_plain_files_and_clean_notebooks_alone() -> None:
    text = {"type": "file", "format": "text", "content": f"aws_secret_access_key = {S}\n"}
    before = json.dumps(text)
    pre_save_hook(model=text, path="credentials", contents_manager=None)
    assert json.dumps(text) == before
    clean = {"type": "notebook", "content": notebook([clean_cell()])}
    before = json.dumps(clean)
    assert clean_model(clean) == []
    assert json.dumps(clean) == before


def test_hook_refuses_rather_than_write_unchecked(monkeypatch: pytest.MonkeyPatch) -> None:
    from tornado.web import HTTPError

    import awswidget.scan.hook as hook

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError(S)  # even a message holding a secret must not be echoed

    monkeypatch.setattr(hook, "scan_notebook", broken)
    with pytest.raises(HTTPError) as info:
        pre_save_hook(model={"type": "notebook", "content": leaky()}, path="x.ipynb")
    assert info.value.status_code == 500 and "not saved" in str(info.value.log_message)
    assert S not in str(info.value) and S not in str(info.value.log_message)


# ---------------------------------------------------------------- a real Jupyter server


@dataclass
class Server:
    url: str
    token: str
    root: Path
    log: Path

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"token {self.token}", "Content-Type": "application/json"}
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 (127.0.0.1 only)
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "work"
    root.mkdir()
    config = tmp_path / "jupyter_server_config.py"
    config.write_text(CONFIG_LINE)
    token, port = secrets.token_hex(16), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "JUPYTER"))}
    env.update(PYTHONPATH=str(ROOT), HOME=str(tmp_path), JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"),
               JUPYTER_DATA_DIR=str(tmp_path / "data"), JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"))
    log = tmp_path / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", f"--config={config}", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
             "--ServerApp.open_browser=False", f"--ServerApp.root_dir={root}",
             *(["--allow-root"] if os.geteuid() == 0 else [])],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path,
        )
    srv = Server(f"http://127.0.0.1:{port}", token, root, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if srv.request("GET", "/api/status")[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"jupyter server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield srv
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_real_server_never_writes_the_secret_and_keeps_the_work(server: Server) -> None:
    nb = leaky()
    status, reply = server.request("PUT", "/api/contents/leak.ipynb", {"type": "notebook", "format": "json", "content": nb})
    assert status in (200, 201), reply
    assert "kept 5 AWS credentials out of the saved file" in reply.get("message", "")
    on_disk = (server.root / "leak.ipynb").read_text(encoding="utf-8")
    assert_no_secret(on_disk)
    saved = json.loads(on_disk)
    assert saved["nbformat"] == 4
    source = "".join(saved["cells"][1]["source"])  # nbformat writes sources as lists of lines
    assert source == f's3 = boto3.client("s3", aws_access_key_id="{"*" * 16 + K[-4:]}", aws_secret_access_key="{"*" * 16}")\nprint(s3)\n'

    assert len(saved["cells"][1]["outputs"]) == 1 and "widgets" not in saved["metadata"]
    assert saved["cells"][0]["outputs"] == nb["cells"][0]["outputs"]  # the image and other outputs are kept
    assert "".join(saved["cells"][2]["source"]) == nb["cells"][2]["source"]
    for checkpoint in server.root.rglob(".ipynb_checkpoints/*"):
        assert_no_secret(checkpoint.read_text(encoding="utf-8"))
    log = server.log.read_text()
    assert "awswidget: not saving" in log and "****************" + K[-4:] in log
    assert_no_secret(log)


def test_real_server_saves_plain_files_untouched(server: Server) -> None:
    content = f"[default]\naws_access_key_id = {K}\naws_secret_access_key = {S}\n"
    status, _ = server.request("PUT", "/api/contents/credentials", {"type": "file", "format": "text", "content": content})
    assert status in (200, 201)
    assert (server.root / "credentials").read_text() == content
