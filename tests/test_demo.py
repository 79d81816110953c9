"""The demo sandbox, ``awswidget demo`` / ``awswidget sandbox``, and the committed notebooks.

The sandbox tests run against the real local endpoint the sandbox starts (moto's
server on 127.0.0.1) and resolve every profile through botocore itself. The
command tests run the console script's module in a subprocess, as a user would,
and stop it with SIGINT.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import re
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import boto3
import botocore.session
import nbformat
import pytest

from awswidget import demo
from awswidget.__main__ import missing
from awswidget.demo import sandbox as demo_sandbox
from awswidget.localaws import free_port

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PROFILES = {"analyst", "console-dev", "prod", "prod-admin", "root-legacy", "sso-dev", "tools-local"}
WAIT = 120.0  # seconds: a bound on starting JupyterLab on a busy two-core machine
LEAK_KEY = "AKIALEAKLEAKLEAKLEAK"  # a "real" key in the caller's environment that must never reach a kernel


# --------------------------------------------------------------------------- helpers


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def pid_gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie waiting for its parent counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state == "Z"


def children(pid: int, command: str = "") -> list[int]:
    """The live child processes of ``pid`` whose command line contains ``command``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid and command in cmdline and not pid_gone(int(entry.name)):
                found.append(int(entry.name))
    return found


def stop_demo(process: subprocess.Popen[str]) -> None:
    """End a demo a failed test left running, and what it started (it cleans up after SIGTERM)."""
    if process.poll() is not None:
        return
    started = children(process.pid)
    process.terminate()
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        for pid in started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.kill()
        process.wait(10)


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def account_of(profile: str, sandbox: demo.Sandbox) -> tuple[str, str]:
    """(account, ARN) of a profile, resolved by botocore alone from the sandbox's files."""
    bs = botocore.session.Session(profile=profile)
    bs.set_config_variable("config_file", str(sandbox.config_file))
    bs.set_config_variable("credentials_file", str(sandbox.credentials_file))
    reply = boto3.Session(botocore_session=bs).client("sts").get_caller_identity()
    return reply["Account"], reply["Arn"]


@pytest.fixture(scope="module")
def shared_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[demo.Sandbox]:
    """One sandbox for the tests that only read it (starting one costs seconds)."""
    created = demo.create_sandbox(tmp_path_factory.mktemp("shared") / "sandbox")
    yield created
    created.stop()


@pytest.fixture
def sandbox(shared_sandbox: demo.Sandbox, monkeypatch: pytest.MonkeyPatch) -> demo.Sandbox:
    """The shared sandbox, its environment applied through monkeypatch (undone after the test)."""
    for name, value in shared_sandbox.environ().items():
        monkeypatch.setenv(name, value)
    return shared_sandbox


@pytest.fixture
def saved_environ() -> Iterator[None]:
    """Restore os.environ exactly (ensure_sandbox rewrites it), and forget the process's sandbox."""
    saved = dict(os.environ)
    demo_sandbox._active = None
    yield
    active, demo_sandbox._active = demo_sandbox._active, None
    if active is not None:
        atexit.unregister(active.remove)
        if active.server is not None:  # one this test started: stop it and remove its folder
            active.remove()
    os.environ.clear()
    os.environ.update(saved)


# --------------------------------------------------------------------------- the sandbox


