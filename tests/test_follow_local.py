"""The automatic followers (fsspec/s3fs and pandas through it, polars) against two accounts on moto.

Every read is real: the library talks to moto's server on 127.0.0.1 with whatever credentials,
region and endpoint it resolved, and the data read back names its account.
"""

from __future__ import annotations

import boto3
import botocore.exceptions
import pytest

from tests.accounts import TwoAccounts, account_of, two_account_files_fixture, two_accounts_fixture  # noqa: F401  (fixtures)

pytestmark = pytest.mark.integration


# --------------------------------------------------------------------------- the world itself


def _read(session: boto3.Session, world: TwoAccounts, bucket: str) -> str:
    body = session.client("s3").get_object(Bucket=bucket, Key="data.csv")["Body"].read()
    return account_of(body)


def test_the_accounts_deny_each_other(two_account_files: TwoAccounts) -> None:
    world = two_account_files
    for mine, theirs in ((world.a, world.b), (world.b, world.a)):
        session = boto3.Session(profile_name=mine.letter)  # the endpoint comes from the profile alone
        assert _read(session, world, mine.bucket) == mine.letter
        with pytest.raises(botocore.exceptions.ClientError) as denied:
            _read(session, world, theirs.bucket)
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
        assert session.client("sts").get_caller_identity()["Account"] == mine.account_id


def test_the_role_reads_as_account_b(two_account_files: TwoAccounts) -> None:
    world = two_account_files
    session = boto3.Session(profile_name="R")
    assert session.client("sts").get_caller_identity()["Account"] == world.b.account_id
    assert _read(session, world, world.b.bucket) == "B"
    with pytest.raises(botocore.exceptions.ClientError):
        _read(session, world, world.a.bucket)


def test_a_session_of_long_term_keys_reads_as_its_own_account(two_account_files: TwoAccounts) -> None:
    # What DuckDB secrets and Dask workers get for profiles A and B: GetSessionToken's credentials
    # (moto answered everyone with one example key, read as its default account, before the endpoint's fix).
    from awswidget.follow._temporary import temporary_credentials

    world = two_account_files
    for account in (world.a, world.b):
        made = temporary_credentials(boto3.Session(profile_name=account.letter), account.letter)
        session = boto3.Session(aws_access_key_id=made.access_key_id, aws_secret_access_key=made.secret_access_key,
                                aws_session_token=made.session_token, region_name=account.region)
        s3 = session.client("s3", endpoint_url=world.endpoint_url)
        assert account_of(s3.get_object(Bucket=account.bucket, Key="data.csv")["Body"].read()) == account.letter
        other = world.b if account is world.a else world.a
        with pytest.raises(botocore.exceptions.ClientError):
            s3.get_object(Bucket=other.bucket, Key="data.csv")
