"""Who the credentials belong to: STS GetCallerIdentity, and errors a person understands."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import _botocore
from .errors import VerificationError

if TYPE_CHECKING:
    import boto3

__all__ = ["Identity", "Verifier", "explain", "get_caller_identity", "login_renewal_refused"]

#: Region used to call STS when a profile has none (as the AWS CLI does for global services).
FALLBACK_REGION = "us-east-1"


@dataclass(frozen=True)
class Identity:
    """The verified caller: ``account``, ``arn`` and ``user_id`` from STS."""

    account: str
    arn: str
    user_id: str

    @property
    def is_root(self) -> bool:
        return self.arn.endswith(":root")

    @property
    def principal_kind(self) -> str:
        """"root", "IAM user", "assumed role", "federated user" or "unknown"."""
        if self.is_root:
            return "root"
        resource = self.arn.split(":", 5)[-1]
        for prefix, kind in (("user/", "IAM user"), ("assumed-role/", "assumed role"), ("federated-user/", "federated user")):
            if resource.startswith(prefix):
                return kind
        return "unknown"

    @property
    def name(self) -> str:
        """The user, role (with session) or "root"."""
        if self.is_root:
            return "root"
        resource = self.arn.split(":", 5)[-1]
        return resource.split("/", 1)[-1]


_CODES: dict[str, tuple[str | None, str]] = {
    "InvalidClientTokenId": (
        "access_key_id",
        "AWS does not recognise this access key ID (it may be mistyped, deleted or deactivated).",
    ),
    "SignatureDoesNotMatch": ("secret_access_key", "The secret access key is wrong for this access key ID."),
    "IncompleteSignature": ("secret_access_key", "The request signature is incomplete: check the secret access key."),
    "ExpiredToken": ("session_token", "These temporary credentials have expired: get new ones (or log in again)."),
    "ExpiredTokenException": ("session_token", "These temporary credentials have expired: get new ones (or log in again)."),
    "RequestExpired": (None, "The request expired: check this computer's clock."),
    "InvalidToken": ("session_token", "The session token is not valid for this access key."),
    "UnrecognizedClientException": ("session_token", "The security token is not valid."),
}


def _credential_error(exc: BaseException) -> VerificationError | None:
    """The profile kinds beyond static keys (MFA, credential_process, role chains); ``None`` otherwise."""
    import json

    import botocore.exceptions as be

    if isinstance(exc, be.RefreshWithMFAUnsupportedError):
        return VerificationError(
            "The credentials obtained with the last MFA code have expired: refresh and enter a new code.", None, "MfaExpired"
        )
    if isinstance(exc, be.ClientError):
        error = exc.response.get("Error", {})
        if error.get("Code") == "AccessDenied" and "MultiFactorAuthentication" in str(error.get("Message", "")):
            return VerificationError(
                "AWS did not accept the MFA code (wrong, already used or expired): wait for the next code and try again.",
                "mfa_code",
                "MfaRejected",
            )
        return None
    if isinstance(exc, be.CredentialRetrievalError) and getattr(exc, "kwargs", {}).get("provider") == "custom-process":
        # Its text is the process's stderr, which may hold secrets: never shown.
        return VerificationError(
            "The profile's credential_process failed (its output is not shown, as it may contain secrets); "
            "run the command in a terminal to see why.",
            None,
            "CredentialProcess",
        )
    if isinstance(exc, json.JSONDecodeError):
        # Only the process provider parses JSON here; the text it failed on may be a secret.
        return VerificationError(
            "The profile's credential_process printed something that is not credentials JSON (not shown, "
            "as it may contain secrets).",
            None,
            "CredentialProcess",
        )
    if isinstance(exc, (FileNotFoundError, PermissionError)):
        return VerificationError(
            f"The profile's credential_process command could not be started ({exc.strerror or type(exc).__name__}); "
            "check its path and that it is executable.",
            None,
            "CredentialProcess",
        )
    if isinstance(exc, be.InfiniteLoopConfigError):
        visited = [str(p) for p in exc.kwargs.get("visited_profiles", [])]
        loop = " → ".join([*visited, str(exc.kwargs.get("source_profile", "?"))])
        return VerificationError(f"The source_profile chain loops back on itself ({loop}).", None, "InfiniteLoop")
    if isinstance(exc, be.InvalidConfigError):
        # botocore's text names profiles and settings only (source_profile missing, both sources set...).
        return VerificationError(str(exc.kwargs.get("error_msg") or exc), None, "InvalidConfig")
    return None


#: What to do when a console login (``aws login``) is missing or has ended.
LOGIN_REMEDY = "log in to the console again (aws login, or log in from the notebook)"
CRT_MISSING = (
    'Console login profiles need the awscrt package, which botocore uses to sign their renewal: run  pip install "botocore[crt]"  '
    "in this kernel's environment, then restart the kernel."
)


# ---- console logins: which token file botocore's login provider failed on, and what is wrong with it

# What botocore's LoginCredentialFetcher needs in the file (the CLI writes them all, and accessToken's five).
_TOKEN_FIELDS = ("accessToken", "refreshToken", "dpopKey", "clientId")
_ACCESS_FIELDS = ("accessKeyId", "secretAccessKey", "sessionToken", "accountId", "expiresAt")


def _token_problem(token: Any) -> str | None:
    """What keeps botocore from using a parsed token file (said without any of its values), or ``None``."""
    if not isinstance(token, dict):
        return "does not hold a console login (it is not a JSON object)"
    missing = [key for key in _TOKEN_FIELDS if key not in token]
    raw = token.get("accessToken")
    access: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if isinstance(raw, dict):
        missing += [f"accessToken.{key}" for key in _ACCESS_FIELDS if key not in access]
    elif "accessToken" in token:
        missing.append("accessToken (not an object)")
    if missing:
        return f"lacks {', '.join(missing)}"
    from dateutil.parser import parse  # what botocore reads the expiry with

    try:
        if not isinstance(access["expiresAt"], dt.datetime):
            parse(access["expiresAt"])
    except (ValueError, TypeError, OverflowError):
        return "has an expiry (accessToken.expiresAt) that is not a date"
    try:
        from awscrt.crypto import EC
    except ImportError:
        return None  # botocore says what to install first
    body = "".join(line for line in str(token["dpopKey"]).splitlines() if not line.startswith("-----"))
    try:
        EC.new_key_from_der_data(base64.b64decode(body.strip()))  # as botocore loads it before each renewal
    except Exception:  # binascii.Error, or awscrt's own error for a key it cannot parse
        return "holds a signing key (dpopKey) that cannot be read"
    return None


def _login_cache_problem(path: str) -> VerificationError | None:
    """Why botocore cannot use the token file at ``path``, naming the file and the remedy (never what it holds)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return VerificationError(
            f"No console login is cached for this profile (never made here, or logged out; looked for {path}): "
            "log in (aws login, or log in from the notebook).", None, "LoginTokenLoad",
        )
    except IsADirectoryError:
        return VerificationError(
            f"The console login's token file {path} is a folder: remove that folder, then log in again.", None, "LoginCacheFolder"
        )
    except PermissionError:
        return VerificationError(
            f"The console login's token file {path} cannot be read (permission denied): make it yours and readable "
            f"(chown, then chmod 600 {path}), or remove it and log in again.", None, "LoginCacheUnreadable",
        )
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        return VerificationError(f"The console login's token file {path} cannot be read ({reason}): log in again.", None,
                                 "LoginCacheUnreadable")
    try:
        problem = _token_problem(json.loads(text))
    except ValueError:
        problem = "is not valid JSON (damaged, or cut short)"
    del text
    if problem is None:
        return None
    return VerificationError(f"The console login's token file {path} {problem}: log in again, which replaces it.", None,
                             "LoginCacheDamaged")


