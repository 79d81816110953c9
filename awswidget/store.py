"""Writing profiles: keys to the credentials file, settings to the config file, as ``aws configure`` does."""

from __future__ import annotations

import logging
import os
from typing import Any

from .errors import ConfigFileError, ProfileExistsError, ProfileNotFoundError, ValidationError
from .files import SharedFiles, config_header, config_profile_name, update_file

log = logging.getLogger(__name__)

__all__ = ["ProfileStore"]


class ProfileStore:
    """The profile writes of one pair of shared files (values arrive validated)."""

    def __init__(self, files: SharedFiles) -> None:
        self.files = files

    def save_keys(
        self,
        name: str,
        *,
        access_key_id: str,
        secret_access_key: str,
        session_token: str | None = None,
        settings: dict[str, str] | None = None,
        overwrite: bool = False,
    ) -> None:
        """Write ``[name]`` keys to the credentials file and ``settings`` to the config file."""
        settings = dict(settings or {})
        creds_values: dict[str, str | None] = {
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": secret_access_key,
            "aws_session_token": session_token,
            # botocore falls back to this legacy name: a stale one would pair an old token with new keys.
            "aws_security_token": None,
        }
        with self.files.locked():
            config, creds = self.files.read()
            for snap in (creds, config) if settings else (creds,):
                if snap.error is not None:
                    raise snap.error
            exists = name in creds.sections or any(config_profile_name(h) == name for h in config.sections)
            if exists and not overwrite:
                where = creds.path if name in creds.sections else config.path
                raise ProfileExistsError(profile=name, path=where)
            update_file(
                self.files.credentials_file,
                lambda doc, _sections: doc.set(name, creds_values),
                lock_held=True,
                snapshot=creds,
            )
            if settings:
                update_file(
                    self.files.config_file,
                    lambda doc, _sections: doc.set(config_header(name), dict(settings), match=lambda h: config_profile_name(h) == name),
                    lock_held=True,
                    snapshot=config,
                )

    def remove(self, name: str, hint: str = "") -> None:
        """Remove profile ``name`` from both files (its sections only)."""
        with self.files.locked():
            config, creds = self.files.read()
            for snap in (creds, config):
                if snap.error is not None:
                    # The profile may also be in the file that cannot be read: never remove it halfway.
                    raise snap.error
            in_creds = name in creds.sections
            in_config = any(config_profile_name(h) == name for h in config.sections)
            if not in_creds and not in_config:
                raise ProfileNotFoundError(profile=name, hint=hint)
            if in_creds:
                update_file(self.files.credentials_file, lambda doc, _s: doc.remove(lambda h: h == name), lock_held=True, snapshot=creds)
            if in_config:
                update_file(self.files.config_file, lambda doc, _s: doc.remove(lambda h: config_profile_name(h) == name),
                            lock_held=True, snapshot=config)

    def own_file(self, path: str | os.PathLike[str]) -> str:
        """``path`` as this store names it, if it is one of its two files (a ValidationError otherwise)."""
        wanted = os.path.realpath(os.path.expanduser(os.path.expandvars(os.fspath(path))))
        for own in (self.files.config_file, self.files.credentials_file):
            if os.path.realpath(own) == wanted:
                return own
        raise ValidationError("path", f"{path} is not one of this manager's shared files")

    def plan_repair(self, path: str | os.PathLike[str]) -> Any:
        """What :meth:`repair` would change in one of the files (a :class:`~awswidget.repair.RepairPlan`), or ``None``."""
        from .repair import plan_repair

        return plan_repair(self.own_file(path))

    def repair(self, path: str | os.PathLike[str], plan: Any = None) -> str:
        """Apply ``plan`` (or plan now) after a backup next to the file; returns the backup's path."""
        from .repair import apply_repair, plan_repair

        own = self.own_file(path)
        plan = plan if plan is not None else plan_repair(own)
        if plan is None or os.path.realpath(plan.path) != os.path.realpath(own):
            raise ConfigFileError(own, "awswidget has no repair for this file; fix it by hand")
        backup = str(apply_repair(plan))
        log.info("Repaired %s (backup: %s)", own, backup)
        return backup
