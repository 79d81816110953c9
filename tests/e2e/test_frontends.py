"""Other frontends and themes: Notebook 7 drives the kernel too, and every status colour reads in light and dark.

Issue 18: "Add Notebook 7 to the browser suite (pick a profile from the page, check the kernel) and a
dark-theme run that asserts the contrast of every status colour."
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from awswidget.demo import ACCOUNTS, Sandbox

from .conftest import screenshot
from .kernel import KernelProbe
from .pages import KERNEL_START, RUN, choose, expect, write_notebook
from .servers import LabServer, sandbox_env

pytestmark = pytest.mark.e2e

PICKER_CELL = "import awswidget\npicker = awswidget.ProfilePicker()\npicker"
TONES = ("ok", "busy", "warning", "error")
SAMPLES_CELL = (
    "import ipywidgets\nfrom awswidget.widgets._common import colored\n"
    f"ipywidgets.VBox([ipywidgets.HTML(colored(k, 'status line in tone ' + k), _dom_classes=['awswidget-tone-' + k]) for k in {TONES!r}])"
)
THEMES_PLUGIN = "@jupyterlab/apputils-extension:themes"

# The colour a person sees: the text colour composited over the nearest painted background, read back from a canvas.
_SEEN = """(el) => {
    const canvas = document.createElement('canvas'); canvas.width = canvas.height = 1;
    const g = canvas.getContext('2d');
    let e = el.parentElement, bg = null;
    while (e) {
        const b = getComputedStyle(e).backgroundColor;
        if (b && b !== 'transparent' && !/rgba\\(0, 0, 0, 0\\)/.test(b)) { bg = b; break; }
        e = e.parentElement;
    }
    g.fillStyle = bg || '#ffffff'; g.fillRect(0, 0, 1, 1);
    const back = [...g.getImageData(0, 0, 1, 1).data];
    g.fillStyle = getComputedStyle(el).color; g.fillRect(0, 0, 1, 1);
    const front = [...g.getImageData(0, 0, 1, 1).data];
    return {front: front, back: back, css: getComputedStyle(el).color};
}"""


def contrast(front: list[int], back: list[int]) -> float:
    """WCAG 2 contrast ratio of two sRGB colours (0-255)."""

    def luminance(rgb: list[int]) -> float:
        def channel(c: int) -> float:
            v = c / 255
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        r, g, b = (channel(c) for c in rgb[:3])
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    a, b = sorted((luminance(front), luminance(back)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def test_contrast_is_computed_right() -> None:
    assert round(contrast([0, 0, 0], [255, 255, 255]), 1) == 21.0
    assert round(contrast([0xF5, 0x7C, 0x00], [255, 255, 255]), 1) == 2.7  # JupyterLab's --jp-warn-color1 alone


@pytest.fixture
def themed_lab(lab: LabServer) -> Iterator[LabServer]:
    """The session's JupyterLab; its theme is put back to the light one afterwards."""
    yield lab
    lab.api(f"lab/api/settings/{THEMES_PLUGIN}", "PUT", {"raw": json.dumps({"theme": "JupyterLab Light"})})


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_every_status_colour_reads_in_light_and_dark(themed_lab: LabServer, lab_page: Any, page: Any, theme: str) -> None:
    themed_lab.api(f"lab/api/settings/{THEMES_PLUGIN}", "PUT", {"raw": json.dumps({"theme": theme})})
    write_notebook(themed_lab.notebook_dir / "tones.ipynb", SAMPLES_CELL, PICKER_CELL)
    nb = lab_page.open("tones.ipynb")
    expect(page.locator("body")).to_have_attribute("data-jp-theme-name", theme)
    nb.run_all()
    status = nb.panel.locator(".awswidget-picker .awswidget-status").first
    expect(status).to_contain_text(f"account {ACCOUNTS['analytics']}")  # verified: the "ok" tone, for real
    seen = {}
    for tone in TONES:
        span = nb.panel.locator(f".awswidget-tone-{tone} span").first
        expect(span).to_be_visible()
        seen[tone] = span.evaluate(_SEEN)
    seen["picker ok"] = status.locator("div span").first.evaluate(_SEEN)
    screenshot(page, f"tones-{theme.split()[-1].lower()}", focus=status)
    ratios = {tone: round(contrast(v["front"], v["back"]), 2) for tone, v in seen.items()}
    assert all(ratio >= 4.5 for ratio in ratios.values()), (theme, ratios, {t: v["css"] for t, v in seen.items()})
    if theme.endswith("Dark"):
        assert all(sum(v["back"][:3]) < 3 * 80 for v in seen.values()), "the dark theme did not apply"


@dataclass(kw_only=True)
class NotebookServer(LabServer):
    """Notebook 7 (JupyterLab's components, its own single-document pages)."""

    name: str = "notebook7"

    def command(self) -> list[str]:
        self.write_quiet_settings()
        return [
            sys.executable, "-m", "notebook",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.notebook_dir}",
            "--ServerApp.open_browser=False", "--allow-root",
            "--ServerApp.terminals_enabled=False",
            "--JupyterNotebookApp.news_url=None",
            f"--JupyterNotebookApp.user_settings_dir={self.settings_dir}",
            "--LanguageServerManager.autodetect=False",
        ]  # fmt: skip


@pytest.fixture(scope="module")
def notebook7(e2e_root: Path, sandbox_aws: dict[str, str]) -> Iterator[NotebookServer]:
    root = e2e_root / "notebook7"
    root.mkdir()
    server = NotebookServer(root=root, env=sandbox_env(os.environ, root, sandbox_aws))
    server.notebook_dir.mkdir()
    write_notebook(server.notebook_dir / "pick.ipynb", PICKER_CELL)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


def test_pick_a_profile_in_notebook_7(notebook7: NotebookServer, sandbox: Sandbox, page: Any) -> None:
    page.goto(notebook7.url("notebooks/pick.ipynb"))
    expect(page.locator(".jp-Notebook")).to_be_visible(timeout=KERNEL_START)
    dialog = page.locator(".jp-Dialog")
    try:  # a notebook never opened before asks which kernel, as it does for a user
        dialog.get_by_role("button", name="Select", exact=True).click(timeout=20_000)
    except Exception:  # noqa: S110 - no question was asked: the kernel starts by itself
        pass
    expect(dialog).to_have_count(0)
    expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(1, timeout=KERNEL_START)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
    page.locator(".lm-Menu:visible .lm-Menu-itemLabel", has_text=re.compile("^Run All Cells$")).click()
    picker = page.locator(".awswidget-picker").first
    status = picker.locator(".awswidget-status")
    expect(status).to_contain_text(f"account {ACCOUNTS['analytics']}", timeout=RUN)
    with KernelProbe(notebook7.kernel_file("pick.ipynb")) as kernel:
        choose(picker.locator(".awswidget-profile-select select"), "prod")
        expect(status).to_contain_text(f"account {ACCOUNTS['production']}")
        screenshot(page, "pick-notebook7", focus=picker)
        after = kernel.state()
        assert after["profile"] == after["boto3_profile"] == after["AWS_PROFILE"] == "prod"
        assert after["account"] == after["sts_account"] == ACCOUNTS["production"]
