"""Another program's write into a file of ours that we have replaced since, merged key by key (three-way).

:func:`awswidget.filewrite.update_file` may rename a second version over its
first one: after its rename, another program (the AWS CLI takes no lock and
rewrites in place) wrote into the inode it replaced, and the edit was applied
again on what it wrote. A second command may have opened that first new file
meanwhile and write into it a moment later, when the file is gone from the
folder. Its change is the difference between what that file held (what we
wrote) and what it holds now; :func:`their_change` resolves it against our
newest version, key by key: sections and keys they added, changed or removed.

* A key our newest version changed too, to another value, keeps the newest value
  (both sides changed it since; nothing says which is meant).
* A section they removed goes only when our newest version still holds it as
  they found it; one they changed and our newest version removed stays removed.
* A value the round-trip editor cannot write back as read (a nested ``s3 =``
  block, a value continued on indented lines, a key configparser reads but
  ``aws configure`` cannot write) is not merged, nor anything from a version
  with a ``[DEFAULT]`` section (configparser reads its keys into every section).

What is not merged is named (section and key, never a value) for the log.
Their change is kept as edits of that newest version, applied on every later
try (a later try may start from another program's newer version): each key or
section changes only where the version being edited still holds what our
newest one held, so a value changed since keeps its later value. The edit
itself is applied again after their change, as on every retry, so on the keys
it sets ours wins: a change made after our write cannot be told from a version
read before it and written back (the CLI gives no sign).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ._iniscan import EditError, check_entry
from ._redact import shown_name

if TYPE_CHECKING:
    from ._ini import IniDocument

__all__ = ["TheirChange", "apply", "late_writes", "over_ours", "step", "their_change"]

log = logging.getLogger(__name__)

Sections = dict[str, dict[str, Any]]


class Seen(Protocol):
    """A version of a file as read (:class:`awswidget.settle.Version`): its bytes and parse (``None``: unreadable)."""

    data: bytes
    sections: dict[str, dict[str, Any]] | None


V = TypeVar("V", bound=Seen)


@dataclass(frozen=True)
class TheirChange:
    """Another program's change as edits of our newest version; ``kept`` names what was not merged.

    ``sets``: header -> key -> (our newest value, theirs); ``None`` is a missing key (theirs: removed).
    ``removed``: header -> our newest version's section, which they removed.
    """

    sets: dict[str, dict[str, tuple[Any, str | None]]] = field(default_factory=dict, repr=False)
    removed: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    kept: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.sets or self.removed)


def _writable(header: str, key: str, value: Any) -> bool:
    if value is not None and not isinstance(value, str):
        return False  # a nested block
    try:
        check_entry(header, key, value)
    except EditError:
        return False
    return True


def _named(header: str, key: str | None = None) -> str:
    """A section (and key) for the log: a name that might be a pasted secret is not shown."""
    section = f"[{shown_name(header) or 'a section'}]"
    return section if key is None else f"{section} {shown_name(key) or 'a key'}"


def their_change(then: Sections, theirs: Sections, newest: Sections) -> TheirChange:
    """What ``theirs`` changed against ``then`` (the version it was written into), to apply to ``newest``."""
    sets: dict[str, dict[str, tuple[Any, str | None]]] = {}
    kept: list[str] = []
    for header, values in theirs.items():
        before = then.get(header)
        if before is values or before == values:
            continue
        now = newest.get(header)
        if before is not None and now is None:
            kept.append(_named(header))  # removed by our newest version, changed by them
            continue
        if before is None and not values:
            kept.append(_named(header))  # a new empty section: no key to merge, and not dropped unsaid
            continue
        before, now = before or {}, now or {}
        for key in [*values, *(k for k in before if k not in values)]:
            b, t, o = before.get(key), values.get(key), now.get(key)
            if t == b or o == t:
                continue
            if o != b or not _writable(header, key, t):
                kept.append(_named(header, key))
                continue
            sets.setdefault(header, {})[key] = (o, t)
    removed: dict[str, dict[str, Any]] = {}
    for header, values in then.items():
        if header in theirs or header not in newest:
            continue
        if newest[header] == values:
            removed[header] = newest[header]
        else:
            kept.append(_named(header))  # removed by them, changed by our newest version
    return TheirChange(sets, removed, tuple(kept))


def step(doc: IniDocument, sections: Sections, edit: Callable[..., Any], *args: Any) -> None:
    """Run ``edit(doc, *args)`` after other edits of ``doc``, keeping ``doc.expected``/``doc.removed`` true for them all.

    :meth:`IniDocument.set` records a section's keys anew on every call, and a
    section removed, then set again, is both: the writer's self-check must see
    what all the edits meant together (``sections`` is the parse ``doc`` was made from).
    """
    expected, removed = doc.expected, doc.removed
    doc.expected, doc.removed = {}, set()
    edit(doc, *args)
    merged = {h: v for h, v in expected.items() if h not in doc.removed}
    for header, values in doc.expected.items():
        prior = dict.fromkeys(sections.get(header, {})) if header in removed else merged.get(header, {})
        merged[header] = {**prior, **values}
    doc.expected, doc.removed = merged, (removed - doc.expected.keys()) | doc.removed


def apply(doc: IniDocument, changes: Sequence[TheirChange], sections: Sections) -> bool:
    """Apply ``changes`` in order to ``doc`` (made from ``sections``), each key or section where the document
    still holds what our newest version held; ``False`` (``doc`` is then unusable) when one would break the file."""
    now: dict[str, dict[str, Any] | None] = {}  # the sections changed so far (None: removed)
    try:
        for change in changes:
            for header, was in change.removed.items():
                if (now[header] if header in now else sections.get(header)) == was:
                    step(doc, sections, _remove, header)
                    now[header] = None
            for header, keys in change.sets.items():
                held = (now[header] if header in now else sections.get(header)) or {}
                values = {key: t for key, (o, t) in keys.items() if held.get(key) == o}
                if values:
                    step(doc, sections, _set, header, values)
                    now[header] = {k: v for k, v in {**held, **values}.items() if v is not None}
    except EditError:
        return False
    return True


def _remove(doc: IniDocument, header: str) -> None:
    doc.remove(header.__eq__)


def _set(doc: IniDocument, header: str, values: dict[str, str | None]) -> None:
    doc.set(header, values)


def late_writes(
    path: str, watched: list[V], base: V, newest: Sections, theirs: list[TheirChange], look: Callable[[V], V | None]
) -> tuple[V | None, bool]:
    """Look into every inode our renames replaced of ``path``: the next base (or ``None``), and whether to write again.

    ``look(version)`` is what another program wrote into that version's inode
    since it was read (parsed, or with no parse when unreadable), or ``None``.
    A write into ``base`` (the version our newest one is the edit of) is the next
    base: the edit is applied again on it, every byte of it kept. A write into
    another one (our own earlier version, replaced by a retry) is merged key by
    key against ``newest`` (what we just wrote) and appended to ``theirs``. A
    changed inode is watched from its new content on; an unreadable one, no more.
    """
    late_base: V | None = None
    merged = False
    for i, old in enumerate(watched):
        late = None if old.sections is None else look(old)
        if late is None:
            continue
        watched[i] = late
        if old.sections is None or late.sections is None:
            continue  # unreadable: nothing to merge from that inode, now or later
        if old is not base and (b"[DEFAULT]" in old.data or b"[DEFAULT]" in late.data):
            # Its keys read as every section's: a change to it would be merged as a change of each section.
            log.warning("another program changed %s in a version we had replaced, with a [DEFAULT] section; kept our newest", path)
            continue
        if old is base:
            log.info("another program wrote %s while we replaced it; applying the edit to its version", path)
            late_base, merged = late, True
            continue
        change = their_change(old.sections, late.sections, newest)
        if change.kept:  # names only: values never reach a log
            log.warning("another program changed %s in a version we had replaced; kept our newest %s", path, ", ".join(change.kept))
        if change:
            log.info("another program wrote into a version of %s we had replaced; merging its change key by key", path)
            theirs.append(change)
            merged = True
    return late_base, merged


def over_ours(path: str, new: bytes, after: Sections, current: Seen, theirs: list[TheirChange]) -> None:
    """Another program rewrote our new file (``new``, parsed ``after``) in place right after our write, while a late
    write is being merged: its change against ours, read settled as ``current``, is merged key by key too.

    An emptied or removed file is no change (as an emptied replaced inode is not): not "they removed every section".
    """
    if not current.data:  # a writer killed after its truncate?
        log.warning("another program emptied or removed %s right after our write; not taken as a change", path)
    elif b"[DEFAULT]" in new or b"[DEFAULT]" in current.data:
        log.warning("another program rewrote %s right after our write, with a [DEFAULT] section; its change is not merged", path)
    elif current.sections is not None:
        change = their_change(after, current.sections, after)
        if change.kept:  # names only: values never reach a log
            log.warning("another program rewrote %s right after our write; kept our %s", path, ", ".join(change.kept))
        if change:
            log.info("another program rewrote %s right after our write; merging its change key by key", path)
            theirs.append(change)
