"""IAM Identity Center onboarding in the notebook: start URL → device login → accounts × roles → profiles.

The pane runs :mod:`awswidget.sso_setup` through the manager: the device login
(link with the code, the code in large type, a bar for the time it stays valid,
polling in the background, Cancel), then every account and role behind the
start URL in a filterable list (organisations have hundreds), each with a
suggested profile name that can be edited, then one all-or-nothing write of
the profiles as ``aws configure sso`` writes them. The picker lists and selects
what was created. Profiles of the session whose role is gone are listed for
removal and removed only when chosen. No token or credential is ever a widget value.
"""

from __future__ import annotations

from typing import Any

from ipywidgets import HTML, Button, Dropdown, FloatProgress, HBox, Layout, SelectMultiple, Text, VBox
from traitlets import Unicode

from ..manager import CredentialsManager
from ..sso import SsoLoginState
from ..sso_setup import SsoInventory, SsoRole, SsoSetupError, without_userinfo
from ._common import colored, escape, region_options, resolve_manager, shows_errors
from .sso import _link

__all__ = ["SsoSetupPane"]

MAX_NAME_ROWS = 40  # editable name rows shown at once; the rest keep their suggested names
_OUTPUTS = [("(no output format)", ""), ("json", "json"), ("yaml", "yaml"), ("text", "text"), ("table", "table")]


def _report(pane: SsoSetupPane, message: str) -> None:
    pane.message.value = colored("error", f"✖ {escape(message)}")


