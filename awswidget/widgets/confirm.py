"""A question with a confirm and a cancel button, hidden until asked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ipywidgets import HTML, Button, HBox, Layout

__all__ = ["Confirm"]


class Confirm(HBox):
    """A question with a confirm and a cancel button, hidden until asked."""

    def __init__(self, yes_label: str) -> None:
        self.question = HTML()
        self.yes_button = Button(description=yes_label, button_style="warning")
        self.no_button = Button(description="Cancel")
        self._on_yes: Callable[[], Any] | None = None
        self._on_no: Callable[[], Any] | None = None
        super().__init__([self.question, self.yes_button, self.no_button], layout=Layout(display="none"))
        self.yes_button.on_click(lambda _b: self._answer(self._on_yes))
        self.no_button.on_click(lambda _b: self._answer(self._on_no))

    @property
    def visible(self) -> bool:
        return self.layout.display != "none"

    def ask(self, question_html: str, on_yes: Callable[[], Any], on_no: Callable[[], Any] | None = None) -> None:
        self.question.value = question_html
        self._on_yes, self._on_no = on_yes, on_no
        self.layout.display = None

    def dismiss(self) -> None:
        self._on_yes = self._on_no = None
        self.question.value = ""
        self.layout.display = "none"

    def _answer(self, action: Callable[[], Any] | None) -> None:
        self.dismiss()
        if action is not None:
            action()
