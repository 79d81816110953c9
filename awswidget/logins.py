"""Credentials that need a person: MFA codes, SSO device logins, renewal in place, and the one expiry ticker.

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

Renewal in place: an MFA role's credentials object (one per profile, shared by
every session of it) asks for a new code itself when botocore's refresh window
comes. :meth:`Logins.renew_early` lets the ticker start that inside the window,
while the kernel is idle, so the question appears (mfa_request) before anything fails;
:meth:`Logins.renew_now` is what Refresh does, at any time left; both ask through this manager.
A renewal botocore starts by itself (a kept client, any thread) asks the best manager still on
the profile: the process owner's, then one a picker shows, then any (:meth:`Logins.standing`).
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from . import _botocore, _session
from .errors import ProfileExistsError, ValidationError
from .expiry import Ticker, record_session
from .identity import get_session_token
from .mfa import MfaPrompter, MfaRequest, validate_mfa_code
from .sso import DeviceLogin, SsoConfig, SsoLoginState

__all__ = ["EARLY_WINDOW", "Logins", "mfa_session"]

#: botocore's advisory refresh window: the ticker starts an MFA renewal when this much is left.
EARLY_WINDOW = dt.timedelta(minutes=15)


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
        selection: Callable[[], tuple[str | None, int, bool] | None] | None = None,
    ) -> None:
        self._on_mfa = on_mfa
        # The manager's (profile, generation, owns the process) now; None once it is gone.
        self._selection = selection
        self._prompters: dict[str, MfaPrompter] = {}  # one per profile, alive as long as the manager
        self._made_at: dict[str, int] = {}  # the generation of the manager's selection when each was last handed out
        self._on_sso = on_sso
        self._timeout = timeout
        self._lock = threading.Lock()
        self._request: MfaRequest | None = None
        self._sso: DeviceLogin | None = None
        self._watchers: dict[int, weakref.ref[Any]] = {}
        self._renewing = False
        self._listener: Callable[[], None] | None = None
        self._tried: Any = None  # the expiry the ticker already started a renewal for
        self.ticker = Ticker(on_tick, interval)

    # ------------------------------------------------------------------ MFA

    def prompter(self, profile: str) -> MfaPrompter:
        """The prompter handed to botocore for ``profile``'s session (the same one each time for one profile).

        The profile's credentials are shared by every session of it in the process, and they ask for a
        code through the prompter of the best manager still on the profile (:meth:`standing`).
        This one is kept here, as long as the manager: a replaced session does not take it away.
        """
        now = self._selection() if self._selection is not None else None  # asked outside the lock: it reads the manager
        with self._lock:
            prompter = self._prompters.get(profile)
            if prompter is None:
                this = weakref.ref(self)  # kept here: no cycle back, so these go when the manager goes

                def publish(request: MfaRequest) -> None:
                    logins = this()
                    if logins is not None:
                        logins._publish_request(request)

                def standing() -> tuple[int, int] | None:
                    logins = this()
                    return None if logins is None else logins.standing(profile)

                prompter = self._prompters[profile] = MfaPrompter(profile, publish, timeout=self._timeout, standing=standing)
            if now is not None:
                self._made_at[profile] = now[1]
        return prompter

    def standing(self, profile: str) -> tuple[int, int] | None:
        """Whether shared credentials of ``profile`` may ask this manager for a code, and how well it can answer.

        ``None`` (never asked) once the manager left the profile or is gone; a prompter handed out for
        another profile than the selection (a role's source profile being checked) serves until the next
        selection. Otherwise ``(owns the process, watched by a picker)``: the highest is asked.
        """
        watched = int(self.watchers > 0)
        if self._selection is None:
            return (0, watched)
        now = self._selection()
        if now is None:
            return None
        selected, generation, owner = now
        with self._lock:
            handed = self._made_at.get(profile)
        if selected != profile and handed != generation:
            return None
        return (int(owner), watched)

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

    # ------------------------------------------------------------------ renewal in place

    def listener(self, call: Callable[[], None]) -> Callable[[], None]:
        """One renewal listener per manager: the first ``call`` given is kept (the credentials hold it weakly)."""
        with self._lock:
            if self._listener is None:
                self._listener = call
            return self._listener

    def renew_early(self, session: Any, profile: str | None) -> bool:
        """Start renewing the session's MFA credentials in the background once they are inside
        :data:`EARLY_WINDOW`, once per expiry (a refusal is not asked again: Refresh is). True if started."""
        credentials = _session.renewing_credentials(session)
        left = credentials.seconds_left() if credentials is not None else None
        if left is None or left >= EARLY_WINDOW.total_seconds():
            return False
        expiry = _botocore.expiry_of(credentials)
        with self._lock:
            if self._renewing or self._request is not None or self._tried == expiry:
                return False
            self._renewing, self._tried = True, expiry
        prompter = self.prompter(profile) if profile is not None else None
        threading.Thread(target=self._renew_quietly, args=(credentials, prompter), daemon=True, name="awswidget-renew").start()
        return True

    def _renew_quietly(self, credentials: Any, prompter: Any) -> None:
        try:
            credentials.renew(prompter=prompter)
        except Exception:  # noqa: S110 - timed out or cancelled: the status line says what to do
            pass
        finally:
            with self._lock:
                self._renewing = False

    def renew_now(self, session: Any, profile: str | None, then: Callable[[], Any], *, block: bool,
                  only_if_stale: bool = False) -> Any:
        """Renew the session's MFA credentials now (a new code is asked), then return ``then()``;
        ``block=False``: in a background thread, a Future. ``None`` when they do not renew in place.
        ``only_if_stale``: keep them while botocore's role cache still counts them as valid."""
        credentials = _session.renewing_credentials(session)
        if credentials is None:
            return None

        prompter = self.prompter(profile) if profile is not None else None

        def run() -> Any:
            credentials.renew(only_if_stale=only_if_stale, prompter=prompter)
            return then()

        if block:
            return run()
        future: Future[Any] = Future()

        def target() -> None:
            try:
                future.set_result(run())
            except BaseException as exc:  # delivered through the future
                future.set_exception(exc)

        threading.Thread(target=target, daemon=True, name="awswidget-renew").start()
        return future

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
    creds = get_session_token(session, info.mfa_serial, code, info.region, duration_seconds)
    if isinstance(creds.get("Expiration"), dt.datetime):
        record_session(files.credentials_file, target, creds["Expiration"])  # the file cannot say when they end
    return creds
