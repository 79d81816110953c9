"""Shared fixtures: an isolated AWS environment per test, and a local AWS endpoint.

Every test runs with ``AWS_CONFIG_FILE`` and ``AWS_SHARED_CREDENTIALS_FILE``
under its own ``tmp_path``, every other ``AWS_*`` variable removed, the EC2
metadata service disabled, and boto3's default session and awswidget's
process-wide manager reset afterwards. No test reads or writes a real ``~/.aws``.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from awswidget import _redact, manager
from awswidget.localaws import LocalAws
from tests.helpers import environ as safe_environ

# Before anything writes the environment: glibc's setenv next to a native thread's getenv can crash
# the run (tests/helpers/environ.py).
safe_environ.install()


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """A crash prints the crashing thread only: CI shows a few dozen lines of the end, and the run has dozens of
    idle threads whose stacks would hide it (the segmentation fault above showed only three idle timers)."""
    import faulthandler
    import sys

    if faulthandler.is_enabled() and sys.__stderr__ is not None:
        # A copy of the terminal's stderr, taken before tests capture it, as pytest's own faulthandler does.
        faulthandler.enable(file=os.dup(sys.__stderr__.fileno()), all_threads=False)
# Set before anything in the run can read them (botocore reads some at import).
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
# The "recently used" list lives in the user's data folder: this run (kernels and notebooks included) keeps its own.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="awswidget-test-data-")


@dataclass
class AwsFiles:
    """The isolated shared files of one test."""

    root: Path
    config: Path
    credentials: Path

    def write(self, config: str | None = None, credentials: str | None = None) -> AwsFiles:
        self.config.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if config is not None:
            self.config.write_text(config)
        if credentials is not None:
            self.credentials.write_text(credentials)
            self.credentials.chmod(0o600)
        return self


@pytest.fixture(autouse=True)
def aws_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsFiles]:
    """Point the shared files at ``tmp_path/.aws`` and clear every other AWS_* variable."""
    saved_env = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    files = AwsFiles(home, home / ".aws" / "config", home / ".aws" / "credentials")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(files.config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(files.credentials))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    saved_session = boto3.DEFAULT_SESSION
    boto3.DEFAULT_SESSION = None
    manager._reset_default_manager()
    yield files
    # Managers export AWS_PROFILE & co. straight into os.environ: put everything back.
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        if name not in saved_env:
            del os.environ[name]
    os.environ.update(saved_env)
    boto3.DEFAULT_SESSION = saved_session
    # Forget the manager that owned the process and what it exported, so the next test starts from its own.
    manager._reset_default_manager()
    _redact.forget(*list(_redact._known))


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAws]:
    """moto's server on 127.0.0.1 (no signature checks): any key is accepted."""
    with LocalAws() as aws:
        yield aws


@dataclass
class IamKey:
    user: str
    access_key_id: str
    secret_access_key: str
    account: str
    arn: str


@dataclass
class AuthAws:
    """moto's server with signature checks on, and one IAM user whose key it knows."""

    server: LocalAws
    key: IamKey

    @property
    def endpoint_url(self) -> str:
        return self.server.endpoint_url

    def client(self, service: str, key: IamKey | None = None) -> object:
        key = key or self.key
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=key.access_key_id,
            aws_secret_access_key=key.secret_access_key,
        )

    def new_key(self) -> IamKey:
        """Another IAM user with an access key, created with the known key (signed)."""
        iam = self.client("iam")
        user = f"user-{uuid.uuid4().hex[:8]}"
        created = iam.create_user(UserName=user)["User"]  # type: ignore[attr-defined]
        key = iam.create_access_key(UserName=user)["AccessKey"]  # type: ignore[attr-defined]
        return IamKey(user, key["AccessKeyId"], key["SecretAccessKey"], created["Arn"].split(":")[4], created["Arn"])


@pytest.fixture(scope="session")
def auth_aws() -> Iterator[AuthAws]:
    """moto's server checking request signatures; alice (admin) can create more users and keys."""
    # Three unauthenticated set-up calls: create alice, give her admin rights, create her key.
    with LocalAws(auth_after=3) as server:
        with pytest.MonkeyPatch.context() as mp:
            for name in [k for k in os.environ if k.startswith("AWS_")]:
                mp.delenv(name)  # set-up clients must not read a profile from whichever test came first
            mp.setenv("AWS_CONFIG_FILE", os.devnull)
            mp.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
            iam = boto3.client(
                "iam",
                endpoint_url=server.endpoint_url,
                region_name="us-east-1",
                aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                aws_secret_access_key="setup-only-" + "x" * 29,
            )
            user = iam.create_user(UserName="alice")["User"]
            iam.put_user_policy(
                UserName="alice",
                PolicyName="admin",
                PolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}',
            )
            key = iam.create_access_key(UserName="alice")["AccessKey"]
        yield AuthAws(server, IamKey("alice", key["AccessKeyId"], key["SecretAccessKey"], user["Arn"].split(":")[4], user["Arn"]))
