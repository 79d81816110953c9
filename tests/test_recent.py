"""The profiles used most come first (issue 18: "frecency", stored outside the AWS files)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from awswidget import CredentialsManager
from awswidget.recent import HALF_LIFE, Recent, recent_path
from awswidget.widgets import ProfilePicker

from .conftest import AwsFiles

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def many(aws_env: AwsFiles) -> AwsFiles:
    names = ["default", "alpha", "beta", "gamma", "delta"]
    return aws_env.write(
        credentials="".join(f"[{n}]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = {SECRET}\n" for n in names)
    )


def test_switches_put_the_most_used_first_in_the_picker(many: AwsFiles) -> None:
    m = CredentialsManager()
    assert m.recent == ()
    for name in ("gamma", "beta", "gamma", "default"):
        m.profile = name
    assert m.recent[:2] == ("gamma", "default") and set(m.recent) == {"gamma", "beta", "default"}
    picker = ProfilePicker(m, verify=False)
    try:
        assert [v for _, v in picker.profile_select.options][:3] == ["gamma", "default", "beta"]
        picker.profile_filter.value = "ta"  # beta, delta: a filter keeps the order among its matches
        assert [v for _, v in picker.profile_select.options if v != m.profile] == ["beta", "delta"]
    finally:
        picker.close()
    path = recent_path()
    assert path is not None and path.startswith(os.environ["HOME"])  # the user's data folder, never ~/.aws
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = open(path, encoding="utf-8").read()
    assert SECRET not in text and "AKIA" not in text
    assert CredentialsManager(activate=False).recent[:2] == ("gamma", "default")  # remembered across managers


def test_with_a_using_block_nothing_counts(many: AwsFiles) -> None:
    m = CredentialsManager()
    for _ in range(3):
        with m.using("delta"):
            pass
    assert "delta" not in m.recent


def test_turned_off_nothing_is_read_or_written(many: AwsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWSWIDGET_RECENT", "0")
    m = CredentialsManager()
    m.profile = "beta"
    assert m.recent == () and recent_path() is None
    assert not os.path.exists(os.path.join(os.environ["XDG_DATA_HOME"], "awswidget"))


def test_old_uses_fade_and_a_broken_file_is_ignored(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "recent.json")
    now = [1_000_000.0]
    recent = Recent("creds", path=path, clock=lambda: now[0])
    for _ in range(4):
        recent.record("old", ["old", "new"])
    now[0] += 4 * HALF_LIFE  # four weeks later: 4 uses weigh 0.25
    recent.record("new", ["old", "new"])
    assert recent.first(["old", "new"]) == ("new", "old")
    with open(path, "w", encoding="utf-8") as f:
        f.write("{not json")
    assert recent.first(["old", "new"]) == ()
    recent.record("new", ["old", "new"])  # a broken file is replaced, never an error
    assert json.load(open(path, encoding="utf-8"))["creds"]["new"][0] == 1.0


def test_the_lists_of_the_files_used_last_are_kept_and_a_dict_of_names_is_asked_as_it_is(tmp_path: object) -> None:
    """One list per credentials file, the FILES used last kept (before: every file ever used, forever)."""
    from awswidget.recent import FILES

    path = os.path.join(str(tmp_path), "recent.json")
    for i in range(FILES + 5):
        Recent(f"creds-{i}", path=path).record("p", ["p"])
    Recent("creds-3", path=path).record("p", ["p"])  # used again: kept
    kept = list(json.load(open(path, encoding="utf-8")))
    assert len(kept) == FILES and kept[-1] == "creds-3" and "creds-4" not in kept and f"creds-{FILES + 4}" in kept
    table = {"p": object(), "q": object()}  # the manager's profile table: asked as it is
    assert Recent("creds-3", path=path).first(table) == ("p",)


def test_uses_recorded_at_once_for_two_credentials_files_are_all_counted(tmp_path: object) -> None:
    """Review 40, D6: one recent.json for every credentials file and kernel; each Recent had its own lock, so
    two recording at once overwrote each other's uses (163 and 167 of 300 each). It is locked across them."""
    import threading

    folder = os.path.join(str(tmp_path), "data")
    os.makedirs(folder, mode=0o700)
    path = os.path.join(folder, "recent.json")
    a, b = Recent("creds-a", path=path), Recent("creds-b", path=path)

    def use(recent: Recent) -> None:
        for _ in range(100):
            recent.record("p", ["p"])

    threads = [threading.Thread(target=use, args=(r,)) for r in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    data = json.load(open(path, encoding="utf-8"))
    assert {k: round(v["p"][0]) for k, v in data.items()} == {"creds-a": 100, "creds-b": 100}
    assert os.listdir(folder) == ["recent.json"]  # the lock leaves nothing beside it
