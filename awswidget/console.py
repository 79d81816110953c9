"""Console credentials (``aws login``): the token cache, and a login from a remote kernel.

The AWS CLI v2's ``aws login`` signs in with the AWS Management Console's
session and leaves ``login_session = <ARN of the signed-in principal>`` in the
profile, and the sign-in tokens in ``~/.aws/login/cache/<sha256 of that ARN>.json``
(``AWS_LOGIN_CACHE_DIRECTORY`` moves the folder). botocore's login provider
(botocore >= 1.41, with ``awscrt``) turns that file into credentials and renews
them by itself while the refresh token lasts, with a DPoP proof signed by the
key the file holds.

:class:`ConsoleLogin` is ``aws login --remote`` for a kernel that runs on a
server: it shows the sign-in link (OAuth 2.0 authorization code with PKCE,
the CLI's cross-device client), takes the code the sign-in page shows once the
person has signed in, exchanges it for tokens, and writes the cache file field
for field as the CLI does (atomically, mode 0600, folder 0700), then sets
``login_session`` in the profile. :func:`logout` removes what ``aws logout``
removes: that one file (the profile keeps its ``login_session``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
import secrets
import string
import textwrap
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from . import _redact, _session
from .errors import AwsWidgetError
from .fileowner import DIR_MODE, ensure_folder
from .identity import CRT_MISSING, login_renewal_refused

__all__ = [
    "CACHE_VAR",
    "CLIENT_ID",
    "ConsoleLogin",
    "ConsoleLoginError",
    "ConsoleLoginState",
    "cache_dir",
    "crt_missing",
    "dpop_proof",
    "login_session",
    "logout",
    "parse_code",
    "renewal_refused",
    "token_expiry",
    "token_path",
    "usable_key",
]

CACHE_VAR = "AWS_LOGIN_CACHE_DIRECTORY"
#: The CLI's public client for a login whose browser is on another machine (``aws login --remote``).
CLIENT_ID = "arn:aws:signin:::devtools/cross-device"
# The settings that make a profile use another kind of credentials (the CLI's own check before a login).
_OTHER_KINDS = (
    ("web_identity_token_file", "web identity"),
    ("sso_role_name", "SSO"),
    ("sso_account_id", "SSO"),
    ("aws_access_key_id", "access key"),
    ("role_arn", "assume role"),
    ("credential_process", "credential process"),
)
_VERIFIER_CHARS = string.ascii_letters + string.digits + "-._~"  # RFC 7636's unreserved characters


class ConsoleLoginError(AwsWidgetError):
    """A console login could not start or complete; ``code`` says why (``bad-code``, ``expired``...)."""

    fmt = "{reason}"

    def __init__(self, reason: str, code: str) -> None:
        self.reason = reason
        self.code = code
        super().__init__(reason=reason, code=code)


# ---------------------------------------------------------------- the cache


def cache_dir() -> str:
    """The login token folder, located now as botocore and the CLI locate it."""
    override = os.environ.get(CACHE_VAR)
    if override is not None:
        return os.path.expanduser(os.path.expandvars(override))
    return os.path.join(os.path.expanduser("~"), ".aws", "login", "cache")


def login_session(config: dict[str, Any], profile: str) -> str | None:
    """The profile's ``login_session`` in botocore's merged ``full_config`` (``None``: not a console login)."""
    value = config.get("profiles", {}).get(profile, {}).get("login_session")
    return value if isinstance(value, str) and value else None


def token_path(session: str, folder: str | None = None) -> str:
    """``<folder>/<sha256 of the session>.json``, the file name botocore and the CLI use."""
    return os.path.join(folder or cache_dir(), hashlib.sha256(session.encode("utf-8")).hexdigest() + ".json")


def _parse_time(value: Any) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def token_expiry(config: dict[str, Any], profile: str, folder: str | None = None) -> dt.datetime | None:
    """When the cached console credentials of ``profile`` expire (UTC); ``None`` if there is no login.

    botocore renews them with the refresh token (also cached) from 5 minutes before
    that time, so this is the end of the current credentials, not of the login.
    """
    session = login_session(config, profile)
    if session is None:
        return None
    try:
        with open(token_path(session, folder), encoding="utf-8") as f:
            token = json.load(f)
    except (OSError, ValueError):
        return None
    access = token.get("accessToken") if isinstance(token, dict) else None
    return _parse_time(access.get("expiresAt")) if isinstance(access, dict) else None


def logout(config: dict[str, Any], profile: str, folder: str | None = None) -> bool:
    """Remove the profile's cached console login, as ``aws logout`` does; ``True`` if there was one.

    Only the token file goes: the profile keeps ``login_session`` (a later login
    reuses it), and credentials already handed out last until they expire (15 minutes).
    """
    session = login_session(config, profile)
    if session is None:
        raise ConsoleLoginError(f"Profile '{profile}' is not a console login profile (no login_session).", "not-login")
    try:
        os.remove(token_path(session, folder))
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise ConsoleLoginError(f"Could not remove the console login of '{profile}' ({exc.strerror}).", "write") from None
    return True


def renewal_refused(config: dict[str, Any], profile: str, folder: str | None = None) -> bool:
    """Whether AWS Sign-In refused the last renewal of ``profile``'s cached console login, and the file is unchanged since."""
    session = login_session(config, profile)
    return session is not None and login_renewal_refused(token_path(session, folder))


