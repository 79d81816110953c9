"""Edit the selected profile's settings from the picker's Details view.

Region, output and endpoint URL for every profile; the role fields for a role
profile. The write is :meth:`~awswidget.manager.CredentialsManager.edit_profile`
(the store's locked, atomic, byte-preserving writer); only the fields the user
changed are sent. A change of what decides which credentials the profile uses
(:data:`~awswidget.roles.CREDENTIAL_SETTINGS`) is asked about first. No field
here holds a secret.
"""

from __future__ import annotations

from typing import Any

from ipywidgets import HTML, Button, Dropdown, HBox, Layout, Text, VBox

from ..errors import ProfileNotFoundError
from ..manager import CredentialsManager
from ..profiles import ProfileInfo
from ..roles import CREDENTIAL_SOURCES, EDITABLE, OUTPUTS, changes_credentials
from ._common import colored, escape, follow, resolve_manager, shows_errors
from .confirm import Confirm

__all__ = ["SettingsEditor"]

_LABELS = {"region": "Region", "output": "Output", "endpoint_url": "Endpoint URL", "role_arn": "Role ARN",
           "source_profile": "Source profile", "credential_source": "Credential source", "mfa_serial": "MFA device",
           "external_id": "External ID", "role_session_name": "Session name", "duration_seconds": "Duration (s)"}
_ROLE_ONLY = ("role_arn", "source_profile", "credential_source", "mfa_serial", "external_id", "role_session_name", "duration_seconds")
_DROPDOWNS = {"output": ("", *OUTPUTS), "credential_source": ("", *CREDENTIAL_SOURCES)}


def _report(editor: SettingsEditor, message: str) -> None:
    editor._say("error", message)


def current_settings(info: ProfileInfo) -> dict[str, str]:
    """The editable settings of a profile as text (``""``: not set)."""
    shown = {key: value for key, value, _source in info.settings}
    return {key: str(getattr(info, key, None) or shown.get(key) or "") for key in EDITABLE}


