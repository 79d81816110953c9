"""In the kernel: has this session run code that holds AWS keys, or does its environment hold some?

:func:`scan_kernel` reads IPython's input history (with execution counts) and the process environment and
returns a :class:`KernelScan`: the findings (masked) and, for each key pair, a :class:`KeyMove` that the
setup form can be filled from ("Move into a profile") and that says what to run instead afterwards.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .detect import Finding, ScanError, find_in_text, is_example, mask_value
from .rewrite import Rewrite, rewrite_source

__all__ = ["KernelScan", "KeyMove", "keys_from_environment", "scan_history", "scan_kernel", "watch"]

ENV_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


@dataclass(frozen=True, repr=False)
class KeyMove:
    """A key pair found in this kernel, ready to be saved as a profile.

    ``access_key_id``, ``secret_access_key`` and ``session_token`` are in clear for the setup form (the
    secret goes to its Password field only); ``repr``/``str`` mask them. ``execution_counts`` are the
    cells (``In [n]``) that hold the key; ``from_environment`` says it is set in ``os.environ``.
    """

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None
    execution_counts: tuple[int, ...] = ()
    from_environment: bool = False
    _sources: tuple[tuple[int, str], ...] = field(default=(), compare=False)

    def __repr__(self) -> str:
        where = [f"In [{n}]" for n in self.execution_counts] + (["environment"] if self.from_environment else [])
        token = ", session_token=****************" if self.session_token else ""
        return f"KeyMove(access_key_id={mask_value('access_key_id', self.access_key_id)!r}, secret_access_key=****************{token}, found_in={where})"

    __str__ = __repr__

    @property
    def example(self) -> bool:
        """AWS's documented example key: nothing to save."""
        return is_example(self.access_key_id) or is_example(self.secret_access_key)

    @property
    def temporary(self) -> bool:
        return self.access_key_id.startswith("ASIA")

    def cell_rewrites(self, profile: str) -> dict[int, Rewrite]:
        """For each cell holding the key (by execution count): its source rewritten to use ``profile``."""
        values = {v for v in (self.access_key_id, self.secret_access_key, self.session_token) if v}
        return {count: rewrite_source(source, values, profile) for count, source in self._sources}

    def _masked(self, text: str) -> str:
        """``text`` with this pair's values masked: what is shown to the user never holds them."""
        for kind, value in (("access_key_id", self.access_key_id), ("secret_access_key", self.secret_access_key),
                            ("session_token", self.session_token)):
            if value:
                text = text.replace(value, mask_value(kind, value))
        return text

    def instructions(self, profile: str) -> str:
        """What to tell the user once the keys are saved as ``profile``: what to run instead, cell by cell."""
        parts = []
        for count, rewrite in self.cell_rewrites(profile).items():
            head = f"Replace In [{count}] with:" if rewrite.complete else f"In [{count}] still names the keys; start from:"
            parts.append(f"{head}\n{self._masked(rewrite.source).rstrip()}")
        if self.from_environment:
            parts.append(
                "Take the keys out of the environment, so the profile is what boto3 and the AWS CLI use:\n"
                "import os\n"
                f"for name in {ENV_KEYS!r}:\n"
                "    os.environ.pop(name, None)\n"
                f"os.environ['AWS_PROFILE'] = {profile!r}"
            )
        parts.append(f"Anywhere else: m.client(...) with m = awswidget.default_manager() on profile {profile!r}, or AWS_PROFILE={profile}.")
        return "\n\n".join(parts)


@dataclass(frozen=True)
class KernelScan:
    """Findings of the history and the environment (``where`` = ``history``/``environment``) and the moves."""

    findings: tuple[Finding, ...] = ()
    moves: tuple[KeyMove, ...] = ()

    @property
    def leaks(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.leak)

    def message(self) -> str | None:
        """One sentence for a status line (masked), or ``None`` when there is nothing to say."""
        moves = [m for m in self.moves if not m.example]
        if not self.leaks:
            return None
        cells = sorted({f.execution_count for f in self.leaks if f.execution_count is not None})
        where = []
        if cells:
            where.append(("cell " if len(cells) == 1 else "cells ") + ", ".join(f"In [{n}]" for n in cells))
        if any(f.where == "environment" for f in self.leaks):
            where.append("the environment")
        keys = ", ".join(mask_value("access_key_id", m.access_key_id) for m in moves)
        offer = f" ({keys}): move them into a profile." if moves else ": move them into a profile."
        return f"AWS keys in {' and '.join(where)}{offer}"


