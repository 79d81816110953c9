"""The local credentials endpoint: who it answers, what it hands out, and that SDKs in subprocesses follow it."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

import awswidget
from awswidget.follow import endpoint as ep
from tests.accounts import TwoAccounts, account_of, fresh_credentials, two_accounts_fixture  # noqa: F401  (fixtures)
from tests.conftest import AwsFiles

pytestmark = pytest.mark.integration




@pytest.fixture
def world(two_accounts: TwoAccounts, aws_env: AwsFiles) -> TwoAccounts:
    fresh_credentials()
    two_accounts.write_profiles(aws_env)
    return two_accounts


@pytest.fixture
def m(world: TwoAccounts) -> Iterator[awswidget.CredentialsManager]:
    manager = awswidget.CredentialsManager(profile="A")
    yield manager
    manager.release()


def ask(token: str | None = None, *, path: str | None = None) -> tuple[int, dict[str, str]]:
    url = os.environ[ep.FULL_URI] if path is None else os.environ[ep.FULL_URI].rsplit("/awswidget", 1)[0] + path
    request = urllib.request.Request(url)  # noqa: S310 (127.0.0.1)
    if token is not None:
        request.add_header("Authorization", token)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 (127.0.0.1)
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def the_token() -> str:
    return Path(os.environ[ep.TOKEN_FILE]).read_text()


def acts_as(served: dict[str, str], world: TwoAccounts) -> str:
    """The account letter the served credentials act for (moto's own answer: STS GetCallerIdentity)."""
    session = boto3.Session(aws_access_key_id=served["AccessKeyId"], aws_secret_access_key=served["SecretAccessKey"],
                            aws_session_token=served["Token"], region_name="us-east-1")
    account_id = session.client("sts", endpoint_url=world.endpoint_url).get_caller_identity()["Account"]
    return {world.a.account_id: "A", world.b.account_id: "B"}[account_id]


def test_it_answers_the_token_only(m: awswidget.CredentialsManager) -> None:
    assert ask()[0] == 403
    assert ask("not-the-token")[0] == 403
    assert ask(the_token() + "x")[0] == 403
    assert ask(the_token(), path="/other")[0] == 404
    assert ask(the_token())[0] == 200


def test_it_listens_on_127_0_0_1_and_refuses_any_other_address(m: awswidget.CredentialsManager) -> None:
    port = int(os.environ[ep.FULL_URI].split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass  # listening here...
    assert ep.endpoint._server is not None and ep.endpoint._server.server_address[0] == "127.0.0.1"
    for host in ("127.0.0.2", *_outside_addresses()):
        with pytest.raises(OSError), socket.create_connection((host, port), timeout=2):
            pass  # ...and on no other address of this machine
    # A request from another address of this machine (127.0.0.2 to 127.0.0.1) is refused, token or not.
    with socket.socket() as s:
        s.bind(("127.0.0.2", 0))
        s.connect(("127.0.0.1", port))
        s.sendall(f"GET /awswidget/credentials HTTP/1.0\r\nAuthorization: {the_token()}\r\n\r\n".encode())
        assert s.recv(100).split(b"\r\n")[0].endswith(b"403 Forbidden")


def _outside_addresses() -> list[str]:
    """This machine's address towards other machines, when it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            address = s.getsockname()[0]
        except OSError:
            return []
    return [] if address.startswith("127.") else [address]


def test_the_token_is_in_a_private_file_and_no_secret_is_in_the_environment(m: awswidget.CredentialsManager) -> None:
    token_file = Path(os.environ[ep.TOKEN_FILE])
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
    status, served = ask(the_token())
    assert status == 200
    values = set(os.environ.values())
    for secret in (the_token(), served["SecretAccessKey"], served["Token"]):
        assert secret not in values
        assert not any(secret in value for value in values)
    assert ep.TOKEN not in os.environ


def test_it_never_serves_long_term_keys(m: awswidget.CredentialsManager, world: TwoAccounts) -> None:
    for profile, account in (("A", world.a), ("B", world.b)):  # long-term keys: an STS session of them
        m.profile = profile
        status, served = ask(the_token())
        assert status == 200
        assert served["AccessKeyId"] != account.access_key_id
        assert served["SecretAccessKey"] != account.secret_access_key
        assert served["Token"]
        assert acts_as(served, world) == account.letter
    m.profile = "R"
    status, served = ask(the_token())
    assert served["Token"] and acts_as(served, world) == "B"


def test_a_switch_replaces_what_it_serves(m: awswidget.CredentialsManager, world: TwoAccounts) -> None:
    first = ask(the_token())[1]
    assert acts_as(first, world) == "A"
    m.profile = "R"
    second = ask(the_token())[1]
    assert second["AccessKeyId"] != first["AccessKeyId"]
    assert acts_as(second, world) == "B"


def test_a_selection_that_cannot_resolve_is_refused_with_a_sentence(world: TwoAccounts, aws_env: AwsFiles) -> None:
    world.write_profiles(aws_env, extra_config="\n[profile Empty]\nregion = us-east-1\n")
    m = awswidget.CredentialsManager(profile="Empty")
    try:
        status, body = ask(the_token())
        assert status == 503
        assert "Empty" in body["Message"] and "credentials" in body["Message"]
    finally:
        m.release()


def test_a_released_manager_is_not_served_any_more(m: awswidget.CredentialsManager) -> None:
    url, token = os.environ[ep.FULL_URI], the_token()
    m.release()
    assert ep.FULL_URI not in os.environ
    request = urllib.request.Request(url, headers={"Authorization": token})  # noqa: S310 (127.0.0.1)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 (127.0.0.1)
    assert refused.value.code == 503


SUBPROCESS = """
import boto3, os
from botocore.credentials import ContainerProvider
c = ContainerProvider().load().get_frozen_credentials()  # botocore's plain container provider, nothing else
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL_S3"], region_name=os.environ["AWS_REGION"],
                  aws_access_key_id=c.access_key, aws_secret_access_key=c.secret_key, aws_session_token=c.token)
print(s3.get_object(Bucket=os.environ["BUCKET"], Key="data.csv")["Body"].read().decode().splitlines()[1].split(",")[0])
"""


def in_subprocess(bucket: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", SUBPROCESS], env={**os.environ, "BUCKET": bucket},
                          capture_output=True, text=True, timeout=60, check=False)


def test_a_subprocess_gets_the_selections_temporary_credentials(m: awswidget.CredentialsManager, world: TwoAccounts) -> None:
    assert in_subprocess(world.a.bucket).stdout.strip() == "A"
    m.profile = "R"
    assert in_subprocess(world.b.bucket).stdout.strip() == "B"
    refused = in_subprocess(world.a.bucket)
    assert refused.returncode != 0 and "AccessDenied" in refused.stderr


def test_it_stops_with_the_kernel(world: TwoAccounts, tmp_path: Path) -> None:
    script = "import awswidget, os; awswidget.CredentialsManager(profile='A'); print(os.environ['AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'])"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})
    token_file = Path(done.stdout.strip())
    assert token_file.name == "token"
    assert not token_file.exists() and not token_file.parent.exists()


def test_a_containers_own_credentials_give_way_to_the_selection_until_release(
        world: TwoAccounts, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(ep.RELATIVE_URI, "/v2/credentials/task")  # ECS, SageMaker: the container's own role
    monkeypatch.setenv(ep.TOKEN, "the-containers-token")
    monkeypatch.setattr(ep.endpoint_follower, "_warned", False)
    with caplog.at_level("WARNING", logger="awswidget.follow.endpoint"):
        m = awswidget.CredentialsManager(profile="R")
    try:
        # The selection wins: botocore and the C++ SDK prefer RELATIVE_URI, so it is unset while awswidget serves.
        assert ep.RELATIVE_URI not in os.environ and ep.TOKEN not in os.environ
        assert os.environ[ep.FULL_URI] == ep.endpoint.url and os.environ[ep.TOKEN_FILE] == ep.endpoint.token_file
        assert os.environ["AWS_ENDPOINT_URL_S3"] == world.endpoint_url
        assert in_subprocess(world.b.bucket).stdout.strip() == "B"  # the selection's account, not the container's
        [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert ep.RELATIVE_URI in warning and ep.TOKEN in warning and "release()" in warning
        assert "/v2/credentials/task" not in warning and "the-containers-token" not in warning
        # awswidget's own sessions still see the container's variables (credential_source = EcsContainer).
        from awswidget import _session

        assert _session.container_environ()[ep.RELATIVE_URI] == "/v2/credentials/task"
        assert ep.FULL_URI not in _session.container_environ()
    finally:
        m.release()
    assert os.environ[ep.RELATIVE_URI] == "/v2/credentials/task"  # exactly as before
    assert os.environ[ep.TOKEN] == "the-containers-token"
    assert ep.FULL_URI not in os.environ and ep.TOKEN_FILE not in os.environ


def test_a_containers_full_uri_is_replaced_and_restored(world: TwoAccounts, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ep.FULL_URI, "http://127.0.0.1:9/the-notebooks-role")  # SageMaker Studio's shape
    m = awswidget.CredentialsManager(profile="R")
    try:
        assert os.environ[ep.FULL_URI] == ep.endpoint.url
        assert in_subprocess(world.b.bucket).stdout.strip() == "B"
    finally:
        m.release()
    assert os.environ[ep.FULL_URI] == "http://127.0.0.1:9/the-notebooks-role"
    assert ep.TOKEN_FILE not in os.environ


def test_no_session_of_awswidgets_borrows_the_selections_credentials(world: TwoAccounts, aws_env: AwsFiles) -> None:
    from awswidget import roles

    world.write_profiles(aws_env, extra_config=f"\n[profile Empty]\nregion = us-east-1\nendpoint_url = {world.endpoint_url}\n")
    m = awswidget.CredentialsManager(profile="A")
    try:
        assert os.environ.get(ep.FULL_URI) == ep.endpoint.url  # the endpoint serves A...
        side = awswidget.CredentialsManager(profile="Empty", activate=False)
        with pytest.raises(awswidget.AwsWidgetError):
            side.verify()  # ...but a side task on a profile with no credentials does not borrow them
        assert side.status == "error"
        role = roles.validate_role(profile_name="NewRole", role_arn=world.role_arn,
                                   source_profile="Empty", existing=m.profiles, region="eu-west-1",
                                   endpoint_url=world.endpoint_url)
        with pytest.raises(awswidget.AwsWidgetError, match="source profile 'Empty' gives no usable credentials"):
            roles.assume(role, str(aws_env.config), str(aws_env.credentials))  # the role form's check
        container = roles.validate_role(profile_name="NewRole", role_arn=world.role_arn,
                                        credential_source="EcsContainer", existing=m.profiles, region="eu-west-1",
                                        endpoint_url=world.endpoint_url)
        with pytest.raises(awswidget.AwsWidgetError, match="credential source EcsContainer gives no usable credentials"):
            roles.assume(container, str(aws_env.config), str(aws_env.credentials))
        # A user's own boto3 session of it does fall back to the endpoint, as it would on ECS (documented).
        assert boto3.Session(profile_name="Empty").client("sts").get_caller_identity()["Account"] == world.a.account_id
    finally:
        m.release()


def test_an_idle_connection_is_dropped_and_floods_are_bounded(m: awswidget.CredentialsManager) -> None:
    import threading
    import time

    port = int(os.environ[ep.FULL_URI].split(":")[2].split("/")[0])
    before = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(ep._QuietServer.MAX_HANDLERS + 20)]
    try:
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            assert threading.active_count() <= before + ep._QuietServer.MAX_HANDLERS  # never a thread per socket
            time.sleep(0.05)
        idle[0].settimeout(ep.HANDLER_TIMEOUT + 10)
        assert idle[0].recv(1) == b""  # the server hung up on a connection that never sent a request
        assert ask(the_token())[0] == 200  # and answers again once the silent ones are gone
    finally:
        for sock in idle:
            sock.close()


def test_export_env_false_points_nobody_at_it(world: TwoAccounts) -> None:
    m = awswidget.CredentialsManager(profile="R", export_env=False)
    try:
        assert ep.FULL_URI not in os.environ and "AWS_ENDPOINT_URL_S3" not in os.environ
    finally:
        m.release()


def test_a_switch_makes_no_network_call_in_its_thread(world: TwoAccounts, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import duckdb

    m = awswidget.CredentialsManager(profile="A")
    con = duckdb.connect()
    follower = m.follow(con)
    assert follower.wait()
    switching = threading.current_thread()
    calls: list[object] = []
    real = socket.socket.connect

    def connect(sock: socket.socket, address: object) -> object:
        if threading.current_thread() is switching:
            calls.append(address)
        return real(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    try:
        for profile in ("B", "R", "A"):
            m.profile = profile  # the endpoint follower and the DuckDB follower run in this thread
        assert calls == []
        assert follower.wait()  # resolved in the background
    finally:
        monkeypatch.undo()
        follower.stop()
        con.close()
        m.release()
