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
from pathlib import Path
from typing import Any

import pytest

from awswidget import files
from awswidget.manager import CredentialsManager
from tests.helpers import KEY_ID, SECRET, run_child

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
