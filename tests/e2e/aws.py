"""The test's own hand on the sandbox: new IAM keys, and the shared files as written."""

from __future__ import annotations

import configparser
import contextlib
import json
import stat
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3

from awswidget.demo import Sandbox


@dataclass(frozen=True)
class NewKey:
    """An IAM user's fresh access key in the sandbox's analytics account."""

    user: str
    access_key_id: str
    secret_access_key: str


def new_key(sandbox: Sandbox) -> NewKey:
    """Create an IAM user and an access key as the ``analyst`` (an admin), like the IAM console would."""
    keys = read_ini(sandbox.credentials_file)["analyst"]
    iam = boto3.Session(
        aws_access_key_id=keys["aws_access_key_id"],
        aws_secret_access_key=keys["aws_secret_access_key"],
        region_name="us-east-1",
    ).client("iam", endpoint_url=sandbox.endpoint_url)
    user = f"e2e-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return NewKey(user, key["AccessKeyId"], key["SecretAccessKey"])


@contextlib.contextmanager
def signatures_checked(sandbox: Sandbox) -> Iterator[None]:
    """moto checks request signatures (and IAM policies) inside the block, as AWS does.

    Off elsewhere: the demo notebooks' own calls run unchecked (moto's check
    rejects some valid Lambda requests); on while a test needs a wrong secret
    refused with ``SignatureDoesNotMatch`` rather than silently accepted.
    """
    _reset_auth(sandbox.endpoint_url, "0")
    try:
        yield
    finally:
        _reset_auth(sandbox.endpoint_url, "inf")


def _reset_auth(endpoint_url: str, free_requests: str) -> None:
    # moto's INITIAL_NO_AUTH_ACTION_COUNT, changed at run time: requests left before checks start.
    url = f"{endpoint_url}/moto-api/reset-auth"
    request = urllib.request.Request(url, data=free_requests.encode(), method="POST")  # noqa: S310 (127.0.0.1)
    request.add_header("Content-Type", "text/plain")  # moto reads the raw body; a form body would be parsed away
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (127.0.0.1)
        assert json.loads(response.read())["status"] == "ok"


def read_ini(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    parser.read(path)
    return parser


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)
