"""Role profiles as a person types them, and the AssumeRole check made before one is saved.

A role profile is what ``aws configure set`` writes for a role: a ``[profile NAME]``
section of the config file with ``role_arn``, ``source_profile`` (or
``credential_source``), and optionally ``mfa_serial``, ``external_id``,
``role_session_name``, ``duration_seconds``, ``region``, ``output``; nothing in
the credentials file.

:func:`check_role_fields` checks every field and never raises (the setup form
shows its verdicts field by field); :func:`validate_role` raises the first problem
of the same checks; :func:`assume` asks STS to assume the role with the source's
credentials, through botocore's own :class:`~botocore.credentials.AssumeRoleCredentialFetcher`
and the process-wide role cache, so the credentials a verified save obtained
(with its one MFA code) are the ones the saved profile then uses.
:func:`validate_edit` checks a change of an existing profile's settings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from . import _redact, _session
from .errors import ValidationError, VerificationError
from .identity import FALLBACK_REGION, Identity, explain, get_caller_identity
from .mfa import validate_mfa_code
from .validate import validate_profile_name, validate_region, validate_value

__all__ = [
    "CREDENTIAL_SETTINGS",
    "CREDENTIAL_SOURCES",
    "EDITABLE",
    "OUTPUTS",
    "ROLE_FIELDS",
    "RoleCheck",
    "RoleProfile",
    "assume",
    "changes_credentials",
    "check_role_fields",
    "source_loop",
    "validate_edit",
    "validate_role",
]

#: The fields of a role profile, in the order their problems are reported.
ROLE_FIELDS = (
    "profile_name", "role_arn", "source_profile", "credential_source", "mfa_serial", "external_id",
    "role_session_name", "duration_seconds", "region", "output", "endpoint_url",
)
#: botocore's names for the credentials of the environment a role can start from.
CREDENTIAL_SOURCES = ("Environment", "Ec2InstanceMetadata", "EcsContainer")
#: The output formats the AWS CLI knows.
OUTPUTS = ("json", "yaml", "yaml-stream", "text", "table")
#: The settings :func:`validate_edit` accepts, as config-file keys.
EDITABLE = ("region", "output", "endpoint_url", "role_arn", "source_profile", "credential_source", "mfa_serial",
            "external_id", "role_session_name", "duration_seconds")
#: The settings that decide which credentials a profile uses: changing one is asked about first.
CREDENTIAL_SETTINGS = ("role_arn", "source_profile", "credential_source", "mfa_serial")
# Keys by which a config section gets credentials some other way: a replaced profile must not keep them
# (botocore would pick the role first, but the section would say two things).
_OTHER_SOURCES = ("credential_process", "sso_session", "sso_start_url", "sso_account_id", "sso_role_name", "sso_region",
                  "web_identity_token_file")

_PARTITION = r"arn:(?:aws|aws-cn|aws-us-gov):iam::(\d{12})"
# IAM names: letters, digits and + = , . @ _ -; a path is /segment/.../ of the same characters.
_ROLE_ARN_RE = re.compile(_PARTITION + r":role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})", re.ASCII)
_MFA_ARN_RE = re.compile(_PARTITION + r":mfa/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,128}", re.ASCII)
_HARDWARE_SERIAL_RE = re.compile(r"[A-Za-z0-9]{9,256}")  # a hardware token's own serial number (GAHT12345678)
_SESSION_NAME_RE = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)  # STS's RoleSessionName rule
_EXTERNAL_ID_RE = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)  # STS's ExternalId rule
_MIN_DURATION, _MAX_DURATION = 900, 43200
_LABELS = {"endpoint_url": "endpoint URL", "role_arn": "role ARN", "mfa_serial": "MFA device", "external_id": "external ID",
           "role_session_name": "session name", "duration_seconds": "duration"}
# ASCII digits only: str.isdigit() and int() take '²' (int refuses it), '٣٦٠٠', '９００'; nine at most keeps int() cheap.
_SECONDS_RE = re.compile(r"[0-9]{1,9}")
# What would end a line of the config file (the writer's own rule, said here with the field's name).
_LINE_BREAKS = "\r\n\x00"
# The keys that make a profile's credentials come from static keys (botocore's _has_static_credentials).
_STATIC_KEYS = ("aws_access_key_id", "aws_secret_access_key")


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValidationError(name, f"The {name.replace('_', ' ')} must be text, not {type(value).__name__}.")
    text = str(value).strip()
    if any(c in text for c in _LINE_BREAKS):
        raise ValidationError(name, f"The {name.replace('_', ' ')} cannot contain line breaks.")
    return text


def validate_role_arn(value: Any) -> str:
    arn = _text(value, "role_arn")
    if not arn:
        raise ValidationError("role_arn", "Enter the ARN of the role (arn:aws:iam::123456789012:role/NAME).")
    if not _ROLE_ARN_RE.fullmatch(arn):
        hint = " (that is a user, not a role)" if ":user/" in arn else " (an assumed-role ARN is a session, not the role)" if ":assumed-role/" in arn else ""
        raise ValidationError("role_arn", f"This is not the ARN of an IAM role{hint}: it has the form "
                                          "arn:aws:iam::<12-digit account>:role/<path/>NAME.")
    return arn


def validate_mfa_serial(value: Any) -> str | None:
    serial = _text(value, "mfa_serial")
    if not serial:
        return None
    if not (_MFA_ARN_RE.fullmatch(serial) or (not serial.startswith("arn:") and _HARDWARE_SERIAL_RE.fullmatch(serial))):
        raise ValidationError("mfa_serial", "The MFA device is its ARN (arn:aws:iam::<12-digit account>:mfa/NAME, as IAM "
                                            "shows it) or a hardware token's serial number.")
    return serial


def validate_external_id(value: Any) -> str | None:
    external = _text(value, "external_id")
    if external and not _EXTERNAL_ID_RE.fullmatch(external):
        raise ValidationError("external_id", "An external ID has 2 to 1224 characters: letters, digits and + = , . @ : / _ -.")
    return external or None


def validate_session_name(value: Any) -> str | None:
    name = _text(value, "role_session_name")
    if name and not _SESSION_NAME_RE.fullmatch(name):
        raise ValidationError("role_session_name", "A role session name has 2 to 64 characters: letters, digits and + = , . @ _ -.")
    return name or None


def validate_duration(value: Any) -> int | None:
    text = _text(value, "duration_seconds")
    if not text:
        return None
    if not _SECONDS_RE.fullmatch(text) or not _MIN_DURATION <= int(text) <= _MAX_DURATION:
        raise ValidationError("duration_seconds", f"The session duration is a number of seconds from {_MIN_DURATION} "
                                                  f"(15 minutes) to {_MAX_DURATION} (12 hours), within the role's maximum.")
    return int(text)


def validate_output(value: Any) -> str | None:
    output = _text(value, "output").lower()
    if output and output not in OUTPUTS:
        raise ValidationError("output", f"The output format is one of {', '.join(OUTPUTS)}.")
    return output or None


def validate_endpoint(value: Any) -> str | None:
    url = _text(value, "endpoint_url")
    if url and not url.startswith(("https://", "http://")):
        raise ValidationError("endpoint_url", "The endpoint URL must start with https:// (or http:// for a local endpoint).")
    return validate_value("endpoint_url", url) if url else None


def _source_profile(value: Any, *, name: str | None, existing: Collection[str], static: bool = False) -> str | None:
    profile = _text(value, "source_profile")
    if profile and profile == name and not static:  # botocore lets a profile source its own static keys, nothing else
        raise ValidationError("source_profile", "A role profile cannot be its own source profile.")
    if profile and profile not in existing:
        raise ValidationError("source_profile", f"There is no profile named '{_echo(profile)}' to start from.")
    return profile or None


def _credential_source(value: Any) -> str | None:
    source = _text(value, "credential_source")
    if source and source not in CREDENTIAL_SOURCES:
        raise ValidationError("credential_source", f"The credential source is one of {', '.join(CREDENTIAL_SOURCES)}.")
    return source or None


def _echo(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[:limit] + "…"


def validate_source(source_profile: Any, credential_source: Any, *, name: str | None, existing: Collection[str],
                    static: bool = False) -> tuple[str | None, str | None]:
    """Exactly one of a profile the files define (not the role itself, unless ``static``: it has keys of its
    own) and one of :data:`CREDENTIAL_SOURCES`."""
    profile, source = _text(source_profile, "source_profile"), _text(credential_source, "credential_source")
    if profile and source:
        raise ValidationError("source_profile", "Choose a source profile or a credential source, not both.")
    if source:
        return None, _credential_source(source)
    if not profile:
        raise ValidationError("source_profile", "Choose the profile whose credentials assume the role (or a credential source).")
    return _source_profile(profile, name=name, existing=existing, static=static), None


def _has_static_keys(profile: Any) -> bool:
    return isinstance(profile, Mapping) and any(key in profile for key in _STATIC_KEYS)


def _assumes_role(profile: Any) -> bool:
    # botocore's AssumeRoleProvider._has_assume_role_config_vars: web identity takes such a profile elsewhere.
    return isinstance(profile, Mapping) and "role_arn" in profile and "web_identity_token_file" not in profile


def source_loop(start: str, profiles: Mapping[str, Mapping[str, Any]]) -> list[str] | None:
    """The profiles botocore visits for ``start``'s credentials when they go round in a loop, else ``None``.

    ``profiles`` is botocore's merged ``profiles`` (both files). This replays
    AssumeRoleProvider: a source_profile chain may not come back to a profile it
    visited (``InfiniteLoopConfigError``), except a profile naming itself when it
    has static keys; a source with static keys, or that is no role, ends the chain.
    Other faults (a missing source, both sources) end the walk: they are not loops.
    """
    visited, current = [start], start
    profile = profiles.get(start)
    if not _assumes_role(profile):
        return None
    while True:
        assert profile is not None
        source = profile.get("source_profile")
        if profile.get("credential_source") is not None or not isinstance(source, str) or source not in profiles:
            return None
        if source in visited and (source != current or not _has_static_keys(profiles[source])):
            return [*visited, source]
        visited.append(source)
        profile = profiles[source]
        if _has_static_keys(profile) or not _assumes_role(profile):
            return None
        current = source


def _check_chain(name: str, settings: Mapping[str, Any], profiles: Mapping[str, Mapping[str, Any]]) -> None:
    """ValidationError on ``source_profile`` when giving ``name`` these (merged) settings makes any chain loop through it."""
    after = {**profiles, name: settings}
    for start in sorted(after, key=lambda n: n != name):  # the edited profile's own loop first
        path = source_loop(start, after)
        if path is not None and name in path:
            raise ValidationError("source_profile", f"That makes a loop of source profiles ({' → '.join(path)}), "
                                                    "which botocore refuses: choose a source profile whose own sources "
                                                    "do not lead back.")


@dataclass(frozen=True)
class RoleProfile:
    """A checked role profile; :meth:`settings` is what goes to the config file."""

    name: str
    role_arn: str
    source_profile: str | None = None
    credential_source: str | None = None
    mfa_serial: str | None = None
    external_id: str | None = None
    role_session_name: str | None = None
    duration_seconds: int | None = None
    region: str | None = None
    output: str | None = None
    endpoint_url: str | None = None

    def settings(self, *, replace: bool = False) -> dict[str, str | None]:
        """``aws configure set`` keys in its order; ``replace``: also remove the role keys not given and other sources."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "name"}
        written = {k: None if v is None else str(v) for k, v in values.items() if v is not None or replace}
        return {**written, **({k: None for k in _OTHER_SOURCES} if replace else {})}

    @property
    def account(self) -> str:
        match = _ROLE_ARN_RE.fullmatch(self.role_arn)
        return match.group(1) if match else ""


