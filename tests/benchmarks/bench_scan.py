"""How fast ``awswidget scan`` is on a big notebook, against reading the file, json.load and detect-secrets.

    python3 tests/benchmarks/bench_scan.py [--mb 50] [--repeat 5] [--no-detect-secrets]

Generates (under a temporary folder, deleted afterwards) a notebook of about ``--mb`` megabytes: code and
markdown cells, text outputs, and PNG images (real PNG files of noise, base64 as nbformat stores them).
Two variants: ``clean``, and ``leak`` (one cell holds a key pair in its source and prints it: the scan
must then parse and walk the notebook).
Every figure is the median of ``--repeat`` runs (``--detect-secrets-repeat`` for detect-secrets, which takes
minutes at 50 MB) on a warm page cache; every ratio divides two medians.

detect-secrets runs as a subprocess from its own virtualenv (~/.cache/awswidget-detect-secrets, created
with ``pip install detect-secrets`` if missing); when it cannot be installed the table says so.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import secrets
import statistics
import string
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from awswidget.scan import scan_file  # noqa: E402

DETECT_SECRETS_VENV = Path.home() / ".cache" / "awswidget-detect-secrets"


def _png(width: int, height: int) -> bytes:
    """A valid PNG of random noise (incompressible, like a photo's worth of base64)."""
    raw = b"".join(b"\x00" + secrets.token_bytes(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b"")


def _cell(source: str, outputs: list[dict[str, Any]], count: int) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": count, "id": f"c{count}", "metadata": {},
            "outputs": outputs, "source": source.splitlines(keepends=True)}


def generate(folder: Path, megabytes: float, leak: bool) -> Path:
    """A notebook of about ``megabytes`` MB; with ``leak``, cell 3 holds a made-up key pair."""
    target = megabytes * 1e6
    cells: list[dict[str, Any]] = []
    size, count = 0, 0
    while size < target:
        count += 1
        png = base64.b64encode(_png(400, 300)).decode()
        text = "".join(f"epoch {i}: loss={secrets.randbelow(10**6) / 1e6:.6f} s3://bucket/run-{count}/ckpt-{i}.pt\n" for i in range(40))
        cells.append({"cell_type": "markdown", "id": f"m{count}", "metadata": {}, "source": [f"## Step {count}\n", "Plots and logs.\n"]})
        cells.append(_cell(f"df = pd.read_parquet('s3://bucket/run-{count}/data.parquet')\nplt.plot(df.loss)\n", [
            {"output_type": "stream", "name": "stdout", "text": text.splitlines(keepends=True)},
            {"output_type": "display_data", "metadata": {}, "data": {"image/png": png, "text/plain": ["<Figure size 640x480>"]}},
        ], count))
        size += len(png) + len(text) + 200
    if leak:
        alphabet = string.ascii_uppercase + "234567"
        key = "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))
        secret = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))
        # In the source (a call assigned to a name, which detect-secrets skips as an "indirect reference") and
        # printed in an output (a plain line, which it reads).
        printed = {"output_type": "stream", "name": "stdout", "text": [f"AccessKeyId {key}\n", f"SecretAccessKey {secret}\n"]}
        cells.insert(3, _cell(f's3 = boto3.client("s3", aws_access_key_id="{key}", aws_secret_access_key="{secret}")\n', [printed], 0))
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}}, "nbformat": 4, "nbformat_minor": 5}
    path = folder / f"{'leak' if leak else 'clean'}.ipynb"
    path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


@dataclass
class Figure:
    label: str
    samples: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def value(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None


def measure(label: str, fn: Callable[[], Any], repeat: int) -> tuple[Figure, Any]:
    figure, result = Figure(label), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        figure.samples.append(time.perf_counter() - start)
    return figure, result


def detect_secrets_command() -> tuple[list[str] | None, str]:
    exe = DETECT_SECRETS_VENV / "bin" / "detect-secrets"
    if not exe.exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(DETECT_SECRETS_VENV)], check=True, capture_output=True)
            subprocess.run([str(DETECT_SECRETS_VENV / "bin" / "pip"), "install", "-q", "detect-secrets"], check=True,
                           capture_output=True, timeout=600)
        except (subprocess.SubprocessError, OSError) as exc:
            return None, f"detect-secrets could not be installed ({type(exc).__name__})"
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return [str(exe), "scan"], f"detect-secrets {version}"


