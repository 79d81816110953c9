"""awswidget against the raw boto3 way, side by side, on realistic shared files.

Run it as a script (it is not collected by pytest)::

    python3 tests/benchmarks/bench.py [--quick] [--sizes 10,100,1000,10000] [--json out.json]

For each N it generates seeded shared files (genfiles.py) under a temporary
folder, points the environment at them (every other ``AWS_*`` variable removed,
``AWS_EC2_METADATA_DISABLED=true``, ``HOME`` inside the folder) and measures:

1. picker ready: ``CredentialsManager()`` + ``ProfilePicker(manager)`` vs
   ``botocore.session.Session().available_profiles`` (the floor);
2. the picker's widget state (JSON of ``get_state()`` of it and every
   descendant) vs the bytes of the profile names;
3. switch: ``manager.profile = p`` + ``boto3.client("s3")`` vs
   ``boto3.setup_default_session(profile_name=p)`` + ``boto3.client("s3")``,
   checking that both resolve the same credentials through the same providers;
4. safe write: ``manager.add_profile`` and ``manager.remove_profile`` vs
   ``aws configure set`` (a separate process from a separate virtual
   environment: awscli pins its own botocore), vs a bare :mod:`configparser`
   read + rewrite (the unsafe floor), and vs the locked atomic write floor: the
   same bytes add_profile writes, to both files, each through a temporary file,
   fsync, rename and a folder fsync under the same lock, with no parsing;
5. first switch in a fresh kernel (a fresh process, imports done): manager
   built, a role profile selected, its first client, vs
   ``boto3.setup_default_session(profile_name=role)`` + its first client;
6. import: ``import awswidget`` vs ``import ipywidgets, traitlets``, each in a
   fresh process.

Above N=10,000 (``--sizes ...,100000``) only the picker and awswidget's own
writes (and their floor) are measured, with fewer repeats: botocore's parse
takes tens of seconds a call there, which the switch, the CLI and the bare
rewrite would pay every round.

Every figure is a median over repeats after a warm-up; the contenders of one
figure run interleaved, and every ratio is computed from two medians of the
same run. Nothing here makes a network request: a socket guard refuses any
connection in this process, and the CLI only edits files.
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import gc
import json
import math
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import genfiles

REPO = Path(__file__).resolve().parents[2]
SIZES = (10, 100, 1000, 10000)
FIGURES = ("picker", "switch", "write", "first", "import")
HUGE = 10000  # above this N: picker and awswidget's writes only (see the module docstring)
CLI_VENV = Path("~/.cache/awswidget-bench/awscli-venv").expanduser()  # resolved before HOME is changed
# Credentials these providers hand over at once (no refresh, no network): their key can be compared.
RESOLVED_NOW = {"shared-credentials-file", "config-file", "custom-process"}


# --------------------------------------------------------------------------- results


@dataclass
class Cell:
    """One figure at one N: a median (ms, bytes) or a ratio, and the samples behind it."""

    value: float | None
    samples: list[float] = field(default_factory=list)
    note: str = ""


@dataclass
class Row:
    key: str
    label: str
    unit: str  # "ms", "ms/switch", "KiB", "×"
    cells: dict[int, Cell] = field(default_factory=dict)
    ratio_of: tuple[str, str] | None = None  # a ratio row: cells[n] = rows[a][n] / rows[b][n]


@dataclass
class Target:
    text: str
    row: str
    n: int | None  # None: the figure does not depend on N
    op: str  # "<=" or ">="
    limit: float


@dataclass
class Results:
    sizes: list[int]
    rows: dict[str, Row] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)  # semantic checks that passed
    machine: str = ""
    settings: dict[str, Any] = field(default_factory=dict)

    def row(self, key: str, label: str, unit: str, ratio_of: tuple[str, str] | None = None) -> Row:
        if key not in self.rows:
            self.rows[key] = Row(key, label, unit, ratio_of=ratio_of)
        return self.rows[key]

    def put(self, key: str, n: int, cell: Cell) -> None:
        self.rows[key].cells[n] = cell

    def ratios(self) -> None:
        """Fill every ratio row from the two medians it divides."""
        for row in self.rows.values():
            if row.ratio_of is None:
                continue
            top, bottom = (self.rows[k] for k in row.ratio_of)
            for n in set(top.cells) | set(bottom.cells):
                a, b = top.cells.get(n), bottom.cells.get(n)
                if a is None or b is None or a.value is None or b.value is None or b.value == 0:
                    why = next((c.note for c in (a, b) if c is not None and c.note), "not measured")
                    row.cells[n] = Cell(None, note=why)
                else:
                    row.cells[n] = Cell(a.value / b.value, [a.value, b.value])


@dataclass
class Settings:
    repeats: int = 11  # picker and write repeats at N <= 1000
    repeats_large: int = 7  # the same at N > 1000
    repeats_huge: int = 3  # the same at N > HUGE (no warm-up there)
    switches: int = 20  # profiles switched to, per way
    cli_repeats: int = 5  # `aws configure set` triples
    import_repeats: int = 21
    warmup: int = 1

    @classmethod
    def quick(cls) -> Settings:
        return cls(repeats=3, repeats_large=3, repeats_huge=1, switches=6, cli_repeats=2, import_repeats=5)

    @classmethod
    def tiny(cls) -> Settings:
        """For the smoke test: every code path once, no meaningful timing."""
        return cls(repeats=1, repeats_large=1, repeats_huge=1, switches=3, cli_repeats=1, import_repeats=1, warmup=0)

    def reps(self, n: int) -> int:
        return self.repeats if n <= 1000 else self.repeats_large if n <= HUGE else self.repeats_huge

    def warm(self, n: int) -> int:
        return self.warmup if n <= HUGE else 0


# --------------------------------------------------------------------------- harness


class NetworkBlocked(OSError):
    pass


@contextlib.contextmanager
def no_network(attempts: list[str]) -> Iterator[None]:
    """Refuse every IP connection and name lookup in this process; record the attempts."""
    real_connect, real_connect_ex, real_getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def refuse(what: str) -> NetworkBlocked:
        if os.environ.get("AWSWIDGET_BENCH_TRACE"):
            import traceback

            traceback.print_stack(file=sys.stderr)
        attempts.append(what)
        return NetworkBlocked(f"benchmark: network access refused ({what})")

    def connect(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            raise refuse(f"connect {address!r}")
        return real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            raise refuse(f"connect_ex {address!r}")
        return real_connect_ex(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        raise refuse(f"getaddrinfo {host!r}")

    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = real_connect, real_connect_ex, real_getaddrinfo  # type: ignore[method-assign]


def file_env(gen: genfiles.GeneratedFiles) -> dict[str, str]:
    """The environment that points botocore (and the CLI) at generated files, and nothing else."""
    return {
        "AWS_CONFIG_FILE": str(gen.config),
        "AWS_SHARED_CREDENTIALS_FILE": str(gen.credentials),
        "AWS_EC2_METADATA_DISABLED": "true",
        "HOME": str(gen.config.parent / "home"),
    }


@contextlib.contextmanager
def isolated(gen: genfiles.GeneratedFiles) -> Iterator[None]:
    """Point this process at ``gen``'s files; restore the environment and boto3's default after."""
    import boto3

    from awswidget import manager

    saved, saved_default = dict(os.environ), boto3.DEFAULT_SESSION
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]
    os.environ.update(file_env(gen))
    Path(os.environ["HOME"]).mkdir(exist_ok=True)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        boto3.DEFAULT_SESSION = saved_default
        # Forget what managers exported here: the restored environment is the user's again.
        manager._reset_default_manager()


def cold() -> None:
    """Forget awswidget's parse caches: a notebook builds its picker once, from files not yet read."""
    from awswidget import _session, files

    files._cache.clear()
    clear = getattr(files.config_profile_name, "cache_clear", None)
    if clear is not None:
        clear()
    for name in ("_merged", "_profile_maps"):
        cache = getattr(_session, name, None)
        if cache is not None:
            cache.clear()


