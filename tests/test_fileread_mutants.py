"""The file layer's reading and repair, line by line: what the second mutation run (issue 22) found untested.

Every file here is real (under ``tmp_path``). Where a test needs an error the OS will not give root (a
permission denied) or an interleaving with another program at one exact instant (a file removed between
two reads, rewritten while it is backed up), it wraps the one OS call where that happens and lets the
real call do the work; nothing of awswidget is replaced. No test needs the moto server.
"""

from __future__ import annotations

import configparser
import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from awswidget import fileread, files, filewrite, repair
from awswidget.errors import ConfigFileError, WriteError

# ---------------------------------------------------------------- helpers


def _on_path(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, target: Path, before: Callable[[int], None]) -> None:
    """Wrap ``module.name(path, ...)``: for ``target`` only, call ``before(n)`` (n = 1, 2, ...) first."""
    real = getattr(module, name)
    calls = [0]

    def wrapper(path: Any, *args: Any, **kwargs: Any) -> Any:
        if os.fspath(path) == str(target):
            calls[0] += 1
            before(calls[0])
        return real(path, *args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)


def _dup_then_bad_bytes(tail: int) -> bytes:
    """A section repeated on line 3, then bytes that are not UTF-8 ``tail`` bytes further on."""
    return b"[a]\nx = 1\n[a]\n" + b"# padding\n" * (tail // 10) + b"y = \xff\n"


# ---------------------------------------------------------------- fileread: errors the OS gives


def test_a_file_whose_folder_cannot_be_searched_is_an_error_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"[default]\n")

    def refuse(n: int) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(target))

    _on_path(monkeypatch, os, "stat", target, refuse)
    snap = fileread.read_file(target)
    assert snap.path == str(target) and snap.exists and snap.sections == {}
    assert str(snap.error) == f"{target}: cannot be reached (permission denied)"


def test_a_file_that_cannot_be_opened_is_an_error_not_an_empty_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore reads an unreadable file as empty (every profile gone, no word why): we say so.
    target = tmp_path / "config"
    target.write_bytes(b"[default]\nregion = eu-west-1\n")

    def refuse(path: Any, *args: Any) -> Any:
        raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))

    monkeypatch.setattr(fileread, "open", refuse, raising=False)
    snap = fileread.read_file(target)
    assert snap.exists and snap.sections == {}
    assert str(snap.error) == f"{target}: cannot be read (permission denied); botocore would ignore it"
    with pytest.raises(ConfigFileError) as err:
        fileread.read_bytes(str(target))
    assert err.value.reason == "cannot be read (permission denied); botocore would ignore it"


# ---------------------------------------------------------------- fileread: botocore's own reader


def test_a_repeated_section_before_bytes_that_are_not_utf8_is_read_by_botocore(tmp_path: Path) -> None:
    # The fast reader cannot know whether botocore, decoding in chunks, meets the repeated section or the
    # bad bytes first: it hands over. Far apart, botocore meets the section (line 3) first.
    target = tmp_path / "config"
    target.write_bytes(_dup_then_bad_bytes(20000))
    snap = fileread.read_file(target)
    assert snap.exists and snap.sections == {}
    assert str(snap.error) == f"{target}, line 3: section [a] appears twice (an earlier line has the same header)"
    assert snap.data == target.read_bytes()


def test_bytes_that_are_not_utf8_in_botocores_first_chunk_name_their_line(tmp_path: Path) -> None:
    # Close together, botocore's first chunk fails to decode before any line is read.
    target = tmp_path / "config"
    data = _dup_then_bad_bytes(20)
    target.write_bytes(data)
    snap = fileread.read_file(target)
    assert snap.sections == {}
    assert str(snap.error) == f"{target}, line 6: the file is not UTF-8 text"
    assert data.split(b"\n")[5].startswith(b"y = \xff")


