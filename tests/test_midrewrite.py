"""Writing while another program rewrites the file in place (``aws configure set`` truncates, then writes).

The first tests replay each dangerous interleaving exactly: a write that
lands in the truncated instant, a write into the inode we replace (at once, or
a moment late), an old version written back over ours, our new file truncated
before we note it as ours, the inode we replace truncated as we replace it.
The stress test runs the real AWS CLI (from its own virtual environment) in a
loop against several awswidget writer processes and counts every profile at
the end; a part lost by the CLI's own unlocked write after awswidget's last
look at the file is told apart, with the evidence of both sides' records.
"""

from __future__ import annotations

import concurrent.futures
import errno
import json
import logging
import multiprocessing
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.configloader
import pytest

from awswidget import files, filewrite, settle
from awswidget.manager import CredentialsManager
from tests.helpers import KEY_ID, ROOT, SECRET, key_id
from tests.helpers.workers import REGIONS, adder

CONFIG = "# top comment: keep me\n[default]\nregion = us-east-1\n\n[profile old]\nregion = eu-west-1\n"
CREDENTIALS = f"[old]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
CLI_VENV = Path("~/.cache/awswidget-bench/awscli-venv").expanduser()  # resolved before a test changes HOME

REWRITER = """
import sys, time
path, pause, text = sys.argv[1], float(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:        # truncates, as `aws configure set` does
    print("truncated", flush=True)
    time.sleep(pause)             # a slow disk, a busy machine: the file is empty meanwhile
    f.write(text)
"""


def _manager(aws_env: Any) -> CredentialsManager:
    aws_env.write(config=CONFIG, credentials=CREDENTIALS)
    return CredentialsManager(export_env=False, install_default=False)


