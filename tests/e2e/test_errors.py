"""Scenario 5: a wrong secret is refused in the page, next to its field, and nothing is written."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from awswidget.demo import Sandbox

from .aws import new_key, signatures_checked
from .conftest import screenshot
from .kernel import KernelProbe
from .onboarding import ONBOARDING, fill_and_save, open_form
from .pages import LabPage, expect
from .servers import LabServer

pytestmark = pytest.mark.e2e


def test_wrong_secret_is_refused_and_nothing_is_written(
    lab: LabServer, sandbox: Sandbox, lab_page: LabPage, page: Any
) -> None:
    form = open_form(lab_page)
    key = new_key(sandbox)
    wrong = key.secret_access_key[::-1]  # well-formed, so only AWS can tell it is wrong
    assert wrong != key.secret_access_key
    name = f"typo-{uuid.uuid4().hex[:6]}"
    files = (sandbox.config_file, sandbox.credentials_file)
    before = [path.read_bytes() for path in files]

    with signatures_checked(sandbox):
        fill_and_save(form, name, key, wrong, "eu-central-1")
        expect(form.locator(".awswidget-secret-access-key-message")).to_have_text(
            "The secret access key is wrong for this access key ID."
        )
    expect(form.locator(".awswidget-message")).to_contain_text("Not saved")
    expect(form.locator(".awswidget-secret-access-key input")).to_have_value("")
    expect(form.locator(".awswidget-access-key-id input")).to_have_value(key.access_key_id)  # kept, to retry
    picker = lab_page.panel.locator(".awswidget-picker .awswidget-profile-select select")
    expect(picker.locator(f'option[value^="{name}"]')).to_have_count(0)
    screenshot(page, "errors-wrong-secret", focus=form)

    assert [path.read_bytes() for path in files] == before
    with KernelProbe(lab.kernel_file(ONBOARDING)) as kernel:
        assert name not in kernel.state()["profiles"]
