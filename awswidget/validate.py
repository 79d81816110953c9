"""Validation of what a user types: profile names, keys, regions, key CSVs.

Each check returns the cleaned value (and, where relevant, a list of warnings)
or raises :class:`~awswidget.errors.ValidationError` naming the field. The
value of a secret never appears in a message.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass, field

from .errors import ValidationError

__all__ = [
    "KeyCsv",
    "Region",
    "known_regions",
    "parse_key_csv",
    "validate_access_key_id",
    "validate_profile_name",
    "validate_region",
    "validate_secret_access_key",
    "validate_session_token",
    "validate_value",
]

_KEY_ID_RE = re.compile(r"[A-Za-z0-9_]{16,128}")
_AWS_KEY_ID_RE = re.compile(r"(AKIA|ASIA)[A-Z0-9]{16}")
_PROFILE_RE = re.compile(r"[A-Za-z0-9_.@+-]+")
_IAM_USER_RE = re.compile(r"[A-Za-z0-9_+=,.@-]{1,64}")  # IAM's own rule for user names
# Section keywords of the config file; "DEFAULT" is configparser's defaults section.
_RESERVED_PROFILE_NAMES = {"profile", "sso-session", "services"}
_MAX_PROFILE_NAME = 128
# Any region name AWS has used (us-east-1, us-gov-west-1, ap-southeast-7...): one a newer botocore may know.
_REGION_SHAPE = re.compile(r"[a-z]{2,4}(-[a-z]+)+-\d{1,2}", re.ASCII)


def _text(field: str, value: object, what: str) -> str:
    """``value`` as text to check: ``None`` is empty, and anything else that is not a ``str`` is refused.

    A shared file can hold a nested block where a single value belongs (botocore reads it as a dict),
    and code can pass anything: both get a ValidationError, never an AttributeError.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        raise ValidationError(field, f"{what} is a nested block of settings; it must be a single value.")
    raise ValidationError(field, f"{what} must be text, not {type(value).__name__}.")


def validate_profile_name(name: str) -> str:
    """Return ``name`` stripped if it is safe as a profile (section) name."""
    name = _text("profile_name", name, "A profile name").strip()
    if not name:
        raise ValidationError("profile_name", "Enter a profile name.")
    if len(name) > _MAX_PROFILE_NAME:
        raise ValidationError("profile_name", f"A profile name has at most {_MAX_PROFILE_NAME} characters.")
    if not _PROFILE_RE.fullmatch(name):
        raise ValidationError(
            "profile_name",
            "A profile name may use letters, digits and _ . @ + - only "
            "(no spaces, brackets or quotes).",
        )
    if name == "DEFAULT" or name.lower() in _RESERVED_PROFILE_NAMES:
        raise ValidationError("profile_name", f"'{name}' is a reserved section name; choose another name.")
    if name.lower() == "default" and name != "default":
        raise ValidationError("profile_name", "Write the default profile as 'default' (lower case).")
    return name


def validate_access_key_id(key_id: str) -> tuple[str, list[str]]:
    """Check an access key ID; return it stripped and a list of warnings."""
    key_id = _text("access_key_id", key_id, "An access key ID").strip()
    if not key_id:
        raise ValidationError("access_key_id", "Enter the access key ID.")
    if not _KEY_ID_RE.fullmatch(key_id):
        raise ValidationError(
            "access_key_id",
            "An access key ID is 16 to 128 letters, digits or underscores "
            "(it usually starts with AKIA or ASIA).",
        )
    warnings = []
    if not _AWS_KEY_ID_RE.fullmatch(key_id):
        warnings.append("This access key ID does not look like an AWS one (AKIA… or ASIA…, 20 characters).")
    return key_id, warnings


def is_temporary_key(key_id: str | None) -> bool:
    """True for temporary (STS) key IDs, which need a session token."""
    return isinstance(key_id, str) and key_id.strip().startswith("ASIA")


def validate_secret_access_key(secret: str) -> tuple[str, list[str]]:
    """Check a secret access key; return it and a list of warnings."""
    secret = _text("secret_access_key", secret, "The secret access key").strip()
    if not secret:
        raise ValidationError("secret_access_key", "Enter the secret access key.")
    if any(c.isspace() for c in secret):
        raise ValidationError("secret_access_key", "The secret access key cannot contain spaces or line breaks.")
    if not secret.isprintable() or not secret.isascii():
        raise ValidationError("secret_access_key", "The secret access key can only contain printable ASCII characters.")
    warnings = []
    if len(secret) != 40:
        warnings.append(f"AWS secret access keys are 40 characters; this one has {len(secret)}.")
    return secret, warnings


def validate_session_token(token: str | None, key_id: str | None = None) -> str | None:
    """Check a session token; required for temporary (``ASIA``) keys."""
    token = _text("session_token", token, "The session token").strip() or None
    if token is None:
        if is_temporary_key(key_id):
            raise ValidationError(
                "session_token", "This is a temporary key (ASIA…): enter the session token that came with it."
            )
        return None
    if any(c.isspace() for c in token) or not token.isascii() or not token.isprintable():
        raise ValidationError("session_token", "The session token cannot contain spaces or line breaks.")
    return token


def validate_value(key: str, value: str) -> str:
    """Check any value before it is written to a shared file."""
    value = _text(key, value, f"The value of '{key}'")
    if any(c in value for c in "\r\n\x00"):
        raise ValidationError(key, f"The value of '{key}' cannot contain line breaks.")
    if value != value.strip():
        value = value.strip()
    return value


@dataclass(frozen=True)
class Region:
    """A region botocore knows: its code, description and partition."""

    name: str
    description: str
    partition: str

    @property
    def label(self) -> str:
        return f"{self.name} — {self.description}" if self.description else self.name


