"""Focused tests of the file layer that the mutation run (issue 22) showed missing.

Each test pins one behaviour a surviving mutant changed: what the writer's
self-check compares, that a temporary file that would not parse is never
renamed over the target, that a same-identity edit of the target is noticed by
its bytes, the retry count, the error raised (and the file it names) when the
temporary file cannot be created or written, what the repair diff masks, how
backups are named. The errors are made for real (a name too long for a
temporary file next to it, a file-size limit, another open file description
holding the lock); no test here needs the moto server.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import botocore.configloader
import pytest

from awswidget import filewrite, repair, settle
from awswidget._ini import IniDocument
from awswidget.errors import FileChangedError, WriteError
from awswidget.fileowner import TMP_MARK
from awswidget.validate import mask

ROOT = Path(__file__).resolve().parents[1]


def _parse(path: Path) -> dict[str, Any]:
    return botocore.configloader.raw_config_parse(str(path))


def _listing(folder: Path) -> list[str]:
    """The folder's entries but the ``home`` the autouse ``aws_env`` fixture makes in ``tmp_path``."""
    return sorted(name for name in os.listdir(folder) if name != "home")


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in os.listdir(folder) if p.endswith(TMP_MARK)]


# ---------------------------------------------------------------- the writer's self-check


def test_self_check_looks_past_a_removed_section() -> None:
    before = {"gone": {"a": "1"}, "kept": {"b": "2"}}
    doc = IniDocument("[gone]\na = 1\n[kept]\nb = 2\n")
    doc.remove(lambda h: h == "gone")
    # a removed section must not stop the check of the sections after it
    assert filewrite._check_result(doc, before, {"kept": {"b": "changed"}}) == "untouched section [kept] changed"
    assert filewrite._check_result(doc, before, {"kept": {"b": "2"}}) is None
    assert filewrite._check_result(doc, before, {"gone": {"a": "1"}, "kept": {"b": "2"}}) == "section [gone] is still present"


def test_self_check_reports_a_missing_edited_section_and_a_lost_untouched_key() -> None:
    doc = IniDocument("[p]\na = 1\nb = 2\n")
    doc.set("p", {"a": "9"})
    before = {"p": {"a": "1", "b": "2"}}
    assert filewrite._check_result(doc, before, {"p": {"a": "9", "b": "2"}}) is None
    # the edited section vanished altogether
    assert filewrite._check_result(doc, before, {}) == "key 'a' of [p] did not read back"
    # the edit kept its key but lost the one beside it
    assert filewrite._check_result(doc, before, {"p": {"a": "9"}}) == "untouched key 'b' of [p] changed"


# ---------------------------------------------------------------- write_atomic


def test_a_temporary_file_that_would_not_parse_is_never_renamed(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"[default]\nregion = eu-west-1\n")
    st = os.stat(target)
    with pytest.raises(WriteError) as err:
        filewrite.write_atomic(str(target), st, target.read_bytes(), b"[default\nkey\n", lambda after: None)
    assert "would not parse" in str(err.value) and str(target) in str(err.value)
    assert target.read_bytes() == b"[default]\nregion = eu-west-1\n"
    assert _no_temp_files(tmp_path)


def test_a_same_identity_edit_is_noticed_by_its_bytes(tmp_path: Path) -> None:
    # The version the edit was computed from differs from the file only in content (same stat):
    # write_atomic must compare the bytes too and write nothing.
    target = tmp_path / "config"
    target.write_bytes(b"[default]\nregion = eu-west-1\n")
    st = os.stat(target)
    got = filewrite.write_atomic(str(target), st, b"[default]\nregion = us-east-1\n", b"[default]\n", lambda a: None)
    assert got is None
    assert target.read_bytes() == b"[default]\nregion = eu-west-1\n"
    assert _no_temp_files(tmp_path)


