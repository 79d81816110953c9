"""Scenario 4: the connect notebook as a Voila app; picking a profile drives its kernel the same way."""

from __future__ import annotations

from typing import Any

import pytest

from awswidget.demo import ACCOUNTS

from .conftest import screenshot
from .kernel import KernelProbe
from .pages import RUN, choose, expect
from .servers import VoilaServer

pytestmark = pytest.mark.e2e


def test_pick_a_profile_in_voila(voila: VoilaServer, page: Any) -> None:
    kernels_before = set(voila.kernel_files())
    page.goto(voila.url("voila/render/01-connect.ipynb"), timeout=RUN)
    picker = page.locator(".awswidget-picker").first  # 01-connect also shows connect()'s picker
    select = picker.locator(".awswidget-profile-select select")
    status = picker.locator(".awswidget-status")
    expect(status).to_contain_text(f"account {ACCOUNTS['analytics']}", timeout=RUN)
    # Voila streams cells as they run: wait for the last one's output (the settings table), so that
    # our switch cannot race the notebook's own checks of the starting profile.
    expect(page.locator("pre", has_text="credentials file")).to_be_visible(timeout=RUN)
    (connection,) = set(voila.kernel_files()) - kernels_before  # this page's kernel

    with KernelProbe(connection) as kernel:
        assert kernel.state()["AWS_PROFILE"] == "analyst"
        choose(select, "tools-local")
        expect(status).to_contain_text(f"account {ACCOUNTS['tools']}")
        state = kernel.state()
    assert state["profile"] == state["boto3_profile"] == state["AWS_PROFILE"] == "tools-local"
    assert state["account"] == state["sts_account"] == ACCOUNTS["tools"]
    screenshot(page, "pick-voila")
