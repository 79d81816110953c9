"""Regression tests for what the adversarial review of the redesign found (one behaviour each)."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from ipywidgets.embed import dependency_state

from awswidget import CredentialsManager, SelectionError, ValidationError
from awswidget.keys import not_ready
from awswidget.widgets import CredentialSetupForm, ProfilePicker

from .conftest import AwsFiles
from .scan_support import key_id, secret

KEYS = "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"


@pytest.fixture
def m(aws_env: AwsFiles) -> CredentialsManager:
    aws_env.write(credentials=f"[default]\n{KEYS}[old]\n{KEYS}")
    return CredentialsManager()


def test_a_secret_pasted_as_the_profile_name_is_refused_and_cleared(m: CredentialsManager, aws_env: AwsFiles) -> None:
    value = secret().replace("/", "A").replace("+", "b")  # no "/": a valid profile name otherwise
    form = CredentialSetupForm(m)
    try:
        form.profile_name.value, form.access_key_id.value = value, key_id()
        form.secret_access_key.value = secret()
        form.verify_checkbox.value = False
        assert form.submit() is None
        assert "looks like a secret access key" in form.message.value  # why the field was emptied
        assert form.profile_name.value == "" and value not in json.dumps(dependency_state([form], drop_defaults=False))
        assert value not in m.profiles and value not in aws_env.credentials.read_text()
    finally:
        form.close()
    with pytest.raises(ValidationError, match="looks like a secret"):
        m.add_profile(value, key_id(), secret())


def test_a_key_csv_with_its_columns_swapped_never_puts_the_secret_in_a_text_field(m: CredentialsManager) -> None:
    value, key = secret().replace("/", "c").replace("+", "D"), key_id()  # shaped like a key ID too: only its shape tells
    form = CredentialSetupForm(m)
    try:
        content = f"Access key ID,Secret access key\n{value},{key}\n".encode()
        form.csv_upload.value = ({"name": "keys.csv", "type": "text/csv", "size": len(content), "content": content,
                                  "last_modified": datetime.datetime.now(datetime.timezone.utc)},)
        assert "columns swapped" in form.field_messages["csv"].value
        assert form.access_key_id.value == "" and form._held.secret is None
        assert value not in json.dumps(dependency_state([form], drop_defaults=False))
    finally:
        form.close()


@pytest.mark.parametrize("region", [5, "", "   "])
def test_a_region_that_is_no_name_is_a_clear_refusal(m: CredentialsManager, region: Any) -> None:
    with pytest.raises(SelectionError, match="region") as raised:
        m.region = region
    assert "None'" not in str(raised.value) and m.region is None


@pytest.mark.parametrize("url", ["not a url", "javascript:alert(1)", 5])
def test_an_endpoint_url_is_checked_before_it_is_written(m: CredentialsManager, aws_env: AwsFiles, url: Any) -> None:
    before = aws_env.credentials.read_bytes()
    with pytest.raises(ValidationError, match="https://"):
        m.add_profile("new", key_id(), secret(), endpoint_url=url)
    assert aws_env.credentials.read_bytes() == before and not aws_env.config.exists()


@pytest.mark.parametrize("service", [None, "nosuchservice"])
def test_a_service_botocore_does_not_know_is_a_clear_error(m: CredentialsManager, service: Any) -> None:
    with pytest.raises(ValidationError, match="service"):
        m.client(service)


def test_the_save_hint_names_every_field_to_fill_in() -> None:
    fields = {"profile_name", "access_key_id", "secret_access_key", "session_token"}
    assert not_ready(fields, fields) == "To save, fill in the profile name, access key ID, secret access key and session token."
    assert not_ready({"session_token"}, {"session_token"}) == "To save, fill in the session token."
    assert not_ready({"region"}, set()) == "To save, fix the region."


def test_a_recent_profile_that_left_the_files_leaves_the_list(m: CredentialsManager, aws_env: AwsFiles) -> None:
    m.profile = "old"
    m.profile = "default"
    assert "old" in m.recent
    picker = ProfilePicker(m, verify=False)
    try:
        aws_env.write(credentials=f"[default]\n{KEYS}[new]\n{KEYS}")
        m.reload()
        assert "old" not in m.recent and m.profiles == ("default", "new")
        assert [v for _, v in picker.profile_select.options] == ["default", "new"]  # the picker keeps working
        assert "✖" not in picker.status.value
    finally:
        picker.close()


def test_a_reload_during_another_programs_rewrite_keeps_the_selection(m: CredentialsManager, aws_env: AwsFiles) -> None:
    """Reviewer's find: a reload that saw a file emptied mid-rewrite moved the notebook to 'default' for good."""
    import threading

    m.profile = "old"
    full = aws_env.credentials.read_text()
    aws_env.credentials.write_text("")  # the first half of an in-place rewrite (open(path, "w"))
    timer = threading.Timer(0.1, lambda: aws_env.credentials.write_text(full))  # ...and its second half
    timer.start()
    m.reload()
    timer.join()
    assert m.profile == "old" and "no longer" not in m.message


def test_swapped_fields_never_leave_the_secret_in_a_plain_text_field(m: CredentialsManager, aws_env: AwsFiles) -> None:
    """Issue 15, item 6: the secret pasted as the key ID (and the key ID as the secret) stayed on screen."""
    value, key = secret(), key_id()
    form = CredentialSetupForm(m)
    try:
        form.profile_name.value, form.access_key_id.value, form.secret_access_key.value = "new", value, key
        assert form.submit() is None
        assert form.access_key_id.value == "" and form.secret_access_key.value == ""
        assert value not in json.dumps(dependency_state([form], drop_defaults=False))
        assert "new" not in CredentialsManager(activate=False).profiles
    finally:
        form.close()


@pytest.mark.integration
def test_keys_checked_against_an_endpoint_the_profile_will_not_use_are_not_marked_verified(
    m: CredentialsManager, local_aws: Any
) -> None:
    """Reviewer's find: the form verified against its endpoint_url, did not save it, and still said "verified"."""
    form = CredentialSetupForm(m, endpoint_url=local_aws.endpoint_url)
    try:
        form.profile_name.value, form.access_key_id.value, form.secret_access_key.value = "new", key_id(), secret()
        assert not form.save_endpoint_checkbox.value
        assert form.submit() is not None  # verified against the local endpoint, then saved
        assert (m.profile, m.status, m.identity) == ("new", "unverified", None)  # the profile itself talks to AWS
    finally:
        form.close()
