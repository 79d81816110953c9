"""A sandbox: a folder with the demo's ``config`` and ``credentials`` files, and its local endpoint.

Its environment points boto3 at those two files and at the endpoint, and removes every other
``AWS_*`` variable: the user's real ``~/.aws`` is never read or written, and nothing reaches AWS.
The endpoint checks request signatures (after seeding), so a wrong secret or an unknown key is
refused as AWS refuses it. Beside it run the demo's stand-ins for IAM Identity Center and AWS Sign-In
(:mod:`~awswidget.demo.logins`), so the SSO and console logins of its profiles can be completed; their
caches stay in the sandbox too.

A temporary sandbox never outlives its owner: the endpoint (a child process) deletes the folder when
it stops, and it stops by itself when its owner is gone (a kernel that Jupyter killed before its
``atexit`` ran). One whose endpoint was killed outright too is swept at the next start.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

from .._session import SSO_CACHE_VAR
from ..localaws import LocalAws, pid_alive
from .logins import KEYS_FILE, endpoint_env, keys_text
from .world import ACCOUNTS, DEFAULT_PROFILE, ENDPOINT_ENV, config_text, credentials_text, seed

__all__ = [
    "MARKER",
    "SANDBOX_VAR",
    "Sandbox",
    "create_sandbox",
    "ensure_sandbox",
    "load_sandbox",
    "shell_exports",
    "start_sandbox",
]

#: The environment variable naming the active sandbox folder.
SANDBOX_VAR = "AWSWIDGET_DEMO_SANDBOX"

MARKER = "sandbox.json"
_TEMP_PREFIX = "awswidget-sandbox-"


def _write(path: Path, text: str, mode: int) -> None:
    # A new file each time: the sandbox is ours, and a fresh endpoint means fresh keys.
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), mode)
        f.write(text)
    os.replace(tmp, path)


@dataclass
class Sandbox:
    """A sandbox folder, its local endpoint, and the environment that uses them.

    ``server`` is the endpoint when this process started it (``None`` when the
    sandbox was started elsewhere, e.g. by ``awswidget demo`` for the kernel).
    ``sso_url`` and ``signin_url`` are the demo's IAM Identity Center and AWS
    Sign-In (local stand-ins in the endpoint's process).
    """

    path: Path
    endpoint_url: str
    accounts: dict[str, str] = field(default_factory=lambda: dict(ACCOUNTS))
    server: LocalAws | None = field(default=None, repr=False)
    temporary: bool = False
    sso_url: str = ""
    signin_url: str = ""

    @property
    def sso_start_url(self) -> str:
        """The start URL of the demo's IAM Identity Center (to onboard its accounts and roles as SSO profiles)."""
        return f"{self.sso_url}/start" if self.sso_url else ""

    @property
    def config_file(self) -> Path:
        return self.path / "config"

    @property
    def credentials_file(self) -> Path:
        return self.path / "credentials"

    def environ(self) -> dict[str, str]:
        """The ``AWS_*`` variables of the sandbox (every other one is to be removed)."""
        return {
            "AWS_CONFIG_FILE": str(self.config_file),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.credentials_file),
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PROFILE": DEFAULT_PROFILE,
            SANDBOX_VAR: str(self.path),
            # SSO logins of the demo stay in the sandbox, never in the real ~/.aws/sso/cache.
            SSO_CACHE_VAR: str(self.path / "sso" / "cache"),
            # And its console logins (``aws login``) too, never in the real ~/.aws/login/cache.
            "AWS_LOGIN_CACHE_DIRECTORY": str(self.path / "login" / "cache"),
            # botocore's service endpoints win over AWS_ENDPOINT_URL: SSO and sign-in go to the stand-ins.
            **({"AWS_ENDPOINT_URL_SSO": self.sso_url, "AWS_ENDPOINT_URL_SSO_OIDC": self.sso_url} if self.sso_url else {}),
            **({"AWS_ENDPOINT_URL_SIGNIN": self.signin_url} if self.signin_url else {}),
        }

    def apply(self, env: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
        """Make ``env`` (default ``os.environ``) use the sandbox: remove every ``AWS_*``, then set ours."""
        env = os.environ if env is None else env
        for name in [n for n in env if n.startswith("AWS_")]:
            del env[name]
        env.update(self.environ())
        return env

    def alive(self) -> bool:
        """Whether the endpoint answers."""
        return _status(f"{self.endpoint_url}/moto-api/config") is not None

    def stop(self) -> None:
        """Stop the endpoint if this process started it."""
        if self.server is not None:
            self.server.stop()
            self.server = None

    def remove(self) -> None:
        """Stop the endpoint and delete the sandbox folder."""
        self.stop()
        shutil.rmtree(self.path, ignore_errors=True)


def _status(url: str, headers: dict[str, str] | None = None, timeout: float = 5.0) -> int | None:
    """The HTTP status of a GET, or ``None`` when nothing answers."""
    # Only http URLs of the local endpoint and JupyterLab, built here.
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


def _is_sandbox(path: Path) -> bool:
    return (path / MARKER).is_file()


def _prepare_folder(path: Path | None) -> tuple[Path, bool]:
    """The sandbox folder (created 0700); refuses a folder that holds anything but a sandbox."""
    if path is None:
        _sweep_stale()
        return Path(tempfile.mkdtemp(prefix=_TEMP_PREFIX)), True
    path = Path(path).expanduser().absolute()
    if path.resolve() == (Path.home() / ".aws").resolve():
        raise RuntimeError(f"{path} is where your own AWS files live: a sandbox never goes there.")
    if path.exists() and any(path.iterdir()) and not _is_sandbox(path):
        raise RuntimeError(f"{path} is not empty and is not an awswidget sandbox: choose another folder.")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path, False


def _sweep_stale() -> None:
    """Remove temporary sandboxes whose owner process is gone (a kernel and its endpoint both killed)."""
    with contextlib.suppress(OSError):
        for entry in Path(tempfile.gettempdir()).glob(_TEMP_PREFIX + "*"):
            try:
                meta = json.loads((entry / MARKER).read_text())
            except (OSError, ValueError):
                continue
            if meta.get("temporary") and not pid_alive(int(meta.get("owner_pid", 0))):
                shutil.rmtree(entry, ignore_errors=True)


def _create(path: Path | None, temporary: bool | None, detached: bool) -> Sandbox:
    folder, created = _prepare_folder(path)
    temporary = created if temporary is None else temporary
    server = LocalAws(log_file=str(folder / "moto.log"), detached=detached, remove_on_exit=folder if temporary else None)
    logins_env, sso_url, signin_url = endpoint_env(folder, server.endpoint_url)
    server.env.update({**ENDPOINT_ENV, **logins_env})
    # Logins of an earlier endpoint name tokens and keys the new one never issued: they go.
    for cache in ("sso", "login"):
        shutil.rmtree(folder / cache, ignore_errors=True)
    server.start()
    try:
        keys = seed(server.endpoint_url)  # with made-up keys, before the checks start
        server.check_signatures()
        _write(folder / KEYS_FILE, keys_text(keys), 0o600)  # the portal and sign-in mint with these
        _write(folder / "config", config_text(server.endpoint_url, f"{sso_url}/start"), 0o600)
        _write(folder / "credentials", credentials_text(keys), 0o600)
        meta = {
            "endpoint_url": server.endpoint_url,
            "sso_url": sso_url,
            "signin_url": signin_url,
            "accounts": ACCOUNTS,
            "owner_pid": os.getpid(),
            "endpoint_pid": server.process.pid if server.process else None,
            "temporary": temporary,
        }
        _write(folder / MARKER, json.dumps(meta, indent=2) + "\n", 0o600)
    except BaseException:
        server.stop()
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return Sandbox(folder, server.endpoint_url, dict(ACCOUNTS), server, temporary=temporary, sso_url=sso_url, signin_url=signin_url)


def create_sandbox(path: str | os.PathLike[str] | None = None, *, temporary: bool | None = None) -> Sandbox:
    """Create (or refresh) a sandbox: start a local endpoint, seed it, check signatures, write the files.

    Parameters
    ----------
    path
        The folder to use; a new temporary folder by default. An existing
        folder must be empty or an earlier sandbox (whose files are rewritten:
        a new endpoint means new keys).
    temporary
        Delete the folder when the endpoint stops (default: true for a folder
        created here).

    The endpoint is a child process of this one, and stops when this process
    is gone; call :meth:`Sandbox.stop` (or :meth:`Sandbox.remove`) to stop it sooner.
    """
    return _create(Path(path) if path is not None else None, temporary, detached=False)


def start_sandbox(path: str | os.PathLike[str] | None = None) -> Sandbox:
    """Create a sandbox whose endpoint outlives this process (for binder's ``start``).

    The endpoint keeps running after this process exits; stop it by ending
    the process named ``endpoint_pid`` in the sandbox's ``sandbox.json``.
    """
    sandbox = _create(Path(path) if path is not None else None, False, detached=True)
    sandbox.server = None  # handed over: it is not ours to stop when we exit
    return sandbox


def load_sandbox(path: str | os.PathLike[str]) -> Sandbox | None:
    """The sandbox in ``path`` if it is one and its endpoint answers, else ``None``."""
    folder = Path(path)
    try:
        meta = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None
    sandbox = Sandbox(
        folder, str(meta["endpoint_url"]), dict(meta.get("accounts", ACCOUNTS)),
        sso_url=str(meta.get("sso_url", "")), signin_url=str(meta.get("signin_url", "")),
    )
    return sandbox if sandbox.alive() else None


_active: Sandbox | None = None
_active_lock = threading.Lock()


def ensure_sandbox() -> Sandbox:
    """Use the demo's sandbox in this process, creating one if none is running.

    Call it first in a notebook. When the environment names a running sandbox
    (``AWSWIDGET_DEMO_SANDBOX``, set by ``awswidget demo`` and binder) it is
    reused; otherwise a temporary one is created, with its endpoint in a child
    process that stops, and deletes the folder, when the kernel exits or is
    killed. Either way ``os.environ`` then points at the sandbox only, boto3's
    default session is dropped, and awswidget's default manager starts afresh.
    """
    global _active
    with _active_lock:
        if _active is None or not _active.alive():
            named = os.environ.get(SANDBOX_VAR)
            sandbox = load_sandbox(named) if named else None
            if sandbox is None:
                sandbox = create_sandbox()
                atexit.register(sandbox.remove)
            _active = sandbox
        _active.apply()
    # Anything built from the environment before now must be rebuilt from the sandbox's.
    if "boto3" in sys.modules:
        sys.modules["boto3"].DEFAULT_SESSION = None  # type: ignore[attr-defined]
    if "awswidget.manager" in sys.modules:
        sys.modules["awswidget.manager"]._reset_default_manager()
    return _active


def shell_exports(sandbox: Sandbox) -> str:
    """``export NAME=value`` lines (and ``unset`` of other AWS_* variables) for a POSIX shell."""
    import shlex

    lines = [f"unset {name}" for name in sorted(os.environ) if name.startswith("AWS_") and name not in sandbox.environ()]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in sandbox.environ().items()]
    return "\n".join(lines) + "\n"