class SettingsEditor(VBox):
    """The selected profile's settings as inputs, and "Save settings".

    Attributes
    ----------
    inputs
        One widget per setting (``inputs["region"]``…; role fields only shown for role profiles).
    save_button, save_confirm, message, field_messages
        Save, the question asked before a change of credentials, the outcome, one message per setting.
    profile
        The profile being edited (the manager's selection when it was loaded).
    """

    def __init__(self, manager: CredentialsManager | None = None, **kwargs: Any) -> None:
        self.manager = resolve_manager(manager)
        self.profile: str | None = None
        self._loaded: dict[str, str] = {}
        wide = {"description_width": "10em"}
        self.title = HTML()
        self.inputs: dict[str, Any] = {}
        for key in EDITABLE:
            if key in _DROPDOWNS:
                widget: Any = Dropdown(options=[(v or "(none)", v) for v in _DROPDOWNS[key]], value="")
            else:
                widget = Text(placeholder="(not set)", continuous_update=False)
            widget.description, widget.style, widget.layout = _LABELS[key], wide, Layout(width="34em", flex="0 0 auto")
            self.inputs[key] = widget
        self.field_messages = {key: HTML() for key in EDITABLE}
        self._rows = {key: HBox([self.inputs[key], self.field_messages[key]], layout=Layout(align_items="center")) for key in EDITABLE}
        self.save_button = Button(description="Save settings", icon="save", button_style="primary")
        self.revert_button = Button(description="Revert", icon="undo")
        self.save_confirm = Confirm("Change credentials")
        self.message = HTML()
        super().__init__([self.title, *self._rows.values(), HBox([self.save_button, self.revert_button]), self.save_confirm,
                          self.message], **kwargs)
        self.add_class("awswidget-settings-edit")
        for widget in self.inputs.values():
            widget.observe(self._on_input, names="value")
        self.save_button.on_click(lambda _b: self.save())
        self.revert_button.on_click(lambda _b: self.load())
        self._unfollow = follow(self.manager, self, "_on_selection", ["profile", "profiles"])
        self.load()

    def close(self) -> None:
        stop = getattr(self, "_unfollow", None)
        if stop is not None:
            stop()
        for widget in (*getattr(self, "inputs", {}).values(), *getattr(self, "_rows", {}).values()):
            widget.close()
        super().close()

    # ------------------------------------------------------------------ public

    def load(self, name: str | None = None) -> None:
        """Show the settings of ``name`` (default: the manager's selection) as they are in the files now."""
        name = self.manager.profile if name is None else name
        try:
            info = self.manager.profile_info(name) if name is not None else None
        except ProfileNotFoundError:
            info = None
        self.profile = info.name if info is not None else None
        self._loaded = current_settings(info) if info is not None else dict.fromkeys(EDITABLE, "")
        for key, widget in self.inputs.items():
            options = [v for _label, v in getattr(widget, "options", ())]
            if options and self._loaded[key] not in options:
                widget.options = [*widget.options, (self._loaded[key], self._loaded[key])]  # a value botocore knows and we don't
            widget.value = self._loaded[key]
            self.field_messages[key].value = ""
            self._rows[key].layout.display = None if key not in _ROLE_ONLY or (info is not None and info.role_arn) else "none"
        self.save_confirm.dismiss()
        self.title.value = f"Settings of <b>{escape(info.name)}</b> ({escape(info.kind_label)})" if info else "No profile selected."
        self.save_button.disabled = info is None
        self._say("info", "")

    def changes(self) -> dict[str, str | None]:
        """What the user changed: a new value, or ``None`` for a cleared one."""
        return {key: (str(w.value).strip() or None) for key, w in self.inputs.items() if str(w.value).strip() != self._loaded.get(key, "")}

    def save(self, *, confirmed: bool = False) -> ProfileInfo | None:
        """Write the changes (asking first when they change the credentials); ``None`` when nothing was written."""
        changes = self.changes()
        if self.profile is None or not changes:
            self._say("info", "Nothing to save: no setting was changed.")
            return None
        touched = changes_credentials({k: v or None for k, v in self._loaded.items()}, changes)
        if touched and not confirmed:
            what = ", ".join(f"{k}: {self._loaded[k] or '(none)'} → {changes[k] or '(none)'}" for k in touched)
            self.save_confirm.ask(escape(f"This changes which credentials profile '{self.profile}' uses ({what}). Save?"),
                                  lambda: self.save(confirmed=True) and None, lambda: self._say("info", "Nothing was saved."))
            self._say("warning", "Waiting for your answer below the Save button.")
            return None
        return self._write(self.profile, changes)

    @shows_errors(_report)
    def _write(self, name: str, changes: dict[str, str | None]) -> ProfileInfo | None:
        try:
            info = self.manager.edit_profile(name, **changes)
        except Exception as exc:  # said beside the field at fault, or below
            field = getattr(exc, "field", None)
            if field in self.field_messages:
                self.field_messages[field].value = colored("error", escape(str(exc)))
            self._say("error", f"Not saved: {str(exc).rstrip('.')}.")
            return None
        self.load(name)
        self._say("ok", f"Saved {', '.join(changes)} of profile '{name}' in {self.manager.files.config_file}.")
        return info

    # ------------------------------------------------------------------ observers

    @shows_errors(_report)
    def _on_selection(self, change: Any) -> None:
        if change.name == "profile" or self.profile not in self.manager.profiles:
            self.load()

    @shows_errors(_report)
    def _on_input(self, change: Any) -> None:
        key = next(k for k, w in self.inputs.items() if w is change.owner)
        self.field_messages[key].value = ""
        self.save_confirm.dismiss()

    def _say(self, kind: str, text: str) -> None:
        self.message.value = colored(kind, escape(text)) if text else ""
