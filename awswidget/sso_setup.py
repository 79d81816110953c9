"""IAM Identity Center onboarding: from a start URL to profiles, as ``aws configure sso`` writes them.

1. :func:`setup_config` checks the start URL, SSO region and session name;
2. :func:`device_login` is the device login of :class:`~awswidget.sso.DeviceLogin`:
   the token lands in the CLI's cache under the session name, so ``aws`` sees the login;
3. :func:`list_roles` lists every account (``ListAccounts``) and its roles
   (``ListAccountRoles``), all pages, with the cached token;
4. :func:`save_profiles` writes ``[sso-session NAME]`` (``sso_start_url``, ``sso_region``,
   ``sso_registration_scopes``) and one ``[profile NAME]`` per choice (``sso_session``,
   ``sso_account_id``, ``sso_role_name``, ``region``, ``output``) -- the CLI's keys in
   the CLI's order -- in ONE atomic write of the config file, both files locked.

Run again later, :func:`inventory` says which roles have no profile yet and which
profiles of the session name a role that is gone; those are removed only when the
caller lists them in ``remove``. The access token never leaves this module.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from . import _redact, _session
from ._ini import IniDocument
from .errors import AwsWidgetError, ValidationError
from .files import config_header, config_profile_name
from .sso import DeviceLogin, SsoConfig
from .store import ProfileStore
from .validate import validate_profile_name, validate_region, validate_value

__all__ = [
    "SCOPES",
    "SaveResult",
    "SsoChoice",
    "SsoInventory",
    "SsoRole",
    "SsoSetupError",
    "default_session_name",
    "device_login",
    "existing_profiles",
    "inventory",
    "list_roles",
    "logged_in",
    "save_profiles",
    "setup_config",
    "suggest_profile_name",
    "validate_start_url",
    "without_userinfo",
]

#: What ``aws configure sso`` registers by default (and writes as ``sso_registration_scopes``).
SCOPES = ("sso:account:access",)
OUTPUTS = ("json", "yaml", "yaml-stream", "text", "table")
_SESSION_RE = re.compile(r"[A-Za-z0-9_.@+-]+")
MAX_URL = 2048  # longer is no start URL (and would fill every message and file it lands in)
_PAGE = 100  # ListAccounts / ListAccountRoles page size asked for (the services' maximum is larger)


class SsoSetupError(AwsWidgetError):
    """Onboarding cannot go on; ``field`` names the input at fault when there is one."""

    fmt = "{reason}"

    def __init__(self, reason: str, field: str | None = None) -> None:
        self.reason = reason
        self.field = field
        super().__init__(reason=reason, field=field)


@dataclass(frozen=True)
class SsoRole:
    """One role the person may use in one account (no secret)."""

    account_id: str
    account_name: str
    role_name: str
    email: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.account_id, self.role_name)

    @property
    def suggested_name(self) -> str:
        return suggest_profile_name(self.account_name or self.account_id, self.role_name)

    @property
    def label(self) -> str:
        return f"{self.account_name} ({self.account_id}) · {self.role_name}"


@dataclass(frozen=True)
class SsoChoice:
    """A profile to write: its name, account and role."""

    name: str
    account_id: str
    role_name: str


@dataclass(frozen=True)
class SsoInventory:
    """What the start URL offers against what the files already hold for this session."""

    roles: tuple[SsoRole, ...]
    #: profiles of this SSO session already written: name -> (account id, role name)
    existing: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def new(self) -> tuple[SsoRole, ...]:
        """Roles without a profile of this session yet."""
        have = set(self.existing.values())
        return tuple(r for r in self.roles if r.key not in have)

    @property
    def gone(self) -> tuple[str, ...]:
        """Profiles of this session whose account and role the person can no longer use."""
        offered = {r.key for r in self.roles}
        return tuple(name for name, key in self.existing.items() if key not in offered)


@dataclass(frozen=True)
class SaveResult:
    added: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]


# ---------------------------------------------------------------- inputs


def validate_start_url(url: str) -> str:
    """The start URL stripped, if it is an https URL with a host (``https://d-xxxxxxxxxx.awsapps.com/start``).

    Refused: a user name or password (never echoed), a ``#`` part, a bad port, control or
    text-direction characters, more than :data:`MAX_URL` characters.
    """
    if not isinstance(url, str) or not url.strip():
        raise ValidationError("start_url", "Enter the start URL (for example https://my-company.awsapps.com/start).")
    if len(url) > MAX_URL:
        raise ValidationError("start_url", f"The start URL is longer than {MAX_URL} characters: copy it again from the IAM Identity Center console.")
    url = validate_value("start_url", url)
    # Control and format characters (U+202E and the other bidi overrides among them) make
    # the URL shown differ from the URL used.
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in url):
        raise ValidationError("start_url", "The start URL holds control or text-direction characters: type or paste it again.")
    web_address = "The start URL must be a web address like https://my-company.awsapps.com/start."
    try:
        parsed = urlsplit(url)
    except ValueError:  # "[" without "]"
        raise ValidationError("start_url", web_address) from None
    if parsed.scheme not in ("https", "http") or not parsed.hostname or " " in url:
        raise ValidationError("start_url", web_address)
    if "@" in parsed.netloc:  # the message never repeats it: the part before "@" may be a password
        raise ValidationError("start_url", "The start URL must not hold a user name or password: you sign in on the page the login opens.")
    if "#" in url:
        raise ValidationError("start_url", "The start URL ends before '#': remove the '#' and what follows it.")
    try:
        port = parsed.port
    except ValueError:
        port = 0
    if port == 0 or (port is None and parsed.netloc.endswith(":")):
        raise ValidationError("start_url", "The start URL's port must be a number from 1 to 65535.")
    if parsed.scheme == "http" and parsed.hostname not in ("127.0.0.1", "localhost"):
        raise ValidationError("start_url", "The start URL must start with https://.")
    return url


def without_userinfo(url: str) -> str:
    """``url`` without a ``user:password@`` part (the pane scrubs what was typed, so no widget state keeps it)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def default_session_name(start_url: str) -> str:
    """A session name from the start URL's host: ``my-company`` for ``https://my-company.awsapps.com/start``."""
    return next(_session_names(validate_start_url(start_url)))


def _session_names(url: str) -> Iterator[str]:
    """Session names for ``url``, best first: ``corp``, then ``corp-eu`` (for corp.eu.awsapps.com), ``corp-2``..."""
    host = urlsplit(url).hostname or "sso"
    labels = ["sso"] if host.replace(".", "").isdigit() else host.split(".")
    first = _clean_session(labels[0])
    yield first
    if len(labels) > 3:
        yield _clean_session("-".join(labels[:-2]))
    yield from (f"{first}-{n}" for n in itertools.count(2))


def _clean_session(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.@+-]+", "-", text).strip("-") or "sso"


def validate_session_name(name: str) -> str:
    name = validate_value("session_name", name or "")
    if not name or not _SESSION_RE.fullmatch(name):
        raise ValidationError("session_name", "An SSO session name may use letters, digits and _ . @ + - only.")
    return name


def setup_config(
    start_url: str, sso_region: str, session_name: str | None = None, *, sessions: Mapping[str, Mapping[str, Any]] | None = None
) -> SsoConfig:
    """The checked settings of an onboarding.

    ``sessions`` are the ``[sso-session]`` sections already in the config file (botocore's
    ``full_config["sso_sessions"]``). A session name is also the name of its login in the
    token cache, so a name that one of them uses for another start URL or region is refused
    when asked for (``field="session_name"``), and skipped by the default, which is the
    first free one of ``corp``, ``corp-eu`` (for corp.eu.awsapps.com), ``corp-2``...
    """
    url = validate_start_url(start_url)
    try:
        region, _ = validate_region(sso_region)
    except ValidationError as exc:
        raise ValidationError("sso_region", exc.reason) from None
    if region is None:
        raise ValidationError("sso_region", "Enter the SSO region: the region of IAM Identity Center (for example eu-west-1).")
    sessions = sessions or {}

    def other(name: str) -> tuple[Any, Any] | None:
        values = sessions.get(name)
        if values is None or (values.get("sso_start_url"), values.get("sso_region")) == (url, region):
            return None
        return (values.get("sso_start_url"), values.get("sso_region"))

    free = next(n for n in _session_names(url) if other(n) is None)
    if not session_name:
        return SsoConfig(start_url=url, region=region, session_name=free, scopes=SCOPES)
    name = validate_session_name(session_name)
    clash = other(name)
    if clash is not None:
        raise ValidationError(
            "session_name",
            f"[sso-session {name}] already exists for {clash[0]} in {clash[1]}: choose another session name (for example "
            f"{free}); logging in as {name} would replace that session's login.",
        )
    return SsoConfig(start_url=url, region=region, session_name=name, scopes=SCOPES)


def suggest_profile_name(account_name: str, role_name: str) -> str:
    """``AccountName-RoleName`` with what a profile name may not hold turned into ``-``.

    (The CLI suggests ``RoleName-AccountId``; granted and aws-sso-util build theirs from
    the account name and the role, which people recognise among hundreds.)
    """
    parts = (re.sub(r"[^A-Za-z0-9_.@+-]+", "-", part).strip("-.") for part in (account_name, role_name))
    name = "-".join(p for p in parts if p)[:128] or "sso-profile"
    try:
        return validate_profile_name(name)
    except ValidationError:
        return f"{name}-sso"[:128]


# ---------------------------------------------------------------- login and listing


def device_login(config: SsoConfig, **options: Any) -> DeviceLogin:
    """The device login for ``config`` (not started; ``start()`` or ``run()`` it)."""
    return DeviceLogin(config, **options)


def _token(config: SsoConfig, cache_dir: str | None) -> str | None:
    try:
        token = _session.sso_token_cache(cache_dir)[config.cache_key]
    except KeyError:
        return None
    if not isinstance(token, dict) or token.get("startUrl") != config.start_url or not token.get("accessToken"):
        return None
    expires = token.get("expiresAt")
    try:
        when = dt.datetime.fromisoformat(str(expires).replace("Z", "+00:00"))
    except ValueError:
        return None
    if (when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)) <= dt.datetime.now(dt.timezone.utc):
        return None
    access = str(token["accessToken"])
    _redact.remember(access)
    return access


