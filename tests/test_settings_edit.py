"""Editing a profile's settings: manager.edit_profile through the store's writer, and the editor in the picker's Details.

Text in, text out: every other byte of both files survives an edit (comments, other sections, line endings).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from awswidget import _session
from awswidget.errors import ProfileNotFoundError, ValidationError
from awswidget.manager import CredentialsManager
from awswidget.roles import EDITABLE
from awswidget.widgets.picker import ProfilePicker
from awswidget.widgets.settings_edit import SettingsEditor

from .conftest import AuthAws, AwsFiles

ROLE = "arn:aws:iam::123456789012:role/deploy"
OTHER = "arn:aws:iam::123456789012:role/admin"
CONFIG = """\
# team settings -- keep me
[default]
region = eu-west-1  ; inline note

[profile ops]
role_arn = {role}
source_profile = default
mfa_serial = arn:aws:iam::123456789012:mfa/alice
duration_seconds = 3600
# why ops exists
[profile other]\r
output = text\r
"""
CREDS = "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = " + "s" * 40 + "\n"


@pytest.fixture
def files(aws_env: AwsFiles) -> AwsFiles:
    return aws_env.write(config=CONFIG.format(role=ROLE), credentials=CREDS)


@pytest.fixture(autouse=True)
def fresh_role_cache() -> Iterator[None]:
    _session.role_cache().clear()
    yield
    _session.role_cache().clear()


@pytest.mark.parametrize(
    ("changes", "before", "after"),
    [
        ({"region": "us-west-2"}, "duration_seconds = 3600\n", "duration_seconds = 3600\nregion = us-west-2\n"),
        ({"duration_seconds": "7200"}, "duration_seconds = 3600\n", "duration_seconds = 7200\n"),
        ({"mfa_serial": None}, "mfa_serial = arn:aws:iam::123456789012:mfa/alice\n", ""),
        ({"mfa_serial": ""}, "mfa_serial = arn:aws:iam::123456789012:mfa/alice\n", ""),
        ({"role_arn": OTHER}, f"role_arn = {ROLE}\n", f"role_arn = {OTHER}\n"),
        ({"source_profile": None, "credential_source": "Environment"}, "source_profile = default\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\nduration_seconds = 3600\n",
         "mfa_serial = arn:aws:iam::123456789012:mfa/alice\nduration_seconds = 3600\ncredential_source = Environment\n"),
        ({"endpoint_url": "http://127.0.0.1:5000", "output": "json"}, "duration_seconds = 3600\n",
         "duration_seconds = 3600\nendpoint_url = http://127.0.0.1:5000\noutput = json\n"),
    ],
)
def test_an_edit_changes_its_lines_and_no_other_byte(files: AwsFiles, changes: dict[str, Any], before: str, after: str) -> None:
    original = files.config.read_bytes()
    creds = files.credentials.read_bytes()
    m = CredentialsManager()
    m.edit_profile("ops", **changes)
    expected = original.replace(before.encode(), after.encode(), 1)
    assert files.config.read_bytes() == expected
    assert files.credentials.read_bytes() == creds


def test_a_key_profile_gets_a_config_section(files: AwsFiles) -> None:
    """A profile only in the credentials file: its region is a config-file setting, as ``aws configure set region``."""
    files.credentials.write_text(CREDS + "[solo]\naws_access_key_id = AKIAIOSFODNN7EXAMPL2\naws_secret_access_key = " + "t" * 40 + "\n")
    original, creds = files.config.read_bytes(), files.credentials.read_bytes()
    m = CredentialsManager()
    m.edit_profile("solo", region="ap-southeast-2")
    # the file layer ends the last section as it ended, and writes the new one in the file's dominant line ending
    assert files.config.read_bytes() == original + b"\r\n[profile solo]\nregion = ap-southeast-2\n"
    assert files.credentials.read_bytes() == creds
    assert m.profile_info("solo").region == "ap-southeast-2"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"region": "mars-1"}, "region"),
        ({"output": "xml"}, "output"),
        ({"endpoint_url": "127.0.0.1"}, "endpoint_url"),
        ({"role_arn": "arn:aws:iam::1:role/x"}, "role_arn"),
        ({"role_arn": None}, "role_arn"),  # the role settings would be left meaning nothing
        ({"credential_source": "Environment"}, "source_profile"),  # both sources
        ({"source_profile": None}, "source_profile"),  # none
        ({"source_profile": "ops"}, "source_profile"),  # itself
        ({"source_profile": "ghost"}, "source_profile"),
        ({"duration_seconds": "60"}, "duration_seconds"),
        ({"role_session_name": "a b"}, "role_session_name"),
        ({"aws_secret_access_key": "x"}, "aws_secret_access_key"),  # never through here
        ({"sso_session": "corp"}, "sso_session"),
    ],
)
def test_bad_edits_name_the_field_and_change_nothing(files: AwsFiles, changes: dict[str, Any], field: str) -> None:
    before = files.config.read_bytes(), files.credentials.read_bytes()
    m = CredentialsManager()
    with pytest.raises(ValidationError) as info:
        m.edit_profile("ops", **changes)
    assert info.value.field == field
    assert (files.config.read_bytes(), files.credentials.read_bytes()) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"source_profile": "no such profile ]["}, "source_profile"),
        ({"source_profile": "other"}, "source_profile"),  # itself, without keys of its own
        ({"credential_source": "Bogus"}, "credential_source"),
        ({"source_profile": "default", "credential_source": "Environment"}, "source_profile"),
    ],
)
def test_a_plain_profile_s_sources_are_checked_too(files: AwsFiles, changes: dict[str, Any], field: str) -> None:
    """Without role_arn, source_profile and credential_source were written unchecked."""
    before = files.config.read_bytes(), files.credentials.read_bytes()
    with pytest.raises(ValidationError) as info:
        CredentialsManager().edit_profile("other", **changes)
    assert info.value.field == field
    assert (files.config.read_bytes(), files.credentials.read_bytes()) == before


@pytest.mark.parametrize("profile", ["ops", "other"])
@pytest.mark.parametrize("key", EDITABLE)
def test_a_line_break_in_any_setting_is_a_validation_error_naming_it(files: AwsFiles, profile: str, key: str) -> None:
    """It surfaced as the writer's WriteError (source_profile), or as some other sentence (region)."""
    before = files.config.read_bytes(), files.credentials.read_bytes()
    for value in ("default\n[profile evil]", "x\ry", "x\x00y"):
        with pytest.raises(ValidationError) as info:
            CredentialsManager().edit_profile(profile, **{key: value})
        assert info.value.field == key and "line breaks" in info.value.reason, info.value
    assert (files.config.read_bytes(), files.credentials.read_bytes()) == before


