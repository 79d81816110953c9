"""The processes behind the browser tests: JupyterLab and Voila on 127.0.0.1.

Each server runs in its own temporary world (root, settings, workspaces,
runtime and config dirs, ``HOME``) with the environment it is given, and its
kernels inherit that environment: this is how the sandbox AWS environment
reaches the notebook's kernel.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from awswidget.localaws import free_port

# JupyterLab user settings for a quiet, deterministic frontend: no news or
# update checks (the server side is off too, see LabServer.command), no
# extension manager, no virtual notebook windowing.
QUIET_SETTINGS: dict[str, dict[str, object]] = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": True,
    },
    "@jupyterlab/extensionmanager-extension/plugin.jupyterlab-settings": {"disclaimed": False, "enabled": False},
    # Every cell stays in the DOM, so "all cells ran" can be read from the page.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def sandbox_env(base: Mapping[str, str], root: Path, aws: Mapping[str, str]) -> dict[str, str]:
    """The environment of a server and its kernels.

    Every ``AWS_*`` variable of ``base`` is dropped, then ``aws`` (the sandbox:
    shared files under ``root``, the local endpoint) is added; Jupyter's own
    dirs and ``HOME`` point under ``root`` so nothing of the real user is read.
    """
    env = {k: v for k, v in base.items() if not k.startswith("AWS_")}
    for name in ("home", "jupyter-config", "jupyter-data", "jupyter-runtime", "ipython"):
        (root / name).mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(root / "home"),
        JUPYTER_CONFIG_DIR=str(root / "jupyter-config"),
        JUPYTER_DATA_DIR=str(root / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(root / "jupyter-runtime"),
        IPYTHONDIR=str(root / "ipython"),
        JUPYTER_PLATFORM_DIRS="1",
        PYTHONUNBUFFERED="1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.update(aws)
    return env


@dataclass(kw_only=True)
class Server:
    """A Jupyter-family server in a child process."""

    name: str
    root: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.root / f"{self.name}.log"

    @property
    def runtime_dir(self) -> Path:
        return Path(self.env["JUPYTER_RUNTIME_DIR"])

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}/{path.lstrip('/')}{sep}token={self.token}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready_path(self) -> str:
        return "api/status"

    def start(self, timeout: float = 60.0) -> Server:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(), cwd=self.root, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with code {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url(self.ready_path()), timeout=2):  # noqa: S310
                    return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)  # polling a port that is not open yet; bounded by the deadline
        self.stop()
        raise RuntimeError(f"{self.name} did not answer on {self.base_url} within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(15)
        self.process = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def api(self, path: str, method: str = "GET", body: object | None = None) -> object:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url(path), data=data, method=method)  # noqa: S310
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            raw = response.read()
        return json.loads(raw) if raw else None

    def connection_file(self, kernel_id: str) -> Path:
        matches = sorted(self.runtime_dir.rglob(f"kernel-{kernel_id}.json"))
        if not matches:
            raise FileNotFoundError(f"no connection file for kernel {kernel_id} under {self.runtime_dir}")
        return matches[0]


@dataclass(kw_only=True)
class LabServer(Server):
    """JupyterLab with its own settings, workspaces and runtime dirs."""

    name: str = "jupyterlab"

    @property
    def notebook_dir(self) -> Path:
        return self.root / "notebooks"

    @property
    def settings_dir(self) -> Path:
        return self.root / "lab-user-settings"

    def write_quiet_settings(self) -> None:
        """:data:`QUIET_SETTINGS` into this server's user settings (JupyterLab and Notebook 7 read the same)."""
        for relative, values in QUIET_SETTINGS.items():
            target = self.settings_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values))

    def command(self) -> list[str]:
        self.write_quiet_settings()
        (self.root / "lab-workspaces").mkdir(exist_ok=True)
        return [
            sys.executable, "-m", "jupyterlab",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.notebook_dir}",
            "--ServerApp.open_browser=False", "--allow-root",
            "--ServerApp.terminals_enabled=False",
            # No outbound requests: the news feed and the update check are off server-side too.
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            f"--LabApp.user_settings_dir={self.settings_dir}",
            f"--LabApp.workspaces_dir={self.root / 'lab-workspaces'}",
            "--LanguageServerManager.autodetect=False",
        ]  # fmt: skip

    def kernel_id(self, notebook: str) -> str:
        """The id of the kernel of the session whose path is ``notebook``."""
        sessions = self.api("api/sessions")
        assert isinstance(sessions, list)
        for session in sessions:
            if session["path"] == notebook:
                return str(session["kernel"]["id"])
        raise LookupError(f"no session for {notebook}: {[s['path'] for s in sessions]}")

    def kernel_file(self, notebook: str) -> Path:
        return self.connection_file(self.kernel_id(notebook))

    def read_settings(self, plugin: str) -> dict[str, object]:
        reply = self.api(f"lab/api/settings/{plugin}")
        assert isinstance(reply, dict)
        return dict(reply.get("settings") or {})


@dataclass(kw_only=True)
class VoilaServer(Server):
    """Voila serving the notebooks dir, one fresh kernel per page."""

    name: str = "voila"
    notebook_root: Path | None = None

    def command(self) -> list[str]:
        assert self.notebook_root is not None
        (self.root / "voila-connections").mkdir(exist_ok=True)
        return [
            sys.executable, "-m", "voila", str(self.notebook_root),
            "--no-browser", "--Voila.ip=127.0.0.1", f"--port={self.port}",
            f"--Voila.token={self.token}",
            f"--Voila.connection_dir_root={self.root / 'voila-connections'}",
            "--VoilaConfiguration.show_tracebacks=True",
        ]  # fmt: skip

    def ready_path(self) -> str:
        return ""  # the tree listing of the root dir; it starts no kernel

    def kernel_files(self) -> list[Path]:
        return sorted((self.root / "voila-connections").rglob("kernel-*.json"))
