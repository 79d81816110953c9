"""When the selection's temporary credentials run out, and what to do then.

One story for every kind the picker shows (:class:`ExpiryStatus`: time left,
whether renewal is automatic, what to do when it is not):

* **roles without MFA, ``credential_process``**: botocore renews them on the next
  call (``renews``);
* **roles with MFA**: the profile's one credentials object asks for a new code
  inside botocore's refresh window and renews in place; botocore stops using the
  old ones 10 minutes before they expire (its mandatory window), so that is the
  end shown, with ``action="mfa"``;
* **SSO**: botocore renews the access token itself when the cache holds a refresh
  token and a client registration that is still valid (``renews``); otherwise the
  login's end is the end, ``action="sso-login"``. A role whose ``source_profile``
  chain ends in SSO lasts as long as that login does;
* **MFA sessions** (``GetSessionToken`` keys saved by ``mfa_login``): their end as
  recorded when they were obtained in this process, ``action="mfa-login"``.

Console logins (``login_session``) add their own branch with the same shape.
:func:`status_for` never resolves credentials or calls AWS: it reads what the
session already holds and the token cache, so a :class:`Ticker` can run it often.
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

__all__ = ["ExpiryStatus", "Ticker", "credentials_expiry", "describe", "format_remaining", "record_session", "status_for", "utc_now"]

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
    ``"none"``, ``"refresh"``, ``"mfa"``, ``"mfa-login"`` or ``"sso-login"``;
    ``message`` is one sentence for the status line.
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


def _chain(name: str, profiles: dict[str, Any]) -> list[dict[str, Any]]:
    """The profile's settings, then those of each ``source_profile`` it assumes a role from."""
    seen: list[str] = []
    while name in profiles and name not in seen:
        seen.append(name)
        if "role_arn" not in profiles[name]:
            break
        name = profiles[name].get("source_profile", "")
    return [profiles[n] for n in seen]


def _chain_has_mfa(name: str, profiles: dict[str, Any]) -> bool:
    """Whether the profile or any role it sources from asks for an MFA code."""
    return any("role_arn" in values and "mfa_serial" in values for values in _chain(name, profiles))


def _sso_root(name: str, profiles: dict[str, Any]) -> str | None:
    """The SSO profile at the root of ``name``'s chain (itself included), or ``None``."""
    chain = _chain(name, profiles)
    root = chain[-1] if chain else {}
    if "role_arn" in root or not ("sso_session" in root or "sso_start_url" in root):
        return None
    return next(n for n, v in profiles.items() if v is root)


# MFA sessions obtained in this process: (credentials file, profile) -> when they end.
_sessions: dict[tuple[str, str], dt.datetime] = {}


def record_session(credentials_file: str, profile: str, expires_at: dt.datetime) -> None:
    """Remember when the GetSessionToken keys saved as ``profile`` end (the file cannot say)."""
    _sessions[(credentials_file, profile)] = expires_at.astimezone(dt.timezone.utc)


def _sso_status(config: dict[str, Any], root: str, now: dt.datetime, sso_dir: str | None, *, via_role: bool) -> ExpiryStatus | None:
    from .errors import AwsWidgetError

    try:
        settings = sso.sso_config(config, root)
        login_ends = sso.token_expiry(settings, sso_dir)
    except AwsWidgetError:
        return None
    if login_ends is None:
        return None
    if sso.refreshable(settings, now, sso_dir):
        # botocore renews the access token itself; only a refresh that fails needs a login (verify says so).
        message = texts.renewal("sso-via" if via_role else "sso-refresh", until=login_ends)
        return ExpiryStatus(login_ends, login_ends - now, "ok", True, "none", message)
    return describe(login_ends, now, what="SSO login", action="sso-login", renews=False)


def _console_login_status(info: ProfileInfo, config: dict[str, Any], now: dt.datetime) -> ExpiryStatus | None:
    """A console login (``aws login``): its cached credentials' end; botocore renews them while the refresh token lasts.

    Once AWS Sign-In has refused a renewal with the cached file (the console session
    ended), nothing renews them: the end is the end, ``action="console-login"``.
    """
    from dataclasses import replace

    from . import console
    from .identity import LOGIN_REMEDY

    ends = console.token_expiry(config, info.name)
    if ends is None:
        return None
    if not console.renewal_refused(config, info.name):
        return describe(ends, now, what="Console login credentials", action="none", renews=True)
    status = describe(ends, now, what="Console login credentials", action="console-login", renews=False)
    # texts.REMEDIES has no console remedy yet (its fallback would say "refresh"): the sentence is said here.
    if status.level == "expired":
        message = f"The console login has ended (its last credentials stopped at {texts.clock_time(ends)}): {LOGIN_REMEDY}."
    else:
        left = format_remaining(status.remaining)
        message = f"The console login has ended; the current credentials stop in {left} ({texts.clock_time(ends)}): {LOGIN_REMEDY}."
    return replace(status, message=message)


def status_for(
    session: boto3.Session | None,
    info: ProfileInfo | None,
    config: dict[str, Any],
    now: dt.datetime,
    sso_dir: str | None = None,
    credentials_file: str | None = None,
) -> ExpiryStatus | None:
    """The expiry of the selection's credentials, or ``None`` when they do not expire (or nobody knows when).

    ``config`` is botocore's merged view of the shared files (``full_config``);
    for SSO (and roles sourced from SSO) the SSO login's expiry is read from the token cache.
    """
    if info is None:
        return None
    profiles = config.get("profiles", {})
    root = _sso_root(info.name, profiles)
    if root is not None and not _chain_has_mfa(info.name, profiles):
        return _sso_status(config, root, now, sso_dir, via_role=root != info.name)
    if info.kind == "login":
        return _console_login_status(info, config, now)
    held = _botocore.resolved_credentials(session) if session is not None else None
    if credentials_file is not None and (credentials_file, info.name) in _sessions:
        ends = _sessions[(credentials_file, info.name)]
        return describe(ends, now, what="MFA session", action="mfa-login", renews=False)
    expires_at = credentials_expiry(session)
    if expires_at is None:
        return None
    if (held is not None and _botocore.is_renewing(held)) or (info.role_arn and _chain_has_mfa(info.name, profiles)):
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
