"""Every private botocore name awswidget leans on, in one place.

botocore has no public way to do six things awswidget needs: hand its
profile-provider builder a parse of the shared files that is already in memory,
rebuild its assume-role provider with a different MFA prompter, renew credentials
obtained with an MFA code more than once (:func:`renewing_role_provider`), reach the
botocore session of a ``boto3.Session``, read when a credentials object expires
without refreshing it, and parse an indented block the way its config loader
does. Each of those is a function here, and :func:`check` says, for the
installed botocore, whether each still has the shape this module expects.
``tests/test_botocore_internals.py`` fails with that sentence when botocore
changes one of them.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Callable
from typing import Any

__all__ = [
    "aio_session_following",
    "assume_role_parts",
    "botocore_session",
    "cached_parse_builder",
    "check",
    "expiry_of",
    "is_renewing",
    "parse_nested",
    "renewing_credentials_class",
    "renewing_role_provider",
]


@functools.cache
def cached_parse_builder() -> type:
    """botocore's ``ProfileProviderBuilder`` (marked internal) whose two file readers take a given parse.

    Instances take ``ini_parser`` (path -> raw sections of the credentials file) and
    ``config_parser`` (path -> profile map of the config file) keyword arguments.
    """
    from botocore.credentials import ConfigProvider, ProcessProvider, ProfileProviderBuilder, SharedCredentialProvider

    class CachedParseProviderBuilder(ProfileProviderBuilder):  # type: ignore[misc]
        def __init__(self, *args: Any, ini_parser: Callable[[str], Any], config_parser: Callable[[str], Any], **kwargs: Any):
            super().__init__(*args, **kwargs)
            self._awswidget_parsers = (ini_parser, config_parser)

        def _create_shared_credential_provider(self, profile_name: str) -> Any:
            path = self._session.get_config_variable("credentials_file")
            return SharedCredentialProvider(path, profile_name, ini_parser=self._awswidget_parsers[0])

        def _create_config_provider(self, profile_name: str) -> Any:
            path = self._session.get_config_variable("config_file")
            return ConfigProvider(path, profile_name, config_parser=self._awswidget_parsers[1])

        def _create_process_provider(self, profile_name: str) -> Any:
            return ProcessProvider(profile_name=profile_name, load_config=lambda: self._session.full_config, popen=QuietProcess)

    return CachedParseProviderBuilder


class QuietProcess:
    """``subprocess.Popen`` for botocore's process provider, minus the stderr of a failed command.

    botocore puts a failing ``credential_process``'s stderr verbatim into the
    ``CredentialRetrievalError`` a cell sees, and stderr may hold a token. This one
    says what failed and how to find out why instead.
    """

    def __init__(self, args: list[str], **kwargs: Any) -> None:
        import subprocess

        self._process = subprocess.Popen(args, **kwargs)  # the profile's own command, run as botocore runs it
        self._command = args[0] if args else "?"
        self.returncode: int | None = None

    def communicate(self, *args: Any, **kwargs: Any) -> tuple[bytes, bytes]:
        out, _err = self._process.communicate(*args, **kwargs)
        self.returncode = self._process.returncode
        if self.returncode == 0:
            return out, b""
        text = (
            f"the profile's credential_process ({self._command}) exited with code {self.returncode}; its output "
            "is not shown, as it may contain secrets: run the command in a terminal to see why"
        )
        return out, text.encode("utf-8")


def assume_role_parts(provider: Any) -> tuple[Any, Any] | None:
    """The client creator and credential sourcer botocore built its assume-role provider with."""
    creator = getattr(provider, "_client_creator", None)
    sourcer = getattr(provider, "_credential_sourcer", None)
    return None if creator is None or sourcer is None else (creator, sourcer)


def botocore_session(session: Any) -> Any:
    """The botocore session inside a ``boto3.Session`` (boto3 exposes it only as ``_session``)."""
    return session._session


def resolved_credentials(session: Any) -> Any:
    """The credentials a boto3 session already resolved, or ``None``, without resolving any."""
    return getattr(getattr(session, "_session", None), "_credentials", None)


def expiry_of(credentials: Any) -> dt.datetime | None:
    """When refreshable credentials expire (UTC), read without refreshing them."""
    expiry = getattr(credentials, "_expiry_time", None)
    if not isinstance(expiry, dt.datetime):
        return None
    if expiry.tzinfo is None:
        expiry = expiry.replace(tzinfo=dt.timezone.utc)
    return expiry.astimezone(dt.timezone.utc)


def parse_nested(value: str) -> dict[str, str]:
    """An indented block, parsed as botocore's config loader parses it."""
    from botocore.configloader import _parse_nested

    return dict(_parse_nested(value))