@functools.lru_cache(maxsize=1)
def _partitions() -> tuple[dict, ...]:
    import botocore.loaders

    data = botocore.loaders.create_loader().load_data("partitions")
    return tuple(data["partitions"])


def known_regions(partition: str | None = "aws") -> list[Region]:
    """The regions of ``partition`` (all partitions with ``None``), from botocore's data."""
    return list(_known_regions(partition))


@functools.cache
def _known_regions(partition: str | None) -> tuple[Region, ...]:
    # Validation runs on every profile switch: read botocore's partition data once.
    regions = []
    for p in _partitions():
        if partition is not None and p["id"] != partition:
            continue
        for name, info in p["regions"].items():
            if name.startswith(p["id"]) or name.endswith("-global"):  # aws-global and the like: not real regions
                continue
            regions.append(Region(name, info.get("description", ""), p["id"]))
    return tuple(sorted(regions, key=lambda r: r.name))


@functools.lru_cache(maxsize=1)
def _known_region_names() -> frozenset[str]:
    return frozenset(r.name for r in _known_regions(None))


def partition_of(region: str) -> str:
    """The partition a region name belongs to ("aws" when nothing else matches)."""
    for p in _partitions():
        if region in p["regions"] or re.match(p["regionRegex"], region):
            return p["id"]
    return "aws"


def validate_region(region: str | None) -> tuple[str | None, list[str]]:
    """Check a region name; ``None`` or empty means "no region"."""
    region = _text("region", region, "A region").strip().lower() or None
    if region is None:
        return None, []
    if region in _known_region_names():
        return region, []
    # botocore's regionRegex uses unicode \w and \d (it takes "us-east-١"): ASCII first.
    if region.isascii() and (any(re.match(p["regionRegex"], region) for p in _partitions()) or _REGION_SHAPE.fullmatch(region)):
        return region, [f"'{region}' is not in this botocore's region list; it may be newer than botocore."]
    raise ValidationError("region", f"{_echo(region)} is not an AWS region name (for example us-east-1 or eu-west-2).")


def _echo(value: str, limit: int = 40) -> str:
    """A non-secret input quoted for a message: control characters escaped, long values cut."""
    shown = repr(value[:limit])
    return shown[:-1] + "…'" if len(value) > limit else shown


@dataclass
class KeyCsv:
    """Keys read from an IAM console CSV. ``repr`` never shows the secret."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    user_name: str | None = None

    def __repr__(self) -> str:
        return f"KeyCsv(access_key_id={mask(self.access_key_id)!r}, user_name={self.user_name!r})"


def mask(value: str | None, keep: int = 4) -> str:
    """Mask like the AWS CLI: asterisks and the last ``keep`` characters at most."""
    if not value:
        return ""
    keep = min(keep, len(value) // 4)
    return "*" * (16 if len(value) > 16 else len(value) - keep) + (value[-keep:] if keep else "")


def parse_key_csv(data: bytes | str) -> KeyCsv:
    """Read the access-key CSV the IAM console offers for download.

    Both layouts are accepted: ``Access key ID,Secret access key`` and
    ``User name,Password,Access key ID,Secret access key,Console login link``.
    Headers match case-insensitively; a BOM, stray whitespace, CRLF and a
    spreadsheet's re-save with ``;`` or tabs are tolerated. The console
    password, when present, is never read into the result. Every problem is a
    :class:`~awswidget.errors.ValidationError` on the ``csv`` field, without the
    file's content.
    """
    text: str | None
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = None  # raised below, not here: the decoder's error holds every byte of the file
        if text is None:
            raise ValidationError("csv", "The key file is not a text (UTF-8) CSV file.")
    else:
        text = data.lstrip("\ufeff")
    found = None
    for delimiter in (",", ";", "\t"):
        try:
            rows = [
                [c.strip() for c in row]
                for row in csv.reader(io.StringIO(text, newline=None), delimiter=delimiter)
                if any(c.strip() for c in row)
            ]
        except csv.Error:
            raise ValidationError("csv", "The key file is not a valid CSV file.") from None
        if not rows:
            raise ValidationError("csv", "The key file is empty.")
        header = [h.lower() for h in rows[0]]
        if "access key id" in header and "secret access key" in header:
            found = rows, header
            break
    if found is None:
        raise ValidationError(
            "csv",
            "The key file has no 'Access key ID' and 'Secret access key' columns; "
            "download it from the IAM console (Security credentials → Access keys).",
        )
    rows, header = found
    id_col, secret_col = header.index("access key id"), header.index("secret access key")
    user_col = header.index("user name") if "user name" in header else None
    if len(rows) < 2:
        raise ValidationError("csv", "The key file has a header but no key.")
    row = rows[1]
    if len(row) <= max(id_col, secret_col):
        raise ValidationError("csv", "The key row of the file is missing columns.")
    try:
        key_id, _ = validate_access_key_id(row[id_col])
        secret, _ = validate_secret_access_key(row[secret_col])
    except ValidationError as exc:
        # Shown at the file upload, where the user acted; the reason never quotes the value.
        raise ValidationError("csv", f"In the key file: {exc.reason}") from None
    user = row[user_col] if user_col is not None and len(row) > user_col and row[user_col] else None
    if user is not None and not _IAM_USER_RE.fullmatch(user):
        user = None  # not an IAM user name (a mangled file): neither shown nor used for the profile name
    return KeyCsv(key_id, secret, user)


def suggest_profile_name(user_name: str | None) -> str | None:
    """A profile name derived from an IAM user name, or ``None``."""
    if not user_name:
        return None
    cleaned = re.sub(r"[^A-Za-z0-9_.@+-]+", "-", user_name).strip("-")
    try:
        return validate_profile_name(cleaned)
    except ValidationError:
        return None
