"""IAM Identity Center (SSO) login from the kernel: the OAuth device authorization flow.

``aws sso login`` opens a browser on the machine it runs on; a notebook kernel
often runs on a server. :class:`DeviceLogin` runs the same device flow as the
AWS CLI v2 (``--use-device-code``) and leaves the same files behind:

1. register a public client with SSO OIDC (reusing the CLI's cached registration);
2. start device authorization for the start URL: the service returns a
   verification URL with the user code embedded, for the person to open anywhere;
3. poll ``CreateToken`` in the background every ``interval`` seconds (``+5`` on
   ``slow_down``, waiting on ``authorization_pending``) until the person approves,
   denies, or the code expires;
4. write the token to ``~/.aws/sso/cache/<sha1 of the session name or start URL>.json``
   with the CLI's fields, atomically, mode 0600 (folder 0700).

botocore's SSO provider then finds the token and gets role credentials for every
profile of that SSO session; ``aws sso login`` and awswidget see each other's login.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

from . import _redact, _session
from .errors import AwsWidgetError

__all__ = [
    "DeviceLogin",
    "SsoConfig",
    "SsoConfigError",
    "SsoLoginError",
    "SsoLoginState",
    "refreshable",
    "sso_config",
    "token_expiry",
]

_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
# RFC 8628, section 3.5: the default polling interval and the slow_down increment.
DEFAULT_INTERVAL = 5
SLOW_DOWN_STEP = 5
# The CLI re-registers when the registration has less than this left.
_REGISTRATION_WINDOW = dt.timedelta(minutes=15)


class SsoConfigError(AwsWidgetError):
    """A profile's SSO settings are missing or inconsistent."""

    fmt = "{reason}"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason=reason)


class SsoLoginError(AwsWidgetError):
    """The device login did not complete; ``code`` says why (``denied``, ``expired``...)."""

    fmt = "{reason}"

    def __init__(self, reason: str, code: str) -> None:
        self.reason = reason
        self.code = code
        super().__init__(reason=reason, code=code)


@dataclass(frozen=True)
class SsoConfig:
    """Where and how to log in for one profile (resolved as botocore resolves it)."""

    start_url: str
    region: str
    session_name: str | None = None
    scopes: tuple[str, ...] = ()
    account_id: str | None = None
    role_name: str | None = None

    @property
    def label(self) -> str:
        return self.session_name or self.start_url

    @property
    def cache_key(self) -> str:
        """The token file's name without ``.json``: SHA-1 of the session name (or legacy start URL)."""
        return hashlib.sha1((self.session_name or self.start_url).encode("utf-8"), usedforsecurity=False).hexdigest()

    @property
    def registration_key(self) -> str:
        """The CLI v2's cache key of the OIDC client registration."""
        args = {
            "tool": "botocore",
            "startUrl": self.start_url,
            "region": self.region,
            "scopes": list(self.scopes) or None,
            "session_name": self.session_name,
        }
        return hashlib.sha1(json.dumps(args, sort_keys=True).encode("utf-8"), usedforsecurity=False).hexdigest()


