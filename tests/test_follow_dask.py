"""Dask distributed workers follow the selection (issue 20, the distributed case).

Two real cluster shapes against moto on 127.0.0.1 with two accounts whose buckets
deny each other: a ``LocalCluster`` of worker processes, and a scheduler and
workers started as separate ``dask scheduler`` / ``dask worker`` processes whose
``HOME`` is empty and whose environment holds no ``AWS_*`` variable (nor awswidget
on their path: the plugin travels by value). One cluster per module.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("distributed")
pytest.importorskip("s3fs")
dd = pytest.importorskip("dask.dataframe")

import cloudpickle  # noqa: E402
import distributed  # noqa: E402
from distributed.protocol import pickle as dask_pickle  # noqa: E402

import awswidget  # noqa: E402
from awswidget import follow  # noqa: E402
from awswidget.follow import _temporary  # noqa: E402
from awswidget.follow import dask as dask_follow  # noqa: E402
from awswidget.localaws import LocalAws, free_port  # noqa: E402

pytestmark = pytest.mark.timeout(300)
ROOT = Path(__file__).resolve().parents[1]
WAIT = 60.0  # seconds a follower may take to reach every worker on this shared machine


# --------------------------------------------------------------------------- two accounts on moto
# Interim: tests/accounts.py (branch data-local) takes this over once it lands there.

_SERVER = r"""
import sys
from moto.core.responses import ActionResult
from moto.iam import access_control
from moto.iam.models import get_account_id_from, iam_backends
from moto.moto_api._internal import mock_random
from moto.sts import responses
from awswidget.demo import endpoint

# moto's GetSessionToken answers one fixed key of no account; AWS answers a session of the caller.
session_keys = set()

def get_session_token(self):
    caller = self.get_access_key()
    backend = iam_backends[get_account_id_from(caller)]["aws"]
    user = next(u for u in backend.users.values() if any(k.access_key_id == caller for k in u.access_keys))
    key = user.create_access_key(prefix="ASIA")
    backend.access_keys[key.physical_resource_id] = key
    session_keys.add(key.access_key_id)
    token = self.backend.get_session_token(duration=self._get_int_param("DurationSeconds", 43200))
    return ActionResult({"Credentials": {"AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key,
                                         "SessionToken": "FQoG" + mock_random.get_random_hex(120), "Expiration": token.expiration}})

original = access_control.create_access_key

def create_access_key(account_id, partition, access_key_id, headers):
    if access_key_id in session_keys:  # a session of an IAM user acts as that user
        headers = {k: v for k, v in headers.items() if k.lower() != "x-amz-security-token"}
        return access_control.IAMUserAccessKey(account_id=account_id, partition=partition, access_key_id=access_key_id, headers=headers)
    return original(account_id, partition, access_key_id, headers)

