"""Every private botocore name awswidget leans on, in one place.

botocore has no public way to do five things awswidget needs: hand its
profile-provider builder a parse of the shared files that is already in memory,
rebuild its assume-role provider with a different MFA prompter, reach the
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
from collections.abc import Callable
from typing import Any

__all__ = [
    "assume_role_parts",
    "botocore_session",
    "cached_parse_builder",
    "check",
    "expiry_of",
    "parse_nested",
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
    if not callable(getattr(botocore.configloader, "_parse_nested", None)):
        problems.append("botocore.configloader._parse_nested is gone")
    if problems:
        problems = [f"botocore {botocore.__version__}: {p}" for p in problems]
    return problems
