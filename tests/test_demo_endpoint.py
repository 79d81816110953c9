"""The demo's local endpoint says no where AWS says no: signatures, unknown keys, role trust across accounts.

Real boto3 calls against a real sandbox (moto's server run by ``awswidget.demo.endpoint``, checking
signatures after seeding). The controls run moto's own server, unfixed, to show each fix is needed:
when a moto release fixes a bug upstream, its control fails and says which patch to drop.
"""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from awswidget import demo
from awswidget.demo.endpoint import trust_allows
from awswidget.localaws import free_port

pytestmark = pytest.mark.integration

ANALYTICS, PRODUCTION, TOOLS = (demo.ACCOUNTS[name] for name in ("analytics", "production", "tools"))
READONLY = f"arn:aws:iam::{PRODUCTION}:role/analyst-readonly"
ADMIN = f"arn:aws:iam::{PRODUCTION}:role/admin"
SERIAL = f"arn:aws:iam::{ANALYTICS}:mfa/analyst"


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[demo.Sandbox]:
    created = demo.create_sandbox(tmp_path_factory.mktemp("endpoint") / "sandbox")
    yield created
    created.stop()


def keys(box: demo.Sandbox, profile: str) -> tuple[str, str]:
    parser = configparser.RawConfigParser()
    parser.read(box.credentials_file)
    return parser[profile]["aws_access_key_id"], parser[profile]["aws_secret_access_key"]


def client(endpoint_url: str, service: str, key: tuple[str, ...], region: str = "us-east-1") -> Any:
    """A client with explicit keys only (the aws_env fixture points the shared files at an empty tmp_path)."""
    session = boto3.Session(
        aws_access_key_id=key[0], aws_secret_access_key=key[1], aws_session_token=key[2] if len(key) > 2 else None
    )
    return session.client(service, endpoint_url=endpoint_url, region_name=region)


def code(call: Callable[[], Any]) -> str:
    """"ok", or the error code AWS's answer carries."""
    try:
        call()
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return "ok"


# Every service the demo, its notebooks and the explorer call, and the bodyless GETs moto got wrong.
CALLS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "sts GetCallerIdentity": ("sts", lambda c: c.get_caller_identity()),
    "iam ListAccessKeys": ("iam", lambda c: c.list_access_keys(UserName="analyst")),
    "s3 ListBuckets": ("s3", lambda c: c.list_buckets()),
    "s3 ListObjectsV2 with a prefix": ("s3", lambda c: c.list_objects_v2(Bucket="analytics-raw-events", Prefix="2026/11 ")),
    "s3 GetObject": ("s3", lambda c: c.get_object(Bucket="analytics-raw-events", Key="2026/11/01.csv")["Body"].read()),
    "lambda ListFunctions": ("lambda", lambda c: c.list_functions()),
    "lambda ListFunctions MaxItems": ("lambda", lambda c: c.list_functions(MaxItems=1)),
    "lambda GetFunction by ARN": ("lambda", lambda c: c.get_function(FunctionName=f"arn:aws:lambda:us-east-1:{ANALYTICS}:function:clean-events")),
    "eks ListClusters": ("eks", lambda c: c.list_clusters()),
    "apigateway GetRestApis": ("apigateway", lambda c: c.get_rest_apis()),
    "route53 ListHostedZones": ("route53", lambda c: c.list_hosted_zones()),
}


@pytest.mark.parametrize("name", CALLS)
def test_the_right_key_is_accepted(box: demo.Sandbox, name: str) -> None:
    service, call = CALLS[name]
    assert code(lambda: call(client(box.endpoint_url, service, keys(box, "analyst")))) == "ok"


@pytest.mark.parametrize("name", CALLS)
def test_a_wrong_secret_is_refused(box: demo.Sandbox, name: str) -> None:
    service, call = CALLS[name]
    key_id, secret = keys(box, "analyst")
    with pytest.raises(ClientError) as refused:
        call(client(box.endpoint_url, service, (key_id, secret[::-1])))
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # moto writes the refusal as XML: only the XML services (STS, IAM, S3) read its code; for
    # Lambda, EKS, API Gateway and Route 53 botocore sees an HTTP 403 with no code it can parse.
    if service in ("sts", "iam", "s3"):
        assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_an_unknown_key_is_refused(box: demo.Sandbox) -> None:
    sts = client(box.endpoint_url, "sts", ("AKIAZZZZZZZZZZZZZZZZ", "made-up-" + "z" * 32))
    assert code(sts.get_caller_identity) == "InvalidClientTokenId"