def test_an_unknown_profile_is_refused(files: AwsFiles) -> None:
    with pytest.raises(ProfileNotFoundError):
        CredentialsManager().edit_profile("ghost", region="us-east-1")


def test_editing_the_selection_switches_it_to_the_new_settings(files: AwsFiles) -> None:
    m = CredentialsManager(profile="other")
    m.edit_profile("other", region="eu-central-1")
    assert m.region == "eu-central-1" and m.session is not None and m.session.region_name == "eu-central-1"


# ---------------------------------------------------------------------------------- the editor

def test_the_editor_shows_the_selection_and_writes_what_changed(files: AwsFiles) -> None:
    m = CredentialsManager(profile="ops")
    picker = ProfilePicker(m, verify=False)
    assert picker.settings_edit is None  # built when first opened
    picker.details.selected_index = 1
    editor = picker.settings_edit
    assert isinstance(editor, SettingsEditor) and picker.details.children[1].children == (editor,)
    assert editor.inputs["role_arn"].value == ROLE and editor.inputs["duration_seconds"].value == "3600"
    assert editor._rows["role_arn"].layout.display is None
    editor.inputs["region"].value = "us-east-2"
    assert editor.save() is not None and "Saved region" in editor.message.value
    assert "duration_seconds = 3600\nregion = us-east-2\n" in files.config.read_text()
    picker.profile_select.value = "other"  # the editor follows the selection; role fields hidden for a plain profile
    assert editor.profile == "other" and editor.inputs["output"].value == "text"
    assert editor._rows["role_arn"].layout.display == "none"


