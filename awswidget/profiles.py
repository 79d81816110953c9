"""What a profile is: its name, kind, region and where it came from.

Built from botocore's parse of both shared files, merged exactly as
``botocore.session.Session.full_config`` merges them.
"""

from __future__ import annotations

import re
import shlex
import threading
from dataclasses import dataclass, fields
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
_NESTED = "(nested block)"
# Keys whose value is a secret: the shared files' own, and anything named like one (github_token, db_password).
_SECRET_KEY_RE = re.compile(r"secret|password|passwd|passphrase|token$", re.IGNORECASE)
# A value shaped like a secret access key or a session token, whatever key it sits under (a typo'd name).
_SECRET_SHAPE_RE = re.compile(r"[A-Za-z0-9/+=]{40,}")
# What shlex.split (POSIX, no comments, whitespace split) treats specially, and the whitespace it splits on.
_SHLEX_SPECIAL = re.compile(r"[\"'\\]").search
_SHLEX_SPACE = re.compile(r"[ \t\r\n]+")


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
    # The key (n != "default", n.casefold(), n) in two stable sorts with C-level keys: 3× faster at 10,000.
    order = sorted(names)
    order.sort(key=str.casefold)
    defaults = order.count("default")
    if defaults == 1:
        order.remove("default")
        order.insert(0, "default")
    elif defaults:
        order = ["default"] * defaults + [n for n in order if n != "default"]
    return tuple(order)


class _Lazily:
    # The slots of ProfileInfo that are not fields: what its fields and settings are computed from
    # (its merged values, its credentials-file section, and the table's (in config file, sources, paths)).
    # Slots rather than one tuple: one object per profile for the garbage collector to walk, not two.
    __slots__ = ("_context", "_creds", "_settings", "_values")


@dataclass(frozen=True, eq=False, slots=True)
class ProfileInfo(_Lazily):
    """Everything awswidget shows about a profile. Shows no secret.

    ``access_key_id`` is already masked (``****************ABCD``);
    :attr:`settings` lists ``(key, shown value, source file)`` like
    ``aws configure list``, with secrets shown as ``(hidden)``, anything
    shaped like a key masked, and ``credential_process`` as its program alone.
    Every other field is a non-empty ``str`` or ``None``: a setting the file
    holds as a nested block (where one value belongs) counts as absent.
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
    login_session: str | None = None

    # A profile table holds thousands; the picker and a switch read a handful (issue 17: 10,000 profiles).
    # build_profiles makes each one from its name and raw values (the _Lazily slots); its fields are
    # computed when one is first read (__getattr__ runs only for a slot that is not set yet).

    def __getattr__(self, name: str) -> Any:
        if name not in _LAZY:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        with _lazy_lock:  # one thread fills the fields; another may have done it since the lookup failed
            if not _has(self, name):
                basis = _get_basis(self)
                if basis is not None:
                    for key, value in _fields(*basis).items():
                        _set(self, key, value)
        return object.__getattribute__(self, name)

    @property
    def settings(self) -> tuple[tuple[str, str, str], ...]:
        """``(key, shown value, source file)`` of every setting, computed when first asked for.

        Only the Details view asks, for one profile at a time: building them for every profile
        cost more than the rest of the profile table at 10,000 profiles (issue 17).
        """
        shown = getattr(self, "_settings", None)
        if shown is not None:
            return shown  # type: ignore[no-any-return]
        with _lazy_lock:
            shown = getattr(self, "_settings", None)
            basis = _get_basis(self)
            if shown is None and basis is not None:
                self.kind  # noqa: B018 (the fields first: they need the basis too)
                shown = _settings(*basis)
                _set(self, "_settings", shown)
                _set(self, "_values", None)  # the raw values (secrets among them) are not needed any more
                _set(self, "_creds", None)
        return shown or ()

    def _key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _FIELD_NAMES)

    def __eq__(self, other: object) -> bool:
        # The settings count, as they did when they were a field (tests/test_incremental.py compares tables).
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key() and self.settings == other.settings  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._key())

    def __getstate__(self) -> dict[str, Any]:
        # A copy or a pickle carries the fields and the shown settings, never the raw values they come from.
        shown = self.settings
        return {**{name: getattr(self, name) for name in _FIELD_NAMES}, "_settings": shown}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            _set(self, key, value)

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


_FIELD_NAMES = tuple(f.name for f in fields(ProfileInfo))
_LAZY = frozenset(_FIELD_NAMES) - {"name"}
_set = object.__setattr__  # past the frozen dataclass's __setattr__, as its own __init__ does
_lazy_lock = threading.RLock()


def _get_basis(info: ProfileInfo) -> tuple[Any, ...] | None:
    """(values, credentials section, in the config file, sources, config path, credentials path), or None."""
    values = getattr(info, "_values", None)
    if values is None:  # built by hand, or its settings are computed already
        return None
    return (values, getattr(info, "_creds", None), *getattr(info, "_context", ()))


def _has(info: ProfileInfo, name: str) -> bool:
    try:
        object.__getattribute__(info, name)
    except AttributeError:
        return False
    return True


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


def _command(value: str) -> str:
    """A ``credential_process`` command for display: the program, never its arguments (they may hold a token)."""
    if _SHLEX_SPECIAL(value):
        try:
            words = shlex.split(value)  # as botocore splits it on POSIX
        except ValueError:
            return _HIDDEN
    else:
        # No quote and no backslash: shlex.split is a split on its own whitespace (tests/test_profile_settings.py).
        words = _SHLEX_SPACE.split(value.strip(" \t\r\n")) if value.strip(" \t\r\n") else []
    if not words:
        return ""
    return words[0] + " (arguments hidden)" if len(words) > 1 else words[0]


def _shown(key: str, value: Any) -> str:
    """How a setting is displayed: secrets hidden, key IDs masked, nested blocks entry by entry."""
    if _SECRET_KEY_RE.search(key):
        return _HIDDEN
    if isinstance(value, dict):
        if key in ("aws_access_key_id", "credential_process"):
            return _NESTED
        return ", ".join(f"{k}={_shown(k, v)}" for k, v in value.items()) or _NESTED
    value = str(value)
    if key == "aws_access_key_id":
        return mask(value)
    if key == "credential_process":
        return _command(value)
    if _SECRET_SHAPE_RE.fullmatch(value):
        return mask(value)
    return value


def _scalar(values: dict[str, Any], key: str) -> str | None:
    """A single-valued setting: ``None`` when absent, empty, or a nested block botocore read as a dict."""
    value = values.get(key)
    return value if isinstance(value, str) and value else None


def _settings(values: dict[str, Any], creds: Any, _in_config: bool, _sources: Any, config_path: str,
              credentials_path: str) -> tuple[tuple[str, str, str], ...]:
    """:attr:`ProfileInfo.settings` from a profile's basis (``creds``: its credentials-file section)."""
    return tuple(
        (key, _shown(key, value), credentials_path if creds is not None and key in creds else config_path)
        for key, value in values.items()
    )


