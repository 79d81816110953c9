"""The setup form in the onboarding notebook, filled in the page as a user does."""

from __future__ import annotations

from .aws import NewKey
from .pages import LabPage, Locator, choose, expect

ONBOARDING = "03-onboarding.ipynb"


def open_form(nb: LabPage) -> Locator:
    """Open the onboarding notebook, run it all, and return the rendered setup form."""
    nb.open(ONBOARDING)
    nb.run_all()
    form = nb.panel.locator(".awswidget-form")
    expect(form).to_have_count(1)
    return form


def fill_and_save(form: Locator, name: str, key: NewKey, secret: str, region: str) -> None:
    """Type the profile name, key ID and secret, pick the region, click Save."""
    form.scroll_into_view_if_needed()
    form.locator(".awswidget-profile-name input").fill(name)
    form.locator(".awswidget-access-key-id input").fill(key.access_key_id)
    form.locator(".awswidget-secret-access-key input").press_sequentially(secret)
    choose(form.locator(".awswidget-region select"), region)
    save = form.locator("button.awswidget-save-button")
    expect(save).to_be_enabled()  # the kernel validated every field
    save.click()
