"""botocore's merged view of the shared files, carried from one version to the next.

After a write (ours or another program's) most sections of a file are the same,
and botocore's views of it -- ``build_profile_map`` of the config file, then
``Session.full_config`` of both files -- differ only for the profiles (and SSO
sessions, services) those sections name. Recomputing them costs 40-60 ms at
10,000 profiles; here they are derived from the previous version's:

* :func:`diff` finds the changed run of sections: the longest common prefix and
  suffix of equal ``(header, values)`` pairs, compared in C (identity first: a
  section the writer did not touch is the very same object in its read-back);
* :func:`profile_map_from` recomputes the entries named by a header of that run,
  from *every* header of the new file naming them (found by a substring search
  over the joined headers, then mapped by :func:`awswidget._fastini.profile_map`
  itself, one header at a time), so duplicates, ``[default]`` beside
  ``[profile default]`` and first-occurrence order come out as a full pass makes them;
* :func:`merged_from` edits a copy of ``full_config``'s profile table (config
  profiles, then credentials-only ones) in place, where how the map's order was
  made and the credentials run prove the order, and checks or rebuilds it otherwise;
  every profile whose inputs are the same objects keeps its previous values;
* :func:`spliced` is told by the writer what its splice changed, so the next
  reading takes the run (and the joined headers) from the window, not from a walk.

Anything outside that (a long changed run, a section that is no profile, SSO
session or services block) returns ``None``: the caller recomputes in full.
tests/test_incremental.py proves every result equal to botocore's, order included.
"""

from __future__ import annotations

import bisect
import operator
import threading
from collections.abc import Iterable
from itertools import chain, compress, count, filterfalse, islice
from typing import Any

from . import _fastini

__all__ = ["diff", "headers_with", "merged_from", "needles_for", "profile_map_from", "spliced"]

#: Changed sections (on either side) above which the full recompute is used: it is as cheap then.
LIMIT = 64
KEEP = 4  # entries per cache below (two files, the current and the previous version of each)
_TABLES = {"profiles": "profile", "sso_sessions": "sso-session", "services": "services"}


def needles_for(name: str) -> tuple[str, ...]:
    """Needles for :func:`headers_with` that every plain config-file header naming entry ``name`` holds.

    botocore names a config section by the second word of ``shlex.split(header)`` (and ``[default]``
    by its header). Without a quote or a backslash, shlex splits on the blanks `` \t\r\n`` only, so that
    word follows a blank and ends the header, perhaps before more blanks: a header naming ``name`` ends
    with a space and ``name``, or is ``default``, or is odd (a quote, a backslash, a tab, a carriage
    return, a final space: :func:`headers_with` always returns those). Searched that way, a short name
    ("dev") is found in its own headers, not in the thousands of generated names that hold or end with
    it ("acme-dev-admin", "team-dev"; issue 17).
    """
    if not name or "\n" in name:
        return (name,)  # headers_with answers None: the caller asks every header
    return (" " + name + "\n", "\ndefault\n") if name == "default" else (" " + name + "\n",)


# What makes a header odd: it may name an entry that no plain needle finds.
_ODD_NEEDLES = ("'", '"', "\\", "\t", "\r", " \n")
_ODD = "\n"  # the key of the odd headers among a joined text's searches (never a needle)


def _is_odd(header: str) -> bool:
    return header.endswith(" ") or any(c in header for c in "'\"\\\t\r")


_joined_lock = threading.Lock()
_joined: dict[int, tuple[dict[str, Any], str, dict[str, list[tuple[int, str]]]]] = {}
_diffs: dict[tuple[int, int, int], tuple[dict[str, Any], dict[str, Any], Any]] = {}


def _make_room(cache: dict[Any, Any]) -> None:
    """Drop the oldest entries: the current and the previous version of two files is all that is used,
    and each entry keeps its parse alive (memory stays flat)."""
    while len(cache) >= KEEP:
        del cache[next(iter(cache))]


