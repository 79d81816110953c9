"""The browser harness itself: JupyterLab renders a widget and a choice in the page reaches the kernel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from awswidget.demo import Sandbox

from .conftest import screenshot
from .pages import LabPage, expect, write_notebook
from .servers import LabServer, sandbox_env

pytestmark = pytest.mark.e2e

SMOKE_CELL = """\
import pathlib
import ipywidgets as widgets

seen_file = pathlib.Path("smoke-seen.txt")
dropdown = widgets.Dropdown(options=["alpha", "beta", "gamma"], value="alpha", description="Pick")
seen = widgets.Label("kernel saw: alpha")

def on_pick(change):
    seen_file.write_text(change.new)  # the kernel-side record of what the page chose
    seen.value = f"kernel saw: {change.new}"

dropdown.observe(on_pick, names="value")
dropdown.add_class("e2e-smoke-dropdown")
seen.add_class("e2e-smoke-seen")
widgets.VBox([dropdown, seen])
"""


def test_dropdown_choice_reaches_the_kernel(lab: LabServer, lab_page: LabPage, page: Any) -> None:
    write_notebook(lab.notebook_dir / "e2e-smoke.ipynb", SMOKE_CELL)
    seen_file = lab.notebook_dir / "smoke-seen.txt"
    seen_file.unlink(missing_ok=True)

    nb = lab_page.open("e2e-smoke.ipynb")
    nb.run_all()
    select = nb.panel.locator(".e2e-smoke-dropdown select")
    expect(select).to_have_value("alpha")
    assert not seen_file.exists()  # nothing chosen yet: the observer has not fired

    select.select_option(label="gamma")

    expect(nb.panel.locator(".e2e-smoke-seen")).to_have_text("kernel saw: gamma")
    assert seen_file.read_text() == "gamma"
    screenshot(page, "smoke-dropdown")


def test_lab_is_sandboxed(lab: LabServer, sandbox: Sandbox, tmp_path: Path) -> None:
    """The server (whose kernels inherit its environment) sees the sandbox's AWS_* only, and calls nothing outside."""
    assert lab.process is not None
    raw = Path(f"/proc/{lab.process.pid}/environ").read_bytes().split(b"\0")
    env = dict(item.decode().split("=", 1) for item in raw if item)
    assert {k: v for k, v in env.items() if k.startswith("AWS_")} == {
        k: v for k, v in sandbox.environ().items() if k.startswith("AWS_")
    }
    assert env["HOME"].startswith(str(lab.root))
    # A stray variable of the caller's environment never reaches the server.
    stray = sandbox_env({"AWS_SECRET_ACCESS_KEY": "not-for-kernels", "PATH": "/bin"}, tmp_path, sandbox.environ())
    assert "AWS_SECRET_ACCESS_KEY" not in stray and stray["AWS_CONFIG_FILE"] == str(sandbox.config_file)

    assert lab.api("lab/api/news") == {"news": []}
    assert lab.api("lab/api/update") == {"notification": None}
    settings = lab.read_settings("@jupyterlab/apputils-extension:notification")
    assert settings["fetchNews"] == "false" and settings["checkForUpdates"] is False