responses.TokenResponse.get_session_token = get_session_token
access_control.create_access_key = create_access_key
endpoint.main(sys.argv[1:])
"""

ACCOUNT_A, ACCOUNT_B = "111111111111", "222222222222"


@dataclass
class Accounts:
    endpoint_url: str
    key_ids: dict[str, str]
    secrets: dict[str, str]
    text: dict[str, str]

    def url(self, bucket: str, key: str = "data.csv") -> str:
        return f"s3://bucket-{bucket}-dask/{key}"

    @property
    def config_text(self) -> str:
        e = self.endpoint_url
        return (f"[profile A]\nregion = us-east-1\nendpoint_url = {e}\n\n[profile B]\nregion = eu-west-1\nendpoint_url = {e}\n\n"
                f"[profile R]\nrole_arn = arn:aws:iam::{ACCOUNT_B}:role/R\nsource_profile = A\nregion = eu-west-1\nendpoint_url = {e}\n\n"
                f"[profile broken]\nregion = us-east-1\nendpoint_url = {e}\n")

    @property
    def credentials_text(self) -> str:
        return "".join(f"[{p}]\naws_access_key_id = {self.key_ids[p]}\naws_secret_access_key = {self.secrets[p]}\n\n"
                       for p in ("A", "B", "broken"))


@contextlib.contextmanager
def two_accounts(root: Path) -> Iterator[Accounts]:
    """moto with two accounts whose buckets deny each other, a role R in B trusted by A, signatures checked."""
    import boto3
    import pandas as pd

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_EC2_METADATA_DISABLED="true", MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS="false",
               PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]))
    log = open(root / "moto.log", "wb")
    server = subprocess.Popen([sys.executable, "-c", _SERVER, "--owner-pid", str(os.getpid()), "-H", "127.0.0.1", "-p", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    aws = LocalAws(port)
    aws.process = server
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{aws.endpoint_url}/moto-api/data.json", timeout=1).close()  # noqa: S310
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("moto did not start") from None
                time.sleep(0.2)

        def client(service: str, account: str, region: str = "us-east-1") -> Any:
            c = boto3.client(service, endpoint_url=aws.endpoint_url, region_name=region,
                             aws_access_key_id="AKIAAWSWIDGETSEEDING", aws_secret_access_key="seeding-only-" + "0" * 27)
            c.meta.events.register("before-sign", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account))
            return c

        allow = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
        key_ids, secrets, text = {}, {}, {}
        for profile, account, region in (("A", ACCOUNT_A, "us-east-1"), ("B", ACCOUNT_B, "eu-west-1")):
            iam = client("iam", account)
            iam.create_user(UserName=f"user-{profile}")
            iam.put_user_policy(UserName=f"user-{profile}", PolicyName="all", PolicyDocument=allow)
            made = iam.create_access_key(UserName=f"user-{profile}")["AccessKey"]
            key_ids[profile], secrets[profile] = made["AccessKeyId"], made["SecretAccessKey"]
            s3 = client("s3", account, region)
            bucket = f"bucket-{profile.lower()}-dask"
            extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            s3.create_bucket(Bucket=bucket, **extra)
            text[profile.lower()] = f"owner\n{profile}"
            s3.put_object(Bucket=bucket, Key="data.csv", Body=text[profile.lower()].encode() + b"\n")
            buffer = io.BytesIO()
            pd.DataFrame({"owner": [profile]}).to_parquet(buffer)
            s3.put_object(Bucket=bucket, Key="data.parquet", Body=buffer.getvalue())
        trust = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_A}:root"}, "Action": "sts:AssumeRole"}]})
        iam = client("iam", ACCOUNT_B)
        iam.create_role(RoleName="R", AssumeRolePolicyDocument=trust)
        iam.put_role_policy(RoleName="R", PolicyName="all", PolicyDocument=allow)
        key_ids["broken"], secrets["broken"] = "AKIAUNKNOWNBROKENKEY", "not-a-known-secret-" + "9" * 21
        aws.check_signatures()
        yield Accounts(aws.endpoint_url, key_ids, secrets, text)
    finally:
        aws.stop()
        log.close()


# --------------------------------------------------------------------------- what runs on a worker


def read_on_worker(url: str) -> str:
    """Read ``url`` with a plain s3fs filesystem made in the worker: its text, or the error's type."""
    import s3fs

    try:
        return s3fs.S3FileSystem().cat(url).decode().strip()
    except Exception as error:  # the test compares the outcome
        return f"error:{type(error).__name__}"


def worker_state(dask_worker: Any) -> dict[str, Any]:
    plugin = dask_worker.plugins.get("awswidget-credentials")
    env = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    return {
        "profile": getattr(plugin, "profile", None),
        "generation": getattr(plugin, "generation", None),
        "key_id": env.get("AWS_ACCESS_KEY_ID"),
        "region": env.get("AWS_REGION"),
        "endpoint": env.get("AWS_ENDPOINT_URL_S3"),
        "profile_env": env.get("AWS_PROFILE"),
        "home_aws": os.path.exists(os.path.expanduser("~/.aws")),
    }


# --------------------------------------------------------------------------- clusters


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Accounts]:
    with two_accounts(tmp_path_factory.mktemp("moto")) as made:
        yield made


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTHONPATH"}
    env.update(HOME=str(home), AWS_EC2_METADATA_DISABLED="true", DASK_DISTRIBUTED__WORKER__DAEMON="False")
    return env


class CliCluster:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, each with an empty HOME."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.processes: list[subprocess.Popen[bytes]] = []

    def _start(self, args: list[str], name: str) -> None:
        home = self.root / f"home-{name}"
        home.mkdir()
        log = open(self.root / f"{name}.log", "wb")
        self.processes.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_" + args[0], *args[1:]],
                                               env=_clean_env(home), cwd=home, stdout=log, stderr=subprocess.STDOUT))

    def start_scheduler(self) -> None:
        self._start(["scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"], "scheduler")

    def start_worker(self, name: str) -> None:
        self._start(["worker", self.address, "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard",
                     "--name", name, "--no-nanny"], name)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def local_cluster(accounts: Accounts) -> Iterator[Any]:
    cluster = distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1, dashboard_address=":0",
                                       host="127.0.0.1", silence_logs=40)
    try:
        yield cluster
    finally:
        cluster.close(timeout=30)


@pytest.fixture(scope="module")
def cli_cluster(accounts: Accounts, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliCluster]:
    cluster = CliCluster(tmp_path_factory.mktemp("cli-cluster"))
    try:
        cluster.start_scheduler()
        cluster.start_worker("w1")
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def write_files(accounts: Accounts, aws_env: Any) -> Any:
    aws_env.write(accounts.config_text, accounts.credentials_text)
    _temporary.forget()
    return aws_env


