"""The read side of issue 17 (picker ready at 10,000 profiles): shortcuts that must change nothing visible.

Each shortcut is checked against the slow way as the oracle: the profile table's display settings are
computed when first asked for, yet equal what building them at once gives; the profile table built
field by field equals the dataclass built through its constructor; the program name shown for a
``credential_process`` equals what ``shlex.split`` finds; the sort is ``sorted_names``' documented key.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import shlex
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from awswidget import profiles
from awswidget.files import config_profile_name
from awswidget.manager import CredentialsManager
from awswidget.profiles import ProfileInfo, build_profiles, full_config, sorted_names
from tests.helpers import SECRET, key_id

CONFIG = """[default]
region = us-east-1
[profile dev]
region = eu-west-1
credential_process = /usr/bin/get-creds --token abc123 --profile dev
s3 =
    max_concurrent_requests = 4
    secret_thing = hush
[profile role]
role_arn = arn:aws:iam::123456789012:role/x
source_profile = dev
mfa_serial = arn:aws:iam::123456789012:mfa/me
[profile quoted]
credential_process = "/opt/my tool/creds" --x
[profile broken]
credential_process = "unclosed
[profile keys-here]
aws_access_key_id = {key}
aws_secret_access_key = {secret}
endpoint_url = http://127.0.0.1:5000
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
"""
CREDENTIALS = f"""[default]
aws_access_key_id = {key_id(1)}
aws_secret_access_key = {SECRET}
[dev]
aws_access_key_id = {key_id(2)}
aws_secret_access_key = {SECRET}
aws_session_token = {"t" * 60}
[creds-only]
aws_access_key_id = {key_id(3)}
aws_secret_access_key = {SECRET}
"""


def _eager_settings(values: dict[str, Any], creds: dict[str, Any] | None, config_path: str, creds_path: str) -> tuple[Any, ...]:
    """The settings as build_profiles computed them before they became lazy (the oracle)."""
    return tuple(
        (key, profiles._shown(key, value), creds_path if creds is not None and key in creds else config_path)
        for key, value in values.items()
    )


def _constructed(name: str, values: dict[str, Any], creds: dict[str, Any] | None, in_config: bool, paths: tuple[str, str]) -> dict[str, Any]:
    """Every field as ProfileInfo(...) built it before the table was built field by field (the oracle)."""
    key = profiles._scalar(values, "aws_access_key_id")
    built = ProfileInfo(
        name=name, kind=profiles._kind(values, creds),
        sources=tuple(p for p, present in ((paths[0], in_config), (paths[1], creds is not None)) if present),
        access_key_id=profiles.mask(key) if key else None,
        **{f: profiles._scalar(values, f) for f in profiles._FIELDS},
    )
    return {f.name: getattr(built, f.name) for f in dataclasses.fields(ProfileInfo)}


def _table(aws_env: Any) -> tuple[dict[str, ProfileInfo], dict[str, Any], dict[str, Any]]:
    aws_env.write(config=CONFIG.format(key=key_id(4), secret=SECRET), credentials=CREDENTIALS)
    m = CredentialsManager()
    config, creds = m.files.read()
    return m._catalog.infos, config.sections, creds.sections


def test_the_table_computes_no_display_settings_until_asked(aws_env: Any, monkeypatch: Any) -> None:
    calls: list[str] = []
    shown = profiles._shown
    monkeypatch.setattr(profiles, "_shown", lambda key, value: calls.append(key) or shown(key, value))
    infos, _, _ = _table(aws_env)
    assert len(infos) == 7 and calls == []
    assert infos["dev"].settings
    assert calls and set(calls) <= {"region", "credential_process", "s3", "max_concurrent_requests", "secret_thing",
                                    "aws_access_key_id", "aws_secret_access_key", "aws_session_token"}


def test_the_table_computes_no_field_until_one_is_read(aws_env: Any, monkeypatch: Any) -> None:
    calls: list[str] = []
    kind = profiles._kind
    monkeypatch.setattr(profiles, "_kind", lambda values, creds: calls.append("kind") or kind(values, creds))
    infos, config, creds = _table(aws_env)
    calls.clear()  # the manager read the selection's fields
    fresh = build_profiles(config, creds)
    assert calls == [] and list(fresh) == list(infos)
    assert fresh["role"].kind == "role-mfa" and calls == ["kind"]
    assert fresh["role"].region is None and fresh["role"].source_profile == "dev" and calls == ["kind"]  # once per profile
    assert "role_arn='arn:aws:iam::123456789012:role/x'" in repr(fresh["role"])


def test_fields_read_from_many_threads_at_once_are_the_same(aws_env: Any) -> None:
    import threading

    _, config, creds = _table(aws_env)
    for _ in range(20):
        info = build_profiles(config, creds)["dev"]
        seen: list[Any] = []
        readers = [threading.Thread(target=lambda i=info, out=seen: out.append((i.settings, i._key()))) for _ in range(4)]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join()
        assert len(seen) == 4 and len(set(seen)) == 1 and seen[0][0]


def test_lazy_settings_equal_the_eager_ones_and_forget_the_raw_values(aws_env: Any) -> None:
    infos, config, creds = _table(aws_env)
    merged = full_config(config, creds)["profiles"]
    for name, info in infos.items():
        expected = _eager_settings(merged[name], creds.get(name), str(aws_env.config), str(aws_env.credentials))
        assert info.settings == expected, name
        assert info._values is None and info.settings is info.settings  # computed once, raw values dropped
    shown = dict(((k, v) for k, v, _ in infos["dev"].settings))
    assert shown["credential_process"] == "/usr/bin/get-creds (arguments hidden)"
    assert shown["s3"] == "max_concurrent_requests=4, secret_thing=(hidden)"
    assert dict((k, v) for k, v, _ in infos["broken"].settings)["credential_process"] == "(hidden)"


def test_every_field_equals_what_the_constructor_built(aws_env: Any) -> None:
    infos, config, creds = _table(aws_env)
    merged = full_config(config, creds)["profiles"]
    names = {config_profile_name(h) for h in config}
    paths = (str(aws_env.config), str(aws_env.credentials))
    for name, info in infos.items():
        got = {f.name: getattr(info, f.name) for f in dataclasses.fields(ProfileInfo)}
        assert got == _constructed(name, merged[name], creds.get(name), name in names, paths), name


def test_equality_counts_the_settings_and_copies_carry_no_raw_values(aws_env: Any) -> None:
    infos, config, creds = _table(aws_env)
    paths = (str(aws_env.config), str(aws_env.credentials))
    again = build_profiles(config, creds, *paths)
    assert list(again.items()) == list(infos.items())
    assert hash(again["dev"]) == hash(infos["dev"])
    edited = {**config, "profile dev": {**config["profile dev"], "s3": {"max_concurrent_requests": "8"}}}
    other = build_profiles(edited, creds, *paths)["dev"]
    assert other._key() == infos["dev"]._key() and other != infos["dev"]  # every field equal: the settings differ
    for made in (pickle.loads(pickle.dumps(infos["keys-here"])),  # noqa: S301 (our own bytes)
                 copy.deepcopy(infos["keys-here"]), copy.copy(infos["keys-here"])):
        assert made == infos["keys-here"] and getattr(made, "_values", None) is None
    assert SECRET not in pickle.dumps(build_profiles(config, creds, *paths)["keys-here"]).decode("latin-1")


def test_a_profile_info_built_by_hand_has_no_settings() -> None:
    info = ProfileInfo("dev", "sso", sso_session="corp")
    assert info.settings == () and info == ProfileInfo("dev", "sso", sso_session="corp")


_SHELLISH = st.text(alphabet=st.sampled_from(list(" \t\r\nab/-=.\"'\\$\x0b\x0c\xa0é")), max_size=30)


@settings(max_examples=600, deadline=None)
@given(_SHELLISH)
def test_the_program_shown_is_shlex_s_first_word(command: str) -> None:
    try:
        words = shlex.split(command)
    except ValueError:
        expected = "(hidden)"
    else:
        expected = "" if not words else words[0] + (" (arguments hidden)" if len(words) > 1 else "")
    assert profiles._command(command) == expected


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.just("default"), st.text(alphabet=st.sampled_from(list("aAbB-_default DEFAULTßẞİı")), max_size=8))))
def test_sorted_names_is_its_documented_key(names: list[str]) -> None:
    assert sorted_names(names) == tuple(sorted(names, key=lambda n: (n != "default", n.casefold(), n)))
    assert sorted_names(dict.fromkeys(names)) == sorted_names(list(dict.fromkeys(names)))


# --------------------------------------------------------------------------- the garbage collector


@pytest.fixture(autouse=True)
def _nobody_has_frozen_objects() -> None:
    # mutmut 3.8 calls gc.freeze() before it forks each mutant's run, and _promote does nothing while anyone
    # has frozen objects: a test of the promotion that ran before one that unfreezes tested nothing there
    # (a mutant of _promote survived for that reason only). Outside mutmut nothing is frozen: no-op.
    import gc

    if gc.get_freeze_count():
        gc.unfreeze()


def test_gc_pauses_nest_and_restore_what_was_there() -> None:
    import gc

    from awswidget.files import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still runs
    assert gc.isenabled()
    gc.disable()  # the user's own choice is kept
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    try:
        with gc_paused():
            raise KeyError("x")
    except KeyError:
        pass
    assert gc.isenabled()


def test_building_the_profile_table_starts_no_collection(aws_env: Any, monkeypatch: Any) -> None:
    import gc

    from awswidget.catalog import Catalog

    aws_env.write(config="".join(f"[profile p{i}]\nregion = eu-west-1\ns3 =\n  a = 1\n" for i in range(3000)),
                  credentials="".join(f"[p{i}]\naws_access_key_id = {key_id(i)}\naws_secret_access_key = {SECRET}\n" for i in range(0, 3000, 2)))
    runs: list[int] = []
    during: list[bool] = []
    load = Catalog.load

    def watched(self: Catalog) -> None:
        during.append(gc.isenabled())
        started = len(runs)
        load(self)
        during.append(len(runs) == started)

    def note(phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            runs.append(1)

    monkeypatch.setattr(Catalog, "load", watched)
    gc.callbacks.append(note)
    try:
        m = CredentialsManager()
    finally:
        gc.callbacks.remove(note)
    assert len(m.profiles) == 3000 and during == [False, True] and gc.isenabled()


def _in_generation(objects: list[Any], generation: int) -> list[bool]:
    import gc

    there = {id(o) for o in gc.get_objects(generation=generation)}
    return [id(o) in there for o in objects]


def test_what_a_pause_leaves_in_numbers_goes_straight_to_the_oldest_generation() -> None:
    import gc

    from awswidget import fileread
    from awswidget.files import gc_paused

    gc.collect()  # a full collection since the last promotion (at most one between two: see the last test)
    with gc_paused():
        table = [[i] for i in range(fileread.PROMOTE_AT + 100)]  # one tracked list each
    young = gc.get_count()[0]  # 10,100 or more had they stayed young
    assert _in_generation(table[::1000], 2) == [True] * len(table[::1000])
    assert young < 700 and gc.isenabled()
    with gc_paused():
        few = [[i] for i in range(100)]
    assert _in_generation(few, 2) == [False] * 100  # a handful stays young, as always


def test_promoting_a_table_starts_no_collection() -> None:
    # The point is not to walk the table: a collection at the end of the pause (young or full) would put it
    # in the oldest generation too, and cost what the promotion saves (review 42, F4).
    import gc

    from awswidget import fileread
    from awswidget.files import gc_paused

    gc.collect()
    starts: list[int] = []

    def note(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            starts.append(info["generation"])

    gc.callbacks.append(note)
    try:
        with gc_paused():
            table = [[i] for i in range(fileread.PROMOTE_AT + 100)]
        more = [[i] for i in range(50)]  # below the young threshold: no collection is due on its own
    finally:
        gc.callbacks.remove(note)
    assert starts == [] and _in_generation(table[::1000], 2) == [True] * len(table[::1000]) and len(more) == 50


def test_someone_elses_frozen_objects_stay_frozen() -> None:
    # The freeze count also falls whenever a frozen object is freed (in any thread): a marker tells
    # "still frozen" (review 42, F3: the count flaked once in six runs).
    import gc

    from awswidget import fileread
    from awswidget.files import gc_paused

    gc.collect()
    marker = [object()]
    gc.freeze()  # as a server that forks does, to keep its objects out of every collection
    try:
        with gc_paused():
            table = [[i] for i in range(fileread.PROMOTE_AT + 100)]
        assert not any(o is marker for o in gc.get_objects())  # still frozen: not unfrozen by ours
        assert _in_generation(table[::1000], 2) == [False] * len(table[::1000])
    finally:
        gc.unfreeze()


def test_only_what_the_block_left_counts_not_the_users_young_objects() -> None:
    # With a high young threshold of the user's, 20,000 young objects of theirs and a small block:
    # nothing is promoted (review 42, F5: the count since the last collection was taken for the block's).
    import gc

    from awswidget import fileread
    from awswidget.files import gc_paused

    gc.collect()
    before = gc.get_threshold()
    gc.set_threshold(50_000, 10, 10)
    try:
        theirs = [[i] for i in range(fileread.PROMOTE_AT * 2)]
        with gc_paused():
            ours = [[i] for i in range(100)]
        assert _in_generation(theirs[::1000] + ours[::10], 2) == [False] * (len(theirs[::1000]) + len(ours[::10]))
    finally:
        gc.set_threshold(*before)


def test_a_table_of_ten_thousand_profiles_is_old_when_the_manager_is_ready(aws_env: Any) -> None:
    # Left young, the next young collections walk 10,000 ProfileInfo objects again and their number
    # starts a full collection: 70 ms of a fresh kernel's first switch (issue 17, tests/benchmarks).
    import gc

    gc.collect()
    aws_env.write(config="".join(f"[profile p{i}]\nregion = eu-west-1\n" for i in range(12000)))
    m = CredentialsManager()
    infos = [m.profile_info(f"p{i}") for i in range(0, 12000, 1500)]
    assert _in_generation(infos, 2) == [True] * len(infos)
    assert gc.get_freeze_count() == 0


def test_managers_built_again_and_again_do_not_starve_full_collections(aws_env: Any) -> None:
    # A dropped manager leaves ~1,200 objects in cycles (botocore's config providers and hooks) holding the
    # 10,000-profile parse it was built from; promoted objects do not count towards the next full collection,
    # so a promotion at every construction piled them up: 556 MB after 120 (review 42, F1).
    import gc

    gc.collect()
    m = None
    for i in range(40):
        aws_env.write(config="[default]\nregion = eu-west-1\n" + "".join(f"[profile p{k}]\nregion = eu-west-{1 + (k + i) % 3}\n" for k in range(10000)))
        m = CredentialsManager(activate=False)
    assert m is not None
    m = None
    freed = gc.collect()
    assert freed < 35_000, freed  # a promotion every time: ~47,000; none: ~20,000; at most one per full collection: ~13,000


def test_one_promotion_per_full_collection_and_a_young_or_middle_one_is_not_full() -> None:
    # "Once per full collection" is counted in the oldest generation's collections: another big block
    # before the next full collection ages as usual, a generation-1 collection is not a full one, and
    # after a full collection the next big block is promoted again. A young threshold above what the
    # test allocates keeps the collector from starting any collection of its own between the steps.
    import gc

    from awswidget import fileread
    from awswidget.files import gc_paused

    def block() -> list[list[int]]:
        with gc_paused():
            return [[i] for i in range(fileread.PROMOTE_AT + 100)]

    def old(table: list[list[int]]) -> bool:
        return all(_in_generation(table[::1000], 2))

    before = gc.get_threshold()
    gc.collect()
    gc.set_threshold(1_000_000, 10, 10)
    try:
        full = gc.get_stats()[-1]["collections"]
        first = block()
        second = block()  # no full collection since the first promotion
        assert (old(first), old(second)) == (True, False)
        gc.collect(1)  # moves `second` on, but is not a full collection
        third = block()
        assert gc.get_stats()[-1]["collections"] == full  # no full collection of the collector's own
        assert not old(third)
        gc.collect()
        assert old(block())
    finally:
        gc.set_threshold(*before)


@pytest.mark.parametrize("missing", ["freeze", "unfreeze", "get_freeze_count"])
def test_an_interpreter_without_gc_freeze_promotes_nothing_and_collects_again(missing: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # CPython has had all three since 3.7; another interpreter may lack any one of them. Then nothing is
    # promoted, and the end of the block neither fails nor leaves the collector off.
    import gc

    from awswidget import fileread
    from awswidget.files import gc_paused

    gc.collect()  # a full collection since any promotion: one would be due now
    monkeypatch.delattr(gc, missing)
    with gc_paused():
        table = [[i] for i in range(fileread.PROMOTE_AT + 100)]
    assert gc.isenabled()
    assert _in_generation(table[::1000], 2) == [False] * len(table[::1000])
