"""The demo sandbox: made-up AWS accounts on a local endpoint, and the ``awswidget demo`` runner.

A sandbox is a folder holding a ``config`` and a ``credentials`` file, and a
local AWS endpoint (moto's server on 127.0.0.1) seeded with resources that
differ per account. Its environment points boto3 at those two files and at
the endpoint, and removes every other ``AWS_*`` variable: the user's real
``~/.aws`` is never read or written, and nothing reaches AWS.

The profiles tell the stories the notebooks show:

============== ======================================================================
``analyst``    an IAM user's access keys in the *analytics* account (the start)
``prod``       a role in the *production* account, assumed from ``analyst``
``prod-admin`` a role in *production* that asks for an MFA code (``mfa_serial``)
``root-legacy`` keys kept in a root-credentials profile (AWS's documentation keys)
``tools-local`` an IAM user in the *tools* account, with its own ``endpoint_url``
``sso-dev``    an IAM Identity Center (SSO) profile; logging in needs a real portal
============== ======================================================================

Needs ``moto[server]`` (the ``demo`` extra); the demo runner also needs JupyterLab.

>>> sandbox = ensure_sandbox()                 # doctest: +SKIP
>>> sandbox.accounts["production"]             # doctest: +SKIP
'444455556666'
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._session import SSO_CACHE_VAR
from .localaws import LocalAws, free_port

__all__ = ["ACCOUNTS", "DEFAULT_PROFILE", "Sandbox", "create_sandbox", "ensure_sandbox", "load_sandbox", "run_demo"]

#: The made-up accounts of the sandbox (AWS's documentation account IDs).
ACCOUNTS = {"analytics": "111122223333", "production": "444455556666", "tools": "777788889999"}

#: The profile a sandbox starts with (exported as ``AWS_PROFILE``).
DEFAULT_PROFILE = "analyst"

#: The environment variable naming the active sandbox folder.
SANDBOX_VAR = "AWSWIDGET_DEMO_SANDBOX"

MARKER = "sandbox.json"
_TEMP_PREFIX = "awswidget-sandbox-"

# AWS's documentation example key pair: unknown to moto, which answers for it with its
# default account (123456789012) and a placeholder user; it is never a real key.
_EXAMPLE_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
_EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # noqa: S105 (AWS documentation example)


@dataclass(frozen=True)
class _AccountSeed:
    region: str
    buckets: dict[str, dict[str, bytes]]
    functions: tuple[str, ...]


def _csv(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode()


# What each account holds: switching profiles visibly changes what an analysis sees.
SEED = {
    "analytics": _AccountSeed(
        "us-east-1",
        {
            "analytics-raw-events": {
                "2026/11/01.csv": _csv("user,event", "u1,login", "u2,view"),
                "2026/11/02.csv": _csv("user,event", "u1,view"),
                "2026/11/03.csv": _csv("user,event", "u3,login", "u3,view", "u1,logout"),
            },
            "analytics-notebooks": {"README.md": b"# Shared notebooks of the analytics team\n"},
        },
        ("clean-events", "daily-summary"),
    ),
    "production": _AccountSeed(
        "eu-west-1",
        {
            "prod-orders": {
                "orders/2026-11-01.json": b'[{"id": 1, "total": 12.5}]\n',
                "orders/2026-11-02.json": b'[{"id": 2, "total": 7.0}, {"id": 3, "total": 3.2}]\n',
                "orders/2026-11-03.json": b"[]\n",
                "refunds/2026-11.json": b'[{"order": 2}]\n',
            },
            "prod-access-logs": {
                "2026/11/01/access.log": b"GET /orders 200\n",
                "2026/11/02/access.log": b"GET /orders 200\nPOST /orders 201\n",
            },
        },
        ("orders-api", "payment-webhook", "nightly-export"),
    ),
    "tools": _AccountSeed(
        "us-east-1",
        {"ci-artifacts": {"builds/1/report.txt": b"all green\n"}},
        ("deploy-hook",),
    ),
}

_ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
_READ_ONLY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*", "lambda:Get*", "lambda:List*"], "Resource": "*"}],
}

_LOGS_ONLY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}],
}


def _trust(principal: dict[str, str], *, mfa: bool = False) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if mfa:
        statement["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


# --------------------------------------------------------------------------- seeding


class _Seeder:
    """Creates the demo resources, each in its own account (moto's ``x-moto-account-id`` header)."""

    def __init__(self, endpoint_url: str) -> None:
        import boto3
        import botocore.session

        # Nothing of the caller's environment is used: no profile, no shared files, explicit keys.
        isolated = botocore.session.Session(
            session_vars={
                "profile": (None, None, None, None),
                "config_file": (None, None, os.devnull, None),
                "credentials_file": (None, None, os.devnull, None),
            }
        )
        self._session = boto3.Session(
            botocore_session=isolated,
            aws_access_key_id="AKIAAWSWIDGETSEEDING",
            aws_secret_access_key="seeding-only-" + "0" * 27,
        )
        self.endpoint_url = endpoint_url

    def client(self, service: str, account: str, region: str = "us-east-1") -> Any:
        client = self._session.client(service, endpoint_url=self.endpoint_url, region_name=region)

        def add_header(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account

        client.meta.events.register("before-sign", add_header)
        return client

    def user_with_key(self, account: str, user: str) -> tuple[str, str]:
        iam = self.client("iam", account)
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="demo-admin", PolicyDocument=json.dumps(_ALLOW_ALL))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def role(self, account: str, name: str, trust: str, policy: dict[str, Any]) -> str:
        iam = self.client("iam", account)
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="demo", PolicyDocument=json.dumps(policy))
        return str(arn)

    def resources(self, account: str, seed: _AccountSeed) -> None:
        s3 = self.client("s3", account, seed.region)
        for bucket, objects in seed.buckets.items():
            extra = {} if seed.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": seed.region}}
            s3.create_bucket(Bucket=bucket, **extra)
            for key, body in objects.items():
                s3.put_object(Bucket=bucket, Key=key, Body=body)
        if seed.functions:
            role = self.role(account, "lambda-basic-execution", _trust({"Service": "lambda.amazonaws.com"}), _LOGS_ONLY)
            code = io.BytesIO()
            with zipfile.ZipFile(code, "w") as z:
                z.writestr("handler.py", "def handler(event, context):\n    return {'ok': True}\n")
            lam = self.client("lambda", account, seed.region)
            for name in seed.functions:
                # Creating and listing functions works without Docker (only invoking needs it).
                lam.create_function(
                    FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handler", Code={"ZipFile": code.getvalue()}
                )