def _connect(address: Any, *, workers: int) -> Any:
    client = distributed.Client(address, timeout=60, set_as_default=True)
    client.wait_for_workers(workers, timeout=120)
    return client


def _states(client: Any) -> dict[str, dict[str, Any]]:
    return client.run(worker_state)


def _reads(client: Any, url: str) -> set[str]:
    return set(client.run(read_on_worker, url).values())


def _kernel_side(url_prefix: str) -> None:
    """dask.dataframe lists files in the kernel: with no automatic fsspec follower in this build, forget
    the kernel's cached filesystems here (the fsspec follower does it on every switch once it is registered)."""
    if not any("fsspec" in f.name or "s3fs" in f.name for f in follow.AUTOMATIC):
        import s3fs

        s3fs.S3FileSystem.clear_instance_cache()


def _switch(m: Any, follower: Any, profile: str) -> float:
    started = time.perf_counter()
    m.profile = profile
    assert follower.wait(WAIT), f"workers did not follow {profile} within {WAIT} s"
    return time.perf_counter() - started


def _scenario(client: Any, accounts: Accounts, add_worker: Any, expected_workers: int) -> None:
    """Read as A, switch to B (A's bucket denied), a worker joins, switch to R, renewal: every worker follows."""
    a_url, b_url = accounts.url("a"), accounts.url("b")
    m = awswidget.CredentialsManager(profile="A")
    follower = m.follow(client)
    try:
        assert isinstance(follower, dask_follow.DaskFollower)
        assert follower.wait(WAIT)
        assert _reads(client, a_url) == {accounts.text["a"]}
        assert _reads(client, b_url) == {"error:PermissionError"}
        _kernel_side(a_url)
        assert dd.read_csv(a_url).compute()["owner"].tolist() == ["A"]

        _switch(m, follower, "B")
        assert _reads(client, a_url) == {"error:PermissionError"}, "a worker still reads with A"
        assert _reads(client, b_url) == {accounts.text["b"]}
        for state in _states(client).values():
            assert state["profile"] == "B" and state["region"] == "eu-west-1" and state["endpoint"] == accounts.endpoint_url
            assert state["profile_env"] is None  # an inherited AWS_PROFILE would name a profile the worker lacks

        add_worker()  # joins after the switch: the scheduler hands it the plugin
        client.wait_for_workers(expected_workers, timeout=120)
        assert len(_states(client)) == expected_workers
        assert _reads(client, a_url) == {"error:PermissionError"}
        assert _reads(client, b_url) == {accounts.text["b"]}

        _switch(m, follower, "R")
        states = _states(client)
        assert {s["profile"] for s in states.values()} == {"R"}
        assert len({s["key_id"] for s in states.values()}) == 1
        assert _reads(client, b_url) == {accounts.text["b"]}
        assert _reads(client, a_url) == {"error:PermissionError"}
        _kernel_side(b_url)
        assert dd.read_csv(b_url).compute()["owner"].tolist() == ["B"]
        assert dd.read_parquet(accounts.url("b", "data.parquet")).compute()["owner"].tolist() == ["B"]

        generation = follower.generation
        m._renewed()
        assert follower.wait(WAIT)
        assert follower.generation == generation
        assert {s["profile"] for s in _states(client).values()} == {"R"}
        assert _reads(client, b_url) == {accounts.text["b"]}
    finally:
        follower.stop()
    assert {s["key_id"] for s in _states(client).values()} == {None}, "stop() left credentials on a worker"
    assert _reads(client, b_url) != {accounts.text["b"]}


def test_local_cluster_follows_every_switch(local_cluster: Any, accounts: Accounts, write_files: Any) -> None:
    client = _connect(local_cluster, workers=2)
    try:
        _scenario(client, accounts, lambda: local_cluster.scale(3), expected_workers=3)
    finally:
        local_cluster.scale(2)
        client.close()


def test_separate_processes_without_aws_files_follow(cli_cluster: CliCluster, accounts: Accounts, write_files: Any) -> None:
    # The workers cannot import this module nor this copy of awswidget: ship the readers by value.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        client = _connect(cli_cluster.address, workers=1)
        try:
            before = _states(client)
            assert all(not s["home_aws"] and s["key_id"] is None for s in before.values())
            assert _reads(client, accounts.url("a")) != {accounts.text["a"]}  # nothing to read with yet
            _scenario(client, accounts, lambda: cli_cluster.start_worker("w2"), expected_workers=2)
        finally:
            client.close()
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def test_a_switch_that_fails_to_resolve_clears_workers(local_cluster: Any, accounts: Accounts, write_files: Any) -> None:
    client = _connect(local_cluster, workers=2)
    m = awswidget.CredentialsManager(profile="B")
    follower = m.follow(client)
    try:
        assert follower.wait(WAIT)
        assert _reads(client, accounts.url("b")) == {accounts.text["b"]}
        m.profile = "broken"  # a key the endpoint does not know: GetSessionToken is refused
        assert follower.wait(WAIT)
        assert follower.error and "broken" in follower.error
        assert accounts.secrets["broken"] not in follower.error
        assert {s["key_id"] for s in _states(client).values()} == {None}
        assert _reads(client, accounts.url("b")) != {accounts.text["b"]}, "a worker kept reading with B"
    finally:
        follower.stop()
        client.close()


