"""The MFA code box: answers the code botocore is waiting for, when it waits in the background.

It appears while ``manager.mfa_request`` is set (a verification running in a
background thread needs a code, or the expiry ticker renews an MFA role's
credentials in place inside botocore's refresh window) and disappears when the
request is answered, cancelled or times out. Typing the sixth digit submits. The
code is cleared from the (synced) text box as soon as it is handed over.

A code asked while a cell runs (on any thread) is not asked here: the kernel
cannot deliver widget events then, so ipykernel's own password prompt appears
under the cell instead (see :mod:`awswidget.mfa`).
"""

from __future__ import annotations

import re
from typing import Any

from ipywidgets import HTML, Button, HBox, Layout, Text, VBox

from ..errors import AwsWidgetError
from ..manager import CredentialsManager
from ..mfa import MfaRequest, is_code
from ._common import COLORS, escape, resolve_manager, shows_errors

__all__ = ["MfaPrompt"]



def _report(prompt: MfaPrompt, message: str) -> None:
    prompt._say(message, error=True)


class MfaPrompt(VBox):
    """Enter the MFA code a role profile needs.

    Attributes
    ----------
    code
        The text box (6 digits; the sixth submits).
    submit_button, cancel_button
        Hand over the code, or give up (the verification then fails with "cancelled").
    label, message
        What is asked (profile, device) and the outcome of the last submission.
    """

    def __init__(self, manager: CredentialsManager | None = None, **kwargs: Any) -> None:
        self.manager = resolve_manager(manager)
        self.label = HTML()
        self.code = Text(placeholder="6-digit code", continuous_update=True, layout=Layout(width="10em"))
        self.submit_button = Button(description="Submit", button_style="primary", icon="check")
        self.cancel_button = Button(description="Cancel", icon="times")
        self.message = HTML()
        self._row = HBox([self.code, self.submit_button, self.cancel_button])
        super().__init__(children=(self.label, self._row, self.message), **kwargs)
        self.add_class("awswidget-mfa-prompt")
        self.code.observe(self._on_code, names="value")
        self.submit_button.on_click(self._on_submit)
        self.cancel_button.on_click(self._on_cancel)
        self.manager.observe(self._on_request, names="mfa_request")
        self._render(self.manager.mfa_request)

    def close(self) -> None:
        manager = getattr(self, "manager", None)
        if manager is not None:
            try:
                manager.unobserve(self._on_request, names="mfa_request")
            except ValueError:
                pass
        for child in (self.label, self.code, self.submit_button, self.cancel_button, self._row, self.message):
            child.close()  # the row too: a live box pointing at closed widgets breaks get_manager_state()
        super().close()

    # ------------------------------------------------------------------ actions

    def submit(self, code: str | None = None) -> bool:
        """Hand ``code`` (default: the text box) to the waiting request; True if accepted.

        "Accepted" means 6 digits handed over: whether AWS takes the code shows
        in the manager's status once the verification ends.
        """
        request = self.manager.mfa_request
        value = self.code.value if code is None else code
        if request is None:
            self._say("No MFA code is being asked for right now.", error=True)
            return False
        try:
            request.answer(value)
        except AwsWidgetError as exc:
            self._say(str(exc), error=True)
            return False
        finally:
            if code is None and is_code(value):
                self.code.value = ""  # a used code has no business in the widget state
        self._say("Code sent; checking it with AWS…")
        return True

    def cancel(self) -> None:
        """Give up on the waiting request."""
        request = self.manager.mfa_request
        if request is not None:
            request.cancel()
        self.code.value = ""

    @shows_errors(_report)
    def _on_code(self, change: Any) -> None:
        typed = re.sub(r"\s+", "", change.new or "")
        if not typed:
            return
        if not (typed.isascii() and typed.isdigit()):
            self._say("Digits only: the code from your authenticator app or key.", error=True)
        elif is_code(typed):
            self.submit()
        else:
            self._say("")

    @shows_errors(_report)
    def _on_submit(self, _button: Any) -> None:
        self.submit()

    @shows_errors(_report)
    def _on_cancel(self, _button: Any) -> None:
        self.cancel()

    @shows_errors(_report)
    def _on_request(self, change: Any) -> None:
        self._render(change.new)

    # ------------------------------------------------------------------ display

    def _say(self, text: str, error: bool = False) -> None:
        color = COLORS["error" if error else "info"]
        self.message.value = f'<span style="color:{color}">{escape(text)}</span>' if text else ""

    def _render(self, request: MfaRequest | None) -> None:
        if request is None or not request.pending:
            self.layout.display = "none"
            self.code.value = ""
            return
        who = f"profile <b>{escape(request.profile)}</b>" if request.profile else "this profile"
        minutes = max(1, round(request.timeout / 60))
        self.label.value = (
            f"🔐 MFA code for {who} (device <code>{escape(request.serial)}</code>), "
            f"within {minutes} minute{'s' if minutes > 1 else ''}:"
        )
        self._say("")
        self.code.value = ""
        self.layout.display = None
