"""The profiles used most recently and most often ("frecency", as granted orders them).

Kept outside the AWS files, in the user's data folder
(``$XDG_DATA_HOME/awswidget/recent.json``, by default ``~/.local/share/awswidget``),
one list per credentials file, mode 0600. ``AWSWIDGET_RECENT=0`` turns it off:
nothing is read or written then. The file holds profile names and times only.
A file that cannot be read or written is ignored (it is a convenience, never an error).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Set
from typing import Any

from . import filelocks
from .errors import AwsWidgetError

__all__ = ["Recent", "recent_path"]

HALF_LIFE = 7 * 24 * 3600.0  # a use counts half as much a week later
KEEP = 50  # profiles remembered per credentials file
LOCK_TIMEOUT = 2.0  # seconds: a use not counted is better than a switch that waits
FILES = 20  # credentials files remembered: those used last (a test's or a removed file's list goes in time)


def recent_path() -> str | None:
    """Where the list lives, or ``None`` when it is turned off."""
    if os.environ.get("AWSWIDGET_RECENT", "1") == "0":
        return None
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "awswidget", "recent.json")


class Recent:
    """The use scores of one credentials file's profiles."""

    def __init__(self, key: str, *, path: str | None = None, clock: Callable[[], float] = time.time) -> None:
        self.key = key
        self.path = path if path is not None else recent_path()
        self._clock = clock
        self._lock = threading.Lock()

    def _read(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            with open(self.path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _score(self, entry: Any, now: float) -> float:
        try:
            score, last = float(entry[0]), float(entry[1])
        except (TypeError, ValueError, IndexError):
            return 0.0
        return score * math.pow(0.5, max(0.0, now - last) / HALF_LIFE)

    def first(self, names: Collection[str], most: int = 10) -> tuple[str, ...]:
        """Up to ``most`` of ``names``, the most used first (empty when turned off or never used)."""
        return self._first(self._read(), names, most)

    def _first(self, data: dict[str, Any], names: Collection[str], most: int = 10) -> tuple[str, ...]:
        entries = data.get(self.key, {})
        if not isinstance(entries, dict):
            return ()
        # A dict or a set of 10,000 names is asked as it is: a copy per reading cost more than the rest here.
        now, known = self._clock(), names if isinstance(names, (dict, Set)) else set(names)
        scored = sorted(((self._score(v, now), k) for k, v in entries.items() if k in known), key=lambda x: (-x[0], x[1]))
        return tuple(name for score, name in scored[:most] if score > 0.01)

    def record(self, name: str, names: Collection[str]) -> tuple[str, ...]:
        """Count one use of ``name`` now; returns :meth:`first` of ``names`` after it."""
        if self.path is None:
            return ()
        with self._lock:
            try:
                # One file for every credentials file and kernel: its read-modify-write is locked across
                # processes and threads, or two kernels' uses overwrite each other (review 40, D6).
                with filelocks.locked([self.path], LOCK_TIMEOUT):
                    data = self._read()
                    found = data.get(self.key)
                    entries: dict[str, Any] = found if isinstance(found, dict) else {}
                    now = self._clock()
                    entries[name] = [self._score(entries.get(name), now) + 1.0, now]
                    data.pop(self.key, None)  # last in the file: the list used most recently
                    data[self.key] = dict(sorted(entries.items(), key=lambda kv: -self._score(kv[1], now))[:KEEP])
                    self._write(dict(list(data.items())[-FILES:]))
            except AwsWidgetError:  # the lock or its folder: this use is not counted (a convenience, never an error)
                data = self._read()
        return self._first(data, names)

    def _write(self, data: dict[str, Any]) -> None:
        assert self.path is not None
        folder = os.path.dirname(self.path)
        with contextlib.suppress(OSError):
            os.makedirs(folder, mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".recent.", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(data, f)
                os.replace(tmp, self.path)  # mkstemp made it 0600
            except OSError:
                os.unlink(tmp)
