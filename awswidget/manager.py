"""The credentials manager: one traitlets model that every widget binds to.

``CredentialsManager`` is a plain :class:`traitlets.HasTraits`: it works in a
script with no frontend at all. It composes small services that never import
it -- the shared files and the profile store (:mod:`~awswidget.files`,
:mod:`~awswidget.store`), sessions (:mod:`~awswidget._session`), verification
(:mod:`~awswidget.identity`), logins (:mod:`~awswidget.logins`: MFA, SSO, the
expiry ticker) and the process (:mod:`~awswidget.environment`) -- and publishes
what they produce as traits. The secret access key is never a trait.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import logging
import os
import threading
import weakref
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any, Literal, overload

from traitlets import Bool, Enum, Float, HasTraits, Instance, Tuple, Unicode

from . import _redact, _session, environment, files, texts
from .environment import exporter, ownership, user_env
from .errors import AwsWidgetError, ProfileNotFoundError, SelectionError, ValidationError, VerificationError
from .expiry import ExpiryStatus, status_for, utc_now
from .identity import Identity, Verifier, get_caller_identity, get_session_token
from .keys import validate_keys
from .logins import Logins
from .mfa import DEFAULT_TIMEOUT as MFA_TIMEOUT
from .mfa import MfaRequest, validate_mfa_code
from .profiles import ProfileInfo, build_profiles
from .sso import SsoLoginState, sso_config
from .store import ProfileStore
from .texts import Notice
from .validate import mask, validate_profile_name, validate_region, validate_value

__all__ = ["CredentialsManager", "default_manager"]

log = logging.getLogger(__name__)
_KEEP: Any = object()


def _usable_region(region: Any) -> str | None:
    """``region`` if it is a region name as it is; a file may hold anything (``None``)."""
    try:
        valid, _ = validate_region(region)
    except ValidationError:
        return None
    return region if valid == region else None


def _call(ref: weakref.ref[Any], method: str, *args: Any, **kwargs: Any) -> Any:
    target = ref()
    return None if target is None else getattr(target, method)(*args, **kwargs)


class _Switch(Unicode):  # type: ignore[type-arg]
    """A trait whose assignment is a switch: ``m.profile = x`` is ``m.select(profile=x)``."""

    def __set__(self, obj: Any, value: Any) -> None:
        obj.select(**{str(self.name): value})


class CredentialsManager(HasTraits):
    """The single source of truth about AWS profiles in a notebook.

    Parameters
    ----------
    config_file, credentials_file
        The shared files; by default located as botocore locates them.
    activate
        Whether this manager steers the process (boto3's default session and
        ``AWS_PROFILE``/``AWS_REGION``): ``None`` (default) if no other live
        manager does, ``True`` to take over, ``False`` never (a side task). See
        :mod:`awswidget.environment`.

    Threading
    ---------
    Workers compute: STS checks, SSO polling and MFA prompts run in daemon
    threads and hand their results back. Publication happens at one point
    (``_publishing``): under the manager's lock the result is checked against
    the current selection (a stale one is dropped), a selection applies its
    process-wide effects (the only code that touches ``os.environ`` and
    ``boto3.DEFAULT_SESSION``), and every trait is written at once. The
    notifications are delivered after the lock is released, in order, so an
    observer always sees a state that is consistent as a whole and may call
    back into the manager from any thread.

    Examples
    --------
    >>> m = CredentialsManager()               # doctest: +SKIP
    >>> m.profile = "prod"                     # boto3.client(...) now uses prod
    >>> with m.using("dev"):
    ...     m.client("s3").list_buckets()
    """

    profiles = Tuple(read_only=True, help="Every profile botocore accepts, 'default' first.")
    profile = _Switch(None, allow_none=True, help="The selected profile; assigning it switches.")
    region = _Switch(None, allow_none=True, help="The region in effect for the selection; assignable.")
    session = Instance("boto3.Session", allow_none=True, read_only=True)
    identity = Instance(Identity, allow_none=True, read_only=True)
    status = Enum(("unverified", "verifying", "verified", "error"), default_value="unverified", read_only=True)
    message = Unicode("", read_only=True, help="One sentence about the state, or the last error.")
    warnings = Tuple(read_only=True, help="Warnings about the selection (root keys, shadowing, modes).")
    file_errors = Tuple(read_only=True, help="Why a shared file cannot be used, one sentence per file.")
    export_env = Bool(True, help="As the process owner, export the selection to os.environ.")
    install_default = Bool(True, help="As the process owner, install the selection as boto3's default session.")
    mfa_request = Instance(MfaRequest, allow_none=True, read_only=True, help="An MFA code botocore waits for; answer() it.")
    mfa_timeout = Float(MFA_TIMEOUT, help="Seconds a background MFA prompt waits for a code.")
    sso_login_state = Instance(SsoLoginState, allow_none=True, read_only=True, help="The running or last SSO login.")
    expires_at = Instance(dt.datetime, allow_none=True, read_only=True, help="When the selection's credentials stop working (UTC).")
    expiry = Instance(ExpiryStatus, allow_none=True, read_only=True, help="Time left, and what to do when it runs out.")

    def __init__(
        self,
        config_file: str | os.PathLike[str] | None = None,
        credentials_file: str | os.PathLike[str] | None = None,
        *,
        activate: bool | None = None,
        **kwargs: Any,
    ) -> None:
        _redact.install()
        wanted = {name: kwargs.pop(name) for name in ("profile", "region") if name in kwargs}
        self.files = files.SharedFiles(config_file, credentials_file)
        self.store = ProfileStore(self.files)
        self._explicit_files = config_file is not None or credentials_file is not None
        self._lock = threading.RLock()
        self._local = threading.local()
        self._outbox: collections.deque[Any] = collections.deque()
        self._deliverer: int | None = None
        self._infos: dict[str, ProfileInfo] = {}
        self._config: dict[str, Any] = {}
        self._generation = 0
        self._fresh_needed = False
        self._sticky: Notice | None = None
        # Services call back through weak references: sessions (boto3's default among them) keep
        # the MFA prompter, and a manager nobody uses any more must be freed at once, not by the GC.
        this = weakref.ref(self)
        self._verifier = Verifier(lambda *result: _call(this, "_verified", *result))
        self.logins = Logins(
            on_mfa=lambda request: _call(this, "_publish", mfa_request=request),
            on_sso=lambda state: _call(this, "_publish", sso_login_state=state),
            on_tick=lambda: _call(this, "check_expiry"),
            timeout=lambda: _call(this, "_mfa_timeout") or MFA_TIMEOUT,
        )
        super().__init__(**kwargs)
        self._owner = activate is not False and ownership.claim(self, force=bool(activate), origin=environment.caller_origin())
        self._load()
        initial, note = wanted.get("profile", _KEEP), None
        if initial is _KEEP:
            initial, note = self._initial_profile()
        with self._publishing():
            self.select(initial, wanted.get("region", None), fresh=True)
            self._sticky = note
            self._write(**self._described())

    def _mfa_timeout(self) -> float:
        return float(self.mfa_timeout)

    def __repr__(self) -> str:
        ident = f", account={self.identity.account!r}" if self.identity else ""
        return (
            f"<CredentialsManager profile={self.profile!r} region={self.region!r} "
            f"status={self.status!r}{ident} profiles={len(self.profiles)}>"
        )

    # ------------------------------------------------------------------ publishing

    def notify_change(self, change: Any) -> None:
        held = getattr(self._local, "held", None)
        if held is not None:
            held.append(change)  # inside the publish point: delivered once the whole state is written
        else:
            super().notify_change(change)

    @contextlib.contextmanager
    def _publishing(self) -> Iterator[None]:
        """The publish point: compute and write under the lock, deliver afterwards without it."""
        if getattr(self._local, "held", None) is not None:
            with self._lock:
                yield  # nested: the outermost publication delivers
            return
        try:
            with self._lock:
                held: list[Any] = []
                self._local.held = held
                try:
                    yield
                finally:
                    self._local.held = None
                    self._outbox.extend(held)
        finally:
            self._deliver()

    def _deliver(self) -> None:
        me, first = threading.get_ident(), None
        while True:
            with self._lock:
                if self._deliverer not in (None, me) or not self._outbox:
                    if self._deliverer == me:
                        self._deliverer = None
                    break
                self._deliverer = me
                change = self._outbox.popleft()
            try:
                super().notify_change(change)
            except Exception as exc:  # the other observers still hear about it; the first error is raised
                first = first or exc
        if first is not None:
            raise first

    def _write(self, **values: Any) -> None:
        for name, value in values.items():
            if getattr(self, name) is not value:
                self.set_trait(name, value)

    def _publish(self, **values: Any) -> None:
        with self._publishing():
            self._write(**values)

    # ------------------------------------------------------------------ reading

    def _load(self) -> None:
        config, creds = self.files.read()
        self._config = _session.merged_config(self.files.config_file, self.files.credentials_file)
        self._infos = build_profiles(
            config.sections, creds.sections, config.path, creds.path,
            merged=self._config, config_names=_session.config_profile_names(self.files.config_file),
        )
        self._write(profiles=tuple(self._infos), file_errors=tuple(str(s.error) for s in (config, creds) if s.error is not None))

    def _initial_profile(self) -> tuple[str | None, Notice | None]:
        fallback = "default" if "default" in self._infos else None
        for var in environment.PROFILE_VARS:
            wanted = user_env(var)
            if wanted and wanted not in self._infos:
                return fallback, Notice("env-profile-missing", {"var": var, "wanted": wanted, "fallback": fallback,
                                                                "config": self.files.config_file, "credentials": self.files.credentials_file})
            if wanted:
                return wanted, None
        return fallback, None

    def reload(self) -> None:
        """Re-read the shared files; keep the selection if it still exists."""
        with self._publishing():
            before = self._infos.get(self.profile or "")
            self._load()
            if self.profile is not None and self.profile not in self._infos:
                gone = self.profile
                self.select("default" if "default" in self._infos else (self.profiles[0] if self.profiles else None), fresh=True)
                self._sticky = Notice("profile-gone", {"profile": gone})
                self._write(**self._described())
            elif before != self._infos.get(self.profile or "") or self.session is None:
                self.select(fresh=True)  # the same profile may now hold other keys or settings
            else:
                self._write(**self._described())

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
        return "; known profiles: " + ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")

    def describe(self) -> list[tuple[str, str, str]]:
        """``(setting, value, where it comes from)`` rows, like ``aws configure list``."""
        profile_src = next((f"environment ({v})" for v in environment.PROFILE_VARS if self.profile and user_env(v) == self.profile), "selected in awswidget")
        info = self._infos.get(self.profile or "")
        if self.region is None:
            region_src = ""
        elif user_env("AWS_DEFAULT_REGION") == self.region:
            region_src = "environment (AWS_DEFAULT_REGION)"
        else:
            region_src = self.files.config_file if info is not None and info.region == self.region else "selected in awswidget"
        rows = [("profile", self.profile or "(none)", profile_src if self.profile else ""), ("region", self.region or "(none)", region_src)]
        rows += [row for row in (info.settings if info is not None else ()) if row[0] != "region"]
        for label, path, var in (("config file", self.files.config_file, "AWS_CONFIG_FILE"),
                                 ("credentials file", self.files.credentials_file, "AWS_SHARED_CREDENTIALS_FILE")):
            rows.append((label, path, var if user_env(var) else "default location"))
        return rows

    # ------------------------------------------------------------------ selection

    def select(self, profile: str | None = _KEEP, region: str | None = _KEEP, *, fresh: bool = False) -> None:
        """Switch to ``profile`` and ``region`` at once: the one place a selection is published.

        ``region=None`` means the profile's own region (``AWS_DEFAULT_REGION`` first, as
        botocore does); leaving ``region`` out keeps it for the same profile. Raises
        :class:`~awswidget.errors.SelectionError` (nothing changes) for an unknown
        profile or a region that is not a region name. ``fresh=True`` builds a new
        session even when nothing changed (new temporary credentials, edited files).
        """
        with self._publishing():
            name = self.profile if profile is _KEEP else profile
            if name is not None and name not in self._infos:
                raise SelectionError(f"No profile named '{name}'{self._hint()}. Add it with add_profile() or the CredentialSetupForm.", "profile")
            if region is _KEEP:
                region = self.region if name == self.profile else None
            region = self._checked_region(name, region)
            if not fresh and (name, region) == (self.profile, self.region) and self.session is not None:
                return
            self._generation += 1
            self._fresh_needed = False
            if profile is not _KEEP:
                self._sticky = None
            self.logins.cancel_mfa()  # asked for the previous selection's session, which is gone
            session = None if name is None else _session.make_session(
                name, region, self.files.config_file, self.files.credentials_file, prompter=self.logins.prompter(name))
            self._apply_process(name, region, session)
            self._write(profile=name, region=region, session=session, identity=None, status="unverified")
            self._write(**self._described())

    def _checked_region(self, name: str | None, region: str | None) -> str | None:
        if region is None:
            env = user_env("AWS_DEFAULT_REGION")
            info = self._infos.get(name or "")
            return _usable_region(env) if env else (_usable_region(info.region) if info is not None else None)
        try:
            valid, _ = validate_region(region)
        except ValidationError as exc:
            raise SelectionError(exc.reason, "region") from None
        if valid != region:
            raise SelectionError(f"Write the region as '{valid}'.", "region")
        return region

    def _apply_process(self, name: str | None, region: str | None, session: Any) -> None:
        """The selection's process-wide effects; only the owner has any."""
        if not self._owner:
            return
        if self.install_default:
            exporter.install_session(session)
        if self.export_env:
            if name is None:
                exporter.restore()
                return
            values: dict[str, str | None] = {"AWS_PROFILE": name, "AWS_DEFAULT_REGION": region, "AWS_REGION": region}
            if os.environ.get("AWS_DEFAULT_PROFILE") is not None:
                values["AWS_DEFAULT_PROFILE"] = name  # botocore reads it before AWS_PROFILE
            if self._explicit_files:  # or AWS_PROFILE means nothing to other tools
                values.update(AWS_CONFIG_FILE=self.files.config_file, AWS_SHARED_CREDENTIALS_FILE=self.files.credentials_file)
            exporter.export(values)

    def _described(self, now: dt.datetime | None = None) -> dict[str, Any]:
        """``message``, ``warnings`` and expiry of the current selection, as they should read now."""
        name, identity, info = self.profile, self.identity, self._infos.get(self.profile or "")
        status = status_for(self.session, info, self._config, now or utc_now()) if self.status == "verified" else None
        notices: list[Notice] = []
        shadow = environment.shadowing_vars()
        if name is not None and shadow:
            notices.append(Notice("shadowed", {"vars": shadow, "profile": name}))
        mode = files.permissive_mode_warning(self.files.credentials_file)
        if info is not None and info.region and _usable_region(info.region) is None:
            notices.append(Notice("region-ignored", {"profile": name, "path": self.files.config_file}))
        if identity is not None and identity.is_root:
            notices.append(Notice("root-keys", {"account": identity.account}))
        if name is not None and not self._owner:
            notices.append(Notice("not-owner"))
        warnings = [*self.file_errors, *([mode] if mode else []), *map(str, notices)]
        values: dict[str, Any] = {"expiry": status, "expires_at": status.expires_at if status else None}
        if self.status in ("unverified", "verified"):
            kind = info.kind_label if info is not None else ""
            values["message"] = texts.summary(name, self.region, kind=kind, identity=identity, has_profiles=bool(self._infos),
                                              file_errors=self.file_errors, files=(self.files.config_file, self.files.credentials_file))
        if self._sticky is not None:
            values["message"] = str(self._sticky)
            warnings.append(str(self._sticky))
        values["warnings"] = tuple(dict.fromkeys(warnings))
        return values

    @contextlib.contextmanager
    def using(self, profile: str, region: str | None = None) -> Iterator[CredentialsManager]:
        """Switch to ``profile`` (and ``region``) for a block, then restore everything, even on errors."""
        with self._lock:
            saved = {name: getattr(self, name) for name in ("profile", "region", "session", "identity", "status")}
            sticky = self._sticky
        self.select(profile, region)
        try:
            yield self
        finally:
            with self._publishing():
                self._generation += 1
                self._sticky = sticky
                self.logins.cancel_mfa()
                self._apply_process(saved["profile"], saved["region"], saved["session"])
                self._write(**saved)
                self._write(**self._described())

    @property
    def endpoint_url(self) -> str | None:
        """The custom STS endpoint of the selection (what :meth:`verify` calls); ``None`` for AWS's own."""
        return _session.configured_endpoint(self.session, "sts")

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

    # ------------------------------------------------------------------ the process

    @property
    def owns_process(self) -> bool:
        """Whether boto3's default session and ``AWS_PROFILE`` follow this manager."""
        return self._owner and ownership.owner() is self

    def activate(self) -> None:
        """Make this manager the one the process follows (boto3's default session, the environment)."""
        ownership.claim(self, force=True)
        self._owner = True
        self.select(fresh=True)

    def release(self) -> None:
        """Stop steering the process and restore what the user had set."""
        if ownership.release(self):
            exporter.restore()
            exporter.uninstall_session()
        self._owner = False
        self._publish(**self._described())

    # ------------------------------------------------------------------ verification

    @overload
    def verify(self, block: Literal[True] = ...) -> Identity: ...
    @overload
    def verify(self, block: Literal[False]) -> Future[Identity]: ...

    def verify(self, block: bool = True) -> Identity | Future[Identity]:
        """Check the selection with STS GetCallerIdentity (``block=False``: in the background, a Future).

        ``status`` moves through ``verifying`` to ``verified`` or ``error``; a
        background check already running for the same selection is reused.
        """
        with self._publishing():
            if self._fresh_needed:
                self.select(fresh=True)  # botocore asks for an MFA code once per session
            generation, session = self._generation, self.session
            if session is not None:
                self._write(status="verifying", message=texts.verifying(str(self.profile)))
        if session is None:
            error = VerificationError("No profile is selected.", None, "NoProfile")
            self._verified(generation, None, error)
            if block:
                raise error
            failed: Future[Identity] = Future()
            failed.set_exception(error)
            return failed
        return self._verifier.run(generation, session) if block else self._verifier.start(generation, session)

    def _verified(self, generation: int, identity: Identity | None, error: VerificationError | None) -> None:
        with self._publishing():
            if generation != self._generation:
                return  # for a selection that is gone
            if error is not None:
                info = self._infos.get(self.profile or "")
                self._fresh_needed = info is not None and bool(info.role_arn)
                self._write(identity=None, status="error", message=texts.not_verified(self.profile, error.reason))
            else:
                self._write(identity=identity, status="verified")
            self._write(**self._described())

    def verify_keys(self, access_key_id: str, secret_access_key: str, session_token: str | None = None, *,
                    region: str | None = None, endpoint_url: str | None = None) -> Identity:
        """Check a candidate key pair with STS before it is saved; changes no trait."""
        key_id, secret, token = validate_keys(access_key_id, secret_access_key, session_token)
        session = _session.key_session(key_id, secret, token, region or self.region)
        return get_caller_identity(session, endpoint_url=endpoint_url) if endpoint_url else get_caller_identity(session)

    # ------------------------------------------------------------------ logins

    def refresh(self) -> Future[Identity] | None:
        """What a Refresh button does: re-read the files, then verify what is not verified and renew, now,
        credentials that need a person (an MFA code); a Future of the check, or ``None`` when none was needed."""
        self.reload()
        if self.session is None:
            return None
        if self.status in ("unverified", "error"):
            return self.verify(block=False)
        if self.expiry is not None and not self.expiry.renews and self.expiry.action == "mfa":
            return self.refresh_credentials(block=False)  # type: ignore[return-value]
        return None

    def refresh_credentials(self, block: bool = False) -> Identity | Future[Identity]:
        """Get new temporary credentials for the selection now (a role with MFA asks for a new code), then verify."""
        self.select(fresh=True)
        return self.verify(block=block)  # type: ignore[call-overload,no-any-return]

    def check_expiry(self, now: dt.datetime | None = None) -> ExpiryStatus | None:
        """Re-compute when the selection's credentials stop working; no network call, no resolution."""
        with self._publishing():
            values = self._described(now)
            self._write(**{k: values[k] for k in ("expiry", "expires_at", "warnings")})
            return self.expiry

    def watch(self, watcher: Any) -> None:
        """Keep expiry current (a 30 s ticker) while ``watcher`` is alive; pickers call it."""
        self.logins.watch(watcher)

    def unwatch(self, watcher: Any) -> None:
        self.logins.unwatch(watcher)

    def sso_login(self, profile: str | None = None, *, block: bool = False, **options: Any) -> Any:
        """Log in to IAM Identity Center for ``profile`` (device flow; ``sso_login_state`` shows the link and code).

        The token is cached where ``aws sso login`` caches it. ``block=False`` returns a Future.
        """
        name = self.profile_info(profile).name
        config = sso_config(self._config, name)
        result = self.logins.sso_login(config, name, block=block, **options)
        if block:
            self._after_sso_login(config.cache_key)
        else:
            result.add_done_callback(lambda f: None if f.exception() else self._after_sso_login(config.cache_key))
        return result

    def cancel_sso_login(self) -> None:
        """Stop a running :meth:`sso_login`."""
        self.logins.cancel_sso()

    def _after_sso_login(self, cache_key: str) -> None:
        # Profiles of the same SSO session share the login: re-check the selection if it is one.
        info = self._infos.get(self.profile or "")
        with contextlib.suppress(AwsWidgetError):
            if info is not None and info.kind == "sso" and sso_config(self._config, info.name).cache_key == cache_key:
                self.verify(block=False)

    def mfa_login(self, code: str, profile: str | None = None, *, target: str | None = None,
                  duration_seconds: int | None = None, select: bool = True) -> ProfileInfo:
        """MFA for plain keys (STS GetSessionToken, like ``aws configure mfa-login``), saved as ``<profile>-mfa``."""
        info = self.profile_info(profile)
        if not info.mfa_serial:
            raise ValidationError("mfa_serial", f"Profile '{info.name}' names no MFA device: add mfa_serial = <device ARN> to it.")
        code = validate_mfa_code(code)
        target = target or f"{info.name}-mfa"
        if target in self._infos and self._infos[target].kind != "temporary":
            from .errors import ProfileExistsError

            raise ProfileExistsError(profile=target, path=self.files.credentials_file)
        session = _session.make_session(info.name, info.region, self.files.config_file, self.files.credentials_file)
        creds = get_session_token(session, info.mfa_serial, code, info.region, duration_seconds)
        return self.add_profile(target, creds["AccessKeyId"], creds["SecretAccessKey"], session_token=creds["SessionToken"],
                                region=info.region, endpoint_url=info.endpoint_url, overwrite=True, select=select)

    # ------------------------------------------------------------------ writing

    def add_profile(self, name: str, access_key_id: str, secret_access_key: str, *, region: str | None = None,
                    session_token: str | None = None, overwrite: bool = False, output: str | None = None,
                    endpoint_url: str | None = None, select: bool = False, identity: Identity | None = None) -> ProfileInfo:
        """Validate, then write a profile as ``aws configure`` would.

        Keys go to the credentials file under ``[name]``; region, output and endpoint
        URL to the config file under ``[profile name]``. An existing profile is only
        replaced with ``overwrite=True``. ``select`` makes it the selection; an
        ``identity`` from :meth:`verify_keys` of the same keys marks it verified.
        """
        name = validate_profile_name(name)
        key_id, secret, token = validate_keys(access_key_id, secret_access_key, session_token)
        region, _ = validate_region(region)
        settings = {k: validate_value(k, v) for k, v in (("region", region), ("output", output), ("endpoint_url", endpoint_url)) if v}
        self.store.save_keys(name, access_key_id=key_id, secret_access_key=secret, session_token=token,
                             settings=settings, overwrite=overwrite)
        log.info("Saved profile '%s' (key %s) to %s", name, mask(key_id), self.files.credentials_file)
        return self._after_write(name, select, identity)

    def _after_write(self, name: str, select: bool, identity: Identity | None) -> ProfileInfo:
        with self._publishing():
            self.reload()
            if name not in self._infos:
                raise ProfileNotFoundError(profile=name, hint=f" ({texts.notice(Notice('profile-removed-meanwhile', {'profile': name}))})")
            if select:
                self.select(name)
                if identity is not None:
                    self._verified(self._generation, identity, None)
            return self._infos[name]

    def remove_profile(self, name: str) -> None:
        """Remove a profile from both shared files (its sections only)."""
        self.store.remove(name, hint=self._hint())
        log.info("Removed profile '%s'", name)
        self.reload()

    def plan_repair(self, path: str) -> Any:
        """What :meth:`repair_file` would change in one of the shared files (a masked diff), or ``None``."""
        from .repair import plan_repair

        return plan_repair(self._own_file(path))

    def repair_file(self, path: str, plan: Any = None) -> str:
        """Repair a shared file botocore rejects (BOM, repeated section or key) after a backup; returns the backup's path."""
        from .errors import ConfigFileError
        from .repair import apply_repair, plan_repair

        own = self._own_file(path)
        plan = plan if plan is not None else plan_repair(own)
        if plan is None or os.path.realpath(plan.path) != os.path.realpath(own):
            raise ConfigFileError(own, "awswidget has no repair for this file; fix it by hand")
        backup = apply_repair(plan)
        log.info("Repaired %s (backup: %s)", own, backup)
        self.reload()
        return str(backup)

    def _own_file(self, path: str) -> str:
        wanted = os.path.realpath(os.path.expanduser(os.path.expandvars(path)))
        for own in (self.files.config_file, self.files.credentials_file):
            if os.path.realpath(own) == wanted:
                return own
        raise ValidationError("path", f"{path} is not one of this manager's shared files")


_default: CredentialsManager | None = None
_default_lock = threading.Lock()


def default_manager() -> CredentialsManager:
    """The manager of this notebook: the one that owns the process, created on first use."""
    global _default
    with _default_lock:
        owner = ownership.owner()
        if owner is not None:
            return owner  # type: ignore[no-any-return]
        if _default is None:
            _default = CredentialsManager()
        return _default


def _reset_default_manager() -> None:
    """Forget the process-wide manager and whatever it exported (for tests)."""
    global _default
    with _default_lock:
        if _default is not None:
            _default.logins.close()
        _default = None
    ownership.reset()
    exporter.reset()