def _agree(ka: list[str], kb: list[str], va: list[Any], vb: list[Any], n: int, tail: bool = False) -> int:
    """How many of the first ``n`` leading (``tail``: trailing) ``(key, value)`` pairs are equal.

    A section the writer did not touch is the same object in its read-back, so list equality
    (identity first) decides a slice at memory speed; a bisection finds the first difference.
    """
    if not n:
        return 0
    if ka[-tail] == kb[-tail] and va[-tail] is not vb[-tail]:
        # A fresh parse: equal sections are other objects; compared one by one, by value, once.
        if tail:
            ka, kb, va, vb = ka[::-1], kb[::-1], va[::-1], vb[::-1]
        keys = next(compress(count(), map(operator.ne, ka[:n], kb[:n])), n)
        return next(compress(count(), map(operator.ne, va[:keys], vb[:keys])), keys)
    la, lb = len(ka), len(kb)

    def same(lo: int, hi: int) -> bool:
        if tail:
            return ka[la - hi : la - lo] == kb[lb - hi : lb - lo] and va[la - hi : la - lo] == vb[lb - hi : lb - lo]
        return ka[lo:hi] == kb[lo:hi] and va[lo:hi] == vb[lo:hi]

    if same(0, n):  # an append, or nothing changed on this side
        return n
    lo, hi = 0, n  # lo pairs agree; hi do not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if same(lo, mid) else (lo, mid)
    return lo


def diff(before: dict[str, Any], after: dict[str, Any], limit: int = LIMIT) -> tuple[list[str], list[str]] | None:
    """The keys of ``before``'s and ``after``'s changed runs (every other pair is equal, in the same order).

    ``None`` when either run is longer than ``limit``.
    """
    with _joined_lock:
        hit = _diffs.get((id(before), id(after), limit))
    if hit is not None and hit[0] is before and hit[1] is after:
        return hit[2]
    ka, kb, va, vb = list(before), list(after), list(before.values()), list(after.values())
    n = min(len(ka), len(kb))
    head = _agree(ka, kb, va, vb, n)
    tail = _agree(ka, kb, va, vb, n - head, tail=True)
    gone, new = ka[head : len(ka) - tail], kb[head : len(kb) - tail]
    run = None if len(gone) > limit or len(new) > limit else (gone, new)
    with _joined_lock:
        _make_room(_diffs)
        _diffs[(id(before), id(after), limit)] = (before, after, run)  # the catalog asks what the merge asked
    return run


def spliced(before: dict[str, Any], after: dict[str, Any], gone: list[str], new: list[str], following: str | None) -> None:
    """Note that ``after`` is ``before`` with its consecutive sections ``gone`` replaced by ``new``
    (``following``: the header after them, None at the end).

    A writer's splice (:meth:`awswidget.filewrite._Window.read_back`): every section outside is the
    same object in both. The run :func:`diff` would find, and the joined headers of ``after``, follow
    from the window alone, so the next reading does not walk 10,000 sections to find them again.
    """
    head = 0
    while head < min(len(gone), len(new)) and gone[head] == new[head] and before[gone[head]] is after[new[head]]:
        head += 1
    tail = 0
    while tail < min(len(gone), len(new)) - head and gone[-1 - tail] == new[-1 - tail] and before[gone[-1 - tail]] is after[new[-1 - tail]]:
        tail += 1
    run = gone[head : len(gone) - tail], new[head : len(new) - tail]
    with _joined_lock:
        _make_room(_diffs)
        _diffs[(id(before), id(after), LIMIT)] = (before, after, None if max(map(len, run)) > LIMIT else run)
    known = _joined.get(id(before))
    if known is None or known[0] is not before or any("\n" in h for h in new):
        return
    text = known[1]
    first = gone[0] if gone else following
    start = text.find(f"\n{first}\n") + 1 if first is not None else len(text)
    end = text.find(f"\n{following}\n", max(start - 1, 0)) + 1 if following is not None else len(text)
    if start <= 0 or end <= 0:
        return
    part = "".join(h + "\n" for h in new)
    joined = text[:start] + part + text[end:]
    searches: dict[str, list[tuple[int, str]]] = {}
    odd = known[2].get(_ODD)
    if odd is not None:  # carried: the odd headers before the window, the window's own, those after it (moved)
        delta, at, inside = len(part) - (end - start), start, []
        for header in new:
            if _is_odd(header):
                inside.append((at, header))
            at += len(header) + 1
        searches[_ODD] = [h for h in odd if h[0] < start] + inside + [(o + delta, h) for o, h in odd if o >= end]
    with _joined_lock:
        _make_room(_joined)
        _joined[id(after)] = (after, joined, searches)


