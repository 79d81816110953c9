"""Two AWS accounts whose buckets deny each other, on a local moto server (issue 20's test world).

moto decides the account of a request by its access key (``moto.iam.models.get_account_id_from``):
an IAM user's key belongs to the account the user was created in, a role session's key to the role's
account, and any key moto does not know (anonymous requests included) to its default account
``123456789012``. With ``MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS=false`` in the server's environment, a
bucket answers ``AccessDenied`` to every account but its owner's. Neither account here is moto's
default one, so an unknown or missing key reads nothing.

The world (one per test session, signature checks off: the account follows the key id):

=========  ==============  =========  ==========================================================
profile    account         region     how
=========  ==============  =========  ==========================================================
``A``      ``111111111111`` us-east-1  long-term keys of IAM user ``user-a``
``B``      ``222222222222`` eu-west-1  long-term keys of IAM user ``user-b``
``R``      ``222222222222`` eu-west-1  role ``reader`` in B, ``role_arn`` + ``source_profile = A``
``RM``     ``222222222222`` eu-west-1  the same role with ``mfa_serial`` (user-a's virtual device)
``Broken`` none            us-east-1  keys, but ``endpoint_url`` on a port nothing listens on
=========  ==============  =========  ==========================================================

Each profile has its ``endpoint_url`` in the config file only (nothing in the environment). Each account
owns one bucket holding ``data.csv`` and ``data.parquet`` with its own letter in the ``account`` column.

Use::

    # the fixtures ``two_accounts`` (session) and ``two_account_files`` (per test):
    from tests.accounts import two_account_files_fixture, two_accounts_fixture  # noqa: F401

    def test_x(two_account_files):
        world = two_account_files          # profiles written into the test's tmp AWS files
        world.a.csv_url                     # "s3://awswidget-acct-a/data.csv"
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import boto3
import pytest

from awswidget.localaws import LocalAws, free_port

from .conftest import AwsFiles

__all__ = ["DENIED", "UNRESOLVABLE", "Account", "TwoAccounts", "account_of", "fresh_credentials", "outcome", "two_account_files_fixture", "two_accounts_fixture"]

ACCOUNT_A = "111111111111"
ACCOUNT_B = "222222222222"
CSV_KEY = "data.csv"
PARQUET_KEY = "data.parquet"


@dataclass(frozen=True)
class Account:
    """One account of the world: its IAM user's long-term keys and its bucket."""

    letter: str  # "A" or "B": also what its data says in the ``account`` column
    account_id: str
    region: str
    user: str
    access_key_id: str
    secret_access_key: str
    bucket: str

    @property
    def csv_url(self) -> str:
        return f"s3://{self.bucket}/{CSV_KEY}"

    @property
    def parquet_url(self) -> str:
        return f"s3://{self.bucket}/{PARQUET_KEY}"

    @property
    def csv_text(self) -> str:
        return f"account,value\n{self.letter},{1 if self.letter == 'A' else 2}\n"

    def __repr__(self) -> str:  # never the secret
        return f"Account({self.letter}, {self.account_id}, bucket={self.bucket!r})"


@dataclass(frozen=True)
class TwoAccounts:
    """The running world: accounts A and B, the role R in B, and the server."""

    server: LocalAws
    a: Account
    b: Account
    role_arn: str  # "reader" in B, trusted by A
    mfa_serial: str  # user-a's virtual MFA device (moto accepts any six digits)

    @property
    def endpoint_url(self) -> str:
        return self.server.endpoint_url

    @property
    def dead_endpoint_url(self) -> str:
        return f"http://127.0.0.1:{_DEAD_PORT}"

    def account(self, profile: str) -> Account | None:
        """The account whose bucket ``profile`` may read (``None``: no bucket)."""
        return {"A": self.a, "B": self.b, "R": self.b, "RM": self.b}.get(profile)

    def config_text(self) -> str:
        e = self.endpoint_url
        return (
            f"[profile A]\nregion = {self.a.region}\nendpoint_url = {e}\n\n"
            f"[profile B]\nregion = {self.b.region}\nendpoint_url = {e}\n\n"
            f"[profile R]\nrole_arn = {self.role_arn}\nsource_profile = A\nregion = {self.b.region}\nendpoint_url = {e}\n\n"
            f"[profile RM]\nrole_arn = {self.role_arn}\nsource_profile = A\nmfa_serial = {self.mfa_serial}\n"
            f"region = {self.b.region}\nendpoint_url = {e}\n\n"
            f"[profile Broken]\nregion = us-east-1\nendpoint_url = {self.dead_endpoint_url}\n"
        )

    def credentials_text(self) -> str:
        return (
            f"[A]\naws_access_key_id = {self.a.access_key_id}\naws_secret_access_key = {self.a.secret_access_key}\n\n"
            f"[B]\naws_access_key_id = {self.b.access_key_id}\naws_secret_access_key = {self.b.secret_access_key}\n\n"
            f"[Broken]\naws_access_key_id = AKIA{'Z' * 16}\naws_secret_access_key = {'z' * 40}\n"
        )

    def write_profiles(self, files: AwsFiles, *, extra_config: str = "", extra_credentials: str = "") -> AwsFiles:
        """Write the profiles into ``files`` (the test's tmp AWS files), replacing what was there."""
        return files.write(self.config_text() + extra_config, self.credentials_text() + extra_credentials)

    def s3(self, account: Account) -> object:
        """A boto3 S3 client with ``account``'s own keys (the world's ground truth, no profile)."""
        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=account.region,
                            aws_access_key_id=account.access_key_id, aws_secret_access_key=account.secret_access_key)