# Token files whose renewal AWS Sign-In refused (LoginRefreshRequired), with their (inode, mtime, size) then:
# the refusal stands until the file changes (a new login, or a renewal by another program).
_refused: dict[str, tuple[int, int, int]] = {}
_refused_lock = threading.Lock()


def _fingerprint(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def login_renewal_refused(path: str) -> bool:
    """Whether a renewal with the console login token file ``path`` was refused here, and the file is unchanged since."""
    with _refused_lock:
        mark = _refused.get(os.path.realpath(path))
    return mark is not None and mark == _fingerprint(path)


def _console_login_error(exc: BaseException) -> VerificationError | None:
    """botocore's login provider (``login_session`` profiles, written by ``aws login``); ``None`` otherwise.

    Its errors do not say which token file, and a damaged one surfaces as a bare
    ``KeyError``: the file is found from the traceback and looked at, so each way a
    cache can be broken gets its own sentence, naming the file (never what it holds).
    """
    import botocore.exceptions as be

    if isinstance(exc, be.MissingDependencyException):
        return VerificationError(CRT_MISSING, None, "MissingDependency")
    path = _botocore.login_token_file(exc)
    if isinstance(exc, be.LoginRefreshRequired):
        mark = _fingerprint(path) if path is not None else None
        if path is not None and mark is not None:
            with _refused_lock:
                _refused[os.path.realpath(path)] = mark  # the expiry status stops promising renewal until a new login
        return VerificationError(f"The console login has ended (or the password changed): {LOGIN_REMEDY}.", None, "LoginRefreshRequired")
    if isinstance(exc, be.LoginInsufficientPermissions):
        return VerificationError(
            "The console login cannot be renewed: the signed-in principal lacks permission for signin:CreateOAuth2Token.",
            None,
            "LoginInsufficientPermissions",
        )
    problem = _login_cache_problem(path) if path is not None else None
    if problem is not None:
        return problem
    if isinstance(exc, be.LoginTokenLoadError) and path is None:
        # Its text names the session and the cache only; worded here as the one sentence every kind gets.
        return VerificationError(
            "No console login is cached for this profile (never made here, or logged out): log in (aws login, or log in "
            "from the notebook).",
            None,
            "LoginTokenLoad",
        )
    if isinstance(exc, be.LoginError):
        return VerificationError(f"The console login could not be used or renewed: {LOGIN_REMEDY}.", None, type(exc).__name__)
    return None


def explain(exc: BaseException, endpoint: str | None = None) -> VerificationError:
    """The one translation of a botocore (or credential provider) failure into a sentence with no secret.

    Every path that reports a failure to the user goes through here: verification,
    listings, MFA logins, clients used in a cell (see :mod:`awswidget._session`).
    """
    import botocore.exceptions as be

    known = _credential_error(exc) or _console_login_error(exc)  # MFA, processes, role chains, console logins
    if known is not None:
        return known
    if isinstance(exc, be.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        field, reason = _CODES.get(code, (None, ""))
        if not reason:
            text = str(error.get("Message", "")).strip()
            reason = f"AWS refused the request ({code}){': ' + text if text else ''}."
        return VerificationError(reason, field, code)
    if isinstance(exc, (be.EndpointConnectionError, be.ConnectTimeoutError, be.ReadTimeoutError, be.ConnectionClosedError)):
        where = endpoint or getattr(exc, "kwargs", {}).get("endpoint_url") or "the STS endpoint"
        return VerificationError(f"Could not reach {where}: check the network or the endpoint URL.", None, "ConnectionError")
    if isinstance(exc, be.NoCredentialsError):
        return VerificationError("No credentials were found for this profile.", None, "NoCredentials")
    if isinstance(exc, be.PartialCredentialsError):
        field = getattr(exc, "kwargs", {}).get("cred_var", "")
        return VerificationError(f"The profile is missing '{field}'.", None, "PartialCredentials")
    if isinstance(exc, be.CredentialRetrievalError):
        # Its text may include a credential_process's output, which can hold secrets.
        provider = getattr(exc, "kwargs", {}).get("provider", "the credential provider")
        return VerificationError(f"{provider} could not produce credentials.", None, "CredentialRetrieval")
    if isinstance(exc, (be.SSOTokenLoadError, be.UnauthorizedSSOTokenError, be.TokenRetrievalError)):
        return VerificationError("The SSO login has expired or is missing: log in again.", None, "SSOLogin")
    if isinstance(exc, be.ProfileNotFound):
        profile = getattr(exc, "kwargs", {}).get("profile", "?")
        return VerificationError(f"The profile refers to a profile that does not exist ('{profile}').", None, "ProfileNotFound")
    if isinstance(exc, (be.InvalidConfigError, be.NoRegionError)):
        return VerificationError(f"The profile's configuration is incomplete ({type(exc).__name__}).", None, type(exc).__name__)
    if isinstance(exc, VerificationError):
        return exc
    return VerificationError(f"Verification failed ({type(exc).__name__}).", None, type(exc).__name__)


def get_caller_identity(session: boto3.Session, *, timeout: float = 10.0, **client_kwargs: Any) -> Identity:
    """Call STS GetCallerIdentity with ``session``; raise :class:`VerificationError`."""
    from botocore.config import Config

    config = Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 2, "mode": "standard"})
    endpoint = client_kwargs.get("endpoint_url")
    try:
        region = session.region_name or FALLBACK_REGION
        client = session.client("sts", region_name=region, config=config, **client_kwargs)
        endpoint = client.meta.endpoint_url
        reply = client.get_caller_identity()
    except Exception as exc:  # every failure becomes one sentence; the original may quote secrets
        # AWS's SignatureDoesNotMatch quotes the canonical request (session token included): raised
        # outside this block, the original is not even the hidden __context__ a debugger shows.
        error = explain(exc, endpoint)
    else:
        return Identity(account=str(reply["Account"]), arn=str(reply["Arn"]), user_id=str(reply["UserId"]))
    raise error from None