def _joined_headers(sections: dict[str, Any]) -> tuple[str, dict[str, list[tuple[int, str]]]] | None:
    """``"\n" + "\n".join(sections) + "\n"`` and the searches made in it, kept for this very dict.

    ``None`` when a header holds a newline. (A parse is never changed once made: it is shared.)
    """
    with _joined_lock:
        hit = _joined.get(id(sections))
    if hit is not None and hit[0] is sections:
        return hit[1], hit[2]
    text = "\n" + "\n".join(sections) + "\n"
    if text.count("\n") != len(sections) + 1:
        return None
    searches: dict[str, list[tuple[int, str]]] = {}
    with _joined_lock:
        _make_room(_joined)
        _joined[id(sections)] = (sections, text, searches)
    return text, searches


def _search(text: str, needle: str) -> list[tuple[int, str]]:
    found = []
    skip = 1 if needle[0] == "\n" else 0  # a needle that starts a header starts at the newline before it
    at = text.find(needle)
    while at >= 0:
        at += skip
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        found.append((start, text[start:end]))
        at = text.find(needle, end)
    return found


def headers_with(sections: dict[str, Any], needles: Iterable[str], name: str | None = None) -> list[tuple[int, str]] | None:
    """``(order key, header)`` of every header of ``sections`` holding one of ``needles``, and of every odd
    one (a quote, a backslash, a tab, a carriage return, a final space: see :func:`needles_for`), in file order.

    With ``name`` (what the needles look for), an odd header is returned only if it holds a quote, a
    backslash or ``name`` itself: a header split by a tab ("[profile\tx]") names what it holds, and a file
    of 10,000 of them is not handed over whole at every write. A needle ending (starting) in a newline
    matches the headers that end (start) with the rest of it. The order key grows with the header's place
    in ``sections``. ``None`` when that cannot be told by a substring search (a header holding a newline,
    a needle holding one elsewhere, an empty needle). The odd headers are searched once per file and
    carried through the writer's splices.
    """
    joined = _joined_headers(sections)
    if joined is None:
        return None
    text, searches = joined
    odd = searches.get(_ODD)
    if odd is None:
        odd = searches[_ODD] = sorted({hit for needle in _ODD_NEEDLES for hit in _search(text, needle)})
    if name is not None:
        odd = [hit for hit in odd if name in hit[1] or "'" in hit[1] or '"' in hit[1] or "\\" in hit[1]]
    found: dict[int, str] = dict(odd)
    for needle in needles:
        if not needle.strip("\n") or "\n" in needle[1:-1]:  # a needle may start or end a header, never span two
            return None
        hits = searches.get(needle)
        if hits is None:
            hits = searches[needle] = _search(text, needle)
        found.update(hits)
    return sorted(found.items())


def _entries(sections: dict[str, Any], table: str, name: str) -> list[tuple[int, Any]] | None:
    """``(order key, copied values)`` of every header of ``sections`` that ``table``'s entry ``name`` comes from."""
    found = headers_with(sections, needles_for(name), name)
    if found is None:
        return None
    kind = _TABLES[table]
    out = []
    for key, header in found:
        plain = _fastini.plain_header(header)
        if plain is not None and plain[1] != name:
            continue  # names another entry: a short name is a substring of many headers ("x" in "profile x-1")
        if header.startswith(kind) or (table == "profiles" and header == "default"):
            one = _fastini.profile_map({header: sections[header]})[table]  # botocore's own mapping of this header
            if name in one:
                out.append((key, one[name]))
    return out


def _owners(header: str) -> list[tuple[str, str]] | None:
    """The table entries one header feeds (none, or one); None: a section outside the three tables."""
    if header in _TABLES:
        return None  # a raw [sso_sessions] section would move that table's place among the map's keys
    one = _fastini.profile_map({header: {}})
    if len(one) != len(_TABLES):
        return None
    return [(table, name) for table in _TABLES for name in one[table]]