UNRESOLVABLE = (  # a role whose source profile has no credentials at all, and that profile
    "\n[profile Orphan]\nrole_arn = arn:aws:iam::222222222222:role/reader\nsource_profile = Empty\nregion = eu-west-1\n"
    "\n[profile Empty]\nregion = us-east-1\n"
)


def fresh_credentials() -> None:
    """Forget roles and STS sessions cached by earlier tests.

    Each test module that imports ``two_accounts_fixture`` gets its own moto server (a session fixture
    defined outside conftest is one per importing module), while awswidget's role cache is process-wide
    and keyed without the STS endpoint: a role assumed on another module's server would be reused here.
    """
    from awswidget import _session
    from awswidget.follow import _temporary

    _session.role_cache().clear()
    _temporary.forget()


DENIED = "denied"


def outcome(read: Callable[[str], object], url: str) -> str:
    """The account letter of what ``read(url)`` returned, or ``denied`` when it raised (any refusal)."""
    try:
        return account_of(read(url))
    except AssertionError:
        raise
    except Exception:
        return DENIED


def account_of(rows: object) -> str:
    """The ``account`` letter of data read back (a pandas/polars frame, a pyarrow table, a CSV string)."""
    if isinstance(rows, (str, bytes)):
        text = rows.decode() if isinstance(rows, bytes) else rows
        return text.splitlines()[1].split(",")[0]
    column = rows["account"]  # type: ignore[index]
    values = column.to_pylist() if hasattr(column, "to_pylist") else list(column)
    assert len(set(values)) == 1, values
    return str(values[0])


_DEAD_PORT = free_port()  # nothing listens there (reserved at import, released at once)


def _in_account(client: object, account_id: str) -> object:
    # Set-up calls name their account with moto's header; the world's own calls use the accounts' keys.
    def add_header(request: object, **_: object) -> None:
        request.headers["x-moto-account-id"] = account_id  # type: ignore[attr-defined]

    client.meta.events.register("before-sign.*.*", add_header)  # type: ignore[attr-defined]
    return client


def _parquet(letter: str) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(pa.table({"account": [letter], "value": [1 if letter == "A" else 2]}), sink)
    return sink.getvalue()


def _make_account(endpoint: str, letter: str, account_id: str, region: str) -> Account:
    kwargs = dict(endpoint_url=endpoint, region_name=region, aws_access_key_id="AKIASETUP0000000000" + letter,
                  aws_secret_access_key="setup-only-" + "s" * 29)
    iam = _in_account(boto3.client("iam", **kwargs), account_id)  # type: ignore[arg-type]
    user = f"user-{letter.lower()}"
    iam.create_user(UserName=user)  # type: ignore[attr-defined]
    key = iam.create_access_key(UserName=user)["AccessKey"]  # type: ignore[attr-defined]
    bucket = f"awswidget-acct-{letter.lower()}"
    s3 = _in_account(boto3.client("s3", **kwargs), account_id)  # type: ignore[arg-type]
    create: dict[str, object] = {"Bucket": bucket}
    if region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**create)  # type: ignore[attr-defined]
    account = Account(letter, account_id, region, user, key["AccessKeyId"], key["SecretAccessKey"], bucket)
    s3.put_object(Bucket=bucket, Key=CSV_KEY, Body=account.csv_text.encode())  # type: ignore[attr-defined]
    s3.put_object(Bucket=bucket, Key=PARQUET_KEY, Body=_parquet(letter))  # type: ignore[attr-defined]
    return account


@contextlib.contextmanager
def world() -> Iterator[TwoAccounts]:
    """moto on 127.0.0.1 with accounts A and B (buckets deny each other) and the role R in B (tests, benchmarks)."""
    with LocalAws(env={"MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS": "false"}) as server:
        saved = {name: os.environ.pop(name) for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL",
                                                         "AWS_ENDPOINT_URL_S3") if name in os.environ}
        try:  # set-up clients name everything explicitly
            a = _make_account(server.endpoint_url, "A", ACCOUNT_A, "us-east-1")
            b = _make_account(server.endpoint_url, "B", ACCOUNT_B, "eu-west-1")
            iam_b = _in_account(boto3.client("iam", endpoint_url=server.endpoint_url, region_name="us-east-1",
                                             aws_access_key_id="AKIASETUP0000000000B",
                                             aws_secret_access_key="setup-only-" + "s" * 29), ACCOUNT_B)
            trust = {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_A}:root"}, "Action": "sts:AssumeRole"}]}
            role = iam_b.create_role(RoleName="reader", AssumeRolePolicyDocument=json.dumps(trust))["Role"]  # type: ignore[attr-defined]
            iam_a = _in_account(boto3.client("iam", endpoint_url=server.endpoint_url, region_name="us-east-1",
                                             aws_access_key_id="AKIASETUP0000000000A",
                                             aws_secret_access_key="setup-only-" + "s" * 29), ACCOUNT_A)
            device = iam_a.create_virtual_mfa_device(VirtualMFADeviceName="user-a")["VirtualMFADevice"]  # type: ignore[attr-defined]
        finally:
            os.environ.update(saved)
        yield TwoAccounts(server, a, b, role["Arn"], device["SerialNumber"])


@pytest.fixture(scope="session", name="two_accounts")
def two_accounts_fixture() -> Iterator[TwoAccounts]:
    """moto on 127.0.0.1 with accounts A and B (buckets deny each other) and the role R in B."""
    with world() as made:
        yield made


@pytest.fixture(name="two_account_files")
def two_account_files_fixture(two_accounts: TwoAccounts, aws_env: AwsFiles) -> TwoAccounts:
    """The world, with its profiles written into this test's tmp AWS files."""
    two_accounts.write_profiles(aws_env)
    return two_accounts
