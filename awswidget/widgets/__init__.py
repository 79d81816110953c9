"""The widgets: ipywidgets built-ins only, bound to a CredentialsManager.

A widget shows the manager's traits and calls its methods; it never opens a
file, parses config or calls boto3 itself.
"""

from .explorer import ResourceExplorer, connect
from .form import CredentialSetupForm
from .picker import ProfilePicker

__all__ = ["CredentialSetupForm", "ProfilePicker", "ResourceExplorer", "connect"]
