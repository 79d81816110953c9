"""The local AWS endpoint's process: moto's server with narrow fixes, and a lifetime tied to its owner.

``python -m awswidget.demo.endpoint [--owner-pid PID] [--remove-on-exit FOLDER] -H HOST -p PORT``
(what :class:`awswidget.localaws.LocalAws` runs). The fixes patch moto in this process only, before its
server starts: never in a kernel, never in the caller's process. A sandbox's endpoint also serves the
demo's SSO portal and sign-in here, in threads (:mod:`awswidget.demo.logins`).

**Signatures of requests without a body.** moto checks a SigV4 signature by rebuilding the request
(``IAMRequestBase._create_aws_request``) with ``data=self._body or self._data``. When the body is empty
it hashes moto's parsed query dict instead, and with no query string either that dict holds the request
*headers* (``BaseResponse.setup_class`` falls back to them). The client signed an empty payload, so with
checks on every signed request without a body (Lambda ListFunctions, EKS, API Gateway, Route 53 GETs and
DELETEs) got ``SignatureDoesNotMatch``; S3 escapes through its signed ``X-Amz-Content-SHA256`` header.
Fixed here: a request without a body (no ``Content-Length``, or 0, and no ``Transfer-Encoding``) is
checked with an empty payload; one with a body keeps moto's rebuilding (for a form body, Flask has
parsed the bytes away and moto's dict, encoded again, is what the client signed).

**The URL as it was sent.** moto rebuilds the signed URL from werkzeug's, which is decoded and quoted
again: Lambda's ``/functions/arn%3Aaws%3A...`` comes back with ``:`` and an S3 prefix's ``%20`` as ``+``,
so the right key was refused. Fixed here: the path and query of the request line (``RAW_URI``) are checked.

**Trust policies across accounts.** moto checks a role's trust policy only when the role is in the
caller's own account (it looks the role up in the caller's IAM backend), compares principals as exact
strings (``arn:aws:iam::ACCOUNT:root`` never matches a user of ACCOUNT), and ignores ``Bool``
conditions (an MFA condition never refuses). Fixed here for ``sts:AssumeRole``: the trust policy of the
role in *its own* account is evaluated with AWS's principal rules (``*``, the caller's ARN, its account
as ``ACCOUNT`` or ``arn:aws:iam::ACCOUNT:root``, the role of an assumed-role session), ``Deny`` first,
and the conditions ``Bool``/``BoolIfExists`` and ``StringEquals``/``StringEqualsIfExists`` on
``aws:MultiFactorAuthPresent``, ``sts:ExternalId``, ``aws:PrincipalAccount`` and ``aws:PrincipalArn``;
any other condition refuses. A ``SerialNumber`` that is not an MFA device of the calling IAM user, or a
``TokenCode`` that is not six digits, is refused as AWS refuses a failed MFA check.

**Session tokens in the caller's account.** moto's ``GetSessionToken`` answers every caller with one
fixed example key that no account owns, so what a session of account B's keys reads, moto reads as its
default account's. Fixed here: the reply is a new temporary key of the caller's own account, as AWS's
session credentials act for the user who asked; with signature checks on they sign as that user, with
that user's policies (moto alone refuses them).

**What the endpoint still cannot refuse.** MFA codes are not checked against the device's secret (any
six digits pass: the demo has no authenticator app); root keys do not exist (the endpoint only issues IAM
users' keys); inactive keys, resource-based policies (bucket policies), permission boundaries, SCPs and
session policies are not evaluated; the caller's own policies are checked by moto's simplified evaluator
(actions and resources, no conditions). moto writes every refusal as XML, so botocore reads its code
(``SignatureDoesNotMatch``, ``InvalidClientTokenId``, ``AccessDenied``) for the XML services (STS, IAM,
S3, EC2) only; a JSON service (Lambda, EKS, API Gateway) or Route 53 sees an HTTP 403 without a code.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..localaws import pid_alive

__all__ = ["apply_fixes", "main", "trust_allows"]

_ROLE_ARN = re.compile(r"^arn:(?P<partition>[^:]+):iam::(?P<account>\d{12}):role/(?:.*/)?(?P<name>[^/]+)$")
_ASSUMED_ROLE_ARN = re.compile(r"^arn:(?P<partition>[^:]+):sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/[^/]+$")
_MFA_CODE = re.compile(r"^\d{6}$")


# --------------------------------------------------------------------------- trust policies


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str) -> bool:
    regex = "^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$"
    return re.match(regex, value, re.IGNORECASE) is not None


def _principal_matches(principal: Any, caller_arn: str, account: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    names = {caller_arn, account, f"arn:aws:iam::{account}:root"}
    assumed = _ASSUMED_ROLE_ARN.match(caller_arn)
    if assumed:  # a role session is trusted through its role's ARN
        names.add(f"arn:{assumed['partition']}:iam::{assumed['account']}:role/{assumed['role']}")
    return any(entry == "*" or entry in names for entry in _as_list(principal.get("AWS")))


def _condition_holds(operator: str, expected: dict[str, Any], context: dict[str, str]) -> bool:
    base, if_exists = (operator[: -len("IfExists")], True) if operator.endswith("IfExists") else (operator, False)
    if base not in ("Bool", "StringEquals"):
        return False  # not evaluated here: refusing is the safe answer
    for key, values in expected.items():
        actual = context.get(key)
        if actual is None:
            if if_exists:
                continue
            return False
        wanted = [str(v) for v in _as_list(values)]
        if base == "Bool":
            wanted, actual = [w.lower() for w in wanted], actual.lower()
        if actual not in wanted:
            return False
    return True


def trust_allows(policy: dict[str, Any], *, caller_arn: str, account: str, context: dict[str, str]) -> bool:
    """Whether a role's trust policy lets ``caller_arn`` (of ``account``) call ``sts:AssumeRole``.

    ``context`` holds the request's condition keys (``aws:MultiFactorAuthPresent``...). An explicit
    ``Deny`` wins over any ``Allow``; no matching ``Allow`` refuses.
    """
    allowed = False
    for statement in _as_list(policy.get("Statement")):
        if not isinstance(statement, dict):
            continue
        if not any(_wildcard(action, "sts:AssumeRole") for action in _as_list(statement.get("Action"))):
            continue
        if not _principal_matches(statement.get("Principal"), caller_arn, account):
            continue
        conditions = statement.get("Condition") or {}
        if not all(_condition_holds(op, dict(keys), context) for op, keys in conditions.items()):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


# --------------------------------------------------------------------------- the patches


def _first(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value is None else str(value)


def _mfa_context(request: Any) -> tuple[bool, str]:
    """(valid, "true"/"false"): whether the AssumeRole request carries a usable MFA device and code."""
    serial, code = _first(request._data, "SerialNumber"), _first(request._data, "TokenCode")
    if serial is None and code is None:
        return True, "false"
    user_name = getattr(request._access_key, "_owner_user_name", None)
    if serial is None or code is None or user_name is None or not _MFA_CODE.match(code):
        return False, "false"
    from moto.iam.exceptions import NoSuchEntity

    try:
        devices = request._access_key.backend.get_user(user_name).mfa_devices
    except NoSuchEntity:  # the user was deleted meanwhile: no device
        return False, "false"
    return (serial in devices), ("true" if serial in devices else "false")


def _is_assuming_role_operation(self: Any, resource_arn: str) -> bool:
    # Whichever account the role is in (moto asks only when it is in the caller's).
    return bool(self._action == "sts:AssumeRole")


def _check_role_trust_relationship(self: Any, role_arn: str) -> bool:
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import iam_backends

    match = _ROLE_ARN.match(role_arn)
    if match is None:
        return False
    try:
        role = iam_backends[match["account"]][match["partition"]].get_role_by_arn(role_arn)
    except NotFoundException:
        return False  # AWS answers AccessDenied for a role that does not exist
    valid_mfa, mfa_present = _mfa_context(self)
    if not valid_mfa:
        return False
    caller = str(self._access_key.arn)
    context = {"aws:MultiFactorAuthPresent": mfa_present, "aws:PrincipalAccount": self.account_id, "aws:PrincipalArn": caller}
    external_id = _first(self._data, "ExternalId")
    if external_id is not None:
        context["sts:ExternalId"] = external_id
    policy = json.loads(role.assume_role_policy_document)
    return trust_allows(policy, caller_arn=caller, account=self.account_id, context=context)


# Session credentials handed out by GetSessionToken: key id -> (account, user, secret, token).
_sessions: dict[str, tuple[str, str, str, str]] = {}


def _get_session_token(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.iam.models import iam_backends
    from moto.sts.utils import random_session_token

    token = self.backend.get_session_token(duration=self._get_int_param("DurationSeconds", 43200))
    iam = iam_backends[self.current_account][self.partition]
    key = iam.create_temp_access_key()  # moto reads the key's account from where it is kept
    asked_with = self.get_access_key()
    user = next((u.name for u in iam.users.values() for k in u.access_keys if k.access_key_id == asked_with), None)
    session = random_session_token()
    if user is not None:
        _sessions[key.access_key_id] = (self.current_account, user, key.secret_access_key, session)
    return ActionResult({"Credentials": {"AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key,
                                         "SessionToken": session, "Expiration": token.expiration}})


def _session_keys_act_for_their_user() -> None:
    """With signature checks on, a GetSessionToken key signs as the IAM user who asked, with that user's policies."""
    from moto.iam import access_control

    original = access_control.create_access_key

    class SessionKey(access_control.IAMUserAccessKey):  # type: ignore[misc]
        def __init__(self, partition: str, session: tuple[str, str, str, str], key_id: str) -> None:
            self.account_id, self.partition = session[0], partition
            self._owner_user_name, self._access_key_id, self._secret_access_key = session[1], key_id, session[2]

    def create_access_key(account_id: str, partition: str, access_key_id: str, headers: dict[str, str]) -> Any:
        session = _sessions.get(access_key_id)
        if session is not None and headers.get("X-Amz-Security-Token") == session[3]:
            return SessionKey(partition, session, access_key_id)
        return original(account_id, partition, access_key_id, headers)

    access_control.create_access_key = create_access_key  # type: ignore[assignment]

    from moto.iam.models import IAMBackend

    find_user = IAMBackend.get_user_from_access_key_id

    def get_user_from_access_key_id(self: Any, access_key_id: str) -> Any:  # who GetCallerIdentity names
        session = _sessions.get(access_key_id)
        if session is not None and session[0] == self.account_id:
            return self.users.get(session[1])
        return find_user(self, access_key_id)

    IAMBackend.get_user_from_access_key_id = get_user_from_access_key_id  # type: ignore[method-assign]


