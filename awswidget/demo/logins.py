"""The demo's logins: its IAM Identity Center portal and its AWS Sign-In, served beside moto.

Both run in the endpoint's process (``python -m awswidget.demo.endpoint``), in threads on
127.0.0.1, for as long as moto runs there: they start and stop with it, a temporary sandbox's
included, and binder's detached endpoint keeps them for the kernels. The sandbox asks for them
through the endpoint's environment (:data:`LOGINS_VAR`: the ports, moto's URL, and the file where
it leaves, once seeding made them, the keys the two services mint credentials with).

The credentials they hand out are real credentials of the demo's world, minted through the
endpoint's own API with its signature checks on: the portal's GetRoleCredentials assumes the
permission set's role (``AssumeRole`` with the portal's IAM user, which those roles trust), and the
console login returns the analyst's session credentials (``GetSessionToken`` with the analyst's key).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..localaws import free_port
from .signin import LoginServer, Refused
from .sso_portal import Account, SsoServer, running
from .world import ACCOUNTS, CONSOLE_USER, SSO_ROLES, Keys, isolated_session, sso_role_arn

__all__ = ["KEYS_FILE", "LOGINS_VAR", "SSO_USER", "endpoint_env", "keys_text", "serve", "serve_from_environment"]

#: The endpoint's environment variable asking for the two services (JSON: ports, moto's URL, keys file).
LOGINS_VAR = "AWSWIDGET_DEMO_LOGINS"

#: The sandbox file (0600) holding the keys the services mint with (demo credentials only).
KEYS_FILE = "login-services.json"

#: The person of the demo's IAM Identity Center: the session name of every role it hands out.
SSO_USER = "demo-user"

_LIFETIME = 3600  # seconds: the credentials both hand out (botocore renews a console login before the end)


def _log(what: str, exc: Exception) -> None:
    # The endpoint's output is the sandbox's moto.log: the one place a demo user can look.
    print(f"awswidget demo logins: {what} failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)


def endpoint_env(folder: Path, endpoint_url: str) -> tuple[dict[str, str], str, str]:
    """(the endpoint's extra environment, the portal's URL, the sign-in's URL) for a sandbox in ``folder``."""
    # Three ports chosen before any is bound: the OS may offer one twice, so take distinct ones.
    taken, ports = {urlsplit(endpoint_url).port}, list[int]()
    while len(ports) < 2:
        port = free_port()
        if port not in taken:
            taken.add(port)
            ports.append(port)
    sso_port, signin_port = ports
    spec = {"endpoint_url": endpoint_url, "sso_port": sso_port, "signin_port": signin_port, "keys": str(folder / KEYS_FILE)}
    return {LOGINS_VAR: json.dumps(spec)}, f"http://127.0.0.1:{sso_port}", f"http://127.0.0.1:{signin_port}"


def keys_text(keys: Keys) -> str:
    """The :data:`KEYS_FILE` for ``keys``: the portal's IAM user's key and the console login's user's."""
    return json.dumps({"identity_center": list(keys.identity_center), "console": list(keys.analyst)}, indent=2) + "\n"


class _Minter:
    """Credentials of the demo's world, from the endpoint's own STS (the keys are read when first needed)."""

    def __init__(self, endpoint_url: str, keys_file: Path) -> None:
        self.endpoint_url, self.keys_file = endpoint_url, keys_file
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _sts(self, which: str) -> Any:
        with self._lock:
            if which not in self._clients:
                from botocore.config import Config

                key_id, secret = json.loads(self.keys_file.read_text())[which]
                config = Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 2})
                self._clients[which] = isolated_session(key_id, secret).client(
                    "sts", endpoint_url=self.endpoint_url, region_name="us-east-1", config=config
                )
            return self._clients[which]

    def role(self, account_id: str, role_name: str) -> dict[str, Any] | None:
        """GetRoleCredentials: the role of ``role_name`` in ``account_id``, or ``None`` (not assigned)."""
        name = next((n for n, number in ACCOUNTS.items() if number == account_id), None)
        if name is None or role_name not in SSO_ROLES.get(name, ()):
            return None
        try:
            reply = self._sts("identity_center").assume_role(
                RoleArn=sso_role_arn(account_id, role_name), RoleSessionName=SSO_USER, DurationSeconds=_LIFETIME
            )
        except Exception as exc:  # the portal answers "no access" whatever went wrong; the log says what
            _log(f"GetRoleCredentials for {role_name} in {account_id}", exc)
            return None
        creds = reply["Credentials"]
        return {"accessKeyId": creds["AccessKeyId"], "secretAccessKey": creds["SecretAccessKey"],
                "sessionToken": creds["SessionToken"], "expiration": int(creds["Expiration"].timestamp() * 1000)}

    def console(self) -> dict[str, str]:
        """CreateOAuth2Token: the console user's own session credentials."""
        try:
            creds = self._sts("console").get_session_token(DurationSeconds=_LIFETIME)["Credentials"]
        except Exception as exc:
            _log("CreateOAuth2Token", exc)
            raise Refused(500, "InternalServerException", "the demo's endpoint gave no credentials") from None
        return {"accessKeyId": creds["AccessKeyId"], "secretAccessKey": creds["SecretAccessKey"], "sessionToken": creds["SessionToken"]}


def serve(spec_text: str) -> tuple[SsoServer, LoginServer]:
    """Start the portal and the sign-in on 127.0.0.1 in this process (the endpoint's), as ``spec_text`` says."""
    spec = json.loads(spec_text)
    minter = _Minter(str(spec["endpoint_url"]), Path(spec["keys"]))
    accounts = [Account(ACCOUNTS[name], name, list(roles)) for name, roles in SSO_ROLES.items()]
    portal = SsoServer(accounts, page_size=10, start_url="", mint=minter.role, fresh_codes=True, interval=1)
    running(portal, int(spec["sso_port"])).__enter__()  # served until the process ends
    portal.start_url = f"{portal.url}/start"
    principal = f"arn:aws:iam::{ACCOUNTS['analytics']}:user/{CONSOLE_USER}"
    signin = LoginServer(principal=principal, mint=minter.console, expires_in=_LIFETIME, port=int(spec["signin_port"]))
    signin.__enter__()
    return portal, signin


def serve_from_environment() -> None:
    """In the endpoint's process: serve both if the sandbox asked for them (:data:`LOGINS_VAR`)."""
    spec = os.environ.get(LOGINS_VAR)
    if spec:
        serve(spec)  # listening once it returns: both sockets are bound before moto starts
