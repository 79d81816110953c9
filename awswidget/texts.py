"""Every sentence about the state of a notebook's AWS connection, in one place.

The core returns structured states (codes and data: an :class:`~awswidget.identity.Identity`,
an :class:`~awswidget.expiry.ExpiryStatus`, a :class:`Notice`); this module turns
them into the sentences the manager's ``message`` and ``warnings`` hold and the
widgets show. It names no widget: a remedy says what to do ("refresh and enter a
new MFA code"), and each frontend shows the control that does it. Exception
messages stay with their exception classes (``errors.py``, ``identity.explain``),
as botocore keeps its ``fmt`` templates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .identity import Identity

__all__ = ["Notice", "expiry_sentence", "notice", "summary", "who"]


@dataclass(frozen=True)
class Notice:
    """Something the user should know about the selection: a ``code`` and its data."""

    code: str
    data: dict[str, Any] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        return notice(self)


def who(identity: Identity, *, short: bool = False) -> str:
    """``"root user"``, ``"IAM user alice"``, ``"assumed role admin/session"``…

    ``short`` leaves out an assumed role's session name (``"assumed role admin"``).
    """
    if identity.is_root:
        return "root user"
    name = identity.name.split("/", 1)[0] if short and identity.principal_kind == "assumed role" else identity.name
    return f"{identity.principal_kind} {name}"


def summary(
    profile: str | None,
    region: str | None,
    *,
    kind: str = "",
    identity: Identity | None = None,
    has_profiles: bool = True,
    file_errors: Sequence[str] = (),
    files: tuple[str, str] = ("", ""),
) -> str:
    """The manager's ``message`` for a selection (verified or not yet)."""
    if profile is None:
        if file_errors:
            return file_errors[0]
        if not has_profiles:
            return f"No AWS profile yet: add one with the setup form or add_profile() (files: {files[0]}, {files[1]})."
        return "No profile selected."
    where = region or "no region"
    if identity is not None:
        return f"Connected: {profile} · account {identity.account} · {where} · {who(identity)}."
    return f"Selected {profile} ({kind}) · {where} · not verified yet."


def verifying(profile: str) -> str:
    return f"Verifying {profile}…"


def not_verified(profile: str | None, reason: str) -> str:
    return f"Profile '{profile or '(none)'}' could not be verified: {reason}"


_NOTICES = {
    "shadowed": "{vars} are set in the environment: boto3.client() here uses '{profile}', but the aws CLI and new "
    "boto3.Session() objects will use the environment keys.",
    "file-mode": "{path} can be {what} by other users (mode {mode:04o}); run: chmod 600 {path}",
    "region-ignored": "The region of profile '{profile}' in {path} is not a region name; it is ignored.",
    "root-keys": "These are root credentials of account {account}: AWS recommends using an IAM user's access keys "
    "(or a role) instead of root keys.",
    "env-profile-missing": "{var} names the profile '{wanted}', which is not in {config} or {credentials}{instead}.",
    "profile-gone": "Profile '{profile}' is no longer in the shared files.",
    "profile-removed-meanwhile": "Profile '{profile}' was saved, then removed by another program before awswidget "
    "could read it back.",
    "not-owner": "This manager does not steer the notebook (boto3's default session and AWS_PROFILE follow another "
    "manager); call activate() to make it the one that does.",
}


def notice(item: Notice) -> str:
    """The sentence for one :class:`Notice`."""
    data = dict(item.data)
    if item.code == "shadowed":
        data["vars"] = " and ".join(data["vars"])
    if item.code == "env-profile-missing":
        fallback = data.get("fallback")
        data["instead"] = f"; using '{fallback}' instead" if fallback else ""
    if item.code == "file-mode":
        data["what"] = "read" if data["mode"] & 0o044 else "changed"
    return _NOTICES[item.code].format(**data)