@dataclass(frozen=True)
class RoleCheck:
    """Per-field ``errors`` (sentences) and the ``role`` they make when there are none."""

    errors: dict[str, str] = field(default_factory=dict)
    role: RoleProfile | None = None
    exists: bool = False

    @property
    def first_error(self) -> tuple[str, str] | None:
        return next(((name, self.errors[name]) for name in ROLE_FIELDS if name in self.errors), None)


def check_role_fields(*, profile_name: Any, role_arn: Any, source_profile: Any = None, credential_source: Any = None,
                      mfa_serial: Any = None, external_id: Any = None, role_session_name: Any = None,
                      duration_seconds: Any = None, region: Any = None, output: Any = None, endpoint_url: Any = None,
                      existing: Collection[str] | Mapping[str, Mapping[str, Any]] = ()) -> RoleCheck:
    """Check every field of a role profile; never raises for bad input.

    ``existing``: the profiles' names, or botocore's merged ``profiles`` (name → settings), which also
    lets the ``source_profile`` chain be checked for a loop (:func:`source_loop`).
    """
    errors: dict[str, str] = {}
    profiles: Mapping[str, Any] = existing if isinstance(existing, Mapping) else {}
    values: dict[str, Any] = {}

    def run(key: str, check: Callable[[], Any]) -> None:
        try:
            values[key] = check()
        except ValidationError as exc:
            errors[exc.field if exc.field in ROLE_FIELDS else key] = exc.reason

    run("name", lambda: validate_profile_name(profile_name))
    run("role_arn", lambda: validate_role_arn(role_arn))
    run("source", lambda: validate_source(source_profile, credential_source, name=values.get("name"), existing=existing,
                                          static=_has_static_keys(profiles.get(values.get("name") or ""))))
    run("mfa_serial", lambda: validate_mfa_serial(mfa_serial))
    run("external_id", lambda: validate_external_id(external_id))
    run("role_session_name", lambda: validate_session_name(role_session_name))
    run("duration_seconds", lambda: validate_duration(duration_seconds))
    run("region", lambda: validate_region(region or None)[0])
    run("output", lambda: validate_output(output))
    run("endpoint_url", lambda: validate_endpoint(endpoint_url))
    if errors:
        return RoleCheck(errors)
    profile, source = values.pop("source")
    role = RoleProfile(source_profile=profile, credential_source=source, **values)
    if profiles:  # the profile as it would be: a replaced one keeps its credentials-file keys
        after = {k: v for k, v in {**profiles.get(role.name, {}), **role.settings(replace=True)}.items() if v is not None}
        run("source_profile", lambda: _check_chain(role.name, after, profiles))
        if errors:
            return RoleCheck(errors)
    return RoleCheck({}, role, role.name in existing)


