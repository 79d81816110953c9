"""What ProfileInfo.settings, describe() and the picker's Details show of a profile: no secret (issue 15, item 5).

``credential_process`` is shown as its program alone (``tool (arguments hidden)``): its arguments
may carry a token, and the repair diff already masks the whole value. Siblings: any key named like a
secret or a token is hidden, a value shaped like a key or a token is masked under any key name, and
nested blocks are shown entry by entry under the same rules.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ipywidgets import Widget

from awswidget import CredentialsManager, ProfilePicker
from awswidget.profiles import build_profiles

from .conftest import AwsFiles
from .leaks import leaks, new_secret, new_token, widget_state_texts


@pytest.fixture(autouse=True)
def _close_widgets() -> Iterator[None]:
    yield
    Widget.close_all()


def _shown(**values: object) -> dict[str, str]:
    info = build_profiles({"default": values}, {}, "config", "credentials")["default"]
    return {key: shown for key, shown, _ in info.settings}


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ("tool --token s3cr3t-value", "tool (arguments hidden)"),
        ("/opt/bin/get-creds", "/opt/bin/get-creds"),
        ('"/opt/my tools/creds" --profile x', "/opt/my tools/creds (arguments hidden)"),
        ("tool 'unbalanced", "(hidden)"),  # not a command botocore could run: nothing of it is shown
        ("   ", ""),
    ],
)
def test_credential_process_shows_its_program_only(command: str, shown: str) -> None:
    assert _shown(credential_process=command)["credential_process"] == shown


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("aws_secret_access_key", "x", "(hidden)"),
        ("aws_session_token", "x", "(hidden)"),
        ("aws_security_token", "x", "(hidden)"),
        ("github_token", "x", "(hidden)"),
        ("db_password", "x", "(hidden)"),
        ("Secret_Thing", "x", "(hidden)"),
        ("web_identity_token_file", "/var/run/token", "/var/run/token"),  # a path, not a token
        ("aws_access_key_id", "AKIAIOSFODNN7EXAMPLE", "****************MPLE"),
        ("note", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "****************EKEY"),  # key-shaped: masked anywhere
        ("role_arn", "arn:aws:iam::123456789012:role/AVeryLongRoleNameThatIsNotASecretAtAll", None),
        ("region", "eu-west-1", "eu-west-1"),
    ],
)
def test_secret_keys_hidden_key_shaped_values_masked(key: str, value: str, shown: str | None) -> None:
    assert _shown(**{key: value})[key] == (value if shown is None else shown)


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("s3", {"addressing_style": "path", "session_token": "t0ken-in-a-block"}, "addressing_style=path, session_token=(hidden)"),
        ("aws_access_key_id", {"a": "AKIAIOSFODNN7EXAMPLE"}, "(nested block)"),
        ("credential_process", {"a": "tool --token x"}, "(nested block)"),
        ("region", {}, "(nested block)"),
        ("aws_session_token", {"a": "b"}, "(hidden)"),
    ],
)
def test_nested_blocks_are_shown_under_the_same_rules(key: str, value: dict[str, str], shown: str) -> None:
    assert _shown(**{key: value})[key] == shown


def test_a_token_in_credential_process_is_in_no_view_of_the_profile(aws_env: AwsFiles) -> None:
    token, secret = new_token(), new_secret()
    aws_env.write(
        f"[default]\nregion = eu-west-1\ncredential_process = /usr/local/bin/vault-creds --token {token} --secret={secret}\n"
        f"[profile other]\nregion = eu-west-1\ncredential_process = sh -c 'TOKEN={token} tool'\n"
    )
    m = CredentialsManager()
    picker = ProfilePicker(m, verify=False)
    picker.details.selected_index = 0  # the Details table renders every setting
    places = {
        "settings": repr(m.profile_info("default").settings) + repr(m.profile_info("other").settings),
        "describe": repr(m.describe()),
        "details": picker._details_body.value,
        **widget_state_texts(picker, notebook=False),
    }
    assert "/usr/local/bin/vault-creds (arguments hidden)" in places["details"]
    assert leaks([token, secret], places) == []
    m.profile = "other"
    assert dict((k, v) for k, v, _ in m.describe())["credential_process"] == "sh (arguments hidden)"