def interleaved(
    contenders: dict[str, Callable[[], Any]],
    repeats: int,
    warmup: int,
    setup: Callable[[], None] | None = None,
    teardown: Callable[[Any], None] | None = None,
) -> dict[str, Cell]:
    """Time each contender ``repeats`` times, round-robin, after ``warmup`` untimed rounds.

    The order rotates every round and each call starts from a collected heap, with
    the previous result already freed: nobody pays for another's garbage.
    """
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for i in range(warmup + repeats):
        for name in names[i % len(names):] + names[: i % len(names)]:
            if setup is not None:
                setup()
            gc.collect()
            start = time.perf_counter()
            out = contenders[name]()
            elapsed = time.perf_counter() - start
            if teardown is not None:
                teardown(out)
            del out
            if i >= warmup:
                samples[name].append(elapsed * 1000)
    return {name: Cell(statistics.median(xs), xs) for name, xs in samples.items()}


def close_widgets_since(before: set[str]) -> None:
    from ipywidgets.widgets.widget import _instances

    for model_id in [m for m in _instances if m not in before]:
        _instances[model_id].close()


def widget_ids() -> set[str]:
    from ipywidgets.widgets.widget import _instances

    return set(_instances)


def picker_class() -> tuple[Any, str]:
    """``awswidget.ProfilePicker``, or None and why it is not there yet."""
    import awswidget

    try:
        return awswidget.ProfilePicker, ""
    except Exception as exc:  # still being written by another helper: report, don't fail
        return None, f"not measured: ProfilePicker unavailable ({type(exc).__name__}: {exc})"


# --------------------------------------------------------------------------- 1 + 2: picker


def new_picker(picker_cls: Any, m: Any) -> Any:
    """A picker on ``m`` that does not verify in the background: that would call STS (the network)."""
    try:
        return picker_cls(m, verify=False)
    except TypeError:  # a picker without the option makes no call by itself
        return picker_cls(m)


_RSS_PROBE = (
    "import resource\n"
    "import botocore.session, awswidget\n"
    "awswidget.ProfilePicker, awswidget.CredentialsManager  # every module loaded: imports are not the picker\n"
    "def kib(field):\n"
    "    return int(next(line for line in open('/proc/self/status') if line.startswith(field)).split()[1])\n"
    "try:\n"
    "    open('/proc/self/clear_refs', 'w').write('5')  # peak RSS := current RSS (Linux >= 4.0)\n"
    "except OSError:\n"
    "    pass\n"
    "before = kib('VmRSS:')\n"
    "{stmt}\n"
    "print(before, kib('VmHWM:'))\n"
)


