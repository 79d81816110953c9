"""A local AWS endpoint (moto's server on 127.0.0.1) for the demo, the tests and binder.

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
from types import TracebackType
from typing import Any

__all__ = ["LocalAws", "free_port"]


def free_port(host: str = "127.0.0.1") -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class LocalAws:
    """moto's server in a child process on ``127.0.0.1`` and a free port.

    ``auth_after`` turns on moto's request-signature checks after that many
    unauthenticated set-up calls (moto's ``INITIAL_NO_AUTH_ACTION_COUNT``):
    then a wrong secret gets ``SignatureDoesNotMatch`` and an unknown key
    ``InvalidClientTokenId``, as AWS answers.

    >>> with LocalAws() as aws:                # doctest: +SKIP
    ...     print(aws.endpoint_url)
    """

    host = "127.0.0.1"

    def __init__(self, port: int | None = None, *, auth_after: int | None = None, log_file: str | None = None) -> None:
        self.port = port or free_port(self.host)
        self.auth_after = auth_after
        self.log_file = log_file
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
        if self.auth_after is not None:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(self.auth_after)
        self._log = open(self.log_file, "ab") if self.log_file else None  # closed in stop()
        out = self._log if self._log is not None else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
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
