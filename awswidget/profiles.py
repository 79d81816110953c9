"""What a profile is: its name, kind, region and where it came from.

Built from botocore's parse of both shared files, merged exactly as
``botocore.session.Session.full_config`` merges them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .validate import mask

__all__ = ["KIND_LABELS", "ProfileInfo", "build_profiles", "full_config", "sorted_names"]

#: Short labels of the profile kinds, for display.
KIND_LABELS = {
    "static": "keys",
    "temporary": "temporary keys",
    "role": "role",
    "role-mfa": "role + MFA",
    "sso": "SSO",
    "login": "console login",
    "process": "process",
    "web-identity": "web identity",
    "config-only": "settings only",
}

_HIDDEN = "(hidden)"
_SECRET_KEYS = {"aws_secret_access_key", "aws_session_token", "aws_security_token"}


def full_config(
    config_sections: dict[str, Any],
    credentials_sections: dict[str, Any],
    config_map: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Merge two raw parses as botocore's ``Session.full_config`` does.

    Config-file profiles come first; a credentials-file section adds a profile
    or updates the config profile of the same name. ``config_map`` is botocore's
    ``build_profile_map`` of the config sections when the caller has it already
    (it is not modified).
    """
    from botocore.configloader import build_profile_map

    if config_map is None:
        merged = build_profile_map(config_sections)
    else:
        merged = dict(config_map)
        merged["profiles"] = {name: dict(values) for name, values in config_map["profiles"].items()}
    profiles = merged["profiles"]
    for name, values in credentials_sections.items():
        if name not in profiles:
            profiles[name] = dict(values)
        else:
            profiles[name].update(values)
    return merged


def sorted_names(names: Any) -> tuple[str, ...]:
    """"default" first, then case-insensitive alphabetical order (stable)."""
    return tuple(sorted(names, key=lambda n: (n != "default", n.casefold(), n)))


@dataclass(frozen=True)
class ProfileInfo:
    """Everything awswidget shows about a profile. Holds no secret.

    ``access_key_id`` is already masked (``****************ABCD``);
    ``settings`` lists ``(key, shown value, source file)`` like
    ``aws configure list``, with secrets shown as ``(hidden)``.
    """

    name: str
    kind: str
    region: str | None = None
    output: str | None = None
    endpoint_url: str | None = None
    sources: tuple[str, ...] = ()
    access_key_id: str | None = None
    role_arn: str | None = None
    source_profile: str | None = None
    credential_source: str | None = None
    mfa_serial: str | None = None
    sso_session: str | None = None
    sso_start_url: str | None = None
    sso_account_id: str | None = None
    sso_role_name: str | None = None
    settings: tuple[tuple[str, str, str], ...] = ()

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def label(self) -> str:
        """``name`` with its kind where that helps (for option lists)."""
        tags = [] if self.kind in ("static", "config-only") else [self.kind_label]
        if self.endpoint_url:
            tags.append("endpoint")
        return f"{self.name} ({', '.join(tags)})" if tags else self.name


def _kind(values: dict[str, Any], in_credentials: dict[str, Any] | None) -> str:
    # Follows the order of botocore's credential chain for a profile.
    def keys(section: dict[str, Any]) -> str:
        return "temporary" if "aws_session_token" in section or "aws_security_token" in section else "static"

    if "role_arn" in values:
        if "web_identity_token_file" in values:
            return "web-identity"
        return "role-mfa" if "mfa_serial" in values else "role"
    if "sso_session" in values or "sso_start_url" in values:
        return "sso"
    if in_credentials and "aws_access_key_id" in in_credentials:
        return keys(in_credentials)
    if "login_session" in values:
        return "login"
    if "credential_process" in values:
        return "process"
    if "aws_access_key_id" in values:
        return keys(values)
    return "config-only"


def _shown(key: str, value: Any) -> str:
    if key in _SECRET_KEYS:
        return _HIDDEN
    if key == "aws_access_key_id":
        return mask(str(value))
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def build_profiles(
    config_sections: dict[str, Any],
    credentials_sections: dict[str, Any],
    config_path: str = "",
    credentials_path: str = "",
    merged: dict[str, Any] | None = None,
    config_names: set[str | None] | None = None,
) -> dict[str, ProfileInfo]:
    """A ``ProfileInfo`` per profile botocore would accept, in :func:`sorted_names` order.

    ``merged`` (:func:`full_config` of the same sections) and ``config_names`` (the
    profiles the config file defines) are passed when the caller has them already.
    """
    from .files import config_profile_name

    if config_names is None:
        config_names = {config_profile_name(header) for header in config_sections}
    config_profiles = config_names
    if merged is None:
        merged = full_config(config_sections, credentials_sections)
    merged = merged["profiles"]
    infos = {}
    for name in sorted_names(merged):
        values = merged[name]
        creds = credentials_sections.get(name)
        sources = tuple(p for p, present in ((config_path, name in config_profiles), (credentials_path, creds is not None)) if present)
        settings = tuple(
            (key, _shown(key, value), credentials_path if creds is not None and key in creds else config_path)
            for key, value in values.items()
        )
        key_id = values.get("aws_access_key_id")
        infos[name] = ProfileInfo(
            name=name,
            kind=_kind(values, creds),
            region=values.get("region") or None,
            output=values.get("output") or None,
            endpoint_url=values.get("endpoint_url") or None,
            sources=sources,
            access_key_id=mask(key_id) if key_id else None,
            role_arn=values.get("role_arn"),
            source_profile=values.get("source_profile"),
            credential_source=values.get("credential_source"),
            mfa_serial=values.get("mfa_serial"),
            sso_session=values.get("sso_session"),
            sso_start_url=values.get("sso_start_url"),
            sso_account_id=values.get("sso_account_id"),
            sso_role_name=values.get("sso_role_name"),
            settings=settings,
        )
    return infos