def logged_in(config: SsoConfig, cache_dir: str | None = None) -> bool:
    """Whether the CLI's cache holds an unexpired login for ``config``'s session and start URL."""
    return _token(config, cache_dir) is not None


def _portal(config: SsoConfig) -> Any:
    from botocore import UNSIGNED
    from botocore.config import Config

    cfg = Config(signature_version=UNSIGNED, connect_timeout=10, read_timeout=30, retries={"max_attempts": 3})
    return _session.plain_botocore_session().create_client("sso", region_name=config.region, config=cfg)


def list_roles(config: SsoConfig, *, client: Any = None, cache_dir: str | None = None) -> list[SsoRole]:
    """Every account and role the login may use, sorted by account name, then role (all pages)."""
    token = _token(config, cache_dir)
    if token is None:
        raise SsoSetupError(f"Not logged in to {config.label}: log in first (the login may also have expired).", "login")
    sso = client or _portal(config)
    try:
        roles: list[SsoRole] = []
        for page in sso.get_paginator("list_accounts").paginate(accessToken=token, PaginationConfig={"PageSize": _PAGE}):
            for account in page.get("accountList", []):
                pages = sso.get_paginator("list_account_roles").paginate(
                    accessToken=token, accountId=account["accountId"], PaginationConfig={"PageSize": _PAGE}
                )
                for rpage in pages:
                    roles.extend(
                        SsoRole(account["accountId"], account.get("accountName", ""), r["roleName"], account.get("emailAddress", ""))
                        for r in rpage.get("roleList", [])
                    )
    except Exception as exc:
        raise _listing_error(exc, config) from None
    return sorted(set(roles), key=lambda r: (r.account_name.lower(), r.account_id, r.role_name.lower()))


