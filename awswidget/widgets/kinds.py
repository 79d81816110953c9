"""The setup form's kind selector: "Access keys | Role | IAM Identity Center", each pane built when first shown.

The panes: the key rows of :class:`~awswidget.widgets.form.CredentialSetupForm`,
:class:`~awswidget.widgets.role_form.RoleSetupPane` and
:class:`~awswidget.widgets.sso_form.SsoSetupPane`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ipywidgets import ToggleButtons, VBox

from ..manager import CredentialsManager
from .role_form import RoleSetupPane
from .sso_form import SsoSetupPane

__all__ = ["KEYS", "ROLE", "SSO", "KindSwitch"]

KEYS, ROLE, SSO = "Access keys", "Role", "IAM Identity Center"


class KindSwitch(VBox):
    """The selector over the panes; ``on_saved(name)`` hears each pane's ``last_saved``."""

    def __init__(self, manager: CredentialsManager, keys_pane: Any, *, endpoint_url: str | None,
                 on_saved: Callable[[str | None], None]) -> None:
        self.manager = manager
        self.endpoint_url = endpoint_url
        self._on_saved = on_saved
        factories: dict[str, Callable[[], Any]] = {
            ROLE: lambda: RoleSetupPane(manager, endpoint_url=self.endpoint_url),
            SSO: lambda: SsoSetupPane(manager),
        }
        self._factories = factories
        self.panes: dict[str, Any] = {KEYS: keys_pane}
        self.kind = ToggleButtons(options=[KEYS, *factories], value=KEYS, tooltips=[
            "An IAM user's access key ID and secret", "A role assumed with another profile's credentials",
            "Accounts and roles behind an IAM Identity Center (SSO) start URL"])
        self.kind.add_class("awswidget-kind")
        super().__init__([self.kind, keys_pane])
        self.kind.observe(self._on_kind, names="value")

    def pane(self, kind: str) -> Any:
        """The pane of ``kind`` (built now if it was never shown)."""
        if kind not in self.panes:
            pane = self.panes[kind] = self._factories[kind]()
            if "last_saved" in getattr(pane, "trait_names", lambda: ())():
                pane.observe(lambda change: self._on_saved(change.new), names="last_saved")
        return self.panes[kind]

    def set_endpoint(self, url: str | None) -> None:
        self.endpoint_url = url
        role = self.panes.get(ROLE)
        if role is not None:
            role.endpoint_url = url

    def _on_kind(self, change: Any) -> None:
        self.children = (self.kind, self.pane(change.new))

    def close(self) -> None:
        for pane in getattr(self, "panes", {}).values():
            pane.close()
        super().close()