def test_a_change_of_credentials_is_asked_first(files: AwsFiles) -> None:
    m = CredentialsManager(profile="ops")
    editor = SettingsEditor(m)
    before = files.config.read_bytes()
    editor.inputs["role_arn"].value = OTHER
    assert editor.save() is None and editor.save_confirm.visible
    assert "changes which credentials" in editor.save_confirm.question.value and OTHER in editor.save_confirm.question.value
    editor.save_confirm.no_button.click()
    assert files.config.read_bytes() == before and "Nothing was saved" in editor.message.value
    editor.save()
    editor.save_confirm.yes_button.click()
    assert f"role_arn = {OTHER}\n" in files.config.read_text() and editor.inputs["role_arn"].value == OTHER


def test_the_editor_names_the_field_at_fault(files: AwsFiles) -> None:
    editor = SettingsEditor(CredentialsManager(profile="ops"))
    before = files.config.read_bytes()
    editor.inputs["duration_seconds"].value = "90000"
    assert editor.save() is None and "43200" in editor.field_messages["duration_seconds"].value
    assert "Not saved" in editor.message.value and files.config.read_bytes() == before
    editor.inputs["duration_seconds"].value = "3600"
    assert editor.save() is None and "Nothing to save" in editor.message.value


@pytest.mark.integration
def test_an_edited_role_still_assumes_against_moto(aws_env: AwsFiles, auth_aws: AuthAws) -> None:
    """The edit goes through botocore's own resolution afterwards: the selection now assumes the other role."""
    import json

    iam: Any = auth_aws.client("iam")
    doc = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": auth_aws.key.arn}, "Action": "sts:AssumeRole"}]})
    first = iam.create_role(RoleName="edit-first", AssumeRolePolicyDocument=doc)["Role"]["Arn"]
    second = iam.create_role(RoleName="edit-second", AssumeRolePolicyDocument=doc)["Role"]["Arn"]
    aws_env.write(
        config=f"[profile alice]\nregion = us-east-1\nendpoint_url = {auth_aws.endpoint_url}\n\n"
               f"[profile ops]\nrole_arn = {first}\nsource_profile = alice\nregion = us-east-1\nendpoint_url = {auth_aws.endpoint_url}\n",
        credentials=f"[alice]\naws_access_key_id = {auth_aws.key.access_key_id}\naws_secret_access_key = {auth_aws.key.secret_access_key}\n")
    m = CredentialsManager(profile="ops")
    assert ":assumed-role/edit-first/" in m.verify().arn
    m.edit_profile("ops", role_arn=second, role_session_name="edited")
    assert m.verify().arn.endswith(":assumed-role/edit-second/edited")


@pytest.mark.parametrize("name", ["dev\t", "dev ", "a b"])
def test_editing_a_profile_whose_name_botocore_splits_edits_that_profile_only(aws_env: AwsFiles, name: str) -> None:
    """Review 40, D1/D2: a credentials-only profile named "dev<TAB>" got "[profile dev<TAB>]" in the config file,
    which botocore reads as profile "dev": its role and source were replaced. "a b" got a section botocore
    reads as no profile at all (the edit did nothing). The header is now quoted."""
    import botocore.configloader
    import botocore.session

    dev = {"region": "us-east-1", "output": "json", "role_arn": "arn:aws:iam::123456789012:role/r", "source_profile": "base"}
    aws_env.write(
        config="[profile dev]\n" + "".join(f"{k} = {v}\n" for k, v in dev.items()) + "[profile base]\nregion = us-east-1\n",
        credentials=f"[{name}]\naws_access_key_id = AKIA0000000000000001\naws_secret_access_key = {'S' * 40}\n"
                    "[base]\naws_access_key_id = AKIA0000000000000002\naws_secret_access_key = " + "T" * 40 + "\n",
    )
    m = CredentialsManager()
    assert name in m.profiles
    m.edit_profile(name, region="eu-west-1")
    session = botocore.session.Session()
    assert session.full_config["profiles"][name]["region"] == "eu-west-1"
    assert session.full_config["profiles"]["dev"] == dev
    assert m.profile_info(name).region == "eu-west-1" and m.profile_info("dev").region == "us-east-1"
    assert botocore.configloader.raw_config_parse(str(aws_env.config))  # still a file botocore reads