def _listing_error(exc: Exception, config: SsoConfig) -> SsoSetupError:
    import botocore.exceptions as be

    if isinstance(exc, be.ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
        if code == "UnauthorizedException":
            return SsoSetupError(f"IAM Identity Center no longer accepts the login to {config.label}: log in again.", "login")
        return SsoSetupError(f"IAM Identity Center refused to list accounts and roles ({code}).", None)
    if isinstance(exc, (be.EndpointConnectionError, be.ConnectTimeoutError, be.ReadTimeoutError, be.ConnectionClosedError)):
        return SsoSetupError(f"Could not reach IAM Identity Center in {config.region}: check the network and the SSO region.", "sso_region")
    return SsoSetupError(f"Listing accounts and roles failed ({type(exc).__name__}).", None)


def existing_profiles(full_config: dict[str, Any], config: SsoConfig) -> dict[str, tuple[str, str]]:
    """Profiles of ``config``'s session in botocore's merged config: name -> (account id, role name).

    None when the config file's ``[sso-session]`` of that name is for another start URL or
    region (or missing): those profiles are not this start URL's to offer for removal.
    """
    session = full_config.get("sso_sessions", {}).get(config.session_name or "")
    if session is None or (session.get("sso_start_url"), session.get("sso_region")) != (config.start_url, config.region):
        return {}
    found = {}
    for name, values in full_config.get("profiles", {}).items():
        if values.get("sso_session") == config.session_name and values.get("sso_account_id") and values.get("sso_role_name"):
            found[name] = (str(values["sso_account_id"]), str(values["sso_role_name"]))
    return found


def inventory(config: SsoConfig, full_config: dict[str, Any], *, client: Any = None, cache_dir: str | None = None) -> SsoInventory:
    """The roles on offer and this session's profiles already written (see :attr:`SsoInventory.gone`)."""
    roles = list_roles(config, client=client, cache_dir=cache_dir)
    return SsoInventory(tuple(roles), existing_profiles(full_config, config))


# ---------------------------------------------------------------- writing


def _settings(region: str | None, output: str | None) -> dict[str, str]:
    values: dict[str, str] = {}
    if region:
        checked, _ = validate_region(region)
        if checked:
            values["region"] = checked
    if output:
        output = validate_value("output", output).lower()
        if output not in OUTPUTS:
            raise ValidationError("output", f"The output format is one of {', '.join(OUTPUTS)}.")
        values["output"] = output
    return values


def _checked_choices(choices: Iterable[SsoChoice | tuple[str, str, str]]) -> list[SsoChoice]:
    checked: list[SsoChoice] = []
    seen: dict[str, SsoChoice] = {}
    for choice in choices:
        c = choice if isinstance(choice, SsoChoice) else SsoChoice(*choice)
        name = validate_profile_name(c.name)
        if not re.fullmatch(r"[0-9]{12}", str(c.account_id)):
            raise ValidationError("account_id", f"'{c.account_id}' is not a 12-digit account ID.")
        role = validate_value("role_name", c.role_name)
        if not role:
            raise ValidationError("role_name", "A role name is empty.")
        if name in seen:
            raise ValidationError("profile_name", f"Two of the chosen roles would both be saved as '{name}': rename one.")
        seen[name] = c
        checked.append(SsoChoice(name, str(c.account_id), role))
    return checked


def save_profiles(
    store: ProfileStore,
    config: SsoConfig,
    choices: Sequence[SsoChoice | tuple[str, str, str]],
    *,
    region: str | None = None,
    output: str | None = None,
    remove: Sequence[str] = (),
) -> SaveResult:
    """Write the session and the chosen profiles (and remove ``remove``), all or nothing.

    A chosen name that is already a profile is refused -- every such name in one
    :class:`~awswidget.errors.ValidationError` (``field="profile_name"``) -- unless it is
    already exactly that profile of this session (counted as ``unchanged``). ``remove``
    may only name profiles of this session. An ``[sso-session]`` of the same name with
    another start URL or region is refused (``field="session_name"``).
    """
    session = config.session_name
    if not session:
        raise ValidationError("session_name", "An SSO session name is needed.")
    picked = _checked_choices(choices)
    settings = _settings(region, output)
    drop = tuple(dict.fromkeys(validate_profile_name(n) for n in remove))
    if not picked and not drop:
        raise ValidationError("profile_name", "Choose at least one account and role.")
    session_header = f"sso-session {session}"
    session_values: dict[str, str | None] = {"sso_start_url": config.start_url, "sso_region": config.region, "sso_registration_scopes": ",".join(config.scopes or SCOPES)}
    outcome: dict[str, tuple[str, ...]] = {}

    def profile_values(c: SsoChoice) -> dict[str, str | None]:
        return {"sso_session": session, "sso_account_id": c.account_id, "sso_role_name": c.role_name, **settings}

    def check(creds: dict[str, Any], sections: dict[str, Any]) -> None:
        profiles = {config_profile_name(h): v for h, v in sections.items() if config_profile_name(h) is not None}
        current = sections.get(session_header)
        if current is not None and (current.get("sso_start_url") != config.start_url or current.get("sso_region") != config.region):
            raise ValidationError(
                "session_name",
                f"[sso-session {session}] already exists for {current.get('sso_start_url')} in {current.get('sso_region')}: choose another session name.",
            )
        for name in drop:
            values = profiles.get(name)
            if values is None or values.get("sso_session") != session:
                raise SsoSetupError(f"'{name}' is not a profile of SSO session {session}: it was not removed (nothing was saved).", "remove")
            if name in creds:
                raise SsoSetupError(f"'{name}' also has keys in the credentials file: remove that profile on its own.", "remove")
        taken, same = [], []
        for c in picked:
            if c.name in drop:
                continue
            values = profiles.get(c.name)
            ours = values is not None and (values.get("sso_session"), values.get("sso_account_id"), values.get("sso_role_name")) == (
                session, c.account_id, c.role_name)
            if ours and c.name not in creds:
                same.append(c.name)
            elif values is not None or c.name in creds:
                taken.append(c.name)
        if taken:
            listed = ", ".join(f"'{n}'" for n in taken)
            raise ValidationError("profile_name", f"Already a profile: {listed}. Choose other names (nothing was saved).")
        outcome["unchanged"] = tuple(same)

    def edit(doc: IniDocument, _sections: dict[str, Any]) -> None:
        unchanged = set(outcome.get("unchanged", ()))
        if drop:
            doc.remove(lambda h: config_profile_name(h) in drop)
        for c in picked:
            if c.name not in unchanged:
                doc.set(config_header(c.name), profile_values(c), match=_named(c.name))
        if session_header not in _sections:
            doc.set(session_header, session_values)

    store.update_config(edit, check)
    unchanged = outcome.get("unchanged", ())
    added = tuple(c.name for c in picked if c.name not in unchanged)
    return SaveResult(added=added, unchanged=tuple(unchanged), removed=drop)


def _named(name: str) -> Callable[[str], bool]:
    return lambda header: config_profile_name(header) == name

