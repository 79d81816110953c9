"""binder/: the repo2docker configuration, read the way repo2docker reads it, and its scripts run.

``repo2docker --no-build --debug`` needs no Docker engine: it picks the build pack from
binder/ and prints the Dockerfile it would build, which is what these tests check.
The ``start`` script is then run for real (it needs no container either).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from awswidget import demo

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
SCRIPTS = ("postBuild", "start")


@pytest.fixture(scope="module")
def dockerfile() -> str:
    """The Dockerfile repo2docker would build for this repository."""
    if importlib.util.find_spec("repo2docker") is None:
        pytest.fail("these tests need repo2docker: pip install jupyter-repo2docker (it is in the test extra)")
    out = subprocess.run(
        [sys.executable, "-m", "repo2docker", "--no-build", "--no-run", "--debug", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return out.stdout + out.stderr


def test_repo2docker_uses_the_binder_folder(dockerfile: str) -> None:
    assert "Building conda environment for python=3.11" in dockerfile  # binder/runtime.txt
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    assert "RUN ./binder/postBuild" in dockerfile
    assert 'R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in dockerfile


def test_requirements_bring_what_the_demo_needs() -> None:
    lines = [line.strip() for line in (BINDER / "requirements.txt").read_text().splitlines()]
    requirements = {Requirement(line).name: Requirement(line) for line in lines if line and not line.startswith("#")}
    assert set(requirements) == {"jupyterlab", "moto"}
    assert "server" in requirements["moto"].extras


def test_postbuild_installs_the_package_from_the_checkout() -> None:
    text = (BINDER / "postBuild").read_text()
    # repo2docker runs postBuild in the repository's folder and never installs the package itself.
    assert re.search(r"^python -m pip install --no-cache-dir \.$", text, re.M)


@pytest.mark.parametrize("name", SCRIPTS)
def test_scripts_are_executable_bash_with_valid_syntax(name: str) -> None:
    path = BINDER / name
    assert path.read_text().startswith("#!/bin/bash\n")
    assert os.access(path, os.X_OK)
    subprocess.run(["bash", "-n", str(path)], check=True, capture_output=True, timeout=30)


def test_bash_n_would_catch_a_syntax_error(tmp_path: Path) -> None:
    # The control for the syntax check above.
    broken = tmp_path / "start"
    broken.write_text('#!/bin/bash\nif true; then\nexec "$@"\n')
    assert subprocess.run(["bash", "-n", str(broken)], capture_output=True, timeout=30).returncode != 0


def test_start_ends_with_exec() -> None:
    lines = [line.strip() for line in (BINDER / "start").read_text().splitlines()]
    code = [line for line in lines if line and not line.startswith("#")]
    assert code[-1] == 'exec "$@"'


@pytest.mark.integration
def test_start_gives_the_command_the_demo_sandbox(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != demo.SANDBOX_VAR}
    env.update(TMPDIR=str(tmp_path), AWS_ACCESS_KEY_ID="AKIALEAKLEAKLEAKLEAK", AWS_PROFILE="real")
    probe = (
        "import boto3, os; print(boto3.client('sts').get_caller_identity()['Account'], 'AWS_ACCESS_KEY_ID' in os.environ, "
        "os.environ['AWSWIDGET_DEMO_SANDBOX'], os.environ['JUPYTER_CONFIG_PATH'])"
    )
    out = subprocess.run(
        ["bash", str(BINDER / "start"), sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    sandbox = tmp_path / "awswidget-sandbox"
    meta = json.loads((sandbox / demo.MARKER).read_text())
    try:
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == [demo.ACCOUNTS["analytics"], "False", str(sandbox), str(sandbox / "jupyter-config")]
        # Jupyter (started by the exec) finds the demo's settings: no "get notified about Jupyter news?" pop-up.
        overrides = json.loads((sandbox / "jupyter-config" / "labconfig" / "default_setting_overrides.json").read_text())
        assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
        # The endpoint runs on in the background, for the kernels Jupyter will start.
        assert demo.load_sandbox(sandbox) is not None
    finally:
        os.kill(meta["endpoint_pid"], signal.SIGTERM)
    deadline = time.monotonic() + 30
    while demo.load_sandbox(sandbox) is not None:
        assert time.monotonic() < deadline, "the endpoint did not stop"
        time.sleep(0.1)
