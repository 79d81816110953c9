"""The console login panel: ``aws login --remote`` from the notebook.

Shown for a console login profile (``login_session``) whose login was never
made, was removed, or has ended. "Log in" starts
:meth:`~awswidget.manager.CredentialsManager.console_login`: the panel shows the
sign-in link (open it in any browser, on any machine), a box for the code the
sign-in page shows at the end, and the outcome. The code lives in the box only
until it is sent (then the box is emptied); the link and the outcome hold no secret.
A login belongs to the profile it was started for: selecting another profile (or
closing the panel) cancels it while it waits for its code. A profile logged in
here or by ``aws login`` gets a one-row panel with "Log out" (``aws logout``).
"""

from __future__ import annotations

from typing import Any

from ipywidgets import HTML, Button, HBox, Layout, Password, VBox

from ..console import ConsoleLoginError, ConsoleLoginState, token_path
from ..manager import CredentialsManager
from ._common import COLORS, colored, escape, resolve_manager, shows_errors
from .sso import _link

__all__ = ["ConsoleLoginPanel"]

_TONES = {"succeeded": "ok", "failed": "error", "cancelled": "warning"}


def _report(panel: ConsoleLoginPanel, message: str) -> None:
    panel.message.value = colored("error", f"✖ {escape(message)}")