def profile_map_from(
    old_sections: dict[str, Any], old_map: dict[str, Any], new_sections: dict[str, Any]
) -> tuple[dict[str, Any], set[str], Order | None] | None:
    """``profile_map(new_sections)`` from ``old_map = profile_map(old_sections)``, the profile names whose
    entry may differ, and how the profiles' order follows from the old one's; ``None``: compute it in full."""
    run = diff(old_sections, new_sections)
    if run is None:
        return None
    touched: set[tuple[str, str]] = set()
    for header in chain(*run):
        owners = _owners(header)
        if owners is None:
            return None  # [preview], [plugins]...: their order among the raw sections is the full pass's
        touched.update(owners)
    result = dict(old_map)
    order: Order | None = (set(), [])
    for table in {table for table, _ in touched}:
        made = _table_from(old_map[table], new_sections, table, {name for t, name in touched if t == table})
        if made is None:
            return None
        result[table] = made[0]
        if table == "profiles":
            order = made[1]
    return result, {name for table, name in touched if table == "profiles"}, order


class _Lost(Exception):
    """An entry that should be in the new file was not found there (never expected: recompute in full)."""


Order = tuple[set[str], list[str]]  # (removed, appended): the new order is the old one less removed, plus appended


def _table_from(old: dict[str, Any], sections: dict[str, Any], table: str, names: set[str]) -> tuple[dict[str, Any], Order | None] | None:
    """``old`` with the entries ``names`` recomputed from ``sections``, each at its first header's place,
    and how its order follows from ``old``'s (None: entries moved into the middle).

    Every other entry keeps its headers, hence its first header's place and its order.
    """
    found: dict[str, tuple[int, Any]] = {}
    for name in names:
        entries = _entries(sections, table, name)
        if entries is None:
            return None
        if entries:
            found[name] = (entries[0][0], entries[-1][1])  # placed by its first header, valued by its last

    def place(name: str) -> int:
        entries = _entries(sections, table, name)
        if not entries:
            raise _Lost(name)
        return entries[0][0]

    result = dict(old)
    try:
        if len(found) == 1 and next(iter(found)) in old and _keeps_place(old, names, next(iter(found)), found, place):
            for name in names - found.keys():
                result.pop(name, None)
            result.update((name, values) for name, (_key, values) in found.items())  # in place
            return result, (names - found.keys(), [])
        for name in names:
            result.pop(name, None)
        if not found:
            return result, (names, [])
        inserts = sorted((key, name) for name, (key, _values) in found.items())
        if not result or inserts[0][0] > place(next(reversed(result))):
            result.update((name, found[name][1]) for _key, name in inserts)  # after every other entry: appended
            return result, (names, [name for _key, name in inserts])
        order = list(result)
        slots = sorted((bisect.bisect_left(order, key, key=place), key, name) for key, name in inserts)
    except _Lost:
        return None
    items = list(result.items())
    out: list[tuple[str, Any]] = []
    done = 0
    for slot, _key, name in slots:
        out.extend(items[done:slot])
        out.append((name, found[name][1]))
        done = slot
    out.extend(items[done:])
    return dict(out), None


def _keeps_place(old: dict[str, Any], names: set[str], name: str, found: dict[str, tuple[int, Any]], place: Any) -> bool:
    """Whether ``name``'s first header still sits between those of its nearest unchanged neighbours in ``old``."""
    before = list(old)
    at = before.index(name)
    key = found[name][0]
    left = next((n for n in reversed(before[:at]) if n not in names), None)
    right = next((n for n in before[at + 1 :] if n not in names), None)
    return (left is None or place(left) < key) and (right is None or key < place(right))


def merged_from(
    old_merged: dict[str, Any],
    old_map: dict[str, Any],
    new_map: dict[str, Any],
    changed: set[str],
    old_creds: dict[str, Any],
    new_creds: dict[str, Any],
    order: Order | None = None,
) -> dict[str, Any] | None:
    """``full_config``'s merge of ``new_map`` and ``new_creds`` from ``old_merged``, the merge of ``old_map``
    and ``old_creds`` (``changed``: the profile names whose entries may differ between the two maps;
    ``order``: how the new map's profile order follows from the old one's, when known).

    Its profiles are the config file's, in the map's order, then the credentials-only ones in that
    file's order; every profile no changed section names keeps its previous values.
    """
    run = diff(old_creds, new_creds)
    if run is None:
        return None
    names = changed.union(*run)
    config, old = new_map["profiles"], old_merged["profiles"]
    fresh: dict[str, Any] = {}
    for name in names:
        values = dict(config[name]) if name in config else None
        if name in new_creds:
            if values is None:
                values = dict(new_creds[name])
            else:
                values.update(new_creds[name])
        if values is not None:
            fresh[name] = values
    profiles = None
    if order is not None:
        profiles = _edited(old, old_map["profiles"], config, new_creds, names, fresh, order, run)
    if profiles is None:
        profiles = _in_place(old, old_map["profiles"], config, new_creds, names, fresh)
    if profiles is None:
        merged_order = chain(config, filterfalse(config.__contains__, new_creds))
        profiles = {name: fresh[name] if name in fresh else old[name] for name in merged_order}
    merged = dict(new_map)
    merged["profiles"] = profiles
    return merged