def validate_role(**kwargs: Any) -> RoleProfile:
    """The checked :class:`RoleProfile` of :func:`check_role_fields`'s arguments, or its first problem as a ValidationError."""
    result = check_role_fields(**kwargs)
    first = result.first_error
    if first is not None:
        raise ValidationError(*first)
    assert result.role is not None
    return result.role


# ---------------------------------------------------------------------- the check

def _source_credentials(role: RoleProfile, config_file: str, credentials_file: str, prompter: Callable[[str], str] | None) -> Any:
    """The credentials the role is assumed with, resolved by botocore as it will resolve them for the saved profile."""
    from botocore.credentials import CanonicalNameCredentialSourcer, EnvProvider, InstanceMetadataProvider
    from botocore.utils import InstanceMetadataFetcher

    where, at = _source_words(role)
    try:
        if role.credential_source is not None:
            # EcsContainer: the container's own credentials, never the endpoint awswidget exported (the selection's).
            sourcer = CanonicalNameCredentialSourcer(
                [EnvProvider(), _session.container_provider(),
                 InstanceMetadataProvider(iam_role_fetcher=InstanceMetadataFetcher(timeout=2, num_attempts=1))])
            credentials = sourcer.source_credentials(role.credential_source)
        else:
            session = _session.make_session(role.source_profile, role.region, config_file, credentials_file, prompter=prompter)
            credentials = session.get_credentials()
        frozen = None if credentials is None else credentials.get_frozen_credentials()
    except Exception as exc:  # one sentence, never a value; raised outside this block, not even as __context__
        error = explain(exc)
    else:
        if frozen is not None and frozen.access_key:
            return frozen
        error = VerificationError("it has no credentials.", at, "NoCredentials")
    raise VerificationError(f"The {where} gives no usable credentials: {error.reason}",
                            error.field if error.field == "mfa_code" else at, error.code) from None


