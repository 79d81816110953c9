"""The profiles of one pair of shared files, read as botocore reads them.

A :class:`Catalog` holds the last reading: a :class:`~awswidget.profiles.ProfileInfo`
per profile (in the order the picker lists them), botocore's merged view of both
files, and why a file could not be used.
"""

from __future__ import annotations

import os
from typing import Any

from . import _session
from .errors import ProfileNotFoundError
from .files import SharedFiles
from .profiles import ProfileInfo, build_profiles

__all__ = ["Catalog"]


class Catalog:
    """The profile table of :class:`~awswidget.files.SharedFiles`, re-read on :meth:`load`."""

    def __init__(self, shared: SharedFiles) -> None:
        self.files = shared
        self.infos: dict[str, ProfileInfo] = {}
        self.config: dict[str, Any] = {}
        self.errors: tuple[str, ...] = ()
        self.stamp: tuple[Any, ...] = ()

    def load(self) -> None:
        """Read both files (cached while they are unchanged on disk)."""
        self.stamp = self._stamp()
        config, creds = self.files.read()
        self.config = _session.merged_config(self.files.config_file, self.files.credentials_file)
        self.infos = build_profiles(
            config.sections,
            creds.sections,
            config.path,
            creds.path,
            merged=self.config,
            config_names=_session.config_profile_names(self.files.config_file),
        )
        self.errors = tuple(str(s.error) for s in (config, creds) if s.error is not None)

    def changed(self) -> bool:
        """Whether a file changed on disk since :meth:`load` (two ``stat`` calls: cheap enough to ask often)."""
        return self._stamp() != self.stamp

    def _stamp(self) -> tuple[Any, ...]:
        stamps: list[Any] = []
        for path in (self.files.config_file, self.files.credentials_file):
            try:
                st = os.stat(path)
            except OSError as exc:
                stamps.append(exc.errno)
            else:
                stamps.append((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
        return tuple(stamps)

    def chain(self, name: str | None) -> tuple[Any, ...]:
        """The raw settings of ``name`` and of every profile its credentials come from (``source_profile``),
        secrets included: equal before and after a reading exactly when its session would be the same."""
        profiles = self.config.get("profiles", {})
        seen: list[Any] = []
        while name is not None and name in profiles and all(name != n for n, _ in seen):
            values = profiles[name]
            seen.append((name, repr(sorted(values.items(), key=lambda kv: kv[0]))))
            source = values.get("source_profile")
            name = source if isinstance(source, str) else None
        return tuple(seen)

    def __contains__(self, name: object) -> bool:
        return name in self.infos

    def get(self, name: str | None) -> ProfileInfo | None:
        return self.infos.get(name or "")

    def info(self, name: str | None) -> ProfileInfo:
        """The profile ``name``, or :class:`~awswidget.errors.ProfileNotFoundError` naming the known ones."""
        if name is None or name not in self.infos:
            raise ProfileNotFoundError(profile=name, hint=self.hint())
        return self.infos[name]

    def hint(self) -> str:
        if not self.infos:
            return f"; there are no profiles in {self.files.config_file} or {self.files.credentials_file}"
        names = list(self.infos)
        return "; known profiles: " + ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
