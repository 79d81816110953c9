"""``awswidget demo``: a sandbox, its local endpoint, and the example notebooks in JupyterLab.

The notebooks ship inside the package (``awswidget/_notebooks`` in the wheel, found with
:mod:`importlib.resources`), so any installation (a virtual environment, ``pip install --user``,
``/usr/local``) opens its own copy; a source checkout (an editable install) opens the checkout's
``notebooks/`` folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..localaws import free_port
from .sandbox import Sandbox, _status, create_sandbox

if TYPE_CHECKING:  # importlib.resources.abc is 3.11+; importlib.abc's copy goes away in 3.14
    from importlib.resources.abc import Traversable

__all__ = ["LAB_SETTINGS", "find_notebooks", "lab_config", "run_demo"]

#: JupyterLab settings of the demo's own server (defaults a user can still change in the page):
#: no "get notified about Jupyter news?" pop-up, and no update check.
LAB_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}


def _notebooks_in(folder: Traversable) -> list[Traversable]:
    with contextlib.suppress(OSError):
        if folder.is_dir():
            return sorted((item for item in folder.iterdir() if item.name.endswith(".ipynb")), key=lambda t: t.name)
    return []


def find_notebooks() -> Traversable | None:
    """The example notebooks of this installation of awswidget, or ``None``.

    The package's own copy (``awswidget/_notebooks``, put there by the wheel); else,
    in a source checkout, the checkout's ``notebooks/`` folder. Never another
    installation's copy.
    """
    package = resources.files("awswidget")
    shipped = package / "_notebooks"
    if _notebooks_in(shipped):
        return shipped
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and _notebooks_in(checkout / "notebooks"):
        return checkout / "notebooks"
    return None


def _copy_notebooks(source: Traversable, target: Path) -> Path:
    # Copies keep the checkout clean (outputs and widget state stay out of git);
    # a notebook already in the sandbox is the user's and is left alone.
    target.mkdir(exist_ok=True)
    for notebook in _notebooks_in(source):
        if not (target / notebook.name).exists():
            (target / notebook.name).write_bytes(notebook.read_bytes())
    return target


def lab_config(sandbox_path: str | os.PathLike[str]) -> Path:
    """Write the demo's own Jupyter config folder in the sandbox, and return it (for ``JUPYTER_CONFIG_PATH``).

    It holds default settings for the demo's JupyterLab only (:data:`LAB_SETTINGS`).
    """
    # jupyterlab_server layers <config dir>/labconfig/default_setting_overrides.json of every
    # folder on JUPYTER_CONFIG_PATH over the built-in defaults; the user's files stay untouched.
    folder = Path(sandbox_path) / "jupyter-config"
    (folder / "labconfig").mkdir(parents=True, exist_ok=True)
    (folder / "labconfig" / "default_setting_overrides.json").write_text(json.dumps(LAB_SETTINGS, indent=2) + "\n")
    return folder


def _jupyter_command(port: int, root: Path, open_browser: bool) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        f"--ServerApp.open_browser={open_browser}",
        "--ServerApp.default_url=/lab/tree/01-connect.ipynb",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command


def _jupyter_env(sandbox: Sandbox, token: str) -> dict[str, str]:
    env = dict(sandbox.apply(dict(os.environ)))  # kernels inherit the sandbox's environment, and only it
    env["JUPYTER_TOKEN"] = token  # not on the command line, where `ps` would show it
    config_path = [str(lab_config(sandbox.path)), *filter(None, [env.get("JUPYTER_CONFIG_PATH")])]
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(config_path)
    return env


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _ended_with_parent() -> Callable[[], None] | None:
    """Linux: a ``preexec_fn`` by which the kernel sends JupyterLab SIGTERM when the demo ends, even by SIGKILL.

    The moto endpoint watches its owner's pid; JupyterLab has no such option, and a
    killed demo would leave it serving the sandbox. Elsewhere Ctrl-C and SIGTERM stop it.
    ``prctl`` is looked up here, in the parent: the child, between fork and exec, only calls it.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def in_child() -> None:  # pragma: no cover - runs in the child
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent:  # the demo ended before the request took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return in_child