@functools.cache
def renewing_credentials_class() -> type:
    """botocore's ``DeferredRefreshableCredentials`` that asks for a new MFA code at each renewal.

    botocore wraps the refresher of an MFA role in ``create_mfa_serial_refresher``, which
    works once and then raises ``RefreshWithMFAUnsupportedError`` (botocore issue 1805).
    This one keeps botocore's fetcher (the AssumeRole call, its cache key) and botocore's
    refresh windows and lock; what it changes:

    * every renewal asks the prompter again and calls AssumeRole (the process-wide role
      cache only holds what this object already has);
    * in the advisory window (15 minutes left) it asks at most once per expiry, and a
      refusal keeps the current credentials until the mandatory window (10 minutes);
    * :meth:`renew` renews now, whatever the time left (a Refresh button);
    * after each renewal, its listeners are told (in a thread of their own);
    * the question goes to the best of the prompters of the sessions built on it (:attr:`prompter`:
      each prompter's ``standing()`` ranks it, or rules it out when its manager left the profile),
      not to the newest session's (a manager that moved on, with nobody to answer it).
    """
    import inspect
    import threading
    import weakref

    from botocore.credentials import DeferredRefreshableCredentials

    class RenewingCredentials(DeferredRefreshableCredentials):  # type: ignore[misc]
        def __init__(self, fetcher: Any, method: str) -> None:
            super().__init__(refresh_using=self._fetch, method=method)
            self._awswidget_fetcher = fetcher
            fetcher._mfa_prompter = self.ask  # whichever session's fetcher this is, the best prompter now answers
            # The prompters of the sessions that resolved these credentials, oldest first, held weakly: a
            # manager that is gone is never asked. A prompter's standing() says whether it may be asked now.
            self._prompters: list[weakref.ref[Callable[[str], str]]] = []
            self._prompters_lock = threading.Lock()
            self._override: tuple[int, Callable[[str], str]] | None = None  # (thread, prompter) of a renew()
            self.listeners: weakref.WeakSet[Callable[[], None]] = weakref.WeakSet()
            self._forced = False
            self._declined: Any = None  # the expiry an early renewal was refused for
            self.renewals = 0

        def __repr__(self) -> str:
            return f"<RenewingCredentials method={self.method!r} expires={self._expiry_time}>"

        def ask(self, prompt: str) -> str:
            override = self._override
            asker = override[1] if override is not None and override[0] == threading.get_ident() else self.prompter
            if asker is None:
                from .errors import VerificationError

                raise VerificationError("An MFA code is needed, but no manager has this profile selected any more: "
                                        "select it again to enter a code.", "mfa_code", "MfaUnavailable")
            return asker(prompt)

        def add_prompter(self, prompter: Callable[[str], str]) -> None:
            """Ask through ``prompter`` too (held weakly; added again, it counts as the newest)."""
            ref: Any = weakref.WeakMethod(prompter) if inspect.ismethod(prompter) else weakref.ref(prompter)
            with self._prompters_lock:
                self._prompters = [r for r in self._prompters if r() is not None and r() is not prompter] + [ref]

        @property
        def prompter(self) -> Callable[[str], str] | None:
            """The prompter asked now: of those alive whose ``standing()`` is not ``None``, the highest
            (a plain callable has none: lowest); among equals the newest. ``None``: nobody can be asked."""
            with self._prompters_lock:
                alive = [p for p in (r() for r in self._prompters) if p is not None]
            best, best_rank = None, None
            for prompter in alive:
                standing = getattr(prompter, "standing", None)
                try:
                    rank = standing() if callable(standing) else ()
                except Exception:  # noqa: S112 - a prompter that cannot say is not asked
                    continue
                if rank is not None and (best_rank is None or rank >= best_rank):
                    best, best_rank = prompter, rank
            return best

        def seconds_left(self) -> float | None:
            """Seconds until these credentials expire; ``None`` before the first code."""
            return None if self._frozen_credentials is None else float(self._seconds_remaining())

        def _fetch(self) -> dict[str, Any]:
            fetcher = self._awswidget_fetcher
            first = self._frozen_credentials is None
            mandatory = first or self._forced or self.refresh_needed(self._mandatory_refresh_timeout)
            if not mandatory and self._declined == self._expiry_time:
                return self._current()  # refused once for these: keep them until botocore must have new ones
            if not first:
                # What the cache holds is what we hold (or older): a renewal means a new AssumeRole.
                try:
                    del fetcher._cache[fetcher._cache_key]
                except KeyError:
                    pass
            try:
                data: dict[str, Any] = fetcher.fetch_credentials()
            except Exception:
                if mandatory:
                    raise
                self._declined = self._expiry_time
                return self._current()  # botocore would log a traceback and keep them: keep them quietly
            if not first:
                self.renewals += 1
                threading.Thread(target=self._tell, daemon=True, name="awswidget-renewed").start()
            return data

        def _current(self) -> dict[str, Any]:
            return {"access_key": self._access_key, "secret_key": self._secret_key, "token": self._token,
                    "expiry_time": self._expiry_time.isoformat(), "account_id": self._account_id}

        def _tell(self) -> None:
            with self._refresh_lock:
                pass  # the refreshing thread holds it until botocore has set the new credentials
            for listener in list(self.listeners):
                try:
                    listener()
                except Exception:  # noqa: S112 - a listener's failure must not stop the others
                    continue

        def renew(self, *, only_if_stale: bool = False, prompter: Callable[[str], str] | None = None) -> None:
            """Renew now (a new code is asked, by ``prompter`` if given), whatever the time left;
            ``only_if_stale``: only when botocore's role cache no longer counts them as valid (its 15-minute window)."""
            before = self.renewals
            if only_if_stale and self._frozen_credentials is not None and self._awswidget_fetcher._load_from_cache() is not None:
                return
            with self._refresh_lock:
                if self.renewals != before:
                    return  # renewed while we waited for the lock: one code is enough
                self._forced = True
                if prompter is not None:
                    self._override = (threading.get_ident(), prompter)  # whoever asked for the renewal shows the question
                try:
                    self._protected_refresh(is_mandatory=True)
                finally:
                    self._forced, self._override = False, None

    return RenewingCredentials


