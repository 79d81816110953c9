"""Driving JupyterLab the way a user does: menus, clicks, typing, Ctrl+S.

Every wait is on an explicit condition of the page (kernel status, execution
counts, a rendered selector, a server response) with a bounded timeout.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import nbformat

from .servers import LabServer

try:
    from playwright.sync_api import Locator, Page, expect
except ImportError:  # the playwright_api fixture fails each test with instructions
    Locator = Page = Any  # type: ignore[misc,assignment]
    expect = None  # type: ignore[assignment]

WIDGETS_PLUGIN = "@jupyter-widgets/jupyterlab-manager:plugin"  # its saveState setting
KERNEL_START = 90_000  # ms: a cold kernel on a busy 2-core CI machine
RUN = 90_000  # ms: running a whole notebook (imports, a moto round trip)

# The status bar's kernel item reads "Python 3 (ipykernel) | Idle" once the kernel is connected and idle.
_STATUS_BAR_IDLE = """
    const kernelIdleInStatusBar = () => [...document.querySelectorAll('#jp-main-statusbar *')].some(
        e => e.children.length === 0 && /\\| Idle$/.test(e.textContent.trim()));
"""

# True when the kernel is connected and idle, by both the toolbar and the status bar.
_KERNEL_IDLE = """(panel) => {""" + _STATUS_BAR_IDLE + """
    const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
    return !!indicator && indicator.dataset.status === 'idle' && kernelIdleInStatusBar();
}"""

# Once the kernel is idle: "done" when every code cell has an execution count;
# "stopped" when cells are left unrun and none is queued (Run All stops at an error).
_ALL_RUN = """(panel) => {""" + _STATUS_BAR_IDLE + """
    const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
    if (!indicator || indicator.dataset.status !== 'idle' || !kernelIdleInStatusBar()) return false;
    const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent);
    if (prompts.length === 0 || prompts.some(p => p.includes('[*]'))) return false;
    return prompts.every(p => /\\[\\d+\\]/.test(p)) ? 'done' : 'stopped';
}"""


def write_notebook(path: Path, *sources: str) -> None:
    """A notebook of code cells, on the python3 kernel."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(notebook, path)


def option_value(select: Locator, name: str) -> str:
    """The value of the one option of ``select`` that stands for ``name``.

    ipywidgets labels an option with its label text; awswidget's labels are the
    name, or the name and a note ("tools-local (endpoint)", "eu-west-1 — Europe (Ireland)").
    """
    option = select.locator(f'option[value="{name}"], option[value^="{name} "]')
    expect(option).to_have_count(1)
    return str(option.get_attribute("value"))


def choose(select: Locator, name: str) -> None:
    """Pick ``name`` in a rendered Dropdown, as a user does with the native select."""
    select.select_option(value=option_value(select, name))


class LabPage:
    """One JupyterLab tab showing one notebook, in its own workspace."""

    def __init__(self, page: Page, lab: LabServer) -> None:
        self.page = page
        self.lab = lab
        self.notebook = ""

    @property
    def panel(self) -> Locator:
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").first

    def open(self, notebook: str) -> LabPage:
        """Open ``notebook`` (a path under the server root) in a fresh workspace; wait for an idle kernel."""
        self.notebook = notebook
        workspace = f"e2e-{uuid.uuid4().hex[:8]}"
        self.page.goto(self.lab.url(f"lab/workspaces/{workspace}/tree/{notebook}?reset"))
        expect(self.panel).to_be_visible(timeout=KERNEL_START)
        self.wait_kernel_idle()
        # Fold the file browser away: the notebook gets the width (and the screenshots look right).
        self.page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()
        expect(self.page.locator("#jp-left-stack")).to_be_hidden()
        return self

    def wait_kernel_idle(self) -> None:
        """Wait until the notebook's kernel is connected and idle.

        The toolbar's execution indicator alone says "idle" before any kernel
        exists; the status bar's kernel item says "Initializing" then.
        """
        self.page.wait_for_function(_KERNEL_IDLE, arg=self.panel.element_handle(), timeout=KERNEL_START)

    def menu(self, top: str, item: str) -> None:
        """Click ``top`` in the main menu bar, then ``item`` in the menu that opens."""
        self.page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$")).click()
        self.page.locator(".lm-Menu:visible .lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).click()

    def run_all(self) -> None:
        """Run → Run All Cells, then wait until every cell has an execution count and the kernel is idle."""
        self.menu("Run", "Run All Cells")
        self.wait_all_run()

    def wait_all_run(self) -> None:
        outcome = self.page.wait_for_function(_ALL_RUN, arg=self.panel.element_handle(), timeout=RUN).json_value()
        if outcome != "done":
            raise AssertionError(f"Run All stopped in {self.notebook}:\n" + "\n".join(self.errors())[-3000:])

    def shutdown(self) -> None:
        """Shut down every kernel session of the server: the next test starts from a fresh kernel."""
        sessions = self.lab.api("api/sessions")
        assert isinstance(sessions, list)
        for session in sessions:
            self.lab.api(f"api/sessions/{session['id']}", "DELETE")

    def errors(self) -> list[str]:
        """Tracebacks shown in cell outputs."""
        return self.panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()

    def turn_on_widget_state_saving(self) -> None:
        """Settings → "Save Widget State Automatically", as a user does; checked on the server."""
        assert not self.lab.read_settings(WIDGETS_PLUGIN).get("saveState", False)
        with self.page.expect_response(lambda r: r.request.method == "PUT" and "/lab/api/settings/" in r.url):
            self.menu("Settings", "Save Widget State Automatically")
        assert self.lab.read_settings(WIDGETS_PLUGIN)["saveState"] is True

    def save(self) -> None:
        """Save the notebook as a user does (Ctrl+S) and wait for the file and its checkpoint to be written."""
        self.panel.locator(".jp-Notebook").click(position={"x": 5, "y": 5})  # focus, command mode
        self.page.keyboard.press("Escape")
        with (
            self.page.expect_response(lambda r: r.request.method == "PUT" and "/api/contents/" in r.url) as saved,
            self.page.expect_response(lambda r: r.request.method == "POST" and r.url.split("?")[0].endswith("/checkpoints")) as checkpoint,
        ):
            self.page.keyboard.press("Control+s")
        assert saved.value.ok, saved.value.status
        assert checkpoint.value.ok, checkpoint.value.status