def describe_rows(profile: str | None, region: str | None, info: Any, files: Any, user_env: Any) -> list[tuple[str, str, str]]:
    """``(setting, value, where it comes from)`` rows, like ``aws configure list``.

    ``info`` is the selection's :class:`~awswidget.profiles.ProfileInfo` (or ``None``),
    ``files`` its :class:`~awswidget.files.SharedFiles`, ``user_env(name)`` the user's
    own value of an environment variable.
    """
    profile_src = ""
    if profile:
        profile_src = next((f"environment ({v})" for v in ("AWS_DEFAULT_PROFILE", "AWS_PROFILE") if user_env(v) == profile),
                           "selected in awswidget")
    if region is None:
        region_src = ""
    elif user_env("AWS_DEFAULT_REGION") == region:
        region_src = "environment (AWS_DEFAULT_REGION)"
    else:
        region_src = files.config_file if info is not None and info.region == region else "selected in awswidget"
    rows = [("profile", profile or "(none)", profile_src), ("region", region or "(none)", region_src)]
    rows += [row for row in (info.settings if info is not None else ()) if row[0] != "region"]
    for label, path, var in (("config file", files.config_file, "AWS_CONFIG_FILE"),
                             ("credentials file", files.credentials_file, "AWS_SHARED_CREDENTIALS_FILE")):
        rows.append((label, path, var if user_env(var) else "default location"))
    return rows


# ---------------------------------------------------------------- expiry

#: What to do when credentials run out, per action code.
REMEDIES = {
    "mfa": "refresh and enter a new MFA code",
    "sso-login": "log in with SSO again",
    "refresh": "refresh",
    "mfa-login": "get a new MFA session (MFA login)",
}

_WHAT = {
    "mfa": "MFA session",
    "sso": "SSO login",
    "process": "Process credentials",
    "role": "Role credentials",
    "temporary": "Temporary credentials",
}


def format_remaining(delta: dt.timedelta) -> str:
    """``"1 h 05 min"``, ``"4 min"``, ``"45 s"`` (never negative)."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def clock_time(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%H:%M UTC")


def expiry_sentence(
    what: str, expires_at: dt.datetime, remaining: dt.timedelta, level: str, action: str, renews: bool
) -> str:
    """One sentence for the status line: time left, and what to do near the end.

    ``what`` is a kind code (``"mfa"``, ``"sso"``, ``"role"``...) or a phrase.
    """
    what = _WHAT.get(what, what)
    until = clock_time(expires_at)
    if renews:
        if remaining <= dt.timedelta(0):
            return f"{what}: renewed automatically on the next call (the last ones ended at {until})."
        return f"{what}: renewed automatically (current ones until {until})."
    remedy = REMEDIES.get(action, REMEDIES["refresh"])
    if level == "expired":
        return f"{what} ended at {until}: {remedy}."
    if level == "warning":
        return f"{what} ends in {format_remaining(remaining)} ({until}): {remedy} to continue."
    return f"{what}: {format_remaining(remaining)} left (until {until})."


# ---------------------------------------------------------------- MFA prompts

_MFA_UNAVAILABLE = {
    "callback": "An MFA code is needed for {who}, but it was requested from a widget callback on the kernel's main "
    "thread, where no prompt can be answered; verify in the background (manager.verify(block=False)) to be asked "
    "for the code.",
    "no-stdin": "An MFA code is needed for {who}, but this frontend cannot show an input prompt ({detail}); verify in "
    "the background (manager.verify(block=False)) and answer manager.mfa_request, then run the cell again.",
    "nobody": "An MFA code is needed for {who}, but nothing is listening for it on this thread.",
    "no-terminal": "An MFA code is needed for {who}, and there is no terminal or notebook here to type it in: renew "
    "from Python with manager.refresh_credentials(block=False) then manager.mfa_request.answer('<6-digit code>'), "
    "or run this where a code can be typed.",
}


def mfa_unavailable(route: str, profile: str | None, detail: str = "") -> str:
    who_ = f"profile '{profile}'" if profile else "this profile"
    return _MFA_UNAVAILABLE.get(route, _MFA_UNAVAILABLE["nobody"]).format(who=who_, detail=detail)


# ---------------------------------------------------------------- renewal (issue 16: MFA in place, SSO refresh)

RENEWAL = {
    "sso-refresh": "SSO login: renewed automatically with its refresh token (current access token until {until}).",
    "sso-via": "SSO login (source of this role): renewed automatically with its refresh token.",
}


def renewal(code: str, what: str = "", remaining: dt.timedelta | None = None, until: dt.datetime | None = None) -> str:
    """A sentence about renewing credentials in place (``code``: a key of :data:`RENEWAL`)."""
    what = _WHAT.get(what, what)
    left = format_remaining(remaining) if remaining is not None else ""
    return RENEWAL[code].format(what=what, left=left, until=clock_time(until) if until is not None else "")