def is_renewing(credentials: Any) -> bool:
    """Whether ``credentials`` are an MFA role's :func:`renewing_credentials_class` object."""
    return isinstance(credentials, renewing_credentials_class())


def aio_session_following(session: Any, **config: str | None) -> Any:
    """An aiobotocore session (s3fs takes one: ``S3FileSystem(session=...)``) whose credentials are read from
    ``session``'s at each refresh, so a renewal in place (a new MFA code) reaches it at the same moment.

    aiobotocore resolves profiles with its own chain (and ``getpass`` for MFA); this one resolves no
    credentials. ``config`` (``profile``, ``config_file``, ``credentials_file``, ``region``) is set on it so
    that it reads the same files, region and endpoint as ``session``.
    """
    import asyncio

    from aiobotocore.credentials import AioDeferredRefreshableCredentials
    from aiobotocore.session import AioSession

    source = botocore_session(session)

    def read() -> dict[str, Any]:
        # In a worker thread: botocore may renew here, and ask for a code through the manager's prompter.
        held = source.get_credentials()
        frozen = held.get_frozen_credentials()
        # Asked again at botocore's expiry, or every 15 minutes when it does not say (botocore caches its own).
        ends = expiry_of(held) or dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=15)
        return {"access_key": frozen.access_key, "secret_key": frozen.secret_key, "token": frozen.token,
                "expiry_time": ends.isoformat()}

    async def refresh() -> dict[str, Any]:
        return await asyncio.to_thread(read)

    aio = AioSession(profile=config.pop("profile", None))
    for variable, value in config.items():
        if value:
            aio.set_config_variable(variable, value)
    aio._credentials = AioDeferredRefreshableCredentials(refresh, "awswidget")  # botocore returns preset credentials first
    return aio


