"""The profile picker: "Connect to AWS" in one notebook cell.

A compact row (profile filter and selector, region selector, refresh, "Add
profile"), a status line and a collapsed details view, bound to a
:class:`~awswidget.manager.CredentialsManager`. The picker only reads the
manager's traits and calls its methods: it opens no file and calls no AWS API.

Built to scale: the profile selector never holds more than ``max_options``
options (plus the selection), so with 10,000 profiles the widget state stays a
few kilobytes; typing in the filter narrows the list.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ipywidgets import HTML, Accordion, Button, Dropdown, HBox, Layout, Text, VBox

from .. import texts
from ..errors import ProfileNotFoundError
from ..validate import partition_of
from ._common import COLORS, NO_REGION, escape, follow, region_options, resolve_manager, shows_errors
from .console_login import ConsoleLoginPanel
from .keys_notice import KeysNotice
from .mfa import MfaPrompt
from .settings_edit import SettingsEditor
from .sso import SsoLoginPanel

if TYPE_CHECKING:
    from ..identity import Identity
    from ..manager import CredentialsManager
    from .form import CredentialSetupForm

__all__ = ["ProfilePicker"]

_ICONS = {"ok": "✔", "busy": "…", "info": "●", "error": "✖", "warn": "⚠"}
# In HTML: symbols every text font has, and Font Awesome (which ipywidgets ships) where an emoji would need a font.
_HTML_ICONS = {**_ICONS, "busy": '<i class="fa fa-spinner fa-spin" aria-hidden="true"></i>'}
_BADGE = (
    "background:var(--jp-layout-color2,#e8eaf6);color:var(--jp-ui-font-color1,#1a237e);border-radius:3px;"
    "padding:0 4px;margin-left:4px;white-space:nowrap"
)
# The first line stays one line: what does not fit is cut with an ellipsis, and the whole line is its tooltip.
_ONE_LINE = "white-space:nowrap;overflow:hidden;text-overflow:ellipsis"
_CELL = ' style="padding:1px 1.2em 1px 0;vertical-align:top;word-break:break-all"'  # columns never touch


@dataclass
class _Summary:
    """What the status line says, before it is formatted as HTML or as text."""

    tone: str
    parts: list[str]
    endpoint: str | None = None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    arn: str | None = None
    note: str | None = None  # time left, shown small under the line with the endpoint badge

    def html(self) -> str:
        head = " · ".join(escape(p) for p in self.parts)
        if self.parts and self.tone != "info":
            head = head.replace(escape(self.parts[0]), f"<b>{escape(self.parts[0])}</b>", 1)
        tooltip = escape(" · ".join([*self.parts, *([self.arn] if self.arn else [])]))
        first = f'<span style="color:{COLORS[self.tone]}">{_HTML_ICONS[self.tone]}</span> {head}'
        lines = [f'<div style="{_ONE_LINE}" title="{tooltip}">{first}</div>']
        below = []
        if self.endpoint:
            below.append(f'<span style="{_BADGE}" title="custom endpoint">endpoint {escape(self.endpoint)}</span>')
        if self.note:
            below.append(f'<span style="color:{COLORS["busy"]}">{escape(self.note)}</span>')
        if below:
            lines.append(f'<div style="{_ONE_LINE};font-size:0.9em;padding-left:1.2em">{" ".join(below)}</div>')
        lines += [f'<div style="color:{COLORS["warning"]}">⚠ {escape(w)}</div>' for w in self.warnings]
        if self.error:
            lines.append(f'<div style="color:{COLORS["error"]}">✖ {escape(self.error)}</div>')
        return "".join(lines)

    def text(self) -> str:
        head = f"{_ICONS[self.tone]} " + " · ".join([*self.parts, *([self.arn] if self.arn else []), *([self.note] if self.note else [])])
        if self.endpoint:
            head += f" [endpoint {self.endpoint}]"
        return "\n".join([head, *(f"⚠ {w}" for w in self.warnings), *([f"✖ {self.error}"] if self.error else [])])


def _match_note(matched: int, total: int, shown: int, text: str) -> str:
    """What the filter found, next to it: "3 of 120 profiles match", "no profile matches 'zzz'"..."""
    if text.strip():
        if not matched:
            return f"<small>no profile matches &#x27;{escape(text.strip())}&#x27;</small>"
        found = f"{matched:,} of {total:,} profiles match" if matched != 1 else f"1 of {total:,} profiles matches"
        return f"<small>{found}{f', first {shown:,} listed' if matched > shown else ''}</small>"
    if total > shown:
        return f"<small>first {shown:,} of {total:,} listed: type to filter</small>"
    return ""


def _report(picker: ProfilePicker, message: str) -> None:
    picker._show_error(message)


class ProfilePicker(VBox):
    """Pick the AWS profile and region of this notebook, and see who you are.

    Parameters
    ----------
    manager
        The manager to drive (default: :func:`awswidget.default_manager`).
    verify
        Check the selection with STS in the background when the picker is
        created and after every switch made in it (the status line says
        "verifying…" meanwhile). Refresh verifies an unverified selection
        either way.
    max_options
        How many profiles the selector lists at once; type in the filter to
        narrow a longer list. The selected profile is always listed.

    Attributes
    ----------
    profile_filter, profile_select, region_select, refresh_button, add_button
        The controls. ``profile_select.value`` is a profile name,
        ``region_select.value`` a region name (``""``: no region).
    status
        The status line (HTML): profile, region, account, ARN, warnings.
    details
        A collapsed view of every setting and where it comes from.
    form
        The :class:`CredentialSetupForm`, created when first shown.
    verification
        The :class:`~concurrent.futures.Future` of the last verification the
        picker started, or ``None``.

    Examples
    --------
    >>> import awswidget
    >>> awswidget.ProfilePicker()              # doctest: +SKIP
    """

    #: Default for ``max_options``.
    MAX_OPTIONS = 200

    def __init__(
        self,
        manager: CredentialsManager | None = None,
        *,
        verify: bool = True,
        max_options: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.manager = resolve_manager(manager)
        self.max_options = max_options or self.MAX_OPTIONS
        self.form: CredentialSetupForm | None = None
        self.verification: Future[Identity] | None = None
        self._autoverify = verify
        self._lock = threading.RLock()  # manager traits also change in background threads
        self._local = threading.local()  # per-thread "we are syncing" depth: never blocks another thread's user action
        self._error: str | None = None
        self._form_open = False
        self._shown: tuple[tuple[str, str], ...] = ()
        self._matched: tuple[Any, ...] = ((), "", ())  # (profiles, filter, matching names), memoised
        self._folded: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
        self._endpoint: tuple[Any, str | None] = (None, None)  # (session, its endpoint URL), memoised

        narrow = {"description_width": "initial"}
        self.profile_filter = Text(
            placeholder="type to filter", continuous_update=True, layout=Layout(width="11em"),
            tooltip="Type part of a profile name to narrow the list",
        )
        self.match_note = HTML(layout=Layout(margin="0 4px"))
        self.profile_select = Dropdown(description="Profile", style=narrow, layout=Layout(width="auto", min_width="14em"))
        self.region_select = Dropdown(description="Region", style=narrow, layout=Layout(width="auto", min_width="12em"))
        self.refresh_button = Button(
            icon="refresh", tooltip="Re-read the shared files, verify again, and renew now what needs an MFA code", layout=Layout(width="2.6em")
        )
        self.add_button = Button(description="Add profile", icon="plus", tooltip="Show or hide the setup form")
        self.status = HTML()
        self._details_body = HTML()
        self.settings_edit: SettingsEditor | None = None  # the selection's settings, editable: built when first opened
        self._edit_box = VBox()
        self.details = Accordion(children=(self._details_body, self._edit_box), titles=("Details", "Edit settings"),
                                 selected_index=None)
        self._form_box = VBox()
        self.mfa_prompt = MfaPrompt(manager=self.manager)  # shown while botocore waits for an MFA code
        self.sso_panel = SsoLoginPanel(manager=self.manager)  # shown for SSO profiles
        self.console_panel = ConsoleLoginPanel(manager=self.manager)  # shown for console logins that need one
        self.keys_notice = KeysNotice(self._open_form)  # keys pasted into a cell: move them into a profile
        row = HBox(
            [self.profile_filter, self.match_note, self.profile_select, self.region_select, self.refresh_button, self.add_button],
            layout=Layout(flex_flow="row wrap", align_items="center"),
        )
        super().__init__(children=(row, self.status, self.keys_notice, self.mfa_prompt, self.sso_panel, self.console_panel,
                                   self.details, self._form_box), **kwargs)
        self._parts = (*row.children, row, self.status, self.keys_notice, self.mfa_prompt, self.sso_panel, self.console_panel,
                       self._details_body, self._edit_box, self.details, self._form_box)
        # Stable CSS classes: selectors for custom styling and the browser tests.
        self.add_class("awswidget-picker")
        for name in ("profile_filter", "profile_select", "region_select", "refresh_button", "add_button", "status"):
            getattr(self, name).add_class(f"awswidget-{name.replace('_', '-')}")

        self.profile_filter.observe(self._on_filter, names="value")
        self.profile_select.observe(self._on_pick, names="value")
        self.region_select.observe(self._on_region_pick, names="value")
        self.refresh_button.on_click(self._on_refresh)
        self.add_button.on_click(self._on_add)
        self.details.observe(self._on_details, names="selected_index")
        # Held weakly by the manager: a picker nobody shows any more can be garbage collected.
        self._unfollow = [follow(self.manager, self, method, names) for method, names in self._manager_observers()]

        self._sync_options()
        self._sync_region()
        self._set_form_open(not self.manager.profiles)
        self._render()
        if self.manager.status == "unverified":
            self._verify()
        self.manager.watch(self)  # the manager's one expiry ticker keeps "time left" current while we exist
        self.keys_notice.start()

    # ------------------------------------------------------------------ display

    def __repr__(self) -> str:
        m = self.manager
        account = m.identity.account if m.identity is not None else None
        return (
            f"<ProfilePicker profile={m.profile!r} region={m.region!r} account={account!r} "
            f"status={m.status!r} profiles={len(m.profiles)}>"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self._plain())

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            # What frontends without widget support show (the default is a truncated repr).
            bundle["text/plain"] = self._plain()
        return bundle

    def _plain(self) -> str:
        return "AWS: " + self._summary().text()

    def close(self) -> None:
        """Stop following the manager and close the picker's widgets."""
        manager = getattr(self, "manager", None)  # close() also runs from __del__, maybe half-built
        if manager is not None:
            manager.unwatch(self)
        for stop in getattr(self, "_unfollow", ()):
            stop()
        for widget in (*getattr(self, "_parts", ()), getattr(self, "form", None), getattr(self, "settings_edit", None)):
            if widget is not None:
                widget.close()
        super().close()

    @staticmethod
    def _manager_observers() -> tuple[tuple[str, Any], ...]:
        return (
            ("_on_profiles", "profiles"),
            ("_on_selection", ["profile", "region", "recent"]),
            ("_on_state", ["status", "identity", "warnings", "message", "file_errors", "session", "expiry"]),
        )

    # ------------------------------------------------------------------ user actions

    @shows_errors(_report)
    def _on_pick(self, change: Any) -> None:
        if self._syncing or change.new is None or change.new == self.manager.profile:
            return
        self._error = None
        self.manager.profile = change.new
        self._verify()

    @shows_errors(_report)
    def _on_region_pick(self, change: Any) -> None:
        region = change.new or None  # NO_REGION -> None
        if self._syncing or change.new is None or region == self.manager.region:
            return
        self._error = None
        self.manager.region = region
        self._verify()

    @shows_errors(_report)
    def _on_filter(self, change: Any) -> None:
        self._sync_options()

    @shows_errors(_report)
    def _on_refresh(self, _button: Any) -> None:
        self._error = None
        self.verification = self.manager.refresh() or self.verification
        self._render()

    @shows_errors(_report)
    def _on_add(self, _button: Any) -> None:
        self._error = None
        self._set_form_open(not self._form_open)
        self._render()

    @shows_errors(_report)
    def _on_details(self, _change: Any) -> None:
        if self.details.selected_index == 1 and self.settings_edit is None:
            self.settings_edit = SettingsEditor(self.manager)
            self._edit_box.children = (self.settings_edit,)
        elif self.details.selected_index == 1 and self.settings_edit is not None and not self.settings_edit.changes():
            self.settings_edit.load()  # opened again: what the files hold now (another program may have edited them)
        self._render_details()

    def _verify(self, force: bool = False) -> None:
        if (self._autoverify or force) and self.manager.session is not None:
            self.verification = self.manager.verify(block=False)  # type: ignore[assignment]

    # ------------------------------------------------------------------ manager -> widgets

    @shows_errors(_report)
    def _on_profiles(self, change: Any) -> None:
        self._sync_options()
        if not change.new:
            self._set_form_open(True)
        self._render()

    @shows_errors(_report)
    def _on_form_saved(self, _change: Any) -> None:
        self._set_form_open(False)  # the form said what it saved; the manager selected it if asked to

    @shows_errors(_report)
    def _on_selection(self, change: Any) -> None:
        if change.name in ("profile", "recent"):
            self._sync_options()
        else:
            self._sync_region()
        self._render()

    @shows_errors(_report)
    def _on_state(self, _change: Any) -> None:
        self._render()

    # ------------------------------------------------------------------ syncing

    @property
    def _syncing(self) -> bool:
        return getattr(self._local, "depth", 0) > 0

    @contextlib.contextmanager
    def _sync(self) -> Iterator[None]:
        """Change selectors from the manager's side: their observers must not write back."""
        with self._lock:
            self._local.depth = getattr(self._local, "depth", 0) + 1
            try:
                yield
            finally:
                self._local.depth -= 1

    def _matching(self) -> tuple[str, ...]:
        """The profiles whose name holds every word of the filter (case-insensitive)."""
        names, text = self.manager.profiles, self.profile_filter.value
        if self._matched[0] is names and self._matched[1] == text:
            return self._matched[2]
        words = text.casefold().split()
        if not words:
            matched = names
        else:
            if self._folded[0] is not names:
                self._folded = (names, tuple(n.casefold() for n in names))
            matched = tuple(n for n, f in zip(names, self._folded[1], strict=True) if all(w in f for w in words))
        self._matched = (names, text, matched)
        return matched

    def _sync_options(self) -> None:
        """List the matching profiles (at most ``max_options``), always with the selection."""
        m = self.manager
        with self._sync():
            names, selected = m.profiles, m.profile
            matched = self._matching()
            # The most used profiles first (the manager keeps that order), then the rest in list order.
            wanted = set(matched) if self.profile_filter.value.strip() else None
            known = set(names)
            recent = [n for n in m.recent if n in known and (wanted is None or n in wanted)]
            first = set(recent)
            shown = [*recent, *(n for n in matched[: self.max_options] if n not in first)]
            if selected is not None and selected not in shown:
                shown.insert(0, selected)  # never drop the selection: the Dropdown would move off it
            # Labels are built for the shown options only: cheap at any number of profiles.
            options = tuple((m.profile_info(name).label, name) for name in shown)
            select = self.profile_select
            with select.hold_sync():
                if options != self._shown:
                    # Replacing options moves the index to 0 (pitfall 4): the guard keeps that
                    # from switching the manager, and the selection is put back right below.
                    select.options = options
                    self._shown = options
                if select.value != selected:
                    select.value = selected
            self.profile_filter.placeholder = f"filter {len(names):,} profiles" if len(names) > 1 else "type to filter"
            self.match_note.value = _match_note(len(matched), len(names), self.max_options, self.profile_filter.value)

    def _sync_region(self) -> None:
        region = self.manager.region
        with self._sync():
            # "(no region)" only describes a profile without one: picking it would not unset the
            # profile's own region (botocore falls back to it), so it is not offered otherwise.
            partition = partition_of(region) if region else "aws"
            options = tuple(region_options(region, (partition,), no_region=region is None))
            select = self.region_select
            with select.hold_sync():
                if options != select.options:
                    select.options = options
                wanted = region or NO_REGION
                if select.value != wanted:
                    select.value = wanted

    def _open_form(self) -> CredentialSetupForm:
        self._set_form_open(True)
        assert self.form is not None
        return self.form

    def _set_form_open(self, open_: bool) -> None:
        if open_ and self.form is None:
            from .form import CredentialSetupForm  # loaded when needed: most users never see it

            form = CredentialSetupForm(manager=self.manager)  # built outside our lock: it reads the manager
            with self._lock:
                if self.form is None:
                    self.form = form
                    form.observe(self._on_form_saved, names="last_saved")
                else:
                    form.close()
        with self._lock:
            self._form_open = open_
            self._form_box.children = (self.form,) if open_ and self.form is not None else ()
            self.add_button.description = "Hide form" if open_ else "Add profile"
            self.add_button.icon = "minus" if open_ else "plus"

    # ------------------------------------------------------------------ status

    def _show_error(self, message: str) -> None:
        with self._lock:
            self._error = message
            try:
                # The selectors may show what the manager refused: put them back on its state.
                self._sync_options()
                self._sync_region()
                self._render()
            except Exception:  # showing an error must not raise another one
                self.status.value = f'<div style="color:{COLORS["error"]}">✖ {escape(message)}</div>'

    def _summary(self) -> _Summary:
        m = self.manager
        status, profile, identity = m.status, m.profile, m.identity
        warnings = list(dict.fromkeys((*m.file_errors, *m.warnings)))
        if profile is None:
            if not m.profiles:
                text = "No AWS profile yet: set one up below to connect this notebook."
            else:
                text = "No profile selected: choose one to connect this notebook."
            return _Summary("info", [text], warnings=warnings, error=self._error)
        parts, arn, note = [profile, m.region or "no region"], None, None
        if status == "verified" and identity is not None:
            tone = "ok"
            parts += [f"account {identity.account}", texts.who(identity, short=True)]
            arn = identity.arn  # in the tooltip and the details: it would wrap the line
            if m.expiry is not None:  # time left (below the line); near the end, a warning that says what to do
                if m.expiry.level == "ok":
                    note = m.expiry.message
                else:
                    warnings.append(m.expiry.message)
        elif status == "verifying":
            tone = "busy"
            parts.append("verifying…")
        elif status == "error":
            tone = "error"
            parts.append(m.message)
        else:
            tone = "info"
            try:
                kind = m.profile_info(profile).kind_label
            except ProfileNotFoundError:  # a reload in another thread may race this render
                kind = ""
            parts += [kind, "not verified yet"]
        return _Summary(tone, parts, self._endpoint_url(), [w for w in warnings if w not in parts], self._error, arn, note)

    def _endpoint_url(self) -> str | None:
        # The manager re-reads the files to answer (milliseconds at 10,000 profiles): ask once per session.
        session = self.manager.session
        if self._endpoint[0] is not session:
            self._endpoint = (session, self.manager.endpoint_url)
        return self._endpoint[1]

    def _render(self) -> None:
        with self._lock:  # read the traits and write the line as one step
            summary = self._summary()
            self.status.value = summary.html()
            self._render_details()

    def _render_details(self) -> None:
        if self.details.selected_index is None:
            return  # collapsed: nothing to compute
        with self._lock:
            m = self.manager
            rows = list(m.describe())
            if m.identity is not None:
                rows += [("account", m.identity.account, "STS GetCallerIdentity"), ("arn", m.identity.arn, "STS GetCallerIdentity")]
            endpoint = self._endpoint_url()
            if endpoint:
                rows.append(("endpoint", endpoint, "botocore configuration (STS)"))
            cells = "".join(
                f"<tr><td{_CELL}><b>{escape(k)}</b></td><td{_CELL}><code>{escape(v)}</code></td><td{_CELL}>{escape(s)}</td></tr>"
                for k, v, s in rows
            )
            self._details_body.value = (
                '<table style="border-collapse:collapse"><tr><th align="left">Name</th><th align="left">Value</th>'
                f'<th align="left">Source</th></tr>{cells}</table>'
            )
