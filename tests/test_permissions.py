"""Modes, owners and permission problems of the shared files.

A created credentials file is 0600 and a created ``.aws`` folder 0700 whatever
the umask (set in a child process: the umask is process-wide); an existing file
keeps its mode and owner; a file open to others is warned about. Permission
errors are real: the child runs as root *without* the DAC override capability
(``setpriv``), so mode bits bind it as they bind any user.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from awswidget import files
from awswidget.errors import WriteError
from awswidget.manager import CredentialsManager
from tests.helpers import KEY_ID, SECRET, as_user, run_child

IS_ROOT = os.geteuid() == 0
NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
needs_setpriv = pytest.mark.skipif(
    not (IS_ROOT and shutil.which("setpriv")), reason="needs root and setpriv to drop the DAC override capability"
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o002, 0o077])
def test_created_files_and_folder_are_private_under_any_umask(umask: int, tmp_path: Path) -> None:
    home = tmp_path / "user"
    config, creds = home / ".aws" / "config", home / ".aws" / "credentials"
    home.mkdir()
    out = run_child(
        "add_profile",
        {"config": str(config), "credentials": str(creds), "key_id": KEY_ID, "secret": SECRET, "region": "us-east-1", "umask": umask},
    )
    assert out["profiles"] == ["dev"]
    assert out[str(creds)] == 0o600 and out[str(config)] == 0o600
    assert out[str(creds.parent)] == 0o700
    for lock in creds.parent.glob("*.lock"):
        assert _mode(lock) & 0o077 == 0, lock


def test_missing_parent_folders_are_created_private(tmp_path: Path) -> None:
    creds = tmp_path / "a" / "b" / ".aws" / "credentials"
    out = run_child(
        "add_profile",
        {"config": str(tmp_path / "cfg"), "credentials": str(creds), "key_id": KEY_ID, "secret": SECRET, "umask": 0},
    )
    assert out[str(creds)] == 0o600
    assert [_mode(p) for p in (creds.parent, creds.parent.parent, creds.parent.parent.parent)] == [0o700] * 3


def test_existing_modes_are_kept_and_an_open_credentials_file_is_warned(aws_env: Any) -> None:
    aws_env.write(config="[default]\nregion = us-east-1\n", credentials=f"[default]\naws_access_key_id = {KEY_ID}\n")
    aws_env.config.chmod(0o644)
    aws_env.credentials.chmod(0o640)
    m = CredentialsManager(export_env=False, install_default=False)
    warning = files.permissive_mode_warning(str(aws_env.credentials))
    assert warning is not None and "0640" in warning and warning in m.warnings
    m.add_profile("dev", KEY_ID, SECRET, region="eu-west-1")
    assert (_mode(aws_env.config), _mode(aws_env.credentials)) == (0o644, 0o640)
    assert warning in m.warnings
    aws_env.credentials.chmod(0o600)
    m.reload()
    assert not any("other users" in w for w in m.warnings)


def test_a_symlinked_credentials_file_is_judged_by_its_target(aws_env: Any) -> None:
    target = aws_env.root / "dotfiles-credentials"
    target.write_text(f"[default]\naws_access_key_id = {KEY_ID}\n")
    target.chmod(0o644)
    aws_env.credentials.parent.mkdir(mode=0o700, parents=True)
    aws_env.credentials.symlink_to(target)
    m = CredentialsManager(export_env=False, install_default=False)
    assert any("can be read by other users (mode 0644)" in w for w in m.warnings)
    m.add_profile("dev", KEY_ID, SECRET)
    assert _mode(target) == 0o644 and aws_env.credentials.is_symlink()


@pytest.mark.skipif(not IS_ROOT, reason="only root can give a file to another user")
def test_root_editing_a_users_file_keeps_its_owner(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("[a]\nx = 1\n")
    os.chown(path, 65534, 65534)
    files.update_file(path, lambda doc, _s: doc.set("a", {"x": "2"}))
    st = path.stat()
    assert (st.st_uid, st.st_gid) == (65534, 65534) and path.read_text() == "[a]\nx = 2\n"


@needs_setpriv
def test_an_unreadable_file_is_an_error_not_an_empty_file(tmp_path: Path) -> None:
    """botocore reads an unreadable file as empty: every profile silently vanishes. We say why."""
    config, creds = tmp_path / "config", tmp_path / "credentials"
    config.write_text("[profile visible]\nregion = us-east-1\n")
    creds.write_text(f"[hidden]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n")
    creds.chmod(0o000)
    out = run_child("read", {"path": str(creds), "config": str(config), "credentials": str(creds)}, prefix=NO_DAC)
    assert out["botocore"] == ["visible"]  # what we guard against: no word about the hidden profile
    assert out["error"] == f"{creds}: cannot be read (permission denied); botocore would ignore it"
    assert out["manager"] == ["visible"] and out["file_errors"] == [out["error"]]


@needs_setpriv
def test_a_read_only_folder_is_a_clear_error_and_nothing_is_written(tmp_path: Path) -> None:
    folder = tmp_path / "aws"
    folder.mkdir()
    path = folder / "credentials"
    path.write_text("[a]\nx = 1\n")
    path.chmod(0o600)
    folder.chmod(0o500)  # the folder's lock can be taken (it needs no write access); no file can be made
    try:
        out = run_child("write", {"path": str(path)}, prefix=NO_DAC)
    finally:
        folder.chmod(0o700)
    assert out["error"] == "WriteError"
    assert "cannot create a temporary file" in out["message"] and "Permission denied" in out["message"]
    assert "left unchanged" in out["message"]
    assert path.read_text() == "[a]\nx = 1\n"
    assert sorted(p.name for p in folder.iterdir()) == ["credentials"]


@pytest.fixture
def user_home() -> Any:
    """A home folder owned by uid 65534 (nobody) that nobody can reach (tmp_path's parents are root's only)."""
    import tempfile

    base = Path(tempfile.mkdtemp(dir="/tmp", prefix="awswidget-user-"))
    try:
        base.chmod(0o755)
        home = base / "home"
        home.mkdir()
        os.chown(home, NOBODY, NOBODY)
        yield home
    finally:
        shutil.rmtree(base, ignore_errors=True)


NOBODY = 65534
needs_root = pytest.mark.skipif(not IS_ROOT, reason="needs root to write for, and act as, another user")


@needs_root
def test_root_writing_a_users_files_leaves_no_lock_file_and_locks_nobody_out(user_home: Path) -> None:
    """Issue 15 item 10 (and 18): root's write used to leave root-owned 0600 config.lock/credentials.lock."""
    aws = user_home / ".aws"
    config, creds = aws / "config", aws / "credentials"
    m = CredentialsManager(config_file=config, credentials_file=creds, export_env=False, install_default=False)
    m.add_profile("by-root", KEY_ID, SECRET, region="us-east-1")  # root creates ~/.aws for the user
    assert sorted(os.listdir(aws)) == ["config", "credentials"]
    assert {(p.stat().st_uid, p.stat().st_gid) for p in (aws, config, creds)} == {(NOBODY, NOBODY)}
    assert _mode(aws) == 0o700 and _mode(creds) == 0o600

    def users_write() -> list[str]:
        files.update_file(creds, lambda doc, _s: doc.set("by-user", {"aws_access_key_id": KEY_ID}))
        files.update_file(config, lambda doc, _s: doc.set("profile by-user", {"region": "eu-west-1"}))
        return sorted(os.listdir(aws))

    code, out = as_user(NOBODY, users_write)
    assert code == 0, out
    assert out == "['config', 'credentials']"
    m.reload()
    assert m.profiles == ("by-root", "by-user")
    assert {p.stat().st_uid for p in (config, creds)} == {NOBODY}