def test_a_file_removed_while_botocore_reads_it_reads_as_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The fast reader hands this file to botocore, which looks for it (os.path.isfile) after awswidget
    # read its bytes. Removed in between: read again, now missing.
    target = tmp_path / "config"
    target.write_bytes(_dup_then_bad_bytes(20000))
    _on_path(monkeypatch, os.path, "isfile", target, lambda n: target.unlink())
    snap = fileread.read_file(target)
    assert (snap.path, snap.exists, snap.sections, snap.error) == (str(target), False, {}, None)


def test_a_file_changed_while_botocore_reads_it_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore parses what the file holds when it opens it; those bytes are not the ones awswidget
    # read, so its parse is not paired with them: the file is read again.
    target = tmp_path / "config"
    target.write_bytes(_dup_then_bad_bytes(20000))

    def rewrite(n: int) -> None:
        if n == 1:
            target.write_bytes(b"[default]\nregion = eu-west-1\n")

    _on_path(monkeypatch, os.path, "isfile", target, rewrite)
    snap = fileread.read_file(target)
    assert snap.error is None
    assert snap.sections == {"default": {"region": "eu-west-1"}}
    assert snap.data == target.read_bytes()


def test_a_file_changing_on_every_read_is_reported_after_five_tries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"[default]\nregion = eu-west-1\n")
    stamps = []

    def touch(n: int) -> None:  # another program saving the file again before every look at it
        stamps.append(n)
        os.utime(target, ns=(n * 10**9, n * 10**9))

    _on_path(monkeypatch, os, "stat", target, touch)
    snap = fileread.read_file(target)
    assert snap.path == str(target) and snap.exists and snap.sections == {} and snap.key is None and snap.data is None
    assert str(snap.error) == f"{target}: kept changing while being read; try again"
    assert len(stamps) == 10  # two looks per try, five tries
    assert fileread.cached_snapshot(str(target)) is None


