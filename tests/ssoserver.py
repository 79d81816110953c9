"""The local IAM Identity Center moved into the package (the demo serves it): :mod:`awswidget.demo.sso_portal`."""

from awswidget.demo.sso_portal import Account, SsoServer, running, serve

__all__ = ["Account", "SsoServer", "running", "serve"]
