"""ProfileStore: a profile spans two files, and its writes are all or nothing.

The second file's failure is real: a read-only file (refused, item 11 of issue
15), RLIMIT_FSIZE in a child process (the write fails with EFBIG, as on a full
disk). After a failure both files are exactly as before and a retry succeeds.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import botocore.configloader
import pytest

from awswidget import files
from awswidget.errors import AwsWidgetError, ProfileExistsError, ProfileNotFoundError, ValidationError, WriteError
from awswidget.files import SharedFiles
from awswidget.manager import CredentialsManager
from awswidget.store import PartialWriteError, ProfileStore, RolledBackError
from tests.helpers import KEY_ID, SECRET, key_id, run_child

CONFIG = "# mine\n[default]\nregion = us-east-1\n\n[profile keep]\nregion = eu-west-1\ns3 =\n    max_concurrent_requests = 4\n"
CREDENTIALS = f"# keys\n[keep]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"


@pytest.fixture
def store(aws_env: Any) -> ProfileStore:
    aws_env.write(config=CONFIG, credentials=CREDENTIALS)
    return ProfileStore(SharedFiles())


def _bytes(aws_env: Any) -> tuple[bytes, bytes]:
    return aws_env.config.read_bytes(), aws_env.credentials.read_bytes()


def test_save_keys_writes_like_aws_configure(store: ProfileStore, aws_env: Any) -> None:
    store.save_keys("dev", access_key_id=key_id(1), secret_access_key=SECRET, session_token="tok" * 10, settings={"region": "sa-east-1"})
    store.save_keys("default", access_key_id=key_id(2), secret_access_key=SECRET, settings={"output": "json"}, overwrite=True)
    assert aws_env.config.read_text() == CONFIG.replace("region = us-east-1\n", "region = us-east-1\noutput = json\n") + "\n[profile dev]\nregion = sa-east-1\n"
    creds = botocore.configloader.raw_config_parse(str(aws_env.credentials))
    assert creds["dev"] == {"aws_access_key_id": key_id(1), "aws_secret_access_key": SECRET, "aws_session_token": "tok" * 10}
    assert creds["default"]["aws_access_key_id"] == key_id(2)


def test_an_existing_profile_needs_overwrite_but_the_same_save_again_is_no_conflict(store: ProfileStore, aws_env: Any) -> None:
    store.save_keys("dev", access_key_id=key_id(1), secret_access_key=SECRET, settings={"region": "sa-east-1"})
    before = _bytes(aws_env)
    store.save_keys("dev", access_key_id=key_id(1), secret_access_key=SECRET, settings={"region": "sa-east-1"})  # a retry
    with pytest.raises(ProfileExistsError, match="Profile 'dev' already exists"):
        store.save_keys("dev", access_key_id=key_id(2), secret_access_key=SECRET)
    with pytest.raises(ProfileExistsError):
        store.save_keys("keep", access_key_id=key_id(3), secret_access_key=SECRET)  # exists in both files
    assert _bytes(aws_env) == before


def test_a_read_only_config_stops_the_write_before_any_key_is_written(store: ProfileStore, aws_env: Any) -> None:
    """Issue 15 item 2: the keys used to stay in credentials when the config write failed; a retry then refused."""
    aws_env.config.chmod(0o400)
    before = _bytes(aws_env)
    with pytest.raises(WriteError, match=r"config: it is read-only \(mode 0400\)") as err:
        store.save_keys("dev", access_key_id=key_id(1), secret_access_key=SECRET, settings={"region": "sa-east-1"})
    assert "left unchanged" in str(err.value) and SECRET not in str(err.value)
    assert _bytes(aws_env) == before and files.temp_files(str(aws_env.credentials)) == []
    aws_env.config.chmod(0o600)
    store.save_keys("dev", access_key_id=key_id(1), secret_access_key=SECRET, settings={"region": "sa-east-1"})
    assert "dev" in botocore.configloader.raw_config_parse(str(aws_env.credentials))


def test_a_failing_credentials_file_puts_the_config_back_byte_for_byte(store: ProfileStore, aws_env: Any) -> None:
    aws_env.credentials.chmod(0o400)  # item 11: a read-only credentials file is never replaced
    before = _bytes(aws_env)
    with pytest.raises(RolledBackError) as err:
        store.save_keys("dev", access_key_id=key_id(1), secret_access_key=SECRET, settings={"region": "sa-east-1"})
    message = str(err.value)
    assert f"Could not write {aws_env.credentials}: it is read-only (mode 0400)" in message
    assert f"Nothing was saved: {aws_env.config} was put back exactly as it was." in message
    assert _bytes(aws_env) == before and os.stat(aws_env.credentials).st_mode & 0o777 == 0o400
    aws_env.credentials.chmod(0o600)
    store.save_keys("dev", access_key_id=key_id(1), secret_access_key=SECRET, settings={"region": "sa-east-1"})


def test_a_created_config_is_removed_again_when_the_keys_cannot_be_written(aws_env: Any) -> None:
    aws_env.write(credentials=CREDENTIALS)
    aws_env.credentials.chmod(0o400)
    with pytest.raises(RolledBackError):
        ProfileStore(SharedFiles()).save_keys("dev", access_key_id=key_id(1), secret_access_key=SECRET, settings={"region": "sa-east-1"})
    assert not aws_env.config.exists() and aws_env.credentials.read_text() == CREDENTIALS


def test_a_full_disk_on_the_second_file_rolls_back_and_a_retry_succeeds(tmp_path: Path) -> None:
    """RLIMIT_FSIZE (EFBIG) in a child: the small config write passes, the large credentials file cannot grow."""
    config, creds = tmp_path / "config", tmp_path / "credentials"
    config.write_text(CONFIG)
    creds.write_text(CREDENTIALS + "".join(f"\n[bulk{n}]\naws_access_key_id = {key_id(n)}\n" for n in range(200)))
    before = (config.read_bytes(), creds.read_bytes())
    args = {"op": "save_keys", "config": str(config), "credentials": str(creds), "name": "dev", "key_id": KEY_ID, "secret": SECRET}
    out = run_child("store", args | {"settings": {"region": "sa-east-1"}, "fsize": len(before[1]) + 16})
    assert out["error"] == "RolledBackError" and "File too large" in out["message"], out
    assert f"{config} was put back exactly as it was" in out["message"]
    assert (config.read_bytes(), creds.read_bytes()) == before and files.temp_files(str(creds)) == []
    assert run_child("store", args | {"settings": {"region": "sa-east-1"}}) == {"error": None}
    assert botocore.configloader.raw_config_parse(str(creds))["dev"]["aws_access_key_id"] == KEY_ID


def test_when_the_first_file_cannot_be_put_back_the_error_says_which_holds_what(tmp_path: Path) -> None:
    """remove(): the config shrinks (fits the limit), the read-only credentials refuse, and the config's
    original, larger bytes no longer fit: the message must not claim that nothing changed."""
    config, creds = tmp_path / "config", tmp_path / "credentials"
    config.write_text(CONFIG + "\n[profile gone]\nregion = ap-south-1\n")
    creds.write_text(CREDENTIALS + f"\n[gone]\naws_access_key_id = {KEY_ID}\n")
    creds.chmod(0o400)
    out = run_child("store", {"op": "remove", "config": str(config), "credentials": str(creds), "name": "gone", "fsize": len(CONFIG) + 8})
    assert out["error"] == "PartialWriteError", out
    assert f"{config} already holds the new values and could not be put back" in out["message"]
    assert "profile gone" not in config.read_text() and "[gone]" in creds.read_text()
    creds.chmod(0o600)
    assert run_child("store", {"op": "remove", "config": str(config), "credentials": str(creds), "name": "gone"}) == {"error": None}
    assert config.read_text() == CONFIG and creds.read_text() == CREDENTIALS
    assert issubclass(PartialWriteError, WriteError)


def test_remove_takes_both_sections_and_rolls_back_as_one(store: ProfileStore, aws_env: Any) -> None:
    before = _bytes(aws_env)
    aws_env.credentials.chmod(0o400)
    with pytest.raises(RolledBackError):
        store.remove("keep")
    assert _bytes(aws_env) == before  # the nested s3 block and the comment came back exactly
    aws_env.credentials.chmod(0o600)
    store.remove("keep")
    assert aws_env.config.read_text() == "# mine\n[default]\nregion = us-east-1\n"
    assert aws_env.credentials.read_text() == "# keys\n"
    with pytest.raises(ProfileNotFoundError, match="No profile named 'keep'"):
        store.remove("keep")


def test_an_unparseable_config_stops_a_settings_write_before_anything(store: ProfileStore, aws_env: Any) -> None:
    aws_env.config.write_text("[default]\nregion = us-east-1\nthis is not ini\n")
    before = _bytes(aws_env)
    with pytest.raises(AwsWidgetError, match="line 3"):
        store.save_keys("dev", access_key_id=key_id(1), secret_access_key=SECRET, settings={"region": "sa-east-1"})
    assert _bytes(aws_env) == before
    store.save_keys("dev", access_key_id=key_id(1), secret_access_key=SECRET)  # keys only: the config is not needed
    assert aws_env.config.read_bytes() == before[0]


def test_set_settings_edits_one_profiles_config_keys(store: ProfileStore, aws_env: Any) -> None:
    store.set_settings("keep", {"region": "ap-south-1", "output": "table"})
    store.set_settings("keep", {"output": None})
    conf = botocore.configloader.raw_config_parse(str(aws_env.config))
    assert conf["profile keep"] == {"region": "ap-south-1", "s3": {"max_concurrent_requests": "4"}}
    with pytest.raises(ProfileNotFoundError):
        store.set_settings("nope", {"region": "us-east-1"})
    with pytest.raises(ValidationError, match="belongs to the credentials file"):
        store.set_settings("keep", {"aws_secret_access_key": "x"})


def test_add_profile_reports_a_profile_removed_by_another_program_meanwhile(store: ProfileStore, aws_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 15 item 3: another program removed it between the write and the read back (was a bare KeyError)."""
    m = CredentialsManager(export_env=False, install_default=False)
    real_save = ProfileStore.save_keys

    def save_then_someone_removes(self: ProfileStore, name: str, **kwargs: Any) -> None:
        real_save(self, name, **kwargs)
        ProfileStore(SharedFiles()).remove(name)  # another program's removal

    monkeypatch.setattr(ProfileStore, "save_keys", save_then_someone_removes)
    with pytest.raises(ProfileNotFoundError, match="removed by another program"):
        m.add_profile("dev", key_id(1), SECRET, region="sa-east-1", select=True)
    assert "dev" not in m.profiles and m.profile != "dev"


def test_add_profile_with_a_config_that_cannot_grow_writes_no_key(tmp_path: Path) -> None:
    """Through the manager, in a child with RLIMIT_FSIZE: the config write fails, the keys must not stay behind."""
    config, creds = tmp_path / "config", tmp_path / "credentials"
    config.write_text(CONFIG + "".join(f"\n[profile bulk{n}]\nregion = us-east-2\n" for n in range(200)))
    creds.write_text(CREDENTIALS)
    before = (config.read_bytes(), creds.read_bytes())
    args = {"config": str(config), "credentials": str(creds), "key_id": KEY_ID, "secret": SECRET, "region": "sa-east-1"}
    out = run_child("add_profile", args | {"fsize": len(before[0]) + 8})
    assert out["error"] == "WriteError" and "File too large" in out["message"] and "left unchanged" in out["message"], out
    assert (config.read_bytes(), creds.read_bytes()) == before
    assert "dev" in run_child("add_profile", args)["profiles"]  # the retry is not refused as "already exists"