@pytest.mark.integration
def test_sandbox_files_are_private_and_botocore_reads_every_profile(sandbox: demo.Sandbox) -> None:
    assert stat.S_IMODE(sandbox.path.stat().st_mode) == 0o700
    for path in (sandbox.config_file, sandbox.credentials_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    bs = botocore.session.Session()
    assert set(bs.available_profiles) == PROFILES
    assert bs.full_config["profiles"]["tools-local"]["endpoint_url"] == sandbox.endpoint_url
    assert "endpoint_url" not in bs.full_config["profiles"]["analyst"]  # only one profile shows the badge
    meta = json.loads((sandbox.path / "sandbox.json").read_text())
    assert meta["endpoint_url"] == sandbox.endpoint_url and meta["accounts"] == demo.ACCOUNTS
    assert "Secret" not in json.dumps(meta)


@pytest.mark.integration
def test_each_profile_resolves_to_its_own_account_through_botocore(sandbox: demo.Sandbox) -> None:
    accounts = demo.ACCOUNTS
    analyst = account_of("analyst", sandbox)
    assert analyst == (accounts["analytics"], f"arn:aws:iam::{accounts['analytics']}:user/analyst")
    prod = account_of("prod", sandbox)  # botocore assumes the role with the analyst's keys
    assert prod[0] == accounts["production"]
    assert prod[1].startswith(f"arn:aws:sts::{accounts['production']}:assumed-role/analyst-readonly/")
    assert account_of("tools-local", sandbox)[0] == accounts["tools"]
    # The endpoint issues no root keys: an IAM user of an account outside the three.
    assert account_of("root-legacy", sandbox) == (demo.LEGACY_ACCOUNT, f"arn:aws:iam::{demo.LEGACY_ACCOUNT}:user/legacy-admin")
    assert demo.LEGACY_ACCOUNT not in accounts.values()


@pytest.mark.integration
def test_the_credentials_file_holds_keys_the_endpoint_issued(sandbox: demo.Sandbox) -> None:
    session = boto3.Session(profile_name="analyst")
    key_id = session.get_credentials().access_key
    listed = session.client("iam").list_access_keys(UserName="analyst")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in listed] == [key_id]


@pytest.mark.integration
def test_switching_profiles_changes_what_an_analysis_sees(sandbox: demo.Sandbox) -> None:
    seen = {}
    for profile, account in (("analyst", "analytics"), ("prod", "production"), ("tools-local", "tools")):
        session = boto3.Session(profile_name=profile)
        s3 = session.client("s3")
        buckets = {b["Name"]: s3.list_objects_v2(Bucket=b["Name"])["KeyCount"] for b in s3.list_buckets()["Buckets"]}
        functions = {f["FunctionName"] for f in session.client("lambda").list_functions()["Functions"]}
        seed = demo.SEED[account]
        assert session.region_name == seed.region
        assert buckets == {name: len(objects) for name, objects in seed.buckets.items()}, profile
        assert functions == set(seed.functions), profile
        seen[profile] = set(buckets) | functions
    assert not (seen["analyst"] & seen["prod"]) and not (seen["prod"] & seen["tools-local"])


def test_sandbox_environment_removes_every_other_aws_variable(tmp_path: Path) -> None:
    box = demo.Sandbox(tmp_path, "http://127.0.0.1:1")
    env = {"AWS_ACCESS_KEY_ID": LEAK_KEY, "AWS_PROFILE": "real", "AWS_REGION": "eu-north-1", "HOME": "/home/me", "PATH": "/bin"}
    box.apply(env)
    assert {k for k in env if k.startswith("AWS_")} == {k for k in box.environ() if k.startswith("AWS_")}
    assert env["AWSWIDGET_SSO_CACHE"] == str(tmp_path / "sso" / "cache")  # SSO logins stay in the sandbox
    assert env["AWS_LOGIN_CACHE_DIRECTORY"] == str(tmp_path / "login" / "cache")  # and console logins
    assert env["AWS_PROFILE"] == "analyst" and env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert env["AWS_CONFIG_FILE"] == str(tmp_path / "config") and env["AWS_EC2_METADATA_DISABLED"] == "true"
    assert (env["HOME"], env["PATH"]) == ("/home/me", "/bin")  # HOME is left alone


def test_a_folder_that_is_not_a_sandbox_is_never_used(tmp_path: Path) -> None:
    folder = tmp_path / "dot-aws"
    folder.mkdir()
    (folder / "config").write_text("[default]\nregion = eu-west-1\n")
    with pytest.raises(RuntimeError, match="not an awswidget sandbox"):
        demo.create_sandbox(folder)
    assert (folder / "config").read_text() == "[default]\nregion = eu-west-1\n"
    assert sorted(p.name for p in folder.iterdir()) == ["config"]


