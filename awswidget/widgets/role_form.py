"""The "Role" pane of the setup form: a role profile, verified by assuming the role before it is saved.

Every check is :func:`awswidget.roles.check_role_fields` (shown field by field as
the user types) and every write is :meth:`~awswidget.manager.CredentialsManager.add_role_profile`.
The pane holds no secret: the MFA code is taken out of its (synced) text box the
moment Save reads it, whatever happens next.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

from ipywidgets import HTML, Button, Checkbox, Dropdown, HBox, Layout, Text, VBox
from traitlets import Unicode

from .. import _redact, texts
from ..errors import ValidationError, VerificationError
from ..manager import CredentialsManager
from ..mfa import is_code
from ..profiles import ProfileInfo
from ..roles import CREDENTIAL_SOURCES, OUTPUTS, check_role_fields
from ._common import NO_REGION, colored, escape, follow, log, region_options, resolve_manager, set_busy, shows_errors
from .confirm import Confirm

__all__ = ["RoleSetupPane"]

_SOURCE_LABELS = {
    "Environment": "environment variables (credential_source)",
    "Ec2InstanceMetadata": "this EC2 instance's role (credential_source)",
    "EcsContainer": "this ECS task's role (credential_source)",
}
#: The inputs, in the order of the form (their names are the fields' names, ``source`` aside).
INPUTS = ("profile_name", "role_arn", "source", "mfa_serial", "mfa_code", "external_id", "role_session_name",
          "duration_seconds", "region", "output")
_LABELS = {"profile_name": "Profile name", "role_arn": "Role ARN", "source": "Credentials from", "mfa_serial": "MFA device",
           "mfa_code": "MFA code", "external_id": "External ID", "role_session_name": "Session name",
           "duration_seconds": "Duration (s)", "region": "Region", "output": "Output"}
_HINTS = {"profile_name": "e.g. prod-admin", "role_arn": "arn:aws:iam::123456789012:role/NAME",
          "mfa_serial": "optional: arn:aws:iam::123456789012:mfa/NAME", "mfa_code": "6-digit code (checked once, not kept)",
          "external_id": "optional, if the role's owner gave you one", "role_session_name": "optional (botocore picks one)",
          "duration_seconds": "optional: 900 to 43200 (role's maximum)"}


def _slot(field: str | None) -> str | None:
    """The input a field's problem is shown beside."""
    return "source" if field in ("source_profile", "credential_source") else field


def _report(pane: RoleSetupPane, message: str) -> None:
    pane._say("error", _redact.redact(message))