@dataclass(frozen=True)
class _Keys:
    analyst: tuple[str, str]
    tools: tuple[str, str]


def seed(endpoint_url: str) -> _Keys:
    """Create the demo accounts' users, roles, buckets and functions on a fresh endpoint."""
    seeder = _Seeder(endpoint_url)
    analytics, production, tools = ACCOUNTS["analytics"], ACCOUNTS["production"], ACCOUNTS["tools"]
    analyst = seeder.user_with_key(analytics, "analyst")
    iam = seeder.client("iam", analytics)
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="analyst")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(UserName="analyst", SerialNumber=device, AuthenticationCode1="123456", AuthenticationCode2="654321")
    from_analytics = {"AWS": f"arn:aws:iam::{analytics}:root"}
    seeder.role(production, "analyst-readonly", _trust(from_analytics), _READ_ONLY)
    seeder.role(production, "admin", _trust(from_analytics, mfa=True), _ALLOW_ALL)
    ci_bot = seeder.user_with_key(tools, "ci-bot")
    for name, account_seed in SEED.items():
        seeder.resources(ACCOUNTS[name], account_seed)
    return _Keys(analyst=analyst, tools=ci_bot)


# --------------------------------------------------------------------------- files


def _config_text(endpoint_url: str) -> str:
    analytics, production = ACCOUNTS["analytics"], ACCOUNTS["production"]
    return f"""\
# awswidget demo sandbox: made-up accounts on a local AWS endpoint ({endpoint_url}).
# Demo credentials only: nothing here reaches AWS. The environment of the demo sets
# AWS_ENDPOINT_URL, so every profile below talks to the local endpoint.

# An IAM user in the analytics account ({analytics}); keys in the credentials file.
[profile analyst]
region = {SEED["analytics"].region}

# A role in the production account ({production}), assumed with the analyst's keys.
[profile prod]
role_arn = arn:aws:iam::{production}:role/analyst-readonly
source_profile = analyst
region = {SEED["production"].region}

# The production admin role asks for a code from the analyst's MFA device.
[profile prod-admin]
role_arn = arn:aws:iam::{production}:role/admin
source_profile = analyst
mfa_serial = arn:aws:iam::{analytics}:mfa/analyst
region = {SEED["production"].region}

# Root credentials (keys in the credentials file): AWS advises against them.
[profile root-legacy]
region = us-east-1

# An IAM user in the tools account ({ACCOUNTS["tools"]}) whose profile names its own endpoint.
[profile tools-local]
region = {SEED["tools"].region}
endpoint_url = {endpoint_url}

# IAM Identity Center (SSO): logging in needs a real SSO portal, which the demo has not.
[profile sso-dev]
sso_session = awswidget-demo
sso_account_id = {analytics}
sso_role_name = ReadOnly
region = us-east-1

[sso-session awswidget-demo]
sso_start_url = https://awswidget-demo.invalid/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access
"""