def test_the_users_own_aws_folder_is_never_a_sandbox(aws_env: Any) -> None:
    dot_aws = aws_env.root / ".aws"  # HOME is the test's own (the aws_env fixture)
    dot_aws.mkdir()  # even empty
    with pytest.raises(RuntimeError, match="where your own AWS files live"):
        demo.create_sandbox(dot_aws)
    assert list(dot_aws.iterdir()) == []


@pytest.mark.integration
def test_an_existing_sandbox_is_refreshed_with_new_keys(tmp_path: Path) -> None:
    first = demo.create_sandbox(tmp_path / "box")
    first.stop()
    keys_before = first.credentials_file.read_text()
    second = demo.create_sandbox(tmp_path / "box")
    try:
        assert second.path == first.path and second.endpoint_url != first.endpoint_url
        assert second.credentials_file.read_text() != keys_before  # a new endpoint issued new keys
        assert demo.load_sandbox(second.path) is not None
        assert demo.load_sandbox(tmp_path) is None  # not a sandbox
    finally:
        second.stop()
    assert demo.load_sandbox(second.path) is None  # its endpoint is gone


def test_stale_temporary_sandboxes_are_swept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead = int(ended.stdout)
    cases = {"stale": (dead, True), "alive": (os.getpid(), True), "kept": (dead, False)}
    for name, (pid, temporary) in cases.items():
        folder = tmp_path / f"{demo_sandbox._TEMP_PREFIX}{name}"
        folder.mkdir()
        (folder / demo.MARKER).write_text(json.dumps({"owner_pid": pid, "temporary": temporary}))
    (tmp_path / f"{demo_sandbox._TEMP_PREFIX}unmarked").mkdir()
    demo_sandbox._sweep_stale()
    left = sorted(p.name.removeprefix(demo_sandbox._TEMP_PREFIX) for p in tmp_path.glob(demo_sandbox._TEMP_PREFIX + "*"))
    assert left == ["alive", "kept", "unmarked"]


# --------------------------------------------------------------------------- ensure_sandbox


@pytest.mark.integration
def test_ensure_sandbox_joins_the_running_sandbox_named_by_the_environment(sandbox: demo.Sandbox, saved_environ: None) -> None:
    import awswidget

    os.environ["AWS_ACCESS_KEY_ID"] = LEAK_KEY
    joined = demo.ensure_sandbox()
    assert (joined.path, joined.endpoint_url, joined.server) == (sandbox.path, sandbox.endpoint_url, None)
    assert "AWS_ACCESS_KEY_ID" not in os.environ and os.environ["AWS_CONFIG_FILE"] == str(sandbox.config_file)
    manager = awswidget.default_manager()
    assert manager.profile == "analyst" and manager.verify().account == demo.ACCOUNTS["analytics"]
    assert demo.ensure_sandbox() is joined  # once per process


@pytest.mark.integration
def test_ensure_sandbox_starts_its_own_when_the_named_one_is_gone(tmp_path: Path, saved_environ: None) -> None:
    gone = demo.create_sandbox(tmp_path / "gone")
    gone.stop()
    gone.apply()  # the environment still names it, but its endpoint no longer answers
    own = demo.ensure_sandbox()
    assert own.path != gone.path and own.server is not None and own.temporary
    assert os.environ[demo.SANDBOX_VAR] == str(own.path) and own.alive()
    assert boto3.client("sts").get_caller_identity()["Account"] == demo.ACCOUNTS["analytics"]


