"""What following costs: the switch with every integration active vs none, and Dask workers' delay.

Run it as a script (it is not collected by pytest)::

    PYTHONPATH=$PWD python3 tests/benchmarks/bench_follow.py [--quick] [--sizes 100,10000] [--no-dask]

1. switch: ``manager.profile = p`` + ``boto3.client("s3")`` on bench.py's seeded files, with
   every follower registered in this build active (the automatic ones found by
   ``awswidget.follow._load_followers()``, a DuckDB connection if its follower exists,
   and a Dask follower) vs none, interleaved, at each N. The Dask follower's client is
   a stand-in that pickles the plugin as ``Client.register_plugin`` does, and its STS
   call is a stub: the switch figure makes no network request (bench.py's socket
   guard). What the switch waits for is the followers' ``follow()``; the Dask
   follower's background work (STS, the scheduler) is measured by figure 2.
2. Dask: against moto's two accounts on 127.0.0.1 and a ``LocalCluster`` of worker
   processes, the seconds from ``m.profile = p`` until every worker holds the new
   account (``follower.delay``), checked by a read on every worker.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench
import genfiles
from bench import Cell, Results, Row, Target

SIZES = (100, 10000)


class StandInClient:
    """The network edge of a ``distributed.Client``: serialise the plugin, send nothing."""

    def __init__(self) -> None:
        self.registered = 0
        self.bytes = 0

    def register_plugin(self, plugin: Any, name: str) -> None:
        from distributed.protocol import pickle as dask_pickle

        self.bytes = len(dask_pickle.dumps(plugin))
        self.registered += 1

    def unregister_worker_plugin(self, name: str) -> None:
        pass


def _stub_credentials(session: Any, profile: str | None = None, region: str | None = None) -> Any:
    from awswidget.follow._temporary import TemporaryCredentials

    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    return TemporaryCredentials("ASIA" + "B" * 16, "b" * 40, "t" * 300, expires, region, None, profile)


@contextlib.contextmanager
def integrations(m: Any, notes: list[str]) -> Iterator[tuple[list[Any], list[Any], list[Any]]]:
    """Every follower this build has, handed to ``m``: (automatic, handed, stand-in clients)."""
    from awswidget import follow
    from awswidget.follow import dask as dask_follow
    from awswidget.follow import duckdb as duckdb_follow

    follow._load_followers()
    handed: list[Any] = []
    clients: list[Any] = []
    stubbed = (dask_follow, duckdb_follow)  # the followers that resolve credentials (in the background)
    real = [module.temporary_credentials for module in stubbed]
    for module in stubbed:
        module.temporary_credentials = _stub_credentials  # type: ignore[assignment]
    try:
        with contextlib.suppress(ImportError):
            import duckdb

            try:
                handed.append(m.follow(duckdb.connect()))
            except Exception as error:  # no DuckDB follower in this build yet
                notes.append(f"DuckDB not handed ({type(error).__name__})")
        client = StandInClient()
        follower = dask_follow.DaskFollower(client, m)
        with m._followers._lock:
            m._followers._handed.append(follower)
        handed.append(follower)
        clients.append(client)
        yield list(follow.AUTOMATIC), handed, clients
    finally:
        for f in handed:
            f.stop()
        for module, original in zip(stubbed, real, strict=True):
            module.temporary_credentials = original  # type: ignore[assignment]


def bench_switch(res: Results, n: int, gen: genfiles.GeneratedFiles, st: bench.Settings) -> None:
    import boto3

    import awswidget
    from awswidget import follow
    from awswidget.follow import Followers

    notes: list[str] = []
    m = awswidget.CredentialsManager(activate=True)
    profiles = bench.switch_profiles(gen, st.switches)
    with integrations(m, notes) as (automatic, handed, clients):
        full, empty = m._followers, Followers()
        samples: dict[str, list[float]] = {"all": [], "none": [], "all_cpu": [], "none_cpu": []}
        for i, profile in enumerate(profiles * 2):
            for mode in (("all", "none") if i % 2 == 0 else ("none", "all")):
                active = mode == "all"
                follow.AUTOMATIC[:] = automatic if active else []
                m._followers = full if active else empty
                m.profile = "default"  # leave p (untimed), so that the timed line is a switch
                for f in handed:
                    getattr(f, "wait", lambda *_: True)(30)
                start, cpu = time.perf_counter(), time.process_time()
                m.profile = profile
                boto3.client("s3")
                elapsed, cpu = (time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000
                if i >= st.warmup:
                    samples[mode].append(elapsed)
                    samples[f"{mode}_cpu"].append(cpu)  # this process, followers' threads included
                for f in handed:  # the background work is not the switch's, and must not spill into the next
                    getattr(f, "wait", lambda *_: True)(30)
        follow.AUTOMATIC[:] = automatic
        m._followers = full
        names = [f.name for f in automatic] + [getattr(f, "name", "?") for f in handed]
        assert clients[0].registered >= len(samples["all"]), "the Dask follower did not publish every switch"
        res.checks.append(f"N={n}: active followers: {', '.join(names)}; the Dask stand-in published "
                          f"{clients[0].registered} plugins of {clients[0].bytes} bytes" + (f"; {'; '.join(notes)}" if notes else ""))
    for mode, xs in samples.items():
        res.put(f"switch.{mode}", n, Cell(statistics.median(xs), xs, note=f"max {max(xs):.1f}"))


def bench_dask(res: Results, client: Any, world: Any, rounds: int) -> None:
    """Seconds from a switch until every worker reads with the new account (figure 2)."""
    import awswidget

    def read(url: str) -> str:
        import s3fs

        try:
            return s3fs.S3FileSystem().cat(url).decode()
        except Exception as error:
            return f"error:{type(error).__name__}"

    def read_everywhere(url: str) -> set[str]:
        # As tasks, one per worker (client.run would block each worker's event loop, and so the follower).
        addresses = list(client.scheduler_info()["workers"])
        futures = [client.submit(read, url, workers=[a], allow_other_workers=False, pure=False) for a in addresses]
        return set(client.gather(futures))

    m = awswidget.CredentialsManager(profile="A")
    follower = m.follow(client)
    try:
        assert follower.wait(60)
        delays: list[float] = []
        polled: list[float] = []
        rounds_ms: list[float] = []  # one read on every worker, once they follow: the polling's own step
        workers = len(client.scheduler_info()["workers"])
        for profile in ["B", "R", "A"] * rounds:
            account = world.account(profile)
            start = time.perf_counter()
            m.profile = profile
            # Independent of the follower's own clock: read on every worker until each one reads the new bucket.
            while read_everywhere(account.csv_url) != {account.csv_text}:
                assert time.perf_counter() - start < 60, f"workers did not follow {profile}"
            polled.append((time.perf_counter() - start) * 1000)
            assert follower.wait(60), f"workers did not follow {profile}"
            start = time.perf_counter()
            got = read_everywhere(account.csv_url)
            rounds_ms.append((time.perf_counter() - start) * 1000)
            assert got == {account.csv_text}, f"{profile}: a worker read {got}"
            delays.append(follower.delay * 1000)
        res.put("dask.delay", 0, Cell(statistics.median(delays), delays, note=f"max {max(delays):.0f}, {workers} workers"))
        res.put("dask.polled", 0, Cell(statistics.median(polled), polled, note=f"max {max(polled):.0f}, {workers} workers"))
        res.put("dask.read_round", 0, Cell(statistics.median(rounds_ms), rounds_ms, note=f"max {max(rounds_ms):.0f}"))
        res.checks.append(f"after each of {len(delays)} switches every one of {workers} workers read the new account's bucket")
    finally:
        follower.stop()


def define_rows(res: Results) -> None:
    res.row("switch.all", "1 Switch with every integration active", "ms/switch")
    res.row("switch.none", "1 Switch with none (no follower)", "ms/switch")
    res.row("switch.ratio", "1 ratio all / none", "×", ("switch.all", "switch.none"))
    res.row("switch.all_cpu", "1 ... CPU time with every integration (this process, all threads)", "ms/switch")
    res.row("switch.none_cpu", "1 ... CPU time with none", "ms/switch")
    res.row("switch.ratio_cpu", "1 ratio in CPU time", "×", ("switch.all_cpu", "switch.none_cpu"))
    res.row("dask.delay", "2 Switch until every Dask worker reads with the new account (the follower's clock)", "ms")
    res.row("dask.polled", "2 ... the same, seen by reading on every worker in a loop from the switch (an upper bound)", "ms")
    res.row("dask.read_round", "2 ... one step of that loop: a read task on every worker, for scale", "ms")
    res.targets = [
        Target("switch with every integration ≤ 1.5× none at 10,000", "switch.ratio", 10000, "<=", 1.5),
        Target("switch with every integration ≤ 20 ms at 10,000", "switch.all", 10000, "<=", 20.0),
        Target("... in CPU time (what a loaded machine cannot inflate)", "switch.all_cpu", 10000, "<=", 20.0),
    ]


def run(sizes: list[int], settings: bench.Settings, workdir: Path, *, dask: tuple[Any, Any] | None = None,
        dask_rounds: int = 3) -> Results:
    res = Results(sorted(sizes), settings={"switches": settings.switches, "warmup": settings.warmup})
    define_rows(res)
    res.machine = f"{os.cpu_count()} cores shared with other jobs, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    attempts: list[str] = []
    with bench.no_network(attempts):
        for n in res.sizes:
            gen = genfiles.generate(workdir / f"n{n}", n)
            with bench.isolated(gen):
                bench_switch(res, n, gen, settings)
    assert not attempts, f"the switch figure tried to reach the network: {attempts[:3]}"
    res.checks.append("no network request during the switch figure (socket guard)")
    if dask is not None:
        bench_dask(res, *dask, dask_rounds)
    else:
        res.put("dask.delay", 0, Cell(None, note="not measured (--no-dask)"))
        res.put("dask.polled", 0, Cell(None, note="not measured (--no-dask)"))
        res.put("dask.read_round", 0, Cell(None, note="not measured (--no-dask)"))
    res.ratios()
    return res


def render(res: Results) -> str:
    lines = ["| figure | unit | " + " | ".join(f"N={n:,}" for n in res.sizes) + " |", "|" + "---|" * (len(res.sizes) + 2)]
    for row in res.rows.values():
        if row.key.startswith("dask."):
            continue
        lines.append(f"| {row.label} | {row.unit} | " + " | ".join(bench.fmt(row.cells.get(n), row.unit) for n in res.sizes) + " |")
    lines.append("")
    for key in ("dask.delay", "dask.polled", "dask.read_round"):
        dask_row: Row = res.rows[key]
        lines.append(f"{dask_row.label}: {bench.fmt(dask_row.cells.get(0), dask_row.unit)} (ms, median)")
    lines += ["", "| target | measured | verdict |", "|---|---|---|"]
    for target in res.targets:
        status, value = bench.verdict(res, target)
        lines.append(f"| {target.text} | {'' if value is None else f'{value:.2f}'} | {status} |")
    lines += ["", "Checks: " + "; ".join(res.checks) + ".", "", f"Machine: {res.machine}."]
    return "\n".join(lines)


@contextlib.contextmanager
def live_cluster(root: Path) -> Iterator[tuple[Any, Any]]:
    """moto's two accounts and a LocalCluster of two worker processes, for figure 2."""
    import distributed

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.accounts import world as two_account_world

    with two_account_world() as world:
        aws = root / "aws"
        aws.mkdir()
        (aws / "config").write_text(world.config_text())
        (aws / "credentials").write_text(world.credentials_text())
        saved = dict(os.environ)
        for name in [k for k in os.environ if k.startswith("AWS_")]:
            del os.environ[name]
        os.environ.update(AWS_CONFIG_FILE=str(aws / "config"), AWS_SHARED_CREDENTIALS_FILE=str(aws / "credentials"),
                          AWS_EC2_METADATA_DISABLED="true", HOME=str(root), XDG_DATA_HOME=str(root / "data"))
        try:
            with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1, dashboard_address=":0",
                                          host="127.0.0.1") as cluster, distributed.Client(cluster) as client:
                yield client, world
        finally:
            os.environ.clear()
            os.environ.update(saved)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--no-dask", action="store_true", help="skip figure 2 (no cluster, no moto)")
    args = parser.parse_args(argv)
    settings = bench.Settings.quick() if args.quick else bench.Settings()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    with tempfile.TemporaryDirectory(prefix="awswidget-bench-follow-") as tmp:
        if args.no_dask:
            res = run(sizes, settings, Path(tmp))
        else:
            (Path(tmp) / "live").mkdir()
            with live_cluster(Path(tmp) / "live") as dask:
                res = run(sizes, settings, Path(tmp), dask=dask, dask_rounds=2 if args.quick else 4)
    print(render(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