class ConsoleLoginPanel(VBox):
    """Log the selected console login profile in with the AWS console's session.

    Parameters
    ----------
    manager
        The manager to drive (default: :func:`awswidget.default_manager`).
    login_options
        Passed to :meth:`~awswidget.manager.CredentialsManager.console_login`
        (``region``, ``replace``, a ``signin`` ``client``...).

    Attributes
    ----------
    login_button, submit_button, cancel_button, logout_button
        Start a login / send the pasted code / forget the login started here /
        remove the profile's cached login (:meth:`~awswidget.manager.CredentialsManager.console_logout`).
    heading, link, code, message
        The profile being logged in (the login's own, whatever is selected since)
        and its login session, the sign-in link, the box for the code, and progress
        or outcome in one sentence.
    login, future
        The running :class:`~awswidget.console.ConsoleLogin` and the Future of its exchange.
    """

    def __init__(
        self, manager: CredentialsManager | None = None, *, login_options: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        self._closed = False
        self.manager = resolve_manager(manager)
        self.login_options = dict(login_options or {})
        self.login: Any = None
        self.future: Any = None
        self._state: ConsoleLoginState | None = None
        self.heading = HTML()
        self.login_button = Button(description="Log in", icon="sign-in", button_style="primary",
                                   tooltip="Sign in with the AWS console, like aws login --remote")
        self.cancel_button = Button(description="Cancel", icon="times")
        self.logout_button = Button(description="Log out", icon="sign-out",
                                    tooltip="Remove this profile's cached console login, like aws logout")
        self.link = HTML()
        self.code = Password(placeholder="paste the code the sign-in page shows", layout=Layout(width="28em"))
        self.submit_button = Button(description="Send code", icon="check")
        self.message = HTML()
        self._row = HBox([self.heading, self.login_button, self.cancel_button, self.logout_button])
        self._code_row = HBox([self.code, self.submit_button])
        self._waiting = VBox([self.link, self._code_row])
        super().__init__(children=(self._row, self._waiting, self.message), **kwargs)
        self.add_class("awswidget-console-login")
        self.login_button.on_click(self._on_login)
        self.submit_button.on_click(self._on_submit)
        self.cancel_button.on_click(self._on_cancel)
        self.logout_button.on_click(self._on_logout)
        self.manager.observe(self._on_change, names=["profile", "status"])
        self._render()

    def close(self) -> None:
        """Stop following the manager, cancel a login still waiting for its code, and close the widgets."""
        self._closed = True
        login = getattr(self, "login", None)
        if login is not None:
            login.cancel("The console login was cancelled: its panel was closed.")  # nobody can paste its code any more
        manager = getattr(self, "manager", None)
        if manager is not None:
            try:
                manager.unobserve(self._on_change, names=["profile", "status"])
            except ValueError:
                pass
        parts = (self.heading, self.login_button, self.cancel_button, self.logout_button, self._row, self.link, self.code,
                 self.submit_button, self._code_row, self._waiting, self.message)
        for child in parts if hasattr(self, "message") else ():  # close() also runs from __del__, maybe half-built
            child.close()
        super().close()

    # ------------------------------------------------------------------ actions

    def start(self) -> Any:
        """Start a console login for the selected profile; returns the :class:`~awswidget.console.ConsoleLogin`."""
        if self.login is not None:
            self.login.cancel()
        self.login = self.manager.console_login(on_change=self._on_state, **self.login_options)
        self._state = self.login.state
        self._render()
        return self.login

    def submit(self, code: str | None = None) -> Any:
        """Send ``code`` (default: the box's) to finish the login in the background; returns the Future."""
        text = self.code.value if code is None else code
        self.code.value = ""  # the code never stays in widget state
        if self.login is None:
            raise ConsoleLoginError("Start the login first (Log in).", "not-started")
        self.future = self.login.finish(text, block=False)
        return self.future

    @shows_errors(_report)
    def _on_login(self, _button: Any) -> None:
        self.start()

    @shows_errors(_report)
    def _on_submit(self, _button: Any) -> None:
        try:
            self.submit()
        finally:
            self.code.value = ""

    @shows_errors(_report)
    def _on_cancel(self, _button: Any) -> None:
        self.code.value = ""
        if self.login is not None:
            self.login.cancel()

    @shows_errors(_report)
    def _on_logout(self, _button: Any) -> None:
        self.manager.console_logout()  # re-selects the profile: the panel then offers Log in

    def _on_state(self, state: ConsoleLoginState) -> None:
        self._state = state
        if self._closed:
            return
        try:
            self._render()
        except Exception as exc:  # from the exchange's thread: a display must not break the login
            _report(self, str(exc))

    @shows_errors(_report)
    def _on_change(self, change: Any) -> None:
        login = self.login
        if change["name"] == "profile" and login is not None and login.profile != change["new"]:
            # The panel follows the selection: a login still waiting for its code stops rather than log in a profile
            # no longer in view (an exchange already under way finishes, under its own profile's name).
            login.cancel(f"The console login of '{login.profile}' was cancelled: another profile was selected.")
        self._render()

    # ------------------------------------------------------------------ display

    def _cached(self) -> bool | None:
        """Whether the selected console login profile has a token file (``None``: not a console login profile)."""
        m = self.manager
        info = m.profile_info() if m.profile in m.profiles else None
        if info is None or info.kind != "login":
            return None
        if info.login_session is None:
            return False
        try:
            with open(token_path(info.login_session)):
                pass
        except OSError:
            return False
        return True

    def _needed(self) -> bool:
        """A console login profile is selected and has no usable login (none cached, it failed, or its renewal was refused)."""
        cached = self._cached()
        if cached is None:
            return False
        expiry = self.manager.expiry
        return not cached or self.manager.status == "error" or (expiry is not None and expiry.action == "console-login")

    def _render(self) -> None:
        m = self.manager
        state = self._state
        if state is not None and state.done and state.profile != m.profile:
            state = None  # another profile's finished login is old news here
        running = state is not None and state.status in ("waiting", "exchanging")
        needed, cached = self._needed(), self._cached()
        failed = state is not None and state.status == "failed"
        if not running and not needed and not failed and not cached:
            self.layout.display = "none"
            return
        self.layout.display = None
        # A running login is its own profile's, even while the selection moves on (an exchange cannot be stopped).
        name = state.profile if running and state is not None else m.profile
        info = m.profile_info(name) if name in m.profiles else None
        who = f" · {escape(info.login_session)}" if info is not None and info.login_session else ""
        self.heading.value = f"Console login <b>{escape(name or '')}</b>{who}"
        self.login_button.disabled = running
        self.login_button.description = "Log in again" if failed else "Log in"
        self.login_button.layout.display = None if running or needed or failed else "none"
        self.cancel_button.layout.display = None if running else "none"
        self.logout_button.layout.display = None if cached and not running else "none"
        if state is not None and state.status == "waiting" and state.url:
            self.link.value = f"1. Open {_link(state.url)} and sign in.<br>2. Paste the code the page shows, then send it:"
            self._waiting.layout.display = None
        else:
            self._waiting.layout.display = "none"
        self.submit_button.disabled = state is None or state.status != "waiting"
        if state is None:
            self.message.value = "No console login for this profile yet (or it has ended): log in." if needed else ""
        else:
            color = COLORS[_TONES.get(state.status, "info")]
            icon = {"succeeded": "✔ ", "failed": "✖ ", "cancelled": "⚠ "}.get(state.status, "⏳ ")
            self.message.value = f'<span style="color:{color}">{icon}{escape(state.message)}</span>'
