"""The demo: made-up AWS accounts on a local endpoint, and the ``awswidget demo`` runner.

A sandbox is a folder holding a ``config`` and a ``credentials`` file, and a
local AWS endpoint (moto's server on 127.0.0.1) seeded with resources that
differ per account. It checks request signatures as AWS does, so a wrong
secret is refused (``SignatureDoesNotMatch``) and so is an unknown key
(``InvalidClientTokenId``). Its environment points boto3 at those two files and
at the endpoint, and removes every other ``AWS_*`` variable: the user's real
``~/.aws`` is never read or written, and nothing reaches AWS.

The profiles tell the stories the notebooks show:

=============== ======================================================================
``analyst``     an IAM user's access keys in the *analytics* account (the start)
``prod``        a role in the *production* account, assumed from ``analyst``
``prod-admin``  a role in *production* whose trust policy asks for an MFA code (``mfa_serial``)
``root-legacy`` keys kept in a profile the way root keys would be (an IAM user of an old account)
``tools-local`` an IAM user in the *tools* account, with its own ``endpoint_url``
``sso-dev``     an IAM Identity Center (SSO) profile, logged in through the demo's portal
``console-dev`` a console login (``aws login``) of the analyst, through the demo's sign-in
=============== ======================================================================

The SSO portal and the sign-in are the demo's local stand-ins for IAM Identity Center
and AWS Sign-In (127.0.0.1, pages that say so); the credentials they hand out are
real temporary credentials of the endpoint's made-up accounts.

Modules: :mod:`~awswidget.demo.world` (accounts, seeding, the files' text),
:mod:`~awswidget.demo.sandbox` (the folder, its environment, its lifetime),
:mod:`~awswidget.demo.endpoint` (the endpoint's process: moto with its checks fixed),
:mod:`~awswidget.demo.logins` (the SSO portal, :mod:`~awswidget.demo.sso_portal`, and the sign-in,
:mod:`~awswidget.demo.signin`, served beside moto),
:mod:`~awswidget.demo.runner` (``awswidget demo``: JupyterLab on the notebooks).

Needs ``moto[server]`` (the ``demo`` extra); the demo runner also needs JupyterLab.

>>> sandbox = ensure_sandbox()                 # doctest: +SKIP
>>> sandbox.accounts["production"]             # doctest: +SKIP
'444455556666'
"""

from __future__ import annotations

from .runner import find_notebooks, run_demo
from .sandbox import (
    MARKER,
    SANDBOX_VAR,
    Sandbox,
    create_sandbox,
    ensure_sandbox,
    load_sandbox,
    shell_exports,
    start_sandbox,
)
from .world import ACCOUNTS, DEFAULT_PROFILE, LEGACY_ACCOUNT, SEED

__all__ = [
    "ACCOUNTS",
    "DEFAULT_PROFILE",
    "LEGACY_ACCOUNT",
    "MARKER",
    "SANDBOX_VAR",
    "SEED",
    "Sandbox",
    "create_sandbox",
    "ensure_sandbox",
    "find_notebooks",
    "load_sandbox",
    "run_demo",
    "shell_exports",
    "start_sandbox",
]
