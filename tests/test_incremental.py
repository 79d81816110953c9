"""Writes that cost what they change (issue 17), and are still exactly as safe.

Two shortcuts, each checked against the slow way as the oracle:

* the manager's profile table after a write is rebuilt only for the profiles whose
  sections changed (awswidget.catalog): it must equal a full rebuild, in order and
  content, after every kind of write, another program's edit, and a write racing one;
* the writer edits and re-checks only the sections around its target
  (awswidget.filewrite._window): it must write exactly the bytes the whole-file
  writer writes, and what it remembers as the file's reading must be botocore's.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import botocore.configloader
import botocore.exceptions
import pytest

from awswidget import _fastini, fileread, filewrite
from awswidget import store as store_mod
from awswidget.catalog import Catalog
from awswidget.errors import ProfileNotFoundError
from awswidget.files import config_profile_name, update_file
from awswidget.manager import CredentialsManager
from awswidget.store import ProfileStore
from tests.helpers import SECRET, key_id


def _config(n: int, eol: str = "\n") -> str:
    parts = ["# generated", "[default]", "region = us-east-1", ""]
    for i in range(n):
        parts += [f"[profile p{i}]", f"region = eu-west-{i % 3 + 1}", "s3 =", "    max_concurrent_requests = 4", ""]
        if i % 7 == 0:
            parts += [f"[profile r{i}]", f"role_arn = arn:aws:iam::123456789012:role/r{i}", f"source_profile = p{i}", "# a comment", ""]
    parts += ["[sso-session corp]", "sso_start_url = https://corp.awsapps.com/start", "sso_region = us-east-1", ""]
    return eol.join(parts)


def _credentials(n: int, eol: str = "\n") -> str:
    parts = []
    for i in range(0, n, 2):
        parts += [f"[p{i}]", f"aws_access_key_id = {key_id(i)}", f"aws_secret_access_key = {SECRET}", ""]
    return eol.join(parts)


@pytest.fixture(params=["windowed", "whole"])
def window_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs both ways: with the window forced on small files, and with whole-file edits."""
    monkeypatch.setattr(filewrite, "WINDOW_MIN", 0 if request.param == "windowed" else 10**12)
    return str(request.param)


def _full_table(m: CredentialsManager) -> list[tuple[str, Any]]:
    fresh = Catalog(m.files)
    fresh.load()
    return list(fresh.infos.items())


def _assert_table_is_a_full_reload(m: CredentialsManager) -> None:
    assert list(m._catalog.infos.items()) == _full_table(m)
    assert list(m.profiles) == [name for name, _ in _full_table(m)]


@pytest.fixture
def manager(aws_env: Any, window_mode: str) -> CredentialsManager:
    aws_env.write(config=_config(40), credentials=_credentials(40))
    return CredentialsManager()


# --------------------------------------------------------------------------- the table


WRITES = {
    "add a new profile": lambda m: m.add_profile("new", key_id(900), SECRET, region="sa-east-1"),
    "add a profile that sorts first": lambda m: m.add_profile("AAA", key_id(901), SECRET),
    "add names that differ in case only": lambda m: [m.add_profile(n, key_id(905 + i), SECRET) for i, n in enumerate(("P1x", "p1X", "_x", "@x"))],
    "overwrite keys with a session token": lambda m: m.add_profile("p2", key_id(902), SECRET, session_token="t" * 40, overwrite=True),
    "overwrite a config-only profile": lambda m: m.add_profile("p3", key_id(903), SECRET, region="ap-south-1", overwrite=True),
    "overwrite default": lambda m: m.add_profile("default", key_id(904), SECRET, output="json", overwrite=True),
    "remove a profile in both files": lambda m: m.remove_profile("p4"),
    "remove a config-only profile": lambda m: m.remove_profile("p5"),
    "remove a role": lambda m: m.remove_profile("r7"),
    "remove the source of a role": lambda m: m.remove_profile("p0"),
    "remove default": lambda m: m.remove_profile("default"),
    "save a role's settings": lambda m: m.store.save_settings("role2", {"role_arn": "arn:aws:iam::123456789012:role/x", "source_profile": "p2"}),
    "change settings of a profile": lambda m: m.store.set_settings("p6", {"region": "us-west-2", "s3": None}),
}


@pytest.mark.parametrize("write", list(WRITES), ids=list(WRITES))
def test_the_table_after_each_kind_of_write_is_a_full_reload(manager: CredentialsManager, write: str) -> None:
    before = dict(manager._catalog.infos)
    WRITES[write](manager)
    manager.reload()
    _assert_table_is_a_full_reload(manager)
    assert dict(manager._catalog.infos) != before  # the write did change something the table shows


