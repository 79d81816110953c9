"""Dask distributed workers follow the selection (issue 20, the distributed case).

Two real cluster shapes against moto on 127.0.0.1 with two accounts whose buckets
deny each other: a ``LocalCluster`` of worker processes, and a scheduler and
workers started as separate ``dask scheduler`` / ``dask worker`` processes whose
``HOME`` is empty and whose environment holds no ``AWS_*`` variable (nor awswidget
on their path: the plugin travels by value). One cluster per module.
"""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
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
from awswidget.localaws import free_port  # noqa: E402

from . import accounts  # noqa: E402
from .accounts import two_accounts_fixture  # noqa: E402, F401  (the shared world, once merged)

pytestmark = pytest.mark.timeout(300)
ROOT = Path(__file__).resolve().parents[1]
WAIT = 60.0  # seconds a follower may take to reach every worker on this shared machine


# --------------------------------------------------------------------------- the two-account world


@pytest.fixture(scope="module")
def world(two_accounts: accounts.TwoAccounts) -> accounts.TwoAccounts:
    return two_accounts


@pytest.fixture
def files(world: accounts.TwoAccounts, aws_env: Any) -> accounts.TwoAccounts:
    world.write_profiles(aws_env)
    _temporary.forget()
    return world


# --------------------------------------------------------------------------- what runs on a worker


def read_on_worker(url: str) -> str:
    """Read ``url`` with a plain s3fs filesystem made in the worker: its text, or the error's type."""
    import s3fs

    try:
        return s3fs.S3FileSystem().cat(url).decode()
    except Exception as error:  # the test compares the outcome
        return f"error:{type(error).__name__}"


def worker_secrets() -> list[str]:
    return [os.environ[k] for k in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN") if k in os.environ]


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
def local_cluster(world: accounts.TwoAccounts) -> Iterator[Any]:
    cluster = distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1, dashboard_address="127.0.0.1:0",
                                       host="127.0.0.1", silence_logs=40)
    try:
        yield cluster
    finally:
        cluster.close(timeout=30)


@pytest.fixture(scope="module")
def cli_cluster(world: accounts.TwoAccounts, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliCluster]:
    cluster = CliCluster(tmp_path_factory.mktemp("cli-cluster"))
    try:
        cluster.start_scheduler()
        cluster.start_worker("w1")
        yield cluster
    finally:
        cluster.stop()


def _connect(address: Any, *, workers: int) -> Any:
    client = distributed.Client(address, timeout=60, set_as_default=True)
    client.wait_for_workers(workers, timeout=120)
    return client


def dashboard_pages(client: Any) -> str:
    """The dashboard's pages about workers (their info and logs), as text."""
    port = urllib.parse.urlparse(client.dashboard_link).port
    pages = ["/info/main/workers.html", "/info/main/logs.html"]
    for address in client.scheduler_info()["workers"]:
        quoted = urllib.parse.quote(address, safe="")
        pages += [f"/info/worker/{quoted}.html", f"/info/logs/{quoted}.html", f"/info/call-stacks/{quoted}.html"]
    text = []
    for page in pages:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{page}", timeout=30) as reply:
            text.append(reply.read().decode(errors="replace"))
    return "\n".join(text)


def _states(client: Any) -> dict[str, dict[str, Any]]:
    return client.run(worker_state)


def _reads(client: Any, url: str) -> set[str]:
    return set(client.run(read_on_worker, url).values())


def _kernel_side() -> None:
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


