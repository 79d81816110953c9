"""The demo's made-up AWS world: its accounts, what each one holds, and the profiles that reach them.

:func:`seed` creates the users, roles, buckets and functions on a fresh local
endpoint (with signature checks still off: the seeding keys are made up);
:func:`config_text` and :func:`credentials_text` are the shared files a
sandbox writes for them. :data:`SSO_ROLES` is what the demo's IAM Identity
Center gives its one person (roles seeded in each account, assumed by the
portal's own IAM user in :data:`MANAGEMENT_ACCOUNT`); the console login is the
analyst's.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ACCOUNTS", "CONSOLE_USER", "DEFAULT_PROFILE", "ENDPOINT_ENV", "LEGACY_ACCOUNT", "MANAGEMENT_ACCOUNT", "SEED",
    "SSO_ROLES", "Keys", "config_text", "credentials_text", "isolated_session", "seed", "sso_role_arn",
]

#: The made-up accounts of the sandbox (AWS's documentation account IDs).
ACCOUNTS = {"analytics": "111122223333", "production": "444455556666", "tools": "777788889999"}

#: The account of the ``root-legacy`` profile's keys: none of the three above, like a forgotten account.
LEGACY_ACCOUNT = "123456789012"

#: moto's settings for the endpoint's process: a bucket answers its own account only, as AWS does for a
#: bucket without a bucket policy (moto lets every account read every bucket by default), so a library
#: still reading with the previous account after a switch gets AccessDenied, not the other account's data.
ENDPOINT_ENV = {"MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS": "false"}

#: The profile a sandbox starts with (exported as ``AWS_PROFILE``).
DEFAULT_PROFILE = "analyst"

#: IAM Identity Center's permission sets for the demo's person, per account: what its portal lists.
SSO_ROLES = {"analytics": ("ReadOnly", "Admin"), "production": ("ReadOnly",), "tools": ("ReadOnly",)}

#: The organization's management account, where IAM Identity Center runs: its portal's IAM user
#: (``identity-center``) assumes the permission sets' roles in the three accounts.
MANAGEMENT_ACCOUNT = "999988887777"

#: Whoever signs in with the console login (``login_session`` of ``console-dev``): the analyst.
CONSOLE_USER = "analyst"


@dataclass(frozen=True)
class _AccountSeed:
    region: str
    buckets: dict[str, dict[str, bytes]]
    functions: tuple[str, ...]


def _csv(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode()


# What each account holds: switching profiles visibly changes what an analysis sees.
SEED = {
    "analytics": _AccountSeed(
        "us-east-1",
        {
            "analytics-raw-events": {
                "2026/11/01.csv": _csv("user,event", "u1,login", "u2,view"),
                "2026/11/02.csv": _csv("user,event", "u1,view"),
                "2026/11/03.csv": _csv("user,event", "u3,login", "u3,view", "u1,logout"),
            },
            "analytics-notebooks": {"README.md": b"# Shared notebooks of the analytics team\n"},
        },
        ("clean-events", "daily-summary"),
    ),
    "production": _AccountSeed(
        "eu-west-1",
        {
            "prod-orders": {
                "orders/2026-11-01.json": b'[{"id": 1, "total": 12.5}]\n',
                "orders/2026-11-02.json": b'[{"id": 2, "total": 7.0}, {"id": 3, "total": 3.2}]\n',
                "orders/2026-11-03.json": b"[]\n",
                "refunds/2026-11.json": b'[{"order": 2}]\n',
            },
            "prod-access-logs": {
                "2026/11/01/access.log": b"GET /orders 200\n",
                "2026/11/02/access.log": b"GET /orders 200\nPOST /orders 201\n",
            },
        },
        ("orders-api", "payment-webhook", "nightly-export"),
    ),
    "tools": _AccountSeed(
        "us-east-1",
        {"ci-artifacts": {"builds/1/report.txt": b"all green\n"}},
        ("deploy-hook",),
    ),
}

_ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
_READ_ONLY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*", "lambda:Get*", "lambda:List*"], "Resource": "*"}],
}
_ASSUME_ONLY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
_PERMISSION_SETS = {"ReadOnly": _READ_ONLY, "Admin": _ALLOW_ALL}
_SSO_PATH = "/aws-reserved/sso.amazonaws.com/"
_LOGS_ONLY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}],
}


def sso_role_arn(account: str, permission_set: str) -> str:
    """The role IAM Identity Center made for ``permission_set`` in ``account`` (named as AWS names them)."""
    suffix = hashlib.sha256(f"{account}/{permission_set}".encode()).hexdigest()[:16]
    return f"arn:aws:iam::{account}:role{_SSO_PATH}AWSReservedSSO_{permission_set}_{suffix}"


def isolated_session(access_key_id: str, secret_access_key: str) -> Any:
    """A boto3 session with these keys and nothing of the caller's environment (no profile, no shared files)."""
    import boto3
    import botocore.session

    isolated = botocore.session.Session(
        session_vars={
            "profile": (None, None, None, None),
            "config_file": (None, None, os.devnull, None),
            "credentials_file": (None, None, os.devnull, None),
        }
    )
    return boto3.Session(botocore_session=isolated, aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key)


