"""The setup form's kind selector: "Access keys | Role | IAM Identity Center", each pane built when first shown.

The IAM Identity Center pane (``SsoSetupPane(manager)`` in :mod:`awswidget.widgets.sso_form`) is
offered only where that module exists.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ipywidgets import ToggleButtons, VBox

from ..manager import CredentialsManager
from .role_form import RoleSetupPane

try:  # by name: import-linter maps an import of a module that is not there yet to the root package
    SsoSetupPane: Any = importlib.import_module(".sso_form", __package__).SsoSetupPane
except ImportError:  # a build without the IAM Identity Center pane
    SsoSetupPane = None

__all__ = ["KEYS", "ROLE", "SSO", "KindSwitch"]

KEYS, ROLE, SSO = "Access keys", "Role", "IAM Identity Center"


class KindSwitch(VBox):
    """The selector over the panes; ``on_saved(name)`` hears each pane's ``last_saved``."""

    def __init__(self, manager: CredentialsManager, keys_pane: Any, *, endpoint_url: str | None,
                 on_saved: Callable[[str | None], None]) -> None:
        self.manager = manager
        self.endpoint_url = endpoint_url
        self._on_saved = on_saved
        factories: dict[str, Callable[[], Any]] = {ROLE: lambda: RoleSetupPane(manager, endpoint_url=self.endpoint_url)}
        if SsoSetupPane is not None:
            factories[SSO] = lambda: SsoSetupPane(manager)
        self._factories = factories
        self.panes: dict[str, Any] = {KEYS: keys_pane}
        self.kind = ToggleButtons(options=[KEYS, *factories], value=KEYS, tooltips=[
            "An IAM user's access key ID and secret", "A role assumed with another profile's credentials",
            "Accounts and roles behind an IAM Identity Center (SSO) start URL"][: 1 + len(factories)])
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
