"""The fast reader (awswidget._fastini) against botocore's, side by side, on generated shared files.

Run it as a script (pytest does not collect it)::

    python3 tests/benchmarks/bench_fastini.py [--sizes 100,1000,10000,100000] [--repeats 5]

For each N, genfiles.py writes a config and a credentials file holding N
profiles. One contender is botocore: ``raw_config_parse`` + ``build_profile_map``
of both files (what ``Session().full_config`` does for them); the other is
reading both files' bytes + ``_fastini.parse`` + ``_fastini.profile_map``; both
results are kept until the clock stops (freeing them is not part of being ready). Both
run interleaved, each from a collected heap with the garbage collector on as in
real use, timed by the wall clock and by CPU time; each figure is a median,
each ratio divides two medians of this run. Each N also checks that both give
equal results (else it stops), and reports peak Python allocation (tracemalloc,
one run each) against the files' size, and botocore's
``Session().available_profiles`` (the issue's reference) for context.
Growth exponents are log(t2/t1) / log(N2/N1) between consecutive sizes.
"""

from __future__ import annotations

import argparse
import gc
import math
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]  # genfiles, and this work tree's awswidget

import botocore.configloader  # noqa: E402
import botocore.session  # noqa: E402
import genfiles  # noqa: E402

from awswidget import _fastini  # noqa: E402


def botocore_read(paths: list[str]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    out = []
    for path in paths:
        parsed = botocore.configloader.raw_config_parse(path)
        out.append((parsed, botocore.configloader.build_profile_map(parsed)))
    return out


def fast_read(paths: list[str]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    out = []
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        parsed = _fastini.parse(data, path)
        out.append((parsed, _fastini.profile_map(parsed)))
    return out


def available_profiles(paths: list[str]) -> list[str]:
    session = botocore.session.Session()
    session.set_config_variable("config_file", paths[0])
    session.set_config_variable("credentials_file", paths[1])
    return list(session.available_profiles)


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU milliseconds of one call, from a collected heap (else one contender pays for the other's
    cyclic garbage: a botocore Session leaves some)."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    kept = fn()  # both parse and map are kept in real use: freeing them is not part of being ready
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    del kept
    return wall * 1e3, cpu * 1e3


def peak_kib(fn: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 1024
    finally:
        tracemalloc.stop()


def measure(n: int, folder: Path, repeats: int) -> dict[str, float]:
    made = genfiles.generate(folder / str(n), n)
    paths = [str(made.config), str(made.credentials)]
    if fast_read(paths) != botocore_read(paths):
        raise SystemExit(f"N={n}: the fast reader disagrees with botocore")
    runs = max(1, repeats if n < 100_000 else repeats // 2)
    boto, fast, avail = [], [], []
    fast_read(paths)  # warm-up: imports, the fingerprint, the page cache
    for _ in range(runs):
        fast.append(timed(lambda: fast_read(paths)))
        boto.append(timed(lambda: botocore_read(paths)))
        avail.append(timed(lambda: available_profiles(paths)))
    size = sum(Path(p).stat().st_size for p in paths) / 1024
    return {
        "n": n,
        "kib": size,
        "botocore": statistics.median(t[0] for t in boto),
        "fast": statistics.median(t[0] for t in fast),
        "available": statistics.median(t[0] for t in avail),
        "botocore_cpu": statistics.median(t[1] for t in boto),
        "fast_cpu": statistics.median(t[1] for t in fast),
        "peak_botocore": peak_kib(lambda: botocore_read(paths)),
        "peak_fast": peak_kib(lambda: fast_read(paths)),
    }


def growth(rows: list[dict[str, float]], key: str, i: int) -> str:
    if i == 0:
        return ""
    a, b = rows[i - 1], rows[i]
    return f"{math.log(b[key] / a[key]) / math.log(b['n'] / a['n']):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000,100000")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            rows.append(measure(n, Path(folder), args.repeats))
            print(f"measured N={n}", file=sys.stderr, flush=True)
    print(f"botocore {botocore.__version__}, Python {sys.version.split()[0]}; medians, both files (config + credentials)\n")
    print("| profiles | files KiB | botocore parse+map ms | fast read+parse+map ms | ratio | CPU ms botocore / fast "
          "| CPU ratio | growth botocore | growth fast | Session().available_profiles ms | fast / available "
          "| peak KiB botocore | peak KiB fast | fast peak / file size |")
    print("|---:" * 14 + "|")
    for i, r in enumerate(rows):
        print(
            f"| {r['n']:,} | {r['kib']:,.0f} | {r['botocore']:,.1f} | {r['fast']:,.1f} | {r['fast'] / r['botocore']:.3f}× "
            f"| {r['botocore_cpu']:,.1f} / {r['fast_cpu']:,.1f} | {r['fast_cpu'] / r['botocore_cpu']:.3f}× "
            f"| {growth(rows, 'botocore', i)} | {growth(rows, 'fast', i)} | {r['available']:,.1f} "
            f"| {r['fast'] / r['available']:.3f}× | {r['peak_botocore']:,.0f} | {r['peak_fast']:,.0f} "
            f"| {r['peak_fast'] / r['kib']:.1f}× |"
        )


if __name__ == "__main__":
    main()