def test_things_that_are_not_a_file_are_named_for_what_they_are(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_bytes(b"[default]\n")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # never opened: a reader would block forever
    cases = {
        plain / "config": "a folder on its path is a file",
        tmp_path: "is a directory, not a file",
        fifo: "is not a regular file (a pipe, socket or device); it is not read",
    }
    for path, reason in cases.items():
        snap = fileread.read_file(path)
        assert (snap.path, snap.exists, snap.sections) == (str(path), True, {})
        assert str(snap.error) == f"{path}: {reason}"


def test_a_symlink_loop_is_an_error_with_the_os_reason(tmp_path: Path) -> None:
    loop = tmp_path / "config"
    loop.symlink_to(loop)
    snap = fileread.read_file(loop)
    assert snap.exists and str(snap.error) == f"{loop}: cannot be reached (Too many levels of symbolic links)"


def test_a_folder_cannot_be_read_as_bytes() -> None:
    with pytest.raises(ConfigFileError) as err:
        fileread.read_bytes("/")
    assert str(err.value) == "/: cannot be read (Is a directory)"


def test_an_os_error_without_a_reason_is_named_by_its_type(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"[default]\n")

    def fail(n: int) -> None:
        raise OSError()

    with monkeypatch.context() as patch:
        _on_path(patch, os, "stat", target, fail)
        assert str(fileread.read_file(target).error) == f"{target}: cannot be reached (OSError)"

    def fail_open(path: Any, *args: Any) -> Any:
        raise OSError()

    monkeypatch.setattr(fileread, "open", fail_open, raising=False)
    assert str(fileread.read_file(target).error) == f"{target}: cannot be read (OSError)"


def test_a_parser_error_of_another_kind_names_only_its_type() -> None:
    # Defensive: botocore wraps only configparser's and decoding errors; anything else is named, not quoted.
    error = configparser.Error("line 2: aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    problem = fileread._parse_error("/p/config", error, b"[default]\n")
    assert str(problem) == "/p/config: botocore cannot parse it (Error)"
    assert problem.lineno is None


_S = "AKIAABCDEFGHIJKLMNOP"  # shaped like a key id: never repeated in a message
_NOT_AN_OPTION = "this line is not 'key = value', a [section] or a comment"


@pytest.mark.parametrize(
    "data, lineno, reason",
    [
        (b"region = x\n[a]\n", 1, "this line is outside any [section]; the file must start with a header such as [default]"),
        (b"[a]\n[a]\n", 2, "section [a] appears twice (an earlier line has the same header)"),
        (f"[{_S}]\n[{_S}]\n".encode(), 2, "a section appears twice (an earlier line has the same header)"),
        (b"[a]\nx=1\nx=2\n", 3, "key 'x' of section [a] appears twice"),
        (f"[a]\n{_S}=1\n{_S}=2\n".encode(), 3, "a key of section [a] appears twice"),
        (f"[{_S}]\nx=1\nx=2\n".encode(), 3, "key 'x' appears twice"),
        (b"[a]\nnot a line\n", 2, _NOT_AN_OPTION),
        (b"[a]\nbad\nx = 1\nbad2\n", 2, _NOT_AN_OPTION + " (and 1 more line(s))"),
        (b"[a]\nbad\nbad2\nbad3\n", 2, _NOT_AN_OPTION + " (and 2 more line(s))"),
        (b"[a]\nx = \xff\n", 2, "the file is not UTF-8 text"),
        (b"\xff[a]\n", 1, "the file is not UTF-8 text"),
        (b"[a]\n\n\nx = 1\xff\n", 4, "the file is not UTF-8 text"),
        (b"\n[a]\nx = \xff\n", 3, "the file is not UTF-8 text"),
        (b"\xef\xbb\xbf[a]\n", 1, "starts with a UTF-8 byte-order mark (often left by a Windows editor); botocore rejects every profile in it"),
        (b"[a]\ns3 =\n  x = 1\n  bad\n", 4, "a line of an indented (nested) block has no '='"),
        # configparser notes "[b" and goes on, then meets x again in [a]: the first bad line is named
        (b"[a]\nx = 1\n[b\nx = 2\n", 3, _NOT_AN_OPTION),
        # a bad line after the first error is not the one named
        (b"[a]\nx=1\nx=2\nbad line\n", 3, "key 'x' of section [a] appears twice"),
        (b"[a]\nx=1\n[a]\nbad\n", 3, "section [a] appears twice (an earlier line has the same header)"),
    ],
)
def test_what_botocore_rejects_is_named_by_line_and_reason(tmp_path: Path, data: bytes, lineno: int, reason: str) -> None:
    target = tmp_path / "config"
    target.write_bytes(data)
    os.chmod(target, 0o640)
    snap = fileread.read_file(target)
    assert snap.path == str(target) and snap.exists and snap.sections == {} and snap.data == data
    # the version is known even so: the writer refuses to touch it, the repair plans from it
    assert (snap.key, snap.mode) == (fileread.stat_key(os.stat(target)), 0o640)
    assert snap.error is not None and (snap.error.path, snap.error.lineno, snap.error.reason) == (str(target), lineno, reason)
    assert str(snap.error) == f"{target}, line {lineno}: {reason}"
    assert _S not in str(snap.error)


def test_the_first_line_the_scanner_rejects_is_named_for_any_other_error() -> None:
    # An error without a line number (none of configparser's): the scanner's first bad line is named.
    problem = fileread._parse_error("/p/config", configparser.Error("no line"), b"[a]\nx = 1\nbad\n")
    assert (problem.lineno, problem.reason) == (3, _NOT_AN_OPTION)
    # a missing header is one of configparser's ParsingErrors: named as configparser names it, at its line
    error = configparser.MissingSectionHeaderError("/p/config", 1, "x = 1\n")
    problem = fileread._parse_error("/p/config", error, b"x = 1\n")
    assert (problem.lineno, problem.reason) == (1, "this line is outside any [section]; the file must start with a header such as [default]")


# ---------------------------------------------------------------- repair: what is not offered


def test_a_merge_that_would_change_a_value_is_not_offered(tmp_path: Path) -> None:
    # A blank line inside a continued value is part of the value for botocore; merging the two [a]
    # drops it, so the repaired file would read differently: no plan rather than a changed value.
    target = tmp_path / "config"
    target.write_bytes(b"[a]\nx = 1\n\n  more\n[a]\ny = 2\n")
    assert fileread.read_file(target).error is not None
    assert repair.plan_repair(target) is None
    assert target.read_bytes() == b"[a]\nx = 1\n\n  more\n[a]\ny = 2\n"


def test_a_repair_that_leaves_the_file_unreadable_is_not_offered(tmp_path: Path) -> None:
    # The repeated key can be merged, but the kept value is a nested block with a line without '=':
    # botocore would still reject the file.
    target = tmp_path / "config"
    target.write_bytes(b"[a]\nx = 1\nx =\n  no equals sign\n")
    assert fileread.read_file(target).error is not None
    assert repair.plan_repair(target) is None


def test_a_file_botocore_reads_is_not_repaired_even_with_a_repeated_default(tmp_path: Path) -> None:
    # configparser accepts [DEFAULT] twice; the merge would still find something to do.
    target = tmp_path / "config"
    target.write_bytes(b"[DEFAULT]\nx = 1\n[DEFAULT]\ny = 2\n[a]\n")
    assert fileread.read_file(target).error is None
    assert repair.plan_repair(target) is None


def test_a_file_with_cr_only_line_ends_is_repaired(tmp_path: Path) -> None:
    # botocore (universal newlines) reads "\r" as a line end: so must the check of the plan.
    target = tmp_path / "config"
    target.write_bytes(b"[a]\rx = 1\r[a]\rx = 2\r")
    plan = repair.plan_repair(target)
    assert plan is not None and plan.expected == {"a": {"x": "2"}}
    repair.apply_repair(plan)
    assert target.read_bytes() == b"[a]\rx = 2\r"
    assert fileread.read_file(target).sections == {"a": {"x": "2"}}


def test_a_file_removed_while_the_repair_is_planned_gets_no_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"\xef\xbb\xbf[default]\nregion = eu-west-1\n")

    def remove_on_second_look(n: int) -> None:  # read_file looks once; the plan's own look finds it gone
        if n == 2:
            target.unlink()

    _on_path(monkeypatch, os, "stat", target, remove_on_second_look)
    assert repair.plan_repair(target) is None
    assert not target.exists()


def test_masked_lines_of_text_the_scanner_rejects_are_none() -> None:
    assert repair._masked_lines("[default]\nnot an option line\n", bom=False) == []
    assert repair._masked_lines("[default]\nregion = eu-west-1\n", bom=False) == ["[default]", "region = eu-west-1"]


# ---------------------------------------------------------------- repair: failures while it is applied


def _bom_config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    target.write_bytes(b"\xef\xbb\xbf[default]\nregion = eu-west-1\n")
    return target


def _backups(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if repair.BACKUP_MARK in name)


def _fd_path(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")


@pytest.mark.parametrize(
    "error, reason, gone",
    [
        (OSError(errno.EIO, "Input/output error"), "Input/output error", False),
        (OSError(), "OSError", False),
        # the half-written backup already removed by someone else: its removal failing is no second error
        (OSError(errno.EIO, "Input/output error"), "Input/output error", True),
    ],
)
def test_a_backup_that_cannot_be_synced_is_removed_and_the_file_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: OSError, reason: str, gone: bool
) -> None:
    target = _bom_config(tmp_path)
    plan = repair.plan_repair(target)
    assert plan is not None
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if repair.BACKUP_MARK in _fd_path(fd):
            if gone:
                os.unlink(_fd_path(fd))
            raise error
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(WriteError) as err:
        repair.apply_repair(plan)
    assert str(err.value) == f"Could not write {target}: cannot save a backup ({reason}). The file was left unchanged."
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert _backups(tmp_path) == []
    assert target.read_bytes() == b"\xef\xbb\xbf[default]\nregion = eu-west-1\n"


def test_a_file_rewritten_during_the_repair_is_kept_with_the_backup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another program (it takes no lock) saves the file right after the backup is made: its version
    # stays, the repaired text is not written, and the message points at the backup.
    target = _bom_config(tmp_path)
    plan = repair.plan_repair(target)
    assert plan is not None
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        if repair.BACKUP_MARK in _fd_path(fd):
            with open(target, "r+b") as f:
                f.write(b"[default]\nregion = us-east-2\n")
                f.truncate()

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(WriteError) as err:
        repair.apply_repair(plan)
    (backup,) = _backups(tmp_path)
    assert str(err.value) == (
        f"Could not write {target}: another program changed it during the repair "
        f"(the backup is kept: {tmp_path / backup}). The file was left unchanged."
    )
    assert target.read_bytes() == b"[default]\nregion = us-east-2\n"
    assert (tmp_path / backup).read_bytes() == b"\xef\xbb\xbf[default]\nregion = eu-west-1\n"
    assert stat.S_IMODE(os.stat(tmp_path / backup).st_mode) == 0o600
    assert [n for n in os.listdir(tmp_path) if n.endswith(".awswidget-tmp")] == []


# ---------------------------------------------------------------- fileread: the cache of what was written


def test_a_written_file_gone_before_it_is_remembered_is_not_cached(tmp_path: Path) -> None:
    # Written through a symlink, then removed by another program before it is remembered: neither
    # the link's nor the target's old parse may stay.
    target, link = tmp_path / "config", tmp_path / "link"
    target.write_bytes(b"[default]\n")
    link.symlink_to(target)
    assert fileread.read_file(target).error is None and fileread.read_file(link).error is None
    target.unlink()
    fileread.remember_written(str(link), str(target), {"default": {}}, b"[default]\n")
    assert fileread.cached_snapshot(str(link)) is None and fileread.cached_snapshot(str(target)) is None
    assert fileread.history(str(link))[1] is None


def test_a_write_through_a_link_is_remembered_under_the_link_as_written(tmp_path: Path) -> None:
    target, link = tmp_path / "config", tmp_path / "link"
    target.write_bytes(b"[default]\nregion = eu-west-1\n")
    link.symlink_to(target)
    fileread.read_file(target)
    filewrite.update_file(str(link), lambda doc, sections: doc.set("default", {"region": "us-east-2"}))
    st = os.stat(target)
    snap = fileread.cached_snapshot(str(link))
    assert snap is not None and (snap.path, snap.exists, snap.error) == (str(link), True, None)
    assert (snap.key, snap.mode, snap.data) == (fileread.stat_key(st), stat.S_IMODE(st.st_mode), target.read_bytes())
    assert snap.sections == {"default": {"region": "us-east-2"}}
    assert fileread.cached_snapshot(str(target)) is None  # the target's old parse is dropped
    assert fileread.history(str(link)) == (snap, fileread.stat_key(st))


def test_the_cached_parse_is_reused_only_for_the_same_version(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"[default]\nregion = eu-west-1\n")
    first = fileread.read_file_cached(target)
    assert fileread.read_file_cached(target) is first
    # the same bytes in a new file (another program's atomic save): a new version, read again
    os.replace(_copy(target, tmp_path / "new"), target)
    second = fileread.read_file_cached(target)
    assert second is not first and second.key == fileread.stat_key(os.stat(target))
    # a cached parse whose bytes are not the file's (same identity): not reused
    fileread.remember_read(str(target), os.stat(target), {"other": {}}, b"[other]\n\n\n\n\n\n\n\n\n\n\n\n\n\n")
    third = fileread.read_file_cached(target)
    assert third.sections == {"default": {"region": "eu-west-1"}} and third.data == target.read_bytes()
    assert fileread.read_file_cached(target) is third


def test_a_missing_file_is_remembered_as_missing(tmp_path: Path) -> None:
    target = tmp_path / "config"
    gone = fileread.read_file_cached(target)
    assert not gone.exists and fileread.read_file_cached(target) is gone
    target.write_bytes(b"[default]\n")
    assert fileread.read_file_cached(target).sections == {"default": {}}


def _copy(source: Path, dest: Path) -> Path:
    dest.write_bytes(source.read_bytes())
    return dest


# ---------------------------------------------------------------- repair: what the user is told


def test_a_plan_says_each_change_in_full(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_bytes("\ufeff[a]\nx = 1\n[b]\n[a]\nx = 2\n".encode())
    plan = repair.plan_repair(target)
    assert plan is not None
    assert plan.description == (
        "Remove the UTF-8 byte-order mark at the start of the file (left by a Windows editor); "
        "botocore rejects every profile while it is there.",
        "Section [a] appears 2 times (lines 1, 4): merge them into the last one (line 4); "
        "where several set a key, the last value wins.",
        "Key 'x' of [a] is set 2 times (lines 2, 5): keep the last one (line 5) and remove the others.",
    )
    assert str(plan) == f"Repair of {target}:\n" + "\n".join(f"- {line}" for line in plan.description)


def test_names_that_may_be_secrets_are_not_repeated_in_the_plan(tmp_path: Path) -> None:
    name = "AKIAABCDEFGHIJKLMNOP"
    target = tmp_path / "config"
    target.write_bytes(f"[{name}]\n{name}Q = 1\n{name}Q = 2\n[{name}]\n".encode())
    plan = repair.plan_repair(target)
    assert plan is not None
    assert plan.description == (
        "Section a section appears 2 times (lines 1, 4): merge them into the last one (line 4); "
        "where several set a key, the last value wins.",
        "A key of a section is set 2 times (lines 2, 3): keep the last one (line 3) and remove the others.",
    )
    assert name not in f"{plan} {plan!r} {plan.diff}"


def test_the_diff_shows_each_line_as_it_is_but_its_line_break() -> None:
    text = "[a]\r\nregion = eu-west-1  \r\n# ends with X\r\nname = X\n"
    assert repair._masked_lines(text, bom=False) == ["[a]", "region = eu-west-1  ", "# ends with X", "name = X"]


# ---------------------------------------------------------------- files: the manager's view of its two files


@pytest.mark.parametrize(
    "mode, what", [(0o640, "read"), (0o604, "read"), (0o620, "changed"), (0o601, "changed"), (0o610, "changed")]
)
def test_a_credentials_file_open_to_others_says_what_they_can_do(tmp_path: Path, mode: int, what: str) -> None:
    target = tmp_path / "credentials"
    target.write_bytes(b"[default]\n")
    os.chmod(target, mode)
    assert files.permissive_mode_warning(str(target)) == (
        f"{target} can be {what} by other users (mode {mode:04o}); run: chmod 600 {target}"
    )


def test_shared_files_reuse_a_parse_only_when_asked(tmp_path: Path) -> None:
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_bytes(b"[default]\nregion = eu-west-1\n")
    shared = files.SharedFiles(config, credentials)
    first = shared.read()
    again = shared.read()
    assert again[0] is first[0] and again[1] is first[1]  # cached by default: the same snapshots
    fresh = shared.read(cached=False)
    assert fresh[0] is not first[0] and fresh[0].sections == first[0].sections == {"default": {"region": "eu-west-1"}}
    assert (fresh[1].exists, first[1].exists) == (False, False)


def test_shared_files_lock_waits_as_long_as_told(tmp_path: Path) -> None:
    import fcntl

    shared = files.SharedFiles(tmp_path / "config", tmp_path / "credentials")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)  # another open description: another program
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(WriteError) as err, shared.locked(timeout=1.0):
            pass
    finally:
        os.close(fd)
    assert "another program holds the lock of this folder for over 1 s" in str(err.value)
    with shared.locked():
        assert os.path.isdir(tmp_path)


# ---------------------------------------------------------------- fileread: what is remembered


def test_a_good_read_is_remembered_with_its_identity_mode_and_bytes(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"[default]\nregion = eu-west-1\n")
    os.chmod(target, 0o640)
    snap = fileread.read_file(target)
    assert (snap.path, snap.exists, snap.error) == (str(target), True, None)
    assert (snap.key, snap.mode, snap.data) == (fileread.stat_key(os.stat(target)), 0o640, target.read_bytes())
    assert fileread.cached_snapshot(str(target)) is snap
    assert fileread.history(str(target)) == (snap, None)


def test_a_version_the_writer_read_is_remembered_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"[default]\n")
    os.chmod(target, 0o604)
    st = os.stat(target)
    fileread.remember_read(str(target), st, {"default": {}}, b"[default]\n")
    snap = fileread.cached_snapshot(str(target))
    assert snap == fileread.FileSnapshot(str(target), True, {"default": {}}, None, fileread.stat_key(st), 0o604)
    assert snap is not None and snap.data == b"[default]\n" and snap.sections == {"default": {}}
    assert fileread.history(str(target))[0] is snap
    assert fileread.same_version(snap, st, b"[default]\n")