def peak_rss_growth(gen: genfiles.GeneratedFiles, stmt: str) -> float | None:
    """MiB the peak RSS of a fresh process grows by while it runs ``stmt`` (None where /proc is not there)."""
    if not Path("/proc/self/status").exists():
        return None
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), **file_env(gen)}
    out = subprocess.run([sys.executable, "-c", _RSS_PROBE.format(stmt=stmt)], env=env, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise AssertionError(f"the RSS probe failed: {(out.stderr.strip().splitlines() or ['?'])[-1][:160]}")
    before, peak = (int(x) for x in out.stdout.split())
    return max(peak - before, 0) / 1024


def bench_rss(res: Results, n: int, gen: genfiles.GeneratedFiles) -> None:
    """Peak RSS growth of the picker (and of botocore's listing) in a fresh process, against the files' size."""
    size = (gen.config.stat().st_size + gen.credentials.stat().st_size) / 2**20
    res.put("picker.files_mib", n, Cell(size, [size]))
    probes = {
        "picker.rss": "m = awswidget.CredentialsManager(); p = awswidget.ProfilePicker(m, verify=False)",
        "picker.rss_floor": "s = botocore.session.Session(); names = s.available_profiles",
    }
    for key, stmt in probes.items():
        grew = peak_rss_growth(gen, stmt)
        res.put(key, n, Cell(grew, [grew]) if grew is not None else Cell(None, note="not measured: no /proc"))


def bench_picker(res: Results, n: int, gen: genfiles.GeneratedFiles, st: Settings) -> None:
    import botocore.session

    import awswidget

    found = botocore.session.Session().available_profiles
    assert sorted(found) == sorted(gen.names), "botocore does not see the generated profiles"
    picker_cls, why = picker_class()
    before = widget_ids()

    def manager_only() -> Any:
        return awswidget.CredentialsManager()

    def manager_and_picker() -> Any:
        m = awswidget.CredentialsManager()
        return new_picker(picker_cls, m)

    contenders: dict[str, Callable[[], Any]] = {
        "picker.floor": lambda: botocore.session.Session().available_profiles,
        "picker.manager": manager_only,
    }
    if picker_cls is not None:
        contenders["picker.awswidget"] = manager_and_picker
    cells = interleaved(contenders, st.reps(n), st.warm(n), setup=cold, teardown=lambda _out: close_widgets_since(before))
    for key, cell in cells.items():
        res.put(key, n, cell)
    m = awswidget.CredentialsManager()
    assert list(m.profiles) == sorted(gen.names, key=lambda s: (s != "default", s.casefold(), s)), "manager lists other profiles"
    if picker_cls is None:
        res.put("picker.awswidget", n, Cell(None, note=why))
        for key in ("state.picker", "state.names"):
            res.put(key, n, Cell(None, note=why))
        return
    picker = new_picker(picker_cls, m)
    state, count = state_bytes(picker)
    names = sum(len(name.encode("utf-8")) for name in m.profiles)
    res.put("state.picker", n, Cell(state / 1024, [state / 1024], note=f"{count} widgets"))
    res.put("state.names", n, Cell(names / 1024, [names / 1024]))
    close_widgets_since(before)
    bench_rss(res, n, gen)


_REF = re.compile(r"^IPY_MODEL_([0-9a-f]+)$")


def state_bytes(root: Any) -> tuple[int, int]:
    """Bytes of the JSON state (as the kernel sends it) of ``root`` and every widget it references."""
    from ipywidgets.widgets.widget import _instances

    seen: dict[str, Any] = {}
    todo = [root.model_id]
    while todo:
        model_id = todo.pop()
        if model_id in seen:
            continue
        state = _instances[model_id].get_state()
        seen[model_id] = state
        todo += _refs(state)
    total = sum(len(json.dumps(s, ensure_ascii=False, default=str).encode("utf-8")) for s in seen.values())
    return total, len(seen)


def _refs(value: Any) -> list[str]:
    if isinstance(value, str):
        m = _REF.match(value)
        return [m.group(1)] if m else []
    if isinstance(value, (list, tuple)):
        return [r for v in value for r in _refs(v)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _refs(v)]
    return []


# --------------------------------------------------------------------------- 3: switch


def switch_profiles(gen: genfiles.GeneratedFiles, count: int) -> list[str]:
    """``count`` different profiles (not "default"), every kind in turn, in a seeded order."""
    rng = random.Random(f"switch-{len(gen.names)}")
    pools = {kind: rng.sample(gen.of_kind(kind), len(gen.of_kind(kind))) for kind in genfiles.MIX}
    pools["static"] = [p for p in pools["static"] if p != "default"]
    chosen: list[str] = []
    while len(chosen) < count and any(pools.values()):
        for kind in genfiles.MIX:
            if pools[kind] and len(chosen) < count:
                chosen.append(pools[kind].pop())
    return chosen


def _credentials(session: Any) -> tuple[str, str | None, list[str]]:
    """(method, access key if resolved without a refresh, provider chain) of a boto3 session."""
    creds = session.get_credentials()  # the object the client just resolved (botocore caches it)
    chain = [p.METHOD for p in session._session.get_component("credential_provider").providers]
    if creds is None:
        return "none", None, chain
    return creds.method, creds.access_key if creds.method in RESOLVED_NOW else None, chain


def bench_switch(res: Results, n: int, gen: genfiles.GeneratedFiles, st: Settings) -> None:
    import boto3

    import awswidget

    m = awswidget.CredentialsManager(activate=True)  # the one the process follows, whatever ran before
    profiles = switch_profiles(gen, st.switches)
    spare = [p for p in switch_profiles(gen, st.switches + 2) if p not in profiles] or ["default"]
    for _ in range(st.warmup):  # load s3's model, import every module on the way
        m.profile = spare[0]
        boto3.client("s3")
        boto3.setup_default_session(profile_name=spare[-1])
        boto3.client("s3")
    ours: list[float] = []
    naive: list[float] = []
    # CPU time of this process too: on a loaded machine it says what the switch itself costs.
    ours_cpu: list[float] = []
    naive_cpu: list[float] = []
    methods: set[str] = set()
    for profile in profiles:
        start, cpu = time.perf_counter(), time.process_time()
        m.profile = profile
        boto3.client("s3")
        ours.append((time.perf_counter() - start) * 1000)
        ours_cpu.append((time.process_time() - cpu) * 1000)
        assert boto3.DEFAULT_SESSION is m.session
        mine = _credentials(boto3.DEFAULT_SESSION)

        start, cpu = time.perf_counter(), time.process_time()
        boto3.setup_default_session(profile_name=profile)
        boto3.client("s3")
        naive.append((time.perf_counter() - start) * 1000)
        naive_cpu.append((time.process_time() - cpu) * 1000)
        theirs = _credentials(boto3.DEFAULT_SESSION)

        assert mine == theirs, f"{profile}: awswidget resolves {mine[:2]}, boto3 resolves {theirs[:2]}"
        if mine[1] is not None:
            assert mine[1] == gen.key_ids[profile], f"{profile}: resolved a key that is not in the files"
        methods.add(mine[0])
    count = f", {len(profiles)} profiles" if len(profiles) < st.switches else ""
    for key, xs in (("switch.awswidget", ours), ("switch.naive", naive), ("switch.awswidget_cpu", ours_cpu), ("switch.naive_cpu", naive_cpu)):
        res.put(key, n, Cell(statistics.median(xs), xs, note=f"max {max(xs):.0f}{count}"))
    res.checks.append(
        f"N={n}: {len(profiles)} switches resolved the same credentials both ways "
        f"(providers: {', '.join(sorted(methods))}; same provider chain; static/process keys equal)"
    )
    check_external_edit(res, n, gen, m)


def check_external_edit(res: Results, n: int, gen: genfiles.GeneratedFiles, m: Any) -> None:
    """An edit made by another program (same size, same inode) is seen on the next switch."""
    import boto3

    victim = next(p for p in gen.of_kind("static") if p != "default")
    other = next(p for p in gen.of_kind("static") if p not in ("default", victim))
    old = gen.key_ids[victim]
    new = genfiles.key_id(random.Random(f"edit-{n}"))
    text = gen.credentials.read_text()
    assert text.count(old) == 1
    m.profile = other
    boto3.client("s3")
    gen.credentials.write_text(text.replace(old, new))  # in place: same inode, same size
    gen.key_ids[victim] = new
    m.profile = victim
    boto3.client("s3")
    assert _credentials(boto3.DEFAULT_SESSION)[1] == new, "awswidget missed an external edit"
    boto3.setup_default_session(profile_name=victim)
    assert _credentials(boto3.DEFAULT_SESSION)[1] == new
    res.checks.append(f"N={n}: an external same-size edit of the credentials file was seen on the next switch")


# --------------------------------------------------------------------------- 4: safe write


def find_aws_cli() -> tuple[str | None, str]:
    """The `aws` of a private virtual environment (created on demand), or None and why."""
    aws = CLI_VENV / "bin" / "aws"
    if aws.exists():
        return str(aws), ""
    try:
        # awscli pins its own botocore: it must never share awswidget's environment.
        subprocess.run([sys.executable, "-m", "venv", str(CLI_VENV)], check=True, capture_output=True, timeout=300)
        subprocess.run(
            [str(CLI_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "awscli"],
            check=True, capture_output=True, timeout=600,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        last = detail.decode(errors="replace").strip().splitlines()[-1:] or [str(exc)]
        shutil.rmtree(CLI_VENV, ignore_errors=True)
        return None, f"not measured: cannot install awscli in {CLI_VENV} ({last[0][:120]})"
    return (str(aws), "") if aws.exists() else (None, f"not measured: no aws binary in {CLI_VENV}")


def cli_version(aws: str | None) -> str:
    if aws is None:
        return "not installed"
    out = subprocess.run([aws, "--version"], capture_output=True, text=True, timeout=60, env={"PATH": os.environ.get("PATH", "")})
    return (out.stdout or out.stderr).strip()


def _copy(gen: genfiles.GeneratedFiles, folder: Path) -> genfiles.GeneratedFiles:
    folder.mkdir(parents=True, exist_ok=True)
    for path in (gen.config, gen.credentials):
        shutil.copy2(path, folder / path.name)
    return genfiles.GeneratedFiles(folder / "config", folder / "credentials", dict(gen.kinds), dict(gen.key_ids))


def _resolved_key(gen: genfiles.GeneratedFiles, profile: str) -> tuple[str | None, str | None]:
    import botocore.session

    session = botocore.session.Session(profile=profile)
    session.set_config_variable("config_file", str(gen.config))
    session.set_config_variable("credentials_file", str(gen.credentials))
    creds = session.get_credentials()
    # The profile's own region: a manager may have exported AWS_DEFAULT_REGION, which would win.
    return (creds.access_key if creds else None), session.get_scoped_config().get("region")


def bench_write(res: Results, n: int, gen: genfiles.GeneratedFiles, st: Settings, aws: str | None, why: str, root: Path) -> None:
    import awswidget

    rng = random.Random(f"write-{n}")
    reps = st.reps(n)

    def new_profile(prefix: str) -> tuple[str, str, str]:
        return f"{prefix}-{rng.randrange(10**9)}", genfiles.key_id(rng), genfiles.secret(rng)

    # awswidget: add_profile, locked, atomic, round-trip, then the manager reloads; then remove_profile.
    ours = _copy(gen, root / "write-awswidget")
    with isolated(ours):
        m = awswidget.CredentialsManager()
        added: list[tuple[str, str]] = []
        written: list[tuple[bytes, bytes]] = []

        def add() -> None:
            name, key, secret = new_profile("added")
            m.add_profile(name, key, secret, region="eu-west-1")
            added.append((name, key))

        def remove() -> None:
            name, _key = added.pop()
            m.remove_profile(name)

        spare = root / "write-floor"  # the floor writes a copy: add and remove never see its renames
        spare.mkdir(parents=True, exist_ok=True)

        def floor() -> None:
            # The same bytes add_profile wrote, each file through a temp file + fsync + rename + folder
            # fsync, under the same lock: what a safe write of both files costs with no parsing at all.
            from awswidget import filelocks

            config_bytes, creds_bytes = written[-1]
            targets = (spare / "config", config_bytes), (spare / "credentials", creds_bytes)
            with filelocks.locked([str(path) for path, _ in targets], 30.0):
                for path, data in targets:
                    tmp = path.with_name(path.name + ".bench-tmp")
                    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                    with os.fdopen(fd, "wb") as f:
                        f.write(data)
                        f.flush()
                        os.fsync(f.fileno())
                    os.replace(tmp, path)
                    dirfd = os.open(path.parent, os.O_RDONLY)
                    try:
                        os.fsync(dirfd)
                    finally:
                        os.close(dirfd)

        # Interleaved rounds: add, the floor writing the same bytes, remove (each timed alone).
        samples: dict[str, list[float]] = {"add": [], "remove": [], "floor": []}
        # CPU time of this thread too: the disk's fsync time varies with whatever else the machine writes.
        cpu: dict[str, list[float]] = {"add": [], "remove": [], "floor": []}
        for i in range(st.warm(n) + reps):
            for key, step in (("add", add), ("floor", floor), ("remove", remove)):
                if key == "floor":
                    written.append((ours.config.read_bytes(), ours.credentials.read_bytes()))
                gc.collect()
                start, start_cpu = time.perf_counter(), time.thread_time()
                step()
                elapsed, elapsed_cpu = (time.perf_counter() - start) * 1000, (time.thread_time() - start_cpu) * 1000
                if i >= st.warm(n):
                    samples[key].append(elapsed)
                    cpu[key].append(elapsed_cpu)
        for key, row in (("add", "write.awswidget"), ("remove", "write.remove"), ("floor", "write.floor")):
            res.put(row, n, Cell(statistics.median(samples[key]), samples[key]))
            res.put(row + "_cpu", n, Cell(statistics.median(cpu[key]), cpu[key]))
        add()
        assert _resolved_key(ours, added[-1][0]) == (added[-1][1], "eu-west-1")
        assert ours.config.read_text().count("\n#") == gen.config.read_text().count("\n#"), "add_profile lost comments"
        remove()
        assert ours.config.read_bytes() == gen.config.read_bytes() and ours.credentials.read_bytes() == gen.credentials.read_bytes(), \
            "add_profile then remove_profile is not an exact no-op"
    if n > HUGE:
        for key in ("write.configparser", "write.cli1", "write.cli3"):
            res.put(key, n, Cell(None, note=f"not measured above N={HUGE:,}"))
        return

    # The unsafe floor: configparser reads both files and rewrites them whole.
    bare = _copy(gen, root / "write-configparser")
    last: list[tuple[str, str]] = []

    def rewrite() -> None:
        name, key, secret = new_profile("bare")
        for path, header, values in (
            (bare.credentials, name, {"aws_access_key_id": key, "aws_secret_access_key": secret}),
            (bare.config, f"profile {name}", {"region": "eu-west-1"}),
        ):
            parser = configparser.RawConfigParser()
            parser.read(path)
            parser[header] = values
            with open(path, "w") as f:
                parser.write(f)
        last[:] = [(name, key)]

    with isolated(bare):
        res.put("write.configparser", n, interleaved({"rewrite": rewrite}, reps, st.warm(n))["rewrite"])
        assert _resolved_key(bare, last[0][0]) == (last[0][1], "eu-west-1")
    lost = gen.config.read_text().count("\n#") - bare.config.read_text().count("\n#")
    res.rows["write.configparser"].cells[n].note = f"drops {lost} comment lines"

    if aws is None:
        for key in ("write.cli1", "write.cli3"):
            res.put(key, n, Cell(None, note=why))
        return
    # The CLI as a whole process, from its own environment, on the same kind of files.
    cli = _copy(gen, root / "write-cli")
    env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", **file_env(cli)}
    Path(env["HOME"]).mkdir(exist_ok=True)
    singles: list[float] = []
    triples: list[float] = []
    for i in range(st.warmup + st.cli_repeats):
        name, key, secret = new_profile("cli")
        calls = []
        for setting, value in (("aws_access_key_id", key), ("aws_secret_access_key", secret), ("region", "eu-west-1")):
            start = time.perf_counter()
            subprocess.run([aws, "configure", "set", setting, value, "--profile", name], env=env, check=True, capture_output=True, timeout=300)
            calls.append((time.perf_counter() - start) * 1000)
        if i >= st.warmup:
            singles += calls
            triples.append(sum(calls))
    with isolated(cli):
        assert _resolved_key(cli, name) == (key, "eu-west-1")
    res.put("write.cli1", n, Cell(statistics.median(singles), singles))
    res.put("write.cli3", n, Cell(statistics.median(triples), triples))


# --------------------------------------------------------------------------- 5: first switch in a fresh kernel


_FIRST_PROBE = (
    "import sys, time\n"
    "import boto3, awswidget\n"  # imports are not the switch: figure 6 measures them
    "t = time.perf_counter()\n"
    "{stmt}\n"
    "boto3.client('s3')\n"
    "t = time.perf_counter() - t\n"
    "creds = boto3.DEFAULT_SESSION.get_credentials()\n"
    "print(t * 1000, creds.method)\n"
)


def bench_first(res: Results, n: int, gen: genfiles.GeneratedFiles, st: Settings) -> None:
    """A fresh process: build the manager, select a role profile, make its first client; vs the naive way."""
    role = sorted(gen.of_kind("role"))[0] if gen.of_kind("role") else "default"
    probes = {
        "first.awswidget": f"m = awswidget.CredentialsManager(); m.profile = {role!r}",
        "first.naive": f"boto3.setup_default_session(profile_name={role!r})",
    }
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), **file_env(gen)}
    samples: dict[str, list[float]] = {k: [] for k in probes}
    methods: set[str] = set()
    for i in range(st.warm(n) + max(st.cli_repeats, 1)):
        for key, stmt in probes.items():
            out = subprocess.run([sys.executable, "-c", _FIRST_PROBE.format(stmt=stmt)], env=env, capture_output=True, text=True, timeout=600)
            if out.returncode != 0:
                last = (out.stderr.strip().splitlines() or ["?"])[-1][:160]
                raise AssertionError(f"{key} failed in a fresh process: {last}")
            ms, method = out.stdout.split()
            methods.add(method)
            if i >= st.warm(n):
                samples[key].append(float(ms))
    assert methods == {"assume-role"} or role == "default", f"the first switch resolved {methods}, not a role"
    for key, xs in samples.items():
        res.put(key, n, Cell(statistics.median(xs), xs, note=f"profile {role}" if key == "first.awswidget" else ""))
    res.checks.append(f"N={n}: the first switch in a fresh process resolved a role profile both ways ({', '.join(sorted(methods))})")


# --------------------------------------------------------------------------- 6: import


_IMPORT_PROBE = (
    "import sys, time\n"
    "t = time.perf_counter()\n"
    "{stmt}\n"
    "t = time.perf_counter() - t\n"
    "print(t * 1000, int('boto3' in sys.modules), int('ipywidgets' in sys.modules))\n"
)


def bench_import(res: Results, st: Settings, env: dict[str, str]) -> None:
    probes = {
        "import.awswidget": "import awswidget",
        "import.floor": "import ipywidgets, traitlets",
        "import.first_use": "import awswidget; awswidget.ProfilePicker",
    }
    env = {**env, "PYTHONPATH": str(REPO)}
    inside: dict[str, list[float]] = {k: [] for k in probes}
    wall: dict[str, list[float]] = {k: [] for k in probes}
    loaded: dict[str, str] = {}
    for i in range(st.warmup + st.import_repeats):
        for key, stmt in probes.items():
            start = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", _IMPORT_PROBE.format(stmt=stmt)], env=env, capture_output=True, text=True, timeout=120)
            elapsed = (time.perf_counter() - start) * 1000
            if out.returncode != 0:
                last = (out.stderr.strip().splitlines() or ["?"])[-1][:160]
                loaded[key] = f"not measured: {stmt!r} fails ({last})"
                continue
            ms, boto3_loaded, ipywidgets_loaded = out.stdout.split()
            loaded[key] = f"boto3 {'loaded' if boto3_loaded == '1' else 'not loaded'}, ipywidgets {'loaded' if ipywidgets_loaded == '1' else 'not loaded'}"
            if i >= st.warmup:
                inside[key].append(float(ms))
                wall[key].append(elapsed)
    for key in probes:
        for suffix, data in (("", inside), (".process", wall)):
            xs = data[key]
            res.put(key + suffix, 0, Cell(statistics.median(xs), xs, note=loaded.get(key, "")) if xs else Cell(None, note=loaded.get(key, "")))


# --------------------------------------------------------------------------- the run


def define_rows(res: Results) -> None:
    r = res.row
    r("picker.awswidget", "1 Picker ready: CredentialsManager() + ProfilePicker(m, verify=False)", "ms")
    r("picker.manager", "1 ... CredentialsManager() alone", "ms")
    r("picker.floor", "1 floor: botocore Session().available_profiles", "ms")
    r("picker.ratio", "1 ratio picker / floor", "×", ("picker.awswidget", "picker.floor"))
    r("picker.manager_ratio", "1 ratio manager alone / floor", "×", ("picker.manager", "picker.floor"))
    r("picker.rss", "1 peak RSS growth, fresh process: CredentialsManager() + ProfilePicker", "MiB")
    r("picker.rss_floor", "1 ... botocore Session().available_profiles", "MiB")
    r("picker.files_mib", "1 size of both files", "MiB")
    r("picker.rss_ratio", "1 ratio picker's RSS growth / files' size", "×", ("picker.rss", "picker.files_mib"))
    r("picker.rss_floor_ratio", "1 ratio botocore's RSS growth / files' size", "×", ("picker.rss_floor", "picker.files_mib"))
    r("state.picker", "2 Picker widget state (picker + descendants)", "KiB")
    r("state.names", "2 profile names (UTF-8 bytes)", "KiB")
    r("state.ratio", "2 ratio state / names", "×", ("state.picker", "state.names"))
    r("switch.awswidget", "3 Switch: manager.profile = p; boto3.client('s3')", "ms/switch")
    r("switch.naive", "3 naive: setup_default_session(profile_name=p); boto3.client('s3')", "ms/switch")
    r("switch.speedup", "3 speed-up naive / awswidget", "×", ("switch.naive", "switch.awswidget"))
    r("switch.awswidget_cpu", "3 ... CPU time of the switch (this process only)", "ms/switch")
    r("switch.naive_cpu", "3 ... CPU time of the naive switch", "ms/switch")
    r("switch.speedup_cpu", "3 speed-up in CPU time", "×", ("switch.naive_cpu", "switch.awswidget_cpu"))
    r("write.awswidget", "4 Safe write: manager.add_profile (locked, atomic, round-trip, reload)", "ms")
    r("write.cli1", "4 aws configure set (1 process, 1 key)", "ms")
    r("write.cli3", "4 aws configure set ×3 (same profile: key, secret, region)", "ms")
    r("write.configparser", "4 bare configparser read + rewrite of both files (unsafe)", "ms")
    r("write.remove", "4 Safe write: manager.remove_profile (locked, atomic, round-trip, reload)", "ms")
    r("write.floor", "4 floor: locked atomic write of the same bytes (temp + fsync + rename, both files, no parse)", "ms")
    r("write.vs_floor", "4 ratio add_profile / locked atomic write floor", "×", ("write.awswidget", "write.floor"))
    r("write.remove_vs_floor", "4 ratio remove_profile / locked atomic write floor", "×", ("write.remove", "write.floor"))
    r("write.awswidget_cpu", "4 ... CPU time of add_profile (this thread: no disk wait)", "ms")
    r("write.remove_cpu", "4 ... CPU time of remove_profile", "ms")
    r("write.floor_cpu", "4 ... CPU time of the floor", "ms")
    r("write.cpu_vs_floor", "4 ratio in CPU time add_profile / floor", "×", ("write.awswidget_cpu", "write.floor_cpu"))
    r("write.vs_cli1_remove", "4 ratio remove_profile / 1 CLI process", "×", ("write.remove", "write.cli1"))
    r("write.vs_cli1", "4 ratio add_profile / 1 CLI process", "×", ("write.awswidget", "write.cli1"))
    r("write.vs_cli3", "4 ratio add_profile / 3 CLI processes", "×", ("write.awswidget", "write.cli3"))
    r("write.vs_bare", "4 ratio add_profile / bare rewrite", "×", ("write.awswidget", "write.configparser"))
    r("first.awswidget", "5 First switch, fresh process: CredentialsManager(); m.profile = role; boto3.client('s3')", "ms")
    r("first.naive", "5 naive: setup_default_session(profile_name=role); boto3.client('s3')", "ms")
    r("first.ratio", "5 ratio first switch awswidget / naive", "×", ("first.awswidget", "first.naive"))
    r("import.awswidget", "5 import awswidget (in a fresh process)", "ms")
    r("import.floor", "5 import ipywidgets, traitlets", "ms")
    r("import.first_use", "5 import awswidget; awswidget.ProfilePicker (first use)", "ms")
    r("import.awswidget.process", "5 whole process: python -c 'import awswidget'", "ms")
    r("import.floor.process", "5 whole process: python -c 'import ipywidgets, traitlets'", "ms")
    r("import.first_use.process", "5 whole process: first use of ProfilePicker", "ms")
    r("import.ratio", "5 ratio import awswidget / ipywidgets+traitlets", "×", ("import.awswidget", "import.floor"))
    r("import.ratio.process", "5 ratio, whole processes", "×", ("import.awswidget.process", "import.floor.process"))
    big = max((n for n in res.sizes if n <= HUGE), default=max(res.sizes))  # the CLI is not run above HUGE
    res.targets = [
        Target("picker ready ≤ 1.5× the floor at 10,000", "picker.ratio", 10000, "<=", 1.5),
        Target("widget state ≤ 2× the names at 10,000", "state.ratio", 10000, "<=", 2.0),
        Target("switch ≥ 5× faster than naive at 100", "switch.speedup", 100, ">=", 5.0),
        Target("switch ≤ 20 ms at 10,000", "switch.awswidget", 10000, "<=", 20.0),
        Target(f"add_profile ≤ 0.2× one `aws configure set` at {big:,}", "write.vs_cli1", big, "<=", 0.2),
        Target(f"add_profile ≤ 3× the bare rewrite at {big:,}", "write.vs_bare", big, "<=", 3.0),
        # issue 17
        Target("picker ready ≤ 0.15× the floor at 10,000 (issue 17)", "picker.ratio", 10000, "<=", 0.15),
        Target("picker ready ≤ 2,000 ms at 100,000 (issue 17)", "picker.awswidget", 100000, "<=", 2000.0),
        Target("add_profile ≤ 0.1× one `aws configure set` at 10,000 (issue 17)", "write.vs_cli1", 10000, "<=", 0.1),
        Target("remove_profile ≤ 0.1× one `aws configure set` at 10,000 (issue 17)", "write.vs_cli1_remove", 10000, "<=", 0.1),
        Target("add_profile ≤ 1.5× the locked atomic write floor at 10,000 (issue 17)", "write.vs_floor", 10000, "<=", 1.5),
        Target("remove_profile ≤ 1.5× the locked atomic write floor at 10,000 (issue 17)", "write.remove_vs_floor", 10000, "<=", 1.5),
        Target("first switch in a fresh process ≤ 0.2× naive at 10,000 (issue 17)", "first.ratio", 10000, "<=", 0.2),
        Target("import ≤ 1.1× ipywidgets + traitlets", "import.ratio", None, "<=", 1.1),
    ]


def machine(aws: str | None) -> str:
    import boto3
    import botocore
    import ipywidgets
    import traitlets

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores shared with other jobs (load average at the start {load}), {platform.platform()}, "
        f"Python {platform.python_version()}, botocore {botocore.__version__}, boto3 {boto3.__version__}, "
        f"ipywidgets {ipywidgets.__version__}, traitlets {traitlets.__version__}, CLI: {cli_version(aws)}"
    )


