"""The local AWS Sign-In moved into the package (the demo serves it): :mod:`awswidget.demo.signin`."""

from awswidget.demo.signin import LoginServer, Refused, check_dpop

__all__ = ["LoginServer", "Refused", "check_dpop"]