def _trust(principal: dict[str, str], *, mfa: bool = False) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if mfa:
        statement["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


class _Seeder:
    """Creates the demo resources, each in its own account (moto's ``x-moto-account-id`` header)."""

    def __init__(self, endpoint_url: str) -> None:
        # Nothing of the caller's environment is used: no profile, no shared files, explicit keys.
        self._session = isolated_session("AKIAAWSWIDGETSEEDING", "seeding-only-" + "0" * 27)
        self.endpoint_url = endpoint_url

    def client(self, service: str, account: str, region: str = "us-east-1") -> Any:
        client = self._session.client(service, endpoint_url=self.endpoint_url, region_name=region)

        def add_header(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account

        client.meta.events.register("before-sign", add_header)
        return client

    def user_with_key(self, account: str, user: str, policy: dict[str, Any] = _ALLOW_ALL) -> tuple[str, str]:
        iam = self.client("iam", account)
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="demo-admin", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def role(self, account: str, name: str, trust: str, policy: dict[str, Any], path: str = "/") -> str:
        iam = self.client("iam", account)
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust, Path=path)["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="demo", PolicyDocument=json.dumps(policy))
        return str(arn)

    def resources(self, account: str, seed: _AccountSeed) -> None:
        s3 = self.client("s3", account, seed.region)
        for bucket, objects in seed.buckets.items():
            extra = {} if seed.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": seed.region}}
            s3.create_bucket(Bucket=bucket, **extra)
            for key, body in objects.items():
                s3.put_object(Bucket=bucket, Key=key, Body=body)
        if seed.functions:
            role = self.role(account, "lambda-basic-execution", _trust({"Service": "lambda.amazonaws.com"}), _LOGS_ONLY)
            code = io.BytesIO()
            with zipfile.ZipFile(code, "w") as z:
                z.writestr("handler.py", "def handler(event, context):\n    return {'ok': True}\n")
            lam = self.client("lambda", account, seed.region)
            for name in seed.functions:
                # Creating and listing functions works without Docker (only invoking needs it).
                lam.create_function(
                    FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handler", Code={"ZipFile": code.getvalue()}
                )


@dataclass(frozen=True)
class Keys:
    """The access keys the endpoint issued (id, secret): the sandbox's profiles', and the SSO portal's."""

    analyst: tuple[str, str]
    tools: tuple[str, str]
    legacy: tuple[str, str]
    identity_center: tuple[str, str]


def seed(endpoint_url: str) -> Keys:
    """Create the demo accounts' users, roles, buckets and functions on a fresh endpoint."""
    seeder = _Seeder(endpoint_url)
    analytics, production, tools = ACCOUNTS["analytics"], ACCOUNTS["production"], ACCOUNTS["tools"]
    analyst = seeder.user_with_key(analytics, "analyst")
    iam = seeder.client("iam", analytics)
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="analyst")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(UserName="analyst", SerialNumber=device, AuthenticationCode1="123456", AuthenticationCode2="654321")
    # Trusted by the analytics account; the endpoint checks trust policies across accounts
    # (see awswidget.demo.endpoint), so the tools account's ci-bot is refused both roles.
    from_analytics = {"AWS": f"arn:aws:iam::{analytics}:root"}
    seeder.role(production, "analyst-readonly", _trust(from_analytics), _READ_ONLY)
    seeder.role(production, "admin", _trust(from_analytics, mfa=True), _ALLOW_ALL)
    ci_bot = seeder.user_with_key(tools, "ci-bot")
    legacy = seeder.user_with_key(LEGACY_ACCOUNT, "legacy-admin")
    # IAM Identity Center: a role per permission set in each account, trusting only the portal's user.
    portal = seeder.user_with_key(MANAGEMENT_ACCOUNT, "identity-center", _ASSUME_ONLY)
    from_portal = _trust({"AWS": f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:user/identity-center"})
    for name, permission_sets in SSO_ROLES.items():
        for permission_set in permission_sets:
            role_name = sso_role_arn(ACCOUNTS[name], permission_set).rsplit("/", 1)[1]
            seeder.role(ACCOUNTS[name], role_name, from_portal, _PERMISSION_SETS[permission_set], path=_SSO_PATH)
    for name, account_seed in SEED.items():
        seeder.resources(ACCOUNTS[name], account_seed)
    return Keys(analyst=analyst, tools=ci_bot, legacy=legacy, identity_center=portal)


def config_text(endpoint_url: str, sso_start_url: str = "https://awswidget-demo.invalid/start") -> str:
    """The sandbox's ``config`` file (``sso_start_url``: the demo portal's start URL)."""
    analytics, production = ACCOUNTS["analytics"], ACCOUNTS["production"]
    return f"""\
# awswidget demo sandbox: made-up accounts on a local AWS endpoint ({endpoint_url}).
# Demo credentials only: nothing here reaches AWS. The environment of the demo sets
# AWS_ENDPOINT_URL, so every profile below talks to the local endpoint, which checks
# request signatures as AWS does: a wrong secret or an unknown key is refused.

# An IAM user in the analytics account ({analytics}); keys in the credentials file.
[profile analyst]
region = {SEED["analytics"].region}

# A role in the production account ({production}), assumed with the analyst's keys.
[profile prod]
role_arn = arn:aws:iam::{production}:role/analyst-readonly
source_profile = analyst
region = {SEED["production"].region}

# The production admin role trusts only callers who give a code from the analyst's MFA device.
[profile prod-admin]
role_arn = arn:aws:iam::{production}:role/admin
source_profile = analyst
mfa_serial = arn:aws:iam::{analytics}:mfa/analyst
region = {SEED["production"].region}

# Keys kept in a profile the way root keys would be. The local endpoint cannot issue root
# keys: these belong to an IAM user of an old account ({LEGACY_ACCOUNT}) outside the three above.
[profile root-legacy]
region = us-east-1

# An IAM user in the tools account ({ACCOUNTS["tools"]}) whose profile names its own endpoint.
[profile tools-local]
region = {SEED["tools"].region}
endpoint_url = {endpoint_url}

# IAM Identity Center (SSO): the demo's local portal (a stand-in on 127.0.0.1) logs you in.
[profile sso-dev]
sso_session = awswidget-demo
sso_account_id = {analytics}
sso_role_name = ReadOnly
region = us-east-1

[sso-session awswidget-demo]
sso_start_url = {sso_start_url}
sso_region = us-east-1
sso_registration_scopes = sso:account:access

# A console login (`aws login`) of the analyst, through the demo's local stand-in for AWS Sign-In.
[profile console-dev]
login_session = arn:aws:iam::{analytics}:user/{CONSOLE_USER}
region = us-east-1
"""


def credentials_text(keys: Keys) -> str:
    """The sandbox's ``credentials`` file."""
    return f"""\
# awswidget demo sandbox: keys of the local endpoint's made-up accounts (demo credentials only).

[analyst]
aws_access_key_id = {keys.analyst[0]}
aws_secret_access_key = {keys.analyst[1]}

[root-legacy]
aws_access_key_id = {keys.legacy[0]}
aws_secret_access_key = {keys.legacy[1]}

[tools-local]
aws_access_key_id = {keys.tools[0]}
aws_secret_access_key = {keys.tools[1]}
"""
