"""The onboarding form: add (or rotate, or remove) a key profile in one cell.

The notebook version of ``aws configure``. Everything goes through the
manager: :meth:`~awswidget.manager.CredentialsManager.verify_keys` checks the
candidate keys with STS, :meth:`~awswidget.manager.CredentialsManager.add_profile`
writes them safely, so every picker on the same manager lists the new profile
at once.

The secret access key, the session token and an imported CSV's content are
never traits of this form. They pass through the synced ``value`` of the
Password and FileUpload widgets only as long as the user needs them there, and
are cleared as soon as a save succeeds or is rejected (validation, verification,
any error, a declined confirmation). A secret imported from a CSV never goes
into a widget at all: it is kept in a private attribute until used.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

from ipywidgets import HTML, Button, Checkbox, Dropdown, FileUpload, HBox, Layout, Password, Text, VBox
from traitlets import Unicode

from .. import _redact, texts
from ..errors import ValidationError, VerificationError
from ..identity import Identity
from ..keys import FIELDS, check_fields, looks_like_secret, not_ready
from ..manager import CredentialsManager
from ..profiles import ProfileInfo
from ..validate import is_temporary_key, mask, suggest_profile_name
from ._common import NO_REGION, colored, escape, follow, log, region_options, resolve_manager, set_busy, shows_errors
from ._held import PASTE_HINT, Candidate, HeldSecret, read_upload
from .confirm import Confirm
from .kinds import ROLE, KindSwitch
from .remove import RemoveSection

__all__ = ["CredentialSetupForm"]

_PARTITIONS = ("aws", "aws-cn", "aws-us-gov")  # the ones a person can get keys for in a browser


def _html(kind: str, text: str) -> str:
    return colored(kind, escape(text))


def _report(form: CredentialSetupForm, message: str) -> None:
    form._say("error", _redact.redact(message))


class CredentialSetupForm(VBox):
    """Add an access-key profile, verify it with STS, and make it the active one.

    Parameters
    ----------
    manager
        The manager to write through (default: :func:`awswidget.default_manager`).
    endpoint_url
        An STS endpoint to verify the keys against (a local AWS endpoint, for
        instance). Without it, verification follows ``AWS_ENDPOINT_URL`` like
        every boto3 client. It is saved with the profile only when the user
        ticks "Save the endpoint URL with the profile".

    Attributes
    ----------
    profile_name, access_key_id, secret_access_key, session_token, region, csv_upload
        The inputs (``session_token`` is shown for temporary ``ASIA…`` keys only;
        ``region.value`` is a region name, ``""`` for none).
    verify_checkbox, select_checkbox, save_endpoint_checkbox
        "Verify before saving" and "Make it the active profile" (both on by
        default); the endpoint choice appears only with ``endpoint_url``.
    save_button, message, field_messages
        Save (enabled once the form is valid), the status line (HTML), and one
        HTML message per field (``field_messages["secret_access_key"]``…, and
        ``"csv"`` for the import).
    save_confirm, remove_confirm
        The questions asked before replacing a profile or saving root keys, and
        before removing a profile: ``.question``, ``.yes_button``, ``.no_button``.
    remove_select, remove_button
        The "Remove a profile" section.
    last_save
        The :class:`~concurrent.futures.Future` of the last save (a
        :class:`~awswidget.profiles.ProfileInfo`, or ``None`` if nothing was saved).

    Notes
    -----
    Clicking Save verifies in a background thread (the status line says
    "Verifying…" and the kernel stays free); :attr:`last_save` is a
    :class:`~concurrent.futures.Future` of that click's outcome.
    :meth:`submit` runs the very same steps but blocks until they are done: it
    is meant for scripts and tests.

    The secret access key, session token and uploaded CSV are cleared from the
    widgets right after a save or a rejection, and are never held in a trait.

    Examples
    --------
    >>> form = CredentialSetupForm()                       # doctest: +SKIP
    >>> form.profile_name.value = "dev"
    >>> form.access_key_id.value = "AKIA..."
    >>> form.secret_access_key.value = "..."
    >>> form.submit()                                      # ProfileInfo, or None
    """

    endpoint_url = Unicode(None, allow_none=True, help="STS endpoint for verification (unsynced).")
    last_saved = Unicode(None, allow_none=True, help="The name of the profile the last save wrote (unsynced).")

    def __init__(self, manager: CredentialsManager | None = None, *, endpoint_url: str | None = None, **kwargs: Any) -> None:
        self.manager = resolve_manager(manager)
        # The only place a secret from a CSV file lives, until it is used or dropped.
        self._lock = threading.RLock()
        self._busy = False
        self._attempted = False
        self._generation = 0
        self._confirmed: set[str] = set()
        self._asking: str | None = None
        self._auto_name = ""  # the profile name the form suggested (not typed by the user)
        self._verified: Identity | None = None
        self._server_errors: dict[str, str] = {}
        self.last_save: Future[ProfileInfo | None] | None = None

        wide = {"description_width": "11em"}  # and 36em inputs: a 40-character secret fits beside its label
        self.title = HTML("<b>Add an AWS profile</b> (access keys of an IAM user)")
        self.csv_upload = FileUpload(accept=".csv", multiple=False, description="Import key CSV", icon="file-import",
                                     layout=Layout(width="auto"))  # its label is never cut off
        self.profile_name = Text(description="Profile name", placeholder="e.g. default, dev, prod", style=wide, layout=Layout(width="36em"))
        self.access_key_id = Text(description="Access key ID", placeholder="AKIA…", style=wide, layout=Layout(width="36em"))
        self.secret_access_key = Password(description="Secret access key", placeholder=PASTE_HINT, style=wide, layout=Layout(width="36em"))
        self.session_token = Password(description="Session token", placeholder="for temporary (ASIA…) keys", style=wide, layout=Layout(width="36em"))
        self._held = HeldSecret(self.secret_access_key, self.session_token)
        self.region = Dropdown(description="Region", style=wide, layout=Layout(width="36em"))
        self.verify_checkbox = Checkbox(value=True, description="Verify before saving", indent=False)
        self.select_checkbox = Checkbox(value=True, description="Make it the active profile", indent=False)
        self.save_endpoint_checkbox = Checkbox(value=False, description="Save the endpoint URL with the profile", indent=False)
        self.save_button = Button(description="Save", button_style="primary", icon="save", disabled=True)
        self.save_hint = HTML()  # why Save is disabled
        self.save_confirm = Confirm("Save anyway")
        self.message = HTML()
        self.field_messages = {name: HTML() for name in (*FIELDS, "csv")}

        self.remove_section = RemoveSection(self.manager, say=self._say)
        self.remove_select = self.remove_section.remove_select
        self.remove_button = self.remove_section.remove_button
        self.remove_confirm = self.remove_section.remove_confirm

        self._token_row = self._row(self.session_token)
        self._token_row.layout.display = "none"  # shown for temporary (ASIA…) keys only
        self._endpoint_row = HBox([self.save_endpoint_checkbox])
        rows = [
            self.title,
            HBox([self.csv_upload, self.field_messages["csv"]]),
            self._row(self.profile_name),
            self._row(self.access_key_id),
            self._row(self.secret_access_key),
            self._token_row,
            self._row(self.region),
            HBox([self.verify_checkbox, self.select_checkbox]),
            self._endpoint_row,
            HBox([self.save_button, self.save_hint], layout=Layout(align_items="center")),
            self.save_confirm,
            self.message,
        ]
        self.kinds = KindSwitch(self.manager, VBox(rows), endpoint_url=endpoint_url, on_saved=self._pane_saved)
        super().__init__([self.kinds, self.remove_section], **kwargs)
        self.endpoint_url = endpoint_url
        # Stable CSS classes: selectors for custom styling and the browser tests.
        self.add_class("awswidget-form")
        for name in (*FIELDS, "save_button", "message"):
            getattr(self, name).add_class(f"awswidget-{name.replace('_', '-')}")
        for name, widget in self.field_messages.items():
            widget.add_class(f"awswidget-{name.replace('_', '-')}-message")
        self._inputs = (self.csv_upload, self.profile_name, self.access_key_id, self.secret_access_key,
                        self.session_token, self.region, self.verify_checkbox, self.select_checkbox,
                        self.save_endpoint_checkbox)

        for widget in (self.profile_name, self.access_key_id, self.secret_access_key, self.session_token,
                       self.region, self.verify_checkbox, self.select_checkbox, self.save_endpoint_checkbox):
            widget.observe(self._on_field_change, names="value")
        self.csv_upload.observe(self._on_upload, names="value")
        self.save_button.on_click(self._on_save_click)
        self._unfollow = follow(self.manager, self, "_on_profiles", "profiles")  # held weakly by the manager
        self.observe(self._on_endpoint, names="endpoint_url")

        self._on_endpoint(None)
        self._on_profiles(None)
        self._reset()

    @property
    def role_pane(self) -> Any:
        """The "Role" pane (:class:`~awswidget.widgets.role_form.RoleSetupPane`), built when first asked for."""
        return self.kinds.pane(ROLE)

    def _pane_saved(self, name: str | None) -> None:
        self.last_saved = name

    def _row(self, widget: Any) -> HBox:
        # The input keeps its width when its message appears, so the fields stay lined up.
        widget.layout.flex = "0 0 auto"
        return HBox([widget, self.field_messages[_field_name(self, widget)]], layout=Layout(align_items="center"))

    def __repr__(self) -> str:
        key = mask(self.access_key_id.value.strip()) if self.access_key_id.value else ""
        return (
            f"CredentialSetupForm(profile_name={self.profile_name.value!r}, access_key_id={key!r}, "
            f"region={self.region.value or None!r}, manager={self.manager!r})"
        )

    __str__ = __repr__

    def close(self) -> None:
        """Stop following the manager and close the form's widgets (dropping any secret)."""
        stop = getattr(self, "_unfollow", None)  # close() also runs from __del__, maybe half-built
        if stop is not None:
            stop()
        if hasattr(self, "_inputs"):
            self._clear_secrets()
            pending = list(self.children)
            while pending:
                widget = pending.pop()
                pending.extend(getattr(widget, "children", ()))
                widget.close()
        super().close()

    # ------------------------------------------------------------------ public

    def submit(self) -> ProfileInfo | None:
        """Do what clicking Save does, blocking until it is done (for scripts and tests).

        Returns the saved :class:`~awswidget.profiles.ProfileInfo`, or ``None``
        when nothing was saved: the form was rejected (the status line and the
        field messages say why) or it waits for a confirmation (``save_confirm``
        is visible; answer with :meth:`confirm` or its buttons).
        """
        return self._save(background=False).result()

    def prefill(self, access_key_id: str, secret_access_key: str, session_token: str | None = None, *,
                source: str, name: str | None = None) -> None:
        """Fill the form with keys found elsewhere (``source`` says where); the secret stays out of every widget."""
        self._take_keys(access_key_id, secret_access_key, session_token, hint=f"from {source} (type to replace)", name=name)
        self._say("info", f"Filled in from {source}: check the name and region, then Save.")

    def confirm(self) -> ProfileInfo | None:
        """Answer yes to the pending save question (overwrite, root keys), blocking like :meth:`submit`."""
        if self._asking is None:
            return None
        self._confirmed.add(self._asking)
        self.save_confirm.dismiss()
        return self._save(background=False).result()

    # ------------------------------------------------------------------ validation


    def _check(self) -> tuple[dict[str, str], dict[str, list[str]], dict[str, Any]]:
        """Validate every field (the same checks add_profile makes): errors, warnings and the cleaned values."""
        result = check_fields(
            profile_name=self.profile_name.value,
            access_key_id=self.access_key_id.value,
            secret_access_key=self._held.secret_value(),
            session_token=self._held.token_value(),
            region=self.region.value or None,
            existing=self.manager.profiles,
        )
        return result.errors, result.warnings, result.values

    def _empty(self, name: str) -> bool:
        if name == "secret_access_key":
            return not self._held.secret_value().strip()
        return not str(getattr(self, name).value or "").strip()

    def _revalidate(self) -> dict[str, str]:
        errors, warnings, _ = self._check()
        for name in FIELDS:
            error = errors.get(name)
            if error and self._empty(name) and not self._attempted and name != "session_token":
                # "Enter a value" only once the user tried to save; the token field is the exception:
                # it appears for ASIA keys, and the message says why it did.
                error = None
            if name in self._server_errors:  # what AWS said about this field, until the field changes
                html = _html("error", self._server_errors[name])
            elif error:
                html = _html("error", error)
            else:
                html = _html("warning", " ".join(warnings.get(name, [])))
            self.field_messages[name].value = html
        self.save_button.disabled = bool(errors) or self._busy
        self.save_button.tooltip = "" if not errors else "Not ready: " + "; ".join(errors.values())
        # A disabled Save says why, also before the first attempt (an empty field is not marked until then).
        why = not_ready(errors, {name for name in FIELDS if self._empty(name)})
        self.save_hint.value = _html("info", why) if why and not self._busy else ""
        return errors

    # ------------------------------------------------------------------ observers

    @shows_errors(_report)
    def _on_field_change(self, change: Any) -> None:
        with self._lock:
            name = _field_name(self, change.owner)
            if self._held.moved(change):
                return  # moved out of the widget, not edited: the pending question stands
            self._invalidate()
            self._server_errors.pop(name, None)
            if name == "access_key_id":
                self._server_errors.pop("secret_access_key", None)
                if self._held.key_id is not None and change.new.strip() != self._held.key_id:
                    self._held.drop()  # a held secret belongs to its key only
                temporary = is_temporary_key(change.new)
                self._token_row.layout.display = None if temporary else "none"
                if not temporary and self.session_token.value:
                    self.session_token.value = ""  # a token without its temporary key is useless: drop it
            elif name == "secret_access_key" and change.new and self._held.secret is not None:
                self._held.drop()
            self._revalidate()

    def _invalidate(self) -> None:
        """The values changed (or were dropped): answers and verdicts about the old ones no longer hold."""
        self._generation += 1
        self._confirmed.clear()
        self._verified = None
        self._asking = None
        self.save_confirm.dismiss()

    @shows_errors(_report)
    def _on_profiles(self, _change: Any) -> None:
        names = tuple(self.manager.profiles)
        self.remove_section.sync(names)
        self._revalidate()

    def _on_endpoint(self, _change: Any) -> None:
        url = self.endpoint_url
        self.save_endpoint_checkbox.description = f"Save the endpoint URL ({url}) with the profile" if url else ""
        self._endpoint_row.layout.display = None if url else "none"
        self.kinds.set_endpoint(url)

    # ------------------------------------------------------------------ CSV import

    @shows_errors(_report)
    def _on_upload(self, change: Any) -> None:
        if not change.new:
            return
        filename, parsed, error = read_upload(change.new[0])
        self.csv_upload.value = ()  # the file's content (secret, console password) leaves the widget state now
        if parsed is None:
            self._held.drop()
            self.field_messages["csv"].value = _html("error", f"{filename}: {error}")
            return
        self._take_keys(parsed.access_key_id, parsed.secret_access_key, None, hint=f"imported from {filename} (type to replace)",
                        name=suggest_profile_name(parsed.user_name))
        user = f" of IAM user {parsed.user_name}" if parsed.user_name else ""
        self.field_messages["csv"].value = _html("ok", f"Imported key {mask(parsed.access_key_id)}{user} from {filename}.")

    def _take_keys(self, key_id: str, secret: str, token: str | None, *, hint: str, name: str | None) -> None:
        """Keys from elsewhere (a CSV file, a cell): the secret is held, never put into a widget."""
        with self._lock:
            self.secret_access_key.value = ""
            self._held.keep(key_id, secret, hint=hint)  # before the key ID changes, so that change keeps it
            self._held.token = token
            self.access_key_id.value = key_id
            if name and self.profile_name.value.strip() in ("", self._auto_name) and name not in self.manager.profiles:
                self._suggest_name(name)  # never over a name the user typed
            self._revalidate()

    def _suggest_name(self, name: str) -> None:
        self.profile_name.value = name
        self._auto_name = name

    # ------------------------------------------------------------------ saving

    def _on_save_click(self, _button: Any) -> None:
        self._save(background=True)

    def _save(self, *, background: bool) -> Future[ProfileInfo | None]:
        future: Future[ProfileInfo | None] = Future()
        self.last_save = future
        with self._lock:
            if self._busy:
                self._say("warning", "Still verifying the keys; wait for the result.")
                future.set_result(None)
                return future
            try:
                candidate = self._prepare()
            except Exception as exc:  # any failure is a rejection: the secret goes
                self._reject(exc)
                future.set_result(None)
                return future
            if candidate is None:
                future.set_result(None)
                return future
            generation = self._generation
            verifying = candidate.verify and self._verified is None
            if verifying:
                self._set_busy(True)
                self._say("info", f"Verifying key {mask(candidate.access_key_id)} with AWS STS…")
        if verifying and background:
            threading.Thread(
                target=self._finish_into, args=(candidate, generation, future), daemon=True, name="awswidget-form-save"
            ).start()
        else:
            self._finish_into(candidate, generation, future)  # the network call, if any, runs outside the lock
        return future

    def _finish_into(self, candidate: Candidate, generation: int, future: Future[ProfileInfo | None]) -> None:
        try:
            future.set_result(self._finish(candidate, generation))
        except BaseException as exc:  # _finish handles errors; this is the last resort
            future.set_exception(exc)

    def _prepare(self) -> Candidate | None:
        """Check the form; ``None`` while a confirmation is pending."""
        self._attempted = True
        errors = self._revalidate()
        if errors:
            first = next(name for name in FIELDS if name in errors)
            raise ValidationError(first, f"fix the marked field{'s' if len(errors) > 1 else ''} ({errors[first].rstrip('.')})")
        _, _, values = self._check()
        exists = values["profile_name"] in self.manager.profiles
        candidate = Candidate(
            name=values["profile_name"], access_key_id=values["access_key_id"], secret_access_key=values["secret_access_key"],
            session_token=values["session_token"], region=values["region"], endpoint_url=self.endpoint_url, exists=exists,
            # Every choice is read now, at the click: the worker thread reads no widget.
            verify=self.verify_checkbox.value, select=self.select_checkbox.value, save_endpoint=self.save_endpoint_checkbox.value,
        )
        if exists and "overwrite" not in self._confirmed:
            paths = " and ".join(self.manager.profile_info(candidate.name).sources) or "the shared files"
            self._ask(
                "overwrite",
                f"Profile '{candidate.name}' already exists in {paths}. Replace its keys with "
                f"{mask(candidate.access_key_id)} (rotate keys)?",
                "Replace",
            )
            return None
        return candidate

    def _finish(self, candidate: Candidate, generation: int) -> ProfileInfo | None:
        """Verify (when asked), then write; every way out leaves no secret in the widgets."""
        try:
            identity = self._verified
            if candidate.verify and identity is None:
                identity = self.manager.verify_keys(candidate.access_key_id, candidate.secret_access_key, candidate.session_token,
                                                    region=candidate.region, endpoint_url=candidate.endpoint_url)
                with self._lock:
                    if generation != self._generation:
                        raise VerificationError("The form changed while the keys were being verified; nothing was saved.")
                    self._verified = identity
                if identity.is_root and "root" not in self._confirmed:
                    self._ask(
                        "root",
                        f"These are the <b>root</b> credentials of account {escape(identity.account)}. AWS recommends "
                        "using an IAM user's access keys (or a role) instead: root keys can do anything, including "
                        "closing the account. Save the root keys anyway?",
                        "Save root keys",
                        trusted_html=True,
                    )
                    return None
            info = self.manager.add_profile(
                candidate.name, candidate.access_key_id, candidate.secret_access_key, region=candidate.region,
                session_token=candidate.session_token, overwrite=candidate.exists,
                endpoint_url=candidate.endpoint_url if candidate.save_endpoint else None, select=candidate.select,
                # The keys just passed STS: the manager need not ask again, unless they were checked against an
                # endpoint the profile will not use.
                identity=identity if candidate.endpoint_url is None or candidate.save_endpoint else None,
            )
        except Exception as exc:  # a rejection: say why, keep nothing
            self._reject(exc)
            return None
        finally:
            self._set_busy(False)
        self._succeeded(candidate, info, identity)
        return info

    def _succeeded(self, candidate: Candidate, info: ProfileInfo, identity: Identity | None) -> None:
        verb = "Replaced the keys of" if candidate.exists else "Saved"
        text = f"{verb} profile '{info.name}' (key {mask(candidate.access_key_id)}) in {' and '.join(info.sources)}."
        if identity is not None:
            text += f" Verified: account {identity.account}, {texts.who(identity)}."
        if candidate.select:
            text += " It is now the active profile."
        self._reset()
        self._say("ok", text)
        self.last_saved = info.name

    def _reject(self, error: BaseException | str) -> None:
        """Nothing was saved: drop the secrets, then say why (next to the field at fault, if known)."""
        with self._lock:
            self._clear_secrets()
            self._invalidate()
            # Our errors name the file, line and field, never a value; an unexpected error's text might.
            reason = _redact.redact(str(error) or type(error).__name__)
            field_name = getattr(error, "field", None)
            if isinstance(error, VerificationError) and field_name in FIELDS:
                self._server_errors[field_name] = reason
            self._revalidate()
        if isinstance(error, BaseException) and not isinstance(error, (ValidationError, VerificationError)):
            log.warning("Saving the profile failed: %s", reason)
        self._say("error", f"Not saved: {reason.rstrip('.')}. Enter the secret again to retry.")

    def _ask(self, kind: str, question: str, yes_label: str, *, trusted_html: bool = False) -> None:
        self._held.hold_typed(self.access_key_id.value.strip())  # a question may stay open for long: not in widget state
        self._asking = kind
        self.save_confirm.yes_button.description = yes_label
        self.save_confirm.ask(question if trusted_html else escape(question), self._confirmed_click, self._declined)
        self._say("warning", "Waiting for your answer below the Save button.")

    @shows_errors(_report)
    def _confirmed_click(self) -> None:
        if self._asking is not None:
            self._confirmed.add(self._asking)
        self._save(background=True)

    @shows_errors(_report)
    def _declined(self) -> None:
        self._reject("you cancelled; the shared files were left unchanged.")

    def _clear_secrets(self) -> None:
        self._held.drop()
        self.secret_access_key.value = ""
        self.session_token.value = ""
        self.csv_upload.value = ()
        # Pasted into the wrong field, a secret sits in a plain Text widget: anything shaped like one goes too.
        for widget in (self.access_key_id, self.profile_name):
            if looks_like_secret(widget.value):
                widget.value = ""

    def _reset(self) -> None:
        """Empty the form for the next profile (the checkboxes keep the user's choice)."""
        with self._lock:
            self._clear_secrets()
            self.access_key_id.value = ""
            self._suggest_name("" if self.manager.profiles else "default")  # the first profile: boto3's default
            region = self.manager.region or NO_REGION
            self.region.options = region_options(region, _PARTITIONS)
            self.region.value = region
            self.field_messages["csv"].value = ""
            self._server_errors.clear()
            self._attempted = False
            self._revalidate()

    def _set_busy(self, busy: bool) -> None:
        set_busy(self, busy)

    def _say(self, kind: str, text: str) -> None:
        self.message.value = _html(kind, text)


def _field_name(form: CredentialSetupForm, widget: Any) -> str:
    """The attribute name of one of the form's fields."""
    return next(n for n in (*FIELDS, "verify_checkbox", "select_checkbox", "save_endpoint_checkbox") if getattr(form, n, None) is widget)