def get_session_token(
    session: boto3.Session, serial: str, code: str, region: str | None, duration_seconds: int | None = None
) -> dict[str, Any]:
    """STS GetSessionToken with an MFA device: the temporary credentials (raise :class:`VerificationError`)."""
    kwargs: dict[str, Any] = {"SerialNumber": serial, "TokenCode": code}
    if duration_seconds:
        kwargs["DurationSeconds"] = duration_seconds
    try:
        reply = session.client("sts", region_name=region or FALLBACK_REGION).get_session_token(**kwargs)
    except Exception as exc:  # one sentence, never the reply
        error = explain(exc)
    else:
        return dict(reply["Credentials"])
    raise error from None


class Verifier:
    """STS checks of one manager's selection, in the caller's thread or in the background.

    ``on_done(generation, identity, error)`` receives every outcome, tagged with
    the generation of the selection it was started for: the manager keeps only
    those of the selection still in place. A background check already running
    for the same generation is reused.
    """

    def __init__(self, on_done: Callable[[int, Identity | None, VerificationError | None], None]) -> None:
        self._on_done = on_done
        self._lock = threading.Lock()
        self._running: tuple[int, Future[Identity]] | None = None

    def run(self, generation: int, session: boto3.Session) -> Identity:
        """Check now, in this thread; raise :class:`VerificationError`."""
        try:
            identity = get_caller_identity(session)
        except VerificationError as exc:
            self._on_done(generation, None, exc)
            raise
        self._on_done(generation, identity, None)
        return identity

    def start(self, generation: int, session: boto3.Session) -> Future[Identity]:
        """Check in a daemon thread; the future holds the identity or the error."""
        with self._lock:
            running = self._running
            if running is not None and running[0] == generation and not running[1].done():
                return running[1]
            future: Future[Identity] = Future()
            self._running = (generation, future)

        def target() -> None:
            try:
                future.set_result(self.run(generation, session))
            except BaseException as exc:  # delivered through the future and the manager's status
                future.set_exception(exc)

        threading.Thread(target=target, daemon=True, name="awswidget-verify").start()
        return future