@dataclass
class Results:
    mb: float
    figures: dict[str, dict[str, Figure]] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)
    detect_secrets: str = ""


def run(megabytes: float, repeat: int, folder: Path, use_detect_secrets: bool = True, detect_secrets_repeat: int = 2) -> Results:
    results = Results(megabytes)
    command, results.detect_secrets = detect_secrets_command() if use_detect_secrets else (None, "detect-secrets disabled")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for variant in ("clean", "leak"):
        path = generate(folder, megabytes, leak=variant == "leak")
        path.read_bytes()  # warm the page cache
        rows: dict[str, Figure] = {}
        rows["read"], _ = measure("read the file (bytes)", path.read_bytes, repeat)
        rows["json"], _ = measure("json.load", lambda p=path: json.loads(p.read_bytes()), repeat)
        rows["scan"], found = measure("awswidget scan_file (in-process)", lambda p=path: scan_file(p), repeat)
        leaks = [f for f in found if f.leak]
        results.checks.append(f"{variant}: {path.stat().st_size / 1e6:.1f} MB, awswidget found {len(leaks)} leak(s)")
        assert len(leaks) == (4 if variant == "leak" else 0), leaks
        cli = [sys.executable, "-m", "awswidget", "scan", str(path)]
        rows["cli"], done = measure("awswidget scan (CLI process)", lambda c=cli: subprocess.run(c, capture_output=True, env=env, check=False), repeat)
        assert done.returncode == (1 if variant == "leak" else 0)
        rows["detect_secrets"] = Figure("detect-secrets scan (CLI process)", note=results.detect_secrets)
        if command is not None:
            # Run from the temporary folder: inside a git work tree detect-secrets scans only tracked files.
            rows["detect_secrets"], done = measure("detect-secrets scan (CLI process)", lambda c=[*command, path.name]: subprocess.run(
                c, capture_output=True, check=False, cwd=folder), detect_secrets_repeat)
            report = json.loads(done.stdout or b"{}").get("results", {}) if done.returncode == 0 else {}
            types = [r["type"] for rs in report.values() for r in rs]
            counts = ", ".join(f"{types.count(t)} {t}" for t in sorted(set(types))) or "nothing"
            status = "" if done.returncode == 0 else f" (exit {done.returncode})"
            results.checks.append(f"{variant}: detect-secrets reported {counts}{status}")
        results.figures[variant] = rows
        path.unlink()
    return results


RATIOS = [("scan", "read"), ("scan", "json"), ("detect_secrets", "cli"), ("cli", "read")]


def ratio(rows: dict[str, Figure], top: str, bottom: str) -> float | None:
    a, b = rows[top].value, rows[bottom].value
    return None if a is None or b is None else a / b


def render(results: Results) -> str:
    import botocore

    lines = [f"# awswidget scan benchmark: a {results.mb:g} MB notebook with PNG images",
             f"Machine: {os.cpu_count()} cores, {platform.platform()}; Python {platform.python_version()}, "
             f"botocore {botocore.__version__}; {results.detect_secrets}", ""]
    for variant, rows in results.figures.items():
        lines.append(f"## {variant}")
        for row in rows.values():
            shown = f"{row.value * 1000:9.1f} ms" if row.value is not None else f"{'-':>12}  ({row.note})"
            lines.append(f"  {row.label:40s} {shown}")
        for top, bottom in RATIOS:
            r = ratio(rows, top, bottom)
            lines.append(f"  {rows[top].label + ' / ' + rows[bottom].label:82s} {'-' if r is None else f'{r:6.2f}x'}")
        lines.append("")
    lines += ["Checks:", *(f"  {c}" for c in results.checks)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=50.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-detect-secrets", dest="detect_secrets", action="store_false")
    parser.add_argument("--detect-secrets-repeat", type=int, default=2, help="runs of detect-secrets (minutes each at 50 MB)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as folder:
        print(render(run(args.mb, args.repeat, Path(folder), args.detect_secrets, args.detect_secrets_repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