def test_the_plugin_ships_temporary_credentials_only(accounts: Accounts, write_files: Any) -> None:
    m = awswidget.CredentialsManager(profile="A")
    credentials = _temporary.temporary_credentials(m.session, "A", m.region)
    plugin = dask_follow.make_plugin(credentials, "A", 1)
    shipped = dask_pickle.dumps(plugin)  # exactly what Client.register_plugin sends
    long_term = accounts.secrets["A"]
    assert long_term.encode() not in shipped and accounts.key_ids["A"].encode() not in shipped
    # Negative control: the check can see what is shipped.
    assert credentials.session_token.encode() in shipped and credentials.secret_access_key.encode() in shipped
    for text in (repr(plugin), str(plugin)):
        assert credentials.secret_access_key not in text and credentials.session_token not in text
        assert credentials.access_key_id not in text and "'A'" in text


def test_the_plugin_loads_where_awswidget_is_not_installed(accounts: Accounts, write_files: Any, tmp_path: Path) -> None:
    m = awswidget.CredentialsManager(profile="B")
    credentials = _temporary.temporary_credentials(m.session, "B", m.region)
    blob = tmp_path / "plugin.pickle"
    blob.write_bytes(dask_pickle.dumps(dask_follow.make_plugin(credentials, "B", 7)))
    code = (
        "import os, pickle, sys; sys.modules['awswidget'] = None\n"  # import awswidget now fails
        f"p = pickle.loads(open({str(blob)!r}, 'rb').read()); p.setup(worker=None)\n"
        "print(p.generation, os.environ['AWS_ACCESS_KEY_ID'], os.environ['AWS_REGION'], os.environ['AWS_CONFIG_FILE'],"
        " 'AWS_PROFILE' in os.environ)\n"
    )
    env = _clean_env(tmp_path) | {"AWS_PROFILE": "B"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["7", credentials.access_key_id, "eu-west-1", os.devnull, "False"]


def test_a_worker_in_the_kernel_gets_no_secret_in_the_kernel_environment(accounts: Accounts, write_files: Any) -> None:
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        m = awswidget.CredentialsManager(profile="B")
        follower = m.follow(client)
        try:
            assert follower.wait(WAIT) and follower.error is None
            assert client.run(lambda dask_worker: dask_worker.plugins["awswidget-credentials"].profile) != {}
            assert "AWS_SECRET_ACCESS_KEY" not in os.environ and "AWS_SESSION_TOKEN" not in os.environ
        finally:
            follower.stop()


def test_a_dataframe_graph_carries_no_long_term_secret(accounts: Accounts, write_files: Any) -> None:
    awswidget.CredentialsManager(profile="A")
    _kernel_side(accounts.url("a"))
    frame = dd.read_csv(accounts.url("a"))
    graph = cloudpickle.dumps(dict(frame.__dask_graph__()))  # what the client sends to the scheduler
    assert accounts.url("a").removeprefix("s3://").encode() in graph  # negative control: the graph is the one that reads
    assert accounts.secrets["A"].encode() not in graph


def test_the_switch_never_waits_for_the_network(accounts: Accounts, write_files: Any) -> None:
    """The follower is told in the switch's thread and does its work (STS, the scheduler) in its own."""
    calls: list[tuple[str, Any, bool]] = []
    gate = threading.Event()

    class Scheduler:  # stands in for the Client: which thread calls it, and whether the switch had returned
        def register_plugin(self, plugin: Any, name: str) -> None:
            # Opened only once follow() has returned: a follow() that waited for this call would time out here.
            calls.append((threading.current_thread().name, plugin, gate.wait(10)))

        def unregister_worker_plugin(self, name: str) -> None:
            calls.append(("unregister", None, True))

    m = awswidget.CredentialsManager(profile="A")
    follower = dask_follow.DaskFollower(Scheduler(), m)
    follower.follow(follow.Selection("A", m.region, m.session, 1))
    gate.set()
    assert follower.wait(WAIT)
    assert calls and all(opened for _, _, opened in calls)
    assert {name for name, _, _ in calls} == {"awswidget-dask-follower"}
    assert calls[-1][1].profile == "A" and not calls[-1][1].cleared
    follower.stop()
    assert calls[-1] == ("unregister", None, True)
