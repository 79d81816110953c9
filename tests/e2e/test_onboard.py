"""Scenario 2: adding a profile through the setup form in the page."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from awswidget.demo import ACCOUNTS, Sandbox

from .aws import mode, new_key, read_ini
from .conftest import screenshot
from .kernel import KernelProbe
from .onboarding import ONBOARDING, fill_and_save, open_form
from .pages import LabPage, expect, option_value
from .servers import LabServer

pytestmark = pytest.mark.e2e


def test_onboard_a_profile_in_jupyterlab(lab: LabServer, sandbox: Sandbox, lab_page: LabPage, page: Any) -> None:
    form = open_form(lab_page)
    key = new_key(sandbox)
    name = f"onboard-{uuid.uuid4().hex[:6]}"

    fill_and_save(form, name, key, key.secret_access_key, "eu-central-1")

    expect(form.locator(".awswidget-message")).to_contain_text(f"Saved profile '{name}'")
    expect(form.locator(".awswidget-message")).to_contain_text(f"account {ACCOUNTS['analytics']}")
    expect(form.locator(".awswidget-secret-access-key input")).to_have_value("")  # the secret left the page
    picker = lab_page.panel.locator(".awswidget-picker")
    option_value(picker.locator(".awswidget-profile-select select"), name)  # listed
    expect(picker.locator(".awswidget-profile-select select")).to_have_value(name)  # and active
    expect(picker.locator(".awswidget-status")).to_contain_text(f"{name} · eu-central-1")
    screenshot(page, "onboard-jupyterlab", focus=form)

    credentials, config = read_ini(sandbox.credentials_file), read_ini(sandbox.config_file)
    assert dict(credentials[name]) == {
        "aws_access_key_id": key.access_key_id,
        "aws_secret_access_key": key.secret_access_key,
    }
    assert dict(config[f"profile {name}"]) == {"region": "eu-central-1"}
    assert mode(sandbox.credentials_file) == mode(sandbox.config_file) == 0o600
    with KernelProbe(lab.kernel_file(ONBOARDING)) as kernel:
        state = kernel.state()
    assert state["profile"] == state["boto3_profile"] == state["AWS_PROFILE"] == name
    assert state["sts_account"] == ACCOUNTS["analytics"] and state["region"] == "eu-central-1"
