"""Issue 19, in the kernel: keys run in a cell show in the picker, and "Move into a profile" saves them safely.

A real IPython InteractiveShell runs the cells (no frontend); the picker and the form are driven as a user would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell
from ipywidgets.embed import dependency_state

from awswidget import CredentialsManager
from awswidget.widgets import ProfilePicker

from .conftest import AwsFiles
from .scan_support import key_id, secret


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    InteractiveShell.clear_instance()
    ip = InteractiveShell.instance()
    yield ip
    InteractiveShell.clear_instance()


def test_keys_run_in_a_cell_move_into_a_profile(aws_env: AwsFiles, shell: InteractiveShell) -> None:
    aws_env.write(credentials="[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = " + "x" * 40 + "\n")
    key, value = key_id(), secret()
    m = CredentialsManager()
    picker = ProfilePicker(m, verify=False)
    try:
        notice = picker.keys_notice
        assert notice.layout.display == "none"  # nothing run yet
        shell.run_cell(f'import boto3\ns3 = boto3.client("s3", aws_access_key_id="{key}", aws_secret_access_key="{value}")', store_history=True)  # as a kernel runs a cell
        count = shell.execution_count - 1
        assert notice.layout.display is None and f"In [{count}]" in notice.message.value
        assert key[-4:] in notice.message.value and key not in notice.message.value  # masked
        notice.move_button.click()
        form = picker.form
        assert form is not None and form in picker.children[-1].children  # the form opened, filled in
        assert form.access_key_id.value == key and form.secret_access_key.value == ""  # the secret is held, not shown
        assert form.profile_name.value == "from-notebook"
        form.verify_checkbox.value = False  # made-up keys: nothing to verify them against here
        saved = form.submit()
        assert saved is not None and saved.name == "from-notebook"
        assert f"aws_secret_access_key = {value}" in aws_env.credentials.read_text()
        assert "from-notebook" in notice.message.value
        text = notice.instructions.value
        assert f"Replace In [{count}] with:" in text and "from-notebook" in text and value not in text and key not in text
        state = json.dumps(dependency_state([picker], drop_defaults=False))
        assert value not in state  # never in the widget state, at any step
    finally:
        picker.close()


def test_no_kernel_no_notice(aws_env: AwsFiles) -> None:
    InteractiveShell.clear_instance()
    picker = ProfilePicker(CredentialsManager(), verify=False)
    try:
        assert picker.keys_notice.layout.display == "none" and picker.keys_notice.scan is None
    finally:
        picker.close()


def test_instructions_never_show_the_keys_of_a_cell_that_cannot_be_rewritten(aws_env: AwsFiles, shell: InteractiveShell) -> None:
    """The reviewer's first find: a cell holding keys in a dict was shown back verbatim, secret and all."""
    aws_env.write(credentials="[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = " + "x" * 40 + "\n")
    key, value = key_id(), secret()
    picker = ProfilePicker(CredentialsManager(), verify=False)
    try:
        shell.run_cell(f'creds = {{"key": "{key}", "aws_secret_access_key": "{value}"}}', store_history=True)
        picker.keys_notice.move_button.click()
        assert picker.form is not None
        picker.form.verify_checkbox.value = False
        assert picker.form.submit() is not None
        text = picker.keys_notice.instructions.value
        assert "still names the keys" in text and value not in text and key not in text
        assert value not in json.dumps(dependency_state([picker], drop_defaults=False))
    finally:
        picker.close()
