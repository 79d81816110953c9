"""When the selection's temporary credentials run out, and what to do then.

Assumed roles, SSO role credentials and ``credential_process`` output with an
``Expiration`` are temporary. botocore renews most of them by itself on the next
call (roles without MFA, processes, SSO role credentials while the SSO login
lasts). Two cannot be renewed without the person at the keyboard:

* credentials obtained with an **MFA code**: botocore refuses to ask twice, and
  stops using them 10 minutes before they expire (its mandatory refresh window);
* the **SSO login** itself (the token in ``~/.aws/sso/cache``).

:func:`status_for` says how much time is left, warns in the last minutes and
names the remedy (refresh with a new MFA code, log in again). It never resolves
credentials or calls AWS: it reads what the session already holds, so it is
cheap enough for a :class:`Ticker` to run every 30 seconds.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import _botocore, sso, texts
from .sso import utc_now
from .texts import format_remaining

if TYPE_CHECKING:
    import boto3

    from .profiles import ProfileInfo

__all__ = ["ExpiryStatus", "Ticker", "credentials_expiry", "describe", "format_remaining", "status_for", "utc_now"]

#: Warn this long before credentials that need a person stop working.
WARN_BEFORE = dt.timedelta(minutes=10)
# botocore.credentials._DEFAULT_MANDATORY_REFRESH_TIMEOUT: from then on, a refresh must succeed.
_MANDATORY_WINDOW = dt.timedelta(minutes=10)
REMEDIES = texts.REMEDIES




@dataclass(frozen=True)
class ExpiryStatus:
    """How long the selection's credentials last.

    ``expires_at`` is when they stop working (UTC); ``level`` is ``"ok"``,
    ``"warning"`` (less than :data:`WARN_BEFORE` left) or ``"expired"``;
    ``renews`` tells whether botocore renews them by itself; ``action`` is
    ``"none"``, ``"refresh"``, ``"mfa"`` or ``"sso-login"``; ``message`` is one
    sentence for the status line.
    """

    expires_at: dt.datetime
    remaining: dt.timedelta
    level: str
    renews: bool
    action: str
    message: str


def describe(expires_at: dt.datetime, now: dt.datetime, *, what: str, action: str, renews: bool) -> ExpiryStatus:
    """The status of credentials (``what``: "MFA session", "SSO login"...) ending at ``expires_at``."""
    remaining = expires_at - now
    if renews:
        # botocore renews these on the next call; "expired" only means nobody used them lately.
        level, action = "ok", "none"
    elif remaining <= dt.timedelta(0):
        level = "expired"
    else:
        level = "warning" if remaining <= WARN_BEFORE else "ok"
    message = texts.expiry_sentence(what, expires_at, remaining, level, action, renews)
    return ExpiryStatus(expires_at, remaining, level, renews, action, message)


def credentials_expiry(session: boto3.Session | None) -> dt.datetime | None:
    """When the credentials the session already holds expire (UTC), without resolving any.

    ``None`` for static keys, or when the session has not resolved credentials yet.
    """
    if session is None:
        return None
    # Peeking, not get_credentials(): that would run a credential_process or read files.
    return _botocore.expiry_of(_botocore.resolved_credentials(session))


def _chain_has_mfa(name: str, profiles: dict[str, Any]) -> bool:
    """Whether the profile or any role it sources from asks for an MFA code."""
    seen: set[str] = set()
    while name in profiles and name not in seen:
        seen.add(name)
        values = profiles[name]
        if "role_arn" not in values:
            return False
        if "mfa_serial" in values:
            return True
        name = values.get("source_profile", "")
    return False


def _console_login_status(info: ProfileInfo, config: dict[str, Any], now: dt.datetime) -> ExpiryStatus | None:
    """A console login (``aws login``): its cached credentials' end; botocore renews them while the refresh token lasts."""
    from . import console

    ends = console.token_expiry(config, info.name)
    return None if ends is None else describe(ends, now, what="Console login credentials", action="console-login", renews=True)


def status_for(
    session: boto3.Session | None,
    info: ProfileInfo | None,
    config: dict[str, Any],
    now: dt.datetime,
    sso_dir: str | None = None,
) -> ExpiryStatus | None:
    """The expiry of the selection's credentials, or ``None`` when they do not expire.

    ``config`` is botocore's merged view of the shared files (``full_config``);
    for SSO profiles the SSO login's expiry is read from the token cache.
    """
    if info is None:
        return None
    if info.kind == "sso":
        from .errors import AwsWidgetError

        try:
            login_ends = sso.token_expiry(sso.sso_config(config, info.name), sso_dir)
        except AwsWidgetError:
            return None
        if login_ends is None:
            return None
        return describe(login_ends, now, what="SSO login", action="sso-login", renews=False)
    if info.kind == "login":
        return _console_login_status(info, config, now)
    expires_at = credentials_expiry(session)
    if expires_at is None:
        return None
    if info.role_arn and _chain_has_mfa(info.name, config.get("profiles", {})):
        return describe(expires_at - _MANDATORY_WINDOW, now, what="MFA session", action="mfa", renews=False)
    what = {"process": "Process credentials", "role": "Role credentials"}.get(info.kind, "Temporary credentials")
    return describe(expires_at, now, what=what, action="refresh", renews=True)


class Ticker:
    """Call ``callback`` every ``interval`` seconds in a daemon thread until stopped.

    ``wait(seconds)`` returns True to stop; the default waits on the stop
    event, so :meth:`stop` ends the thread at once. Tests inject their own.
    Exceptions from the callback are swallowed (a display must not die).
    """

    def __init__(self, callback: Callable[[], Any], interval: float = 30.0, wait: Callable[[float], bool] | None = None) -> None:
        self.callback = callback
        self.interval = interval
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._wait = wait
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stopped.is_set()

    def start(self) -> Ticker:
        with self._lock:
            if not self.running:
                # A fresh event per run: a run that is still winding down never swallows this start.
                self._stopped = threading.Event()
                self._thread = threading.Thread(target=self._run, args=(self._stopped,), daemon=True, name="awswidget-expiry")
                self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._stopped.set()

    def _run(self, stopped: threading.Event) -> None:
        wait = self._wait or stopped.wait
        while not wait(self.interval) and not stopped.is_set():
            try:
                self.callback()
            except Exception:  # noqa: S112 - the next tick tries again
                continue