def test_every_profile_of_the_sandbox_is_accepted(box: demo.Sandbox) -> None:
    for profile, account in (("analyst", ANALYTICS), ("tools-local", TOOLS), ("root-legacy", demo.LEGACY_ACCOUNT)):
        sts = client(box.endpoint_url, "sts", keys(box, profile))
        assert sts.get_caller_identity()["Account"] == account, profile


# --------------------------------------------------------------------------- trust policies across accounts


def assume(box: demo.Sandbox, profile: str, role: str, **extra: str) -> str:
    sts = client(box.endpoint_url, "sts", keys(box, profile))
    return code(lambda: sts.assume_role(RoleArn=role, RoleSessionName="demo-test", **extra))


def test_a_role_trusting_the_callers_account_is_assumed(box: demo.Sandbox) -> None:
    sts = client(box.endpoint_url, "sts", keys(box, "analyst"))
    creds = sts.assume_role(RoleArn=READONLY, RoleSessionName="demo-test")["Credentials"]
    session = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    identity = client(box.endpoint_url, "sts", session).get_caller_identity()
    assert identity["Account"] == PRODUCTION
    assert code(lambda: client(box.endpoint_url, "lambda", session, "eu-west-1").list_functions()) == "ok"


def test_another_accounts_user_is_refused_the_role(box: demo.Sandbox) -> None:
    # The tools account's ci-bot may call sts:AssumeRole (its own policy allows *), but the role trusts analytics only.
    assert assume(box, "tools-local", READONLY) == "AccessDenied"


def test_the_admin_role_needs_an_mfa_code(box: demo.Sandbox) -> None:
    assert assume(box, "analyst", ADMIN) == "AccessDenied"
    assert assume(box, "analyst", ADMIN, SerialNumber=SERIAL, TokenCode="123456") == "ok"


@pytest.mark.parametrize(
    ("serial", "token"),
    [(SERIAL, "12 456"), (SERIAL, "abcdef"), (f"arn:aws:iam::{ANALYTICS}:mfa/someone-else", "123456")],
    ids=["a-space", "letters", "not-the-callers-device"],
)
def test_a_bad_mfa_device_or_code_is_refused(box: demo.Sandbox, serial: str, token: str) -> None:
    assert assume(box, "analyst", READONLY, SerialNumber=serial, TokenCode=token) == "AccessDenied"


def test_a_role_that_does_not_exist_is_refused(box: demo.Sandbox) -> None:
    assert assume(box, "analyst", f"arn:aws:iam::{PRODUCTION}:role/no-such-role") == "AccessDenied"


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


USER = f"arn:aws:iam::{ANALYTICS}:user/analyst"
ALLOW = {"Effect": "Allow", "Action": "sts:AssumeRole"}
TRUST_CASES = [
    ("account root", _policy({**ALLOW, "Principal": {"AWS": f"arn:aws:iam::{ANALYTICS}:root"}}), {}, True),
    ("bare account id", _policy({**ALLOW, "Principal": {"AWS": ANALYTICS}}), {}, True),
    ("exact user ARN in a list", _policy({**ALLOW, "Principal": {"AWS": ["arn:aws:iam::1:user/x", USER]}}), {}, True),
    ("anyone", _policy({**ALLOW, "Principal": "*"}), {}, True),
    ("another account", _policy({**ALLOW, "Principal": {"AWS": f"arn:aws:iam::{TOOLS}:root"}}), {}, False),
    ("another user", _policy({**ALLOW, "Principal": {"AWS": f"arn:aws:iam::{ANALYTICS}:user/bob"}}), {}, False),
    ("a service", _policy({**ALLOW, "Principal": {"Service": "lambda.amazonaws.com"}}), {}, False),
    ("no statement", _policy(), {}, False),
    ("another action", _policy({**ALLOW, "Action": "sts:TagSession", "Principal": "*"}), {}, False),
    ("action wildcard", _policy({**ALLOW, "Action": "sts:*", "Principal": "*"}), {}, True),
    ("deny wins", _policy({**ALLOW, "Principal": "*"}, {"Effect": "Deny", "Action": "sts:AssumeRole", "Principal": "*"}), {}, False),
    (
        "mfa asked, given",
        _policy({**ALLOW, "Principal": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}),
        {"aws:MultiFactorAuthPresent": "true"},
        True,
    ),
    (
        "mfa asked, not given",
        _policy({**ALLOW, "Principal": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}),
        {"aws:MultiFactorAuthPresent": "false"},
        False,
    ),
    (
        "external id matches",
        _policy({**ALLOW, "Principal": "*", "Condition": {"StringEquals": {"sts:ExternalId": "abc"}}}),
        {"sts:ExternalId": "abc"},
        True,
    ),
    (
        "external id missing",
        _policy({**ALLOW, "Principal": "*", "Condition": {"StringEquals": {"sts:ExternalId": "abc"}}}),
        {},
        False,
    ),
    (
        "if-exists, absent",
        _policy({**ALLOW, "Principal": "*", "Condition": {"StringEqualsIfExists": {"sts:ExternalId": "abc"}}}),
        {},
        True,
    ),
    (
        "a condition not evaluated refuses",
        _policy({**ALLOW, "Principal": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}),
        {},
        False,
    ),
]


