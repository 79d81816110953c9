"""The "Remove a profile" section of the setup form: pick, confirm, remove through the manager."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ipywidgets import Accordion, Button, Dropdown, HBox, VBox

from ..manager import CredentialsManager
from ._common import escape, shows_errors
from .confirm import Confirm

__all__ = ["RemoveSection"]


def _report(section: RemoveSection, message: str) -> None:
    section.say("error", message)


class RemoveSection(Accordion):
    """A collapsed section: a profile selector, "Remove…", and the question asked before removing.

    ``say(kind, text)`` reports the outcome (the form's status line).
    """

    def __init__(self, manager: CredentialsManager, *, say: Callable[[str, str], None], **kwargs: Any) -> None:
        self.manager = manager
        self.say = say
        self.remove_select = Dropdown(description="Profile")
        self.remove_button = Button(description="Remove…", icon="trash")
        self.remove_confirm = Confirm("Remove")
        body = VBox([HBox([self.remove_select, self.remove_button]), self.remove_confirm])
        super().__init__(children=[body], titles=("Remove a profile",), selected_index=None, **kwargs)
        self.remove_select.observe(self._on_choice, names="value")
        self.remove_button.on_click(self._on_click)

    def sync(self, names: Sequence[str]) -> None:
        """List ``names``, keeping the chosen one when it is still there."""
        names = tuple(names)
        current = self.remove_select.value
        if names != tuple(self.remove_select.options):
            self.remove_select.options = names  # resets the selection: restore it below
            self.remove_select.value = current if current in names else (names[0] if names else None)
        self.remove_button.disabled = not names

    def _on_choice(self, _change: Any) -> None:
        self.remove_confirm.dismiss()

    @shows_errors(_report)
    def _on_click(self, _button: Any) -> None:
        name = self.remove_select.value
        if not name:
            return
        info = self.manager.profile_info(name)
        where = " and ".join(info.sources) or "the shared files"
        self.remove_confirm.ask(
            escape(f"Remove profile '{name}' ({info.kind_label}) from {where}? This cannot be undone."),
            lambda: self._remove(name),
            lambda: self.say("info", f"Profile '{name}' was kept."),
        )

    @shows_errors(_report)
    def _remove(self, name: str) -> None:
        info = self.manager.profile_info(name)
        self.manager.remove_profile(name)
        self.say("ok", f"Removed profile '{name}' from {' and '.join(info.sources)}.")