def _private_folder(folder: str) -> None:
    """Create the token folder 0700, or make an existing one of ours private; refuse one others may write into.

    The CLI and botocore write into whatever folder is there: a folder others can
    write into lets them swap the token file for their own (a login as someone else) or remove it.
    """
    ensure_folder(folder)
    try:
        st = os.stat(folder)
    except OSError as exc:
        raise ConsoleLoginError(f"Could not write the login to {folder} ({exc.strerror}).", "write") from None
    if not st.st_mode & 0o022:
        return
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        raise ConsoleLoginError(
            f"The console login folder {folder} belongs to another user and others may write into it (mode "
            f"{st.st_mode & 0o777:04o}): nothing was written. Make it yours and private (chown, then chmod 700 {folder}), "
            f"or point {CACHE_VAR} at a private folder.",
            "unsafe-folder",
        )
    try:
        os.chmod(folder, DIR_MODE)
    except OSError as exc:
        raise ConsoleLoginError(
            f"The console login folder {folder} can be changed by other users (mode {st.st_mode & 0o777:04o}) and could "
            f"not be made private ({exc.strerror}): nothing was written; run chmod 700 {folder}.",
            "unsafe-folder",
        ) from None


def crt_missing() -> bool:
    """Whether ``awscrt`` (which botocore's login provider needs) cannot be imported."""
    try:
        from awscrt.crypto import EC  # noqa: F401
    except ImportError:
        return True
    return False


# ---------------------------------------------------------------- the protocol


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def dpop_proof(key: Any, url: str, now: float | None = None) -> str:
    """A DPoP proof (RFC 9449) for a POST to ``url``, signed with the P-256 ``key`` (an awscrt ``EC``)."""
    from awscrt.crypto import EC

    x, y = key.get_public_coords()
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": {"kty": "EC", "x": _b64url(x), "y": _b64url(y), "crv": "P-256"}}
    claims = {"htm": "POST", "htu": url, "iat": int(now if now is not None else time.time()), "jti": str(uuid.uuid4())}
    signed = ".".join(_b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
    signature = EC.decode_der_signature_to_padded_pair(key.sign(hashlib.sha256(signed.encode()).digest()), pad_to=32)
    return f"{signed}.{_b64url(signature)}"


def usable_key(key: Any) -> bool:
    """Whether botocore can renew with ``key`` for as long as the login lasts.

    awscrt shortens numbers with leading zero bytes (about one key in 256 each):
    a private scalar exported that way is refused by awscrt's own parser, which
    botocore loads the cached key with before each renewal (the login would work
    once and never renew), and a public coordinate that way makes a DPoP proof
    whose JWK breaks RFC 7518's full-length rule (botocore does not pad it either).
    """
    from awscrt.crypto import EC, ECExportFormat

    try:
        EC.new_key_from_der_data(key.export_key(ECExportFormat.SEC1))
    except RuntimeError:  # awscrt's error for a form it cannot read
        return False
    return all(len(coordinate) == 32 for coordinate in key.get_public_coords())


def _new_key() -> Any:
    """A P-256 key for a new login (drawn again until :func:`usable_key`: 1.01 draws on average)."""
    from awscrt.crypto import EC, ECType

    while True:
        key = EC.new_generate(ECType.P_256)
        if usable_key(key):
            return key


def _pem(key: Any) -> str:
    """The key as the CLI caches it: SEC1 DER in a PEM block of 64-character lines."""
    from awscrt.crypto import ECExportFormat

    body = textwrap.fill(base64.b64encode(key.export_key(ECExportFormat.SEC1)).decode("ascii"), width=64)
    return f"-----BEGIN EC PRIVATE KEY-----\n{body}\n-----END EC PRIVATE KEY-----\n"


def _subject(id_token: str) -> str:
    """The ``sub`` claim of the ID token: the signed-in principal's ARN, the login session's name."""
    try:
        payload = id_token.split(".")[1]
        sub = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]
    except (IndexError, ValueError, KeyError, TypeError):
        raise ConsoleLoginError("AWS Sign-In returned a token awswidget cannot read (no principal in it).", "bad-reply") from None
    if not isinstance(sub, str) or not sub.startswith("arn:") or len(sub.split(":")) < 6:
        raise ConsoleLoginError("AWS Sign-In returned a token awswidget cannot read (no principal in it).", "bad-reply")
    return sub