def sso_config(config: dict[str, Any], profile: str) -> SsoConfig:
    """The SSO settings of ``profile`` in botocore's merged ``full_config``.

    ``sso_session = name`` reads ``[sso-session name]``; the legacy form keeps
    ``sso_start_url`` and ``sso_region`` in the profile itself.
    """
    values = config.get("profiles", {}).get(profile)
    if values is None:
        raise SsoConfigError(f"No profile named '{profile}'.")
    name = values.get("sso_session")
    if name is not None and not isinstance(name, str):
        raise SsoConfigError(f"Profile '{profile}': sso_session is an indented block, not the name of an [sso-session] section.")
    if name is not None:
        section = config.get("sso_sessions", {}).get(name)
        if section is None:
            raise SsoConfigError(f"Profile '{profile}' uses sso_session '{name}', but there is no [sso-session {name}] section.")
        source, where = section, f"[sso-session {name}]"
    elif "sso_start_url" in values:
        source, where = values, f"profile '{profile}'"
    else:
        raise SsoConfigError(f"Profile '{profile}' is not an SSO profile (no sso_session or sso_start_url).")
    missing = [key for key in ("sso_start_url", "sso_region") if not source.get(key)]
    if missing:
        raise SsoConfigError(f"{where} is missing {' and '.join(missing)}; run 'aws configure sso' or add them.")
    scopes = tuple(s.strip() for s in str(source.get("sso_registration_scopes", "")).split(",") if s.strip())
    return SsoConfig(
        start_url=source["sso_start_url"],
        region=source["sso_region"],
        session_name=name,
        scopes=scopes if name else (),
        account_id=values.get("sso_account_id"),
        role_name=values.get("sso_role_name"),
    )


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _parse_time(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        when = value
    else:
        try:
            when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def token_expiry(config: SsoConfig, cache_dir: str | None = None) -> dt.datetime | None:
    """When the cached SSO login for ``config`` expires (UTC); ``None`` if there is none."""
    cache = _session.sso_token_cache(cache_dir)
    try:
        token = cache[config.cache_key]
    except KeyError:
        return None
    return _parse_time(token.get("expiresAt")) if isinstance(token, dict) else None


def refreshable(config: SsoConfig, now: dt.datetime | None = None, cache_dir: str | None = None) -> bool:
    """Whether botocore can renew the cached SSO access token by itself.

    Only an ``sso_session`` profile's token provider refreshes, and only with a refresh
    token and a client registration (id, secret, end) that has not ended
    (botocore ``SSOTokenProvider._refresh_access_token``).
    """
    if config.session_name is None:
        return False
    try:
        token = _session.sso_token_cache(cache_dir)[config.cache_key]
    except KeyError:
        return False
    if not isinstance(token, dict) or not all(token.get(k) for k in ("refreshToken", "clientId", "clientSecret")):
        return False
    ends = _parse_time(token.get("registrationExpiresAt"))
    return ends is not None and ends > (now or utc_now())


@dataclass(frozen=True)
class SsoLoginState:
    """One moment of a device login, for display. Holds no token or secret.

    ``status`` is ``"starting"``, ``"waiting"`` (the person must open
    ``verification_uri_complete`` and approve ``user_code``), ``"succeeded"``,
    ``"failed"`` or ``"cancelled"``.
    """

    status: str
    label: str
    profile: str | None = None
    message: str = ""
    verification_uri: str | None = None
    verification_uri_complete: str | None = None
    user_code: str | None = None
    issued_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    checked_at: dt.datetime | None = None
    token_expires_at: dt.datetime | None = None

    @property
    def done(self) -> bool:
        return self.status in ("succeeded", "failed", "cancelled")

    def fraction_left(self) -> float:
        """Share of the user code's lifetime left at the last check (1.0 → 0.0)."""
        if self.issued_at is None or self.expires_at is None:
            return 1.0
        total = (self.expires_at - self.issued_at).total_seconds()
        now = self.checked_at or self.issued_at
        return max(0.0, min(1.0, (self.expires_at - now).total_seconds() / total)) if total > 0 else 0.0


class DeviceLogin:
    """One run of the device authorization flow for an :class:`SsoConfig`.

    Parameters
    ----------
    config
        Where to log in (see :func:`sso_config`).
    profile
        The profile the login was started for (display only).
    client
        An ``sso-oidc`` client (default: an unsigned one for ``config.region``).
    cache_dir
        The token folder (default: ``~/.aws/sso/cache`` located now).
    clock
        Returns the current UTC time; ``sleep(seconds)`` waits between polls and
        returns True when woken by :meth:`cancel`. Both are injectable so tests
        need not wait.
    on_change
        Called with each new :class:`SsoLoginState`.

    Examples
    --------
    >>> login = DeviceLogin(sso_config(config, "dev"), on_change=print)   # doctest: +SKIP
    >>> login.start().result()   # open the printed link, approve, and the token is cached
    """

    def __init__(
        self,
        config: SsoConfig,
        *,
        profile: str | None = None,
        client: Any = None,
        cache_dir: str | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
        sleep: Callable[[float], Any] | None = None,
        on_change: Callable[[SsoLoginState], None] | None = None,
    ) -> None:
        self.config = config
        self.cache_dir = cache_dir or _session.sso_cache_dir()
        self._client = client
        self._clock = clock
        self._cancelled = threading.Event()
        self._sleep = sleep or self._cancelled.wait
        self._on_change = on_change
        self._state = SsoLoginState("starting", config.label, profile, f"Starting the SSO login for {config.label}…")

    def __repr__(self) -> str:
        return f"<DeviceLogin {self.config.label!r} status={self._state.status!r}>"

    @property
    def state(self) -> SsoLoginState:
        return self._state

    def cancel(self) -> None:
        """Stop polling; the run ends as ``cancelled`` at its next step."""
        self._cancelled.set()

    def start(self) -> Future[SsoLoginState]:
        """Run in a daemon thread; the future holds the final state or the :class:`SsoLoginError`."""
        future: Future[SsoLoginState] = Future()

        def target() -> None:
            try:
                future.set_result(self.run())
            except BaseException as exc:  # delivered through the future and the state
                future.set_exception(exc)

        threading.Thread(target=target, daemon=True, name="awswidget-sso-login").start()
        return future

    def run(self) -> SsoLoginState:
        """Run the whole flow here (blocking); return the final state or raise :class:`SsoLoginError`."""
        try:
            return self._run()
        except SsoLoginError as exc:
            self._set(status="cancelled" if exc.code == "cancelled" else "failed", message=exc.reason)
            raise
        except Exception as exc:  # network and service errors: one sentence, no payload
            error = self._service_error(exc)
            self._set(status="failed", message=error.reason)
            raise error from None

    # ------------------------------------------------------------------ steps

    def _set(self, **changes: Any) -> None:
        self._state = replace(self._state, **changes)
        if self._on_change is not None:
            self._on_change(self._state)

    def _check_cancelled(self) -> None:
        if self._cancelled.is_set():
            raise SsoLoginError(f"The SSO login for {self.config.label} was cancelled.", "cancelled")

    @property
    def client(self) -> Any:
        if self._client is None:
            from botocore import UNSIGNED
            from botocore.config import Config

            config = Config(signature_version=UNSIGNED, connect_timeout=10, read_timeout=20, retries={"max_attempts": 3})
            self._client = _session.plain_botocore_session().create_client("sso-oidc", region_name=self.config.region, config=config)
        return self._client

    def _cache(self) -> Any:
        from .files import _ensure_folder

        _ensure_folder(self.cache_dir)  # 0700, like the CLI's ~/.aws/sso
        return _session.sso_token_cache(self.cache_dir)

    def _registration(self, cache: Any) -> dict[str, Any]:
        key = self.config.registration_key
        try:
            cached = cache[key]
        except KeyError:
            cached = None
        if isinstance(cached, dict) and "authorization_code" not in cached.get("grantTypes", ()):
            ends = _parse_time(cached.get("expiresAt"))
            if ends is not None and ends - self._clock() > _REGISTRATION_WINDOW and cached.get("clientSecret"):
                return cached
        now = self._clock()
        kwargs: dict[str, Any] = {
            "clientName": f"botocore-client-{self.config.session_name or int(now.timestamp())}",
            "clientType": "public",
        }
        if self.config.scopes:
            kwargs["scopes"] = list(self.config.scopes)
        reply = self.client.register_client(**kwargs)
        _redact.remember(reply["clientSecret"])
        registration: dict[str, Any] = {
            "clientId": reply["clientId"],
            "clientSecret": reply["clientSecret"],
            "expiresAt": dt.datetime.fromtimestamp(reply["clientSecretExpiresAt"], dt.timezone.utc),
        }
        if self.config.scopes:
            registration["scopes"] = list(self.config.scopes)
        cache[key] = registration
        return registration

    def _run(self) -> SsoLoginState:
        self._check_cancelled()
        cache = self._cache()
        registration = self._registration(cache)
        self._check_cancelled()
        auth = self.client.start_device_authorization(
            clientId=registration["clientId"], clientSecret=registration["clientSecret"], startUrl=self.config.start_url
        )
        issued = self._clock()
        code_expires = issued + dt.timedelta(seconds=auth["expiresIn"])
        interval = float(auth.get("interval") or DEFAULT_INTERVAL)
        self._set(
            status="waiting",
            verification_uri=auth["verificationUri"],
            verification_uri_complete=auth.get("verificationUriComplete") or auth["verificationUri"],
            user_code=auth["userCode"],
            issued_at=issued,
            expires_at=code_expires,
            checked_at=issued,
            message=f"Open the link, check that the code matches, and approve the request (code valid until {code_expires:%H:%M} UTC).",
        )
        while True:
            self._sleep(interval)
            self._check_cancelled()
            if self._clock() >= code_expires:  # the service should say so; never poll forever if it does not
                raise SsoLoginError("The login code expired before it was approved: start the login again.", "expired")
            try:
                reply = self.client.create_token(
                    grantType=_GRANT_TYPE,
                    clientId=registration["clientId"],
                    clientSecret=registration["clientSecret"],
                    deviceCode=auth["deviceCode"],
                )
            except self.client.exceptions.AuthorizationPendingException:
                self._set(checked_at=self._clock())
                continue
            except self.client.exceptions.SlowDownException:
                interval += SLOW_DOWN_STEP  # the service asks us to poll less often, for good
                self._set(checked_at=self._clock())
                continue
            except self.client.exceptions.ExpiredTokenException:
                raise SsoLoginError("The login code expired before it was approved: start the login again.", "expired") from None
            except self.client.exceptions.AccessDeniedException:
                raise SsoLoginError("The login request was denied in the browser.", "denied") from None
            return self._finish(cache, registration, reply)

    def _finish(self, cache: Any, registration: dict[str, Any], reply: dict[str, Any]) -> SsoLoginState:
        now = self._clock()
        token_expires = now + dt.timedelta(seconds=reply["expiresIn"])
        # The AWS CLI v2's token file, field for field, so `aws sso login` and botocore read it.
        token: dict[str, Any] = {
            "startUrl": self.config.start_url,
            "region": self.config.region,
            "accessToken": reply["accessToken"],
            "expiresAt": token_expires,
            "clientId": registration["clientId"],
            "clientSecret": registration["clientSecret"],
            "registrationExpiresAt": registration["expiresAt"],
        }
        if reply.get("refreshToken"):
            token["refreshToken"] = reply["refreshToken"]
        _redact.remember(reply["accessToken"], reply.get("refreshToken"), registration["clientSecret"])
        cache[self.config.cache_key] = token  # botocore's JSONFileCache: temp file (0600), fsync, os.replace
        self._set(
            status="succeeded",
            checked_at=now,
            token_expires_at=token_expires,
            message=f"Logged in to {self.config.label} until {token_expires:%H:%M} UTC.",
        )
        return self._state

    def _service_error(self, exc: Exception) -> SsoLoginError:
        import botocore.exceptions as be

        if isinstance(exc, be.ClientError):
            code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
            return SsoLoginError(f"IAM Identity Center refused the login ({code}): check the start URL and region.", code)
        if isinstance(exc, (be.EndpointConnectionError, be.ConnectTimeoutError, be.ReadTimeoutError, be.ConnectionClosedError)):
            return SsoLoginError(f"Could not reach IAM Identity Center in {self.config.region}: check the network.", "connection")
        if isinstance(exc, AwsWidgetError):
            return SsoLoginError(str(exc), "local")
        if isinstance(exc, OSError):
            return SsoLoginError(f"Could not write the SSO token to {self.cache_dir} ({exc.strerror or type(exc).__name__}).", "write")
        return SsoLoginError(f"The SSO login failed ({type(exc).__name__}).", type(exc).__name__)

