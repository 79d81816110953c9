"""Other libraries follow the selection: pandas, s3fs, pyarrow, polars, DuckDB, Dask.

Each of them caches credentials its own way (fsspec caches filesystems, polars its
object stores, DuckDB takes a snapshot of keys into a secret, Dask workers keep the
environment they were spawned with), so exporting ``AWS_PROFILE`` is not enough.
A :class:`Follower` knows one library's cache and brings it to the current selection.

There are two kinds:

* *automatic* followers (:data:`AUTOMATIC`, process-wide): libraries that read S3
  on their own in this kernel (fsspec/s3fs and pandas through it, pyarrow, polars).
  The manager that owns the process publishes to them; a follower touches its
  library only when the user has imported it (``sys.modules``), so ``import
  awswidget`` stays as cheap as it is;
* *handed* followers: an object the user hands over once with
  :meth:`~awswidget.manager.CredentialsManager.follow` (a DuckDB connection, a Dask
  ``Client``); it follows that manager until :meth:`Follower.stop`.

Every switch, and every renewal of temporary credentials, reaches every follower
through :meth:`Followers.publish`, called from the manager's one publish point.
A follower's failure is logged (without secrets) and never breaks a switch.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

__all__ = ["AUTOMATIC", "Follower", "Followers", "Selection", "register_automatic", "register_handed"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Selection:
    """What a follower is told: the manager's selection at one moment.

    ``session`` is the boto3 session of the selection (``None``: nothing selected);
    it resolves credentials through botocore's chain, and its credentials object is
    shared by every session of the profile, so renewals reach it. ``generation``
    grows with every switch: a follower that works in the background drops results
    of an older one. ``reason`` is ``"switch"`` or ``"renewal"`` (new temporary
    credentials, same selection).
    """

    profile: str | None
    region: str | None
    session: Any
    generation: int
    reason: Literal["switch", "renewal"] = "switch"
    config_file: str | None = None
    credentials_file: str | None = None


class Follower(Protocol):
    """One library's cache, kept on the current selection."""

    name: str

    def follow(self, selection: Selection) -> None:
        """Bring the library to ``selection``; fast (the switch waits for it), no network in the caller's thread."""

    def stop(self) -> None:
        """Stop following; undo what can be undone."""


AUTOMATIC: list[Follower] = []
_HANDED: list[tuple[Callable[[Any], bool], Callable[..., Follower]]] = []


def register_automatic(follower: Follower) -> None:
    """Add a process-wide follower (done by the follower modules at import)."""
    AUTOMATIC.append(follower)


def register_handed(accepts: Callable[[Any], bool], factory: Callable[..., Follower]) -> None:
    """Teach :meth:`Followers.hand` a kind of object: ``factory(target, manager)`` builds its follower."""
    _HANDED.append((accepts, factory))


class Followers:
    """The followers of one manager: the automatic ones (when it owns the process) and those handed to it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handed: list[Follower] = []
        self._last: Selection | None = None

    def hand(self, target: Any, manager: Any) -> Follower:
        _load_followers()
        for accepts, factory in _HANDED:
            if accepts(target):
                follower = factory(target, manager)
                with self._lock:
                    if follower not in self._handed:  # a follower handed back for the same target
                        self._handed.append(follower)
                    last = self._last
                if last is not None:
                    _safely(follower, last)
                return follower
        from ..errors import ValidationError

        raise ValidationError(
            "target",
            f"awswidget cannot follow a {type(target).__module__}.{type(target).__qualname__}: "
            "hand it a DuckDB connection or a Dask distributed Client."
        )

    def drop(self, follower: Follower) -> None:
        with self._lock:
            if follower in self._handed:
                self._handed.remove(follower)

    def publish(self, selection: Selection, *, owner: bool) -> None:
        """Tell every follower about ``selection`` (the automatic ones only when ``owner``)."""
        with self._lock:
            self._last = selection
            handed = list(self._handed)
        if owner:
            _load_followers()
            for follower in AUTOMATIC:
                _safely(follower, selection)
        for follower in handed:
            _safely(follower, selection)

    def released(self, generation: int) -> None:
        """The manager gave the process back: the automatic followers return their libraries to their own chain."""
        _load_followers()
        for follower in AUTOMATIC:
            _safely(follower, Selection(None, None, None, generation))

    def close(self) -> None:
        with self._lock:
            handed, self._handed = self._handed, []
        for follower in handed:
            try:
                follower.stop()
            except Exception:
                log.warning("awswidget: stopping the %s follower failed", getattr(follower, "name", "?"), exc_info=False)


def _safely(follower: Follower, selection: Selection) -> None:
    try:
        follower.follow(selection)
    except Exception as error:  # a library's own failure must never break a switch
        log.warning("awswidget: %s could not follow the switch to %r (%s)", follower.name, selection.profile, type(error).__name__)


_loaded = False


def _load_followers() -> None:
    """Import the follower modules (they register themselves); cheap, and none imports its library."""
    global _loaded
    if not _loaded:
        _loaded = True
        # Each follower module registers itself; none imports its library.
        from . import dask as _dask  # noqa: F401  (Dask distributed clients, handed with m.follow(client))
        from . import duckdb, endpoint  # noqa: F401  (handed DuckDB connections; pyarrow's C++ SDK and subprocess SDKs)
        from . import fsspec as _fsspec  # noqa: F401
        from . import polars as _polars  # noqa: F401
