"""polars' ``read_*``, ``scan_*`` and ``write_*`` on ``s3://`` paths follow the selection.

Left alone, polars builds its AWS credential provider from the environment and caches it
under a key that is the same for every profile, and its object stores per bucket: after a
switch it went on reading with the previous account (B→A on B's bucket returned B's data).
On every switch and renewal this follower sets polars' default credential provider
(``pl.Config.set_default_credential_provider``) to a new ``CredentialProviderAWS`` bound to
the manager's own boto3 session: the same credentials (an MFA code asked once, in the
widget; renewals in place), the profile's region and ``endpoint_url``, from the manager's
files. A new provider is a new cache key, so nothing cached for another selection is used.
A provider the user set themselves is left alone.

polars is touched only when it is in ``sys.modules``. Imported later, it is caught by a
one-shot import hook, so its first read already uses the selection.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any

from . import Selection, register_automatic
from ._importhook import when_imported

__all__ = ["PolarsFollower"]

log = logging.getLogger(__name__)


class PolarsFollower:
    """Sets polars' default AWS credential provider to one on the manager's session."""

    name = "polars"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._last: Selection | None = None
        self._ours: Any = None  # the provider we set (kept: polars may key a cache by its address)
        self._watching = False
        self._warned: set[str] = set()

    def follow(self, selection: Selection) -> None:
        with self._lock:
            self._last = selection
            pl = sys.modules.get("polars")
            if pl is None or getattr(pl, "Config", None) is None:
                self._watch_import()
                return
            self._apply(pl, selection)

    def stop(self) -> None:
        with self._lock:
            self._last = None
            pl = sys.modules.get("polars")
            if pl is not None and self._ours is not None and _current(pl) is self._ours:
                pl.Config.set_default_credential_provider("auto")
            self._ours = None

    def _apply(self, pl: Any, selection: Selection) -> None:
        setter = getattr(getattr(pl, "Config", None), "set_default_credential_provider", None)
        base = getattr(pl, "CredentialProviderAWS", None)
        if setter is None or base is None or not callable(getattr(base, "_session", None)):
            self._warn_once("old", "awswidget: this polars is too old to follow account switches "
                            "(no Config.set_default_credential_provider): pip install -U polars")
            return
        current = _current(pl)
        if not (isinstance(current, str) and current == "auto") and current is not self._ours:
            self._warn_once("user", "awswidget: polars has a default credential provider of yours: "
                            "it is kept, and polars does not follow the switch")
            return
        if selection.session is None:
            provider: Any = "auto"  # nothing selected: polars' own chain, as without awswidget
        else:
            provider = _provider_class(base)(selection)
        setter(provider)
        self._ours = None if provider == "auto" else provider

    def _watch_import(self) -> None:
        if not self._watching:
            self._watching = True
            when_imported("polars", self._imported)

    def _imported(self, module: Any) -> None:
        with self._lock:
            self._watching = False
            if self._last is not None:
                self._apply(module, self._last)

    def _warn_once(self, what: str, message: str) -> None:
        if what not in self._warned:
            self._warned.add(what)
            log.warning(message)


def _current(pl: Any) -> Any:
    builder = sys.modules.get("polars.io.cloud.credential_provider._builder")
    return getattr(builder, "DEFAULT_CREDENTIAL_PROVIDER", "auto")


_classes: dict[type, type] = {}


def _provider_class(base: type) -> type:
    """``CredentialProviderAWS`` whose boto3 session is the manager's (made once polars is imported)."""
    made = _classes.get(base)
    if made is not None:
        return made

    class SelectionProvider(base):  # type: ignore[misc,valid-type]
        """polars' AWS provider on the manager's session; a copy pickled elsewhere falls back to the profile."""

        def __init__(self, selection: Selection) -> None:
            super().__init__(profile_name=selection.profile, region_name=selection.region)
            self._awswidget_session = selection.session
            # In the pickled state polars hashes for its cache key: one key per provider, never reused.
            self._awswidget_key = os.urandom(16).hex()

        def _session(self) -> Any:
            session = getattr(self, "_awswidget_session", None)
            return session if session is not None else super()._session()

        def __getstate__(self) -> dict[str, Any]:
            state = dict(self.__dict__)
            state["_awswidget_session"] = None  # a session does not pickle; elsewhere the profile is read
            return state

        def __repr__(self) -> str:
            return f"<awswidget polars provider of profile {self.profile_name!r}>"

    _classes[base] = SelectionProvider
    return SelectionProvider


FOLLOWER = PolarsFollower()
register_automatic(FOLLOWER)
