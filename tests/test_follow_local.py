"""The automatic followers (fsspec/s3fs and pandas through it, polars) against two accounts on moto.

Every read is real: the library talks to moto's server on 127.0.0.1 with whatever credentials,
region and endpoint it resolved, and the data read back names its account.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import boto3
import botocore.exceptions
import pytest

from awswidget import CredentialsManager, _session
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


# --------------------------------------------------------------------------- the libraries follow

DENIED = "denied"


def _outcome(read: Callable[[str], object], url: str) -> str:
    """The account letter of what ``read(url)`` returned, or ``denied`` when it raised (any refusal)."""
    try:
        return account_of(read(url))
    except AssertionError:
        raise
    except Exception:
        return DENIED


def _s3fs(url: str) -> object:
    import s3fs

    return s3fs.S3FileSystem().cat(url)


def _fsspec_filesystem(url: str) -> object:
    import fsspec

    return fsspec.filesystem("s3").cat(url)


def _fsspec_open(url: str) -> object:
    import fsspec

    with fsspec.open(url, "rb") as f:
        return f.read()


def _pandas_read_csv(url: str) -> object:
    import pandas as pd

    return pd.read_csv(url)


def _polars_read_csv(url: str) -> object:
    import polars as pl

    return pl.read_csv(url)


def _polars_read_parquet(url: str) -> object:
    import polars as pl

    return pl.read_parquet(url.replace("data.csv", "data.parquet"))


def _polars_scan_parquet(url: str) -> object:
    import polars as pl

    return pl.scan_parquet(url.replace("data.csv", "data.parquet")).collect()


def _polars_scan_csv(url: str) -> object:
    import polars as pl

    return pl.scan_csv(url).collect()


def _written(write: Callable[[str], str]) -> Callable[[str], object]:
    """A reader that writes a new object next to ``url`` with the library, then reads it back with the bucket
    owner's own keys (the ground truth of where it landed)."""

    def read(url: str) -> object:
        world = _WORLD[0]
        bucket = url.split("/")[2]
        owner = world.a if bucket == world.a.bucket else world.b
        key = write(f"s3://{bucket}/written-{uuid.uuid4().hex[:8]}.csv").split("/", 3)[3]
        body: bytes = world.s3(owner).get_object(Bucket=bucket, Key=key)["Body"].read()  # type: ignore[attr-defined]
        assert body.startswith(b"PAR1") or body.decode().splitlines()[0] == "account,value", body
        return f"account,value\n{owner.letter},0\n"  # landed in the owner's bucket: it was written as that account

    return read


def _pandas_to_csv(url: str) -> str:
    import pandas as pd

    pd.DataFrame({"account": ["?"], "value": [0]}).to_csv(url, index=False)
    return url


def _polars_write_csv(url: str) -> str:
    import polars as pl

    pl.DataFrame({"account": ["?"], "value": [0]}).write_csv(url)
    return url


def _polars_write_parquet(url: str) -> str:
    import polars as pl

    url = url.replace(".csv", ".parquet")
    pl.DataFrame({"account": ["?"], "value": [0]}).write_parquet(url)
    return url


_WORLD: list[TwoAccounts] = []

READERS: dict[str, Callable[[str], object]] = {
    "s3fs.S3FileSystem": _s3fs,
    "fsspec.filesystem": _fsspec_filesystem,
    "fsspec.open": _fsspec_open,
    "pandas.read_csv": _pandas_read_csv,
    "pandas.to_csv": _written(_pandas_to_csv),
    "polars.read_csv": _polars_read_csv,
    "polars.read_parquet": _polars_read_parquet,
    "polars.scan_parquet": _polars_scan_parquet,
    "polars.scan_csv": _polars_scan_csv,
    "polars.write_csv": _written(_polars_write_csv),
    "polars.write_parquet": _written(_polars_write_parquet),
}

AS_A = {"A": "A", "B": DENIED}
AS_B = {"A": DENIED, "B": "B"}
NOTHING = {"A": DENIED, "B": DENIED}


@pytest.fixture
def world(two_account_files: TwoAccounts) -> Iterator[TwoAccounts]:
    _WORLD[:] = [two_account_files]
    _session.role_cache().clear()
    yield two_account_files
    _session.role_cache().clear()


def _reads(read: Callable[[str], object], world: TwoAccounts) -> dict[str, str]:
    return {"A": _outcome(read, world.a.csv_url), "B": _outcome(read, world.b.csv_url)}


@pytest.mark.parametrize("library", list(READERS))
def test_every_read_follows_the_switches(world: TwoAccounts, library: str) -> None:
    read = READERS[library]
    m = CredentialsManager(profile="A")
    assert m.owns_process
    assert _reads(read, world) == AS_A
    m.profile = "B"
    assert _reads(read, world) == AS_B  # A's bucket now denied, B's read
    m.profile = "R"
    assert _reads(read, world) == AS_B  # the role in B, through A's keys
    m.profile = "B"
    assert _reads(read, world) == AS_B
    m.profile = "A"  # B -> A: B's bucket (read a moment ago as B) is denied, A's data is A's
    assert _reads(read, world) == AS_A
    with m.using("R"):
        assert _reads(read, world) == AS_B
    assert _reads(read, world) == AS_A
    m.profile = "R"
    m._renewed()  # new temporary credentials for the same selection
    assert _reads(read, world) == AS_B