def run(
    sizes: list[int],
    settings: Settings,
    workdir: Path,
    *,
    cli: bool = True,
    aws: str | None = None,
    only: set[str] | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
) -> Results:
    """Measure every figure (or those in ``only``) at every size; never touches the network or a real ~/.aws."""
    wanted = set(FIGURES) if only is None else only
    res = Results(sorted(sizes), settings=asdict(settings))
    define_rows(res)
    why = ""
    if aws is None and "write" in wanted:
        aws, why = find_aws_cli() if cli else (None, "not measured: CLI disabled (--no-cli)")
    res.machine = machine(aws)
    attempts: list[str] = []
    with no_network(attempts):
        for n in res.sizes:
            gen = genfiles.generate(workdir / f"n{n}", n)
            with isolated(gen):
                if "picker" in wanted:
                    progress(f"N={n}: picker")
                    bench_picker(res, n, gen, settings)
                if "switch" in wanted and n > HUGE:
                    for key in ("switch.awswidget", "switch.naive", "switch.awswidget_cpu", "switch.naive_cpu"):
                        res.put(key, n, Cell(None, note=f"not measured above N={HUGE:,}"))
                elif "switch" in wanted:
                    progress(f"N={n}: switch")
                    bench_switch(res, n, gen, settings)
            if "write" in wanted:
                progress(f"N={n}: write")
                bench_write(res, n, gen, settings, aws, why, workdir / f"n{n}")
            if "first" in wanted and n > HUGE:
                for key in ("first.awswidget", "first.naive"):
                    res.put(key, n, Cell(None, note=f"not measured above N={HUGE:,}"))
            elif "first" in wanted:
                progress(f"N={n}: first switch in a fresh process")
                bench_first(res, n, gen, settings)
        if "import" in wanted:
            progress("import")
            bench_import(res, settings, file_env(gen))
    res.machine += f"; load average at the end {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    assert not attempts, f"a benchmark tried to reach the network: {attempts[:3]}"
    res.checks.append("no network request was attempted (socket guard)")
    res.ratios()
    return res