def _raw_uri(headers: Any) -> str | None:
    # werkzeug's request headers keep the WSGI environ, where its server puts the request line's URI.
    environ = getattr(headers, "environ", None)
    raw = (environ.get("RAW_URI") or environ.get("REQUEST_URI")) if isinstance(environ, dict) else None
    return str(raw) if raw and str(raw).startswith("/") else None


def _without_body(headers: Any) -> bool:
    # A request with a body keeps moto's rebuilding: Flask parses a form body away (the raw body
    # is then empty) and moto's query dict, encoded again, is what the client signed.
    return not int(headers.get("Content-Length") or 0) and "Transfer-Encoding" not in headers


def apply_fixes() -> None:
    """Patch moto's request checks in this process (the endpoint's): see the module's docstring."""
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import IAMRequestBase
    from moto.sts.responses import TokenResponse

    if getattr(IAMRequestBase, "_awswidget_fixed", False):
        return
    original = IAMRequestBase._create_aws_request

    def _create_aws_request(self: Any) -> Any:
        request = original(self)
        if _without_body(self._headers):
            request.data = b""  # what the client signed: never the parsed query string, nor the headers
        return request

    IAMRequestBase._create_aws_request = _create_aws_request  # type: ignore[method-assign]
    authenticate = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def _authenticate_and_authorize_action(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        uri, raw = getattr(self, "uri", None), _raw_uri(getattr(self, "headers", None))
        if not uri or not raw:
            return authenticate(self, iam_request_cls, resource)
        # The path and query exactly as they were sent (and signed): moto's URL is decoded and
        # quoted again by werkzeug, which turns Lambda's "%3A" into ":" and S3's "%20" into "+".
        sent = urlparse(raw)
        self.uri = urlparse(uri)._replace(path=sent.path, query=sent.query).geturl()
        try:
            return authenticate(self, iam_request_cls, resource)
        finally:
            self.uri = uri

    ActionAuthenticatorMixin._authenticate_and_authorize_action = _authenticate_and_authorize_action  # type: ignore[method-assign]
    IAMRequestBase._is_assuming_role_operation = _is_assuming_role_operation  # type: ignore[method-assign]
    IAMRequestBase._check_role_trust_relationship = _check_role_trust_relationship  # type: ignore[method-assign]
    TokenResponse.get_session_token = _get_session_token  # type: ignore[method-assign]
    _session_keys_act_for_their_user()
    IAMRequestBase._awswidget_fixed = True  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- the process


def _watch_owner(owner: int) -> None:
    """End this process (cleanly, through moto's SIGTERM handler) once its owner is gone."""
    # Our parent's exit reparents us at once, even while it is an unreaped zombie, which
    # os.kill(pid, 0) would still count as alive.
    parent = os.getppid() == owner
    while os.getppid() == owner if parent else pid_alive(owner):
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)


def _remove_sandbox(folder: Path) -> None:
    # Only a temporary sandbox, recognised by its marker: never any other folder.
    try:
        meta = json.loads((folder / "sandbox.json").read_text())
    except (OSError, ValueError):
        return
    if meta.get("temporary"):
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Run moto's server with the fixes; ``--owner-pid`` and ``--remove-on-exit`` tie its lifetime."""
    parser = argparse.ArgumentParser(prog="python -m awswidget.demo.endpoint", add_help=False)
    parser.add_argument("--owner-pid", type=int, default=None)
    parser.add_argument("--remove-on-exit", type=Path, default=None)
    ours, moto_args = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    apply_fixes()
    from .logins import serve_from_environment

    serve_from_environment()  # the demo's SSO portal and sign-in, in threads beside moto (when the sandbox asks)
    import moto.server

    if ours.owner_pid:
        threading.Thread(target=_watch_owner, args=(ours.owner_pid,), name="owner-watch", daemon=True).start()
    try:
        moto.server.main(moto_args)  # its SIGTERM/SIGINT handlers raise SystemExit: the finally still runs
    finally:
        if ours.remove_on_exit is not None:
            _remove_sandbox(ours.remove_on_exit)


if __name__ == "__main__":
    main()