def _fields(values: dict[str, Any], creds: Any, in_config: bool, sources: dict[tuple[bool, bool], tuple[str, ...]],
            _config_path: str, _credentials_path: str) -> dict[str, Any]:
    """Every field of a :class:`ProfileInfo` but its name, from its basis (see :func:`build_profiles`)."""
    state = dict.fromkeys(_LAZY)
    state["kind"] = _kind(values, creds)
    for key in values.keys() & _FIELDS:
        value = values[key]
        if isinstance(value, str) and value:
            state[key] = value
    state["sources"] = sources[in_config, creds is not None]
    key_id = values.get("aws_access_key_id")
    if isinstance(key_id, str) and key_id:
        state["access_key_id"] = mask(key_id)
    return state


# The fields read as they are from a setting of the same name (a non-empty string, or None).
_FIELDS = frozenset(("region", "output", "endpoint_url", "role_arn", "source_profile", "credential_source", "mfa_serial",
                     "sso_session", "sso_start_url", "sso_account_id", "sso_role_name", "login_session"))


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
    if merged is None:
        merged = full_config(config_sections, credentials_sections)
    merged = merged["profiles"]
    # The four possible source tuples, shared: (in the config file, in the credentials file) -> sources.
    sources = {(c, k): tuple(p for p, present in ((config_path, c), (credentials_path, k)) if present)
               for c in (False, True) for k in (False, True)}
    new, creds_get = ProfileInfo.__new__, credentials_sections.get
    slots = vars(_Lazily)
    set_name, set_values, set_creds, set_context = (d.__set__ for d in (vars(ProfileInfo)["name"], slots["_values"], slots["_creds"], slots["_context"]))
    contexts = {where: (where, sources, config_path, credentials_path) for where in (False, True)}
    made = {}
    # In the files' order, not the sorted one: at 100,000 profiles the dicts' entries read in sequence
    # instead of at random cost a third of the time (the processor's caches).
    for name, values in merged.items():
        info = new(ProfileInfo)  # its fields are computed from the basis when first read (ProfileInfo.__getattr__)
        set_name(info, name)
        set_values(info, values)
        set_creds(info, creds_get(name))
        set_context(info, contexts[name in config_names])
        made[name] = info
    return {name: made[name] for name in sorted_names(made)}