def _history(shell: Any) -> list[tuple[int, str]]:
    """(execution count, raw source) of every cell this session ran."""
    manager = getattr(shell, "history_manager", None)
    if manager is not None:
        try:
            return [(line, source) for _session, line, source in manager.get_range(session=0, start=1, raw=True, output=False)]
        except Exception:  # an unusual history backend: fall back to the In list  # noqa: S110
            pass
    inputs = shell.user_ns.get("In", []) if shell is not None else []
    return [(n, s) for n, s in enumerate(inputs) if n and isinstance(s, str)]


def keys_from_environment(environ: Mapping[str, str] | None = None) -> KeyMove | None:
    """The key pair set in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), if any."""
    env = os.environ if environ is None else environ
    key, secret = env.get("AWS_ACCESS_KEY_ID", "").strip(), env.get("AWS_SECRET_ACCESS_KEY", "").strip()
    if not key or not secret:
        return None
    return KeyMove(key, secret, env.get("AWS_SESSION_TOKEN", "").strip() or None, from_environment=True)


def _env_findings(env: Mapping[str, str]) -> list[Finding]:
    found = []
    for index, name in enumerate(ENV_KEYS, start=1):
        value = env.get(name, "").strip()
        if value:
            kind = name[4:].lower()  # access_key_id, secret_access_key, session_token
            found.append(Finding(kind, mask_value(kind, value), index, 1, f"{name} is set", is_example(value), where="environment"))
    return found


def scan_history(history: list[tuple[int, str]]) -> tuple[list[Finding], list[KeyMove]]:
    """Findings of (execution count, source) pairs, and the key pairs they hold."""
    findings: list[Finding] = []
    pairs: dict[str, dict[str, Any]] = {}  # key ID → secret, token, counts, sources
    for count, source in history:
        here = [dataclasses.replace(f, where="history", execution_count=count) for f in find_in_text(source)]
        findings += here
        keys = [f for f in here if f.kind == "access_key_id"]
        secrets = [f for f in here if f.kind == "secret_access_key"]
        tokens = [f for f in here if f.kind == "session_token"]
        for key in keys:
            value = source[key.span[0] : key.span[1]]
            entry = pairs.setdefault(value, {"secret": None, "token": None, "counts": [], "sources": []})
            if secrets:
                nearest = min(secrets, key=lambda s: abs(s.span[0] - key.span[0]))
                entry["secret"] = source[nearest.span[0] : nearest.span[1]]
            if tokens:
                entry["token"] = source[tokens[0].span[0] : tokens[0].span[1]]
            if count not in entry["counts"]:
                entry["counts"].append(count)
                entry["sources"].append((count, source))
    moves = [
        KeyMove(key, e["secret"], e["token"], tuple(e["counts"]), _sources=tuple(e["sources"]))
        for key, e in pairs.items()
        if e["secret"]
    ]
    return findings, moves


def scan_kernel(shell: Any = None, environ: Mapping[str, str] | None = None) -> KernelScan:
    """Scan this kernel's executed cells and its environment for AWS keys.

    ``shell`` defaults to the running IPython (``get_ipython()``); with no IPython only the environment is
    scanned. The cell running the scan is part of the history, harmlessly: it holds no key.
    """
    if shell is None:
        try:
            from IPython import get_ipython

            shell = get_ipython()
        except ImportError:
            shell = None
    env = os.environ if environ is None else environ
    history = _history(shell) if shell is not None else []
    findings, moves = scan_history(history)
    findings += _env_findings(env)
    from_env = keys_from_environment(env)
    if from_env is not None:
        same = [m for m in moves if m.access_key_id == from_env.access_key_id]
        if same:
            moves = [dataclasses.replace(m, from_environment=True) if m in same else m for m in moves]
        else:
            moves.append(from_env)
    return KernelScan(tuple(findings), tuple(moves))


def watch(callback: Callable[[KernelScan], None], shell: Any = None) -> Callable[[], None]:
    """Call ``callback(scan_kernel())`` after each executed cell whose source holds a credential.

    Only the new cell is scanned on each run (microseconds); the full scan runs when it holds one.
    Returns a function that stops watching. Errors in ``callback`` are the caller's to catch.
    """
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None:
        raise ScanError("IPython", "awswidget.scan.watch needs a running IPython kernel")

    def after(result: Any) -> None:
        source = getattr(getattr(result, "info", None), "raw_cell", None) or ""
        if any(f.leak for f in find_in_text(source)):
            callback(scan_kernel(shell))

    shell.events.register("post_run_cell", after)

    def stop() -> None:
        try:
            shell.events.unregister("post_run_cell", after)
        except ValueError:
            pass  # already stopped

    return stop