def _source_words(role: RoleProfile) -> tuple[str, str]:
    if role.source_profile is not None:
        return f"source profile '{role.source_profile}'", "source_profile"
    return f"credential source {role.credential_source}", "credential_source"


# STS's ValidationError names the parameter at fault in its text ("Value at 'roleSessionName' failed to satisfy...").
_STS_PARAMETERS = {"rolearn": "role_arn", "rolesessionname": "role_session_name", "durationseconds": "duration_seconds",
                   "externalid": "external_id", "serialnumber": "mfa_serial", "tokencode": "mfa_code"}


def _refusal(error: VerificationError, role: RoleProfile) -> VerificationError:
    """What AWS's answer to AssumeRole means for the fields of the form."""
    where, at = _source_words(role)
    if error.code == "AccessDenied":
        extra = " (with this external ID)" if role.external_id else ""
        return VerificationError(
            f"AWS refused to let the {where} assume {role.role_arn} (AccessDenied): the role's trust policy must allow "
            f"the user or role behind the {where}{extra}, and that identity's own policy must allow sts:AssumeRole on the role.",
            at, "AccessDenied")
    if error.field in ("access_key_id", "secret_access_key", "session_token"):
        return VerificationError(f"The {where}'s credentials were refused: {error.reason}", at, error.code)
    if error.code in ("ValidationError", "InvalidParameterValue"):
        lowered = error.reason.replace(" ", "").lower()
        found = next((name for key, name in _STS_PARAMETERS.items() if key in lowered), "role_arn" if "arn" in lowered else None)
        return VerificationError(error.reason, found, error.code)
    if error.code == "RegionDisabledException":
        return VerificationError(f"STS is not activated in this region for account {role.account}: choose another region.", "region", error.code)
    return error


