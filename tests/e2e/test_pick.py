"""Scenario 1: picking a profile in the page switches the kernel's boto3, AWS_PROFILE and identity."""

from __future__ import annotations

from typing import Any

import pytest

from awswidget.demo import ACCOUNTS, Sandbox

from .conftest import screenshot
from .kernel import KernelProbe
from .pages import LabPage, choose, expect
from .servers import LabServer

pytestmark = pytest.mark.e2e

CONNECT = "01-connect.ipynb"


def test_pick_a_profile_in_jupyterlab(lab: LabServer, sandbox: Sandbox, lab_page: LabPage, page: Any) -> None:
    nb = lab_page.open(CONNECT)
    nb.run_all()
    picker = nb.panel.locator(".awswidget-picker").first
    select = picker.locator(".awswidget-profile-select select")
    status = picker.locator(".awswidget-status")
    expect(status).to_contain_text(f"account {ACCOUNTS['analytics']}")  # the sandbox starts as analyst

    with KernelProbe(lab.kernel_file(CONNECT)) as kernel:
        before = kernel.state()
        assert before["profile"] == before["boto3_profile"] == before["AWS_PROFILE"] == "analyst"

        # 1. Choose in the rendered selector.
        choose(select, "tools-local")
        expect(status).to_contain_text(f"account {ACCOUNTS['tools']}")
        after = kernel.state()
        assert after["profile"] == after["boto3_profile"] == after["AWS_PROFILE"] == "tools-local"
        assert after["account"] == after["sts_account"] == ACCOUNTS["tools"]
        assert after["status"] == "verified"

        # 2. Type to filter, then choose among what is left.
        picker.locator(".awswidget-profile-filter input").fill("prod")
        options = select.locator("option")
        expect(options).to_have_count(3)  # prod, prod-admin, and the selection (never dropped)
        choose(select, "prod")
        expect(status).to_contain_text(f"account {ACCOUNTS['production']}")
        screenshot(page, "pick-jupyterlab", focus=picker)
        after = kernel.state()
        assert after["profile"] == after["boto3_profile"] == after["AWS_PROFILE"] == "prod"
        assert after["account"] == after["sts_account"] == ACCOUNTS["production"]
        assert after["AWS_DEFAULT_REGION"] == after["region"] == "eu-west-1"