class SsoSetupPane(VBox):
    """Create IAM Identity Center (SSO) profiles from a start URL.

    Parameters
    ----------
    manager
        The manager to write through (default: :func:`awswidget.default_manager`).
    login_options
        Passed to the device login (an ``sso-oidc`` ``client``, a ``clock``, a ``sleep``...).
    list_options
        Passed to :meth:`~awswidget.manager.CredentialsManager.sso_accounts` (an ``sso`` ``client``).

    Attributes
    ----------
    start_url, sso_region, session_name
        Where to log in (the session name defaults to the start URL's first label). Locked from
        the login on, so what is saved is where the login was; ``start_over_button`` unlocks them.
    login_button, cancel_button, start_over_button, link, user_code, progress
        The device login: the verification link, the code to check, the time it stays valid.
    filter, roles, select_all_button, clear_button
        The accounts × roles on offer; the filter matches account name, ID and role.
    names
        One editable profile name per chosen role (``Text``, ``description`` = the role).
    region, output
        Written into every new profile.
    remove
        Profiles of this session whose role is gone; only the chosen ones are removed.
    save_button, message
        Save, and what happened (one sentence).
    last_saved
        The first profile the last save wrote or kept (the setup form forwards it; unsynced).
    """

    last_saved = Unicode(None, allow_none=True, help="The first profile the last save wrote or kept (unsynced).")

    def __init__(
        self,
        manager: CredentialsManager | None = None,
        *,
        login_options: dict[str, Any] | None = None,
        list_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.manager = resolve_manager(manager)
        self.login_options = dict(login_options or {})
        self.list_options = dict(list_options or {})
        self.login_future: Any = None
        self._login: Any = None
        self._roles: list[SsoRole] = []
        self._existing: dict[tuple[str, str], str] = {}
        self._chosen: list[int] = []
        self._edited: dict[int, str] = {}
        self._syncing = False
        self._where: tuple[str, str, str | None] | None = None  # the login's start URL, region, session name
        self._typed: tuple[str, str, str] | None = None  # the locked boxes' values
        regions = region_options(None, ["aws", "aws-cn", "aws-us-gov"], no_region=False)
        self.start_url = Text(description="Start URL", placeholder="https://my-company.awsapps.com/start", layout=Layout(width="36em"))
        self.sso_region = Dropdown(description="SSO region", options=regions, value="us-east-1")
        self.session_name = Text(description="Session", placeholder="from the start URL")
        self.login_button = Button(description="Log in", icon="sign-in", button_style="primary")
        self.cancel_button = Button(description="Cancel", icon="times", layout=Layout(display="none"))
        self.start_over_button = Button(description="Start over", icon="undo", layout=Layout(display="none"),
                                        tooltip="Forget this login's accounts and roles and edit the start URL, region or session")
        self.link = HTML()
        self.user_code = HTML()
        self.progress = FloatProgress(value=1.0, min=0.0, max=1.0, description="code valid", layout=Layout(width="20em"))
        self._waiting = VBox([self.link, self.user_code, self.progress], layout=Layout(display="none"))
        self.filter = Text(description="Filter", placeholder="account name, ID or role", continuous_update=True)
        self.roles = SelectMultiple(description="Roles", options=[], rows=12, layout=Layout(width="48em"))
        self.select_all_button = Button(description="Select all shown", icon="check-square")
        self.clear_button = Button(description="Clear", icon="square")
        self.names = VBox()
        self.names_note = HTML()
        self.region = Dropdown(description="Region", options=region_options(None, ["aws", "aws-cn", "aws-us-gov"]), value="")
        self.output = Dropdown(description="Output", options=_OUTPUTS, value="")
        self.remove = SelectMultiple(description="Remove", options=[], rows=4, layout=Layout(width="36em"))
        self.remove_note = HTML()
        self.save_button = Button(description="Save profiles", icon="save", button_style="success", disabled=True)
        self.message = HTML()
        self._remove_box = VBox([self.remove_note, self.remove], layout=Layout(display="none"))
        self._chooser = VBox(
            [
                HBox([self.filter, self.select_all_button, self.clear_button]),
                self.roles,
                self.names_note,
                self.names,
                HBox([self.region, self.output]),
                self._remove_box,
                self.save_button,
            ],
            layout=Layout(display="none"),
        )
        self._where_box = VBox([self.start_url, HBox([self.sso_region, self.session_name]), HBox([self.login_button, self.cancel_button, self.start_over_button])])
        super().__init__(children=(self._where_box, self._waiting, self._chooser, self.message), **kwargs)
        self.add_class("awswidget-sso-setup")
        for widget, name in ((self.start_url, "start-url"), (self.sso_region, "sso-region"), (self.session_name, "session-name"),
                             (self.login_button, "login"), (self.cancel_button, "cancel"), (self.start_over_button, "start-over"),
                             (self.link, "link"),
                             (self.user_code, "user-code"), (self.filter, "filter"), (self.roles, "roles"),
                             (self.select_all_button, "select-all"), (self.names, "names"), (self.region, "region"),
                             (self.output, "output"), (self.remove, "remove"), (self.save_button, "save"), (self.message, "message")):
            widget.add_class(f"awswidget-sso-{name}")  # stable hooks for the browser tests and for styling
        self.login_button.on_click(self._on_login)
        self.cancel_button.on_click(self._on_cancel)
        self.start_over_button.on_click(self._on_start_over)
        self.select_all_button.on_click(self._on_select_all)
        self.clear_button.on_click(self._on_clear)
        self.save_button.on_click(self._on_save)
        self.filter.observe(self._on_filter, names="value")
        self.roles.observe(self._on_pick, names="value")
        self.remove.observe(self._on_remove_pick, names="value")

    def close(self) -> None:
        if self._login is not None:
            self._login.cancel()
        for row in self.names.children:
            row.close()
        for child in (self.start_url, self.sso_region, self.session_name, self.login_button, self.cancel_button,
                      self.start_over_button, self.link,
                      self.user_code, self.progress, self._waiting, self.filter, self.roles, self.select_all_button,
                      self.clear_button, self.names, self.names_note, self.region, self.output, self.remove, self.remove_note,
                      self.save_button, self._remove_box, self._chooser, self._where_box, self.message):
            for box in getattr(child, "children", ()):
                if isinstance(box, HBox):
                    box.close()
            child.close()
        super().close()

    # ------------------------------------------------------------------ login

    def _fields(self) -> tuple[str, str, str]:
        typed = self.start_url.value
        clean = without_userinfo(typed)
        if clean != typed:
            self.start_url.value = clean  # a password typed into the URL is refused and kept out of the widget state
        return (typed, self.sso_region.value, self.session_name.value)

    def _check_locked(self) -> None:
        if self._typed is not None and (self.start_url.value, self.sso_region.value, self.session_name.value) != self._typed:
            raise SsoSetupError("The start URL, SSO region or session changed after the login: press Start over to use the new ones.", "start_url")

    def _lock(self, config: Any, typed: tuple[str, str, str]) -> None:
        """From here on the pane lists and saves for ``config``: the boxes that chose it cannot change."""
        self._where = (config.start_url, config.region, config.session_name)
        self._typed = typed
        for box in (self.start_url, self.sso_region, self.session_name):
            box.disabled = True
        if not typed[2].strip():
            self.session_name.placeholder = f"{config.session_name} (from the start URL)"
        self.start_over_button.layout.display = None

    def start_over(self) -> None:
        """Cancel a login under way, forget the accounts and roles listed, and unlock the start URL, region and session."""
        if self._login is not None:
            self._login.cancel()
        self._login, self.login_future, self._where, self._typed = None, None, None, None
        for box in (self.start_url, self.sso_region, self.session_name):
            box.disabled = False
        self.session_name.placeholder = "from the start URL"
        self.start_over_button.layout.display = "none"
        self._roles, self._existing, self._chosen, self._edited = [], {}, [], {}
        self.remove.options, self.remove.value = [], ()
        self._remove_box.layout.display = "none"
        self._chooser.layout.display = self._waiting.layout.display = "none"
        self._show_roles()
        self._update_names()
        self.message.value = ""

    def login(self) -> Any:
        """Start the device login for the start URL and region typed; returns the Future of its final state."""
        self._check_locked()
        typed = self._fields()
        session = self._where[2] if self._where is not None else typed[2].strip() or None  # logging in again: the same session
        login = self.manager.sso_setup_login(typed[0], typed[1], session_name=session, on_change=self._on_state, **self.login_options)
        self._lock(login.config, typed)
        self._login = login
        self.message.value = ""
        self._chooser.layout.display = "none"
        future = login.start()
        self.login_future = future
        future.add_done_callback(self._after_login)
        return future

    def _on_state(self, state: SsoLoginState) -> None:
        waiting = state.status in ("starting", "waiting")
        self.login_button.disabled = waiting
        self.cancel_button.layout.display = None if waiting else "none"
        if state.status == "waiting" and state.verification_uri_complete:
            self.link.value = f"1. Open {_link(state.verification_uri_complete)}"
            self.user_code.value = (
                '2. Check that the page shows this code, then approve: <span style="font-size:2em;font-family:monospace;'
                f'letter-spacing:0.12em;font-weight:bold">{escape(state.user_code or "")}</span>'
            )
            self.progress.value = state.fraction_left()
            self._waiting.layout.display = None
        else:
            self._waiting.layout.display = "none"
        tone = {"succeeded": "ok", "failed": "error", "cancelled": "warning"}.get(state.status, "busy")
        self.message.value = colored(tone, escape(state.message))

    def _after_login(self, future: Any) -> None:
        if future.cancelled() or future.exception() is not None:
            if not self._roles and future is self.login_future:  # nothing listed for this login: nothing to lock
                self._unlock_quietly()
            return  # the state's message says why
        self.load()

    def _unlock_quietly(self) -> None:
        message = self.message.value
        self.start_over()
        self.message.value = message

    @shows_errors(_report)
    def _on_login(self, _button: Any) -> None:
        self.login()

    @shows_errors(_report)
    def _on_cancel(self, _button: Any) -> None:
        if self._login is not None:
            self._login.cancel()

    @shows_errors(_report)
    def _on_start_over(self, _button: Any) -> None:
        self.start_over()

    # ------------------------------------------------------------------ choosing

    @shows_errors(_report)
    def load(self) -> SsoInventory | None:
        """List the accounts and roles (after a login), and this session's profiles already written."""
        self._check_locked()
        if self._where is None:  # a login made before (or by the CLI): list for the boxes' values, locked from now on
            typed = self._fields()
            self._lock(self.manager.sso_setup_config(typed[0], typed[1], typed[2].strip() or None), typed)
        assert self._where is not None
        url, region, session = self._where
        self.message.value = colored("busy", "Listing accounts and roles…")
        found = self.manager.sso_accounts(url, region, session_name=session, **self.list_options)
        self._roles = list(found.roles)
        self._existing = {key: name for name, key in found.existing.items()}
        self._chosen, self._edited = [], {}
        self._show_roles()
        gone = list(found.gone)
        self.remove.options = gone
        self.remove.value = ()
        self.remove_note.value = (
            f"{len(gone)} profile(s) of this session name a role you can no longer use. Select any to remove them when saving."
            if gone else ""
        )
        self._remove_box.layout.display = None if gone else "none"
        self._chooser.layout.display = None
        self._update_names()
        new = len(found.new)
        self.message.value = colored("ok", escape(f"{len(self._roles)} role(s) in {len({r.account_id for r in self._roles})} account(s); {new} without a profile yet."))
        return found  # type: ignore[no-any-return]

    def _label(self, i: int) -> str:
        role = self._roles[i]
        have = self._existing.get(role.key)
        return f"{role.label}  ✓ {have}" if have else role.label

    def _shown(self) -> list[int]:
        words = self.filter.value.strip().lower().split()
        return [i for i, r in enumerate(self._roles) if all(w in f"{r.account_name} {r.account_id} {r.role_name}".lower() for w in words)]

    def _show_roles(self) -> None:
        shown = self._shown()
        self._syncing = True
        try:
            self.roles.options = [(self._label(i), i) for i in shown]
            self.roles.value = tuple(i for i in shown if i in self._chosen)
        finally:
            self._syncing = False

    @shows_errors(_report)
    def _on_filter(self, _change: Any) -> None:
        self._show_roles()

    @shows_errors(_report)
    def _on_pick(self, _change: Any) -> None:
        if self._syncing:
            return
        shown = set(self._shown())
        picked = set(self.roles.value)
        self._chosen = [i for i in self._chosen if i not in shown or i in picked] + [i for i in self.roles.value if i not in self._chosen]
        self._update_names()

    @shows_errors(_report)
    def _on_remove_pick(self, _change: Any) -> None:
        self.save_button.disabled = not self._chosen and not self.remove.value

    def select_all_shown(self) -> None:
        """Choose every role the filter shows (a role that has a profile already stays as it is)."""
        self._chosen += [i for i in self._shown() if i not in self._chosen and self._roles[i].key not in self._existing]
        self._show_roles()
        self._update_names()

    @shows_errors(_report)
    def _on_select_all(self, _button: Any) -> None:
        self.select_all_shown()

    @shows_errors(_report)
    def _on_clear(self, _button: Any) -> None:
        self._chosen = []
        self._show_roles()
        self._update_names()

    def _update_names(self) -> None:
        rows = list(self.names.children)
        for row in rows:
            i = row._awswidget_index  # type: ignore[attr-defined]
            self._edited[i] = row.value
        keep = {row._awswidget_index: row for row in rows}  # type: ignore[attr-defined]
        new_rows = []
        for i in self._chosen[:MAX_NAME_ROWS]:
            row = keep.pop(i, None)
            if row is None:
                role = self._roles[i]
                row = Text(value=self._edited.get(i) or self._existing.get(role.key) or role.suggested_name,
                           description=f"{role.account_name} · {role.role_name}", style={"description_width": "initial"},
                           layout=Layout(width="48em"))
                row._awswidget_index = i  # type: ignore[attr-defined]
            new_rows.append(row)
        self.names.children = new_rows
        for row in keep.values():
            row.close()
        extra = len(self._chosen) - MAX_NAME_ROWS
        count = len(self._chosen)
        self.names_note.value = (
            f"{count} chosen" + (f"; {extra} more are saved under their suggested names." if extra > 0 else ". Profile names:")
            if count else "Choose one or more roles (Ctrl/Shift-click), or filter and select all shown."
        )
        self.save_button.disabled = not count and not self.remove.value

    def chosen(self) -> list[tuple[str, str, str]]:
        """``(profile name, account id, role name)`` of every chosen role, as they would be saved."""
        names = {row._awswidget_index: row.value.strip() for row in self.names.children}  # type: ignore[attr-defined]
        out = []
        for i in self._chosen:
            role = self._roles[i]
            out.append((names.get(i) or self._edited.get(i) or self._existing.get(role.key) or role.suggested_name, role.account_id, role.role_name))
        return out

    # ------------------------------------------------------------------ saving

    def save(self) -> Any:
        """Write the chosen profiles (and remove those chosen under Remove) in one write; select the first new one."""
        if self._where is None:
            raise SsoSetupError("Log in first: the accounts and roles are listed after the login.", "login")
        self._check_locked()
        url, region, session = self._where
        choices = self.chosen()
        result = self.manager.add_sso_profiles(
            session, url, region, choices, region=self.region.value or None, output=self.output.value or None,
            remove=tuple(self.remove.value),
        )
        first = (result.added or result.unchanged or (None,))[0]
        if first is not None and first in self.manager.profiles:
            self.manager.select(first)
            self.manager.verify(block=False)  # the login is fresh: prove the new profile works (the picker shows it)
        bits = []
        if result.added:
            bits.append(f"Saved {len(result.added)} profile(s): {', '.join(result.added[:5])}{'…' if len(result.added) > 5 else ''}")
        if result.unchanged:
            bits.append(f"{len(result.unchanged)} already there")
        if result.removed:
            bits.append(f"removed {', '.join(result.removed)}")
        if first is not None:
            bits.append(f"selected {first}")
        self.message.value = colored("ok", "✔ " + escape("; ".join(bits) + "."))
        if first is not None:
            self.last_saved = first
        # What was written is known: mark it, without listing the accounts again.
        for name, account, role in choices:
            self._existing[(account, role)] = name
        self._existing = {k: v for k, v in self._existing.items() if v not in result.removed}
        gone = [n for n in self.remove.options if n not in result.removed]
        self.remove.options, self.remove.value = gone, ()
        self._remove_box.layout.display = None if gone else "none"
        self._chosen, self._edited = [], {}
        self._show_roles()
        self._update_names()
        return result

    @shows_errors(_report)
    def _on_save(self, _button: Any) -> None:
        self.save()