@pytest.mark.parametrize(("policy", "context", "allowed"), [c[1:] for c in TRUST_CASES], ids=[c[0] for c in TRUST_CASES])
def test_trust_policy_rules(policy: dict[str, Any], context: dict[str, str], allowed: bool) -> None:
    assert trust_allows(policy, caller_arn=USER, account=ANALYTICS, context=context) is allowed


def test_a_role_session_is_trusted_through_its_role() -> None:
    session = f"arn:aws:sts::{ANALYTICS}:assumed-role/deployer/s1"
    trusting = _policy({**ALLOW, "Principal": {"AWS": f"arn:aws:iam::{ANALYTICS}:role/deployer"}})
    assert trust_allows(trusting, caller_arn=session, account=ANALYTICS, context={})
    other = _policy({**ALLOW, "Principal": {"AWS": f"arn:aws:iam::{ANALYTICS}:role/other"}})
    assert not trust_allows(other, caller_arn=session, account=ANALYTICS, context={})


# --------------------------------------------------------------------------- the controls: moto unfixed


@pytest.fixture(scope="module")
def plain_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's own server, without the endpoint's fixes: what the demo ran before."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    log = (tmp_path_factory.mktemp("plain") / "moto.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/config", timeout=1).close()  # noqa: S310 (127.0.0.1)
            break
        except (urllib.error.URLError, OSError):
            assert time.monotonic() < deadline and process.poll() is None, "moto's server did not start"
            time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def _seed_plain(url: str) -> tuple[str, str]:
    iam = client(url, "iam", ("AKIAAAAAAAAAAAAAAAAA", "x" * 40))
    iam.create_user(UserName="u")
    iam.put_user_policy(UserName="u", PolicyName="all", PolicyDocument=json.dumps(_policy({"Effect": "Allow", "Action": "*", "Resource": "*"})))
    key = iam.create_access_key(UserName="u")["AccessKey"]
    request = urllib.request.Request(f"{url}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"})  # noqa: S310
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 (127.0.0.1)
    return key["AccessKeyId"], key["SecretAccessKey"]


def test_control_unfixed_moto_refuses_right_keys_and_lets_anyone_into_other_accounts(plain_moto: str) -> None:
    key = _seed_plain(plain_moto)
    assert code(client(plain_moto, "sts", key).get_caller_identity) == "ok"  # a request with a body passes
    assert code(client(plain_moto, "lambda", key).list_functions) != "ok"  # a bodyless GET, with the right key
    # A role in another account, which does not even exist, is assumed: moto looks roles up in the caller's account.
    sts = client(plain_moto, "sts", key)
    assert code(lambda: sts.assume_role(RoleArn=f"arn:aws:iam::{PRODUCTION}:role/anything", RoleSessionName="demo-test")) == "ok"


def test_session_credentials_sign_as_the_user_who_asked(box: demo.Sandbox, aws_env: Any) -> None:
    """GetSessionToken keys act for their IAM user with signature checks on (DuckDB, Dask and the local
    credentials endpoint hand libraries such sessions instead of long-term keys)."""
    analyst = keys(box, "analyst")
    creds = client(box.endpoint_url, "sts", analyst).get_session_token()["Credentials"]
    session = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assert session[0] != analyst[0]
    arn = client(box.endpoint_url, "sts", session).get_caller_identity()["Arn"]
    assert arn == f"arn:aws:iam::{ANALYTICS}:user/analyst"
    body = client(box.endpoint_url, "s3", session).get_object(Bucket="analytics-raw-events", Key="2026/11/01.csv")["Body"]
    assert body.read().startswith(b"user,event")
    assert code(lambda: client(box.endpoint_url, "s3", session).get_object(Bucket="prod-orders", Key="orders/2026-11-02.json")) == "AccessDenied"
    # The session's token is part of the signature: without it, or with another one, the key is refused.
    assert code(lambda: client(box.endpoint_url, "sts", session[:2]).get_caller_identity()) == "InvalidClientTokenId"
    assert code(lambda: client(box.endpoint_url, "sts", (*session[:2], "x" * 40)).get_caller_identity()) == "InvalidClientTokenId"