def _start_jupyter(sandbox: Sandbox, root: Path, port: int, token: str, open_browser: bool) -> subprocess.Popen[bytes]:
    with open(sandbox.path / "jupyter.log", "ab") as log:
        # Its own session: Ctrl-C reaches only us, and Jupyter never asks "Shutdown? (y/n)".
        return subprocess.Popen(
            _jupyter_command(port, root, open_browser),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_jupyter_env(sandbox, token),
            cwd=root,
            start_new_session=True,
            preexec_fn=_ended_with_parent(),
        )


def _wait_for_jupyter(process: subprocess.Popen[bytes], url: str, token: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _status(f"{url}/api/status", {"Authorization": f"token {token}"}, timeout=2) != 200:
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _stop_process(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()  # Jupyter shuts its kernels down on SIGTERM
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)


def _log_tail(path: Path, lines: int = 15) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _farewell(sandbox: Sandbox, keep: bool) -> str:
    stopped = "awswidget demo: stopped JupyterLab and the local AWS endpoint"
    if not keep:
        sandbox.remove()
        return f"{stopped}, and removed the sandbox {sandbox.path}"
    return (
        f"{stopped}. The sandbox is kept in {sandbox.path}\n"
        f"  (to go on with its notebooks: awswidget demo --sandbox {sandbox.path})"
    )


def run_demo(
    *,
    keep: bool = True,
    port: int | None = None,
    open_browser: bool = True,
    sandbox_path: str | os.PathLike[str] | None = None,
    notebooks: str | os.PathLike[str] | None = None,
    say: Callable[[str], None] = print,
    startup_timeout: float = 120.0,
) -> int:
    """Run the demo until interrupted: sandbox, local endpoint, JupyterLab. Returns an exit code.

    Ctrl-C (SIGINT), SIGTERM and SIGHUP stop JupyterLab and the endpoint; the
    sandbox folder is then kept (``keep``) or removed.
    """
    source = Path(notebooks) if notebooks is not None else find_notebooks()
    if source is None or not _notebooks_in(source):
        say(
            "awswidget demo: the example notebooks were not found in this installation of awswidget "
            "(reinstall it: pip install --force-reinstall 'awswidget[demo]'), or pass --notebooks FOLDER."
        )
        return 1
    url = f"http://127.0.0.1:{port or free_port()}"
    # Installed explicitly: a demo started with SIGINT ignored (in the background of a script) still stops.
    stops = [signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]
    previous = {signum: signal.signal(signum, _raise_interrupt) for signum in stops}
    sandbox: Sandbox | None = None
    jupyter: subprocess.Popen[bytes] | None = None
    code = 0
    try:
        say("awswidget demo: starting a local AWS endpoint and seeding the demo accounts…")
        sandbox = create_sandbox(sandbox_path, temporary=not keep)
        token = secrets.token_hex(16)
        root = _copy_notebooks(source, sandbox.path / "notebooks")
        jupyter = _start_jupyter(sandbox, root, int(url.rsplit(":", 1)[1]), token, open_browser)
        if not _wait_for_jupyter(jupyter, url, token, startup_timeout):
            log = sandbox.path / "jupyter.log"
            say(f"awswidget demo: JupyterLab did not start. The end of its log ({log}):\n{_log_tail(log)}")
            return 1
        accounts = ", ".join(f"{name} {number}" for name, number in sandbox.accounts.items())
        say(
            "awswidget demo is running.\n"
            f"  JupyterLab: {url}/lab/tree/01-connect.ipynb?token={token}\n"
            f"  local AWS:  {sandbox.endpoint_url} (moto, checking signatures; accounts: {accounts})\n"
            f"  logins:     SSO portal {sandbox.sso_start_url}, sign-in {sandbox.signin_url} (local stand-ins)\n"
            f"  sandbox:    {sandbox.path} (config and credentials; your ~/.aws is not used)\n"
            "Press Ctrl-C to stop."
        )
        code = 1 if jupyter.wait() else 0
        say(f"awswidget demo: JupyterLab exited (code {jupyter.returncode}).")
    except KeyboardInterrupt:
        say("\nawswidget demo: stopping…")
    finally:
        for signum in stops:
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        if jupyter is not None:
            _stop_process(jupyter)
        if sandbox is not None:
            sandbox.stop()
            say(_farewell(sandbox, keep))
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return code