def assume(role: RoleProfile, config_file: str, credentials_file: str, *, mfa_code: str | None = None,
           prompter: Callable[[str], str] | None = None, cache: Mapping[str, Any] | None = None) -> Identity:
    """Assume ``role`` with its source's credentials and return who that makes the caller.

    Raises :class:`VerificationError` whose ``field`` names the field at fault. The role's
    temporary credentials go to botocore's role cache under the key botocore computes for
    the saved profile, so one MFA code serves the check and the profile's first use.
    """
    from botocore.credentials import AssumeRoleCredentialFetcher

    code = validate_mfa_code(mfa_code or "") if role.mfa_serial is not None else ""
    source = _source_credentials(role, config_file, credentials_file, prompter)
    _redact.remember(source.secret_key, source.token)
    extra: dict[str, Any] = {}
    for key, value in (("RoleSessionName", role.role_session_name), ("ExternalId", role.external_id),
                       ("SerialNumber", role.mfa_serial), ("DurationSeconds", role.duration_seconds)):
        if value is not None:
            extra[key] = value  # exactly as botocore's AssumeRoleProvider passes them: the same cache key
    region = role.region or FALLBACK_REGION

    def client_creator(service: str, **kwargs: Any) -> Any:
        kwargs.setdefault("region_name", region)
        if role.endpoint_url:
            kwargs["endpoint_url"] = role.endpoint_url
        return _session.plain_botocore_session().create_client(service, **kwargs)

    class _Source:  # botocore's fetcher asks its source for frozen credentials
        @staticmethod
        def get_frozen_credentials() -> Any:
            return source

    fetcher = AssumeRoleCredentialFetcher(
        client_creator, _Source(), role.role_arn, extra_args=extra, mfa_prompter=lambda _prompt: code,
        cache=_session.role_cache() if cache is None else cache)
    try:
        credentials = fetcher.fetch_credentials()
    except Exception as exc:  # the reply may quote a signature: one sentence only
        error = _refusal(explain(exc, role.endpoint_url), role)
    else:
        _redact.remember(credentials["secret_key"], credentials["token"])
        session = _session.key_session(credentials["access_key"], credentials["secret_key"], credentials["token"], region)
        kwargs: dict[str, Any] = {"endpoint_url": role.endpoint_url} if role.endpoint_url else {}
        return get_caller_identity(session, **kwargs)
    raise error from None


