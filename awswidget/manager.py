"""The credentials manager: one traitlets model that every widget binds to.

``CredentialsManager`` is a plain :class:`traitlets.HasTraits`: it works in a
script with no frontend at all. Assigning ``profile`` or ``region`` switches at
once: a session for the selection is installed as boto3's default session and,
with ``export_env`` on, ``AWS_PROFILE`` and ``AWS_DEFAULT_REGION`` are exported
so subprocesses and new ``boto3.Session()`` objects follow too.

The secret access key is never a trait: it lives in the credentials file and in
botocore's credentials object only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from traitlets import Bool, Enum, Float, HasTraits, Instance, TraitError, Tuple, Unicode, observe, validate

from . import _redact, _session, files
from .errors import ProfileNotFoundError, ValidationError, VerificationError
from .expiry import ExpiryStatus, status_for, utc_now
from .files import SharedFiles
from .identity import Identity, get_caller_identity
from .mfa import DEFAULT_TIMEOUT as MFA_TIMEOUT
from .mfa import MfaPrompter, MfaRequest
from .profiles import ProfileInfo, build_profiles
from .sso import DeviceLogin, SsoLoginState, sso_config
from .validate import (
    mask,
    validate_access_key_id,
    validate_profile_name,
    validate_region,
    validate_secret_access_key,
    validate_session_token,
    validate_value,
)

if TYPE_CHECKING:
    import boto3

__all__ = ["CredentialsManager", "default_manager"]

log = logging.getLogger(__name__)

_PROFILE_VARS = ("AWS_DEFAULT_PROFILE", "AWS_PROFILE")  # botocore's order: the first one set wins
_EXPORTED_VARS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")
_SHADOW_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
_MISSING = object()

# What the environment held before any manager exported to it, and what we exported,
# so a manager never mistakes our own exports for the user's settings.
_env_original: dict[str, str | None] = {}
_env_exported: dict[str, str | None] = {}
_env_lock = threading.RLock()


def _user_env(name: str) -> str | None:
    """The user's own value of an environment variable, ignoring our exports."""
    with _env_lock:
        value = os.environ.get(name)
        if name in _env_exported and value == _env_exported[name]:
            return _env_original.get(name)
        return value


def _export(values: dict[str, str | None]) -> None:
    with _env_lock:
        for name, value in values.items():
            current = os.environ.get(name)
            if name not in _env_exported or current != _env_exported[name]:
                _env_original[name] = current  # first export, or the user changed it since
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
            _env_exported[name] = value


def _restore_env(names: tuple[str, ...]) -> None:
    with _env_lock:
        for name in names:
            if name in _env_exported and os.environ.get(name) == _env_exported[name]:
                original = _env_original.get(name)
                if original is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = original
            _env_exported.pop(name, None)
            _env_original.pop(name, None)


def _usable_region(region: str | None) -> str | None:
    """``region`` if the ``region`` trait accepts it as it is; a file may hold anything (``None``)."""
    try:
        valid, _ = validate_region(region)
    except ValidationError:
        return None
    return region if valid == region else None


