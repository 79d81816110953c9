"""Issue 19 in the browser: keys pasted into a cell are noticed, moved into a profile, and never saved.

A user pastes a real key pair of the sandbox into a cell and runs it; the picker warns, "Move into a
profile" fills the form (the secret never enters the page), Save verifies with STS and writes the profile;
the user replaces the cell as told and saves the notebook: the file on disk holds no key.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from awswidget.demo import Sandbox

from .aws import new_key, read_ini
from .kernel import KernelProbe
from .pages import LabPage, expect, write_notebook
from .servers import LabServer

pytestmark = pytest.mark.e2e

NOTEBOOK = "keys.ipynb"


def test_keys_pasted_in_a_cell_move_into_a_profile(lab: LabServer, sandbox: Sandbox, lab_page: LabPage, page: Any) -> None:
    key = new_key(sandbox)
    pasted = (
        "import boto3\n"
        f'sts = boto3.client("sts", aws_access_key_id="{key.access_key_id}", aws_secret_access_key="{key.secret_access_key}")'
    )
    write_notebook(lab.notebook_dir / NOTEBOOK, "import awswidget\npicker = awswidget.ProfilePicker()\npicker", pasted)
    nb = lab_page.open(NOTEBOOK)
    nb.run_all()
    notice = nb.panel.locator(".awswidget-keys-notice").first
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("In [2]")
    expect(notice).to_contain_text(key.access_key_id[-4:])
    assert key.access_key_id not in notice.inner_text()  # masked

    notice.get_by_role("button", name="Move into a profile").click()
    form = nb.panel.locator(".awswidget-form").first
    expect(form.locator(".awswidget-access-key-id input")).to_have_value(key.access_key_id)
    expect(form.locator(".awswidget-secret-access-key input")).to_have_value("")  # held in the kernel, not the page
    save = form.locator("button.awswidget-save-button")
    expect(save).to_be_enabled()
    save.click()
    expect(notice).to_contain_text("saved as profile 'from-notebook'", timeout=60_000)  # verified against STS first
    expect(notice).to_contain_text("Replace In [2] with:")
    saved = read_ini(sandbox.credentials_file)["from-notebook"]
    assert saved["aws_access_key_id"] == key.access_key_id and saved["aws_secret_access_key"] == key.secret_access_key
    with KernelProbe(lab.kernel_file(NOTEBOOK)) as kernel:
        assert kernel.state()["profile"] == "from-notebook"  # and it is the active profile

    # The user replaces the pasted cell as told, runs it, and saves the notebook.
    cell = nb.panel.locator(".jp-CodeCell").nth(1)
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.type('sts = awswidget.default_manager().client("sts")')
    page.keyboard.press("Control+Enter")  # run it in place
    nb.wait_all_run()
    nb.save()
    text = (lab.notebook_dir / NOTEBOOK).read_text()
    assert key.secret_access_key not in text and key.access_key_id not in text
    state = json.loads(text).get("metadata", {}).get("widgets", {})
    assert key.secret_access_key not in json.dumps(state)
