"""awswidget: connect a Jupyter notebook to AWS.

A profile picker and a credential setup form (ipywidgets) bound to one
credentials manager (a traitlets model), which installs the selected profile
as boto3's default session.

The core (everything but :mod:`awswidget.widgets`) does not import ipywidgets;
the widget classes are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    AwsWidgetError,
    ConfigFileError,
    FileChangedError,
    ProfileExistsError,
    ProfileNotFoundError,
    SelectionError,
    ValidationError,
    VerificationError,
    WriteError,
)

__version__ = "0.1.0"

__all__ = [
    "AwsWidgetError",
    "ConfigFileError",
    "CredentialSetupForm",
    "CredentialsManager",
    "FileChangedError",
    "Identity",
    "ProfileExistsError",
    "ProfileInfo",
    "ProfileNotFoundError",
    "ProfilePicker",
    "ResourceExplorer",
    "SelectionError",
    "ValidationError",
    "VerificationError",
    "WriteError",
    "__version__",
    "connect",
    "default_manager",
    "load_ipython_extension",
]

_LAZY = {
    "CredentialsManager": "awswidget.manager",
    "default_manager": "awswidget.manager",
    "Identity": "awswidget.identity",
    "ProfileInfo": "awswidget.profiles",
    "ProfilePicker": "awswidget.widgets",
    "CredentialSetupForm": "awswidget.widgets",
    "ResourceExplorer": "awswidget.widgets",
    "connect": "awswidget.widgets",
}

if TYPE_CHECKING:
    from .identity import Identity
    from .manager import CredentialsManager, default_manager
    from .profiles import ProfileInfo
    from .widgets import CredentialSetupForm, ProfilePicker, ResourceExplorer, connect


def __getattr__(name: str) -> Any:
    # Lazy, so that `import awswidget` stays cheap and never pulls in ipywidgets
    # (or boto3) until a widget or the manager is used.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'awswidget' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext awswidget``: register the ``%aws`` magic."""
    from .magics import load_ipython_extension as load

    load(ipython)


def __dir__() -> list[str]:
    return sorted(__all__)