def test_an_empty_broken_or_missing_read_never_becomes_the_reference(tmp_path: Path) -> None:
    # What a file looks like mid-rewrite (empty), or while it cannot be used, is not "the last content".
    target = tmp_path / "config"
    target.write_bytes(b"[default]\nregion = eu-west-1\n")
    good = fileread.read_file_cached(target)
    target.write_bytes(b"")
    empty = fileread.read_file_cached(target)
    assert empty.error is None and fileread.cached_snapshot(str(target)) is empty
    target.write_bytes(b"[default\n")
    broken = fileread.read_file_cached(target)
    assert broken.error is not None and broken.data == b"[default\n"
    assert fileread.cached_snapshot(str(target)) is broken  # cached, so the next call need not parse it again
    assert fileread.read_file_cached(target) is broken
    target.unlink()
    assert not fileread.read_file_cached(target).exists
    assert fileread.history(str(target))[0] is good


def test_forgetting_one_file_keeps_the_others(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for path in (one, two):  # written here: cached, held, and its identity remembered as written
        filewrite.update_file(str(path), lambda doc, sections: doc.set("default", {"region": "eu-west-1"}))
    fileread.forget_cached(str(tmp_path / "never-read"))  # nothing to forget: no error
    fileread.forget_cached(str(one))
    assert fileread.cached_snapshot(str(one)) is None and fileread.history(str(one)) == (None, None)
    assert fileread.cached_snapshot(str(two)) is not None
    assert fileread.history(str(two)) == (fileread.cached_snapshot(str(two)), fileread.stat_key(os.stat(two)))
    fileread.forget_cached()
    assert fileread.cached_snapshot(str(two)) is None and fileread.history(str(two)) == (None, None)


def test_same_version_needs_the_identity_and_the_bytes(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"[default]\n")
    snap = fileread.read_file(target)
    st = os.stat(target)
    assert fileread.same_version(snap, st, b"[default]\n")
    assert not fileread.same_version(snap, st, b"[other]\n\n")  # same stat, other bytes
    target.write_bytes(b"[default]\nx = 1\n")
    assert not fileread.same_version(snap, os.stat(target), b"[default]\n")  # other stat, same bytes
    target.write_bytes(b"[default\n")
    broken = fileread.read_file(target)
    assert not fileread.same_version(broken, os.stat(target), b"[default\n")  # a version that did not parse
    no_bytes = fileread.FileSnapshot(str(target), True, {}, None, fileread.stat_key(os.stat(target)))
    assert not fileread.same_version(no_bytes, os.stat(target), b"[default\n")