class CredentialsManager(HasTraits):
    """The single source of truth about AWS profiles in a notebook.

    Parameters
    ----------
    config_file, credentials_file
        The shared files; by default located as botocore locates them
        (``AWS_CONFIG_FILE``, ``AWS_SHARED_CREDENTIALS_FILE``, ``~/.aws/...``).
    export_env
        Export the selection to ``os.environ`` (``AWS_PROFILE``,
        ``AWS_DEFAULT_REGION``) so subprocesses and other libraries follow it.
    install_default
        Install the selection as boto3's default session.

    Examples
    --------
    >>> m = CredentialsManager()               # doctest: +SKIP
    >>> m.profile = "prod"                     # boto3.client(...) now uses prod
    >>> with m.using("dev"):
    ...     m.client("s3").list_buckets()
    """

    profiles = Tuple(read_only=True, help="Every profile botocore accepts, 'default' first.")
    profile = Unicode(None, allow_none=True, help="The selected profile.")
    region = Unicode(None, allow_none=True, help="The region in effect for the selection.")
    session = Instance("boto3.Session", allow_none=True, read_only=True)
    identity = Instance(Identity, allow_none=True, read_only=True)
    status = Enum(("unverified", "verifying", "verified", "error"), default_value="unverified", read_only=True)
    message = Unicode("", read_only=True, help="One sentence about the state, or the last error.")
    warnings = Tuple(read_only=True, help="Warnings about the selection (root keys, shadowing, modes).")
    file_errors = Tuple(read_only=True, help="Why a shared file cannot be used, one sentence per file.")
    export_env = Bool(True)
    install_default = Bool(True)
    # Beyond static keys: MFA prompts, SSO device login, temporary credentials' expiry.
    mfa_request = Instance(MfaRequest, allow_none=True, read_only=True, help="An MFA code botocore waits for; answer() it.")
    mfa_timeout = Float(MFA_TIMEOUT, help="Seconds a background MFA prompt waits for a code.")
    sso_login_state = Instance(SsoLoginState, allow_none=True, read_only=True, help="The running or last SSO login.")
    expires_at = Instance(dt.datetime, allow_none=True, read_only=True, help="When the selection's credentials stop working (UTC).")
    expiry = Instance(ExpiryStatus, allow_none=True, read_only=True, help="Time left, and what to do when it runs out.")
    _sso_login: DeviceLogin | None = None

    def __init__(
        self,
        config_file: str | os.PathLike[str] | None = None,
        credentials_file: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        _redact.install()
        self.files = SharedFiles(config_file, credentials_file)
        self._explicit_files = config_file is not None or credentials_file is not None
        self._infos: dict[str, ProfileInfo] = {}
        self._lock = threading.RLock()
        self._generation = 0
        self._switching = False
        self._restoring: Any = _MISSING
        self._pending: tuple[int, Future[Identity]] | None = None
        super().__init__(**kwargs)
        self._load()
        initial, note = self._initial_profile()
        if initial is not None:
            self.profile = initial
        else:
            self._apply()
        if note:
            self._set_message(note, warn=True)

    # ------------------------------------------------------------------ display

    def __repr__(self) -> str:
        ident = f", account={self.identity.account!r}" if self.identity else ""
        return (
            f"<CredentialsManager profile={self.profile!r} region={self.region!r} "
            f"status={self.status!r}{ident} profiles={len(self.profiles)}>"
        )

    # ------------------------------------------------------------------ reading

    def _load(self) -> None:
        config, creds = self.files.read()
        merged = _session.merged_config(self.files.config_file, self.files.credentials_file)
        self._infos = build_profiles(
            config.sections,
            creds.sections,
            config.path,
            creds.path,
            merged=merged,
            config_names=_session.config_profile_names(self.files.config_file),
        )
        errors = tuple(str(s.error) for s in (config, creds) if s.error is not None)
        self.set_trait("file_errors", errors)
        names = tuple(self._infos)
        if names != self.profiles:
            self.set_trait("profiles", names)

    def _initial_profile(self) -> tuple[str | None, str | None]:
        for var in _PROFILE_VARS:
            wanted = _user_env(var)
            if wanted:
                if wanted in self._infos:
                    return wanted, None
                fallback = "default" if "default" in self._infos else None
                instead = f"; using '{fallback}' instead" if fallback else ""
                return fallback, (
                    f"{var} names the profile '{wanted}', which is not in {self.files.config_file} "
                    f"or {self.files.credentials_file}{instead}."
                )
        if "default" in self._infos:
            return "default", None
        return None, None

    def reload(self) -> None:
        """Re-read the shared files; keep the selection if it still exists."""
        with self._lock:
            self._load()
            if self.profile is not None and self.profile not in self._infos:
                gone = self.profile
                fallback = "default" if "default" in self._infos else (self.profiles[0] if self.profiles else None)
                self.profile = fallback
                self._set_message(f"Profile '{gone}' is no longer in the shared files.", warn=True)
            elif self.profile is not None:
                info = self._infos[self.profile]
                # The same profile may now hold other keys or settings: rebuild its session.
                if self.session is None or self._session_sources != self._sources_key(info):
                    self._apply()
                else:
                    self._refresh_warnings()
            else:
                self._apply()

    def profile_info(self, name: str | None = None) -> ProfileInfo:
        """What is known about profile ``name`` (default: the selection)."""
        name = self.profile if name is None else name
        if name is None or name not in self._infos:
            raise ProfileNotFoundError(profile=name, hint=self._hint())
        return self._infos[name]

    def _hint(self) -> str:
        if not self._infos:
            return f"; there are no profiles in {self.files.config_file} or {self.files.credentials_file}"
        names = list(self._infos)
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        return f"; known profiles: {shown}"

    def describe(self) -> list[tuple[str, str, str]]:
        """``(setting, value, where it comes from)`` rows, like ``aws configure list``."""
        rows = [
            ("profile", self.profile or "(none)", self._profile_source()),
            ("region", self.region or "(none)", self._region_source()),
        ]
        if self.profile is not None:
            info = self._infos[self.profile]
            rows += [(key, value, source) for key, value, source in info.settings if key != "region"]
        rows += [
            ("config file", self.files.config_file, "AWS_CONFIG_FILE" if _user_env("AWS_CONFIG_FILE") else "default location"),
            ("credentials file", self.files.credentials_file, "AWS_SHARED_CREDENTIALS_FILE" if _user_env("AWS_SHARED_CREDENTIALS_FILE") else "default location"),
        ]
        return rows

    def _profile_source(self) -> str:
        for var in _PROFILE_VARS:
            if _user_env(var) == self.profile and self.profile:
                return f"environment ({var})"
        return "selected in awswidget" if self.profile else ""

    def _region_source(self) -> str:
        if self.region is None:
            return ""
        if _user_env("AWS_DEFAULT_REGION") == self.region:
            return "environment (AWS_DEFAULT_REGION)"
        info = self._infos.get(self.profile or "")
        if info is not None and info.region == self.region:
            return self.files.config_file
        return "selected in awswidget"

    # ------------------------------------------------------------------ selection

    @validate("profile")
    def _check_profile(self, proposal: Any) -> str | None:
        name = proposal.value
        if name is not None and name not in self._infos:
            raise TraitError(f"No profile named '{name}'{self._hint()}. Add it with add_profile() or the CredentialSetupForm.")
        return name

    @validate("region")
    def _check_region(self, proposal: Any) -> str | None:
        try:
            region, _ = validate_region(proposal.value)
        except ValidationError as exc:
            raise TraitError(str(exc)) from None
        if region != proposal.value:
            raise TraitError(f"Write the region as '{region}'.")
        return proposal.value

    def _region_for(self, name: str | None) -> str | None:
        # botocore's order: AWS_DEFAULT_REGION beats the profile's region.
        env = _user_env("AWS_DEFAULT_REGION")
        if env:
            return _usable_region(env)
        info = self._infos.get(name or "")
        return _usable_region(info.region) if info is not None else None

    @observe("profile")
    def _profile_changed(self, change: Any) -> None:
        if self._restoring is not _MISSING:
            return  # using() puts the saved session back itself, once
        with self._lock:
            self._switching = True
            try:
                self.region = self._region_for(change.new)
            finally:
                self._switching = False
            self._apply()

    @observe("region")
    def _region_changed(self, change: Any) -> None:
        if not self._switching and self._restoring is _MISSING:
            with self._lock:
                default = self._region_for(self.profile)
                if change.new is None and default is not None:
                    # None means "the profile's own region" (botocore would use it anyway):
                    # say which one, so the trait never disagrees with the session.
                    self.region = default
                    return
                self._apply()

    def _sources_key(self, info: ProfileInfo) -> tuple[Any, ...]:
        return (info, self.region)

    def _apply(self) -> None:
        """Install the selection: default session, environment, reset verification."""
        with self._lock:
            if self.mfa_request is not None:
                self.mfa_request.cancel()  # asked for the previous selection's session, which is gone
                self.set_trait("mfa_request", None)
            self._generation += 1
            self._pending = None
            name, region = self.profile, self.region
            restoring = self._restoring
            if restoring is not _MISSING:
                session = restoring["session"]
            elif name is None:
                session = None
            else:
                prompter = MfaPrompter(name, self._publish_mfa, timeout=lambda: self.mfa_timeout)
                session = _session.make_session(
                    name, region, self.files.config_file, self.files.credentials_file, prompter=prompter
                )
            self.set_trait("session", session)
            self._session_sources = self._sources_key(self._infos[name]) if name in self._infos else None
            if self.install_default:
                import boto3

                if session is not None:
                    boto3.DEFAULT_SESSION = session
                elif restoring is _MISSING and name is None:
                    boto3.DEFAULT_SESSION = None  # boto3 builds its own default chain again
            if self.export_env:
                if name is None:
                    _restore_env(_EXPORTED_VARS)
                else:
                    self._export_selection(name, region)
            if restoring is not _MISSING:
                self.set_trait("identity", restoring["identity"])
                self.set_trait("status", restoring["status"])
                self.set_trait("message", restoring["message"])
                self._refresh_warnings()
                self.check_expiry()
                return
            self.set_trait("identity", None)
            self.set_trait("status", "unverified")
            self.check_expiry()
            self._refresh_warnings()
            self.set_trait("message", self._summary())

    def _export_selection(self, name: str, region: str | None) -> None:
        values: dict[str, str | None] = {"AWS_PROFILE": name, "AWS_DEFAULT_REGION": region}
        if os.environ.get("AWS_DEFAULT_PROFILE") is not None:
            values["AWS_DEFAULT_PROFILE"] = name  # botocore reads it before AWS_PROFILE
        if self._explicit_files:
            # Files passed explicitly: tell other tools where they are, or AWS_PROFILE means nothing to them.
            values["AWS_CONFIG_FILE"] = self.files.config_file
            values["AWS_SHARED_CREDENTIALS_FILE"] = self.files.credentials_file
        _export(values)

    def _summary(self) -> str:
        if self.profile is None:
            if self.file_errors:
                return self.file_errors[0]
            if not self._infos:
                return (
                    f"No AWS profile yet: add one with the setup form or add_profile() "
                    f"(files: {self.files.config_file}, {self.files.credentials_file})."
                )
            return "No profile selected."
        info = self._infos[self.profile]
        region = self.region or "no region"
        if self.identity is not None:
            ident = self.identity
            who = "root user" if ident.is_root else f"{ident.principal_kind} {ident.name}"
            return f"Connected: {self.profile} · account {ident.account} · {region} · {who}."
        return f"Selected {self.profile} ({info.kind_label}) · {region} · not verified yet."

    def _refresh_warnings(self) -> None:
        warnings: list[str] = list(self.file_errors)
        shadow = [v for v in _SHADOW_VARS[:2] if os.environ.get(v)]
        if self.profile is not None and shadow:
            warnings.append(
                f"{' and '.join(shadow)} are set in the environment: boto3.client() here uses '{self.profile}', "
                "but the aws CLI and new boto3.Session() objects will use the environment keys."
            )
        mode = files.permissive_mode_warning(self.files.credentials_file)
        if mode:
            warnings.append(mode)
        info = self._infos.get(self.profile or "")
        if info is not None and info.region and _usable_region(info.region) is None:
            warnings.append(f"The region of profile '{self.profile}' in {self.files.config_file} is not a region name; it is ignored.")
        if self.identity is not None and self.identity.is_root:
            warnings.append(
                f"These are root credentials of account {self.identity.account}: AWS recommends using an "
                "IAM user's access keys (or a role) instead of root keys."
            )
        self.set_trait("warnings", tuple(warnings))

    def _set_message(self, text: str, warn: bool = False) -> None:
        self.set_trait("message", text)
        if warn and text not in self.warnings:
            self.set_trait("warnings", (*self.warnings, text))

    @contextlib.contextmanager
    def using(self, profile: str, region: str | None = None) -> Iterator[CredentialsManager]:
        """Switch to ``profile`` (and ``region``) for a block, then restore everything."""
        saved = {
            "profile": self.profile,
            "region": self.region,
            "session": self.session,
            "identity": self.identity,
            "status": self.status,
            "message": self.message,
        }
        self.profile = profile
        if region is not None:
            self.region = region
        try:
            yield self
        finally:
            with self._lock:
                self._restoring = saved
                try:
                    with self.hold_trait_notifications():
                        self.profile = saved["profile"]
                        self.region = saved["region"]
                    self._apply()
                finally:
                    self._restoring = _MISSING

    @property
    def endpoint_url(self) -> str | None:
        """The custom endpoint the selection talks to (for STS, which :meth:`verify` calls); ``None`` for AWS's own.

        botocore's own lookup: ``AWS_ENDPOINT_URL_STS``, ``AWS_ENDPOINT_URL``, a ``services``
        section, then the profile's ``endpoint_url`` (all off with ``ignore_configured_endpoint_urls``).
        """
        import botocore.exceptions
        from botocore.configprovider import ConfiguredEndpointProvider

        session = self.session
        if session is None:
            return None
        bs = session._session  # boto3 exposes its botocore session only there
        try:
            if bs.get_config_variable("ignore_configured_endpoint_urls"):
                return None
            return ConfiguredEndpointProvider(bs.full_config, bs.get_scoped_config(), "sts").provide() or None
        except botocore.exceptions.ProfileNotFound:
            return None  # the profile left the files; reload() is about to replace this session

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client of the current selection (always the current one)."""
        if self.session is None:
            raise ProfileNotFoundError(profile="(none selected)", hint=self._hint())
        return self.session.client(service, **kwargs)

    def resource(self, service: str, **kwargs: Any) -> Any:
        """A boto3 resource of the current selection."""
        if self.session is None:
            raise ProfileNotFoundError(profile="(none selected)", hint=self._hint())
        return self.session.resource(service, **kwargs)

    # ------------------------------------------------------------------ verification

    def verify(self, block: bool = True) -> Identity | Future[Identity]:
        """Check the selection with STS GetCallerIdentity.

        ``status`` moves through ``verifying`` to ``verified`` or ``error``.
        With ``block=False`` the call runs in a background thread and a
        :class:`~concurrent.futures.Future` is returned; a verification already
        running for the same selection is reused.
        """
        with self._lock:
            if self.session is None:
                error = VerificationError("No profile is selected.", None, "NoProfile")
                self._fail(self._generation, error)
                if block:
                    raise error
                future: Future[Identity] = Future()
                future.set_exception(error)
                return future
            generation, session, name = self._generation, self.session, self.profile
            if not block and self._pending is not None and self._pending[0] == generation and not self._pending[1].done():
                done = self._pending[1]
                # Reuse a running or successful check; a failed one may be retried (network back, clock fixed).
                if not done.done() or done.exception() is None:
                    return done
            self.set_trait("status", "verifying")
            self.set_trait("message", f"Verifying {name}…")
            if not block:
                future = Future()
                self._pending = (generation, future)
                threading.Thread(target=self._verify_into, args=(generation, session, future), daemon=True, name="awswidget-verify").start()
                return future
        return self._verify_now(generation, session)

    def _verify_into(self, generation: int, session: boto3.Session, future: Future[Identity]) -> None:
        try:
            future.set_result(self._verify_now(generation, session))
        except BaseException as exc:  # delivered through the future and the status line
            future.set_exception(exc)

    def _verify_now(self, generation: int, session: boto3.Session) -> Identity:
        try:
            identity = get_caller_identity(session)
        except VerificationError as exc:
            with self._lock:
                info = self._infos.get(self.profile or "")
                if generation == self._generation and info is not None and info.role_arn:
                    # botocore asks for an MFA code once per session, even if that attempt failed:
                    # a fresh session lets the next verification ask again.
                    self._apply()
                    generation = self._generation
            self._fail(generation, exc)
            raise
        with self._lock:
            if generation == self._generation:
                self.set_trait("identity", identity)
                self._update_expiry(verified=True)  # before the status: observers of "verified" see it
                self.set_trait("status", "verified")
                self._refresh_warnings()
                self.set_trait("message", self._summary())
        return identity

    def _fail(self, generation: int, error: VerificationError) -> None:
        with self._lock:
            if generation == self._generation:
                self.set_trait("identity", None)
                self.set_trait("status", "error")
                name = self.profile or "(none)"
                self.set_trait("message", f"Profile '{name}' could not be verified: {error.reason}")

    # ------------------------------------------------------------------ MFA, SSO, expiry

    def _publish_mfa(self, request: MfaRequest) -> None:
        # Called by the MfaPrompter from the thread botocore asks on: when a request starts and ends.
        with self._lock:
            if request.pending:
                self.set_trait("mfa_request", request)
            elif self.mfa_request is request:
                self.set_trait("mfa_request", None)

    def refresh_credentials(self, block: bool = False) -> Identity | Future[Identity]:
        """Get new temporary credentials for the selection, then verify them.

        A fresh session is built, so a role with MFA asks for a new code once
        its cached credentials are (nearly) expired; SSO profiles use the
        current SSO login (see :meth:`sso_login`).
        """
        with self._lock:
            self._apply()
        return self.verify(block=block)

    def mfa_login(self, code: str, profile: str | None = None, **options: Any) -> ProfileInfo:
        """MFA for plain keys (STS GetSessionToken), saved as ``<profile>-mfa`` and selected.

        See :func:`awswidget.mfa.mfa_login` for ``target``, ``duration_seconds`` and ``select``.
        """
        from .mfa import mfa_login

        return mfa_login(self, code, profile, **options)

    def check_expiry(self, now: dt.datetime | None = None) -> ExpiryStatus | None:
        """Re-read when the selection's credentials stop working; updates ``expires_at`` and ``expiry``.

        No network call and no credential resolution: it looks at what the
        verified session already holds (and at the SSO token cache), so it is
        cheap to call periodically.
        """
        return self._update_expiry(self.status == "verified", now)

    def _update_expiry(self, verified: bool, now: dt.datetime | None = None) -> ExpiryStatus | None:
        with self._lock:
            status = None
            info = self._infos.get(self.profile or "")
            if info is not None and verified:
                config = _session.merged_config(self.files.config_file, self.files.credentials_file)
                status = status_for(self.session, info, config, now or utc_now())
            if status != self.expiry:
                self.set_trait("expiry", status)
            expires_at = status.expires_at if status is not None else None
            if expires_at != self.expires_at:
                self.set_trait("expires_at", expires_at)
            return status

    def sso_login(self, profile: str | None = None, *, block: bool = False, **options: Any) -> SsoLoginState | Future[SsoLoginState]:
        """Log in to IAM Identity Center for ``profile`` (default: the selection).

        Runs the device authorization flow: ``sso_login_state`` shows the link
        and the code to approve, then success or failure. The token is cached
        where ``aws sso login`` caches it, so every profile of the same SSO
        session is logged in. With ``block=False`` (default) the flow runs in a
        background thread and a Future is returned. ``options`` go to
        :class:`~awswidget.sso.DeviceLogin` (``client``, ``clock``, ``sleep``...).
        """
        name = self.profile_info(profile).name
        config = sso_config(_session.merged_config(self.files.config_file, self.files.credentials_file), name)
        login = DeviceLogin(config, profile=name, on_change=lambda state: self.set_trait("sso_login_state", state), **options)
        with self._lock:
            if self._sso_login is not None:
                self._sso_login.cancel()  # one login at a time: the newest wins
            self._sso_login = login
        if block:
            state = login.run()
            self._after_sso_login(config)
            return state
        future = login.start()
        future.add_done_callback(lambda f: None if f.exception() else self._after_sso_login(config))
        return future

    def cancel_sso_login(self) -> None:
        """Stop a running :meth:`sso_login`."""
        with self._lock:
            if self._sso_login is not None:
                self._sso_login.cancel()

    def _after_sso_login(self, config: Any) -> None:
        # Profiles of the same SSO session share the login: re-check the selection if it is one.
        with self._lock:
            info = self._infos.get(self.profile or "")
            if info is None or info.kind != "sso":
                return
            try:
                mine = sso_config(_session.merged_config(self.files.config_file, self.files.credentials_file), info.name)
            except Exception:  # a broken SSO profile is reported by verify, not here
                return
            if mine.cache_key == config.cache_key:
                self.verify(block=False)

    def verify_keys(
        self,
        access_key_id: str,
        secret_access_key: str,
        session_token: str | None = None,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
    ) -> Identity:
        """Check a candidate key pair with STS before it is saved; changes no trait."""
        import boto3

        key_id, _ = validate_access_key_id(access_key_id)
        secret, _ = validate_secret_access_key(secret_access_key)
        token = validate_session_token(session_token, key_id)
        _redact.remember(secret, token)
        session = boto3.Session(
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            aws_session_token=token,
            region_name=region or self.region,
            botocore_session=_session.plain_botocore_session(),
        )
        kwargs = {"endpoint_url": endpoint_url} if endpoint_url else {}
        return get_caller_identity(session, **kwargs)

    # ------------------------------------------------------------------ writing

    def add_profile(
        self,
        name: str,
        access_key_id: str,
        secret_access_key: str,
        *,
        region: str | None = None,
        session_token: str | None = None,
        overwrite: bool = False,
        output: str | None = None,
        endpoint_url: str | None = None,
        select: bool = False,
    ) -> ProfileInfo:
        """Validate, then write a profile as ``aws configure`` would.

        Keys (and the session token) go to the credentials file under
        ``[name]``; region, output and endpoint URL to the config file under
        ``[profile name]`` (``[default]``). An existing profile is only
        replaced with ``overwrite=True`` (a stale session token is removed).
        """
        name = validate_profile_name(name)
        key_id, _ = validate_access_key_id(access_key_id)
        secret, _ = validate_secret_access_key(secret_access_key)
        token = validate_session_token(session_token, key_id)
        region, _ = validate_region(region)
        settings = {
            key: validate_value(key, value)
            for key, value in (("region", region), ("output", output), ("endpoint_url", endpoint_url))
            if value
        }
        _redact.remember(secret, token)
        from .store import ProfileStore  # the writing is the store's: all or nothing across both files

        ProfileStore(self.files).save_keys(
            name, access_key_id=key_id, secret_access_key=secret, session_token=token, settings=settings, overwrite=overwrite
        )
        log.info("Saved profile '%s' (key %s) to %s", name, mask(key_id), self.files.credentials_file)
        self.reload()
        info = self._infos.get(name)
        if info is None:
            # Another program changed the files between the write and this read (item 3 of issue 15).
            raise ProfileNotFoundError(
                profile=name, hint=" any more: it was saved, then removed by another program before it could be read back"
            )
        if select:
            self.profile = name
        return info

    def remove_profile(self, name: str) -> None:
        """Remove a profile from both shared files (its sections only)."""
        from .store import ProfileStore

        try:
            ProfileStore(self.files).remove(name)
        except ProfileNotFoundError:
            self.reload()  # the hint lists what the files hold now
            raise ProfileNotFoundError(profile=name, hint=self._hint()) from None
        log.info("Removed profile '%s'", name)
        self.reload()

    def _own_file(self, path: str) -> str:
        wanted = os.path.realpath(files._expand(path))
        for own in (self.files.config_file, self.files.credentials_file):
            if os.path.realpath(own) == wanted:
                return own
        raise ValueError(f"{path} is not one of this manager's shared files")

    def plan_repair(self, path: str) -> Any:
        """What :meth:`repair_file` would change in one of the shared files.

        Returns a :class:`~awswidget.repair.RepairPlan` (``description`` and a
        masked ``diff``), or ``None`` when there is nothing awswidget can repair.
        """
        from .repair import plan_repair

        return plan_repair(self._own_file(path))

    def repair_file(self, path: str, plan: Any = None) -> str:
        """Repair a shared file botocore rejects (a BOM, a repeated section or key); an explicit action.

        Applies ``plan`` (from :meth:`plan_repair`, so the user saw it) or plans
        now; saves a backup next to the file first and returns its path.
        """
        from .errors import ConfigFileError
        from .repair import apply_repair, plan_repair

        own = self._own_file(path)
        plan = plan if plan is not None else plan_repair(own)
        if plan is None or os.path.realpath(plan.path) != os.path.realpath(own):
            raise ConfigFileError(own, "awswidget has no repair for this file; fix it by hand")
        backup = apply_repair(plan)
        log.info("Repaired %s (backup: %s)", own, backup)
        self.reload()
        return backup


_default: CredentialsManager | None = None
_default_lock = threading.Lock()


def default_manager() -> CredentialsManager:
    """The process-wide manager that widgets use when given none."""
    global _default
    with _default_lock:
        if _default is None:
            _default = CredentialsManager()
        return _default


def _reset_default_manager() -> None:
    """Forget the process-wide manager (for tests)."""
    global _default
    with _default_lock:
        _default = None