def test_a_write_during_an_in_place_rewrite_waits_and_keeps_both(aws_env: Any) -> None:
    m = _manager(aws_env)
    rewritten = CONFIG + "\n[profile from-cli]\nregion = ap-south-1\n"
    child = subprocess.Popen(
        [sys.executable, "-c", REWRITER, str(aws_env.config), "0.15", rewritten], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline() == "truncated\n"
    waits = settle.waits
    m.add_profile("ours", KEY_ID, SECRET, region="sa-east-1")
    assert child.wait(timeout=30) == 0
    parsed = botocore.configloader.raw_config_parse(str(aws_env.config))
    assert parsed["default"] == {"region": "us-east-1"} and parsed["profile old"] == {"region": "eu-west-1"}
    assert parsed["profile from-cli"] == {"region": "ap-south-1"} and parsed["profile ours"] == {"region": "sa-east-1"}
    assert aws_env.config.read_text().startswith("# top comment: keep me\n")
    assert settle.waits > waits


def test_a_file_emptied_for_good_is_written_after_it_settles(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("[a]\nx = 1\n")
    files.read_file_cached(path)
    path.write_text("")  # emptied by someone, and it stays so: that is the file now
    waits = settle.waits
    began = time.monotonic()
    files.update_file(path, lambda doc, _s: doc.set("b", {"y": "2"}))
    assert path.read_text() == "[b]\ny = 2\n"
    assert settle.waits == waits + 1 and time.monotonic() - began >= settle.SETTLE_EMPTY * 0.9


def test_a_write_into_the_inode_we_replace_is_not_lost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The other program opened the file before our rename and writes after it, into the unlinked inode."""
    path = tmp_path / "credentials"
    path.write_text(CREDENTIALS)
    real_replace = os.replace

    def replace_then_they_write(src: str, dst: str) -> None:
        monkeypatch.setattr(os, "replace", real_replace)
        with open(dst, "a") as theirs:  # opened (appending, as the CLI adds a section) before our rename
            real_replace(src, dst)
            theirs.write("\n[from-cli]\naws_access_key_id = AKIACLIAAAAAAAAAAAAA\n")

    monkeypatch.setattr(os, "replace", replace_then_they_write)
    files.update_file(path, lambda doc, _s: doc.set("ours", {"aws_access_key_id": key_id(1)}))
    parsed = botocore.configloader.raw_config_parse(str(path))
    assert set(parsed) == {"old", "from-cli", "ours"}
    assert parsed["from-cli"]["aws_access_key_id"] == "AKIACLIAAAAAAAAAAAAA" and parsed["ours"]["aws_access_key_id"] == key_id(1)
    assert files.temp_files(str(path)) == []


def test_a_write_into_the_inode_we_replaced_a_moment_late_is_not_lost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a file another program rewrites in place, the inode we replaced is watched as long as ours (GRACE).

    The other program opened the file to append before our rename and writes
    after our first look at the old inode, while we wait for old versions
    written back over ours: the old code looked at the old inode only once.
    """
    path = tmp_path / "credentials"
    path.write_text(CREDENTIALS)
    real = os.path.realpath(path)
    real_replace, real_sleep = os.replace, time.sleep
    theirs: list[Any] = []

    def replace_with_theirs_open(src: str, dst: str) -> None:
        monkeypatch.setattr(os, "replace", real_replace)
        theirs.append(open(dst, "a"))  # opened before our rename, written later
        real_replace(src, dst)

    def sleep(seconds: float) -> None:
        if seconds == filewrite.GRACE and theirs:
            with theirs.pop() as f:  # a moment after our rename
                f.write("\n[from-cli]\naws_access_key_id = AKIACLIAAAAAAAAAAAAA\n")
        real_sleep(seconds)

    settle._mark_foreign(real)  # the file was seen rewritten in place before
    monkeypatch.setattr(os, "replace", replace_with_theirs_open)
    monkeypatch.setattr(time, "sleep", sleep)
    try:
        files.update_file(path, lambda doc, _s: doc.set("ours", {"aws_access_key_id": key_id(1)}))
    finally:
        with settle._foreign_lock:
            settle._foreign.pop(real, None)
    for f in theirs:  # never waited for: they write now, into the inode we replaced
        with f:
            f.write("\n[from-cli]\naws_access_key_id = AKIACLIAAAAAAAAAAAAA\n")
    parsed = botocore.configloader.raw_config_parse(str(path))
    assert parsed.get("from-cli") == {"aws_access_key_id": "AKIACLIAAAAAAAAAAAAA"}, "their write went to the old inode"
    assert set(parsed) == {"old", "from-cli", "ours"}


def test_two_late_writes_into_the_two_inodes_one_write_replaced_are_both_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen once in the stress test with the CLI paused (cli-0005 keys): two CLI commands, two replaced inodes.

    The CLI appends its key into the old inode after our rename; we merge it and
    replace our first file; meanwhile its next command read our first file
    (without its key, so it appends the section again) and writes into that file
    after our second rename.
    """
    path = tmp_path / "credentials"
    path.write_text(CREDENTIALS)
    real = os.path.realpath(path)
    real_replace, real_sleep = os.replace, time.sleep
    opened: list[Any] = []
    pending: list[tuple[Any, str]] = []
    texts = [
        "\n[from-cli]\naws_access_key_id = AKIACLIAAAAAAAAAAAAA\n",
        "\n[from-cli]\naws_secret_access_key = cli-secret\n",  # its read had no [from-cli]: a new section
    ]

    def replace_with_theirs_open(src: str, dst: str) -> None:
        if len(opened) < len(texts):
            f = open(dst, "a")  # opened before our rename, written a moment later
            opened.append(f)
            pending.append((f, texts[len(opened) - 1]))
        real_replace(src, dst)

    def sleep(seconds: float) -> None:
        if seconds == filewrite.GRACE and pending:
            f, text = pending.pop(0)
            with f:
                f.write(text)
        real_sleep(seconds)

    settle._mark_foreign(real)
    monkeypatch.setattr(os, "replace", replace_with_theirs_open)
    monkeypatch.setattr(time, "sleep", sleep)
    try:
        files.update_file(path, lambda doc, _s: doc.set("ours", {"aws_access_key_id": key_id(1)}))
    finally:
        monkeypatch.setattr(os, "replace", real_replace)
        monkeypatch.setattr(time, "sleep", real_sleep)
        with settle._foreign_lock:
            settle._foreign.pop(real, None)
        for f, text in pending:
            with f:
                f.write(text)
    parsed = botocore.configloader.raw_config_parse(str(path))
    assert parsed["ours"] == {"aws_access_key_id": key_id(1)} and "old" in parsed
    assert parsed.get("from-cli") == {"aws_access_key_id": "AKIACLIAAAAAAAAAAAAA", "aws_secret_access_key": "cli-secret"}


def _rewritten_after_each_rename(
    path: Path, monkeypatch: pytest.MonkeyPatch, rewrite: Any, times: int, then: Any = None
) -> tuple[list[int], Any]:
    """Another program that opens the file before each of our first ``times`` renames, reads it, and
    truncates and writes ``rewrite(what it read, n)`` into the inode it holds a moment after that rename
    (while we watch, :data:`filewrite.GRACE`). ``then(what it read)``, when given, is one more command's
    rewrite of the file in place, a moment after our next rename.

    Returns the count of renames it met, and the function that ends it (writing what is still pending).
    """
    real = os.path.realpath(path)
    real_replace, real_sleep = os.replace, time.sleep
    pending: list[tuple[Any, str]] = []
    began = [0]

    def rewritten(f: Any, text: str) -> None:
        with f:  # truncate, then write: aws configure set
            f.seek(0)
            f.truncate()
            f.write(text)

    def replace(src: str, dst: str) -> None:
        if os.path.realpath(dst) == real and began[0] < times:
            f = open(dst, "r+")  # written and closed later, as the other program does
            pending.append((f, rewrite(f.read(), began[0])))
            began[0] += 1
        real_replace(src, dst)

    def sleep(seconds: float) -> None:
        if seconds == filewrite.GRACE and pending:
            rewritten(*pending.pop(0))
        elif seconds == filewrite.GRACE and began[0] == times and then is not None:
            began[0] += 1
            f = open(path, "r+")  # one more command, into the file as it is now
            rewritten(f, then(f.read()))
        real_sleep(seconds)

    settle._mark_foreign(real)
    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(time, "sleep", sleep)

    def undo() -> None:
        monkeypatch.setattr(os, "replace", real_replace)
        monkeypatch.setattr(time, "sleep", real_sleep)
        with settle._foreign_lock:
            settle._foreign.pop(real, None)
        for f, text in pending:  # never waited for: they write now, into the inode they hold
            rewritten(f, text)

    return began, undo


def _two_late_rewrites(
    path: Path, monkeypatch: pytest.MonkeyPatch, rewrites: list[Any], edit: Any, then: Any = None
) -> dict[str, Any]:
    """Replay two in-place rewrites by another program, each into an inode one of our renames replaces.

    The first lands in the file we replace, the second in our own first file, replaced by our retry
    (see :func:`_rewritten_after_each_rename`; ``then``: a third command, after the rename that merged the second).
    """
    began, undo = _rewritten_after_each_rename(path, monkeypatch, lambda read, n: rewrites[n](read), len(rewrites), then)
    try:
        files.update_file(path, edit)
    finally:
        undo()
    assert began[0] == 2 + (then is not None), "the replay needs two renames (our write and its retry), and a third"
    assert files.temp_files(str(path)) == []
    return botocore.configloader.raw_config_parse(str(path))


CLI_SECTION = "\n[from-cli]\naws_access_key_id = AKIACLIAAAAAAAAAAAAA\n"
OURS = {"aws_access_key_id": key_id(1)}


def test_a_key_removed_by_the_second_late_write_is_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second command (a script) read our first file and wrote it back without [old]'s session token.

    Its change is the difference against the version it was written into (ours), so the removal is kept,
    as it would be had it run just after our write: the token is not in our newest version's [old] by
    any change of ours.
    """
    path = tmp_path / "credentials"
    path.write_text(CREDENTIALS.replace("[old]\n", "[old]\naws_session_token = old-token\n"))
    parsed = _two_late_rewrites(
        path,
        monkeypatch,
        [lambda read: read + CLI_SECTION, lambda read: read.replace("aws_session_token = old-token\n", "")],
        lambda doc, _s: doc.set("ours", OURS),
    )
    assert parsed["old"] == {"aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET}, "the removal was lost"
    assert parsed["ours"] == OURS and parsed["from-cli"] == {"aws_access_key_id": "AKIACLIAAAAAAAAAAAAA"}


def test_a_second_late_write_into_the_section_we_edit_keeps_our_keys_and_adds_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second command read our first file and changed our section: our key and a key of its own.

    Ours wins on the key our edit sets: the edit is applied again on every retry, as it is on an old
    version written back over our file (test_an_old_version_written_back_over_ours_is_noticed). A write
    from a version read before our rename cannot be told from a later change (the CLI gives no sign), and
    taking it would silently undo a save reported as done. Its other key is its own change: kept.
    """
    path = tmp_path / "credentials"
    path.write_text(CREDENTIALS)
    theirs = key_id(2)
    parsed = _two_late_rewrites(
        path,
        monkeypatch,
        [
            lambda read: read + CLI_SECTION,
            lambda read: read.replace(f"aws_access_key_id = {key_id(1)}\n", f"aws_access_key_id = {theirs}\nregion = eu-north-1\n"),
        ],
        lambda doc, _s: doc.set("ours", OURS),
    )
    assert parsed["ours"] == {**OURS, "region": "eu-north-1"}, "their key was lost, or ours was replaced"
    assert parsed["from-cli"] == {"aws_access_key_id": "AKIACLIAAAAAAAAAAAAA"} and "old" in parsed


def test_a_version_read_before_our_rename_written_into_our_first_file_keeps_ours_and_its_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second command read the file before our first rename (no [ours]) and wrote that, with its change.

    Against our first file, its write removes [ours]: taken alone, that would undo our save. The edit is
    applied again after their change, so [ours] stays, and so do both of the other program's changes.
    """
    path = tmp_path / "credentials"
    path.write_text(CREDENTIALS)
    stale = CREDENTIALS + "\n[cli-two]\naws_access_key_id = AKIACLIBBBBBBBBBBBBB\n"
    parsed = _two_late_rewrites(
        path, monkeypatch, [lambda read: read + CLI_SECTION, lambda _read: stale], lambda doc, _s: doc.set("ours", OURS)
    )
    assert parsed["ours"] == OURS, "our change was undone"
    assert parsed.get("cli-two") == {"aws_access_key_id": "AKIACLIBBBBBBBBBBBBB"}, "the second command's change was lost"
    assert parsed["from-cli"] == {"aws_access_key_id": "AKIACLIAAAAAAAAAAAAA"}


def test_a_key_both_late_writes_changed_keeps_the_newest_value_and_logs_its_name_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The first command changed [old]'s secret, the second (from our first file) changed it otherwise.

    Both changed it since our first file; nothing says which is meant, so the newest version's value
    stays (the first command's, merged whole), and the conflict is logged by section and key, never by
    value. The second command's other change is merged.
    """
    path = tmp_path / "credentials"
    path.write_text(CREDENTIALS)
    caplog.set_level(logging.INFO, logger="awswidget")
    parsed = _two_late_rewrites(
        path,
        monkeypatch,
        [
            lambda read: read.replace(SECRET, "first-secret-value"),
            lambda read: read.replace(SECRET, "second-secret-value") + "\n[cli-two]\nregion = eu-north-1\n",
        ],
        lambda doc, _s: doc.set("ours", OURS),
    )
    assert parsed["old"]["aws_secret_access_key"] == "first-secret-value"
    assert parsed["ours"] == OURS and parsed.get("cli-two") == {"region": "eu-north-1"}
    kept = [r.getMessage() for r in caplog.records if "kept our newest" in r.getMessage()]
    assert len(kept) == 1 and "[old] aws_secret_access_key" in kept[0]
    for value in (SECRET, "first-secret-value", "second-secret-value", KEY_ID, key_id(1)):
        assert value not in caplog.text


def test_a_key_merged_from_a_late_write_and_changed_again_later_keeps_the_later_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A third command read our merged version and changed a key the second one had set, in place.

    The merged change is applied again on every later try, but only where the file still holds what our
    merged version held: a key changed since (by a command that read it) keeps its later value, as it
    would had it been changed after our write returned. The second command's other key stays.
    """
    path = tmp_path / "credentials"
    path.write_text(CREDENTIALS)
    parsed = _two_late_rewrites(
        path,
        monkeypatch,
        [
            lambda read: read + CLI_SECTION,
            lambda read: read + "\n[from-cli]\naws_secret_access_key = cli-secret\nregion = eu-north-1\n",
        ],
        lambda doc, _s: doc.set("ours", OURS),
        then=lambda read: read.replace("aws_secret_access_key = cli-secret", "aws_secret_access_key = third-secret"),
    )
    assert parsed["from-cli"] == {
        "aws_access_key_id": "AKIACLIAAAAAAAAAAAAA",
        "aws_secret_access_key": "third-secret",
        "region": "eu-north-1",
    }
    assert parsed["ours"] == OURS and "old" in parsed


def test_a_second_late_write_with_a_default_section_is_not_merged_and_ours_stays_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """configparser reads [DEFAULT]'s keys into every section: a key-level merge would read it as a change of each.

    Nothing of that write is merged (it is logged); the newest version stays whole, with the first command's change.
    """
    path = tmp_path / "credentials"
    path.write_text(CREDENTIALS)
    caplog.set_level(logging.WARNING, logger="awswidget")
    parsed = _two_late_rewrites(
        path,
        monkeypatch,
        [lambda read: read + CLI_SECTION, lambda read: "[DEFAULT]\nregion = eu-north-1\n\n" + read],
        lambda doc, _s: doc.set("ours", OURS),
    )
    assert parsed == {
        "old": {"aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET},
        "from-cli": {"aws_access_key_id": "AKIACLIAAAAAAAAAAAAA"},
        "ours": OURS,
    }
    assert "[DEFAULT]" not in path.read_text()
    assert [r for r in caplog.records if "[DEFAULT]" in r.getMessage()], "not logged"


def test_a_late_write_whose_key_name_holds_a_token_is_merged_without_logging_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A token pasted without " = " is a key name to configparser; what is not merged is logged by name,
    and a name that might be a secret is not shown (review 41, F5: it was, in lower case)."""
    token = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexampleTOKEN+abc/def=="
    path = tmp_path / "credentials"
    path.write_text(CREDENTIALS)
    caplog.set_level(logging.DEBUG, logger="awswidget")
    _two_late_rewrites(
        path,
        monkeypatch,
        [lambda read: read + CLI_SECTION, lambda read: read.replace("[old]\n", f"[old]\naws_session_token {token}\n")],
        lambda doc, _s: doc.set("ours", OURS),
    )
    logged = " ".join(r.getMessage() for r in caplog.records).lower()
    assert "kept our newest [old] a key" in logged
    assert token[:40].lower() not in logged and "iqojb3jp" not in logged


def test_a_file_rewritten_after_every_one_of_our_renames_ends_in_an_error_that_says_our_change_is_in_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review 41, F2: bounded as before (max_attempts), but "Nothing was overwritten" was untrue after our first rename."""
    from awswidget.errors import ChangedAfterSaveError, FileChangedError

    path = tmp_path / "config"
    path.write_text(CONFIG)
    began, undo = _rewritten_after_each_rename(path, monkeypatch, lambda read, n: read + f"\n[profile cli-{n}]\nregion = eu-west-1\n", 99)
    try:
        with pytest.raises(ChangedAfterSaveError) as raised:
            files.update_file(path, lambda doc, _s: doc.set("profile ours", {"region": "sa-east-1"}))
    finally:
        undo()
    assert isinstance(raised.value, FileChangedError) and began[0] == 5  # one rename per attempt, then it stops
    assert "awswidget's change is in it" in str(raised.value) and "Nothing was overwritten" not in str(raised.value)
    assert botocore.configloader.raw_config_parse(str(path))["profile ours"] == {"region": "sa-east-1"}


def test_a_profile_write_is_not_put_back_over_a_change_merged_key_by_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws_env: Any
) -> None:
    """Review 41, F1: add_profile wrote config (a late write merged key by key), then credentials failed: the
    undo put config's old bytes back and the merged [profile cli-two] was lost. Now no undo: it says so."""
    from awswidget.store import PartialWriteError

    aws_env.write(config="[default]\nregion = us-east-1\n", credentials=CREDENTIALS)
    os.chmod(aws_env.credentials, 0o400)  # the second file refuses the write
    m = CredentialsManager()
    rewrites = ["\n[profile cli-one]\nregion = eu-west-1\n", "\n[profile cli-two]\nregion = eu-north-1\n"]
    _began, undo = _rewritten_after_each_rename(aws_env.config, monkeypatch, lambda read, n: read + rewrites[n], 2)
    try:
        with pytest.raises(PartialWriteError) as raised:
            m.add_profile("ours", key_id(2), SECRET, region="sa-east-1")
    finally:
        undo()
    assert "could not be put back" in str(raised.value)
    config = botocore.configloader.raw_config_parse(str(aws_env.config))
    assert {"profile cli-one", "profile cli-two", "profile ours"} <= config.keys()


# then (what we wrote), theirs (what they wrote into it), newest (ours now) -> the newest, merged; not merged
MERGES = {
    "a key they add": ("[a]\nx = 1\n", "[a]\nx = 1\ny = 2\n", "[a]\nx = 1\n[b]\nz = 3\n", {"a": {"x": "1", "y": "2"}, "b": {"z": "3"}}, ()),
    "a key they change": ("[a]\nx = 1\n", "[a]\nx = 2\n", "[a]\nx = 1\nw = 0\n", {"a": {"x": "2", "w": "0"}}, ()),
    "a key they remove": ("[a]\nx = 1\ny = 2\n", "[a]\nx = 1\n", "[a]\nx = 1\ny = 2\n", {"a": {"x": "1"}}, ()),
    "a key both change": ("[a]\nx = 1\n", "[a]\nx = 2\n", "[a]\nx = 3\n", {"a": {"x": "3"}}, ("[a] x",)),
    "a key both change alike": ("[a]\nx = 1\n", "[a]\nx = 2\n", "[a]\nx = 2\n", {"a": {"x": "2"}}, ()),
    "a section they remove": ("[a]\nx = 1\n[b]\ny = 2\n", "[a]\nx = 1\n", "[a]\nx = 1\n[b]\ny = 2\n", {"a": {"x": "1"}}, ()),
    "a section they remove, ours changed": ("[a]\nx = 1\n[b]\ny = 2\n", "[a]\nx = 1\n", "[a]\nx = 1\n[b]\ny = 3\n", {"a": {"x": "1"}, "b": {"y": "3"}}, ("[b]",)),
    "a section they change, ours removed": ("[a]\nx = 1\n[b]\ny = 2\n", "[a]\nx = 1\n[b]\ny = 3\n", "[a]\nx = 1\n", {"a": {"x": "1"}}, ("[b]",)),
    "a section they add": ("[a]\nx = 1\n", "[a]\nx = 1\n[c]\nk = v\n", "[a]\nx = 1\n", {"a": {"x": "1"}, "c": {"k": "v"}}, ()),
    "a nested block they change": ("[a]\ns3 =\n  x = 1\n", "[a]\ns3 =\n  x = 2\n", "[a]\ns3 =\n  x = 1\n", {"a": {"s3": {"x": "1"}}}, ("[a] s3",)),
    "a value on two lines": ("[a]\nx = 1\n", "[a]\nx = 1\n  more\n", "[a]\nx = 1\n", {"a": {"x": "1"}}, ("[a] x",)),
    # A new empty section holds no key to merge: it is named in the log, never dropped unsaid (review 41, F4).
    "an empty section they add": ("[a]\nx = 1\n", "[a]\nx = 1\n[e]\n", "[a]\nx = 1\n", {"a": {"x": "1"}}, ("[e]",)),
    # configparser reads "aws_session_token <token>" (no " = ") as a key named so: never shown (review 41, F5).
    "a key whose name holds a token": ("[a]\nx = 1\n", "[a]\nx = 1\naws_session_token IQoJb3JpZ2luX2VjEJr+abc/def==\n",
                                      "[a]\nx = 1\n", {"a": {"x": "1"}}, ("[a] a key",)),
}


@pytest.mark.parametrize("case", MERGES, ids=list(MERGES))
def test_their_change_is_merged_key_by_key(tmp_path: Path, case: str) -> None:
    from awswidget import _merge3
    from awswidget._ini import IniDocument

    then, theirs, newest, merged, kept = MERGES[case]

    def parse(text: str) -> dict[str, Any]:
        (tmp_path / "f").write_text(text)
        return botocore.configloader.raw_config_parse(str(tmp_path / "f"))

    change = _merge3.their_change(parse(then), parse(theirs), parse(newest))
    assert change.kept == kept
    doc = IniDocument(newest)
    assert _merge3.apply(doc, [change], parse(newest))
    assert parse(doc.text()) == merged


def test_an_old_version_written_back_over_ours_is_noticed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The other program read the file before our rename and writes its edit of that version in place after it."""
    path = tmp_path / "config"
    path.write_text(CONFIG)
    real_replace = os.replace

    def replace_then_stale_write(src: str, dst: str) -> None:
        monkeypatch.setattr(os, "replace", real_replace)
        stale = Path(dst).read_text()  # their read, before our rename
        real_replace(src, dst)
        with open(dst, "w") as f:  # their write, after it: our change is gone from the file
            f.write(stale.replace("region = us-east-1", "region = us-west-2"))

    monkeypatch.setattr(os, "replace", replace_then_stale_write)
    files.update_file(path, lambda doc, _s: doc.set("profile ours", {"region": "sa-east-1"}))
    parsed = botocore.configloader.raw_config_parse(str(path))
    assert parsed["default"] == {"region": "us-west-2"} and parsed["profile ours"] == {"region": "sa-east-1"}
    assert parsed["profile old"] == {"region": "eu-west-1"}


def test_our_new_file_truncated_before_we_note_it_is_not_taken_for_ours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The other program read the old version, and truncates our new inode before we stat it as written.

    Seen with the real CLI on a loaded machine: awswidget remembered the empty
    file's identity as its own write, trusted it on the re-read, and replaced
    the whole file by its one section.
    """
    path = tmp_path / "config"
    path.write_text(CONFIG)
    real_replace, real_wait = os.replace, settle._wait
    theirs: list[Any] = []

    def replace_then_they_truncate(src: str, dst: str) -> None:
        monkeypatch.setattr(os, "replace", real_replace)
        stale = Path(dst).read_text()  # their read, before our rename
        real_replace(src, dst)
        theirs.append((open(dst, "w"), stale))  # their truncation of our new inode; their write comes later

    def wait_then_they_write(seconds: float) -> None:
        monkeypatch.setattr(settle, "_wait", real_wait)
        f, stale = theirs.pop()
        with f:  # their write of what they read, with their edit: ours is not in it
            f.write(stale.replace("region = us-east-1", "region = us-west-2"))
        real_wait(seconds)

    monkeypatch.setattr(os, "replace", replace_then_they_truncate)
    monkeypatch.setattr(settle, "_wait", wait_then_they_write)
    files.update_file(path, lambda doc, _s: doc.set("profile ours", {"region": "sa-east-1"}))
    for f, stale in theirs:  # never waited for (the old code): they write now, into whatever inode they hold
        with f:
            f.write(stale.replace("region = us-east-1", "region = us-west-2"))
    parsed = botocore.configloader.raw_config_parse(str(path))
    assert parsed.get("profile old") == {"region": "eu-west-1"}, "the file was rebuilt from an empty read"
    assert parsed["default"] == {"region": "us-west-2"} and parsed["profile ours"] == {"region": "sa-east-1"}
    assert path.read_text().startswith("# top comment: keep me\n")


def test_the_inode_we_replace_truncated_and_written_late_is_merged_not_emptied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other program truncates the old inode between our last check and our rename, and writes into it late.

    Merging the edit into the inode's empty instant would replace the whole
    file by the edit alone; it is waited for as a read of an empty file is.
    """
    path = tmp_path / "config"
    path.write_text(CONFIG)
    real_replace, real_wait = os.replace, settle._wait
    theirs: list[Any] = []

    def they_truncate_then_replace(src: str, dst: str) -> None:
        monkeypatch.setattr(os, "replace", real_replace)
        stale = Path(dst).read_text()
        theirs.append((open(dst, "w"), stale))  # after our check that the file is unchanged, before our rename
        real_replace(src, dst)

    def wait_then_they_write(seconds: float) -> None:
        monkeypatch.setattr(settle, "_wait", real_wait)
        f, stale = theirs.pop()
        with f:  # into the inode we replaced: it has no name now
            f.write(stale.replace("region = us-east-1", "region = us-west-2"))
        real_wait(seconds)

    monkeypatch.setattr(os, "replace", they_truncate_then_replace)
    monkeypatch.setattr(settle, "_wait", wait_then_they_write)
    files.update_file(path, lambda doc, _s: doc.set("profile ours", {"region": "sa-east-1"}))
    for f, stale in theirs:  # never waited for (the old code): they write now
        with f:
            f.write(stale.replace("region = us-east-1", "region = us-west-2"))
    parsed = botocore.configloader.raw_config_parse(str(path))
    assert parsed.get("profile old") == {"region": "eu-west-1"}, "the edit was merged into an empty inode"
    assert parsed["default"] == {"region": "us-west-2"} and parsed["profile ours"] == {"region": "sa-east-1"}
    assert files.temp_files(str(path)) == []


def test_the_inode_we_replace_emptied_for_good_leaves_ours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Truncated as we replace it, and never written: there is nothing to merge, and our file stays whole."""
    path = tmp_path / "config"
    path.write_text(CONFIG)
    real_replace = os.replace

    def they_truncate_then_replace(src: str, dst: str) -> None:
        monkeypatch.setattr(os, "replace", real_replace)
        open(dst, "w").close()
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", they_truncate_then_replace)
    files.update_file(path, lambda doc, _s: doc.set("profile ours", {"region": "sa-east-1"}))
    assert path.read_text() == CONFIG + "\n[profile ours]\nregion = sa-east-1\n"


def test_writers_that_take_the_lock_never_wait_for_each_other(aws_env: Any) -> None:
    """The settle wait is for in-place rewriters only: awswidget's own replacements are complete by construction."""
    m = _manager(aws_env)
    other = CredentialsManager(export_env=False, install_default=False)
    waits = settle.waits
    for n in range(6):
        (m if n % 2 else other).add_profile(f"p{n}", key_id(n), SECRET, region="us-east-1")
    assert settle.waits == waits
    assert sorted(m.profiles) == sorted(["default", "old", "p0", "p1", "p2", "p3", "p4", "p5"])
    other.remove_profile("p0")  # smaller than m last saw, but whole (it ends its last line): no wait
    m.add_profile("p6", key_id(6), SECRET)
    assert settle.waits == waits


def test_a_partly_rewritten_file_is_waited_for(aws_env: Any) -> None:
    """An in-place writer that writes in two parts: the first part alone must not become the base of a write."""
    m = _manager(aws_env)
    full = CONFIG + "".join(f"\n[profile p{n}]\nregion = us-east-1\n" for n in range(50))
    aws_env.config.write_text(full)
    m.reload()
    script = REWRITER.replace("f.write(text)", "f.write(text[: len(text) // 3]); f.flush(); time.sleep(pause); f.write(text[len(text) // 3 :])")
    child = subprocess.Popen([sys.executable, "-c", script, str(aws_env.config), "0.05", full], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline() == "truncated\n"
    time.sleep(0.08)  # the first part is on disk now
    m.add_profile("ours", KEY_ID, SECRET, region="sa-east-1")
    assert child.wait(timeout=30) == 0
    parsed = botocore.configloader.raw_config_parse(str(aws_env.config))
    assert all(f"profile p{n}" in parsed for n in range(50)) and parsed["profile ours"] == {"region": "sa-east-1"}


# --------------------------------------------------------------------------- rewrites whose first part looks whole
#
# The AWS CLI rewrites a file with open(path, "w").writelines(lines): Python's text writer hands the OS chunks
# of ~8 KB that end at a newline, so on a bigger file the first part alone parses and ends its last line. No
# heuristic can tell it from a finished file; the kernel can (a read lease is refused while it is open for writing).

BIG = "".join(f"[profile p{n}]\nregion = us-east-1\noutput = json\n" for n in range(600))

CHUNKED_REWRITER = """
import io, sys
path = sys.argv[1]
lines = open(path).read().splitlines(True) + ["[profile cli]\\n", "region = ap-south-1\\n"]

class Raw(io.FileIO):
    chunks = 0

    def write(self, b):
        written = super().write(b)
        Raw.chunks += 1
        if Raw.chunks == 1:
            print("partial", flush=True)
            sys.stdin.readline()  # held up between two chunks until the test lets it go on
        return written

with io.TextIOWrapper(io.BufferedWriter(Raw(path, "w")), encoding="utf-8") as f:  # truncates, as the CLI does
    f.writelines(lines)
"""

needs_leases = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not hasattr(__import__("fcntl"), "F_SETLEASE"), reason="Linux file leases"
)


def _spy_writer_open(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """An event set once awswidget has asked the kernel and heard that a writer holds the file open."""
    seen = threading.Event()
    real = getattr(settle, "writer_open", None)

    def spy(fd: int) -> bool | None:
        held = real(fd) if real is not None else None
        if held:
            seen.set()
        return held

    monkeypatch.setattr(settle, "writer_open", spy, raising=False)  # absent before the fix: never called
    return seen


def _write_during_a_chunked_rewrite(path: Path, monkeypatch: pytest.MonkeyPatch, write: Any) -> dict[str, Any]:
    """Run ``write()`` in a thread while a CLI-like writer is paused after its first chunk; the file afterwards."""
    seen = _spy_writer_open(monkeypatch)
    child = subprocess.Popen(
        [sys.executable, "-c", CHUNKED_REWRITER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        assert child.stdout.readline() == "partial\n"
        partial = path.read_bytes()
        # The replay is the dangerous one: a part that parses and ends its line, with profiles still to come.
        assert partial.endswith(b"\n") and 0 < len(partial) < len(BIG)
        assert set(botocore.configloader.raw_config_parse(str(path))) < {f"profile p{n}" for n in range(600)}
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            done = pool.submit(write)
            deadline = time.monotonic() + 30
            while not seen.is_set() and not done.done() and time.monotonic() < deadline:
                time.sleep(0.005)  # until awswidget waits for the writer, or has written without waiting
            child.stdin.write("\n")
            child.stdin.close()
            assert child.wait(timeout=30) == 0
            done.result(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return botocore.configloader.raw_config_parse(str(path))


@needs_leases
def test_a_fresh_process_does_not_take_the_first_chunk_of_a_rewrite_for_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No earlier read to compare with: the first 8 KB parse and end their line, and were trusted at once."""
    path = tmp_path / "config"
    path.write_text(BIG)
    parsed = _write_during_a_chunked_rewrite(
        path, monkeypatch, lambda: files.update_file(path, lambda doc, _s: doc.set("profile ours", {"region": "sa-east-1"}))
    )
    missing = {f"profile p{n}" for n in range(600)} - set(parsed)
    assert not missing, f"{len(missing)} profiles lost"
    assert parsed["profile ours"] == {"region": "sa-east-1"} and parsed["profile cli"] == {"region": "ap-south-1"}


@needs_leases
def test_a_rewrite_held_up_longer_than_settle_is_waited_for(aws_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The manager read the file; the writer rewrites that inode and pauses past SETTLE: it was trusted then."""
    aws_env.write(config=BIG, credentials=CREDENTIALS)
    m = CredentialsManager(export_env=False, install_default=False)
    parsed = _write_during_a_chunked_rewrite(
        aws_env.config, monkeypatch, lambda: m.add_profile("ours", KEY_ID, SECRET, region="sa-east-1")
    )
    missing = {f"profile p{n}" for n in range(600)} - set(parsed)
    assert not missing, f"{len(missing)} profiles lost"
    assert parsed["profile ours"] == {"region": "sa-east-1"} and parsed["profile cli"] == {"region": "ap-south-1"}


@needs_leases
def test_the_inode_we_replace_rewritten_in_chunks_is_merged_once_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another program truncates the inode we replace and writes its first chunk, ending at a line, then pauses.

    The partial inode stayed quiet for SETTLE and was taken for the other
    program's version: our edit merged into it replaced our whole new file.
    """
    path = tmp_path / "config"
    path.write_text(BIG)
    files.read_file_cached(path)
    data = (BIG + "[profile cli]\nregion = ap-south-1\n").encode()
    cut = data.rindex(b"\n", 0, 8192) + 1
    real_replace = os.replace
    theirs: list[int] = []

    def they_write_a_chunk_then_replace(src: str, dst: str) -> None:
        monkeypatch.setattr(os, "replace", real_replace)
        fd = os.open(dst, os.O_WRONLY | os.O_TRUNC)  # open(path, "w"), after our last check
        os.write(fd, data[:cut])
        theirs.append(fd)
        real_replace(src, dst)

    seen = _spy_writer_open(monkeypatch)
    real_spy = settle.writer_open

    def they_finish_once_we_wait(fd: int) -> bool | None:
        held = real_spy(fd)
        if seen.is_set() and theirs:
            theirs_fd = theirs.pop()
            os.write(theirs_fd, data[cut:])  # the rest, and close: as slow as awswidget is patient
            os.close(theirs_fd)
        return held

    monkeypatch.setattr(settle, "writer_open", they_finish_once_we_wait, raising=False)
    monkeypatch.setattr(os, "replace", they_write_a_chunk_then_replace)
    files.update_file(path, lambda doc, _s: doc.set("profile ours", {"region": "sa-east-1"}))
    for fd in theirs:  # never waited for (the old code): they write the rest now, into the inode we replaced
        os.write(fd, data[cut:])
        os.close(fd)
    parsed = botocore.configloader.raw_config_parse(str(path))
    missing = {f"profile p{n}" for n in range(600)} - set(parsed)
    assert not missing, f"{len(missing)} profiles lost"
    assert parsed["profile ours"] == {"region": "sa-east-1"} and parsed["profile cli"] == {"region": "ap-south-1"}
    assert files.temp_files(str(path)) == []


@needs_leases
def test_writer_open_asks_the_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl

    path = tmp_path / "config"
    path.write_text(CONFIG)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert settle.writer_open(fd) is False
        with open(path, "a"):
            assert settle.writer_open(fd) is True  # open for writing (in this process counts too)
        assert settle.writer_open(fd) is False
        child = subprocess.Popen(
            [sys.executable, "-c", "import sys; f = open(sys.argv[1], 'a'); print('open', flush=True); sys.stdin.read()", path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None and child.stdout.readline() == "open\n"
        assert settle.writer_open(fd) is True  # another process's open
        child.communicate("")
        assert settle.writer_open(fd) is False
        real = fcntl.fcntl
        for err in (errno.EINVAL, errno.EACCES):  # NFS; a file we neither own nor have CAP_LEASE for

            def refused(fd: int, cmd: int, arg: int = 0, err: int = err) -> Any:
                if cmd == fcntl.F_SETLEASE and arg == fcntl.F_RDLCK:
                    raise OSError(err, os.strerror(err))
                return real(fd, cmd, arg)

            monkeypatch.setattr(fcntl, "fcntl", refused)
            assert settle.writer_open(fd) is None
        monkeypatch.setattr(fcntl, "fcntl", real)
        monkeypatch.delattr(fcntl, "F_SETLEASE")  # not Linux
        assert settle.writer_open(fd) is None
    finally:
        os.close(fd)


@needs_leases
def test_a_writer_that_never_closes_the_file_holds_a_write_up_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Bounded: after SETTLE_MAX the content decides, with one warning that quotes none of it; not waited for again."""
    path = tmp_path / "credentials"
    path.write_text(CREDENTIALS)
    monkeypatch.setattr(settle, "SETTLE_MAX", 0.3)
    caplog.set_level(logging.WARNING, logger="awswidget.settle")
    at_warning: list[int] = []
    real_warning = settle.log.warning

    def warning(*args: Any) -> None:
        at_warning.append(settle.waits)
        real_warning(*args)

    monkeypatch.setattr(settle.log, "warning", warning)
    with open(path, "a"):  # a program that keeps the file open for writing and never writes
        files.update_file(path, lambda doc, _s: doc.set("ours", {"aws_access_key_id": key_id(1)}))
    parsed = botocore.configloader.raw_config_parse(str(path))
    assert parsed["old"]["aws_secret_access_key"] == SECRET and parsed["ours"] == {"aws_access_key_id": key_id(1)}
    held = [r for r in caplog.records if "open for writing" in r.getMessage()]
    assert len(held) == 1 and at_warning == [settle.waits], "the inode was waited for again after the warning"
    assert SECRET not in caplog.text and KEY_ID not in caplog.text


LEASE_BREAK = """
import fcntl, os, subprocess, sys, time
from awswidget import settle
path, signum = sys.argv[1], sys.argv[2]
real = fcntl.fcntl
opener = []

def lease_broken_while_held(fd, cmd, arg=0):
    if cmd == fcntl.F_SETSIG and signum == "default":
        arg = 0  # what the kernel sends without F_SETSIG: SIGIO, whose default action kills
    result = real(fd, cmd, arg)
    if cmd == fcntl.F_SETLEASE and arg == fcntl.F_RDLCK:
        # Another program opens the file for writing while we hold the lease: the kernel breaks it.
        opener.append(subprocess.Popen([sys.executable, "-c", "import sys; open(sys.argv[1], 'a').close()", path]))
        deadline = time.monotonic() + 10
        while real(fd, fcntl.F_GETLEASE) != fcntl.F_UNLCK and time.monotonic() < deadline:
            time.sleep(0.001)  # F_GETLEASE says F_UNLCK once the break is under way (the signal sent)
        print("breaking", opener[0].poll() is None, flush=True)  # the opener is held up until we release
        time.sleep(0.05)
    return result

fcntl.fcntl = lease_broken_while_held
fd = os.open(path, os.O_RDONLY)
print("writer_open", settle.writer_open(fd), flush=True)
print("opener", opener[0].wait(timeout=10), flush=True)
"""


@needs_leases
@pytest.mark.parametrize("signum", ["urg", "default"])
def test_a_lease_broken_while_held_does_not_kill_the_process(tmp_path: Path, signum: str) -> None:
    """The lease holder is signalled when someone opens the file for writing: SIGIO would kill the user's kernel."""
    path = tmp_path / "config"
    path.write_text(CONFIG)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", LEASE_BREAK, str(path), signum], capture_output=True, text=True, env=env, timeout=60)
    if signum == "default":  # the control: without F_SETSIG=SIGURG the same break kills the process
        assert run.returncode == -signal.SIGIO, (run.returncode, run.stdout, run.stderr)  # killed as the break began
        return
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["breaking True", "writer_open False", "opener 0"]


# --------------------------------------------------------------------------- the real CLI


def _cli_python() -> str:
    python = CLI_VENV / "bin" / "python"
    if not (python.exists() and (CLI_VENV / "bin" / "aws").exists()):
        try:
            # awscli pins its own botocore: it must never share awswidget's environment.
            subprocess.run([sys.executable, "-m", "venv", str(CLI_VENV)], check=True, capture_output=True, timeout=300)
            subprocess.run(
                [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "awscli"],
                check=True,
                capture_output=True,
                timeout=600,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            detail = (getattr(exc, "stderr", b"") or b"").decode(errors="replace").strip().splitlines()[-1:] or [str(exc)]
            pytest.skip(f"pip cannot install awscli into {CLI_VENV}: {detail[0][:160]}")
    return str(python)


@dataclass(frozen=True)
class _Part:
    """One profile part the stress test looks for: whose write made it, in which file, under which header."""

    label: str
    file: str  # "config" | "credentials"
    header: str
    writer: str  # "awswidget" | "cli" | "nobody" (there before the test began)
    cli_keys: tuple[str, ...] = ()  # the `aws configure set` keys that wrote it


def _cli_caused(part: _Part, spans: list[dict[str, Any]], writes: list[dict[str, Any]], t0: float) -> tuple[bool, str]:
    """Whether the CLI's own unlocked write lost ``part``, and the evidence, from the records of both sides.

    Only two losses are the CLI's: it rewrote the file in place from a version
    it read before awswidget's write of the part returned, after that write had
    returned (awswidget watches for such rewrites until then, GRACE after its
    rename); or the CLI's write of its own part landed in an inode awswidget had
    replaced, after the awswidget write that replaced it had returned. Anything
    else is awswidget's to explain.
    """
    mine = [w for w in writes if w["file"] == part.file]
    if part.writer == "awswidget":
        ours = [s for s in spans if s["profile"] == part.label.split()[0] and s["file"] == part.file]
        if not ours:
            return False, f"{part.label}: no record of awswidget's write"
        end, look = ours[-1]["end"], ours[-1].get("last_look", ours[-1]["end"])
        for w in mine:
            if w["mode"] == "w" and w["read_t"] is not None and w["read_t"] < end and look < w["open_t"]:
                if part.header not in w["headers"] and w["close_path_ino"] == w["open_ino"]:
                    return True, (
                        f"{part.label}: the CLI read {part.file} at +{w['read_t'] - t0:.3f} s, before awswidget's write "
                        f"returned at +{end - t0:.3f} s, and rewrote the file in place from that read at "
                        f"+{w['open_t'] - t0:.3f} s ({w['open_t'] - look:.3f} s after awswidget's last look at the file)"
                    )
        return False, f"{part.label}: written by awswidget (returned at +{end - t0:.3f} s), then lost"
    if part.writer != "cli":
        return False, part.label
    candidates = [w for w in mine if w.get("profile") == part.header.removeprefix("profile ") and w.get("key") in part.cli_keys]
    if part.header == "default":
        candidates = candidates[-1:]  # only the last value must survive
    why = f"{part.label}: every CLI write of it landed in the file"
    for w in candidates:
        if w["close_path_ino"] == w["open_ino"]:
            continue  # it landed in the file
        # The write that replaced the inode the CLI opened: the first to end after the CLI opened it with
        # another inode at the name (the CLI holds that inode open, so its number is not reused meanwhile).
        later = sorted((s for s in spans if s["file"] == part.file and s["end"] > w["open_t"]), key=lambda s: s["end"])
        replacer = next((s for s in later if s["ino_after"] != w["open_ino"]), None)
        if replacer is None:
            return False, f"{part.label}: the CLI's write went into a replaced inode, and no awswidget write replaced it"
        look = replacer.get("last_look", replacer["end"])
        if look < w["close_t"]:
            return True, (
                f"{part.label}: the CLI opened {part.file} at +{w['open_t'] - t0:.3f} s; awswidget replaced the file "
                f"in a write that returned at +{replacer['end'] - t0:.3f} s, and the CLI's write went into the replaced "
                f"inode at +{w['close_t'] - t0:.3f} s ({w['close_t'] - look:.3f} s after awswidget's last look at it)"
            )
        why = (
            f"{part.label}: the CLI's write went into the inode that awswidget's write of {replacer['profile']} "
            f"replaced, at +{w['close_t'] - t0:.3f} s, before that write's last look at +{look - t0:.3f} s"
        )
    return False, why


@pytest.mark.slow
def test_the_real_cli_in_a_loop_beside_four_writers_loses_nothing(tmp_path: Path) -> None:
    """Every part awswidget wrote is found at the end, and every part the CLI wrote, unless the CLI's own
    unlocked write lost it after awswidget had finished watching (counted, reported with its evidence).

    ``AWSWIDGET_STRESS_CLI_PAUSE=0.1`` makes the CLI stop up to that long between its read and its write,
    as a loaded machine does: it then loses parts by itself every run.
    """
    python = _cli_python()
    folder = tmp_path / ".aws"
    folder.mkdir(mode=0o700)
    config, credentials = folder / "config", folder / "credentials"
    # Files of a real size: the CLI's rewrite (and its window of an empty file) takes longer.
    many = int(os.environ.get("AWSWIDGET_STRESS_PROFILES", "300"))
    config.write_text(CONFIG + "".join(f"\n[profile bulk{n}]\nregion = us-east-2\noutput = json\n" for n in range(many)))
    credentials.write_text(
        CREDENTIALS + "".join(f"\n[bulk{n}]\naws_access_key_id = {key_id(n, 'B')}\naws_secret_access_key = {SECRET}\n" for n in range(many))
    )
    credentials.chmod(0o600)
    writers, per_writer = 4, int(os.environ.get("AWSWIDGET_STRESS_WRITES", "25"))
    cli_rounds = int(os.environ.get("AWSWIDGET_STRESS_CLI", "30"))
    pause = os.environ.get("AWSWIDGET_STRESS_CLI_PAUSE", "0")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    began, t0 = time.monotonic(), time.time()
    cli = subprocess.Popen(
        [python, str(ROOT / "tests" / "helpers" / "cli_loop.py"), str(cli_rounds), pause],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    procs = [ctx.Process(target=adder, args=(w, str(config), str(credentials), per_writer, results), daemon=True) for w in range(writers)]
    for p in procs:
        p.start()
    try:
        reports = []
        for _ in procs:
            try:
                reports.append(results.get(timeout=300))
            except queue.Empty:
                pytest.fail("a writer process did not report")
        out, err = cli.communicate(timeout=300)
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
        if cli.poll() is None:
            cli.kill()
    seconds = time.monotonic() - began
    assert cli.returncode == 0, err[-2000:]
    done = json.loads(out.strip().splitlines()[-1])
    creds = botocore.configloader.raw_config_parse(str(credentials))  # strict: a torn file raises
    conf = botocore.configloader.raw_config_parse(str(config))
    lost: list[_Part] = []
    for w in range(writers):
        for i in range(per_writer):
            name = f"aw{w}-{i:03d}"
            if creds.get(name, {}).get("aws_access_key_id") != key_id(w * 1000 + i, "W"):
                lost.append(_Part(f"{name} keys", "credentials", name, "awswidget"))
            if conf.get(f"profile {name}", {}).get("region") != REGIONS[i % len(REGIONS)]:
                lost.append(_Part(f"{name} region", "config", f"profile {name}", "awswidget"))
    for n, name in enumerate(done["profiles"]):
        got = creds.get(name, {})
        if got.get("aws_access_key_id") != "AKIA" + f"CLI{n:013d}" or got.get("aws_secret_access_key") != f"cli-secret-{n:04d}" + "x" * 24:
            lost.append(_Part(f"{name} keys (CLI)", "credentials", name, "cli", ("aws_access_key_id", "aws_secret_access_key")))
        if conf.get(f"profile {name}", {}).get("region") != "eu-central-1":
            lost.append(_Part(f"{name} region (CLI)", "config", f"profile {name}", "cli", ("region",)))
    if conf.get("default", {}).get("region") != done["default_region"]:
        lost.append(_Part("the default region (CLI)", "config", "default", "cli", ("region",)))
    if "profile old" not in conf or "old" not in creds:
        lost.append(_Part("the files' original sections", "config", "profile old", "nobody"))
    lost += [_Part(f"bulk{n}", "config", f"profile bulk{n}", "nobody") for n in range(many) if f"bulk{n}" not in creds or f"profile bulk{n}" not in conf]
    if not config.read_text().startswith("# top comment: keep me\n"):
        lost.append(_Part("the top comment", "config", "", "nobody"))
    errors = [e for _, errs, _, _ in reports for e in errs]
    waits = sum(n for _, _, n, _ in reports)
    spans = [s for *_, mine in reports for s in mine]
    blamed = [_cli_caused(p, spans, done["writes"], t0) for p in lost]
    by_cli = [why for cli_did, why in blamed if cli_did]
    unexplained = [why for cli_did, why in blamed if not cli_did]
    total = writers * per_writer * 2 + cli_rounds * 2 + 2 + many
    print(
        f"\nreal CLI: {cli_rounds * 4} `aws configure set` commands beside {writers} writers x {per_writer} profiles: "
        f"{len(lost)} of {total} profile parts lost ({len(by_cli)} by the CLI's own unlocked writes: "
        f"{sum('rewrote' in why for why in by_cli)} awswidget parts it wrote back an old version over, "
        f"{sum('replaced inode' in why for why in by_cli)} of its own that went into a replaced file; "
        f"{len(unexplained)} otherwise), {len(errors)} errors, {waits} settle waits, {seconds:.0f} s"
    )
    for line in errors[:3] + by_cli[:10] + unexplained[:10]:
        print("   ", line[:400])
    assert done["failures"] == 0
    assert errors == []
    records = tmp_path / "records.json"  # both sides' records, for a look at what happened
    records.write_text(json.dumps({"t0": t0, "spans": spans, "cli_writes": done["writes"], "lost": [p.label for p in lost]}))
    assert unexplained == [], f"lost, and not by the CLI's own write (the records: {records})"
