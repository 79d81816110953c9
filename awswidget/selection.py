"""What a selection is, and what to say about it: the pure part of a switch.

The manager's publish point asks these functions for the region in effect, the
profile to start with, and the message, warnings and expiry of a selection; they
read the profile table, the environment and the files' modes, and change nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from . import environment, files, texts
from .errors import SelectionError, ValidationError
from .expiry import status_for, utc_now
from .profiles import ProfileInfo
from .texts import Notice
from .validate import validate_region

__all__ = ["described", "initial_profile", "region_for", "usable_region"]


def usable_region(region: Any) -> str | None:
    """``region`` if it is a region name as it is; a file or a variable may hold anything (``None``)."""
    try:
        valid, _ = validate_region(region)
    except ValidationError:
        return None
    return region if valid == region else None


def region_for(info: ProfileInfo | None, region: str | None) -> str | None:
    """The region a selection uses: ``region`` checked, or for ``None`` the one botocore would use.

    botocore's order for ``None``: ``AWS_DEFAULT_REGION``, then the profile's own.
    Raises :class:`~awswidget.errors.SelectionError` for a region that is not a region name.
    """
    if not isinstance(region, str) and region is not None:
        raise SelectionError(f"A region is a name such as 'us-east-1', not {type(region).__name__}.", "region")
    if region is not None and not region.strip():
        raise SelectionError("Write a region name such as 'us-east-1', or None for the profile's own region.", "region")
    if region is None:
        env = environment.user_env("AWS_DEFAULT_REGION")
        return usable_region(env) if env else (usable_region(info.region) if info is not None else None)
    try:
        valid, _ = validate_region(region)
    except ValidationError as exc:
        raise SelectionError(exc.reason, "region") from None
    if valid != region:
        raise SelectionError(f"Write the region as '{valid}'.", "region")
    return region


def initial_profile(infos: Mapping[str, ProfileInfo], shared: files.SharedFiles) -> tuple[str | None, Notice | None]:
    """The profile a new manager starts with (``AWS_PROFILE`` as botocore reads it, else ``default``)."""
    fallback = "default" if "default" in infos else None
    for var in environment.PROFILE_VARS:
        wanted = environment.user_env(var)
        if wanted and wanted not in infos:
            data = {"var": var, "wanted": wanted, "fallback": fallback, "config": shared.config_file,
                    "credentials": shared.credentials_file}
            return fallback, Notice("env-profile-missing", data)
        if wanted:
            return wanted, None
    return fallback, None


def described(
    state: Any,
    info: ProfileInfo | None,
    *,
    config: dict[str, Any],
    shared: files.SharedFiles,
    has_profiles: bool,
    owner: bool,
    sticky: Notice | None,
    file_errors: Sequence[str],
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """``message``, ``warnings``, ``expiry`` and ``expires_at`` of a selection, as they should read now.

    ``state`` has the selection's ``profile``, ``region``, ``session``, ``identity`` and ``status``.
    """
    name, identity = state.profile, state.identity
    expiry = None
    if state.status in ("verified", "unverified"):
        expiry = status_for(state.session, info, config, now or utc_now(), credentials_file=shared.credentials_file)
    # Credentials that ended and need a person are never "verified" (the manager unverifies them): say why.
    ended = [expiry.message] if expiry is not None and expiry.level == "expired" and state.status != "verified" else []
    notices: list[Notice] = []
    shadow = environment.shadowing_vars()
    if name is not None and shadow:
        notices.append(Notice("shadowed", {"vars": shadow, "profile": name}))
    if info is not None and info.region and usable_region(info.region) is None:
        notices.append(Notice("region-ignored", {"profile": name, "path": shared.config_file}))
    if identity is not None and identity.is_root:
        notices.append(Notice("root-keys", {"account": identity.account}))
    if name is not None and not owner:
        notices.append(Notice("not-owner"))
    mode = files.permissive_mode_warning(shared.credentials_file)
    warnings = [*ended, *file_errors, *([mode] if mode else []), *map(str, notices)]
    values: dict[str, Any] = {"expiry": expiry, "expires_at": expiry.expires_at if expiry else None}
    if state.status in ("unverified", "verified"):
        values["message"] = texts.summary(
            name, state.region, kind=info.kind_label if info is not None else "", identity=identity,
            has_profiles=has_profiles, file_errors=file_errors, files=(shared.config_file, shared.credentials_file),
        )
    if sticky is not None:
        values["message"] = str(sticky)
        warnings.append(str(sticky))
    values["warnings"] = tuple(dict.fromkeys(warnings))
    return values