def _mfa_fetcher(credentials: Any) -> Any:
    """The AssumeRole fetcher behind botocore's once-only MFA refresher, or ``None`` (not an MFA role)."""
    refresher = getattr(credentials, "_refresh_using", None)
    inner = getattr(refresher, "_refresh", None)
    if inner is None or not hasattr(refresher, "_has_been_called"):
        return None
    fetcher = getattr(inner, "__self__", None)
    return fetcher if hasattr(fetcher, "_cache_key") and hasattr(fetcher, "_mfa_prompter") else None


@functools.cache
def renewing_role_provider() -> type:
    """botocore's ``AssumeRoleProvider`` whose MFA roles get one shared :func:`renewing_credentials_class` object.

    Takes a ``shared(key, make)`` keyword argument: it returns the object kept for ``key``
    (the profile, botocore's AssumeRole cache key, and a digest of the profile chain's
    settings), or keeps and returns ``make()``.
    """
    import hashlib
    import json

    from botocore.credentials import AssumeRoleProvider

    class RenewingAssumeRoleProvider(AssumeRoleProvider):  # type: ignore[misc]
        def __init__(self, *args: Any, shared: Callable[[tuple[str, ...], Callable[[], Any]], Any], **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._awswidget_shared = shared

        def _load_creds_via_assume_role(self, profile_name: str) -> Any:
            credentials = super()._load_creds_via_assume_role(profile_name)
            fetcher = _mfa_fetcher(credentials)
            if fetcher is None:
                return credentials  # no MFA in this link: botocore renews it by itself
            profiles = self._loaded_config.get("profiles", {})
            chain, name = [], profile_name
            while name in profiles and name not in chain:
                chain.append(name)
                name = profiles[name].get("source_profile")
            settings = json.dumps([profiles[n] for n in chain], sort_keys=True, default=str)
            digest = hashlib.sha256(settings.encode("utf-8")).hexdigest()  # edited keys or settings: a new object
            key = (profile_name, fetcher._cache_key, digest)
            shared = self._awswidget_shared(key, lambda: renewing_credentials_class()(fetcher, self.METHOD))
            shared.add_prompter(self._prompter)  # asked while its manager keeps this profile (see ``prompter``)
            return shared

    return RenewingAssumeRoleProvider


def login_token_file(exc: BaseException) -> str | None:
    """The token file botocore's login provider was reading or renewing when it raised ``exc``, or ``None``.

    botocore's errors do not say which file (a damaged one even surfaces as a bare
    ``KeyError`` from its ``JSONFileCache``): the session name and the cache folder
    are read off the ``LoginCredentialFetcher`` in the traceback, and nothing else.
    """
    import botocore.credentials
    from botocore.utils import generate_login_cache_key

    fetcher_type = getattr(botocore.credentials, "LoginCredentialFetcher", None)
    tb = exc.__traceback__
    while fetcher_type is not None and tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        if isinstance(owner, fetcher_type):
            session = getattr(owner, "_session_name", None)
            folder = getattr(getattr(getattr(owner, "_token_loader", None), "_cache", None), "_working_dir", None)
            if isinstance(session, str) and isinstance(folder, str):
                return os.path.join(folder, generate_login_cache_key(session) + ".json")  # JSONFileCache's file name
        tb = tb.tb_next
    return None


def check() -> list[str]:
    """One sentence per internal whose shape changed in the installed botocore (empty: all fine)."""
    import inspect

    import botocore
    import botocore.configloader
    import botocore.credentials
    import botocore.session

    problems = []
    builder = botocore.credentials.ProfileProviderBuilder
    for name in ("_create_shared_credential_provider", "_create_config_provider", "_create_process_provider", "providers"):
        if not callable(getattr(builder, name, None)):
            problems.append(f"ProfileProviderBuilder.{name} is gone")
    params = inspect.signature(builder.__init__).parameters
    for name in ("session", "cache", "region_name", "sso_token_cache"):
        if name not in params:
            problems.append(f"ProfileProviderBuilder() no longer takes '{name}'")
    for cls, arg in ((botocore.credentials.SharedCredentialProvider, "ini_parser"), (botocore.credentials.ConfigProvider, "config_parser"),
                     (botocore.credentials.ProcessProvider, "popen")):
        if arg not in inspect.signature(cls.__init__).parameters:
            problems.append(f"{cls.__name__}() no longer takes '{arg}'")
    role_params = inspect.signature(botocore.credentials.AssumeRoleProvider.__init__).parameters
    for name in ("load_config", "client_creator", "cache", "profile_name", "prompter", "credential_sourcer", "profile_provider_builder"):
        if name not in role_params:
            problems.append(f"AssumeRoleProvider() no longer takes '{name}'")
    resolver = botocore.credentials.create_credential_resolver(botocore.session.Session(profile=None), cache={})
    role = next((p for p in resolver.providers if p.METHOD == "assume-role"), None)
    if role is None or assume_role_parts(role) is None:
        problems.append("AssumeRoleProvider no longer keeps _client_creator/_credential_sourcer")
    creds = botocore.credentials.RefreshableCredentials("a", "b", "c", dt.datetime.now(dt.timezone.utc), lambda: {}, "test")
    if expiry_of(creds) is None:
        problems.append("RefreshableCredentials no longer keeps _expiry_time")
    problems += _check_mfa_renewal()
    fetcher = getattr(botocore.credentials, "LoginCredentialFetcher", None)
    if fetcher is not None:
        source = inspect.getsource(fetcher.__init__)
        if "self._session_name" not in source or "self._token_loader" not in source:
            problems.append("LoginCredentialFetcher no longer keeps _session_name/_token_loader")
        loader = getattr(botocore.credentials, "LoginTokenLoader", None)
        if loader is None or "self._cache" not in inspect.getsource(loader.__init__):
            problems.append("LoginTokenLoader no longer keeps _cache")
    if getattr(botocore.credentials.ContainerProvider(environ={}), "_environ", None) != {}:
        problems.append("ContainerProvider no longer keeps _environ")
    if not callable(getattr(botocore.configloader, "_parse_nested", None)):
        problems.append("botocore.configloader._parse_nested is gone")
    if problems:
        problems = [f"botocore {botocore.__version__}: {p}" for p in problems]
    return problems


def _check_mfa_renewal() -> list[str]:
    """The shapes :func:`renewing_role_provider` relies on."""
    import botocore.credentials as bc

    problems = []
    once = bc.create_mfa_serial_refresher(lambda: {})
    if not (hasattr(once, "_refresh") and hasattr(once, "_has_been_called")):
        problems.append("create_mfa_serial_refresher no longer keeps _refresh/_has_been_called")
    if not callable(getattr(bc.AssumeRoleProvider, "_load_creds_via_assume_role", None)):
        problems.append("AssumeRoleProvider._load_creds_via_assume_role is gone")
    fetcher = bc.AssumeRoleCredentialFetcher(lambda *a, **k: None, bc.Credentials("a", "b"), "arn:aws:iam::1:role/x", cache={})
    for name in ("_cache", "_cache_key", "_mfa_prompter", "_load_from_cache"):
        if not hasattr(fetcher, name):
            problems.append(f"AssumeRoleCredentialFetcher no longer keeps {name}")
    for name in ("_protected_refresh", "_refresh_lock", "_seconds_remaining", "_mandatory_refresh_timeout"):
        if not hasattr(bc.DeferredRefreshableCredentials(lambda: {}, "x"), name):
            problems.append(f"DeferredRefreshableCredentials no longer has {name}")
    return problems
