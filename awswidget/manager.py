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

import contextlib
import datetime as dt
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any, Literal, overload

from traitlets import Bool, Enum, Float, Instance, Tuple, Unicode

from . import _redact, _session, environment, files, selection, texts
from ._publish import Publisher
from .catalog import Catalog
from .environment import exporter, ownership, user_env
from .errors import AwsWidgetError, ProfileNotFoundError, SelectionError, ValidationError, VerificationError
from .expiry import ExpiryStatus
from .follow import Followers, Selection
from .identity import Identity, Verifier, get_caller_identity
from .keys import validate_keys, validate_profile
from .logins import Logins
from .mfa import DEFAULT_TIMEOUT as MFA_TIMEOUT
from .mfa import MfaRequest
from .onboarding import Onboarding
from .profiles import ProfileInfo
from .recent import Recent
from .sso import SsoLoginState, sso_config
from .store import ProfileStore
from .texts import Notice
from .validate import mask

__all__ = ["CredentialsManager", "default_manager"]

log = logging.getLogger(__name__)
_KEEP: Any = object()
EXPIRY_EVERY = 30.0  # seconds between two looks at the time left, when nothing else changed


def _call(ref: weakref.ref[Any], method: str, *args: Any, **kwargs: Any) -> Any:
    target = ref()
    return None if target is None else getattr(target, method)(*args, **kwargs)


class _Switch(Unicode):  # type: ignore[type-arg]
    """A trait whose assignment is a switch: ``m.profile = x`` is ``m.select(profile=x)``."""

    def __set__(self, obj: Any, value: Any) -> None:
        obj.select(**{str(self.name): value})


