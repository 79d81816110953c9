"""Fast boto3 sessions for a profile, with botocore's semantics intact.

A plain ``boto3.Session(profile_name=...)`` parses both shared files several
times and re-loads botocore's service data, so switching profiles in a large
organisation's config costs seconds. Here every session shares:

* one botocore data loader (service models are loaded once per process), and
* one parse of the shared files, kept while the files' identity (inode, size,
  mtimes) and bytes are unchanged, so an edit made by any program is still seen
  on the next switch.

Credentials still resolve through botocore's own provider chain (roles, SSO,
processes, MFA), in botocore's order. Four providers are swapped for the same
botocore classes built with different arguments:

* the shared-credentials-file and config-file providers get the shared parse;
* the assume-role provider gets an :class:`~awswidget.mfa.MfaPrompter` (botocore's
  default prompter is ``getpass`` bound at import, useless in a kernel) and a
  process-wide cache of assumed-role credentials, so one MFA code serves until
  the credentials expire, across sessions and profile switches; and an MFA role
  gets ONE credentials object per profile, shared by every session of it (boto3's
  default among them), that asks for a new code when botocore's refresh window
  comes and renews itself, so clients made before keep working
  (:func:`awswidget._botocore.renewing_role_provider`);
* the SSO provider (and the source-profile providers of role chains) read the
  SSO token cache under ``$HOME/.aws/sso/cache`` located *now*, not where
  ``HOME`` pointed when botocore was imported.

No session built here sees the local credentials endpoint that awswidget itself
exported (:mod:`awswidget.follow.endpoint`): their container providers read the
container variables as the user had them (:func:`container_environ`). A profile
with no credentials of its own fails as it should, instead of borrowing the
selection's, and the endpoint, which resolves through these sessions, never asks itself.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from . import _botocore, _merge, files, texts
from .profiles import full_config

if TYPE_CHECKING:
    import boto3

log = logging.getLogger(__name__)

_loader_lock = threading.Lock()
_loader: Any = None
_merged: dict[tuple[Any, ...], dict[str, Any]] = {}


_builtin_events: Any = None


def _builtin_emitter() -> Any:
    """A copy of an event emitter that holds botocore's built-in handlers.

    Every botocore Session registers its ~1,300 built-in handlers itself (9 ms: it inspects
    each one's signature), a third of a profile switch. They are registered once here and
    the emitter copied, as botocore copies a session's emitter for every client it creates.
    """
    global _builtin_events
    with _loader_lock:
        if _builtin_events is None:
            import botocore.session
            from botocore.hooks import HierarchicalEmitter

            emitter = HierarchicalEmitter()
            botocore.session.Session(event_hooks=emitter)  # registers the built-in handlers into it
            _builtin_events = emitter
        return copy.copy(_builtin_events)


def shared_loader() -> Any:
    global _loader
    with _loader_lock:
        if _loader is None:
            from botocore.loaders import create_loader

            _loader = create_loader()
        return _loader


def _raw(path: str) -> dict[str, Any]:
    # A file that cannot be trusted reads as empty; the manager reports it.
    return files.read_file_cached(path).sections


def merged_config(config_file: str, credentials_file: str, snapshots: tuple[Any, Any] | None = None) -> dict[str, Any]:
    """botocore's ``full_config`` for the two files, computed once per version of them.

    A new version's is derived from the previous one's for the sections that changed
    (:func:`awswidget._merge.merged_from`, proven equal to the full merge by tests/test_incremental.py).
    ``snapshots``: the two files' :func:`~awswidget.files.read_file_cached` the caller just made.
    """
    config, creds = snapshots or (files.read_file_cached(config_file), files.read_file_cached(credentials_file))
    # A cached snapshot is one version of its file (read_file_cached checks identity and bytes on every
    # use): the snapshot objects themselves, kept alive by the entry, are the key, so no digest is needed.
    key = (config_file, id(config), credentials_file, id(creds))
    with _loader_lock:
        hit = _merged.get(key)
        # Carried over only from the version still cached (a cleared cache means: start cold).
        last = _merged_basis.get((config_file, credentials_file)) if _merged else None
    if hit is None:
        config_map = _config_profile_map(config_file, config)
        with _loader_lock:
            step = _map_steps.get(config_file)
        if last is not None and step is not None and step[0] is config_map and step[1] is last[0]:
            hit = _merge.merged_from(last[2], last[0], config_map, step[2], last[1], creds.sections, step[3])
        elif last is not None and last[0] is config_map:
            hit = _merge.merged_from(last[2], last[0], config_map, set(), last[1], creds.sections, (set(), []))
        if hit is None:
            # From the cached profile map, so botocore's deep copy and header parsing happen once per version.
            hit = full_config(config.sections, creds.sections, config_map)
        with _loader_lock:
            _merged.clear()  # one version per process is enough: memory stays flat
            _merged[key] = hit
            _merged_snaps[:] = [config, creds]
            _merged_basis.clear()
            _merged_basis[(config_file, credentials_file)] = (config_map, creds.sections, hit)
    return hit


_profile_maps: dict[tuple[Any, ...], dict[str, Any]] = {}
# What the last merge and the last profile map were computed from, to derive the next version's:
# (config map, credentials sections, merge) per pair of files; (sections, map) per config file; and
# per config file (the map, the map it was derived from, the profile names that may differ between them).
_merged_basis: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {}
_map_basis: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
_map_steps: dict[str, tuple[dict[str, Any], dict[str, Any], set[str], Any]] = {}
_names: dict[str, tuple[dict[str, Any], set[str | None]]] = {}
# The snapshots the two caches' keys name (by id): kept alive so that no other object takes their ids.
_merged_snaps: list[Any] = []
_map_snaps: list[Any] = []


def config_profile_names(path: str, snapshot: Any = None) -> set[str | None]:
    """The profiles one config file defines (from the cached profile map; the same set while it is unchanged)."""
    config_map = _config_profile_map(path, snapshot)
    profiles = config_map["profiles"]
    with _loader_lock:
        hit = _names.get(path)
        step = _map_steps.get(path)
    if hit is None or hit[0] is not profiles:
        if hit is not None and step is not None and step[0] is config_map and step[1]["profiles"] is hit[0]:
            names = set(hit[1])  # the previous version's, give or take the profiles its changed sections name
            names.difference_update(n for n in step[2] if n not in profiles)
            names.update(n for n in step[2] if n in profiles)
        else:
            names = set(profiles)
        hit = (profiles, names)
        with _loader_lock:
            _names.clear()
            _names[path] = hit
    return hit[1]


def _config_profile_map(path: str, snapshot: Any = None) -> dict[str, Any]:
    """botocore's profile map of one config file, computed once per version of it.

    ``build_profile_map`` deep-copies the whole parse: 0.1 s per call at 10,000 profiles. A new
    version's map is derived from the previous one's (:func:`awswidget._merge.profile_map_from`).
    """
    from ._fastini import profile_map

    snap = snapshot or files.read_file_cached(path)
    key = (path, id(snap))
    with _loader_lock:
        hit = _profile_maps.get(key)
        last = _map_basis.get(path) if _profile_maps else None
    if hit is None:
        step = _merge.profile_map_from(last[0], last[1], snap.sections) if last is not None else None
        hit = step[0] if step is not None else profile_map(snap.sections)  # botocore's, proven equal (tests/test_fastini.py)
        with _loader_lock:
            _profile_maps.clear()  # one version per process, like merged_config
            _profile_maps[key] = hit
            _map_snaps[:] = [snap]
            _map_basis.clear()
            _map_basis[path] = (snap.sections, hit)
            _map_steps.clear()
            if step is not None and last is not None:
                _map_steps[path] = (hit, last[1], step[1], step[2])
    return hit


def _session_class() -> type:
    import botocore.session

    class CachedConfigSession(botocore.session.Session):
        """A botocore session whose ``full_config`` comes from the shared parse."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._awswidget_credentials_lock = threading.Lock()

        def get_credentials(self) -> Any:
            # botocore loads a session's credentials on first use without a lock: two threads on a
            # fresh session (the picker verifying, the explorer listing) would both run the
            # assume-role provider, whose shared visited-profiles list then reports a source_profile
            # loop that is not there (InfiniteLoopConfigError; boto/botocore#1780).
            with self._awswidget_credentials_lock:
                return super().get_credentials()

        @property
        def full_config(self) -> dict[str, Any]:
            # Read once per session, as botocore's own Session does (a switch builds a new session, so
            # edits are seen then); botocore reads this property a dozen times while creating a client.
            paths = (self.get_config_variable("config_file"), self.get_config_variable("credentials_file"))
            memo = self.__dict__.get("_awswidget_full_config")
            if memo is None or memo[0] != paths:
                memo = (paths, merged_config(*paths))
                self._awswidget_full_config = memo
            return memo[1]

    return CachedConfigSession


_SessionClass: Any = None

# Assumed-role (and SSO role) credentials of every session in this process, keyed as botocore
# keys them (a hash of the AssumeRole arguments): a switch away and back reuses them, and one MFA
# code serves until they expire. In memory only: temporary secrets never touch the disk here.
class _RoleCache(dict):  # type: ignore[type-arg]
    """botocore's AssumeRole responses; clearing it also forgets the renewing objects built on them."""

    def clear(self) -> None:
        super().clear()
        with _loader_lock:
            _renewing.clear()


_role_cache: dict[str, Any] = _RoleCache()
# The one renewing credentials object of each MFA role profile (see _botocore.renewing_role_provider).
_renewing: dict[tuple[str, ...], Any] = {}


def role_cache() -> dict[str, Any]:
    """The process-wide cache handed to botocore's credential resolver."""
    return _role_cache


def _shared_credentials(key: tuple[str, ...], make: Callable[[], Any]) -> Any:
    with _loader_lock:
        found = _renewing.get(key)
        if found is None:
            found = _renewing[key] = make()
        return found


def renewing_credentials(session: boto3.Session | None) -> Any:
    """The session's MFA credentials that renew in place, or ``None`` (not an MFA role, or not resolved yet)."""
    held = _botocore.resolved_credentials(session) if session is not None else None
    return held if held is not None and _botocore.is_renewing(held) else None


SSO_CACHE_VAR = "AWSWIDGET_SSO_CACHE"


def sso_cache_dir() -> str:
    """The AWS CLI v2's SSO token cache folder, located from ``HOME`` at call time.

    botocore computes the same path once, when it is imported; a notebook (or a
    test) that changes ``HOME`` afterwards must not be sent to the old folder.
    ``AWSWIDGET_SSO_CACHE`` overrides it (the demo sandbox keeps its logins to itself).
    """
    override = os.environ.get(SSO_CACHE_VAR)
    if override:
        return os.path.expanduser(override)
    return os.path.join(os.path.expanduser("~"), ".aws", "sso", "cache")


def sso_token_cache(cache_dir: str | None = None) -> Any:
    """botocore's JSON file cache over the SSO token folder, written as the AWS CLI v2 writes it."""
    from botocore.utils import JSONFileCache

    return JSONFileCache(cache_dir or sso_cache_dir(), dumps_func=sso_json_dumps)


def sso_json_dumps(obj: Any) -> str:
    """JSON with datetimes as ``2024-01-31T12:00:00Z`` (the AWS CLI v2 token format)."""
    import datetime as dt
    import json

    def default(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    return json.dumps(obj, default=default)


def _swap(resolver: Any, provider: Any) -> None:
    """Put ``provider`` where botocore put its provider of the same METHOD."""
    if provider.METHOD in [p.METHOD for p in resolver.providers]:
        resolver.insert_after(provider.METHOD, provider)
        resolver.remove(provider.METHOD)  # removes the first one: botocore's original


# ---------------------------------------------------------------------- the container variables as the user had them

CONTAINER_VARS = (
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
)
# The user's own value of a variable, ignoring awswidget's exports. The endpoint registers the
# exporter's (this layer cannot import it); until then nothing is exported, so os.environ is the user's.
_user_value: Callable[[str], str | None] = os.environ.get


def hide_exports(user_value: Callable[[str], str | None]) -> None:
    """Make every session built here read the container variables through ``user_value``.

    Called by the endpoint module with :func:`awswidget.environment.user_env`: what awswidget
    exported (its endpoint in place of the user's container credentials) is invisible here, and
    the user's own container credentials, if any, are seen as botocore would have seen them.
    """
    global _user_value
    _user_value = user_value


class _UserEnviron(Mapping[str, str]):
    """``os.environ`` with the container variables as the user had them (a live view)."""

    def __getitem__(self, name: str) -> str:
        value = _user_value(name) if name in CONTAINER_VARS else os.environ.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[str]:
        names = [name for name in os.environ if name not in CONTAINER_VARS]
        return iter(names + [name for name in CONTAINER_VARS if _user_value(name) is not None])

    def __len__(self) -> int:
        return sum(1 for _ in self)


_user_environ = _UserEnviron()


def container_environ() -> Mapping[str, str]:
    """The environment a container provider of awswidget's own reads (see :func:`hide_exports`)."""
    return _user_environ


def container_provider() -> Any:
    """botocore's container provider, reading :func:`container_environ`."""
    from botocore.credentials import ContainerProvider

    return ContainerProvider(environ=_user_environ)


def shield_resolver(resolver: Any) -> Any:
    """Point ``resolver``'s container provider at :func:`container_environ` (returns ``resolver``).

    The one instance botocore made is changed in place: its assume-role provider's
    ``credential_source = EcsContainer`` sourcer holds the same object.
    """
    for provider in getattr(resolver, "providers", None) or ():
        if provider.METHOD == "container-role" and hasattr(provider, "_environ"):
            provider._environ = _user_environ  # botocore's ContainerProvider(environ=...) keeps it there
    return resolver


def _shielded_default(bs: Any) -> None:
    """Give ``bs`` botocore's default chain, built lazily as botocore builds it, shielded."""
    from botocore.credentials import create_credential_resolver

    def make() -> Any:
        region = getattr(bs, "_last_client_region_used", None)  # what botocore's own lazy resolver passes
        return shield_resolver(create_credential_resolver(bs, region_name=region))

    bs.lazy_register_component("credential_provider", make)


def make_session(
    profile: str | None,
    region: str | None,
    config_file: str,
    credentials_file: str,
    *,
    prompter: Callable[[str], str] | None = None,
    sso_dir: str | None = None,
    on_renewed: Callable[[], None] | None = None,
) -> boto3.Session:
    """A ``boto3.Session`` for ``profile`` (``None``: botocore's own default chain).

    ``prompter`` answers botocore's MFA prompts (an :class:`~awswidget.mfa.MfaPrompter`;
    without one, a role that needs a code fails with a clear error); ``sso_dir`` is the SSO token folder (default: :func:`sso_cache_dir`).
    ``on_renewed`` is called (in a thread of its own) each time the profile's MFA credentials renew in
    place; it is held weakly, so the caller keeps it alive.
    """
    global _SessionClass
    import boto3
    from botocore.credentials import AssumeRoleProvider, create_credential_resolver

    if _SessionClass is None:
        _SessionClass = _session_class()
    bs = _SessionClass(profile=profile, event_hooks=_builtin_emitter(), include_builtin_handlers=False)
    bs.set_config_variable("config_file", config_file)
    bs.set_config_variable("credentials_file", credentials_file)
    loader = shared_loader()
    bs.register_component("data_loader", loader)
    if profile is not None:
        cache = role_cache()
        resolver = create_credential_resolver(bs, cache=cache, region_name=region)
        builder = _botocore.cached_parse_builder()(
            bs,
            cache=cache,
            region_name=region,
            sso_token_cache=sso_token_cache(sso_dir),
            ini_parser=_raw,
            config_parser=_config_profile_map,
        )
        by_method = {p.METHOD: p for p in builder.providers(profile_name=profile, disable_env_vars=True)}
        original = next((p for p in resolver.providers if p.METHOD == AssumeRoleProvider.METHOD), None)
        # Same providers, same order; the two file readers only get their contents from the shared parse.
        swaps = [by_method[m] for m in ("sso", "shared-credentials-file", "custom-process", "config-file")]
        parts = _botocore.assume_role_parts(original) if original is not None else None
        if parts is not None:
            # botocore's own provider, built as create_credential_resolver builds it, plus our prompter
            # and a builder whose SSO providers read the token folder located now.
            shared = _shared_credentials
            if on_renewed is not None:
                def shared(key: tuple[str, ...], make: Callable[[], Any]) -> Any:
                    found = _shared_credentials(key, make)
                    found.listeners.add(on_renewed)
                    return found

            swaps.append(
                _botocore.renewing_role_provider()(
                    shared=shared,
                    load_config=lambda: bs.full_config,
                    client_creator=parts[0],
                    cache=cache,
                    profile_name=profile,
                    prompter=prompter or _no_prompter(profile),
                    credential_sourcer=parts[1],
                    profile_provider_builder=builder,
                )
            )
        else:  # a botocore that builds it differently: keep its provider (MFA then asks on a terminal)
            log.warning("botocore's assume-role provider has an unexpected shape; MFA prompts are not redirected")
        for provider in swaps:
            _swap(resolver, provider)
        bs.register_component("credential_provider", shield_resolver(resolver))
    else:
        _shielded_default(bs)
    session = boto3.Session(botocore_session=bs, region_name=region)
    # boto3 appends its data path to the (shared) loader on every Session: keep it once.
    paths = loader.search_paths
    deduped = list(dict.fromkeys(paths))
    if len(deduped) != len(paths):
        paths[:] = deduped
    return session


def _no_prompter(profile: str) -> Callable[[str], str]:
    def ask(_prompt: str = "") -> str:
        from .errors import VerificationError

        raise VerificationError(texts.mfa_unavailable("nobody", profile), "mfa_code", "MfaUnavailable")

    return ask


def aio_session(session: boto3.Session, **config: str | None) -> Any:
    """An aiobotocore session (for s3fs) that follows ``session``'s credentials, MFA renewals in place included;
    ``config``: ``profile``, ``config_file``, ``credentials_file``, ``region`` for its files, region and endpoint."""
    return _botocore.aio_session_following(session, **config)


def key_session(access_key_id: str, secret_access_key: str, session_token: str | None, region: str | None) -> boto3.Session:
    """A session of explicit keys (a candidate being checked), sharing the data loader."""
    import boto3

    return boto3.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        aws_session_token=session_token,
        region_name=region,
        botocore_session=plain_botocore_session(),
    )


def configured_endpoint(session: boto3.Session | None, service: str) -> str | None:
    """The endpoint botocore would use for ``service`` when one is configured; ``None`` for AWS's own.

    botocore's own lookup: ``AWS_ENDPOINT_URL_<SERVICE>``, ``AWS_ENDPOINT_URL``, a ``services``
    section, then the profile's ``endpoint_url`` (all off with ``ignore_configured_endpoint_urls``).
    """
    import botocore.exceptions
    from botocore.configprovider import ConfiguredEndpointProvider

    if session is None:
        return None
    bs = _botocore.botocore_session(session)
    try:
        if bs.get_config_variable("ignore_configured_endpoint_urls"):
            return None
        url = ConfiguredEndpointProvider(bs.full_config, bs.get_scoped_config(), service).provide()
        return url if isinstance(url, str) and url else None  # a nested block is no endpoint
    except botocore.exceptions.ProfileNotFound:
        return None  # the profile left the files; a reload is about to replace this session


def plain_botocore_session() -> Any:
    """A botocore session with no profile of its own, sharing the data loader.

    ``AWS_PROFILE`` is ignored: it may name a profile that is not in the files (or
    that awswidget exported for another selection), and explicit keys need none.
    """
    import botocore.session

    bs = botocore.session.Session()
    bs.get_component("config_store").set_config_variable("profile", None)  # an override, unlike a session variable
    bs.register_component("data_loader", shared_loader())
    _shielded_default(bs)
    return bs