def _credentials_text(keys: _Keys) -> str:
    return f"""\
# awswidget demo sandbox: keys of the local endpoint's made-up accounts (demo credentials only).

[analyst]
aws_access_key_id = {keys.analyst[0]}
aws_secret_access_key = {keys.analyst[1]}

# AWS's documentation example keys standing in for root keys.
[root-legacy]
aws_access_key_id = {_EXAMPLE_KEY_ID}
aws_secret_access_key = {_EXAMPLE_SECRET}

[tools-local]
aws_access_key_id = {keys.tools[0]}
aws_secret_access_key = {keys.tools[1]}
"""


def _write(path: Path, text: str, mode: int) -> None:
    # A new file each time: the sandbox is ours, and a fresh endpoint means fresh keys.
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), mode)
        f.write(text)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- the sandbox


@dataclass
class Sandbox:
    """A sandbox folder, its local endpoint, and the environment that uses them.

    ``server`` is the endpoint when this process started it (``None`` when the
    sandbox was started elsewhere, e.g. by ``awswidget demo`` for the kernel).
    """

    path: Path
    endpoint_url: str
    accounts: dict[str, str] = field(default_factory=lambda: dict(ACCOUNTS))
    server: LocalAws | None = field(default=None, repr=False)
    temporary: bool = False

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
    """Remove temporary sandboxes whose owner process is gone (a kernel killed before its atexit ran)."""
    with contextlib.suppress(OSError):
        for entry in Path(tempfile.gettempdir()).glob(_TEMP_PREFIX + "*"):
            try:
                meta = json.loads((entry / MARKER).read_text())
            except (OSError, ValueError):
                continue
            if meta.get("temporary") and not _pid_alive(int(meta.get("owner_pid", 0))):
                shutil.rmtree(entry, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def create_sandbox(path: str | os.PathLike[str] | None = None, *, temporary: bool | None = None) -> Sandbox:
    """Create (or refresh) a sandbox: start a local endpoint, seed it, write the files.

    Parameters
    ----------
    path
        The folder to use; a new temporary folder by default. An existing
        folder must be empty or an earlier sandbox (whose files are rewritten:
        a new endpoint means new keys).
    temporary
        Remove stale copies of it automatically once its owner process is gone
        (default: true for a folder created here).

    The endpoint is a child process of this one: call :meth:`Sandbox.stop`.
    """
    folder, created = _prepare_folder(Path(path) if path is not None else None)
    server = LocalAws(log_file=str(folder / "moto.log")).start()
    try:
        keys = seed(server.endpoint_url)
        _write(folder / "config", _config_text(server.endpoint_url), 0o600)
        _write(folder / "credentials", _credentials_text(keys), 0o600)
        meta = {
            "endpoint_url": server.endpoint_url,
            "accounts": ACCOUNTS,
            "owner_pid": os.getpid(),
            "endpoint_pid": server.process.pid if server.process else None,
            "temporary": created if temporary is None else temporary,
        }
        _write(folder / MARKER, json.dumps(meta, indent=2) + "\n", 0o600)
    except BaseException:
        server.stop()
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return Sandbox(folder, server.endpoint_url, dict(ACCOUNTS), server, temporary=bool(meta["temporary"]))


def load_sandbox(path: str | os.PathLike[str]) -> Sandbox | None:
    """The sandbox in ``path`` if it is one and its endpoint answers, else ``None``."""
    folder = Path(path)
    try:
        meta = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None
    sandbox = Sandbox(folder, str(meta["endpoint_url"]), dict(meta.get("accounts", ACCOUNTS)))
    return sandbox if sandbox.alive() else None


_active: Sandbox | None = None
_active_lock = threading.Lock()


def ensure_sandbox() -> Sandbox:
    """Use the demo's sandbox in this process, creating one if none is running.

    Call it first in a notebook. When the environment names a running sandbox
    (``AWSWIDGET_DEMO_SANDBOX``, set by ``awswidget demo`` and binder) it is
    reused; otherwise a temporary one is created, with its endpoint in a child
    process that is stopped (and the folder removed) when the kernel exits.
    Either way ``os.environ`` then points at the sandbox only, boto3's default
    session is dropped, and awswidget's default manager starts afresh.
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
        sys.modules["boto3"].DEFAULT_SESSION = None
    if "awswidget.manager" in sys.modules:
        sys.modules["awswidget.manager"]._reset_default_manager()
    return _active


# --------------------------------------------------------------------------- the demo runner


def find_notebooks() -> Path | None:
    """The example notebooks: a source checkout's (an editable install), else the installed copy."""
    for candidate in (Path(__file__).resolve().parent.parent / "notebooks", Path(sys.prefix) / "share" / "awswidget" / "notebooks"):
        if any(candidate.glob("*.ipynb")):
            return candidate
    return None


def _copy_notebooks(source: Path, target: Path) -> Path:
    # Copies keep the checkout clean (outputs and widget state stay out of git);
    # a notebook already in the sandbox is the user's and is left alone.
    target.mkdir(exist_ok=True)
    for notebook in sorted(source.glob("*.ipynb")):
        if not (target / notebook.name).exists():
            shutil.copy2(notebook, target / notebook.name)
    return target


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


def _start_jupyter(sandbox: Sandbox, root: Path, port: int, token: str, open_browser: bool) -> subprocess.Popen[bytes]:
    env = sandbox.apply(dict(os.environ))  # kernels inherit the sandbox's environment, and only it
    env["JUPYTER_TOKEN"] = token  # not on the command line, where `ps` would show it
    with open(sandbox.path / "jupyter.log", "ab") as log:
        # Its own session: Ctrl-C reaches only us, and Jupyter never asks "Shutdown? (y/n)".
        return subprocess.Popen(
            _jupyter_command(port, root, open_browser),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=root,
            start_new_session=True,
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
    if source is None or not any(source.glob("*.ipynb")):
        say(
            "awswidget demo: the example notebooks were not found. Run it from a clone of the repository "
            "(pip install -e '.[demo]'), or pass --notebooks FOLDER."
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
            f"  local AWS:  {sandbox.endpoint_url} (moto; accounts: {accounts})\n"
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


def start_sandbox(path: str | os.PathLike[str] | None = None) -> Sandbox:
    """Create a sandbox whose endpoint outlives this process (for binder's ``start``).

    The endpoint keeps running after this process exits; stop it by ending
    the process named ``endpoint_pid`` in the sandbox's ``sandbox.json``.
    """
    sandbox = create_sandbox(path, temporary=False)
    sandbox.server = None  # handed over: it is not ours to stop when we exit
    return sandbox


def shell_exports(sandbox: Sandbox) -> str:
    """``export NAME=value`` lines (and ``unset`` of other AWS_* variables) for a POSIX shell."""
    import shlex

    lines = [f"unset {name}" for name in sorted(os.environ) if name.startswith("AWS_") and name not in sandbox.environ()]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in sandbox.environ().items()]
    return "\n".join(lines) + "\n"
