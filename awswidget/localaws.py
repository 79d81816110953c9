"""A local AWS endpoint (moto's server on 127.0.0.1) for the demo, the tests and binder.

The server runs in a child process (``python -m awswidget.demo.endpoint``) that fixes, in that process
only, the places where moto's request checks disagree with AWS (signatures of requests without a body or
with an encoded URL, trust policies across accounts: see :mod:`awswidget.demo.endpoint`).
Needs the ``moto[server]`` package (the ``demo`` and ``test`` extras).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["LocalAws", "free_port"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (the OS's choice)."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class LocalAws:
    """moto's server in a child process on ``127.0.0.1`` and a free port.

    ``auth_after`` turns on moto's request-signature checks after that many
    unauthenticated set-up calls (moto's ``INITIAL_NO_AUTH_ACTION_COUNT``):
    then a wrong secret gets ``SignatureDoesNotMatch`` and an unknown key
    ``InvalidClientTokenId``, as AWS answers. :meth:`check_signatures` turns
    them on at any time (after seeding with made-up keys, say). ``env`` adds
    variables to the server's environment only (moto's settings, such as
    ``MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS``).

    The server stops by itself when this process is gone (its owner), unless
    ``detached``; ``remove_on_exit`` names a temporary sandbox folder it
    deletes when it stops, however it is stopped short of SIGKILL.

    >>> with LocalAws() as aws:                # doctest: +SKIP
    ...     print(aws.endpoint_url)
    """

    host = "127.0.0.1"

    def __init__(
        self,
        port: int | None = None,
        *,
        auth_after: int | None = None,
        log_file: str | None = None,
        detached: bool = False,
        remove_on_exit: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = port or free_port(self.host)
        self.auth_after = auth_after
        self.log_file = log_file
        self.detached = detached
        self.remove_on_exit = remove_on_exit
        self.env = dict(env or {})  # moto's own settings (MOTO_*), for the server's process only
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> LocalAws:
        try:
            import moto.server  # noqa: F401
        except ImportError:
            raise RuntimeError(
                "The local AWS endpoint needs moto's server: pip install 'moto[server]' "
                "(or install awswidget with the [demo] extra)."
            ) from None
        env = dict(os.environ)
        for name in list(env):
            if name.startswith("AWS_"):
                del env[name]  # the server must not pick up the user's credentials or endpoints
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        # The endpoint runs this very copy of awswidget (its fixes), whatever the caller's sys.path.
        package_root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])])
        env.update(self.env)
        if self.auth_after is not None:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(self.auth_after)
        self._log = open(self.log_file, "ab") if self.log_file else None  # closed in stop()
        out = self._log if self._log is not None else subprocess.DEVNULL
        ours = [] if self.detached else ["--owner-pid", str(os.getpid())]
        if self.remove_on_exit is not None:
            ours += ["--remove-on-exit", os.fspath(self.remove_on_exit)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "awswidget.demo.endpoint", *ours, "-H", self.host, "-p", str(self.port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            # Its own process group: Jupyter kills a kernel's whole group with SIGKILL, which would leave
            # the sandbox folder behind; out of the group, the endpoint sees its owner go and cleans up.
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto's server exited with code {self.process.returncode} before it was ready")
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/data.json", timeout=1):  # noqa: S310
                    return self
            except urllib.error.HTTPError:
                return self  # any HTTP answer means the server is up
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto's server did not answer on {self.endpoint_url} within {timeout:.0f} s")

    def check_signatures(self) -> None:
        """From now on, check every request's signature and the caller's policies, as AWS does."""
        # moto's INITIAL_NO_AUTH_ACTION_COUNT, changed at run time: no unchecked request left.
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset-auth", data=b"0", method="POST")  # noqa: S310
        request.add_header("Content-Type", "text/plain")  # moto reads the raw body; a form body would be parsed away
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass

    def reset(self) -> None:
        """Forget every resource (moto's reset API)."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (it may belong to another user)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
