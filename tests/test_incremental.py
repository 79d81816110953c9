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

import os
from pathlib import Path
from typing import Any

import botocore.configloader
import botocore.exceptions
import pytest

from awswidget import _fastini, fileread, filewrite
from awswidget import store as store_mod
from awswidget.catalog import Catalog
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
    }


def _write(path: Path, text: str, edit: Any, window_min: int, monkeypatch: pytest.MonkeyPatch) -> bytes:
    path.write_bytes(text.encode())
    fileread.forget_cached()
    monkeypatch.setattr(filewrite, "WINDOW_MIN", window_min)
    update_file(path, edit)
    return path.read_bytes()


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