class RoleSetupPane(VBox):
    """Add a role profile (``role_arn`` + ``source_profile`` or ``credential_source``), verified with STS AssumeRole.

    Attributes
    ----------
    profile_name, role_arn, source, mfa_serial, mfa_code, external_id, role_session_name, duration_seconds, region, output
        The inputs. ``source.value`` is ``("profile", NAME)`` or ``("credential_source", "Environment")``…;
        ``mfa_code`` is shown once an MFA device is entered.
    verify_checkbox, select_checkbox, save_endpoint_checkbox
        "Assume the role before saving", "Make it the active profile", and (with ``endpoint_url``)
        "Use and save the endpoint URL" (on by default: the check and the profile then reach the same STS).
    save_button, save_confirm, message, field_messages
        As in the key form: ``field_messages[name]`` for each input.
    last_saved
        The name of the profile the last save wrote.
    """

    endpoint_url = Unicode(None, allow_none=True, help="An STS endpoint for the check and the profile (unsynced).")
    last_saved = Unicode(None, allow_none=True, help="The name of the profile the last save wrote (unsynced).")

    def __init__(self, manager: CredentialsManager | None = None, *, endpoint_url: str | None = None, **kwargs: Any) -> None:
        self.manager = resolve_manager(manager)
        self._lock = threading.RLock()
        self._busy = False
        self._attempted = False
        self._confirmed = False
        self._server_errors: dict[str, str] = {}
        self._code = ""  # the MFA code, out of the widget while "replace it?" is open; dropped after each attempt
        self.last_save: Future[ProfileInfo | None] | None = None
        wide = {"description_width": "11em"}
        self.title = HTML("<b>Add a role profile</b> (assume an IAM role with the credentials of another profile)")
        for name in INPUTS:
            kind = Dropdown if name in ("source", "region", "output") else Text
            widget = kind(description=_LABELS[name], style=wide, layout=Layout(width="36em", flex="0 0 auto"))
            if name in _HINTS:
                widget.placeholder = _HINTS[name]
            setattr(self, name, widget)
        self.output.options = [("(none)", ""), *((o, o) for o in OUTPUTS)]
        self.verify_checkbox = Checkbox(value=True, description="Assume the role before saving", indent=False)
        self.select_checkbox = Checkbox(value=True, description="Make it the active profile", indent=False)
        self.save_endpoint_checkbox = Checkbox(value=True, indent=False)
        self.save_button = Button(description="Save", button_style="primary", icon="save", disabled=True)
        self.save_hint = HTML()
        self.save_confirm = Confirm("Replace")
        self.message = HTML()
        self.field_messages = {name: HTML() for name in INPUTS}
        self._rows = {name: HBox([getattr(self, name), self.field_messages[name]], layout=Layout(align_items="center"))
                      for name in INPUTS}
        self._endpoint_row = HBox([self.save_endpoint_checkbox])
        super().__init__([self.title, *self._rows.values(), HBox([self.verify_checkbox, self.select_checkbox]), self._endpoint_row,
                          HBox([self.save_button, self.save_hint], layout=Layout(align_items="center")), self.save_confirm,
                          self.message], **kwargs)
        self.add_class("awswidget-role-form")
        self._inputs = (*(getattr(self, n) for n in INPUTS), self.verify_checkbox, self.select_checkbox, self.save_endpoint_checkbox)
        for widget in self._inputs:
            widget.observe(self._on_change, names="value")
        self.save_button.on_click(lambda _b: self._save(background=True))
        self.endpoint_url = endpoint_url
        self.observe(lambda _change: self._revalidate(), names="endpoint_url")
        self._unfollow = follow(self.manager, self, "_on_profiles", "profiles")  # held weakly by the manager
        self.sync_profiles()
        self._reset()

    def close(self) -> None:
        """Stop following the manager and close the pane's widgets."""
        stop = getattr(self, "_unfollow", None)
        if stop is not None:
            stop()
        self._code = ""
        for widget in (*getattr(self, "_inputs", ()), *getattr(self, "_rows", {}).values()):
            widget.close()
        super().close()

    @shows_errors(_report)
    def _on_profiles(self, _change: Any) -> None:
        self.sync_profiles()

    def __repr__(self) -> str:
        return f"RoleSetupPane(profile_name={self.profile_name.value!r}, role_arn={self.role_arn.value!r})"

    # ------------------------------------------------------------------ public

    def submit(self) -> ProfileInfo | None:
        """Do what clicking Save does, blocking until it is done; ``None`` when nothing was saved (the pane says why)."""
        return self._save(background=False).result()

    def confirm(self) -> ProfileInfo | None:
        """Answer yes to "replace the existing profile?", blocking like :meth:`submit`."""
        if not self.save_confirm.visible:
            return None
        self.save_confirm.dismiss()
        self._confirmed = True
        return self.submit()

    @shows_errors(_report)
    def _confirmed_click(self) -> None:
        self._confirmed = True
        self._save(background=True)

    @shows_errors(_report)
    def _declined(self) -> None:
        self._code = ""
        self._say("info", "Nothing was saved.")

    def sync_profiles(self) -> None:
        """List the manager's profiles as sources, keeping the chosen one."""
        with self._lock:
            options = [(name, ("profile", name)) for name in self.manager.profiles]
            options += [(_SOURCE_LABELS[s], ("credential_source", s)) for s in CREDENTIAL_SOURCES]
            current = self.source.value
            if options != list(self.source.options):
                self.source.options = options
                values = [v for _, v in options]
                selected = ("profile", self.manager.profile)
                self.source.value = current if current in values else selected if selected in values else (values[0] if values else None)
            self._revalidate()

    # ------------------------------------------------------------------ checking

    def _values(self) -> dict[str, Any]:
        kind, value = self.source.value or (None, None)
        endpoint = self.endpoint_url if self.endpoint_url and self.save_endpoint_checkbox.value else None
        return {
            "profile_name": self.profile_name.value, "role_arn": self.role_arn.value,
            "source_profile": value if kind == "profile" else None, "credential_source": value if kind == "credential_source" else None,
            "mfa_serial": self.mfa_serial.value, "external_id": self.external_id.value,
            "role_session_name": self.role_session_name.value, "duration_seconds": self.duration_seconds.value,
            "region": self.region.value or None, "output": self.output.value or None, "endpoint_url": endpoint,
        }

    def _errors(self) -> dict[str, str]:
        result = check_role_fields(**self._values(), existing=self.manager.profiles)
        errors = {str(_slot(name)): reason for name, reason in result.errors.items()}
        if self.mfa_serial.value.strip() and self.verify_checkbox.value and not is_code(self.mfa_code.value or self._code):
            errors["mfa_code"] = "Enter the current 6-digit code of this MFA device: the role is assumed with it before saving."
        return errors

    def _revalidate(self) -> dict[str, str]:
        errors = self._errors()
        for name in INPUTS:
            error = self._server_errors.get(name) or errors.get(name)
            if error and name not in self._server_errors and not self._attempted and not str(getattr(self, name).value or "").strip():
                error = None  # an empty field is marked once the user tried to save
            self.field_messages[name].value = colored("error", escape(error)) if error else ""
        self._rows["mfa_code"].layout.display = None if self.mfa_serial.value.strip() and self.verify_checkbox.value else "none"
        self._endpoint_row.layout.display = None if self.endpoint_url else "none"
        self.save_endpoint_checkbox.description = f"Use and save the endpoint URL ({self.endpoint_url})" if self.endpoint_url else ""
        self.save_button.disabled = bool(errors) or self._busy
        missing = [_LABELS[n].lower() for n in INPUTS if n in errors]
        self.save_hint.value = colored("info", escape(f"To save, fill in or fix: {', '.join(missing)}.")) if missing and not self._busy else ""
        return errors

    @shows_errors(_report)
    def _on_change(self, change: Any) -> None:
        with self._lock:
            name = next((n for n in INPUTS if getattr(self, n) is change.owner), None)
            if name == "mfa_code" and not change.new:
                return  # taken out by Save, not edited
            self._server_errors.pop(str(name), None)
            if name in ("source", "role_arn", "external_id", "mfa_serial"):
                self._server_errors.pop("source", None)  # an AccessDenied was about this combination
            self._confirmed = False
            self.save_confirm.dismiss()
            self._revalidate()

    # ------------------------------------------------------------------ saving

    def _save(self, *, background: bool) -> Future[ProfileInfo | None]:
        future: Future[ProfileInfo | None] = Future()
        self.last_save = future
        with self._lock:
            self._code, self.mfa_code.value = self.mfa_code.value or self._code, ""  # out of the widget state at once
            self._attempted = True
            errors = {} if self._busy else self._revalidate()
            values = self._values()
            name = values["profile_name"].strip()
            exists = name in self.manager.profiles
            if self._busy or errors:
                self._code = "" if not self._busy else self._code
                self._say("warning" if self._busy else "error", "Still checking the role; wait for the result." if self._busy
                          else "Not saved: fix the marked fields.")
                future.set_result(None)
                return future
            if exists and not self._confirmed:
                where = " and ".join(self.manager.profile_info(name).sources) or "the shared files"
                self.save_confirm.ask(escape(f"Profile '{name}' already exists in {where}. Replace it with this role?"),
                                      self._confirmed_click, self._declined)
                self._say("warning", "Waiting for your answer below the Save button.")
                future.set_result(None)
                return future
            options = {"overwrite": exists, "select": self.select_checkbox.value, "verify": self.verify_checkbox.value,
                       "mfa_code": self._code if values["mfa_serial"].strip() else None}
            self._code = ""
            self._set_busy(True)
            self._say("info", f"Assuming {values['role_arn'].strip()} with STS…" if options["verify"] else "Saving…")
        args = (values, options, exists, future)
        if background:
            threading.Thread(target=self._finish, args=args, daemon=True, name="awswidget-role-save").start()
        else:
            self._finish(*args)
        return future

    def _finish(self, values: dict[str, Any], options: dict[str, Any], exists: bool, future: Future[ProfileInfo | None]) -> None:
        try:
            name = values.pop("profile_name")
            info = self.manager.add_role_profile(name, values.pop("role_arn"), **values, **options)
        except Exception as exc:  # a rejection: say why, next to the field at fault
            self._reject(exc)
            future.set_result(None)
            return
        finally:
            self._set_busy(False)
        identity = self.manager.identity if options["select"] else None
        text = f"{'Replaced' if exists else 'Saved'} role profile '{info.name}' in {' and '.join(info.sources)}."
        if identity is not None and self.manager.profile == info.name:
            text += f" Verified: account {identity.account}, {texts.who(identity)}. It is now the active profile."
        self._reset()
        self._say("ok", text)
        self.last_saved = info.name
        future.set_result(info)

    def _reject(self, error: BaseException) -> None:
        reason = _redact.redact(str(error) or type(error).__name__)
        with self._lock:
            self._confirmed = False
            slot = _slot(getattr(error, "field", None))
            if isinstance(error, (ValidationError, VerificationError)) and slot in INPUTS:
                self._server_errors[slot] = reason
            self._revalidate()
        if not isinstance(error, (ValidationError, VerificationError)):
            log.warning("Saving the role profile failed: %s", reason)
        self._say("error", f"Not saved: {reason.rstrip('.')}.")

    def _reset(self) -> None:
        with self._lock:
            for name in ("profile_name", "role_arn", "mfa_serial", "mfa_code", "external_id", "role_session_name", "duration_seconds"):
                getattr(self, name).value = ""
            region = self.manager.region or NO_REGION
            self.region.options = region_options(region, ("aws", "aws-cn", "aws-us-gov"))
            self.region.value = region
            self.output.value = ""
            self._server_errors.clear()
            self._attempted = self._confirmed = False
            self._revalidate()

    def _set_busy(self, busy: bool) -> None:
        set_busy(self, busy)

    def _say(self, kind: str, text: str) -> None:
        self.message.value = colored(kind, escape(text))
