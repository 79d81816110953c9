"""Scenario 3: a notebook saved with widget state after onboarding holds no trace of the secret."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from awswidget.demo import Sandbox

from .aws import new_key, read_ini
from .conftest import screenshot
from .leaks import checkpoint_of, traces, widget_state
from .onboarding import ONBOARDING, fill_and_save, open_form
from .pages import WIDGETS_PLUGIN, LabPage, expect, write_notebook
from .servers import LabServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def state_saving_off_after(lab: LabServer) -> Iterator[None]:
    """Put the saveState setting back when the test is done: other tests expect the default."""
    yield
    lab.api(f"lab/api/settings/{WIDGETS_PLUGIN}", "PUT", {"raw": '{"saveState": false}'})


def test_saved_notebook_holds_no_secret_after_onboarding(
    lab: LabServer, sandbox: Sandbox, lab_page: LabPage, page: Any, state_saving_off_after: None
) -> None:
    """Save the onboarding notebook with widget state on: neither file holds any secret it saw."""
    form = open_form(lab_page)
    lab_page.turn_on_widget_state_saving()
    key = new_key(sandbox)
    name = f"saved-{uuid.uuid4().hex[:6]}"
    fill_and_save(form, name, key, key.secret_access_key, "us-west-2")
    expect(form.locator(".awswidget-message")).to_contain_text(f"Saved profile '{name}'")
    # Every secret the credentials file holds now: ours, the two the notebook's own cells put
    # through the same form (typed, and imported from a CSV), and the demo's.
    credentials = read_ini(sandbox.credentials_file)
    secrets_seen = {credentials[s]["aws_secret_access_key"] for s in credentials.sections()}
    assert {key.secret_access_key, credentials["data-scientist"]["aws_secret_access_key"],
            credentials["ml-engineer"]["aws_secret_access_key"]} <= secrets_seen

    lab_page.save()

    path = lab.notebook_dir / ONBOARDING
    checkpoint = checkpoint_of(path)
    saved = widget_state(path)
    # The widget state really was saved, as it stood after the onboarding in the page.
    assert any(f"Saved profile &#x27;{name}&#x27;" in str(m["state"].get("value")) for m in saved.values())
    assert sum(m["model_name"] == "PasswordModel" for m in saved.values()) >= 2
    for secret in secrets_seen:
        assert traces(secret, path, checkpoint) == []
    screenshot(page, "leak-saved-notebook", focus=form)


def test_negative_control_a_planted_secret_is_found(
    lab: LabServer, lab_page: LabPage, page: Any, state_saving_off_after: None, tmp_path: Path
) -> None:
    """With widget state saved, a Password widget's value lands in the notebook and the check finds it.

    The planted string is read from a file and set after the widget is shown, so
    neither the cell source nor the output's text repr holds it: widget state is
    the only way into the saved files, the way the form's secret would leak.
    """
    planted = secrets.token_urlsafe(30)
    (lab.notebook_dir / "e2e-planted.txt").write_text(planted)
    path = lab.notebook_dir / "e2e-planted.ipynb"
    write_notebook(
        path,
        "import pathlib\nimport ipywidgets as widgets\n"
        "planted = widgets.Password(description='Planted')\n"
        "planted.add_class('e2e-planted')\n"
        "planted",
        "planted.value = pathlib.Path('e2e-planted.txt').read_text()",
    )
    nb = lab_page.open(path.name)
    nb.turn_on_widget_state_saving()
    nb.run_all()
    expect(nb.panel.locator(".e2e-planted input")).to_have_value(planted)

    nb.save()

    checkpoint = checkpoint_of(path)
    passwords = [m["state"] for m in widget_state(path).values() if m["model_name"] == "PasswordModel"]
    assert [p.get("value") for p in passwords] == [planted]
    found = traces(planted, path, checkpoint)
    assert any(f.startswith(f"{path.name}:") for f in found)
    assert any(f.startswith(f"{checkpoint.name}:") for f in found)
    # Without its widget state the same notebook is clean: the state was the only way in.
    stripped = tmp_path / "stripped.ipynb"
    notebook = json.loads(path.read_text())
    del notebook["metadata"]["widgets"]
    stripped.write_text(json.dumps(notebook))
    assert traces(planted, stripped) == []
    screenshot(page, "leak-negative-control", focus=nb.panel.locator(".e2e-planted"))