def _edited(old: dict[str, Any], old_config: dict[str, Any], config: dict[str, Any], creds: dict[str, Any],
            names: set[str], fresh: dict[str, Any], order: Order, run: tuple[list[str], list[str]]) -> dict[str, Any] | None:
    """The new profile table as ``old`` edited in place, from how the config order followed (``order``) and
    the credentials run; None when neither proves the credentials-only order (then it is checked in full)."""
    removed, appended = order
    if any((name in old_config) != (name in config) for name in names if name in old and name in fresh):
        return None  # a profile moves between the config part and the credentials-only part
    if any(name not in old_config for name in appended if name in old) or not set(appended) <= fresh.keys():
        return None
    only_new = [name for name in fresh if name not in config]  # the changed names that end credentials-only
    added_only = _last(creds, {name for name in only_new if name not in old})
    if added_only is None:
        return None
    if any(name in old for name in only_new) and run[0] != run[1]:
        return None  # credentials-only sections changed in a run that also moved or added some: check in full
    table = old.copy()
    for name in names:
        if name not in fresh or name in removed:
            table.pop(name, None)
    table.update((name, values) for name, values in fresh.items() if name in table)
    at = len(config) - len(appended)
    if appended and at < len(table):
        table = dict(chain(islice(table.items(), at), ((n, fresh[n]) for n in appended), islice(table.items(), at, None)))
    else:
        table.update((name, fresh[name]) for name in appended)
    table.update((name, fresh[name]) for name in added_only)
    return table


def _in_place(old: dict[str, Any], old_config: dict[str, Any], config: dict[str, Any], creds: dict[str, Any],
              names: set[str], fresh: dict[str, Any]) -> dict[str, Any] | None:
    """The new profile table as a copy of ``old`` edited in place, when the orders prove it is one; else None.

    Holds when the config profiles are the old ones less those removed plus new ones at the end, and the
    credentials-only ones likewise (both checked in full, in C): then removing, replacing, and inserting
    the new config profiles before the credentials-only ones gives full_config's order.
    """
    if any((name in old_config) != (name in config) for name in names if name in old and name in fresh):
        return None  # a profile moves between the config part and the credentials-only part
    added = [name for name in fresh if name not in old]
    added_config = _last(config, {name for name in added if name in config})
    added_only = _last(creds, {name for name in added if name not in config})
    if added_config is None or added_only is None:
        return None
    keys = list(old_config)
    for name in names:
        if name in old_config and name not in config:
            keys.remove(name)
    if keys + added_config != list(config):
        return None
    only = list(islice(old, len(old_config), None))
    for name in names:
        if name in old and name not in old_config and name not in fresh:
            only.remove(name)
    if only + added_only != list(filterfalse(config.__contains__, creds)):
        return None
    table = old.copy()
    for name in names:
        if name not in fresh:
            table.pop(name, None)
    table.update((name, values) for name, values in fresh.items() if name in table)
    at = len(config) - len(added_config)
    if added_config and at < len(table):
        table = dict(chain(islice(table.items(), at), ((n, fresh[n]) for n in added_config), islice(table.items(), at, None)))
    else:
        table.update((name, fresh[name]) for name in added_config)
    table.update((name, fresh[name]) for name in added_only)
    return table


def _last(table: dict[str, Any], names: set[str]) -> list[str] | None:
    """``names`` in ``table``'s order when they are its last keys; else None."""
    last = list(islice(reversed(table), len(names)))[::-1]
    return last if set(last) == names else None