# ---------------------------------------------------------------------- editing

def validate_edit(name: str, current: Mapping[str, Any], changes: Mapping[str, Any], *,
                  existing: Collection[str] | Mapping[str, Mapping[str, Any]]) -> dict[str, str | None]:
    """Checked config-file changes of profile ``name`` (``None``: remove the key), or the first ValidationError.

    ``current`` holds the profile's settings now (botocore's merged view of both files); an
    empty value removes a setting. The profile it leaves must still be a role botocore can
    use; ``existing`` as in :func:`check_role_fields` (a mapping: no source_profile loop either).
    """
    static = _has_static_keys(current)
    checks: dict[str, Callable[[Any], Any]] = {
        "region": lambda v: validate_region(v or None)[0], "output": validate_output, "endpoint_url": validate_endpoint,
        "role_arn": lambda v: validate_role_arn(v) if _text(v, "role_arn") else None, "mfa_serial": validate_mfa_serial,
        "source_profile": lambda v: _source_profile(v, name=name, existing=existing, static=static),
        "credential_source": _credential_source,
        "external_id": validate_external_id, "role_session_name": validate_session_name, "duration_seconds": validate_duration,
    }
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValidationError(unknown[0], f"'{unknown[0]}' is not a setting awswidget edits (it edits {', '.join(EDITABLE)}).")
    for key, value in changes.items():  # every field, before its own check: the writer would only say "WriteError"
        if isinstance(value, str) and any(c in value.strip() for c in _LINE_BREAKS):
            raise ValidationError(key, f"The {_LABELS.get(key, key.replace('_', ' '))} cannot contain line breaks.")
    cleaned = {key: None if (v := checks[key](value)) is None else str(v) for key, value in changes.items()}
    after = {key: current.get(key) for key in EDITABLE} | cleaned
    if after["role_arn"] is not None:
        validate_source(after["source_profile"], after["credential_source"], name=name, existing=existing, static=static)
    elif any(after[key] is not None for key in ("source_profile", "credential_source", "mfa_serial", "external_id", "role_session_name")) \
            and current.get("role_arn") is not None:
        raise ValidationError("role_arn", "Without a role ARN the role settings mean nothing: clear them too, or keep the ARN.")
    elif after["source_profile"] is not None and after["credential_source"] is not None and \
            ("source_profile" in changes or "credential_source" in changes):
        raise ValidationError("source_profile", "Choose a source profile or a credential source, not both.")
    changed = {key: value for key, value in cleaned.items() if value != current.get(key)}
    if isinstance(existing, Mapping) and any(key in changed for key in ("role_arn", "source_profile", "credential_source")):
        _check_chain(name, {k: v for k, v in {**current, **changed}.items() if v is not None}, existing)
    return changed


def changes_credentials(current: Mapping[str, Any], changes: Mapping[str, Any]) -> list[str]:
    """The :data:`CREDENTIAL_SETTINGS` that ``changes`` (from :func:`validate_edit`) would change."""
    return [key for key in CREDENTIAL_SETTINGS if key in changes and changes[key] != current.get(key)]