def _scenario(client: Any, w: accounts.TwoAccounts, add_worker: Any, expected_workers: int,
              kernel_logs: Any = lambda: "", dashboard: Any = lambda: "") -> list[float]:
    """Read as A, switch to B (A's bucket denied), a worker joins, switch to R, renewal: every worker follows.

    Returns the seconds each switch took until every worker held it (the figure the README quotes)."""
    a, b = w.a, w.b
    m = awswidget.CredentialsManager(profile="A")
    follower = m.follow(client)
    delays: list[float] = []
    try:
        assert isinstance(follower, dask_follow.DaskFollower)
        assert follower.wait(WAIT) and follower.error is None
        assert _reads(client, a.csv_url) == {a.csv_text}
        assert _reads(client, b.csv_url) == {"error:PermissionError"}
        _kernel_side()
        assert accounts.account_of(dd.read_csv(a.csv_url).compute()) == "A"

        delays.append(_switch(m, follower, "B"))
        secrets = {value for values in client.run(worker_secrets).values() for value in values}
        assert _reads(client, a.csv_url) == {"error:PermissionError"}, "a worker still reads with A"
        assert _reads(client, b.csv_url) == {b.csv_text}
        for state in _states(client).values():
            assert (state["profile"], state["region"], state["endpoint"]) == ("B", b.region, w.endpoint_url)
            assert state["profile_env"] is None  # an inherited AWS_PROFILE would name a profile the worker lacks

        add_worker()  # joins after the switch: the scheduler hands it the plugin
        client.wait_for_workers(expected_workers, timeout=120)
        assert len(_states(client)) == expected_workers
        assert {s["profile"] for s in _states(client).values()} == {"B"}
        assert _reads(client, a.csv_url) == {"error:PermissionError"}
        assert _reads(client, b.csv_url) == {b.csv_text}

        states_before_r = list(_states(client))
        delays.append(_switch(m, follower, "R"))
        secrets |= {value for values in client.run(worker_secrets).values() for value in values}
        shown = dashboard()  # while the workers hold R's credentials
        assert shown == "" or all(address in shown for address in states_before_r), "not the pages about these workers"
        assert not any(secret in shown for secret in secrets), "a secret on the dashboard"
        states = _states(client)
        assert {s["profile"] for s in states.values()} == {"R"}
        assert len({s["key_id"] for s in states.values()}) == 1
        assert _reads(client, b.csv_url) == {b.csv_text}
        assert _reads(client, a.csv_url) == {"error:PermissionError"}
        _kernel_side()
        assert accounts.account_of(dd.read_csv(b.csv_url).compute()) == "B"
        assert accounts.account_of(dd.read_parquet(b.parquet_url).compute()) == "B"

        generation, key_id = follower.generation, next(iter(states.values()))["key_id"]
        m._renewed()  # what the manager does when the selection's temporary credentials were renewed
        assert follower.wait(WAIT)
        assert follower.generation == generation
        assert {s["profile"] for s in _states(client).values()} == {"R"}
        assert {s["key_id"] for s in _states(client).values()} == {key_id}  # R's role session is still valid
        assert _reads(client, b.csv_url) == {b.csv_text}

        delays.append(_switch(m, follower, "A"))
        assert _reads(client, a.csv_url) == {a.csv_text}
        assert _reads(client, b.csv_url) == {"error:PermissionError"}
    finally:
        follower.stop()
    assert {s["key_id"] for s in _states(client).values()} == {None}, "stop() left credentials on a worker"
    assert _reads(client, a.csv_url) == {"error:NoCredentialsError"}  # cleared: never A's, nor the spawn-time profile
    # Dask's own logs (scheduler and every worker) and the kernel's: no secret of any kind.
    logs = repr(client.get_scheduler_logs(n=10000)) + repr(client.get_worker_logs(n=10000)) + kernel_logs()
    assert "awswidget-credentials" in logs  # negative control: these are the logs that saw the plugin
    assert len(secrets) == 4  # B's and R's secret key and session token
    for secret in (*secrets, w.a.secret_access_key, w.b.secret_access_key):
        assert secret not in logs
    return delays