@needs_root
def test_the_folder_lock_excludes_root_and_the_owner_alike(user_home: Path) -> None:
    aws = user_home / ".aws"
    aws.mkdir(mode=0o700)
    os.chown(aws, NOBODY, NOBODY)
    creds = aws / "credentials"
    files.update_file(creds, lambda doc, _s: doc.set("a", {"x": "1"}))  # warms up every module the child uses
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the user, holding the lock for a while
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        with files.locked([str(creds)]):
            os.write(ready_w, b"x")
            time.sleep(1.0)
        os._exit(0)
    os.close(ready_w)
    assert os.read(ready_r, 1) == b"x"
    with pytest.raises(WriteError, match="another program holds the lock"):
        files.update_file(creds, lambda doc, _s: doc.set("a", {"x": "2"}), lock_timeout=0.2)
    files.update_file(creds, lambda doc, _s: doc.set("a", {"x": "3"}), lock_timeout=30)  # waits for the user
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert creds.read_text() == "[a]\nx = 3\n" and sorted(os.listdir(aws)) == ["credentials"]


def test_a_read_only_credentials_file_is_refused_not_replaced(aws_env: Any) -> None:
    """Issue 15 item 11: chmod 400 means "don't write"; the rename used to replace it, keeping 0400."""
    aws_env.write(credentials=f"[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n")
    aws_env.credentials.chmod(0o400)
    before = aws_env.credentials.read_bytes()
    inode = aws_env.credentials.stat().st_ino
    m = CredentialsManager(export_env=False, install_default=False)
    with pytest.raises(WriteError, match=rf"{aws_env.credentials}: it is read-only \(mode 0400\).*chmod u\+w"):
        m.add_profile("dev", KEY_ID, SECRET)
    with pytest.raises(WriteError, match="read-only"):
        m.remove_profile("default")
    assert aws_env.credentials.read_bytes() == before and aws_env.credentials.stat().st_ino == inode
    assert sorted(os.listdir(aws_env.credentials.parent)) == ["credentials"]
