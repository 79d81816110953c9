"""Profiles written to both shared files, all or nothing.

A profile lives in two files, as ``aws configure`` writes it: keys (and a
session token) in ``credentials`` under ``[name]``, settings (region, output,
endpoint URL) in ``config`` under ``[profile name]`` (``[default]``). Two
renames cannot be one atomic step, so :class:`ProfileStore` makes a pair of
writes behave as one:

* both files' locks are held for the whole change, and both files are read
  (settled, see :mod:`awswidget.settle`) and checked before anything is written;
* the config file is written first, then the credentials file;
* when the second write fails, the first file is put back byte for byte (a
  file the first write created is removed) provided nobody changed it since;
  the error (:class:`RolledBackError`) says so, and when the first file cannot
  be put back, :class:`PartialWriteError` says exactly which file holds what;
* re-checks are by content, so a retry after any failure succeeds: a profile
  that exists with exactly the keys being saved is not "already there".

Values come in validated (the manager validates what a user types); nothing
here logs or raises a secret.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from . import _merge
from ._ini import IniDocument
from .errors import (
    AwsWidgetError,
    ChangedAfterSaveError,
    ConfigFileError,
    ProfileExistsError,
    ProfileNotFoundError,
    ValidationError,
    WriteError,
)
from .files import SharedFiles, config_header, config_profile_name, read_bytes, stat_regular, update_file, write_atomic
from .filewrite import WriteResult
from .settle import Version, settled_version

__all__ = ["PartialWriteError", "ProfileStore", "RolledBackError"]

log = logging.getLogger(__name__)

Values = dict[str, "str | None"]
Edit = Callable[[IniDocument, dict[str, Any]], None]

#: Keys that belong to the credentials file (everything else goes to config), as the CLI's ``configure set``.
CREDENTIAL_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_security_token")


class RolledBackError(WriteError):
    """A profile write failed on its second file; the first was put back, so nothing changed."""

    fmt = "Could not write {path}: {reason}. Nothing was saved: {restored} was put back exactly as it was."


class PartialWriteError(WriteError):
    """A profile write failed on its second file and the first could not be put back."""

    fmt = (
        "Could not write {path}: {reason}. {written} already holds the new values and could not be put back; "
        "fix the cause and save again (a retry completes the profile)."
    )


class ProfileStore:
    """Writes profiles to a pair of shared files.

    Examples
    --------
    >>> store = ProfileStore(SharedFiles())                                  # doctest: +SKIP
    >>> store.save_keys("dev", access_key_id=kid, secret_access_key=secret,
    ...                 settings={"region": "eu-west-1"})                    # doctest: +SKIP
    >>> store.remove("dev")                                                  # doctest: +SKIP
    """

    def __init__(self, files: SharedFiles, lock_timeout: float = 30.0) -> None:
        self.files = files
        self.lock_timeout = lock_timeout

    def __repr__(self) -> str:
        return f"ProfileStore({self.files!r})"

    # ------------------------------------------------------------------ public

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
        """Write a profile's keys (credentials file) and settings (config file) as one change.

        An existing profile is replaced only with ``overwrite=True`` (a stale
        session token is removed; other keys of its sections stay); sections
        that already hold exactly these keys and settings do not count as an
        existing profile, so a retry after any failure completes the profile.

        Raises
        ------
        ProfileExistsError
            The profile exists with other values and ``overwrite`` is false; nothing was written.
        ConfigFileError, WriteError, FileChangedError
            Nothing was written (or, for :class:`PartialWriteError`, the message says what was).
        """
        creds: Values = {
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": secret_access_key,
            "aws_session_token": session_token,
            # botocore falls back to this legacy name: a stale one would pair an old token with new keys.
            "aws_security_token": None,
        }
        config: Values = dict(settings or {})
        files = self.files

        wanted_creds = {k: v for k, v in creds.items() if v is not None}

        def refuse_existing(in_creds: dict[str, Any], in_config: dict[str, Any]) -> None:
            if overwrite:
                return
            # A section holding exactly what is being saved is ours (a retry after a failure, or our own
            # write read back while another program rewrote the file): only different content conflicts.
            mine = in_creds.get(name)
            if mine is not None and mine != wanted_creds:
                raise ProfileExistsError(profile=name, path=files.credentials_file)
            if any(in_config[h] != config for h in _naming(in_config, name)):
                raise ProfileExistsError(profile=name, path=files.config_file)

        self._write_pair(name, creds, config, check=refuse_existing, settings_need_config=bool(config))
        log.info("Saved profile '%s' to %s", name, files.credentials_file)

    def set_settings(self, name: str, settings: dict[str, str | None]) -> None:
        """Set (or, with ``None``, remove) config-file keys of one existing profile.

        Raises ProfileNotFoundError when neither file has the profile.
        """
        _config_only(settings)
        files = self.files

        def must_exist(in_creds: dict[str, Any], in_config: dict[str, Any]) -> None:
            if name not in in_creds and not _naming(in_config, name):
                raise ProfileNotFoundError(profile=name, hint=f" in {files.config_file} or {files.credentials_file}")

        self._write_pair(name, {}, dict(settings), check=must_exist, settings_need_config=True)

    def save_settings(self, name: str, settings: dict[str, str | None], *, overwrite: bool = False) -> None:
        """Write a profile that lives in the config file alone (a role), as ``aws configure set`` would.

        ``[profile name]`` gets ``settings`` (``None`` removes a key); the credentials
        file is not touched. An existing profile (in either file) is only changed
        with ``overwrite=True``; a config section that already holds exactly these
        settings is this write retried, not a conflict.

        Raises
        ------
        ProfileExistsError
            The profile exists with other values and ``overwrite`` is false; nothing was written.
        """
        _config_only(settings)
        files = self.files
        wanted = {key: value for key, value in settings.items() if value is not None}

        def refuse_existing(in_creds: dict[str, Any], in_config: dict[str, Any]) -> None:
            if overwrite:
                return
            if name in in_creds:
                raise ProfileExistsError(profile=name, path=files.credentials_file)
            if any(in_config[h] != wanted for h in _naming(in_config, name)):
                raise ProfileExistsError(profile=name, path=files.config_file)

        self._write_pair(name, {}, dict(settings), check=refuse_existing, settings_need_config=True)
        log.info("Saved profile '%s' to %s", name, files.config_file)

    def remove(self, name: str) -> None:
        """Remove a profile from both files (its own sections only).

        Raises ProfileNotFoundError when neither file has it.
        """
        files = self.files
        with files.locked(self.lock_timeout):
            # The profile may also be in a file that cannot be read: never remove it halfway.
            versions = {files.config_file: _settled_version(files.config_file)}
            try:
                versions[files.credentials_file] = _settled_version(files.credentials_file)
            except AwsWidgetError:
                _close(versions)
                raise
            config, creds = (versions[f].sections or {} for f in (files.config_file, files.credentials_file))
            if name not in creds and not _naming(config, name):
                _close(versions)
                raise ProfileNotFoundError(profile=name, hint=f" in {files.config_file} or {files.credentials_file}")
            self._run(
                [
                    (files.config_file, _remove(_names(name))),
                    (files.credentials_file, _remove(_exactly(name))),
                ],
                versions,
            )
        log.info("Removed profile '%s'", name)

    # ------------------------------------------------------------------ the pair

    def _write_pair(
        self,
        name: str,
        creds: Values,
        config: Values,
        *,
        check: Callable[[dict[str, Any], dict[str, Any]], None],
        settings_need_config: bool,
    ) -> None:
        files = self.files

        in_config = _names(name)

        with files.locked(self.lock_timeout):
            # Read as each write will (waiting out another program's rewrite), so checks see the real file.
            versions = {files.credentials_file: _settled_version(files.credentials_file)}
            creds_sections = versions[files.credentials_file].sections or {}
            try:
                versions[files.config_file] = _settled_version(files.config_file)
                config_sections = versions[files.config_file].sections or {}
            except ConfigFileError:
                if settings_need_config:
                    _close(versions)
                    raise
                config_sections = {}  # keys only: the config file is neither needed nor touched
            # Re-checked on the version each write reads under the lock, not only on this read.
            seen = {files.credentials_file: creds_sections, files.config_file: config_sections}

            def checked(path: str, edit: Edit) -> Edit:
                def run(doc: IniDocument, sections: dict[str, Any]) -> None:
                    seen[path] = sections
                    check(seen[files.credentials_file], seen[files.config_file])
                    edit(doc, sections)

                run.targets = getattr(edit, "targets", None)  # type: ignore[attr-defined]
                run.needles = getattr(edit, "needles", None)  # type: ignore[attr-defined]
                run.name = getattr(edit, "name", None)  # type: ignore[attr-defined]
                run.all_matches = getattr(edit, "all_matches", False)  # type: ignore[attr-defined]
                return run

            try:
                check(creds_sections, config_sections)
            except AwsWidgetError:
                _close(versions)
                raise
            steps: list[tuple[str, Edit]] = []
            # Config first: a file that can fail on settings must not strand keys already written.
            if config:
                steps.append((files.config_file, checked(files.config_file, _set(config_header(name), config, in_config))))
            if creds:
                steps.append((files.credentials_file, checked(files.credentials_file, _set(name, creds, None))))
            self._run(steps, versions)

    def _run(self, steps: list[tuple[str, Edit]], versions: dict[str, Version] | None = None) -> None:
        """Apply each file's edit in order (locks held); when one fails, put back the files already written.

        ``versions``: the settled reads the checks ran on, handed to the writer as its first base
        (it renames only over exactly that version); any not handed over is closed here.
        """
        versions = versions if versions is not None else {}
        done: list[WriteResult] = []
        try:
            for path, edit in steps:
                try:
                    result = update_file(path, edit, lock_held=True, version=versions.pop(path, None))
                except AwsWidgetError as exc:
                    if not any(r.changed for r in done) or isinstance(exc, ChangedAfterSaveError):
                        raise  # nothing to undo; or this file holds our change too, which cannot be undone now
                    self._undo(done, exc)
                done.append(result)
        finally:
            _close(versions)

    def _undo(self, done: list[WriteResult], exc: AwsWidgetError) -> None:
        failed = exc.kwargs.get("path") or getattr(exc, "path", "")
        reason = exc.kwargs.get("reason") or getattr(exc, "reason", None) or str(exc).rstrip(".")
        restored = []
        for result in reversed(done):
            if not result.changed:
                continue
            if not _put_back(result):
                raise PartialWriteError(path=failed, reason=reason, written=result.path) from None
            restored.append(result.path)
        log.info("A profile write failed on %s; put back %s", failed, ", ".join(restored))
        raise RolledBackError(path=failed, reason=reason, restored=" and ".join(restored)) from None


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

    def update_config(self, edit: Edit, check: Callable[[dict[str, Any], dict[str, Any]], None]) -> bool:
        """Apply ``edit`` to the config file in one atomic write, both files locked (SSO onboarding).

        ``check(credentials sections, config sections)`` may raise to refuse; it runs on
        the version each try reads under the locks, before ``edit``. Returns whether the
        file changed. The credentials file is read (for the check), never written.
        """
        files = self.files
        with files.locked(self.lock_timeout):
            creds = _settled(files.credentials_file)

            def run(doc: IniDocument, sections: dict[str, Any]) -> None:
                check(creds, sections)
                edit(doc, sections)

            result = update_file(files.config_file, run, lock_held=True)
        log.info("Updated %s", files.config_file)
        return result.changed


def _names(name: str) -> Callable[[str], bool]:
    """Whether a config-file header defines profile ``name`` (botocore's mapping, :func:`config_profile_name`).

    Asked of every header of a file: a header names ``name`` only if it contains it, unless
    it holds a quote or a backslash (botocore splits ``profile x`` with shlex, which joins quoted
    parts), so the others are passed over without asking botocore (and without filling its cache).
    """

    def names_it(header: str) -> bool:
        return (name in header or "'" in header or '"' in header or "\\" in header) and config_profile_name(header) == name

    names_it.needles = _needles(name)  # type: ignore[attr-defined]
    names_it.name = name  # type: ignore[attr-defined]
    return names_it


def _naming(sections: dict[str, Any], name: str) -> list[str]:
    """The config-file headers of ``sections`` that define profile ``name``, in file order.

    Only headers holding ``name`` (or a quote or backslash, see :func:`_names`) can; they are found by a
    substring search over the joined headers (:func:`awswidget._merge.headers_with`), not by asking
    every one of 30,000 headers.
    """
    names_it = _names(name)
    found = _merge.headers_with(sections, _needles(name), name)
    if found is None:
        return [h for h in sections if names_it(h)]
    return [h for _key, h in found if names_it(h)]


def _needles(name: str) -> tuple[str, ...]:
    """Substrings one of which every header :func:`_names` accepts for ``name`` holds (in the joined headers)."""
    return _merge.needles_for(name)


def _exactly(header: str) -> Callable[[str], bool]:
    """The credentials-file header ``header`` (and nothing else), saying where to look for it."""

    def it(candidate: str) -> bool:
        return candidate == header

    it.needles = ("\n" + header + "\n",) if "\n" not in header else (header,)  # type: ignore[attr-defined]
    it.name = header  # type: ignore[attr-defined]
    return it


def _config_only(settings: dict[str, str | None]) -> None:
    for key in settings:
        if key.lower() in CREDENTIAL_KEYS:
            raise ValidationError("settings", f"'{key}' belongs to the credentials file; save keys with save_keys()")


def _settled_version(path: str) -> Version:
    """The file's settled version (:func:`awswidget.settle.settled_version`), left open for the writer."""
    return settled_version(os.path.realpath(path), path)


def _close(versions: dict[str, Version]) -> None:
    for version in versions.values():
        version.close()


def _settled(path: str) -> dict[str, Any]:
    """botocore's parse of ``path`` once it does not look mid-rewrite; ConfigFileError when it cannot be used."""
    version = settled_version(os.path.realpath(path), path)
    version.close()
    return version.sections or {}


def _put_back(result: WriteResult) -> bool:
    """Restore the bytes a write replaced (remove a file it created), if the file is still what it wrote."""
    real = os.path.realpath(result.path)
    if result.old_data is None:
        return False  # another program's change was merged into it: no bytes undo only ours
    try:
        st = stat_regular(real)
        if st is None or read_bytes(real) != result.new_data:
            return False  # changed since by someone else: not ours to overwrite
        if result.created:
            os.unlink(real)
            return True
        return write_atomic(real, st, result.new_data, result.old_data, lambda _after: None) is not None
    except (AwsWidgetError, OSError):
        return False


# Each edit says which sections it touches (``targets``; a removal touches every match): the writer
# then edits and re-checks those sections and their neighbours only (awswidget.filewrite._window).
def _set(header: str, values: Values, match: Callable[[str], bool] | None) -> Edit:
    def edit(doc: IniDocument, _sections: dict[str, Any]) -> None:
        doc.set(header, dict(values), match=match)

    edit.targets = match or header.__eq__  # type: ignore[attr-defined]
    if match is not None:
        edit.needles = getattr(match, "needles", None)  # type: ignore[attr-defined]
        edit.name = getattr(match, "name", None)  # type: ignore[attr-defined]
    elif header:
        edit.needles = ("\n" + header + "\n",) if "\n" not in header else (header,)  # type: ignore[attr-defined]
        edit.name = header  # type: ignore[attr-defined]
    return edit


def _remove(match: Callable[[str], bool]) -> Edit:
    def edit(doc: IniDocument, _sections: dict[str, Any]) -> None:
        doc.remove(match)

    edit.targets = match  # type: ignore[attr-defined]
    edit.needles = getattr(match, "needles", None)  # type: ignore[attr-defined]
    edit.name = getattr(match, "name", None)  # type: ignore[attr-defined]
    edit.all_matches = True  # type: ignore[attr-defined]
    return edit