def parse_code(text: str) -> tuple[str, str]:
    """The authorization code and state inside what the sign-in page shows (base64 of ``code=...&state=...``)."""
    cleaned = "".join(str(text).split())
    try:
        params = dict(parse_qsl(base64.b64decode(cleaned, validate=True).decode("utf-8"), strict_parsing=True))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        params = {}
    if not params.get("code") or not params.get("state"):
        raise ConsoleLoginError(
            "That is not the code the sign-in page shows: copy the whole code and paste it again.", "bad-code"
        ) from None
    return params["code"], params["state"]


# ---------------------------------------------------------------- the login


@dataclass(frozen=True)
class ConsoleLoginState:
    """One moment of a console login, for display. Holds no code, token or key.

    ``status`` is ``"waiting"`` (open ``url``, sign in, paste the code shown),
    ``"exchanging"``, ``"succeeded"``, ``"failed"`` or ``"cancelled"``.
    """

    status: str
    profile: str
    message: str = ""
    url: str | None = None
    session: str | None = None
    expires_at: dt.datetime | None = None

    @property
    def done(self) -> bool:
        return self.status in ("succeeded", "failed", "cancelled")


class ConsoleLogin:
    """One ``aws login --remote`` for a profile: a sign-in link, then the code pasted back.

    Parameters
    ----------
    profile, region
        The profile to log in, and the Sign-In region (the profile's own by default).
    config
        botocore's merged view of the shared files (``full_config``).
    files
        ``(config_file, credentials_file)``: the signin client is built for the profile
        from them, so ``AWS_ENDPOINT_URL_SIGNIN`` and ``services`` sections apply.
    save_settings
        ``save_settings(profile, {"login_session": ..., ["region": ...]})`` writes the profile.
    replace
        Allow a login as another principal than the profile's ``login_session``.
    client, folder, clock
        A ``signin`` client, the token folder (default :func:`cache_dir` now), ``clock() -> UTC now``.
    on_change, on_done
        Called with each :class:`ConsoleLoginState`, and once the login is saved.

    Examples
    --------
    >>> login = manager.console_login("dev")   # doctest: +SKIP
    >>> login.url                              # open it anywhere, sign in, copy the code shown
    >>> login.finish(code)                     # the CLI, botocore and awswidget now see the login
    """

    def __init__(
        self,
        profile: str,
        *,
        config: dict[str, Any],
        files: tuple[str, str],
        save_settings: Callable[[str, dict[str, str | None]], None],
        region: str | None = None,
        replace: bool = False,
        client: Any = None,
        folder: str | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        on_change: Callable[[ConsoleLoginState], None] | None = None,
        on_done: Callable[[ConsoleLoginState], None] | None = None,
    ) -> None:
        values = config.get("profiles", {}).get(profile)
        if values is None:
            raise ConsoleLoginError(f"No profile named '{profile}': add it (with a region) before logging in.", "no-profile")
        for key, kind in _OTHER_KINDS:
            if key in values:
                raise ConsoleLoginError(
                    f"Profile '{profile}' already uses {kind} credentials, which botocore would use before a console "
                    "login: log in with another profile name, or remove those settings first.",
                    "other-kind",
                )
        own_region = values.get("region") if isinstance(values.get("region"), str) else None
        region = region or own_region
        if not region:
            raise ConsoleLoginError(f"Profile '{profile}' has no region: pass the region to log in to.", "no-region")
        if crt_missing():
            raise ConsoleLoginError(CRT_MISSING, "missing-crt")

        self.profile, self.region, self.replace = profile, region, replace
        self._region_saved = bool(own_region)  # the CLI writes a region only to a profile that has none
        self._existing = login_session(config, profile)
        self._files, self._save = files, save_settings
        self._client = client
        self._folder = folder or cache_dir()
        self._clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self._on_change, self._on_done = on_change, on_done
        self._lock = threading.Lock()
        # PKCE (RFC 7636) and the DPoP key: in this object only, until the code is exchanged.
        self._verifier: str | None = "".join(secrets.choice(_VERIFIER_CHARS) for _ in range(64))
        self._key: Any = _new_key()
        self._expected_state = str(uuid.uuid4())
        base = self._base_uri()
        self.redirect_uri = f"{base}/v1/sessions/confirmation"
        challenge = _b64url(hashlib.sha256(self._verifier.encode()).digest())
        query = urlencode({"response_type": "code", "client_id": CLIENT_ID, "state": self._expected_state,
                           "code_challenge_method": "SHA-256", "scope": "openid", "redirect_uri": self.redirect_uri})
        self.url = f"{base}/v1/authorize?{query}&code_challenge={challenge}"
        self._state = ConsoleLoginState(
            "waiting", profile, "Open the link, sign in, then paste the code the page shows.", url=self.url
        )

    def __repr__(self) -> str:
        return f"<ConsoleLogin {self.profile!r} status={self._state.status!r}>"

    @property
    def state(self) -> ConsoleLoginState:
        return self._state

    @property
    def client(self) -> Any:
        if self._client is None:
            from botocore import UNSIGNED
            from botocore.config import Config

            session = _session.make_session(self.profile, self.region, *self._files)
            config = Config(signature_version=UNSIGNED, connect_timeout=10, read_timeout=20, retries={"max_attempts": 2})
            self._client = session.client("signin", region_name=self.region, config=config)
        return self._client

    def _base_uri(self) -> str:
        """``scheme://host`` of the Sign-In endpoint, as the client's endpoint rules resolve it (no request is sent)."""
        from botocore.awsrequest import AWSResponse

        seen: dict[str, str] = {}

        def capture(params: dict[str, Any], **_kwargs: Any) -> Any:
            seen["url"] = params["url"]
            return AWSResponse(None, 200, {}, None), {}  # a before-call reply: the call ends here

        events = self.client.meta.events
        events.register_first("before-call.signin.CreateOAuth2Token", capture, unique_id="awswidget-base-uri")
        try:
            self.client.create_o_auth2_token(tokenInput={"clientId": " ", "grantType": " "})
        except Exception:  # noqa: S110 - the empty reply may not parse; the URL was captured before
            pass
        finally:
            events.unregister("before-call.signin.CreateOAuth2Token", unique_id="awswidget-base-uri")
        if "url" not in seen:
            raise ConsoleLoginError(f"Could not find the AWS Sign-In endpoint for {self.region}.", "endpoint")
        parts = urlsplit(seen["url"])
        return f"{parts.scheme}://{parts.netloc}"

    def _set(self, **changes: Any) -> None:
        self._state = replace(self._state, **changes)
        if self._on_change is not None:
            self._on_change(self._state)

    def cancel(self, message: str = "The console login was cancelled.") -> None:
        """Forget this login (its link stops being useful here); a pasted code is refused afterwards.

        An exchange already under way is not interrupted (the code was spent): it ends by itself.
        ``message`` says why, in the state.
        """
        with self._lock:
            if self._state.done or self._state.status == "exchanging":
                return
            self._verifier = self._key = None
        self._set(status="cancelled", message=message)

    def finish(self, code: str, *, block: bool = True) -> ConsoleLoginState | Future[ConsoleLoginState]:
        """Exchange the code the sign-in page showed, cache the tokens and set the profile's ``login_session``.

        ``block=False`` runs the exchange in a daemon thread and returns a Future.
        Raises :class:`ConsoleLoginError` (through the Future when not blocking).
        """
        auth_code, state = parse_code(code)  # a mistyped code fails at once, and the login can go on
        _redact.remember(code, auth_code)  # botocore's debug log quotes the request body
        del code
        if state != self._expected_state:
            raise ConsoleLoginError(
                "That code belongs to another login (started elsewhere or earlier): paste the code of this one.", "state"
            )
        with self._lock:
            verifier, key = self._verifier, self._key
            if verifier is None or key is None:
                raise ConsoleLoginError("This console login is over: start a new one.", "done")
            self._verifier = self._key = None  # an authorization code is good for one exchange only
        _redact.remember(verifier)
        self._set(status="exchanging", message="Exchanging the code with AWS Sign-In…")
        if block:
            return self._finish(auth_code, verifier, key)
        future: Future[ConsoleLoginState] = Future()

        def target() -> None:
            try:
                future.set_result(self._finish(auth_code, verifier, key))
            except BaseException as exc:  # delivered through the future and the state
                future.set_exception(exc)

        threading.Thread(target=target, daemon=True, name="awswidget-console-login").start()
        return future

    def _finish(self, auth_code: str, verifier: str, key: Any) -> ConsoleLoginState:
        try:
            token, session = self._exchange(auth_code, verifier, key)
            if self._existing and session != self._existing and not self.replace:
                raise ConsoleLoginError(
                    f"You signed in as {session}, but profile '{self.profile}' is the login of {self._existing}: "
                    "nothing was saved. Log in again as that principal, or pass replace=True.",
                    "other-session",
                )
            _private_folder(self._folder)  # 0700, like ~/.aws/sso/cache; the file itself is written 0600
            from botocore.utils import JSONFileCache

            # botocore's own cache writer (the one its login provider renews through): temp file, fsync, os.replace.
            JSONFileCache(self._folder)[os.path.basename(token_path(session))[:-5]] = token
            settings: dict[str, str | None] = {}
            if session != self._existing:
                settings["login_session"] = session
            if not self._region_saved:
                settings["region"] = self.region  # as the CLI saves a region it had to ask for
            if settings:
                self._save(self.profile, settings)
        except ConsoleLoginError as exc:
            self._set(status="failed", message=exc.reason)
            raise
        except AwsWidgetError as exc:
            self._set(status="failed", message=str(exc))
            raise
        except Exception as exc:
            error = self._error(exc)
            self._set(status="failed", message=error.reason)
            raise error from None
        expires = _parse_time(token["accessToken"]["expiresAt"])
        self._set(status="succeeded", session=session, expires_at=expires,
                  message=f"Logged in as {session}; botocore renews the credentials while the console session lasts.")
        if self._on_done is not None:
            self._on_done(self._state)
        return self._state

    def _exchange(self, auth_code: str, verifier: str, key: Any) -> tuple[dict[str, Any], str]:
        client = self.client

        def add_proof(params: dict[str, Any], **_kwargs: Any) -> None:
            params["headers"]["DPoP"] = dpop_proof(key, params["url"])

        client.meta.events.register("before-call.signin.CreateOAuth2Token", add_proof, unique_id="awswidget-dpop")
        try:
            reply = client.create_o_auth2_token(tokenInput={
                "clientId": CLIENT_ID, "grantType": "authorization_code", "code": auth_code,
                "codeVerifier": verifier, "redirectUri": self.redirect_uri,
            })
        finally:
            client.meta.events.unregister("before-call.signin.CreateOAuth2Token", unique_id="awswidget-dpop")
        output = reply.get("tokenOutput") if isinstance(reply, dict) else None
        if not isinstance(output, dict) or not isinstance(output.get("accessToken"), dict) or not output.get("idToken"):
            raise ConsoleLoginError("AWS Sign-In did not return credentials: log in again.", "bad-reply")
        access = output["accessToken"]
        _redact.remember(access.get("secretAccessKey"), access.get("sessionToken"), output.get("refreshToken"), output.get("idToken"))
        session = _subject(output["idToken"])
        expires = self._clock().astimezone(dt.timezone.utc) + dt.timedelta(seconds=int(output["expiresIn"]))
        # The AWS CLI v2's cache file, field for field, so `aws login`, botocore and awswidget read each other's.
        token = {
            "accessToken": {
                "accessKeyId": access["accessKeyId"],
                "secretAccessKey": access["secretAccessKey"],
                "sessionToken": access["sessionToken"],
                "accountId": session.split(":")[4],
                "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            "tokenType": output.get("tokenType", "aws_sigv4"),
            "clientId": CLIENT_ID,
            "refreshToken": output["refreshToken"],
            "idToken": output["idToken"],
            "dpopKey": _pem(key),
        }
        return token, session

    def _error(self, exc: Exception) -> ConsoleLoginError:
        import botocore.exceptions as be

        if isinstance(exc, be.ClientError):
            code = str(exc.response.get("error") or exc.response.get("Error", {}).get("Code", "Unknown"))
            if code == "AUTHCODE_EXPIRED":
                return ConsoleLoginError("The sign-in code expired before it was pasted: log in again.", "expired")
            if code == "INSUFFICIENT_PERMISSIONS":
                return ConsoleLoginError(
                    "The signed-in principal may not create CLI credentials (it lacks signin:CreateOAuth2Token).", "permissions"
                )
            return ConsoleLoginError(f"AWS Sign-In refused the code ({code}): log in again.", code)
        if isinstance(exc, (be.EndpointConnectionError, be.ConnectTimeoutError, be.ReadTimeoutError, be.ConnectionClosedError)):
            return ConsoleLoginError(f"Could not reach AWS Sign-In in {self.region}: check the network.", "connection")
        if isinstance(exc, OSError):
            return ConsoleLoginError(f"Could not write the login to {self._folder} ({exc.strerror or type(exc).__name__}).", "write")
        return ConsoleLoginError(f"The console login failed ({type(exc).__name__}).", type(exc).__name__)