class CredentialsManager(Onboarding, Publisher):
    """The single source of truth about AWS profiles in a notebook.

    Parameters
    ----------
    config_file, credentials_file
        The shared files; by default located as botocore locates them.
    activate
        Whether this manager steers the process (boto3's default session and
        ``AWS_PROFILE``/``AWS_REGION``): ``None`` (default) if no other manager
        does (or this is the owner's notebook cell run again), ``True`` to take
        over, ``False`` never (a side task). See :mod:`awswidget.environment`.

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
    recent = Tuple(read_only=True, help="The profiles used most, recently and often, most first (AWSWIDGET_RECENT=0: none).")

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
        self._catalog = Catalog(self.files)
        self._recent = Recent(self.files.credentials_file)
        self._generation = 0
        self._expiry_checked = 0.0
        self._fresh_needed = False
        self._sticky: Notice | None = None
        # Services call back through weak references: sessions (boto3's default among them) keep
        # the MFA prompter, and a manager nobody uses any more must be freed at once, not by the GC.
        this = weakref.ref(self)
        self._followers = Followers()
        self._verifier = Verifier(lambda *result: _call(this, "_verified", *result))
        self.logins = Logins(
            on_mfa=lambda request: _call(this, "_publish", mfa_request=request),
            on_sso=lambda state: _call(this, "_publish", sso_login_state=state),
            on_tick=lambda: _call(this, "_tick"),
            timeout=lambda: _call(this, "_mfa_timeout") or MFA_TIMEOUT,
            selection=lambda: None if (m := this()) is None else (m.profile, m._generation, m.owns_process),
        )
        super().__init__(**kwargs)
        self._owner = activate is not False and ownership.claim(self, force=bool(activate), origin=environment.caller_origin())
        with files.gc_paused():  # the profile table: 100,000s of acyclic objects at once (issue 17)
            self._load()
        initial, note = wanted.get("profile", _KEEP), None
        if initial is _KEEP:
            initial, note = selection.initial_profile(self._catalog.infos, self.files)
        with self._publishing():
            self._select(initial, wanted.get("region", None), fresh=True)
            self._sticky = note
            self._write(recent=self._recent.first(self._catalog.infos), **self._described())

    def _mfa_timeout(self) -> float:
        return float(self.mfa_timeout)

    def __repr__(self) -> str:
        ident = f", account={self.identity.account!r}" if self.identity else ""
        return (
            f"<CredentialsManager profile={self.profile!r} region={self.region!r} "
            f"status={self.status!r}{ident} profiles={len(self.profiles)}>"
        )

    # ------------------------------------------------------------------ reading

    def _load(self) -> None:
        self._catalog.load()
        names = tuple(self._catalog.infos)
        self._write(profiles=names, file_errors=self._catalog.errors, recent=self._recent.first(self._catalog.infos))

    def reload(self) -> None:
        """Re-read the shared files; keep the selection if it still exists."""
        with self._publishing():
            before = self._catalog.chain(self.profile)
            # A region nobody chose (the profile's own, or AWS_DEFAULT_REGION's) follows the file's new one.
            chosen = self.region != selection.region_for(self._catalog.get(self.profile), None)
            with files.gc_paused():
                self._load()
            for _ in range(3):
                if self.profile is None or self.profile in self._catalog:
                    break
                # Gone, or caught in another program's rewrite (truncate, then write): look again before moving away.
                time.sleep(0.2)
                self._load()
            if self.profile is not None and self.profile not in self._catalog:
                gone = self.profile
                self._select("default" if "default" in self._catalog else (self.profiles[0] if self.profiles else None), fresh=True)
                self._sticky = Notice("profile-gone", {"profile": gone})
                self._write(**self._described())
            elif before != self._catalog.chain(self.profile) or self.session is None:
                self._select(region=_KEEP if chosen else None, fresh=True)  # the same profile may now hold other keys or settings
            else:
                self._write(**self._described())

    def profile_info(self, name: str | None = None) -> ProfileInfo:
        """What is known about profile ``name`` (default: the selection)."""
        return self._catalog.info(self.profile if name is None else name)

    def describe(self) -> list[tuple[str, str, str]]:
        """``(setting, value, where it comes from)`` rows, like ``aws configure list``."""
        return texts.describe_rows(self.profile, self.region, self._catalog.get(self.profile), self.files, user_env)

    # ------------------------------------------------------------------ selection

    def select(self, profile: str | None = _KEEP, region: str | None = _KEEP, *, fresh: bool = False) -> None:
        """Switch to ``profile`` and ``region`` at once: the one place a selection is published.

        ``region=None`` means the profile's own region (``AWS_DEFAULT_REGION`` first, as
        botocore does); leaving ``region`` out keeps it for the same profile. Raises
        :class:`~awswidget.errors.SelectionError` (nothing changes) for an unknown
        profile or a region that is not a region name. ``fresh=True`` builds a new
        session even when nothing changed (new temporary credentials, edited files).
        A switch to another profile counts as a use of it (see :attr:`recent`).
        """
        with self._publishing():
            before = self.profile
            self._select(profile, region, fresh=fresh)
            if self.profile is not None and self.profile != before:
                self._write(recent=self._recent.record(self.profile, self._catalog.infos))

    def _select(self, profile: str | None = _KEEP, region: str | None = _KEEP, *, fresh: bool = False) -> None:
        with self._publishing():
            name = self.profile if profile is _KEEP else profile
            if name is not None and name not in self._catalog:
                raise SelectionError(f"No profile named '{name}'{self._catalog.hint()}. Add it with add_profile() or the CredentialSetupForm.", "profile")
            if region is _KEEP:
                region = self.region if name == self.profile else None
            region = selection.region_for(self._catalog.get(name), region)
            if name is not None and "\0" in name:  # botocore reads one (a region with one is no region already)
                raise SelectionError(f"The profile name {name!r} holds a NUL character, which the environment cannot "
                                     "carry: rename it in the file.", "profile")
            if not fresh and (name, region) == (self.profile, self.region) and self.session is not None:
                return
            self._generation += 1
            self._fresh_needed = False
            if profile is not _KEEP:
                self._sticky = None
            self.logins.cancel_mfa()  # asked for the previous selection's session, which is gone
            session = None if name is None else _session.make_session(
                name, region, self.files.config_file, self.files.credentials_file, prompter=self.logins.prompter(name),
                on_renewed=self._renewal_listener())
            self._apply_process(name, region, session)
            self._write(profile=name, region=region, session=session, identity=None, status="unverified")
            self._write(**self._described())

    def _apply_process(self, name: str | None, region: str | None, session: Any, reason: Literal["switch", "renewal"] = "switch") -> None:
        """The selection's effects outside the manager: the process (only for the owner: boto3's default,
        ``os.environ``, the automatic library followers) and the followers handed to this manager."""
        owner = self.owns_process
        if owner:
            files_ = (self.files.config_file, self.files.credentials_file) if self._explicit_files else None
            exporter.apply(name, region, session, files=files_, install=self.install_default, export=self.export_env)
        self._followers.publish(Selection(name, region, session, self._generation, reason,
                                          self.files.config_file, self.files.credentials_file), owner=owner)

    def _renewed(self) -> None:
        """The selection's temporary credentials were renewed in place: the followers take the new ones."""
        with self._publishing():  # under the lock: a switch racing the renewal is never published over
            self._apply_process(self.profile, self.region, self.session, reason="renewal")

    def follow(self, target: Any) -> Any:
        """Keep ``target`` (a DuckDB connection, a Dask distributed ``Client``) on this manager's selection:
        every switch and renewal reaches it. Returns its follower; ``.stop()`` ends it. A DuckDB database has one
        follower: handed again to this manager, the same follower comes back; another manager's is refused."""
        return self._followers.hand(target, self)

    def _described(self, now: dt.datetime | None = None) -> dict[str, Any]:
        self._expiry_checked = time.monotonic()
        return selection.described(
            self, self._catalog.get(self.profile), config=self._catalog.config, shared=self.files, has_profiles=bool(self._catalog.infos),
            owner=self.owns_process, sticky=self._sticky, file_errors=self.file_errors, now=now,
        )

    @contextlib.contextmanager
    def using(self, profile: str, region: str | None = None) -> Iterator[CredentialsManager]:
        """Switch to ``profile`` (and ``region``) for a block, then restore everything, even on errors.

        The selection before the block comes back with its session and verification, unless
        the files changed it meanwhile (the profile is gone, or its settings changed: then it
        is selected afresh), or a check of it was still running (it is unverified again).
        """
        with self._lock:
            saved = {name: getattr(self, name) for name in ("profile", "region", "session", "identity", "status", "message")}
            sticky, chain = self._sticky, self._catalog.chain(self.profile)
        self._select(profile, region)
        try:
            yield self
        finally:
            with self._publishing():
                self._sticky = sticky
                name = saved["profile"]
                if self._catalog.changed():
                    self._load()  # the block may have outlived an edit of the files
                if name is not None and name not in self._catalog:
                    self._select(next(iter(self._catalog.infos), None), fresh=True)
                    self._sticky = Notice("profile-gone", {"profile": name})
                    self._write(**self._described())
                elif self._catalog.chain(name) != chain:
                    self._select(name, saved["region"], fresh=True)
                else:
                    self._generation += 1
                    self.logins.cancel_mfa()
                    if saved["status"] == "verifying":  # that check was for a selection left meanwhile: it is dropped
                        saved.update(status="unverified", identity=None)
                    self._apply_process(name, saved["region"], saved["session"])
                    message = saved.pop("message")
                    self._write(**saved)
                    self._write(**self._described())
                    if saved["status"] == "error":
                        self._write(message=message)

    @property
    def endpoint_url(self) -> str | None:
        """The custom STS endpoint of the selection (what :meth:`verify` calls); ``None`` for AWS's own."""
        return _session.configured_endpoint(self.session, "sts")

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client of the current selection (always the current one)."""
        return self._make("client", service, kwargs)

    def resource(self, service: str, **kwargs: Any) -> Any:
        """A boto3 resource of the current selection."""
        return self._make("resource", service, kwargs)

    def _make(self, what: str, service: str, kwargs: dict[str, Any]) -> Any:
        import botocore.exceptions as be
        from boto3.exceptions import ResourceNotExistsError

        if self.session is None:
            raise ProfileNotFoundError(profile="(none selected)", hint=self._catalog.hint())
        if not isinstance(service, str):
            raise ValidationError("service", f"A service is named by a string such as 's3', not {type(service).__name__}.")
        try:
            return getattr(self.session, what)(service, **kwargs)
        except (be.UnknownServiceError, ResourceNotExistsError):
            raise ValidationError("service", f"botocore knows no service named '{service}'.") from None

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
            self._followers.released(self._generation)
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
                self._select(fresh=True)  # botocore asks for an MFA code once per session
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
                info = self._catalog.get(self.profile)
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
        """What a Refresh button does: re-read the files, renew now (whatever the time left) credentials that need a
        person (an MFA code), verify what is not verified; a Future of the check, or ``None`` when none was needed."""
        self.reload()
        if self.session is None:
            return None
        renewing = self.logins.renew_now(self.session, self.profile, lambda: self.verify(block=True), block=False)
        if renewing is not None or (self.expiry is not None and self.expiry.action == "mfa"):
            return renewing or self.refresh_credentials(block=False)  # type: ignore[no-any-return,return-value]
        if self.status in ("unverified", "error"):
            return self.verify(block=False)
        return None

    def refresh_credentials(self, block: bool = False) -> Identity | Future[Identity]:
        """Get new temporary credentials for the selection unless the cached ones are still good, then verify. A role
        with MFA asks for a new code and renews in place: every client made before (boto3's default too) keeps working."""
        renewed = self.logins.renew_now(self.session, self.profile, lambda: self.verify(block=True), block=block, only_if_stale=True)
        if renewed is not None:
            return renewed  # type: ignore[no-any-return]
        self.select(fresh=True)
        return self.verify(block=block)  # type: ignore[call-overload,no-any-return]

    def check_expiry(self, now: dt.datetime | None = None) -> ExpiryStatus | None:
        """Re-compute when the selection's credentials stop working; no network call, no resolution.
        Credentials that ended and need a person are no longer ``verified`` (botocore would refuse them)."""
        with self._publishing():
            values = self._described(now)
            ended = values["expiry"] is not None and values["expiry"].level == "expired" and not values["expiry"].renews
            if ended and self.status == "verified":
                self._write(status="unverified")
                values = self._described(now)
                self._write(message=values["message"])
            self._write(**{k: values[k] for k in ("expiry", "expires_at", "warnings")})
            return self.expiry

    def _renewal_listener(self) -> Any:
        this = weakref.ref(self)
        return self.logins.listener(lambda: _call(this, "_after_renewal"))

    def _after_renewal(self) -> None:
        """The selection's MFA credentials renewed in place: new time left, the followers take them, verified again."""
        if _session.renewing_credentials(self.session) is None:
            return  # another selection's credentials
        self.check_expiry()
        self._renewed()
        if self.status in ("unverified", "error"):
            self.verify(block=False)

    def watch(self, watcher: Any) -> None:
        """While ``watcher`` is alive (pickers call this), notice edits of the files made by other programs
        within seconds, and keep the time left of temporary credentials current: one ticker per manager."""
        self.logins.watch(watcher)

    def _tick(self) -> None:
        if self._catalog.changed():
            self.reload()  # keeps the selection; says so when another program removed it (and recomputes expiry)
        elif time.monotonic() - self._expiry_checked >= EXPIRY_EVERY:
            self.check_expiry()
        self.logins.renew_early(self.session, self.profile)  # inside botocore's window: the code box appears before anything fails

    def unwatch(self, watcher: Any) -> None:
        self.logins.unwatch(watcher)

    def sso_login(self, profile: str | None = None, *, block: bool = False, **options: Any) -> Any:
        """Log in to IAM Identity Center for ``profile`` (device flow; ``sso_login_state`` shows the link and code).

        The token is cached where ``aws sso login`` caches it. ``block=False`` returns a Future.
        """
        name = self.profile_info(profile).name
        config = sso_config(self._catalog.config, name)
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
        info = self._catalog.get(self.profile)
        with contextlib.suppress(AwsWidgetError):
            if info is not None and info.kind == "sso" and sso_config(self._catalog.config, info.name).cache_key == cache_key:
                self.verify(block=False)

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
        name, key_id, secret, token, settings = validate_profile(
            name, access_key_id, secret_access_key, session_token, region=region, output=output, endpoint_url=endpoint_url
        )
        self.store.save_keys(name, access_key_id=key_id, secret_access_key=secret, session_token=token,
                             settings=settings, overwrite=overwrite)
        log.info("Saved profile '%s' (key %s) to %s", name, mask(key_id), self.files.credentials_file)
        return self._after_write(name, select, identity)

    def _after_write(self, name: str, select: bool, identity: Identity | None) -> ProfileInfo:
        with self._publishing():
            self.reload()
            if name not in self._catalog:
                raise ProfileNotFoundError(profile=name, hint=f" ({texts.notice(Notice('profile-removed-meanwhile', {'profile': name}))})")
            if select:
                self.select(name)
                if identity is not None:
                    self._verified(self._generation, identity, None)
            return self._catalog.infos[name]

    def remove_profile(self, name: str) -> None:
        """Remove a profile from both shared files (its sections only)."""
        try:
            self.store.remove(name)
        except ProfileNotFoundError:
            self.reload()
            raise ProfileNotFoundError(profile=name, hint=self._catalog.hint()) from None
        log.info("Removed profile '%s'", name)
        self.reload()

    def plan_repair(self, path: str) -> Any:
        """What :meth:`repair_file` would change in one of the shared files (a masked diff), or ``None``."""
        return self.store.plan_repair(path)

    def repair_file(self, path: str, plan: Any = None) -> str:
        """Repair a shared file botocore rejects (BOM, repeated section or key) after a backup; returns the backup's path."""
        backup = self.store.repair(path, plan)
        self.reload()
        return backup


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