def test_the_temporary_file_is_private_from_its_creation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A spy on the real fchmod: the mode the temporary file had before it was set (the new keys
    # are written right after; a reader that opened it in between must have been refused).
    modes: list[int] = []
    real_fchmod = os.fchmod

    def spy(fd: int, mode: int) -> None:
        modes.append(stat.S_IMODE(os.fstat(fd).st_mode))
        real_fchmod(fd, mode)

    monkeypatch.setattr(filewrite.os, "fchmod", spy)
    old = os.umask(0o022)
    try:
        target = tmp_path / "credentials"
        filewrite.update_file(str(target), lambda doc, sections: doc.set("default", {"region": "eu-west-1"}))
        assert len(modes) == 1
        # the repair's backup too: it holds the same keys
        config = _bom_file(tmp_path)
        plan = repair.plan_repair(str(config))
        assert plan is not None
        repair.apply_repair(plan)
    finally:
        os.umask(old)
    assert len(modes) == 3 and all(mode & 0o077 == 0 for mode in modes), [oct(m) for m in modes]


def test_a_temporary_file_name_too_long_is_a_write_error_naming_the_file(tmp_path: Path) -> None:
    target = tmp_path / ("c" * 240)  # fits; ".<name>.<12 hex><mark>" does not
    target.write_bytes(b"[default]\nregion = eu-west-1\n")
    with pytest.raises(WriteError) as err:
        filewrite.update_file(str(target), lambda doc, s: doc.set("default", {"region": "us-east-1"}))
    message = str(err.value)
    assert str(target) in message
    assert f"cannot create a temporary file in {tmp_path} (File name too long)" in message
    assert target.read_bytes() == b"[default]\nregion = eu-west-1\n"


_FSIZE_CHILD = """
import os, resource, signal, sys
from awswidget import filewrite
from awswidget.errors import WriteError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
target = sys.argv[1]
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    filewrite.update_file(target, lambda doc, s: doc.set("default", {"region": "x" * 10000}))
except WriteError as exc:
    print("WriteError:", exc)
"""


def test_a_write_that_fails_midway_is_a_write_error_with_the_os_reason(tmp_path: Path) -> None:
    # A real short write: the file-size limit (RLIMIT_FSIZE) of a child process, as a full disk would.
    target = tmp_path / "config"
    target.write_bytes(b"[default]\nregion = eu-west-1\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", _FSIZE_CHILD, str(target)], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert f"WriteError: Could not write {target}: File too large." in out.stdout
    assert target.read_bytes() == b"[default]\nregion = eu-west-1\n"
    assert _no_temp_files(tmp_path)


_NOT_ROOT_CHILD = """
import os, sys
from awswidget import filewrite
from awswidget.errors import WriteError
st = os.stat(sys.argv[1])
# One call as root first (allowed): it loads whatever a call needs (a mutation run's trampoline reads its
# configuration on the first call) while this process can still read the interpreter's files.
filewrite.refuse_read_only(sys.argv[1], st)
os.setgid(1); os.setuid(1)
try:
    filewrite.refuse_read_only(sys.argv[1], st)
except WriteError as exc:
    print("refused")
else:
    print("allowed")
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_a_user_who_cannot_write_the_file_is_refused(tmp_path: Path) -> None:
    # Mode 0644 owned by root: writable by its owner, not by uid 1 (who may not replace it).
    target = tmp_path / "config"
    target.write_bytes(b"[default]\n")
    os.chmod(target, 0o644)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", _NOT_ROOT_CHILD, str(target)], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "refused", out.stderr
    # root itself may write a 0644 file it does not own the bits of
    filewrite.refuse_read_only(str(target), os.stat(target))


def test_a_file_changed_on_every_try_is_a_file_changed_error(tmp_path: Path) -> None:
    # The "other program" rewrites the file in place each time the edit is computed (as `aws
    # configure set` would): every attempt finds the file changed, and nothing is overwritten.
    target = tmp_path / "config"
    target.write_bytes(b"[default]\nregion = r0\n")
    calls = []

    def edit(doc: IniDocument, sections: dict[str, Any]) -> None:
        calls.append(1)
        with open(target, "r+b") as f:  # in place: same inode, new content
            f.write(f"[default]\nregion = r{len(calls)}\n".encode())
            f.truncate()
        doc.set("default", {"output": "json"})

    with pytest.raises(FileChangedError) as err:
        filewrite.update_file(str(target), edit)
    assert len(calls) == 5
    assert f"{target} was changed by another program" in str(err.value) and "(5 attempts)" in str(err.value)
    assert b"output" not in target.read_bytes()
    assert _no_temp_files(tmp_path)


def test_an_unchanged_edit_returns_no_new_data(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"[default]\nregion = eu-west-1\n")
    from awswidget import fileread

    fileread.forget_cached()
    result = filewrite.update_file(str(target), lambda doc, s: doc.set("default", {"region": "eu-west-1"}))
    assert not result.changed and not result.created
    # the fresh read it made is cached under the caller's path
    snap = fileread.cached_snapshot(str(target))
    assert snap is not None and snap.sections == {"default": {"region": "eu-west-1"}}
    assert result.new_data == b"" and result.old_data == b"[default]\nregion = eu-west-1\n"
    result = filewrite.update_file(str(target), lambda doc, s: doc.set("default", {"region": "us-east-1"}))
    assert result.changed and result.new_data == b"[default]\nregion = us-east-1\n"
    assert result.old_data == b"[default]\nregion = eu-west-1\n"


def test_a_write_the_fast_reader_cannot_vouch_for_is_checked_by_botocore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """configparser's reader patched after the first parse: the fast reader no longer claims to replay it, so the
    writer's self-check reads the temporary file with botocore's own reader (which calls the patched one)."""
    import configparser

    target = tmp_path / "config"
    target.write_text("[default]\nİkey = 1\n", encoding="utf-8")
    real_read = configparser.RawConfigParser._read
    calls: list[str] = []

    def read(self: Any, fp: Any, fpname: str) -> Any:
        calls.append(fpname)
        return real_read(self, fp, fpname)

    monkeypatch.setattr(configparser.RawConfigParser, "_read", read)
    result = filewrite.update_file(str(target), lambda doc, s: doc.set("default", {"region": "eu-west-1"}))
    assert result.changed and any(os.path.basename(c) != "config" for c in calls)  # it read the temporary file
    assert _parse(target)["default"] == {"İkey".lower(): "1", "region": "eu-west-1"}  # configparser lowers keys


# ---------------------------------------------------------------- settle: the memory of in-place writers


def test_an_in_place_writer_is_remembered_for_its_file_only(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"[default]\nregion = a\n")
    real = os.path.realpath(target)
    other = str(tmp_path / "other")
    version = settle.open_version(real)
    try:
        assert settle.changed_since(version, real) is None  # nobody wrote: nothing remembered
        assert not settle.foreign_writer_seen(real)
        time.sleep(0.01)
        with open(target, "r+b") as f:
            f.write(b"[default]\nregion = bb\n")
        lost = settle.changed_since(version, real)
        assert lost is not None and lost.data == b"[default]\nregion = bb\n"
        assert lost.fd is not None and lost.st is not None and lost.st.st_size == len(lost.data)
        lost.close()
    finally:
        version.close()
    assert settle.foreign_writer_seen(real)
    assert not settle.foreign_writer_seen(other)
    with settle._foreign_lock:
        settle._foreign[real] -= settle.FOREIGN_MEMORY  # as if seen FOREIGN_MEMORY seconds ago
    assert not settle.foreign_writer_seen(real)
    with settle._foreign_lock:
        settle._foreign.pop(real)


def test_changed_since_waits_for_the_writer_to_finish(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"[default]\nregion = a\n")
    real = os.path.realpath(target)
    version = settle.open_version(real)
    try:
        with open(target, "r+b") as f:
            f.write(b"[default]\nregion = first\n")
        start = time.monotonic()
        lost = settle.changed_since(version, real)
        waited = time.monotonic() - start
    finally:
        version.close()
        with settle._foreign_lock:
            settle._foreign.pop(real, None)
    assert lost is not None
    lost.close()
    # it watched the inode for SETTLE seconds of quiet (and not for SETTLE_MAX)
    assert settle.SETTLE <= waited < settle.SETTLE_MAX


# ---------------------------------------------------------------- repair: what the diff shows


def test_the_repair_diff_masks_every_secret_and_nothing_else() -> None:
    text = textwrap.dedent(
        """\
        [default]
        aws_secret_access_key = hunter2-short
        region = us-east-1
        sso_session_token =
            tok-short-1
        s3 =
            max_concurrency = 10
        ; aws_secret_access_key = old-pass-9
        # region = eu-west-1
        output = AKIAABCDEFGHIJKLMNOP1234
        [other]
        region = eu-central-1
        """
    )
    shown = repair._masked_lines(text, bom=True)
    joined = "\n".join(shown)
    for secret in ("hunter2", "tok-short", "old-pass", "AKIAABCDEFGHIJKLMNOP1234"):
        assert secret not in joined
    assert shown[0] == "<U+FEFF byte-order mark>[default]"
    assert shown[1] == "aws_secret_access_key = " + mask("hunter2-short")
    assert shown[2] == "region = us-east-1"
    assert shown[4] == "    " + mask("tok-short-1")  # a secret's continuation line keeps its indent
    assert shown[6] == "    max_concurrency = 10"  # a harmless one is shown as it is
    assert shown[7] == "; aws_secret_access_key = " + mask("old-pass-9")
    assert shown[8] == "# region = eu-west-1"
    assert shown[9] == "output = " + mask("AKIAABCDEFGHIJKLMNOP1234")
    assert shown[10:] == ["[other]", "region = eu-central-1"]
    assert repair._masked_lines(text, bom=False)[0] == "[default]"


# ---------------------------------------------------------------- repair: backups


def _bom_file(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    target.write_bytes(b"\xef\xbb\xbf[default]\nregion = eu-west-1\n")
    return target


def test_backups_are_named_by_time_then_numbered(tmp_path: Path) -> None:
    target = _bom_file(tmp_path)
    st = os.stat(target)
    when = time.mktime((2026, 3, 4, 5, 6, 7, 0, 0, -1))
    first = repair._write_backup(str(target), b"one", st, lambda: when)
    second = repair._write_backup(str(target), b"two", st, lambda: when)
    assert os.path.basename(first) == "config.awswidget-backup-20260304-050607"
    assert os.path.basename(second) == "config.awswidget-backup-20260304-050607-1"
    assert Path(first).read_bytes() == b"one" and Path(second).read_bytes() == b"two"
    assert stat.S_IMODE(os.stat(first).st_mode) == 0o600


def test_a_hundred_backups_in_one_second_is_a_write_error(tmp_path: Path) -> None:
    target = _bom_file(tmp_path)
    st = os.stat(target)
    name = f"config{repair.BACKUP_MARK}20260304-050607"
    (tmp_path / name).write_bytes(b"")
    for n in range(1, 100):
        (tmp_path / f"{name}-{n}").write_bytes(b"")
    when = time.mktime((2026, 3, 4, 5, 6, 7, 0, 0, -1))
    with pytest.raises(WriteError) as err:
        repair._write_backup(str(target), b"data", st, lambda: when)
    assert f"Could not write {target}: too many backups named {name}" in str(err.value)
    (tmp_path / f"{name}-99").unlink()  # the hundredth name is still used
    assert repair._write_backup(str(target), b"data", st, lambda: when).endswith("-99")


def test_a_backup_that_cannot_be_created_is_a_write_error_naming_the_file(tmp_path: Path) -> None:
    target = tmp_path / ("c" * 240)  # the backup's name is too long for the folder
    target.write_bytes(b"\xef\xbb\xbf[default]\nregion = eu-west-1\n")
    plan = repair.plan_repair(str(target))
    assert plan is not None
    with pytest.raises(WriteError) as err:
        repair.apply_repair(plan)
    assert f"Could not write {target}: cannot save a backup in {tmp_path} (File name too long)" in str(err.value)
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")


def test_a_repair_of_a_changed_file_names_the_file(tmp_path: Path) -> None:
    target = _bom_file(tmp_path)
    plan = repair.plan_repair(str(target))
    assert plan is not None
    target.write_bytes(b"\xef\xbb\xbf[default]\nregion = us-east-1\n")
    with pytest.raises(WriteError) as err:
        repair.apply_repair(plan)
    assert str(err.value).startswith(f"Could not write {target}: it changed since the repair was planned")
    target.unlink()
    with pytest.raises(WriteError, match="it changed since the repair was planned"):
        repair.apply_repair(plan)
    assert not target.exists()


def test_a_repaired_file_is_remembered_as_written(tmp_path: Path) -> None:
    from awswidget import fileread

    target = _bom_file(tmp_path)
    plan = repair.plan_repair(str(target))
    assert plan is not None
    backup = repair.apply_repair(plan, clock=lambda: 0.0)
    assert re.search(r"\.awswidget-backup-\d{8}-\d{6}$", backup)
    assert target.read_bytes() == b"[default]\nregion = eu-west-1\n"
    snapshot = fileread.cached_snapshot(str(target))  # remembered as written, not parsed again
    assert snapshot is not None and snapshot.data == target.read_bytes()
    assert snapshot.sections == {"default": {"region": "eu-west-1"}}


def test_the_repair_check_rejects_any_other_reading() -> None:
    check = repair._check_repaired({"default": {"region": "eu-west-1"}})
    assert check({"default": {"region": "eu-west-1"}}) is None
    assert check({"default": {"region": "us-east-1"}}) == "the repaired file does not read as planned"


# ---------------------------------------------------------------- the locks' error branches


def test_a_folder_lock_held_by_another_open_description_is_a_write_error_naming_the_timeout(tmp_path: Path) -> None:
    import fcntl

    target = tmp_path / "config"
    target.write_bytes(b"[default]\nregion = eu-west-1\n")
    # flock locks belong to an open file description: this one conflicts even within this process,
    # exactly as another awswidget process holding the lock would.
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        start = time.monotonic()
        with pytest.raises(WriteError) as err:
            filewrite.update_file(str(target), lambda doc, s: doc.set("default", {"region": "x"}), lock_timeout=1.0)
        assert time.monotonic() - start >= 1.0
    finally:
        os.close(fd)
    assert f"Could not write {tmp_path}: another program holds the lock of this folder for over 1 s" in str(err.value)
    assert target.read_bytes() == b"[default]\nregion = eu-west-1\n"
    # released: the same write goes through
    assert filewrite.update_file(str(target), lambda doc, s: doc.set("default", {"region": "x"})).changed


def test_a_folder_that_cannot_be_opened_is_a_write_error(tmp_path: Path) -> None:
    from awswidget import filelocks

    with pytest.raises(WriteError, match=r"cannot open the folder to lock it \(No such file or directory\)"):
        with filelocks._folder_lock(str(tmp_path / "missing"), 1.0):
            pass


def _refuse_dir_flock(monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    # The one system call a file system without directory flock refuses (as some network and FUSE
    # file systems do); everything else -- the lock file, its flock, the write -- is real.
    from awswidget import filelocks

    def refuse(fd: int) -> bool:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(code, os.strerror(code))
        raise AssertionError("only the folder is flocked here")

    monkeypatch.setattr(filelocks, "_lock_nonblocking", refuse)


def test_without_folder_flock_the_lock_file_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from filelock import FileLock

    _refuse_dir_flock(monkeypatch, errno.EOPNOTSUPP)
    target = tmp_path / "config"
    target.write_bytes(b"[default]\nregion = eu-west-1\n")
    result = filewrite.update_file(str(target), lambda doc, s: doc.set("default", {"region": "us-east-1"}))
    assert result.changed and _parse(target)["default"]["region"] == "us-east-1"
    lock_path = tmp_path / ".awswidget.lock"
    assert stat.S_IMODE(os.stat(lock_path).st_mode) == 0o600
    # that lock file is the lock: held elsewhere, the write waits, then says so
    other = FileLock(str(lock_path), timeout=0)
    with other:
        with pytest.raises(WriteError) as err:
            filewrite.update_file(str(target), lambda doc, s: doc.set("default", {"region": "x"}), lock_timeout=0.2)
    assert f"another program holds its lock ({lock_path}) for over 0.2 s" in str(err.value)  # not "over 0 s"
    assert _parse(target)["default"]["region"] == "us-east-1"


def test_without_folder_flock_an_unusable_lock_file_is_a_write_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    _refuse_dir_flock(monkeypatch, errno.ENOLCK)
    (tmp_path / ".awswidget.lock").mkdir()  # a directory where the lock file should be
    target = tmp_path / "config"
    target.write_bytes(b"[default]\n")
    with pytest.raises(WriteError, match=r"cannot create its lock file .*\.awswidget\.lock \(Is a directory\)"):  # the OS reason
        filewrite.update_file(str(target), lambda doc, s: doc.set("default", {"region": "x"}))
    assert target.read_bytes() == b"[default]\n"


def test_a_folder_flock_failing_otherwise_is_a_write_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    _refuse_dir_flock(monkeypatch, errno.EIO)
    target = tmp_path / "config"
    target.write_bytes(b"[default]\n")
    with pytest.raises(WriteError, match=r"cannot lock the folder \(Input/output error\)"):
        filewrite.update_file(str(target), lambda doc, s: doc.set("default", {"region": "x"}))
    assert not (tmp_path / ".awswidget.lock").exists()


def test_nested_locks_of_one_folder_are_counted(tmp_path: Path) -> None:
    from awswidget import filelocks

    paths = [str(tmp_path / "config"), str(tmp_path / "credentials")]
    with filelocks.locked(paths):
        with filelocks.locked(paths[:1]):
            assert filelocks._held_folders()[str(tmp_path)] == 2
        assert filelocks._held_folders()[str(tmp_path)] == 1
    assert str(tmp_path) not in filelocks._held_folders()


def test_a_flock_refused_for_another_reason_than_held_is_raised_not_waited_for() -> None:
    # Only EAGAIN/EACCES mean "another holds it"; any other refusal goes up to _folder_lock, which falls
    # back to the lock file or says the OS reason. Taken for "held", a file system that cannot flock
    # would wait out the timeout and blame another program. A descriptor at the hard limit is never open.
    import errno
    import resource

    from awswidget import filelocks

    never_open = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with pytest.raises(OSError) as err:
        filelocks._lock_nonblocking(never_open)
    assert err.value.errno == errno.EBADF


def test_without_fcntl_the_lock_file_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from awswidget import filelocks

    monkeypatch.setattr(filelocks, "fcntl", None)  # a system without it: filelock's lock file, as before
    target = tmp_path / "config"
    target.write_bytes(b"[default]\n")
    assert filewrite.update_file(str(target), lambda doc, s: doc.set("default", {"region": "x"})).changed
    assert (tmp_path / ".awswidget.lock").exists() and _parse(target)["default"]["region"] == "x"


def test_a_system_without_fcntl_still_imports_reads_switches_and_writes(tmp_path: Path) -> None:
    # The folder lock's `import fcntl` stopped every CredentialsManager where there is none (review 42, F2).
    (tmp_path / "config").write_bytes(b"[default]\nregion = eu-west-1\n[profile a]\nregion = us-east-1\n")
    probe = textwrap.dedent("""
        import sys
        sys.modules["fcntl"] = None  # import fcntl -> ImportError
        import awswidget
        m = awswidget.CredentialsManager()
        m.profile = "a"
        m.add_profile("added", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        print(sorted(m.profiles), m.profile, "filelock" in sys.modules)
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS")}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "config"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
               AWS_EC2_METADATA_DISABLED="true", HOME=str(tmp_path), AWSWIDGET_RECENT="0")
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    # filelock's lock (its soft lock without fcntl, a file it removes again) stood in for the folder's flock
    assert out.stdout.split() == ["['a',", "'added',", "'default']", "a", "True"]


def test_a_locked_write_in_a_fresh_process_does_not_import_filelock(tmp_path: Path) -> None:
    # Importing filelock is 10 ms of a fresh kernel's first switch (issue 17): the folder lock calls
    # flock itself; filelock is for the lock-file fallback only (tested above with its lock file).
    (tmp_path / "config").write_bytes(b"[default]\nregion = eu-west-1\n")
    probe = textwrap.dedent("""
        import sys
        import awswidget
        m = awswidget.CredentialsManager()
        m.add_profile("added", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        m.profile = "added"  # a switch is a use, recorded under the recent list's lock
        print(sorted(m.profiles), "filelock" in sys.modules)
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS")}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "config"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
               AWS_EC2_METADATA_DISABLED="true", HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"), AWSWIDGET_RECENT="1")
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["['added',", "'default']", "False"]
    assert (tmp_path / "data" / "awswidget" / "recent.json").exists()  # the recent list's lock was taken


# ---------------------------------------------------------------- files that are not what they should be


def test_things_in_place_of_a_file_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    from awswidget import fileread
    from awswidget.errors import ConfigFileError

    folder = tmp_path / "config"
    folder.mkdir()
    with pytest.raises(ConfigFileError, match="is a directory, not a file"):
        filewrite.update_file(str(folder), lambda doc, s: doc.set("default", {"region": "x"}))
    with pytest.raises(ConfigFileError, match=r"cannot be read \(Is a directory\)"):
        fileread.read_bytes(str(folder))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ConfigFileError, match="is not a regular file"):
        filewrite.update_file(str(fifo), lambda doc, s: doc.set("default", {"region": "x"}))
    loop = tmp_path / "loop"
    os.symlink(loop, loop)
    with pytest.raises(ConfigFileError, match=r"cannot be reached \(Too many levels of symbolic links\)"):
        fileread.stat_regular(str(loop))
    assert fileread.read_file(str(loop)).error is not None
    blocker = tmp_path / "blocker"
    blocker.write_bytes(b"")
    with pytest.raises(WriteError, match="a file is where this folder should be"):
        filewrite.update_file(str(blocker / "sub" / "config"), lambda doc, s: doc.set("default", {"region": "x"}))
    with pytest.raises(WriteError, match=r"cannot create the folder \(File name too long\)"):
        filewrite.update_file(str(tmp_path / ("d" * 300) / "config"), lambda doc, s: doc.set("default", {"region": "x"}))
    assert _listing(tmp_path) == ["blocker", "config", "fifo", "loop"]


def test_owner_helpers_on_a_missing_folder(tmp_path: Path) -> None:
    from awswidget import fileowner

    assert fileowner.temp_files(str(tmp_path / "missing" / "config")) == []
    assert fileowner.owner_for_new(str(tmp_path / "missing")) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file to another user")
def test_a_backup_of_a_users_file_belongs_to_that_user(tmp_path: Path) -> None:
    target = _bom_file(tmp_path)
    os.chown(target, 1, 1)
    plan = repair.plan_repair(str(target))
    assert plan is not None
    backup = repair.apply_repair(plan)
    assert (os.stat(backup).st_uid, os.stat(backup).st_gid) == (1, 1)
    assert (os.stat(target).st_uid, os.stat(target).st_gid) == (1, 1)


_BACKUP_FSIZE_CHILD = """
import os, resource, signal, sys
from awswidget import repair
from awswidget.errors import WriteError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
plan = repair.plan_repair(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    repair.apply_repair(plan)
except WriteError as exc:
    print("WriteError:", exc)
"""


def test_a_backup_that_cannot_be_written_is_removed_and_nothing_changes(tmp_path: Path) -> None:
    target = tmp_path / "config"
    data = b"\xef\xbb\xbf[default]\nregion = eu-west-1\n" + b"".join(b"k%d = %s\n" % (i, b"v" * 60) for i in range(200))
    target.write_bytes(data)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", _BACKUP_FSIZE_CHILD, str(target)], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert f"WriteError: Could not write {target}: cannot save a backup (File too large)." in out.stdout
    assert target.read_bytes() == data
    assert _listing(tmp_path) == ["config"]


def test_parse_data_names_the_file_not_its_private_copy(tmp_path: Path) -> None:
    from awswidget.errors import ConfigFileError

    real = str(tmp_path / "config")
    with pytest.raises(ConfigFileError) as err:
        settle.parse_data(real, "~/.aws/config", b"[default]\nregion = a\n[default\n")
    assert err.value.path == "~/.aws/config" and err.value.lineno == 3
    from awswidget import fileread

    tmp = tmp_path / "copy"
    tmp.write_bytes(b"[default]\nregion = a\n[default\n")
    with pytest.raises(ConfigFileError) as direct:
        fileread.botocore_parse(str(tmp), tmp.read_bytes())
    tmp.unlink()
    assert err.value.reason == direct.value.reason
    assert _listing(tmp_path) == []
    assert settle.parse_data(real, real, b"[default]\nregion = a\n") == {"default": {"region": "a"}}


def test_an_edit_the_document_refuses_is_a_write_error_naming_the_file(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"[default]\nregion = eu-west-1\n")
    with pytest.raises(WriteError) as err:
        filewrite.update_file(str(target), lambda doc, s: doc.set("default", {"region": "a\nb"}))
    message = str(err.value)
    assert message.startswith(f"Could not write {target}: ") and "None" not in message
    assert len(message) > len(f"Could not write {target}: . The file was left unchanged.")
    assert target.read_bytes() == b"[default]\nregion = eu-west-1\n"


# ---------------------------------------------------------------- what the cache remembers


def test_the_cache_holds_exactly_the_version_written_and_read(tmp_path: Path) -> None:

    from awswidget import fileread

    target = tmp_path / "config"
    path = str(target)
    filewrite.update_file(path, lambda doc, s: doc.set("default", {"region": "eu-west-1"}))
    data = target.read_bytes()
    st = os.stat(target)
    for snap in (fileread.cached_snapshot(path), fileread.history(path)[0]):
        assert snap is not None
        assert (snap.path, snap.exists, snap.error) == (path, True, None)
        assert snap.sections == {"default": {"region": "eu-west-1"}}
        assert snap.key == fileread.stat_key(st) and snap.mode == 0o600
        assert snap.data == data
    assert fileread.history(path)[1] == fileread.stat_key(st)
    assert fileread.read_file_cached(path) is fileread.cached_snapshot(path)

    fileread.forget_cached(path)
    assert fileread.cached_snapshot(path) is None and fileread.history(path) == (None, None)
    target.write_bytes(b"[default]\nregion = us-east-1\n")
    os.chmod(target, 0o640)
    version = settle.settled_version(path, path)
    version.close()
    snap = fileread.cached_snapshot(path)
    st = os.stat(target)
    assert snap is not None and (snap.path, snap.exists, snap.error) == (path, True, None)
    assert snap.key == fileread.stat_key(st) and snap.mode == 0o640
    assert snap.data == target.read_bytes()

    other = str(tmp_path / "credentials")
    filewrite.update_file(other, lambda doc, s: doc.set("default", {"output": "json"}))
    fileread.forget_cached(path)  # one file forgotten, not the other
    assert fileread.cached_snapshot(path) is None and fileread.cached_snapshot(other) is not None
    fileread.forget_cached()
    assert fileread.cached_snapshot(other) is None


def test_a_written_file_cached_under_its_link_and_its_target(tmp_path: Path) -> None:
    from awswidget import fileread

    real = tmp_path / "real-config"
    real.write_bytes(b"[default]\nregion = a\n")
    link = tmp_path / "config"
    link.symlink_to(real)
    fileread.read_file_cached(str(real))
    assert fileread.cached_snapshot(str(real)) is not None
    filewrite.update_file(str(link), lambda doc, s: doc.set("default", {"region": "b"}))
    # the target's old entry is dropped: it no longer says what the file holds
    assert fileread.cached_snapshot(str(real)) is None
    snap = fileread.cached_snapshot(str(link))
    assert snap is not None and snap.sections == {"default": {"region": "b"}}


def test_shown_name_hides_long_names_from_65_characters() -> None:
    from awswidget.fileread import shown_name

    name = "profile-dev-" * 5 + "east"  # 64 characters, no long key-like run
    assert len(name) == 64 and shown_name(name) == name
    assert shown_name(name + "1") is None


# ---------------------------------------------------------------- settle: parse_data's private copy


def test_parse_data_copies_the_bytes_to_a_private_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from awswidget import fileread

    seen: list[int] = []
    real_parse = fileread.botocore_parse

    def spy(path: str, data: bytes) -> dict[str, Any]:
        seen.append(stat.S_IMODE(os.stat(path).st_mode))
        return real_parse(path, data)

    monkeypatch.setattr(settle, "botocore_parse", spy)
    old = os.umask(0o022)
    try:
        # a key the fast reader hands to botocore: botocore must read the copy's path
        got = settle.parse_data(str(tmp_path / "config"), "config", "[default]\nİkey = 1\n".encode())
    finally:
        os.umask(old)
    assert seen == [0o600]
    assert [list(v.values()) for v in got.values()] == [["1"]]
    assert _listing(tmp_path) == []


def test_changed_since_waits_while_the_writer_keeps_writing(tmp_path: Path) -> None:
    import threading

    target = tmp_path / "config"
    target.write_bytes(b"[default]\nregion = a\n")
    real = os.path.realpath(target)
    version = settle.open_version(real)
    stop = threading.Event()

    def writer() -> None:
        for n in range(6):  # in place, every 60 ms: the inode is not quiet for SETTLE until it stops
            with open(target, "r+b") as f:
                f.write(f"[default]\nregion = v{n}{'x' * n}\n".encode())
                f.truncate()
            time.sleep(0.06)
        stop.set()

    thread = threading.Thread(target=writer)
    try:
        with open(target, "r+b") as f:
            f.write(b"[default]\nregion = first\n")
        thread.start()
        lost = settle.changed_since(version, real)
        done = stop.is_set()
    finally:
        thread.join()
        version.close()
        with settle._foreign_lock:
            settle._foreign.pop(real, None)
    assert lost is not None
    # it returned what the writer wrote last, after the writer had finished
    assert done and lost.data == b"[default]\nregion = v5xxxxx\n"
    lost.close()


_C_LOCALE_CHILD = """
import sys
from awswidget import _fastini, filewrite, fileread
from awswidget.errors import WriteError
try:
    _fastini._check_environment()
except _fastini.Unsupported as exc:
    print("fast reader off:", exc)
target = sys.argv[1]
result = filewrite.update_file(target, lambda doc, s: doc.set("profile dev", {"region": "eu-west-1"}))
print("changed", result.changed, fileread.read_file(target).sections)
try:
    filewrite.write_atomic(target, None, b"", b"[broken\\n", lambda after: None)
except WriteError as exc:
    print("refused:", exc)
"""


def test_where_the_fast_reader_is_off_botocore_checks_the_written_file(tmp_path: Path) -> None:
    # In the plain C locale open() does not decode UTF-8, so the fast reader steps aside and the
    # temporary file is re-read by botocore's own parser (a real environment, not a switch).
    target = tmp_path / "config"
    target.write_bytes(b"[default]\nregion = us-east-1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_") and k not in ("LANG", "PYTHONUTF8")}
    env.update(PYTHONPATH=str(ROOT), LC_ALL="C", PYTHONCOERCECLOCALE="0", PYTHONUTF8="0")
    out = subprocess.run(
        [sys.executable, "-c", _C_LOCALE_CHILD, str(target)], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "fast reader off: open() would not decode the file as UTF-8"
    assert lines[1] == "changed True {'default': {'region': 'us-east-1'}, 'profile dev': {'region': 'eu-west-1'}}"
    assert lines[2].startswith("refused: ") and "would not parse" in lines[2]


# ---------------------------------------------------------------- small branches the suite did not reach


def test_self_check_reports_an_unexpected_section() -> None:
    doc = IniDocument("[p]\na = 1\n")
    doc.set("p", {"a": "2"})
    assert filewrite._check_result(doc, {"p": {"a": "1"}}, {"p": {"a": "2"}, "q": {}}) == "unexpected section [q]"


def test_a_file_that_appeared_since_the_read_is_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"[default]\nregion = theirs\n")  # created by another program after our read found nothing
    assert filewrite.write_atomic(str(target), None, b"", b"[default]\nregion = ours\n", lambda a: None) is None
    assert target.read_bytes() == b"[default]\nregion = theirs\n"
    assert _no_temp_files(tmp_path)


def test_a_snapshot_knows_its_real_path(tmp_path: Path) -> None:
    from awswidget import fileread

    real = tmp_path / "real-config"
    real.write_bytes(b"[default]\n")
    link = tmp_path / "config"
    link.symlink_to(real)
    assert fileread.read_file(str(link)).real_path == str(real)


def test_the_lenient_view_of_an_unreadable_text_is_none() -> None:
    assert repair._lenient_view("region = eu-west-1\n", strict=True) is None  # no section header
    assert repair._lenient_view("[a]\nx = 1\n[a]\n", strict=True) is None  # strict: a repeated section
    assert repair._lenient_view("[a]\nx = 1\n[a]\ny = 2\n", strict=False) == {"a": {"x": "1", "y": "2"}}


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a folder to another user")
def test_without_folder_flock_roots_lock_file_belongs_to_the_folders_owner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    _refuse_dir_flock(monkeypatch, errno.EOPNOTSUPP)
    folder = tmp_path / "aws"
    folder.mkdir()
    os.chown(folder, 1, 1)
    filewrite.update_file(str(folder / "config"), lambda doc, s: doc.set("default", {"region": "x"}))
    lock = os.stat(folder / ".awswidget.lock")
    assert (lock.st_uid, lock.st_gid) == (1, 1)
    created = os.stat(folder / "config")
    assert (created.st_uid, created.st_gid) == (1, 1)


def test_shared_files_repr_names_both_files(tmp_path: Path) -> None:
    from awswidget.files import SharedFiles

    shared = SharedFiles(tmp_path / "c", tmp_path / "k")
    assert repr(shared) == f"SharedFiles(config_file={str(tmp_path / 'c')!r}, credentials_file={str(tmp_path / 'k')!r})"


def test_an_empty_file_this_process_wrote_is_not_waited_for(tmp_path: Path) -> None:
    from awswidget import fileread

    target = tmp_path / "config"
    target.write_bytes(b"")
    fileread.remember_written(str(target), str(target), {}, b"")  # what the writer records after its write
    before = settle.waits
    version = settle.settled_version(str(target), str(target))
    version.close()
    assert version.data == b"" and version.sections == {}
    assert settle.waits == before  # its own empty write is no torn in-place rewrite of another program


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a folder to another user")
def test_root_gives_a_new_file_to_the_folders_owner_whatever_its_group(tmp_path: Path) -> None:
    from awswidget.fileowner import owner_for_new

    folder = tmp_path / "home-of-uid-1"
    folder.mkdir()
    os.chown(folder, 1, 0)  # a user's folder whose group is root's (gid 0)
    assert owner_for_new(str(folder)) == (1, 0)
    os.chown(folder, 0, 1)  # root's own folder: root keeps what it creates
    assert owner_for_new(str(folder)) is None


def test_which_versions_look_mid_rewrite(tmp_path: Path) -> None:
    """settle._suspect, case by case: the rules its docstring states (each case one surviving mutant)."""
    from awswidget.fileread import FileSnapshot, stat_key

    target = tmp_path / "config"
    seen = b"[a]\nx = 1\n[b]\ny = 2\n"
    target.write_bytes(seen)
    held = FileSnapshot(str(target), True, {}, None, stat_key(os.stat(target)), 0o600, seen)
    os.link(target, tmp_path / "keep")  # the held inode stays allocated: a new file can never reuse its number

    def in_place(data: bytes) -> settle.Version:  # the same inode, rewritten
        target.write_bytes(data)
        return settle.Version(os.stat(target), data)

    def renamed(data: bytes) -> settle.Version:  # a new inode, as a writer that renames leaves it
        new = tmp_path / "new"
        new.write_bytes(data)
        os.replace(new, target)
        return settle.Version(os.stat(target), data)

    assert not settle._suspect(settle.Version(None, b""), held, None)  # missing
    assert not settle._suspect(in_place(b"[a]\nx = 3\n"), None, None)  # no history: trusted
    assert settle._suspect(in_place(b""), None, None)  # empty, and not written here
    empty = in_place(b"")
    assert not settle._suspect(empty, held, stat_key(os.stat(target)))  # exactly what this process wrote
    assert settle._suspect(in_place(b"[a]\nx = 9\n[b]\ny = 2\n"), held, None)  # the inode held other content
    assert not settle._suspect(in_place(seen), held, None)  # the inode, same content
    assert settle._suspect(renamed(b"[a]\nx ="), held, None)  # shrank and stops mid-line
    assert not settle._suspect(renamed(b"[a]\nx = 1\n"), held, None)  # shrank, whole lines: a removal
    assert not settle._suspect(renamed(b"[a]\r"), held, None)  # CR-only line endings count as whole lines
    assert not settle._suspect(renamed(b"[a]\nx = 1\n[b]\ny = 22"), held, None)  # same length, new inode
    assert not settle._suspect(renamed(b"[a]\nx = 1\n[b]\ny = 2\nz = 3"), held, None)  # grew: not a truncation
    assert not settle._suspect(renamed(b"[a]\nx = 5\n[b]\ny = 2\n"), held, None)  # other content, new inode
    no_data = FileSnapshot(str(target), True, {}, None, held.key, 0o600, None)
    assert not settle._suspect(renamed(b"[a]\nx ="), no_data, None)  # nothing to compare with