def test_local_cluster_follows_every_switch(local_cluster: Any, files: accounts.TwoAccounts,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = _connect(local_cluster, workers=2)
    try:
        _scenario(client, files, lambda: local_cluster.scale(3), expected_workers=3, kernel_logs=lambda: caplog.text,
                  dashboard=lambda: dashboard_pages(client))
    finally:
        local_cluster.scale(2)
        client.close()


def test_separate_processes_without_aws_files_follow(cli_cluster: CliCluster, files: accounts.TwoAccounts) -> None:
    # The workers cannot import this module nor this copy of awswidget: ship the readers by value.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        client = _connect(cli_cluster.address, workers=1)
        try:
            before = _states(client)
            assert all(not s["home_aws"] and s["key_id"] is None for s in before.values())
            assert _reads(client, files.a.csv_url) == {"error:NoCredentialsError"}  # nothing to read with yet
            delays = _scenario(client, files, lambda: cli_cluster.start_worker("w2"), expected_workers=2)
            print(f"\nswitch until every worker follows (s): {', '.join(f'{d:.3f}' for d in delays)}")
        finally:
            client.close()
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def test_a_switch_that_fails_to_resolve_clears_workers(local_cluster: Any, files: accounts.TwoAccounts) -> None:
    client = _connect(local_cluster, workers=2)
    m = awswidget.CredentialsManager(profile="B")
    follower = m.follow(client)
    try:
        assert follower.wait(WAIT)
        assert _reads(client, files.b.csv_url) == {files.b.csv_text}
        m.profile = "Broken"  # its endpoint does not answer: no temporary credentials
        assert follower.wait(WAIT)
        assert follower.error and "'Broken'" in follower.error
        assert "z" * 40 not in follower.error
        assert {s["key_id"] for s in _states(client).values()} == {None}
        assert _reads(client, files.b.csv_url) == {"error:NoCredentialsError"}, "a worker kept reading with B"
    finally:
        follower.stop()
        client.close()


def test_the_plugin_ships_temporary_credentials_only(files: accounts.TwoAccounts) -> None:
    m = awswidget.CredentialsManager(profile="A")
    credentials = _temporary.temporary_credentials(m.session, "A", m.region)
    plugin = dask_follow.make_plugin(credentials, "A", 1)
    shipped = dask_pickle.dumps(plugin)  # exactly what Client.register_plugin sends
    assert files.a.secret_access_key.encode() not in shipped and files.a.access_key_id.encode() not in shipped
    # Negative control: the check can see what is shipped.
    assert credentials.session_token.encode() in shipped and credentials.secret_access_key.encode() in shipped
    for text in (repr(plugin), str(plugin)):
        assert credentials.secret_access_key not in text and credentials.session_token not in text
        assert credentials.access_key_id not in text and "'A'" in text


def test_the_plugin_loads_where_awswidget_is_not_installed(files: accounts.TwoAccounts, tmp_path: Path) -> None:
    m = awswidget.CredentialsManager(profile="B")
    credentials = _temporary.temporary_credentials(m.session, "B", m.region)
    blob = tmp_path / "plugin.pickle"
    blob.write_bytes(dask_pickle.dumps(dask_follow.make_plugin(credentials, "B", 7)))
    code = (
        "import os, pickle, sys; sys.modules['awswidget'] = None\n"  # import awswidget now fails
        f"p = pickle.loads(open({str(blob)!r}, 'rb').read()); p.setup(worker=None)\n"
        "print(p.generation, os.environ['AWS_ACCESS_KEY_ID'], os.environ['AWS_REGION'], os.environ['AWS_ENDPOINT_URL_S3'],"
        " os.environ['AWS_CONFIG_FILE'], 'AWS_PROFILE' in os.environ)\n"
    )
    env = _clean_env(tmp_path) | {"AWS_PROFILE": "B"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["7", credentials.access_key_id, files.b.region, files.endpoint_url, os.devnull, "False"]


def test_a_worker_in_the_kernel_gets_no_secret_in_the_kernel_environment(files: accounts.TwoAccounts) -> None:
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        m = awswidget.CredentialsManager(profile="B")
        follower = m.follow(client)
        try:
            assert follower.wait(WAIT) and follower.error is None
            assert set(client.run(lambda dask_worker: dask_worker.plugins["awswidget-credentials"].profile).values()) == {"B"}
            assert "AWS_SECRET_ACCESS_KEY" not in os.environ and "AWS_SESSION_TOKEN" not in os.environ
        finally:
            follower.stop()


def test_a_worker_forked_from_the_kernel_is_not_taken_for_the_kernel(files: accounts.TwoAccounts) -> None:
    """distributed's `multiprocessing-method = fork` workers inherit the kernel's module state: they must
    still take the credentials (they kept the kernel's AWS_PROFILE of the moment they were forked)."""
    import multiprocessing

    plugin = dask_follow.make_plugin(None, "B", 1)
    assert plugin._in_kernel()  # made here: the kernel itself
    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    child = context.Process(target=lambda: answers.put(plugin._in_kernel()))
    child.start()
    child.join(30)
    assert answers.get(timeout=5) is False


def test_a_dataframe_graph_carries_no_long_term_secret(files: accounts.TwoAccounts) -> None:
    awswidget.CredentialsManager(profile="A")
    _kernel_side()
    frame = dd.read_csv(files.a.csv_url)
    graph = cloudpickle.dumps(dict(frame.__dask_graph__()))  # what the client sends to the scheduler
    assert files.a.csv_url.removeprefix("s3://").encode() in graph  # negative control: the graph is the one that reads
    assert files.a.secret_access_key.encode() not in graph


def test_the_switch_never_waits_for_the_network(files: accounts.TwoAccounts) -> None:
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


# --------------------------------------------------------------------------- the benchmark runs


@pytest.fixture(scope="module")
def bench_follow() -> Any:
    folder = str(Path(__file__).parent / "benchmarks")
    sys.path.insert(0, folder)
    try:
        import bench_follow as module
    finally:
        sys.path.remove(folder)
    return module


def test_benchmark_fills_every_row(bench_follow: Any, local_cluster: Any, files: accounts.TwoAccounts, tmp_path: Path) -> None:
    """tests/benchmarks/bench_follow.py at tiny N, one repeat: every figure measured, every ratio two medians;
    no timing is asserted."""
    client = _connect(local_cluster, workers=2)
    try:
        res = bench_follow.run([10, 24], bench_follow.bench.Settings.tiny(), tmp_path, dask=(client, files), dask_rounds=1)
    finally:
        client.close()
    for key in ("switch.all", "switch.none", "switch.ratio"):
        for n in (10, 24):
            assert res.rows[key].cells[n].value is not None and res.rows[key].cells[n].value > 0, (key, n)
    for n in (10, 24):
        ratio, top, bottom = (res.rows[k].cells[n] for k in ("switch.ratio", "switch.all", "switch.none"))
        assert ratio.value == pytest.approx(top.value / bottom.value) and top.value == statistics.median(top.samples)
    for key in ("dask.delay", "dask.polled", "dask.read_round"):
        delay = res.rows[key].cells[0]
        assert delay.value is not None and len(delay.samples) == 3 and delay.value == statistics.median(delay.samples)
    joined = " ".join(res.checks)
    assert "active followers:" in joined and "dask" in joined and "socket guard" in joined
    assert "every one of 2 workers read the new account's bucket" in joined
    table = bench_follow.render(res)
    assert all(row.label in table for row in res.rows.values()) and "ratio all / none" in table


def test_credentials_are_published_again_before_they_expire(files: accounts.TwoAccounts, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel's timer: RENEW_BEFORE their expiry, fresh credentials reach the workers (no clearing first)."""
    import datetime as dt

    published: list[Any] = []
    issued: list[str] = []

    class Scheduler:
        def register_plugin(self, plugin: Any, name: str) -> None:
            published.append(plugin)

        def unregister_worker_plugin(self, name: str) -> None:
            pass

    def expiring(session: Any, profile: str | None = None, region: str | None = None) -> Any:
        issued.append(f"ASIA{len(issued):016d}")  # within the window from the start: due for renewal at once
        expires = dt.datetime.now(dt.timezone.utc) + _temporary.RENEW_BEFORE + dt.timedelta(seconds=1)
        return _temporary.TemporaryCredentials(issued[-1], "s" * 40, "t" * 40, expires, region, None, profile)

    monkeypatch.setattr(dask_follow, "temporary_credentials", expiring)
    monkeypatch.setattr(dask_follow, "_MIN_RENEW_DELAY", 0.05)
    m = awswidget.CredentialsManager(profile="A")
    follower = dask_follow.DaskFollower(Scheduler(), m)
    try:
        follower.follow(follow.Selection("A", m.region, m.session, 5))
        deadline = time.monotonic() + WAIT
        while len(issued) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        follower.stop()
    assert len(issued) >= 3, "the credentials were not renewed"
    assert all(not p.cleared and p.generation == 5 and p.profile == "A" for p in published)  # renewal never clears
    keys = [p._values["AWS_ACCESS_KEY_ID"] for p in published]
    assert keys[:3] == issued[:3]


def test_an_asynchronous_client_is_refused_with_a_clear_message(files: accounts.TwoAccounts) -> None:
    from types import SimpleNamespace

    m = awswidget.CredentialsManager(profile="A")
    with pytest.raises(awswidget.errors.ValidationError, match="synchronous distributed Client"):
        dask_follow._factory(SimpleNamespace(asynchronous=True), m)
    with pytest.raises(awswidget.errors.ValidationError, match="DuckDB connection or a Dask distributed Client"):
        m.follow(object())  # not a Client at all


def test_setup_while_a_task_is_still_importing_s3fs(files: accounts.TwoAccounts, tmp_path: Path) -> None:
    """A worker's first read task imports s3fs while the plugin is set up: the module is there, its class not yet."""
    m = awswidget.CredentialsManager(profile="B")
    credentials = _temporary.temporary_credentials(m.session, "B", m.region)
    blob = tmp_path / "plugin.pickle"
    blob.write_bytes(dask_pickle.dumps(dask_follow.make_plugin(credentials, "B", 3)))
    code = (
        "import os, pickle, sys, types; sys.modules['s3fs'] = types.ModuleType('s3fs')\n"  # half imported
        f"p = pickle.loads(open({str(blob)!r}, 'rb').read()); p.setup(worker=None); p.teardown(worker=None)\n"
        "print('AWS_ACCESS_KEY_ID' in os.environ)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=_clean_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-500:]
    assert out.stdout.split() == ["False"] and "could not" not in out.stderr