# --------------------------------------------------------------------------- report


def growth(row: Row, sizes: list[int]) -> str:
    """How the figure grows over the last tenfold (or largest) step of N: factor and exponent."""
    have = [n for n in sizes if n in row.cells and row.cells[n].value]
    if len(have) < 2:
        return ""
    lo, hi = have[-2], have[-1]
    factor = row.cells[hi].value / row.cells[lo].value  # type: ignore[operator]
    k = math.log(factor) / math.log(hi / lo) if factor > 0 else 0.0
    shape = "flat" if k < 0.15 else "sublinear" if k < 0.85 else "linear" if k <= 1.15 else "SUPERLINEAR"
    return f"×{factor:.2f} for ×{hi // lo} N (k={k:.2f}, {shape})"


def fmt(cell: Cell | None, unit: str) -> str:
    if cell is None:
        return ""
    if cell.value is None:
        return cell.note or "not measured"
    value = cell.value
    if unit == "×":
        return f"{value:.2f}" if value >= 0.1 else f"{value:.3f}"
    text = f"{value:.2f}" if value < 10 else f"{value:,.0f}" if value >= 100 else f"{value:.1f}"
    return f"{text} ({cell.note})" if cell.note else text


def verdict(res: Results, target: Target) -> tuple[str, float | None]:
    row = res.rows[target.row]
    n = 0 if target.n is None else target.n
    cell = row.cells.get(n)
    if cell is None or cell.value is None:
        return (f"not judged ({cell.note})" if cell is not None else f"not judged (N={n} not run)"), None
    ok = cell.value <= target.limit if target.op == "<=" else cell.value >= target.limit
    return ("met" if ok else "MISSED"), cell.value


