"""The SSO login panel: IAM Identity Center's device login, driven from the notebook.

Shown for SSO profiles. "Log in with SSO" starts
:meth:`~awswidget.manager.CredentialsManager.sso_login` in the background; the
panel then shows the verification link (the user code is embedded in it) and
the code in large type, a bar for the time the code stays valid while the
kernel polls, and success or failure. Any browser, on any machine, can approve.
"""

from __future__ import annotations

from typing import Any

from ipywidgets import HTML, Button, FloatProgress, HBox, Layout, VBox

from ..manager import CredentialsManager
from ..sso import SsoLoginState
from ._common import COLORS, colored, escape, resolve_manager, shows_errors

__all__ = ["SsoLoginPanel"]

_TONES = {"succeeded": "ok", "failed": "error", "cancelled": "warning"}


def _report(panel: SsoLoginPanel, message: str) -> None:
    panel.message.value = colored("error", f"✖ {escape(message)}")


def _link(url: str) -> str:
    if not url.startswith(("https://", "http://")):
        return f"<code>{escape(url)}</code>"  # never an href for another scheme (javascript: ...)
    return (
        f'<a href="{escape(url)}" target="_blank" rel="noopener noreferrer" '
        f'style="text-decoration:underline">{escape(url)}</a>'
    )


class SsoLoginPanel(VBox):
    """Log in to IAM Identity Center for the selected SSO profile.

    Parameters
    ----------
    manager
        The manager to drive (default: :func:`awswidget.default_manager`).
    login_options
        Passed to :meth:`~awswidget.manager.CredentialsManager.sso_login`
        (an ``sso-oidc`` ``client`` with a proxy configuration, a ``clock``...).

    Attributes
    ----------
    login_button, cancel_button
        Start the device login / stop polling.
    heading
        The SSO session (or start URL), account and role of the selection.
    link, user_code, progress
        The verification link, the code to check on that page, and the time
        the code stays valid.
    message
        Progress and outcome, one sentence.
    future
        The :class:`~concurrent.futures.Future` of the last login started here.
    """

    def __init__(
        self, manager: CredentialsManager | None = None, *, login_options: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        self.manager = resolve_manager(manager)
        self.login_options = dict(login_options or {})
        self.future: Any = None
        self.heading = HTML()
        self.login_button = Button(description="Log in with SSO", icon="sign-in", button_style="primary")
        self.cancel_button = Button(description="Cancel", icon="times")
        self.link = HTML()
        self.user_code = HTML()
        self.progress = FloatProgress(value=1.0, min=0.0, max=1.0, description="code valid", layout=Layout(width="20em"))
        self.message = HTML()
        self._waiting = VBox([self.link, self.user_code, self.progress])
        self._row = HBox([self.heading, self.login_button, self.cancel_button])
        super().__init__(children=(self._row, self._waiting, self.message), **kwargs)
        self.add_class("awswidget-sso-panel")
        self.login_button.on_click(self._on_login)
        self.cancel_button.on_click(self._on_cancel)
        self.manager.observe(self._on_change, names=["profile", "sso_login_state", "status"])
        self._render()

    def close(self) -> None:
        manager = getattr(self, "manager", None)
        if manager is not None:
            try:
                manager.unobserve(self._on_change, names=["profile", "sso_login_state", "status"])
            except ValueError:
                pass
        parts = (self.heading, self.login_button, self.cancel_button, self._row, self.link, self.user_code, self.progress)
        for child in (*parts, self._waiting, self.message):
            child.close()  # the boxes too: a live box pointing at closed widgets breaks get_manager_state()
        super().close()

    # ------------------------------------------------------------------ actions

    def login(self) -> Any:
        """Start the device login for the selected profile; returns the Future."""
        self.future = self.manager.sso_login(block=False, **self.login_options)
        return self.future

    @shows_errors(_report)
    def _on_login(self, _button: Any) -> None:
        self.login()

    @shows_errors(_report)
    def _on_cancel(self, _button: Any) -> None:
        self.manager.cancel_sso_login()

    @shows_errors(_report)
    def _on_change(self, _change: Any) -> None:
        self._render()

    # ------------------------------------------------------------------ display

    def _state(self) -> SsoLoginState | None:
        state = self.manager.sso_login_state
        if state is None:
            return None
        # Another profile's finished login is old news here; a running one is always shown.
        return state if (not state.done or state.profile == self.manager.profile) else None

    def _render(self) -> None:
        m = self.manager
        info = m.profile_info() if m.profile in m.profiles else None
        state = self._state()
        if (info is None or info.kind != "sso") and (state is None or state.done):
            self.layout.display = "none"
            return
        self.layout.display = None
        if info is not None and info.kind == "sso":
            where = info.sso_session or info.sso_start_url or "?"
            bits = [f"SSO <b>{escape(where)}</b>"]
            if info.sso_account_id:
                bits.append(f"account {escape(info.sso_account_id)}")
            if info.sso_role_name:
                bits.append(f"role {escape(info.sso_role_name)}")
            self.heading.value = " · ".join(bits)
        waiting = state is not None and state.status in ("starting", "waiting")
        self.login_button.disabled = waiting
        self.login_button.description = "Log in again" if m.status == "verified" else "Log in with SSO"
        self.cancel_button.layout.display = None if waiting else "none"
        if state is not None and state.status == "waiting" and state.verification_uri_complete:
            self.link.value = f"1. Open {_link(state.verification_uri_complete)}"
            self.user_code.value = (
                '2. Check that the page shows this code, then approve: <span style="font-size:2em;font-family:monospace;'
                f'letter-spacing:0.12em;font-weight:bold">{escape(state.user_code or "")}</span>'
            )
            self.progress.value = state.fraction_left()
            self.progress.bar_style = "info" if state.fraction_left() > 0.2 else "warning"
            self._waiting.layout.display = None
        else:
            self._waiting.layout.display = "none"
        if state is None:
            self.message.value = ""
        else:
            color = COLORS[_TONES.get(state.status, "info")]
            icon = {"succeeded": "✔ ", "failed": "✖ ", "cancelled": "⚠ "}.get(state.status, "⏳ ")
            self.message.value = f'<span style="color:{color}">{icon}{escape(state.message)}</span>'
