"""Every value botocore can read from the shared files is handled (issue 15, item 9).

botocore reads ``key =`` followed by indented ``a = b`` lines as a nested block (a dict), and an empty
value as ``""``. Where one value belongs (region, output, endpoint_url, role_arn, ...), a dict used to
crash ``CredentialsManager()`` (``'dict' object has no attribute 'strip'``), and with it
``default_manager()``, every widget and ``%aws``. The table builds a real manager on real files for
every ProfileInfo field × value shape × file × profile, and drives what a user does next.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from ipywidgets import Widget

from awswidget import CredentialsManager, ProfilePicker
from awswidget.profiles import ProfileInfo

from .conftest import AwsFiles

# ProfileInfo field -> the file key it is read from.
FIELDS = {
    "region": "region",
    "output": "output",
    "endpoint_url": "endpoint_url",
    "access_key_id": "aws_access_key_id",
    "role_arn": "role_arn",
    "source_profile": "source_profile",
    "credential_source": "credential_source",
    "mfa_serial": "mfa_serial",
    "sso_session": "sso_session",
    "sso_start_url": "sso_start_url",
    "sso_account_id": "sso_account_id",
    "sso_role_name": "sso_role_name",
}
# Keys that decide a profile's kind or hold a secret: the same shapes must not crash through them either.
OTHER_KEYS = ["aws_secret_access_key", "aws_session_token", "credential_process", "web_identity_token_file",
              "login_session", "sso_region", "duration_seconds"]
SHAPES = {
    "text": " x-value",
    "nested block": "\n  a = b\n  region = us-east-1",
    "empty": "",
}
# Where the setting sits: the default profile or a named one, in either file.
PLACES = {
    "config default": ("config", "[default]"),
    "config profile": ("config", "[profile p]"),
    "credentials default": ("credentials", "[default]"),
    "credentials profile": ("credentials", "[p]"),
}


@pytest.fixture(autouse=True)
def _close_widgets() -> Iterator[None]:
    yield
    Widget.close_all()


def _write(aws_env: AwsFiles, place: str, key: str, value: str) -> str:
    file, header = PLACES[place]
    # A second, ordinary profile: the bad one must not take it down.
    body = f"{header}\n{key} ={value}\n"
    if file == "config":
        aws_env.write(config=body + "\n[profile other]\nregion = eu-west-1\n", credentials="")
    else:
        aws_env.write(config="[profile other]\nregion = eu-west-1\n", credentials=body)
    return "default" if header == "[default]" else "p"


def _check_info(info: ProfileInfo) -> None:
    for field in dataclasses.fields(ProfileInfo):
        value = getattr(info, field.name)
        if field.name in ("sources", "settings"):
            continue
        assert value is None or (isinstance(value, str) and value), (field.name, value)
    for key, shown, source in info.settings:
        assert isinstance(key, str) and isinstance(shown, str) and isinstance(source, str)


def _cases() -> list[object]:
    cases: list[object] = []
    for key in list(FIELDS.values()) + OTHER_KEYS:
        for shape in SHAPES:
            for place in PLACES:
                cases.append(pytest.param(key, shape, place, id=f"{key}-{shape}-{place}"))
    return cases


@pytest.mark.parametrize(("key", "shape", "place"), _cases())
def test_any_value_of_any_setting_builds_a_working_manager(aws_env: AwsFiles, key: str, shape: str, place: str) -> None:
    name = _write(aws_env, place, key, SHAPES[shape])
    m = CredentialsManager()
    assert name in m.profiles and "other" in m.profiles
    for profile in m.profiles:
        _check_info(m.profile_info(profile))
    m.profile = name
    assert m.profile == name
    assert m.region is None or isinstance(m.region, str)
    rows = m.describe()
    assert all(isinstance(cell, str) for row in rows for cell in row)
    shown = {k: v for k, v, _ in rows}
    if shape == "nested block" and key in FIELDS.values():
        # Listed, so the user sees what the file holds, but never taken as the value.
        field = next(f for f, k in FIELDS.items() if k == key)
        assert getattr(m.profile_info(name), field) is None
        if key != "region":
            assert key in shown
    picker = ProfilePicker(m, verify=False)
    assert picker.profile_select.value == name
    m.profile = "other"
    assert m.region == "eu-west-1"


def test_a_nested_region_is_listed_and_ignored_and_the_message_says_so(aws_env: AwsFiles) -> None:
    aws_env.write(config="[default]\nregion =\n  a = b\noutput = json\n")
    m = CredentialsManager()
    info = m.profile_info("default")
    assert info.region is None and info.output == "json"
    assert ("region", "a=b", str(aws_env.config)) in info.settings
