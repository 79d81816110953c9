"""Credentials that need a person: MFA codes, SSO device logins, and the one expiry ticker.

A :class:`Logins` serves one manager. It never touches the manager: it reports
through the callbacks it was given (``on_mfa`` with the pending
:class:`~awswidget.mfa.MfaRequest` or ``None``, ``on_sso`` with each
:class:`~awswidget.sso.SsoLoginState`, ``on_tick`` every ``interval`` seconds),
and the manager publishes what they carry.

The ticker (every 2 s: a ``stat`` of each file and a look at the expiry) is
shared by everything that shows the manager: it runs only while
at least one watcher is alive (a picker on screen), so a script, or a notebook
whose pickers were closed, runs no thread at all. Watchers are held weakly: a
picker that is garbage collected stops watching by itself.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from . import _session
from .errors import ProfileExistsError, ValidationError
from .expiry import Ticker
from .identity import get_session_token
from .mfa import MfaPrompter, MfaRequest, validate_mfa_code
from .sso import DeviceLogin, SsoConfig, SsoLoginState

__all__ = ["Logins", "mfa_session"]


class Logins:
    """MFA requests, SSO logins and the expiry ticker of one manager."""

    def __init__(
        self,
        *,
        on_mfa: Callable[[MfaRequest | None], None],
        on_sso: Callable[[SsoLoginState], None],
        on_tick: Callable[[], Any],
        timeout: Callable[[], float],
        interval: float = 2.0,
    ) -> None:
        self._on_mfa = on_mfa
        self._on_sso = on_sso
        self._timeout = timeout
        self._lock = threading.Lock()
        self._request: MfaRequest | None = None
        self._sso: DeviceLogin | None = None
        self._watchers: dict[int, weakref.ref[Any]] = {}
        self.ticker = Ticker(on_tick, interval)

    # ------------------------------------------------------------------ MFA

    def prompter(self, profile: str) -> MfaPrompter:
        """The prompter handed to botocore for ``profile``'s session."""
        return MfaPrompter(profile, self._publish_request, timeout=self._timeout)

    def _publish_request(self, request: MfaRequest) -> None:
        # From the thread botocore asks on: when a request starts, and when it ends.
        with self._lock:
            if request.pending:
                self._request = request
            elif self._request is request:
                self._request = None
            else:
                return
            current = self._request
        self._on_mfa(current)

    def cancel_mfa(self) -> None:
        """Withdraw a pending request (it was asked for a session that is gone)."""
        with self._lock:
            request, self._request = self._request, None
        if request is not None:
            request.cancel()
            self._on_mfa(None)

    # ------------------------------------------------------------------ SSO

    def sso_login(self, config: SsoConfig, profile: str, *, block: bool, **options: Any) -> Any:
        """Run a device login (the newest one wins); the state goes to ``on_sso``."""
        login = DeviceLogin(config, profile=profile, on_change=self._on_sso, **options)
        with self._lock:
            previous, self._sso = self._sso, login
        if previous is not None:
            previous.cancel()
        if block:
            return login.run()
        future: Future[SsoLoginState] = login.start()
        return future

    def cancel_sso(self) -> None:
        with self._lock:
            login = self._sso
        if login is not None:
            login.cancel()

    # ------------------------------------------------------------------ watching

    def watch(self, watcher: Any) -> None:
        """Keep the expiry ticker running while ``watcher`` is alive (or until :meth:`unwatch`)."""
        key = id(watcher)

        def gone(_ref: weakref.ref[Any]) -> None:
            self._gone(key)

        with self._lock:
            self._watchers[key] = weakref.ref(watcher, gone)
        self.ticker.start()

    def unwatch(self, watcher: Any) -> None:
        self._gone(id(watcher))

    def _gone(self, key: int) -> None:
        with self._lock:
            self._watchers.pop(key, None)
            idle = not self._watchers
        if idle:
            self.ticker.stop()

    @property
    def watchers(self) -> int:
        with self._lock:
            return sum(1 for ref in self._watchers.values() if ref() is not None)

    def close(self) -> None:
        """Stop everything: the ticker, a running SSO login, a pending MFA request."""
        with self._lock:
            self._watchers.clear()
        self.ticker.stop()
        self.cancel_sso()
        self.cancel_mfa()


def mfa_session(
    info: Any, code: str, files: Any, *, target: str, replaces: str | None, duration_seconds: int | None = None
) -> dict[str, Any]:
    """Temporary credentials for the long-lived keys of ``info``'s profile and an MFA ``code`` (STS GetSessionToken).

    ``target`` is the profile they will be saved as; ``replaces`` the kind of the profile
    of that name already there (only temporary keys may be replaced).
    """
    if not info.mfa_serial:
        raise ValidationError("mfa_serial", f"Profile '{info.name}' names no MFA device: add mfa_serial = <device ARN> to it.")
    code = validate_mfa_code(code)
    if replaces is not None and replaces != "temporary":
        raise ProfileExistsError(profile=target, path=files.credentials_file)
    session = _session.make_session(info.name, info.region, files.config_file, files.credentials_file)
    return get_session_token(session, info.mfa_serial, code, info.region, duration_seconds)