def test_a_sequence_of_writes_stays_a_full_reload(manager: CredentialsManager) -> None:
    for name in ("new", "p2", "r14", "new"):
        if name in manager._catalog:
            manager.remove_profile(name)
        else:
            manager.add_profile(name, key_id(hash(name) % 1000), SECRET, region="eu-north-1")
        _assert_table_is_a_full_reload(manager)


def test_another_programs_edit_is_a_full_reload(manager: CredentialsManager, aws_env: Any) -> None:
    text = aws_env.config.read_text()
    aws_env.config.write_text(text.replace("[profile p8]\nregion = eu-west-3", "[profile p8]\nregion = us-east-2")
                              .replace("[profile p9]", "[profile renamed]"))
    manager.reload()
    assert manager.profile_info("p8").region == "us-east-2" and "renamed" in manager._catalog and "p9" not in manager._catalog
    _assert_table_is_a_full_reload(manager)


def test_a_write_racing_another_programs_edit_is_a_full_reload(manager: CredentialsManager, aws_env: Any,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Another program rewrites the credentials file in place while ours is being written: ours is
    retried on its version, both changes survive, and the table is what a full reload reads."""
    real_write = filewrite.write_atomic
    raced: list[str] = []

    def racing(path: str, *args: Any, **kwargs: Any) -> Any:
        if path == os.path.realpath(aws_env.credentials) and not raced:
            raced.append(path)
            with open(path, "a") as f:  # in place, like `aws configure set`
                f.write(f"\n[cli-added]\naws_access_key_id = {key_id(777)}\naws_secret_access_key = {SECRET}\n")
        return real_write(path, *args, **kwargs)

    monkeypatch.setattr(filewrite, "write_atomic", racing)
    manager.add_profile("mine", key_id(778), SECRET, region="eu-west-1")
    assert raced
    parsed = botocore.configloader.raw_config_parse(str(aws_env.credentials))
    assert parsed["cli-added"]["aws_access_key_id"] == key_id(777) and parsed["mine"]["aws_access_key_id"] == key_id(778)
    assert "cli-added" in manager._catalog and "mine" in manager._catalog
    _assert_table_is_a_full_reload(manager)


def test_an_edit_after_our_write_before_the_reload_is_seen(manager: CredentialsManager, aws_env: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    real_save = ProfileStore.save_keys

    def then_edit(self: ProfileStore, *args: Any, **kwargs: Any) -> None:
        real_save(self, *args, **kwargs)
        text = aws_env.config.read_text()
        aws_env.config.write_text(text.replace("[profile p10]\n", "[profile p10]\noutput = text\n"))

    monkeypatch.setattr(ProfileStore, "save_keys", then_edit)
    manager.add_profile("mine", key_id(779), SECRET)
    assert manager.profile_info("p10").output == "text"
    _assert_table_is_a_full_reload(manager)


# --------------------------------------------------------------------------- the windowed writer


def _texts() -> dict[str, str]:
    return {
        "lf": _config(12),
        "crlf": _config(12, "\r\n"),
        "no final newline": _config(12).rstrip("\n"),
        "comments between": _config(12).replace("\n\n", "\n# between\n\n"),
        "default twice": _config(12) + "[profile default]\nregion = eu-west-2\n",
        "preamble only before": "\n\n# top\n" + _config(12),
        "not ASCII (offsets in characters are not bytes)": _config(12).replace("# generated", "# généré — 設定"),
    }


def _edits() -> dict[str, Any]:
    in_config = lambda name: (lambda h: config_profile_name(h) == name)  # noqa: E731
    return {
        "set first": store_mod._set("default", {"output": "json"}, in_config("default")),
        "set middle": store_mod._set("profile p5", {"region": "us-west-1", "output": "text"}, in_config("p5")),
        "set last": store_mod._set("sso-session corp", {"sso_region": "eu-west-1"}, None),
        "set new": store_mod._set("profile brand-new", {"region": "us-west-1"}, in_config("brand-new")),
        "unset a nested key": store_mod._set("profile p6", {"s3": None}, in_config("p6")),
        "remove first": store_mod._remove(in_config("default")),
        "remove middle": store_mod._remove(in_config("p3")),
        "remove last": store_mod._remove(lambda h: h == "sso-session corp"),
        "remove a role": store_mod._remove(in_config("r7")),
        # As the store makes them: saying where to look (needles), so headers are found by substring search.
        "set middle, by needles": store_mod._set("profile p5", {"output": "text"}, store_mod._names("p5")),
        "set new, by needles": store_mod._set("profile brand-new", {"region": "us-west-1"}, store_mod._names("brand-new")),
        "set first, by needles": store_mod._set("default", {"output": "json"}, store_mod._names("default")),
        "remove middle, by needles": store_mod._remove(store_mod._names("p3")),
        "remove last, by needles": store_mod._remove(store_mod._exactly("sso-session corp")),
    }


def _write(path: Path, text: str, edit: Any, window_min: int, monkeypatch: pytest.MonkeyPatch) -> bytes:
    path.write_bytes(text.encode())
    fileread.forget_cached()
    monkeypatch.setattr(filewrite, "WINDOW_MIN", window_min)
    update_file(path, edit)
    return path.read_bytes()


def _assert_splice_noted_as_computed(source: str, after: dict[str, Any], needles: bool) -> None:
    """What the writer noted of its splice (the diff's run, the joined headers) is what computing them gives."""
    from awswidget import _merge

    before = _fastini.parse(source.encode(), "x")
    noted = [(a, b, run) for a, b, run in _merge._diffs.values() if b is after]
    assert len(noted) == 1
    base = noted[0][0]
    assert base == before
    joined = _merge._joined.get(id(after))
    assert (joined is not None and joined[0] is after) == needles  # carried when the writer had searched the old one
    if joined is not None:
        assert joined[1] == "\n" + "\n".join(after) + "\n"
    run = noted[0][2]
    _merge._diffs.clear()
    assert run == _merge.diff(base, after)


@pytest.mark.parametrize("text", list(_texts()))
@pytest.mark.parametrize("edit", list(_edits()))
def test_the_windowed_writer_writes_the_whole_writers_bytes_and_remembers_botocores_reading(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, edit: str) -> None:
    source, change = _texts()[text], _edits()[edit]
    monkeypatch.setattr(filewrite, "WINDOW_MIN", 0)
    assert filewrite._window(source, _fastini.parse(source.encode(), "x"), change) is not None  # the shortcut is taken
    whole = _write(tmp_path / "whole", source, change, 10**12, monkeypatch)
    windowed = _write(tmp_path / "windowed", source, change, 0, monkeypatch)
    assert windowed == whole
    assert windowed != source.encode()
    remembered = fileread.cached_snapshot(str(tmp_path / "windowed"))
    assert remembered is not None and remembered.data == windowed
    _assert_splice_noted_as_computed(source, remembered.sections, needles=getattr(change, "needles", None) is not None)
    assert remembered.sections == botocore.configloader.raw_config_parse(str(tmp_path / "windowed"))
    assert list(remembered.sections) == list(botocore.configloader.raw_config_parse(str(tmp_path / "windowed")))


@pytest.mark.parametrize("text", [
    "[a]\nx = 1\n  [b]\ny = 2\n",  # an indented "[" line: a header or a continuation, only a full scan knows
    "[DEFAULT]\nx = 1\n[a]\ny = 2\n",  # DEFAULT's keys reach every section
    "[a]\rx = 1\r[b]\ry = 2\r",  # lone CR line endings
])
def test_files_the_window_cannot_prove_are_edited_whole(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(filewrite, "WINDOW_MIN", 0)
    sections = {"a": {"x": "1"}, "b": {"y": "2"}}
    assert filewrite._window(text, sections, store_mod._remove(lambda h: h == "a")) is None


def test_an_edit_that_does_not_say_what_it_targets_is_edited_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(filewrite, "WINDOW_MIN", 0)
    text = _config(3)
    assert filewrite._window(text, _fastini.parse(text.encode(), "x"), lambda doc, s: None) is None


def test_the_window_check_refuses_a_header_repeated_outside_it_and_a_window_that_reads_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(filewrite, "WINDOW_MIN", 0)
    text = _config(12)
    sections = _fastini.parse(text.encode(), "x")
    window = filewrite._window(text, sections, store_mod._remove(lambda h: h == "profile p6"))
    assert window is not None and "default" in window.before
    edited = text[window.start : window.end] + "[default]\nregion = eu-west-1\n"
    with pytest.raises(botocore.exceptions.ConfigParseError):
        window.read_back(sections, edited, "x")
    with pytest.raises(_fastini.Unsupported):  # its last line would run into the next section's header
        window.read_back(sections, text[window.start : window.end].rstrip("\n"), "x")
    wrong = dict(sections, **{window.inside[0]: {"region": "elsewhere"}})
    with pytest.raises(_fastini.Unsupported):
        window.read_back(wrong, text[window.start : window.end], "x")


def test_a_windowed_write_that_would_not_read_back_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config"
    path.write_text(_config(12))
    before = path.read_bytes()
    monkeypatch.setattr(filewrite, "WINDOW_MIN", 0)
    monkeypatch.setattr(filewrite._Window, "read_back", lambda self, base, edited, p: {**base, "default": {"region": "bogus"}})
    with pytest.raises(filewrite.WriteError, match="self-check failed"):
        update_file(path, store_mod._set("default", {"region": "us-west-2"}, None))
    assert path.read_bytes() == before and not filewrite.temp_files(os.path.realpath(path))


# --------------------------------------------------------------------------- botocore's merged view, carried over
#
# After a write, _session derives the profile map and full_config of the new version from the previous
# version's (awswidget._merge). The oracle is botocore itself: a fresh Session's full_config over the same
# files, compared by value AND by order at every level (botocore lists profiles in that order).

TRICKY_CONFIG = """\
[default]
region = us-east-1

[profile default]
output = json

[profile p0]
region = eu-west-1

[profile p1]
region = eu-west-2

[profile r1]
role_arn = arn:aws:iam::123456789012:role/r1
source_profile = p1

[profile  spaced]
region = ap-south-1

[profile p2]
region = eu-west-3
s3 =
    max_concurrent_requests = 4

[profile spaced]
output = text

[profile 'quoted name']
region = ca-central-1

[profile p3]
region = us-west-1

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1

[profile sso-dev]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = Dev

[services local]
s3 =
    endpoint_url = http://localhost:4566

[preview]
cloudfront = true

[profile dev]
region = eu-south-1

[profile p4]
region = sa-east-1

[profile p5]
region = us-east-2

[profile dev \t]
output = yaml

[profile  p1]
output = table
"""

TRICKY_CREDENTIALS = f"""\
[default]
aws_access_key_id = {key_id(1)}
aws_secret_access_key = {SECRET}

[p0]
aws_access_key_id = {key_id(2)}
aws_secret_access_key = {SECRET}

[p1]
aws_access_key_id = {key_id(3)}
aws_secret_access_key = {SECRET}

[creds-only]
aws_access_key_id = {key_id(4)}
aws_secret_access_key = {SECRET}

[profile weird]
aws_access_key_id = {key_id(5)}
aws_secret_access_key = {SECRET}

[p5]
aws_access_key_id = {key_id(6)}
aws_secret_access_key = {SECRET}
"""


def _ordered(value: Any) -> Any:
    """``value`` with every dict turned into its list of items: equal only when the orders are equal too."""
    return [(k, _ordered(v)) for k, v in value.items()] if isinstance(value, dict) else value


def _botocore_views(config: str, credentials: str) -> tuple[dict[str, Any], dict[str, Any]]:
    import botocore.session

    session = botocore.session.Session()
    session.set_config_variable("config_file", config)
    session.set_config_variable("credentials_file", credentials)
    try:
        parsed = botocore.configloader.raw_config_parse(config)
    except botocore.exceptions.ConfigNotFound:
        parsed = {}
    return botocore.configloader.build_profile_map(parsed), session.full_config


@pytest.fixture
def carried(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records which way each new version's views were made: 'map'/'merge' when carried over, 'full' when not."""
    from awswidget import _merge

    ways: list[str] = []
    for name, way in (("profile_map_from", "map"), ("merged_from", "merge")):
        real = getattr(_merge, name)

        def spy(*args: Any, _real: Any = real, _way: str = way) -> Any:
            out = _real(*args)
            ways.append(_way if out is not None else f"full {_way}")
            return out

        monkeypatch.setattr(_merge, name, spy)
    return ways


def _assert_views_are_botocores(aws_env: Any) -> None:
    from awswidget import _session

    config, credentials = str(aws_env.config), str(aws_env.credentials)
    want_map, want_merged = _botocore_views(config, credentials)
    got_map = _session._config_profile_map(config)
    got_merged = _session.merged_config(config, credentials)
    assert got_map == want_map and _ordered(got_map) == _ordered(want_map)
    assert got_merged == want_merged and _ordered(got_merged) == _ordered(want_merged)
    assert _session.config_profile_names(config) == set(want_map["profiles"])


def _on_config(edit: Any) -> Any:
    return lambda m: update_file(m.files.config_file, edit)


def _in_config(name: str) -> Any:
    return store_mod._names(name)


VIEW_WRITES: dict[str, Any] = {
    "add a profile to both files": lambda m: m.add_profile("new", key_id(900), SECRET, region="sa-east-1"),
    "add keys for a config-only profile": lambda m: m.add_profile("p3", key_id(901), SECRET, overwrite=True),
    "settings for a credentials-only profile (it moves among config's)": lambda m: m.store.set_settings("creds-only", {"region": "eu-north-1"}),
    "remove a profile in both files": lambda m: m.remove_profile("p0"),
    "remove a credentials-only profile": lambda m: m.remove_profile("creds-only"),
    "remove a credentials section named like a config header": lambda m: m.remove_profile("profile weird"),
    "remove default ([default], [profile default], credentials)": lambda m: m.remove_profile("default"),
    "remove [default] alone: [profile default] now comes first": _on_config(store_mod._remove(lambda h: h == "default")),
    "remove [profile default] alone": _on_config(store_mod._remove(lambda h: h == "profile default")),
    "remove a profile with two headers": lambda m: m.remove_profile("spaced"),
    "remove the first of two headers of one profile": _on_config(store_mod._remove(lambda h: h == "profile  spaced")),
    "remove the last of two headers of one profile": _on_config(store_mod._remove(lambda h: h == "profile spaced")),
    "remove the first header of a profile whose other one is last (it moves to the end)":
        _on_config(store_mod._remove(lambda h: h == "profile p1")),
    "remove a quoted profile": lambda m: m.remove_profile("quoted name"),
    "change a profile in the middle": lambda m: m.store.set_settings("p2", {"region": "us-west-2", "s3": None}),
    "change default": lambda m: m.store.set_settings("default", {"region": "eu-central-1"}),
    "remove a profile from config, still in credentials": _on_config(store_mod._remove(_in_config("p5"))),
    "change the source_profile of a role's keys": lambda m: m.add_profile("p1", key_id(902), SECRET, overwrite=True),
    "point a role at another source": lambda m: m.store.set_settings("r1", {"source_profile": "p0"}),
    "change an sso-session": _on_config(store_mod._set("sso-session corp", {"sso_region": "eu-west-1"}, None)),
    "add an sso-session": _on_config(store_mod._set("sso-session other", {"sso_start_url": "https://o.awsapps.com/start"}, None)),
    "remove an sso-session": _on_config(store_mod._remove(lambda h: h == "sso-session corp")),
    "change a services block": _on_config(store_mod._set("services local", {"s3": None}, None)),
    "remove a services block": _on_config(store_mod._remove(lambda h: h == "services local")),
    "change a section that is no profile": _on_config(store_mod._set("preview", {"cloudfront": "false"}, None)),
    "save a role": lambda m: m.store.save_settings("role2", {"role_arn": "arn:aws:iam::123456789012:role/x", "source_profile": "p2"}),
    # "dev" ends "sso-dev" too, and its second header ends in blanks: both found by the headers' ends (_merge.needles_for).
    "change a profile whose name ends another's": lambda m: m.store.set_settings("dev", {"region": "eu-south-2"}),
    "remove a profile whose second header ends in blanks": lambda m: m.remove_profile("dev"),
    "add a profile whose name ends several others'": lambda m: m.add_profile("v", key_id(903), SECRET, region="me-south-1"),
}

FOREIGN_EDITS: dict[str, Any] = {
    "a profile inserted in the middle": lambda t: t.replace("[profile p3]\n", "[profile mid]\nregion = us-west-2\n\n[profile p3]\n"),
    "a profile inserted first": lambda t: "[profile aaa]\nregion = us-west-2\n\n" + t,
    "a second header of a profile, after it": lambda t: t + "\n[profile  p3]\noutput = yaml\n",
    "a second header of a profile, before it": lambda t: t.replace("[profile p1]\n", "[profile  p4]\noutput = yaml\n\n[profile p1]\n"),
    "[profile default] moved before [default]": lambda t: t.replace("[default]\nregion = us-east-1\n\n[profile default]\noutput = json\n",
                                                                   "[profile default]\noutput = json\n\n[default]\nregion = us-east-1\n"),
    "two profiles swapped": lambda t: t.replace("[profile p0]\nregion = eu-west-1\n\n[profile p1]\nregion = eu-west-2\n",
                                                "[profile p1]\nregion = eu-west-2\n\n[profile p0]\nregion = eu-west-1\n"),
    "one value changed in place": lambda t: t.replace("region = sa-east-1", "region = af-south-1"),
    "a raw [sso_sessions] section": lambda t: t + "\n[sso_sessions]\nx = 1\n",
    "everything rewritten": lambda t: t.replace("region", "output"),
}


_ONLY = f"[creds-only]\naws_access_key_id = {key_id(4)}\naws_secret_access_key = {SECRET}\n"
_WEIRD = f"[profile weird]\naws_access_key_id = {key_id(5)}\naws_secret_access_key = {SECRET}\n"
CREDENTIALS_EDITS: dict[str, Any] = {
    "two credentials-only profiles swapped": lambda t: t.replace(_ONLY + "\n" + _WEIRD, _WEIRD + "\n" + _ONLY),
    "a credentials-only profile added in the middle": lambda t: t.replace("[p5]", f"[mid-only]\naws_access_key_id = {key_id(7)}\n\n[p5]"),
    "a credentials-only profile added before another": lambda t: t.replace("[profile weird]", f"[mid-only]\naws_access_key_id = {key_id(7)}\n\n[profile weird]"),
    "a credentials-only profile added at the end": lambda t: t + f"\n[end-only]\naws_access_key_id = {key_id(8)}\n",
    "a credentials-only profile changed": lambda t: t.replace(f"{key_id(4)}", f"{key_id(9)}"),
    "keys for a config-only profile": lambda t: t + f"\n[p4]\naws_access_key_id = {key_id(10)}\n",
    "a credentials-only profile removed": lambda t: t.replace(_WEIRD, ""),
}


@pytest.mark.parametrize("edit", list(CREDENTIALS_EDITS), ids=list(CREDENTIALS_EDITS))
def test_the_merged_view_after_another_programs_credentials_edit_is_botocores(tricky: CredentialsManager, aws_env: Any,
                                                                              carried: list[str], edit: str) -> None:
    text = aws_env.credentials.read_text()
    assert CREDENTIALS_EDITS[edit](text) != text
    aws_env.credentials.write_text(CREDENTIALS_EDITS[edit](text))
    _assert_views_are_botocores(aws_env)
    tricky.reload()
    _assert_table_is_a_full_reload(tricky)
    assert carried and all(not way.startswith("full") for way in carried), carried


@pytest.fixture
def tricky(aws_env: Any, window_mode: str) -> CredentialsManager:
    aws_env.write(config=TRICKY_CONFIG, credentials=TRICKY_CREDENTIALS)
    m = CredentialsManager()
    _assert_views_are_botocores(aws_env)
    return m


@pytest.mark.parametrize("write", list(VIEW_WRITES), ids=list(VIEW_WRITES))
def test_the_merged_view_after_each_kind_of_write_is_botocores(tricky: CredentialsManager, aws_env: Any, carried: list[str],
                                                              write: str) -> None:
    before = (aws_env.config.read_bytes(), aws_env.credentials.read_bytes())
    VIEW_WRITES[write](tricky)
    assert (aws_env.config.read_bytes(), aws_env.credentials.read_bytes()) != before  # the write did something
    _assert_views_are_botocores(aws_env)
    tricky.reload()
    _assert_table_is_a_full_reload(tricky)
    if write != "change a section that is no profile":  # [preview]'s place among the raw sections: recomputed
        assert carried and all(not way.startswith("full") for way in carried), carried


@pytest.mark.parametrize("edit", list(FOREIGN_EDITS), ids=list(FOREIGN_EDITS))
def test_the_merged_view_after_another_programs_edit_is_botocores(tricky: CredentialsManager, aws_env: Any, carried: list[str],
                                                                  edit: str) -> None:
    aws_env.config.write_text(FOREIGN_EDITS[edit](aws_env.config.read_text()))
    _assert_views_are_botocores(aws_env)
    tricky.reload()
    _assert_table_is_a_full_reload(tricky)
    assert carried  # derived or recomputed, the answer is botocore's either way
    if edit in ("a profile inserted in the middle", "a profile inserted first", "one value changed in place",
                "a second header of a profile, after it", "[profile default] moved before [default]"):
        assert all(not way.startswith("full") for way in carried), carried


def test_the_merged_view_stays_botocores_through_a_sequence_of_writes(tricky: CredentialsManager, aws_env: Any,
                                                                     carried: list[str]) -> None:
    for write in VIEW_WRITES.values():
        with contextlib.suppress(ProfileNotFoundError):  # a profile an earlier step removed: that step is skipped
            write(tricky)
        _assert_views_are_botocores(aws_env)
    tricky.reload()
    _assert_table_is_a_full_reload(tricky)
    assert carried.count("map") + carried.count("merge") > len(carried) // 2, carried


def test_a_role_whose_source_changed_gets_a_new_session(tricky: CredentialsManager) -> None:
    """The role's own sections did not change; its source's keys did: the selection's session is rebuilt."""
    tricky.profile = "r1"
    session, chain = tricky.session, tricky._catalog.chain("r1")
    tricky.add_profile("p1", key_id(903), SECRET, overwrite=True)
    assert tricky._catalog.chain("r1") != chain and key_id(903) in dict(tricky._catalog.chain("r1"))["p1"]
    assert tricky.session is not session


def test_the_layout_carried_after_a_windowed_write_is_the_texts_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config"
    path.write_text(_config(30, "\r\n") + "[profile tail]\r\nregion = x")  # CRLF, and no final newline
    monkeypatch.setattr(filewrite, "WINDOW_MIN", 0)
    for edit in _edits().values():
        update_file(path, edit)
        data = path.read_bytes()
        carried = filewrite._layouts[os.path.realpath(path)]
        assert carried.data == data
        assert carried == filewrite._Layout.of(data, data.decode())
        remembered = fileread.cached_snapshot(str(path))
        assert remembered is not None and carried.verified is remembered.sections  # the next write skips the check
        assert list(remembered.sections) == carried.headers


def test_the_window_check_still_catches_a_wrong_read_back_inside_the_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the window's sections are compared after a splice: a wrong one of them still stops the write."""
    path = tmp_path / "config"
    path.write_text(_config(12))
    before = path.read_bytes()
    monkeypatch.setattr(filewrite, "WINDOW_MIN", 0)
    real = filewrite._Window.read_back

    def wrong(self: Any, base: dict[str, Any], edited: str, p: str) -> dict[str, Any]:
        merged = real(self, base, edited, p)
        merged["profile p5"] = {"region": "bogus"}  # in the window: the edit's own section
        return merged

    monkeypatch.setattr(filewrite._Window, "read_back", wrong)
    with pytest.raises(filewrite.WriteError, match="self-check failed"):
        update_file(path, store_mod._set("profile p5", {"output": "json"}, store_mod._names("p5")))
    assert path.read_bytes() == before and not filewrite.temp_files(os.path.realpath(path))


def _longest_equal_ends(a: dict[str, Any], b: dict[str, Any]) -> tuple[list[str], list[str]]:
    ia, ib = list(a.items()), list(b.items())
    n, head, tail = min(len(ia), len(ib)), 0, 0
    while head < n and ia[head] == ib[head]:
        head += 1
    while tail < n - head and ia[-1 - tail] == ib[-1 - tail]:
        tail += 1
    return [k for k, _ in ia[head : len(ia) - tail]], [k for k, _ in ib[head : len(ib) - tail]]


def test_the_sections_diff_is_the_run_between_the_longest_equal_prefix_and_suffix() -> None:
    """_merge.diff bisects with C-level list comparisons: checked against the plain loop on 5,000 random pairs
    (sections added, removed, reordered; values the same objects, equal copies, or a mix)."""
    import random

    from awswidget import _merge

    rng = random.Random(17)
    for _ in range(5000):
        a = {f"k{i}": {"v": str(rng.randrange(3))} for i in range(rng.randrange(12))}
        b = dict(a)
        for _step in range(rng.randrange(3)):
            op, keys = rng.randrange(3), list(b)
            if op == 0 and keys:
                del b[rng.choice(keys)]
            elif op == 1:
                b[f"k{rng.randrange(20)}"] = {"v": str(rng.randrange(3))}
            elif keys:
                b = dict(sorted(b.items(), key=lambda _kv: rng.random()))
        copies = rng.random()
        b = {k: dict(v) if rng.random() < copies else v for k, v in b.items()}
        _merge._diffs.clear()
        assert _merge.diff(a, b, limit=100) == _longest_equal_ends(a, b), (a, b)


def test_default_and_profile_default_swapped_by_another_program_is_seen(aws_env: Any) -> None:
    """Regression: the table's diff compared sections by header, ignoring their order, so swapping [default]
    and [profile default] (each unchanged) kept the old 'default' (the last of the two wins in botocore)."""
    aws_env.write(config=TRICKY_CONFIG, credentials=TRICKY_CREDENTIALS)
    m = CredentialsManager()
    assert m.profile_info("default").output == "json"
    aws_env.config.write_text(FOREIGN_EDITS["[profile default] moved before [default]"](aws_env.config.read_text()))
    m.reload()
    assert m.profile_info("default").region == "us-east-1" and m.profile_info("default").output is None
    _assert_table_is_a_full_reload(m)


def test_a_short_name_is_found_by_the_headers_it_ends_not_every_header_holding_it(aws_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writing profile "dev" among 2,000 generated "team-N-dev" profiles asks about a handful of headers (issue 17):
    a header names "dev" only if it ends with a blank and "dev" (then perhaps blanks), or is "dev", or holds a
    quote or a backslash."""
    many = "".join(f"[profile team-{i}-dev]\nregion = eu-west-1\n\n" for i in range(2000))
    aws_env.write(config=many + "[profile dev]\nregion = us-east-1\n\n[profile 'dev']\noutput = json\n\n[profile dev\t]\noutput = text\n",
                  credentials=f"[dev]\naws_access_key_id = {key_id(1)}\naws_secret_access_key = {SECRET}\n")
    m = CredentialsManager()
    asked: list[str] = []
    real_map, real_name = _fastini.profile_map, store_mod.config_profile_name
    monkeypatch.setattr(_fastini, "profile_map", lambda parsed: asked.extend(parsed) or real_map(parsed))
    monkeypatch.setattr(store_mod, "config_profile_name", lambda header: asked.append(header) or real_name(header))
    m.store.set_settings("dev", {"region": "eu-south-2"})
    m.reload()
    others = {h for h in asked if h not in {"profile dev", "profile 'dev'", "profile dev\t"}}
    assert len(others) <= 2, sorted(others)[:5]  # at most the edit window's neighbours, re-checked by the writer
    _assert_views_are_botocores(aws_env)
    _assert_table_is_a_full_reload(m)
    m.remove_profile("dev")
    want_map, _ = _botocore_views(str(aws_env.config), str(aws_env.credentials))
    assert "dev" not in want_map["profiles"] and len(want_map["profiles"]) == 2000  # every header of "dev" went, no other


def test_the_odd_headers_carried_through_splices_are_those_a_fresh_search_finds(tricky: CredentialsManager, aws_env: Any,
                                                                               window_mode: str) -> None:
    """Headers with a quote, a tab or a final blank are searched once per file, then carried by each write
    (moved by what the window added or removed before them): after writes before, between and after them,
    and new odd headers written, the carried list must be a fresh search's, offsets included."""
    from awswidget import _merge

    config = str(aws_env.config)
    writes = [
        lambda: tricky.add_profile("aaa", key_id(950), SECRET, region="eu-west-1"),  # sorts first: before them all
        lambda: tricky.store.set_settings("p3", {"region": "us-west-2", "output": "json"}),  # between two odd ones
        lambda: update_file(config, store_mod._set("profile 'it''s'", {"region": "eu-west-2"}, None)),  # a new odd one
        lambda: tricky.remove_profile("quoted name"),  # an odd one goes
        lambda: tricky.store.set_settings("dev", {"region": "eu-south-2"}),  # "dev" and "dev \t": one plain, one odd
        lambda: tricky.add_profile("zzz", key_id(951), SECRET, region="eu-west-1"),  # appended after them all
    ]
    checked = 0
    for write in writes:
        snap = fileread.cached_snapshot(config)
        assert snap is not None
        assert _merge.headers_with(snap.sections, ()) is not None  # the odd headers of this version, searched or carried
        write()
        sections = fileread.cached_snapshot(config).sections
        known = _merge._joined.get(id(sections))
        if known is None or _merge._ODD not in known[2]:
            continue  # this write was not a splice of the previous version
        text, carried = known[1], known[2][_merge._ODD]
        assert text == "\n" + "\n".join(sections) + "\n"
        assert carried == sorted({hit for needle in _merge._ODD_NEEDLES for hit in _merge._search(text, needle)})
        assert [h for _o, h in carried] == [h for h in sections if _merge._is_odd(h)]
        checked += 1
    assert checked >= (4 if window_mode == "windowed" else 0), checked  # windowed writes splice: the carry was checked
    _assert_views_are_botocores(aws_env)
    _assert_table_is_a_full_reload(tricky)


def test_headers_split_by_a_tab_are_handed_over_only_when_they_hold_the_name(aws_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Review 40, D5: "odd" headers (a tab, a CR, a final space) were all handed over at every write: 10,000
    "[profile\tteam-N]" made a write 3x slower than before. One holding neither the name nor a quote or
    backslash cannot name the profile, and is passed over."""
    from awswidget import _merge

    many = "".join(f"[profile\tteam-{i}]\nregion = eu-west-1\n\n" for i in range(2000))
    aws_env.write(config=many + "[profile\tdev]\nregion = us-east-1\n", credentials=f"[team-1]\naws_access_key_id = {key_id(1)}\n")
    m = CredentialsManager()
    handed: list[int] = []
    real = _merge.headers_with

    def spy(*args: Any) -> Any:
        found = real(*args)
        handed.append(len(found) if found is not None else -1)
        return found

    monkeypatch.setattr(_merge, "headers_with", spy)
    m.store.set_settings("dev", {"region": "eu-south-2"})
    m.add_profile("new", key_id(2), SECRET, region="eu-west-3")
    m.reload()
    assert handed and max(handed) <= 2, handed  # the profile's own header, never the 2,000 others
    _assert_views_are_botocores(aws_env)
    _assert_table_is_a_full_reload(m)
    assert m.profile_info("dev").region == "eu-south-2"


def test_a_long_reorder_by_another_program_that_swaps_two_headers_of_a_profile_is_seen(aws_env: Any) -> None:
    """Review 40, D3: more than _merge.LIMIT sections moved (a program that sorts the file) and [default] and
    [profile default] swapped: no section changed, yet botocore now reads default from the other header.
    The table kept the old values until a fresh manager."""
    pads = [f"[profile p{i}]\nregion = eu-west-1\n\n" for i in range(100)]
    first, second = "[default]\nregion = us-east-1\n\n", "[profile default]\nregion = ap-south-1\noutput = json\n\n"
    aws_env.write(config=first + "".join(pads) + second, credentials="")
    m = CredentialsManager()
    assert (m.profile_info("default").region, m.profile_info("default").output) == ("ap-south-1", "json")
    aws_env.config.write_text(second + "".join(reversed(pads)) + first)
    m.reload()
    assert (m.profile_info("default").region, m.profile_info("default").output) == ("us-east-1", None)
    _assert_views_are_botocores(aws_env)
    _assert_table_is_a_full_reload(m)
