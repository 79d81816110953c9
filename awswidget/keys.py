"""An access-key profile as a person types it, checked in one place.

The setup form shows :func:`check_fields` field by field while the user types;
:meth:`~awswidget.manager.CredentialsManager.add_profile` raises the first
problem of the same checks (:func:`validate_keys`). Neither has checks of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from . import _redact
from .errors import ValidationError
from .validate import (
    validate_access_key_id,
    validate_profile_name,
    validate_region,
    validate_secret_access_key,
    validate_session_token,
    validate_value,
)

__all__ = ["FIELDS", "FieldCheck", "check_fields", "looks_like_secret", "not_ready", "validate_keys", "validate_profile"]

#: The fields of a key profile, in the order their problems are reported.
FIELDS = ("profile_name", "access_key_id", "secret_access_key", "session_token", "region")


LABELS = {
    "profile_name": "profile name",
    "access_key_id": "access key ID",
    "secret_access_key": "secret access key",
    "session_token": "session token",
    "region": "region",
}

# A secret access key is exactly 40 characters of base64, mixing upper case, lower case and digits: such a run
# in a name or a key ID field was pasted there.
_SECRET_SHAPE = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])")


def looks_like_secret(text: str | None) -> bool:
    """Whether ``text`` holds something shaped like a secret access key."""
    for match in _SECRET_SHAPE.finditer(str(text or "")):
        run = match.group()
        if any(c.isupper() for c in run) and any(c.islower() for c in run) and any(c.isdigit() for c in run):
            return True
    return False


@dataclass(frozen=True)
class FieldCheck:
    """Per-field ``errors`` and ``warnings`` (sentences) and the cleaned ``values`` of the fields that passed."""

    errors: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def first_error(self) -> tuple[str, str] | None:
        return next(((name, self.errors[name]) for name in FIELDS if name in self.errors), None)


def check_fields(
    *,
    profile_name: str,
    access_key_id: str,
    secret_access_key: str,
    session_token: str | None,
    region: str | None,
    existing: Collection[str] = (),
) -> FieldCheck:
    """Check every field; never raises for bad input."""
    result = FieldCheck()

    def run(name: str, check: Callable[[], Any]) -> None:
        try:
            value = check()
        except ValidationError as exc:
            result.errors[exc.field if exc.field in FIELDS else name] = exc.reason
            return
        if isinstance(value, tuple):
            result.values[name], result.warnings[name] = value[0], list(value[1])
        else:
            result.values[name] = value

    run("profile_name", lambda: _not_a_secret("profile_name", profile_name, validate_profile_name))
    run("access_key_id", lambda: _not_a_secret("access_key_id", access_key_id, validate_access_key_id))
    run("secret_access_key", lambda: validate_secret_access_key(secret_access_key))
    run("session_token", lambda: validate_session_token(session_token, access_key_id))
    run("region", lambda: validate_region(region or None))
    name = result.values.get("profile_name")
    if name is not None and name in existing:
        result.warnings.setdefault("profile_name", []).append(
            f"Profile '{name}' exists: saving replaces its keys (you will be asked to confirm)."
        )
    return result


def _not_a_secret(field: str, value: Any, check: Callable[[Any], Any]) -> Any:
    """``check(value)``, unless ``value`` is shaped like a secret key: it was pasted into the wrong field."""
    if isinstance(value, str) and looks_like_secret(value):
        raise ValidationError(
            field, f"This looks like a secret access key: paste it into the secret access key field, not the {LABELS[field]}."
        )
    return check(value)


def not_ready(errors: Collection[str], empty: Collection[str]) -> str | None:
    """Why a profile cannot be saved yet, naming the fields: "To save, fill in the secret access key." (or ``None``).

    ``errors`` are the fields with a problem, ``empty`` those left empty (an empty
    session token is only a problem for temporary keys, and is named with the others).
    """
    missing = [LABELS[n] for n in FIELDS if n in errors and n in empty]
    wrong = [LABELS[n] for n in FIELDS if n in errors and n not in empty]
    why = ([f"fill in the {_listed(missing)}"] if missing else []) + ([f"fix the {_listed(wrong)}"] if wrong else [])
    return f"To save, {' and '.join(why)}." if why else None


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def validate_keys(access_key_id: str, secret_access_key: str, session_token: str | None = None) -> tuple[str, str, str | None]:
    """The cleaned key ID, secret and token, or the first :class:`ValidationError`.

    The secret and token are registered for redaction from log records.
    """
    key_id, _ = validate_access_key_id(access_key_id)
    secret, _ = validate_secret_access_key(secret_access_key)
    token = validate_session_token(session_token, key_id)
    _redact.remember(secret, token)
    return key_id, secret, token


def validate_profile(
    name: str,
    access_key_id: str,
    secret_access_key: str,
    session_token: str | None = None,
    *,
    region: str | None = None,
    output: str | None = None,
    endpoint_url: str | None = None,
) -> tuple[str, str, str, str | None, dict[str, str]]:
    """A whole key profile checked: ``(name, key ID, secret, token, config-file settings)``, or the first error."""
    name = _not_a_secret("profile_name", name, validate_profile_name)
    _not_a_secret("access_key_id", access_key_id, lambda v: v)
    key_id, secret, token = validate_keys(access_key_id, secret_access_key, session_token)
    if endpoint_url is not None and not (isinstance(endpoint_url, str) and endpoint_url.strip().startswith(("https://", "http://"))):
        raise ValidationError("endpoint_url", "The endpoint URL must start with https:// (or http:// for a local endpoint).")
    region, _ = validate_region(region)
    values = (("region", region), ("output", output), ("endpoint_url", endpoint_url))
    return name, key_id, secret, token, {key: validate_value(key, value) for key, value in values if value}
