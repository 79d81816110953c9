"""The profiles of one pair of shared files, read as botocore reads them.

A :class:`Catalog` holds the last reading: a :class:`~awswidget.profiles.ProfileInfo`
per profile (in the order the picker lists them), botocore's merged view of both
files, and why a file could not be used.

A reading after a change (our own write, or another program's edit) rebuilds
only the profiles whose inputs changed: a ``ProfileInfo`` is a function of the
profile's merged values, its credentials-file section, whether the config file
defines it, and the two paths, so every other one is kept as it was. Which
profiles changed is found by comparing those inputs (:func:`awswidget._merge.diff`:
the run between the longest equal prefix and suffix of sections, or, for a
windowed write, the run its splice left, which follows from the window): the
result is the full rebuild's (tests/test_incremental.py).
"""

from __future__ import annotations

import bisect
import os
from itertools import chain, islice
from typing import Any

from . import _merge, _session
from .errors import ProfileNotFoundError
from .files import SharedFiles, config_profile_name
from .profiles import ProfileInfo, build_profiles

__all__ = ["Catalog"]

_MISSING: Any = object()


def _order(name: str) -> tuple[bool, str, str]:
    """:func:`~awswidget.profiles.sorted_names`' key (tests/test_incremental.py compares the two orders)."""
    return (name != "default", name.casefold(), name)


def _changed(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    """The keys added, removed or bound to another value (identity first: it is the common case)."""
    out = {k for k, v in after.items() if before.get(k, _MISSING) is not v and before.get(k, _MISSING) != v}
    return out | (before.keys() - after.keys())


class Catalog:
    """The profile table of :class:`~awswidget.files.SharedFiles`, re-read on :meth:`load`."""

    def __init__(self, shared: SharedFiles) -> None:
        self.files = shared
        self.infos: dict[str, ProfileInfo] = {}
        self.config: dict[str, Any] = {}
        self.errors: tuple[str, ...] = ()
        self.stamp: tuple[Any, ...] = ()
        # What the infos were built from: (paths, config sections, credentials sections, merged profiles).
        self._basis: tuple[Any, ...] | None = None

    def load(self) -> None:
        """Read both files (cached while they are unchanged on disk)."""
        self.stamp = self._stamp()
        config, creds = self.files.read()
        self.config = _session.merged_config(self.files.config_file, self.files.credentials_file, (config, creds))
        basis = ((config.path, creds.path), config.sections, creds.sections, self.config["profiles"])
        self.infos = self._rebuilt(basis, config)
        self._basis = basis
        self.errors = tuple(str(s.error) for s in (config, creds) if s.error is not None)

    def _rebuilt(self, basis: tuple[Any, ...], snapshot: Any = None) -> dict[str, ProfileInfo]:
        """The profile table for ``basis``, rebuilding only the profiles whose inputs differ from the last one's.

        A profile's merged values come from the config sections whose header names it and its own
        credentials section (botocore's ``build_profile_map``, then ``full_config``): the profiles to
        rebuild are those named by a section that was added, removed or changed. A section the
        writer did not touch is the very same object in its read-back (awswidget.filewrite), so
        most are passed over by identity; any other is compared by value.
        """
        (config_path, creds_path), config, creds, merged = basis
        names = _session.config_profile_names(self.files.config_file, snapshot)
        old = self._basis
        if old is None or old[0] != (config_path, creds_path):
            return build_profiles(config, creds, config_path, creds_path, merged={"profiles": merged}, config_names=names)
        _, old_config, old_creds, old_merged = old
        runs = _merge.diff(old_config, config), _merge.diff(old_creds, creds)
        infos = self.infos
        if runs[0] is None or runs[1] is None:  # a long run of changes: compared section by section
            touched = {config_profile_name(h) for h in _changed(old_config, config)} | _changed(old_creds, creds)
            # Sections moved, not changed, can still change a profile: which of its headers comes last wins
            # ([default] and [profile default] swapped by a program that sorts the file; review 40, D3).
            touched |= _changed(old_merged, merged)
            new, gone = merged.keys() - infos.keys(), infos.keys() - merged.keys()
        else:  # every section outside the two runs is equal, in place: only the names they hold can change
            touched = {config_profile_name(h) for h in chain(*runs[0])}.union(*runs[1])
            new = {name for name in touched if name in merged and name not in infos}
            gone = {name for name in touched if name in infos and name not in merged}
        changed = {name for name in touched if name in merged}
        fresh = build_profiles(config, creds, config_path, creds_path, merged={"profiles": {n: merged[n] for n in changed}}, config_names=names)
        if not new <= fresh.keys():
            return build_profiles(config, creds, config_path, creds_path, merged={"profiles": merged}, config_names=names)
        table = infos.copy()
        for name in gone:
            del table[name]
        table.update((name, info) for name, info in fresh.items() if name in table)  # in place: same order
        if not new:
            return table
        # New names go where sorted_names puts them (names are unique: the place is its own), in one rebuild.
        order = list(table)
        slots = sorted((bisect.bisect_left(order, _order(name), key=_order), _order(name), name) for name in new)
        if slots[0][0] == len(order):
            table.update((name, fresh[name]) for _slot, _key, name in slots)
            return table
        parts: list[Any] = []
        done = 0
        for slot, _key, name in slots:
            parts += [islice(table.items(), done, slot), ((name, fresh[name]),)]
            done = slot
        parts.append(islice(table.items(), done, None))
        return dict(chain.from_iterable(parts))

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
