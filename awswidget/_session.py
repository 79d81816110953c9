"""Fast boto3 sessions for a profile, with botocore's semantics intact.

A plain ``boto3.Session(profile_name=...)`` parses both shared files several
times and re-loads botocore's service data, so switching profiles in a large
organisation's config costs seconds. Here every session shares:

* one botocore data loader (service models are loaded once per process), and
* one parse of the shared files, keyed on the files' identity and mtime, so an
  edit made by any program is still seen on the next switch.

Credentials still resolve through botocore's own provider chain (roles, SSO,
processes, MFA); only the two file parsers inside it are handed the shared parse.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from . import files
from .profiles import full_config

if TYPE_CHECKING:
    import boto3

_loader_lock = threading.Lock()
_loader: Any = None
_merged: dict[tuple[Any, ...], dict[str, Any]] = {}


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


def merged_config(config_file: str, credentials_file: str) -> dict[str, Any]:
    """botocore's ``full_config`` for the two files, computed once per version of them."""
    config = files.read_file_cached(config_file)
    creds = files.read_file_cached(credentials_file)
    key = (config_file, config.key, config.exists, credentials_file, creds.key, creds.exists)
    with _loader_lock:
        hit = _merged.get(key)
    if hit is None:
        hit = full_config(config.sections, creds.sections)
        with _loader_lock:
            _merged.clear()  # one version per process is enough: memory stays flat
            _merged[key] = hit
    return hit


def _config_profile_map(path: str) -> dict[str, Any]:
    from botocore.configloader import build_profile_map

    return build_profile_map(_raw(path))


def _session_class() -> type:
    import botocore.session

    class CachedConfigSession(botocore.session.Session):
        """A botocore session whose ``full_config`` comes from the shared parse."""

        @property
        def full_config(self) -> dict[str, Any]:
            return merged_config(self.get_config_variable("config_file"), self.get_config_variable("credentials_file"))

    return CachedConfigSession


_SessionClass: Any = None


def make_session(profile: str | None, region: str | None, config_file: str, credentials_file: str) -> boto3.Session:
    """A ``boto3.Session`` for ``profile`` (``None``: botocore's own default chain)."""
    global _SessionClass
    import boto3
    from botocore.credentials import ConfigProvider, SharedCredentialProvider, create_credential_resolver

    if _SessionClass is None:
        _SessionClass = _session_class()
    bs = _SessionClass(profile=profile)
    bs.set_config_variable("config_file", config_file)
    bs.set_config_variable("credentials_file", credentials_file)
    loader = shared_loader()
    bs.register_component("data_loader", loader)
    if profile is not None:
        resolver = create_credential_resolver(bs, region_name=region)
        # Same providers, same order; they only get their file contents from the shared parse.
        for method, provider in (
            ("shared-credentials-file", SharedCredentialProvider(credentials_file, profile, ini_parser=_raw)),
            ("config-file", ConfigProvider(config_file, profile, config_parser=_config_profile_map)),
        ):
            if method in [p.METHOD for p in resolver.providers]:
                resolver.insert_after(method, provider)
                resolver.remove(method)  # removes the first one: botocore's original
        bs.register_component("credential_provider", resolver)
    session = boto3.Session(botocore_session=bs, region_name=region)
    # boto3 appends its data path to the (shared) loader on every Session: keep it once.
    paths = loader.search_paths
    deduped = list(dict.fromkeys(paths))
    if len(deduped) != len(paths):
        paths[:] = deduped
    return session


def plain_botocore_session() -> Any:
    """A botocore session with no profile of its own, sharing the data loader."""
    import botocore.session

    bs = botocore.session.Session()
    bs.register_component("data_loader", shared_loader())
    return bs