def render(res: Results) -> str:
    sizes = res.sizes
    head = "| figure | unit | " + " | ".join(f"N={n:,}" for n in sizes) + " | growth |"
    lines = [head, "|" + "---|" * (len(sizes) + 3)]
    for row in res.rows.values():
        if row.key.startswith("import."):
            continue
        lines.append(f"| {row.label} | {row.unit} | " + " | ".join(fmt(row.cells.get(n), row.unit) for n in sizes) + f" | {growth(row, sizes) if row.ratio_of is None else ''} |")
    lines += ["", "| import (fresh process) | unit | median | note |", "|---|---|---|---|"]
    for row in res.rows.values():
        if row.key.startswith("import."):
            cell = row.cells.get(0)
            shown = fmt(Cell(cell.value, note="" if cell.value is not None else cell.note), row.unit) if cell else ""
            lines.append(f"| {row.label} | {row.unit} | {shown} | {cell.note if cell and row.unit != '×' else ''} |")
    lines += ["", "| target | measured | verdict |", "|---|---|---|"]
    for target in res.targets:
        status, value = verdict(res, target)
        shown = "" if value is None else f"{value:.2f}"
        lines.append(f"| {target.text} | {shown} | {status} |")
    lines += ["", "Checks: " + "; ".join(res.checks) + ".", "", f"Machine: {res.machine}.", ""]
    s = res.settings
    lines.append(
        f"Medians of {s['repeats']} runs ({s['repeats_large']} above N=1,000, {s.get('repeats_huge', 1)} without warm-up above N={HUGE:,}) "
        f"after {s['warmup']} warm-up; "
        f"switch over {s['switches']} different profiles of every kind; CLI {s['cli_repeats']} triples; "
        f"imports {s['import_repeats']} fresh processes each; ratios from two medians of the same run."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="awswidget vs the raw boto3 way (see the module docstring).")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a rough table in a minute)")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="profile counts, comma-separated")
    parser.add_argument("--json", type=Path, help="also write the results (with every sample) as JSON")
    parser.add_argument("--no-cli", action="store_true", help="do not measure the AWS CLI (and do not create its venv)")
    parser.add_argument("--aws-cli", help="an `aws` binary to compare with (from its own environment)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--only", help=f"measure only these figures, comma-separated ({', '.join(FIGURES)})")
    args = parser.parse_args(argv)
    only = None if not args.only else {f.strip() for f in args.only.split(",")}
    if only is not None and not only <= set(FIGURES):
        parser.error(f"--only takes {', '.join(FIGURES)}")
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    settings = Settings.quick() if args.quick else Settings()
    workdir = Path(tempfile.mkdtemp(prefix="awswidget-bench-"))
    try:
        res = run(sizes, settings, workdir, cli=not args.no_cli, aws=args.aws_cli, only=only,
                  progress=lambda msg: print(f"… {msg}", file=sys.stderr, flush=True))
        if args.keep:
            print(f"generated files kept in {workdir}", file=sys.stderr)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(render(res))
    if args.json:
        args.json.write_text(json.dumps(asdict(res), indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
