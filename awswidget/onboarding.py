"""Onboarding beyond access keys, on the manager: role profiles, settings edits, IAM Identity Center,
console logins and MFA sessions.

The methods of :class:`~awswidget.manager.CredentialsManager` that create profiles
other than keys, or the logins they rest on. The logic is in :mod:`awswidget.roles`,
:mod:`awswidget.sso_setup`, :mod:`awswidget.console` and :mod:`awswidget.logins`;
these are the thin entry points, kept here so the manager module keeps to the
selection and what it publishes.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Literal, overload

from . import _session
from .logins import mfa_session
from .profiles import ProfileInfo

# roles, sso_setup and console are imported by the methods that use them: a manager that only lists and
# switches never loads them (a tenth of the first switch's import, issue 17).
if TYPE_CHECKING:
    from . import sso_setup
    from .catalog import Catalog
    from .console import ConsoleLogin
    from .files import SharedFiles
    from .identity import Identity
    from .logins import Logins
    from .store import ProfileStore

__all__ = ["Onboarding"]


class Onboarding:
    """Role profiles, settings edits, IAM Identity Center, console logins, MFA sessions (mixed into the manager)."""

    if TYPE_CHECKING:  # what the manager provides
        files: SharedFiles
        store: ProfileStore
        logins: Logins
        _catalog: Catalog
        profiles: tuple[str, ...]
        profile: str | None

        def _after_write(self, name: str, select: bool, identity: Identity | None) -> ProfileInfo: ...
        def reload(self) -> None: ...
        def select(self, profile: str | None = ..., region: str | None = ..., *, fresh: bool = False) -> None: ...
        def profile_info(self, name: str | None = None) -> ProfileInfo: ...
        @overload
        def verify(self, block: Literal[True] = ...) -> Identity: ...
        @overload
        def verify(self, block: Literal[False]) -> Future[Identity]: ...
        def verify(self, block: bool = True) -> Identity | Future[Identity]: ...
        def add_profile(self, name: str, access_key_id: str, secret_access_key: str, *, region: str | None = None,
                        session_token: str | None = None, overwrite: bool = False, output: str | None = None,
                        endpoint_url: str | None = None, select: bool = False, identity: Identity | None = None) -> ProfileInfo: ...

    def add_role_profile(self, name: str, role_arn: str, *, source_profile: str | None = None, credential_source: str | None = None,
                         mfa_serial: str | None = None, external_id: str | None = None, role_session_name: str | None = None,
                         duration_seconds: int | None = None, region: str | None = None, output: str | None = None,
                         endpoint_url: str | None = None, overwrite: bool = False, select: bool = False, verify: bool = True,
                         mfa_code: str | None = None) -> ProfileInfo:
        """Validate, assume the role (unless ``verify=False``; ``mfa_code`` with an ``mfa_serial``), then write
        ``[profile name]`` to the config file as ``aws configure set`` would; nothing goes to the credentials file.

        An existing profile is only replaced with ``overwrite=True`` (its role settings and other credential
        sources in the config file are replaced; credentials-file keys stay). Raises ValidationError or
        VerificationError whose ``field`` names the argument at fault; nothing is written then.
        See :mod:`awswidget.roles`.
        """
        from . import roles

        role = roles.validate_role(profile_name=name, role_arn=role_arn, source_profile=source_profile, credential_source=credential_source,
                                   mfa_serial=mfa_serial, external_id=external_id, role_session_name=role_session_name, region=region,
                                   duration_seconds=duration_seconds, output=output, endpoint_url=endpoint_url,
                                   existing=self._catalog.config.get("profiles", {}))
        identity = roles.assume(role, self.files.config_file, self.files.credentials_file, mfa_code=mfa_code,
                                prompter=self.logins.prompter(role.source_profile or name)) if verify else None
        self.store.save_settings(role.name, role.settings(replace=overwrite), overwrite=overwrite)
        return self._after_write(role.name, select, identity)

    def edit_profile(self, name: str, **settings: Any) -> ProfileInfo:
        """Change settings of profile ``name`` (``region``, ``output``, ``endpoint_url``, role fields; ``None`` or
        ``""`` removes one) in the config file; :func:`awswidget.roles.validate_edit` says what is accepted."""
        from . import roles

        current = dict(self._catalog.config["profiles"].get(self.profile_info(name).name, {}))
        self.store.set_settings(name, roles.validate_edit(name, current, settings, existing=self._catalog.config.get("profiles", {})))
        return self._after_write(name, False, None)

    def sso_setup_config(self, start_url: str, sso_region: str, session_name: str | None = None) -> sso_setup.SsoConfig:
        """The checked settings of an onboarding against the config file's ``[sso-session]`` sections: a
        session name already used for another start URL or region is refused, the default one skips it."""
        from . import sso_setup

        full = _session.merged_config(self.files.config_file, self.files.credentials_file)
        return sso_setup.setup_config(start_url, sso_region, session_name, sessions=full.get("sso_sessions", {}))

    def sso_setup_login(self, start_url: str, sso_region: str, *, session_name: str | None = None, **options: Any) -> Any:
        """The device login of an onboarding, not started (a :class:`~awswidget.sso.DeviceLogin`); cached as ``aws sso login`` caches.

        Checked first with :meth:`sso_setup_config`, so it never replaces the login of another start URL's session."""
        from . import sso_setup

        return sso_setup.device_login(self.sso_setup_config(start_url, sso_region, session_name), **options)

    def sso_accounts(self, start_url: str, sso_region: str, *, session_name: str | None = None, **options: Any) -> Any:
        """The accounts and roles behind ``start_url`` and the session's profiles already written (an ``SsoInventory``)."""
        from . import sso_setup

        config = self.sso_setup_config(start_url, sso_region, session_name)
        return sso_setup.inventory(config, _session.merged_config(self.files.config_file, self.files.credentials_file), **options)

    def add_sso_profiles(self, session_name: str | None, start_url: str, sso_region: str, choices: Any, *, region: str | None = None,
                         output: str | None = None, remove: Any = (), select: str | None = None) -> Any:
        """Write ``[sso-session]`` and ``[profile]`` sections as ``aws configure sso`` does, in one all-or-nothing write."""
        from . import sso_setup

        config = self.sso_setup_config(start_url, sso_region, session_name)
        result = sso_setup.save_profiles(self.store, config, choices, region=region, output=output, remove=remove)
        self.reload()
        if select is not None:
            self.select(select)
        return result

    # ------------------------------------------------------------------ MFA sessions and console logins

    def mfa_login(self, code: str, profile: str | None = None, *, target: str | None = None,
                  duration_seconds: int | None = None, select: bool = True) -> ProfileInfo:
        """MFA for plain keys (STS GetSessionToken, like ``aws configure mfa-login``), saved as ``<profile>-mfa``."""
        info = self.profile_info(profile)
        target = target or f"{info.name}-mfa"
        existing = self._catalog.get(target)
        creds = mfa_session(info, code, self.files, replaces=existing.kind if existing is not None else None,
                            target=target, duration_seconds=duration_seconds)
        return self.add_profile(target, creds["AccessKeyId"], creds["SecretAccessKey"], session_token=creds["SessionToken"],
                                region=info.region, endpoint_url=info.endpoint_url, overwrite=True, select=select)

    def console_login(self, profile: str | None = None, *, region: str | None = None, replace: bool = False,
                      **options: Any) -> ConsoleLogin:
        """Log ``profile`` in with the AWS console's session, like ``aws login --remote``: open the returned login's
        ``url`` anywhere, sign in, then ``finish(code)`` with the code the page shows. The tokens are cached where
        ``aws login`` caches them and the profile gets ``login_session``; see :class:`~awswidget.console.ConsoleLogin`."""
        from .console import ConsoleLogin

        name = self.profile_info(profile).name
        return ConsoleLogin(name, config=self._catalog.config, files=(self.files.config_file, self.files.credentials_file),
                            save_settings=self.store.set_settings, region=region, replace=replace,
                            on_done=lambda _state: self._after_console_login(name, verify=True), **options)

    def console_logout(self, profile: str | None = None) -> bool:
        """Remove ``profile``'s cached console login, as ``aws logout`` does; ``True`` if there was one."""
        from . import console

        name = self.profile_info(profile).name
        removed = console.logout(self._catalog.config, name)
        self._after_console_login(name, verify=False)
        return removed

    def _after_console_login(self, name: str, *, verify: bool) -> None:
        self.reload()
        if name == self.profile:
            self.select(fresh=True)  # a new session reads the new (or missing) token file
            if verify:
                self.verify(block=False)
