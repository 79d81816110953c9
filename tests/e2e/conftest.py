"""Fixtures of the browser tests: a sandbox AWS world, JupyterLab, Voila, headless Chromium.

One moto server, one JupyterLab and one Chromium serve the whole session (they
start in seconds); each test gets a fresh page and its own JupyterLab
workspace. The servers' kernels inherit the sandbox environment: shared files
under a temporary dir, no other ``AWS_*`` variable, the EC2 metadata service
off, and the local endpoint.

Missing browser tooling is a failure, not a skip: CI must not pass without
having driven a browser (``tests/setup`` installs Debian's chromium).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from awswidget.demo import Sandbox, create_sandbox

from .pages import LabPage, expect
from .servers import LabServer, VoilaServer, sandbox_env

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Debian's chromium; a clear failure when it is missing."""
    path = os.environ.get("AWSWIDGET_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"The browser tests need Debian's chromium (looked for {path!r}): apt-get install chromium, "
            "or run tests/setup, which installs it. Do not run `playwright install`.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def playwright_api() -> Iterator[Any]:
    """The started Playwright driver; a clear failure when the package is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "The browser tests need the playwright Python package: pip install -e '.[test]' "
            "(the browser itself is Debian's chromium; never run `playwright install`).",
            pytrace=False,
        )
    with sync_playwright() as api:
        yield api


@pytest.fixture(scope="session", autouse=True)
def browser(playwright_api: Any, chromium_executable: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium with a fresh user-data dir, shared by every test.

    Autouse, so that missing browser tooling fails first, before any server starts.
    """
    context = playwright_api.chromium.launch_persistent_context(
        str(tmp_path_factory.mktemp("chromium-profile")),
        executable_path=chromium_executable,
        headless=True,
        args=CHROMIUM_FLAGS,
        viewport={"width": 1280, "height": 900},
        device_scale_factor=1,
    )
    context.set_default_timeout(30_000)
    # Kernel round trips (a switch, an STS call) on a loaded 2-core CI machine can take seconds.
    expect.set_options(timeout=20_000)
    yield context
    context.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh tab; on failure its screenshot goes to test-artifacts/<test>-failure.png."""
    tab = browser.new_page()
    yield tab
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}-failure.png"), full_page=True)
    tab.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def screenshot(page: Any, name: str, focus: Any = None) -> Path:
    """Save the page as test-artifacts/<name>.png, with ``focus`` (a locator) scrolled to the middle."""
    ARTIFACTS.mkdir(exist_ok=True)
    if focus is not None:
        focus.evaluate("element => element.scrollIntoView({block: 'center'})")
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


@pytest.fixture(scope="session")
def e2e_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def sandbox(e2e_root: Path) -> Iterator[Sandbox]:
    """The demo's sandbox: seeded accounts and shared files on a local endpoint."""
    box = create_sandbox(e2e_root / "sandbox")
    try:
        yield box
    finally:
        box.remove()


@pytest.fixture(autouse=True)
def _signatures_stay_checked(request: pytest.FixtureRequest) -> Iterator[None]:
    """The sandbox's endpoint checks signatures for every test, as the demo's does.

    A test that switched moto's checks off (``aws.signatures_checked`` restores "no checks" when its
    block ends, from before the demo's endpoint checked everything) must not leave them off for the
    next: notebook 03 asserts that a wrong secret is refused.
    """
    yield
    if "sandbox" in request.fixturenames:
        box = request.getfixturevalue("sandbox")
        if box.server is not None:
            box.server.check_signatures()


@pytest.fixture(scope="session")
def sandbox_aws(sandbox: Sandbox) -> dict[str, str]:
    """The AWS part of the servers' environment: the sandbox's and nothing else."""
    return sandbox.environ()


@pytest.fixture(scope="session")
def lab(e2e_root: Path, sandbox_aws: dict[str, str]) -> Iterator[LabServer]:
    """JupyterLab on 127.0.0.1 with the repo's notebooks copied into its root."""
    root = e2e_root / "lab"
    root.mkdir()
    server = LabServer(root=root, env=sandbox_env(os.environ, root, sandbox_aws))
    shutil.copytree(REPO / "notebooks", server.notebook_dir)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def lab_page(lab: LabServer, page: Any) -> Iterator[LabPage]:
    """A JupyterLab tab on pristine copies of the notebooks; afterwards every kernel is shut down.

    Each test starts from the repository's notebooks (not what an earlier test
    saved) and from a fresh kernel.
    """
    shutil.rmtree(lab.notebook_dir / ".ipynb_checkpoints", ignore_errors=True)
    shutil.copytree(REPO / "notebooks", lab.notebook_dir, dirs_exist_ok=True)
    tab = LabPage(page, lab)
    yield tab
    tab.shutdown()


@pytest.fixture(scope="session")
def voila(e2e_root: Path, sandbox_aws: dict[str, str]) -> Iterator[VoilaServer]:
    """Voila on 127.0.0.1 serving a copy of the repo's notebooks."""
    root = e2e_root / "voila"
    root.mkdir()
    server = VoilaServer(root=root, env=sandbox_env(os.environ, root, sandbox_aws), notebook_root=root / "notebooks")
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    server.start()
    yield server
    server.stop()