@pytest.mark.integration
def test_a_fresh_kernel_process_never_sees_the_users_aws_files(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text("[profile real]\nregion = eu-north-1\n")
    (home / ".aws" / "credentials").write_text(f"[real]\naws_access_key_id = {LEAK_KEY}\naws_secret_access_key = {'s' * 40}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS")}
    env.update(HOME=str(home), AWS_PROFILE="real", AWS_ACCESS_KEY_ID=LEAK_KEY, TMPDIR=str(tmp_path))
    code = (
        "import json, os, awswidget\n"
        "before = awswidget.CredentialsManager().profiles\n"  # the control: the user's files are visible here
        "from awswidget.demo import ensure_sandbox\n"
        "box = ensure_sandbox()\n"
        "m = awswidget.default_manager()\n"
        "print(json.dumps({'before': before, 'after': m.profiles, 'account': m.verify().account, 'path': str(box.path),\n"
        "  'pid': box.server.process.pid, 'leak': 'AWS_ACCESS_KEY_ID' in os.environ}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=WAIT, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert "real" in result["before"]
    assert set(result["after"]) == PROFILES and result["account"] == demo.ACCOUNTS["analytics"] and not result["leak"]
    # At exit the process stopped the endpoint it started and removed its temporary sandbox.
    assert not Path(result["path"]).exists()
    wait_until(lambda: pid_gone(result["pid"]), 30, "the endpoint to stop")


def _kernel_sandbox(tmp_path: Path, code: str) -> tuple[Any, dict[str, Any]]:
    """A real ipykernel (started as Jupyter starts one) that ran ``code``, and what it printed (JSON)."""
    from jupyter_client.manager import KernelManager

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS")}
    env.update(TMPDIR=str(tmp_path), PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=env)
    kc = km.client()
    kc.start_channels()
    printed: list[str] = []
    try:
        kc.wait_for_ready(timeout=WAIT)
        hook = lambda msg: printed.append(msg["content"].get("text", "")) if msg["msg_type"] == "stream" else None  # noqa: E731
        reply = kc.execute_interactive(code, timeout=WAIT, output_hook=hook)
        assert reply["content"]["status"] == "ok", reply["content"]
    except BaseException:
        km.shutdown_kernel(now=True)
        raise
    finally:
        kc.stop_channels()
    return km, json.loads("".join(printed).strip().splitlines()[-1])


START_OWN_SANDBOX = (
    "import json\n"
    "from awswidget.demo import ensure_sandbox\n"
    "box = ensure_sandbox()\n"
    "print(json.dumps({'path': str(box.path), 'endpoint': box.server.process.pid, 'temporary': box.temporary}))\n"
)


@pytest.mark.integration
def test_a_kernel_stopped_by_jupyter_leaves_no_sandbox_behind(tmp_path: Path) -> None:
    km, box = _kernel_sandbox(tmp_path, START_OWN_SANDBOX)
    folder = Path(box["path"])
    assert box["temporary"] and folder.is_dir() and (folder / "credentials").is_file()  # the control: it was there
    # What Jupyter does on "Shut Down Kernel": a shutdown request, a bounded wait, then SIGKILL.
    km.shutdown_kernel()
    wait_until(lambda: not folder.exists(), 30, f"the sandbox {folder} to be removed")
    wait_until(lambda: pid_gone(box["endpoint"]), 30, "the endpoint to stop")


@pytest.mark.integration
def test_a_killed_kernels_endpoint_stops_and_removes_its_sandbox(tmp_path: Path) -> None:
    km, box = _kernel_sandbox(tmp_path, START_OWN_SANDBOX)
    folder = Path(box["path"])
    assert folder.is_dir()
    km.shutdown_kernel(now=True)  # SIGKILL at once: no atexit, no ipykernel clean-up of its children
    wait_until(lambda: not folder.exists(), 30, f"the sandbox {folder} to be removed")
    wait_until(lambda: pid_gone(box["endpoint"]), 30, "the endpoint to stop")


@pytest.mark.integration
def test_a_kept_sandbox_outlives_the_process_that_named_it(tmp_path: Path) -> None:
    # The control for the two above: only temporary sandboxes go; a named, kept one stays.
    box = demo.create_sandbox(tmp_path / "kept")
    endpoint = box.server.process.pid  # type: ignore[union-attr]
    box.stop()
    wait_until(lambda: pid_gone(endpoint), 30, "the endpoint to stop")
    assert (tmp_path / "kept" / "credentials").is_file()


# --------------------------------------------------------------------------- the commands


class Output:
    """A child's stdout, read line by line in a thread (so waits are bounded)."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def until(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {text!r} within {timeout:.0f} s; output so far:\n{''.join(self.lines)}") from None
            if line is None:
                raise AssertionError(f"the process ended without {text!r}; output:\n{''.join(self.lines)}")
            self.lines.append(line)
        return "".join(self.lines)

    def rest(self, timeout: float) -> str:
        """Everything printed until the process closes its output (or ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
        return "".join(self.lines)


def demo_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)  # HOME is tmp_path/home (the aws_env fixture): Jupyter's own files go there too
    env.update(AWS_ACCESS_KEY_ID=LEAK_KEY, AWS_SECRET_ACCESS_KEY="s" * 40, AWS_PROFILE="real", TMPDIR=str(tmp_path))
    env.pop(demo.SANDBOX_VAR, None)
    return env


def start_demo(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], Output]:
    """``awswidget demo --no-browser ARGS`` as a user runs it, with a "real" key in its environment."""
    process = subprocess.Popen(
        [sys.executable, "-m", "awswidget", "demo", "--no-browser", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=demo_env(tmp_path),
    )
    return process, Output(process.stdout)  # type: ignore[arg-type]


@pytest.mark.integration
@pytest.mark.slow  # starts JupyterLab
def test_demo_command_serves_the_notebooks_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    process, output = start_demo(tmp_path, "--port", str(port))
    try:
        text = output.until("Press Ctrl-C to stop.", WAIT)
        token = re.search(r"token=([0-9a-f]+)", text).group(1)  # type: ignore[union-attr]
        box = Path(re.search(r"sandbox:\s+(\S+)", text).group(1))  # type: ignore[union-attr]
        endpoint = re.search(r"local AWS:\s+(\S+)", text).group(1)  # type: ignore[union-attr]
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"token {token}"}
        assert demo_sandbox._status(f"{base}/api/status", auth) == 200
        assert demo_sandbox._status(f"{base}/api/status") == 403  # the token is required
        assert demo_sandbox._status(f"{base}/api/contents/01-connect.ipynb", auth) == 200  # the notebooks are served
        assert sorted(p.name for p in (box / "notebooks").glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
        # The demo's own JupyterLab never asks "get notified about Jupyter news?" (the pop-up asks while fetchNews is "none").
        notification = f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification"
        with urllib.request.urlopen(urllib.request.Request(notification, headers=auth), timeout=30) as reply:  # noqa: S310
            schema = json.loads(reply.read())["schema"]["properties"]
        assert (schema["fetchNews"]["default"], schema["checkForUpdates"]["default"]) == ("false", False)

        # A kernel started by the server has the sandbox's environment, and not the caller's keys.
        request = urllib.request.Request(f"{base}/api/kernels", data=b"{}", headers=auth, method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310
            assert reply.status == 201
        (jupyter,) = children(process.pid, "jupyterlab")
        wait_until(lambda: children(jupyter, "ipykernel"), 60, "the kernel process")
        (kernel,) = children(jupyter, "ipykernel")
        kernel_env = environ_of(kernel)
        assert kernel_env["AWS_CONFIG_FILE"] == str(box / "config") and kernel_env["AWS_ENDPOINT_URL"] == endpoint
        assert kernel_env[demo.SANDBOX_VAR] == str(box) and kernel_env["AWS_PROFILE"] == "analyst"
        assert "AWS_ACCESS_KEY_ID" not in kernel_env and "AWS_SECRET_ACCESS_KEY" not in kernel_env
        assert LEAK_KEY in environ_of(process.pid).values()  # the control: the demo itself had the key
        # Its SSO and console logins go to the demo's stand-ins, which the demo announced and serves.
        logins = json.loads((box / demo.MARKER).read_text())
        assert (kernel_env["AWS_ENDPOINT_URL_SSO_OIDC"], kernel_env["AWS_ENDPOINT_URL_SIGNIN"]) == (logins["sso_url"], logins["signin_url"])
        assert f"SSO portal {logins['sso_url']}/start, sign-in {logins['signin_url']}" in text
        assert demo_sandbox._status(f"{logins['sso_url']}/start") == 200
        assert demo.load_sandbox(box) is not None  # the endpoint answers

        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0
        farewell = output.rest(10)
    finally:
        stop_demo(process)
    assert f"stopped JupyterLab and the local AWS endpoint. The sandbox is kept in {box}" in farewell
    assert (box / "config").is_file() and demo.load_sandbox(box) is None
    assert demo_sandbox._status(f"{base}/api/status", auth) is None
    assert demo_sandbox._status(f"{logins['sso_url']}/start") is None  # the stand-ins stopped with the endpoint
    for pid in (jupyter, kernel):
        wait_until(lambda pid=pid: pid_gone(pid), 30, f"process {pid} to exit")
    assert not json.loads((box / demo.MARKER).read_text())["temporary"]  # a kept sandbox is never swept


@pytest.mark.integration
@pytest.mark.slow  # starts JupyterLab
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_demo_killed_outright_leaves_no_jupyterlab_behind(tmp_path: Path) -> None:
    """kill -9 runs no clean-up: the endpoint watches its owner's pid, JupyterLab gets the kernel's parent-death signal."""
    process, output = start_demo(tmp_path, "--port", str(free_port()))
    try:
        output.until("Press Ctrl-C to stop.", WAIT)
        (jupyter,) = children(process.pid, "jupyterlab")
        (endpoint,) = children(process.pid, "awswidget.demo.endpoint")
        process.kill()
        process.wait(30)
        for pid in (jupyter, endpoint):
            wait_until(lambda pid=pid: pid_gone(pid), 60, f"process {pid} to exit after the demo was killed")
    finally:
        stop_demo(process)


@pytest.mark.integration
@pytest.mark.slow  # starts JupyterLab
def test_demo_command_explains_a_jupyterlab_that_cannot_start_and_cleans_up(tmp_path: Path) -> None:
    box = tmp_path / "my-sandbox"
    with socket.socket() as taken:  # JupyterLab's port is in use: it exits at once
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process, output = start_demo(tmp_path, "--clean", "--sandbox", str(box), "--port", str(taken.getsockname()[1]))
        try:
            assert process.wait(WAIT) == 1
        finally:
            stop_demo(process)
    text = output.rest(10)
    assert "JupyterLab did not start. The end of its log" in text and "already in use" in text
    assert f"and removed the sandbox {box}" in text
    assert not box.exists()


def test_the_demos_jupyter_settings_live_in_the_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from awswidget.demo import runner

    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "/etc/site-jupyter")
    box = demo.Sandbox(tmp_path / "box", "http://127.0.0.1:1")
    box.path.mkdir()
    env = runner._jupyter_env(box, "t0ken")
    own = box.path / "jupyter-config"
    assert env["JUPYTER_CONFIG_PATH"] == os.pathsep.join([str(own), "/etc/site-jupyter"])  # ours first, the rest kept
    overrides = json.loads((own / "labconfig" / "default_setting_overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"] == {"fetchNews": "false", "checkForUpdates": False}
    assert "JUPYTER_CONFIG_DIR" not in env or env["JUPYTER_CONFIG_DIR"] == os.environ.get("JUPYTER_CONFIG_DIR")
    assert not (Path(os.environ["HOME"]) / ".jupyter").exists()  # nothing written to the user's own config


@pytest.mark.parametrize(("package", "label"), [("jupyterlab", "JupyterLab"), ("moto", "moto's server")])
def test_demo_command_explains_a_missing_requirement(tmp_path: Path, package: str, label: str) -> None:
    # A package that fails to import, first on the path: what a machine without it shows.
    fake = tmp_path / "fake" / package
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(f"raise ImportError({f'No module named {package}'!r})\n")
    env = demo_env(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join([str(fake.parent), str(ROOT)])
    out = subprocess.run([sys.executable, "-m", "awswidget", "demo", "--no-browser"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert f"awswidget demo needs {label}" in out.stderr and "pip install 'awswidget[demo]'" in out.stderr
    assert not list(tmp_path.glob(demo_sandbox._TEMP_PREFIX + "*"))  # nothing was started


def test_every_requirement_is_found_here() -> None:
    # The control for the test above: without the fake packages, nothing is missing.
    assert missing(["jupyterlab", "moto"]) == []


@pytest.mark.integration
def test_sandbox_command_prints_exports_a_shell_can_use(tmp_path: Path) -> None:
    box = tmp_path / "box"
    script = (
        f'eval "$({sys.executable} -m awswidget sandbox --path {box})"\n'
        f"{sys.executable} -c \"import boto3, os; print(boto3.client('sts').get_caller_identity()['Account'], "
        "'AWS_ACCESS_KEY_ID' in os.environ)\"\n"
    )
    try:
        out = subprocess.run(["bash", "-c", script], env=demo_env(tmp_path), capture_output=True, text=True, timeout=WAIT, check=True)
        assert out.stdout.split() == [demo.ACCOUNTS["analytics"], "False"]
        assert f"awswidget sandbox: {box}" in out.stderr
    finally:
        meta = json.loads((box / demo.MARKER).read_text())
        os.kill(meta["endpoint_pid"], signal.SIGTERM)  # it outlives the command, by design
    wait_until(lambda: pid_gone(meta["endpoint_pid"]), 30, "the endpoint to stop")


def test_command_without_a_subcommand_shows_help() -> None:
    out = subprocess.run([sys.executable, "-m", "awswidget"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "demo" in out.stdout and "sandbox" in out.stdout


# --------------------------------------------------------------------------- the notebooks


def notebook_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Why a notebook may not be committed: outputs, widget state, or no sandbox first."""
    problems = []
    if "widgets" in nb.metadata:
        problems.append("widget state in the notebook's metadata")
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    for i, cell in enumerate(code):
        if cell.get("outputs") or cell.get("execution_count") is not None:
            problems.append(f"code cell {i} has outputs")
        if "widgets" in cell.metadata:
            problems.append(f"code cell {i} has widget state")
    if not code or "ensure_sandbox()" not in code[0].source:
        problems.append("the first code cell does not call ensure_sandbox() (nbval would use the real ~/.aws)")
    if not any(re.search(r"^\s*assert ", cell.source, re.M) for cell in code):
        problems.append("no assert: nothing is checked")
    skipped = [cell for cell in code if "nbval-skip" in cell.metadata.get("tags", [])]
    if len(skipped) > 1:
        problems.append(f"{len(skipped)} cells need a human (nbval-skip); keep it to one")
    return problems


def test_the_notebooks_are_there() -> None:
    assert [p.stem for p in NOTEBOOKS] == [
        "01-connect", "02-switch-accounts", "03-onboarding", "04-roles-mfa-sso", "05-data-libraries", "06-keys-never-reach-git",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebooks_have_no_outputs_and_no_widget_state(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert notebook_problems(nb) == []
    # nbformat 4.5 requires cell ids; nbformat.read adds missing ones in memory, so look at the file itself.
    assert [i for i, cell in enumerate(json.loads(path.read_text())["cells"]) if "id" not in cell] == []


def test_the_notebook_check_catches_outputs_and_widget_state() -> None:
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="111122223333\n")]
    nb.cells[1].source = "import awswidget"
    problems = notebook_problems(nb)
    assert "widget state in the notebook's metadata" in problems
    assert "code cell 0 has outputs" in problems
    assert any("ensure_sandbox" in p for p in problems)
