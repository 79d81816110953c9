"""The automatic followers (fsspec/s3fs and pandas through it, polars) against two accounts on moto.

Every read is real: the library talks to moto's server on 127.0.0.1 with whatever credentials,
region and endpoint it resolved, and the data read back names its account.
"""

from __future__ import annotations

import json
import os
import pickle
import queue
import subprocess
import sys
import types
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest

from awswidget import CredentialsManager, VerificationError, _session
from tests.accounts import DENIED, TwoAccounts, account_of, two_account_files_fixture, two_accounts_fixture  # noqa: F401  (fixtures)
from tests.accounts import outcome as _outcome

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


@pytest.mark.parametrize("library", ["s3fs.S3FileSystem", "pandas.read_csv", "polars.read_csv"])
def test_a_profile_that_fails_to_verify_reads_nothing_of_the_previous_account(world: TwoAccounts, library: str,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLARS_MAX_RETRIES", "0")  # the dead endpoint refuses at once; no need to retry
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    read = READERS[library]
    m = CredentialsManager(profile="A")
    assert _reads(read, world) == AS_A
    m.profile = "Broken"  # its endpoint_url is a port nothing listens on
    with pytest.raises(VerificationError):
        m.verify()
    assert _reads(read, world) == NOTHING
    m.profile = "A"
    assert _reads(read, world) == AS_A


def test_a_manager_that_does_not_own_the_process_touches_no_library(world: TwoAccounts) -> None:
    import fsspec
    import polars as pl
    import s3fs
    from polars.io.cloud.credential_provider import _builder

    owner = CredentialsManager(profile="A")
    fs, provider = s3fs.S3FileSystem(), _builder.DEFAULT_CREDENTIAL_PROVIDER
    other = CredentialsManager(profile="A", activate=False)
    assert owner.owns_process and not other.owns_process
    other.profile = "B"
    other.profile = "RM"  # an MFA role: not even fsspec's config is touched
    other._renewed()
    assert s3fs.S3FileSystem() is fs and _builder.DEFAULT_CREDENTIAL_PROVIDER is provider
    assert "s3" not in fsspec.config.conf
    assert _reads(_s3fs, world) == AS_A and _reads(_polars_read_csv, world) == AS_A
    assert pl.read_csv(world.a.csv_url)["account"].to_list() == ["A"]


def test_objects_kept_from_before_a_switch_keep_their_account(world: TwoAccounts) -> None:
    import s3fs

    m = CredentialsManager(profile="A")
    kept = s3fs.S3FileSystem()
    assert account_of(kept.cat(world.a.csv_url)) == "A"
    m.profile = "B"
    assert s3fs.S3FileSystem() is not kept  # a new one, on B
    assert account_of(kept.cat(world.a.csv_url)) == "A"  # as a boto3 client kept from before: documented


def test_renewal_makes_new_filesystems_and_a_new_polars_provider(world: TwoAccounts) -> None:
    import s3fs
    from polars.io.cloud.credential_provider import _builder

    m = CredentialsManager(profile="R")
    fs, provider = s3fs.S3FileSystem(), _builder.DEFAULT_CREDENTIAL_PROVIDER
    assert provider != "auto"
    m._renewed()
    assert s3fs.S3FileSystem() is not fs
    assert _builder.DEFAULT_CREDENTIAL_PROVIDER is not provider and _builder.DEFAULT_CREDENTIAL_PROVIDER != "auto"
    assert _reads(_s3fs, world) == AS_B and _reads(_polars_read_csv, world) == AS_B


def test_nothing_selected_gives_the_libraries_back_their_own_chain(world: TwoAccounts) -> None:
    import s3fs
    from polars.io.cloud.credential_provider import _builder

    m = CredentialsManager(profile="B")
    assert _reads(_s3fs, world) == AS_B
    m.profile = None
    assert _builder.DEFAULT_CREDENTIAL_PROVIDER == "auto"
    assert "AWS_PROFILE" not in os.environ
    assert _reads(_s3fs, world) == NOTHING  # no credentials anywhere: not B's
    m.release()
    assert isinstance(s3fs.S3FileSystem(), s3fs.S3FileSystem)


@pytest.mark.parametrize("library", ["s3fs.S3FileSystem", "pandas.read_csv", "polars.read_csv"])
def test_after_release_the_libraries_read_with_the_users_own_profile(world: TwoAccounts, library: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """release() gives the process back: the libraries follow the user's own AWS_PROFILE again, not the manager's."""
    monkeypatch.setenv("AWS_PROFILE", "B")  # the user's own choice, before awswidget
    read = READERS[library]
    m = CredentialsManager(profile="A")
    assert _reads(read, world) == AS_A
    m.release()
    assert os.environ["AWS_PROFILE"] == "B"
    assert _reads(read, world) == AS_B
    # A second manager that takes the process over and gives it back leaves nobody's selection behind either.
    other = CredentialsManager(profile="A", activate=True)
    assert _reads(read, world) == AS_A
    other.release()
    assert _reads(read, world) == AS_B


# --------------------------------------------------------------------------- a role with MFA


class _Requests:
    def __init__(self, manager: CredentialsManager) -> None:
        self.queue: queue.Queue[Any] = queue.Queue()
        manager.observe(self._seen, names="mfa_request")

    def _seen(self, change: Any) -> None:
        if change.new is not None:
            self.queue.put(change.new)


def test_an_mfa_role_asks_once_in_the_widget_and_every_library_uses_that_session(world: TwoAccounts) -> None:
    import fsspec
    import pandas as pd

    m = CredentialsManager(profile="A")
    assumed: list[dict[str, Any]] = []
    m.observe(lambda change: change.new is not None and change.new._session.register(
        "before-parameter-build.sts.AssumeRole", lambda params, **_: assumed.append(dict(params))), names="session")
    requests = _Requests(m)
    m.profile = "RM"
    future = m.verify(block=False)
    requests.queue.get(timeout=15).answer("123456")
    assert future.result(timeout=30).account == world.b.account_id
    assert _reads(_s3fs, world) == AS_B
    assert account_of(pd.read_csv(world.b.csv_url)) == "B"
    assert _reads(_polars_read_csv, world) == AS_B
    assert requests.queue.empty() and len(assumed) == 1  # one code, one AssumeRole: the libraries asked nobody
    session = fsspec.config.conf["s3"]["session"]
    assert "RM" in repr(session)
    text = repr(fsspec.config.conf) + str(dict(os.environ))
    frozen = m.session.get_credentials().get_frozen_credentials()  # type: ignore[union-attr]
    assert frozen.secret_key not in text and frozen.token not in text
    assert world.a.secret_access_key not in text
    m.profile = "A"  # an MFA-free selection: our session leaves fsspec's config
    assert "s3" not in fsspec.config.conf
    assert _reads(_s3fs, world) == AS_A


def test_a_filesystem_of_an_mfa_role_pickles_without_credentials(world: TwoAccounts) -> None:
    import s3fs
    from aiobotocore.session import AioSession

    m = CredentialsManager(profile="RM")
    requests = _Requests(m)
    future = m.verify(block=False)
    requests.queue.get(timeout=15).answer("123456")
    future.result(timeout=30)
    fs = s3fs.S3FileSystem()
    assert account_of(fs.cat(world.b.csv_url)) == "B"
    data = pickle.dumps(fs)  # what Dask ships to its workers
    frozen = m.session.get_credentials().get_frozen_credentials()  # type: ignore[union-attr]
    assert frozen.secret_key.encode() not in data and frozen.token.encode() not in data
    s3fs.S3FileSystem.clear_instance_cache()
    there = pickle.loads(data)  # noqa: S301  (our own bytes)
    assert type(there.storage_options["session"]) is AioSession  # a worker's own, from its environment


def test_a_session_of_the_users_own_in_fsspec_config_is_kept(world: TwoAccounts) -> None:
    import fsspec
    from aiobotocore.session import AioSession

    mine = AioSession(profile="A")
    fsspec.config.conf["s3"] = {"session": mine}
    try:
        m = CredentialsManager(profile="RM")
        assert fsspec.config.conf["s3"]["session"] is mine
        m.profile = "B"
        assert fsspec.config.conf["s3"] == {"session": mine}
    finally:
        fsspec.config.conf.pop("s3", None)


def test_a_polars_provider_of_the_users_own_is_kept(world: TwoAccounts, caplog: pytest.LogCaptureFixture) -> None:
    import polars as pl
    from polars.io.cloud.credential_provider import _builder

    mine = pl.CredentialProviderAWS(profile_name="A")
    pl.Config.set_default_credential_provider(mine)
    try:
        m = CredentialsManager(profile="B")
        m.profile = "R"
        assert _builder.DEFAULT_CREDENTIAL_PROVIDER is mine
        assert account_of(pl.read_csv(world.a.csv_url)) == "A"  # the user asked for A
        assert "polars has a default credential provider of yours" in caplog.text
    finally:
        pl.Config.set_default_credential_provider("auto")


# --------------------------------------------------------------------------- imported after the switch

CHILD = """
import sys, time
import awswidget

DATA = ("pandas", "fsspec", "s3fs", "polars", "pyarrow", "aiobotocore", "duckdb", "dask")
m = awswidget.CredentialsManager(profile=sys.argv[1])
if m.profile_info().mfa_serial:
    requests = []
    m.observe(lambda change: change.new is not None and requests.append(change.new), names="mfa_request")
    future = m.verify(block=False)
    while not requests:
        time.sleep(0.05)
    requests[0].answer("123456")
    future.result(timeout=30)
print("imported:", [name for name in DATA if name in sys.modules])
url = sys.argv[2]
if sys.argv[3] == "polars":
    import polars as pl
    print("read:", pl.read_csv(url)["account"][0])
elif sys.argv[3] == "pandas":
    import pandas as pd
    print("read:", pd.read_csv(url)["account"][0])
else:
    import s3fs
    print("read:", s3fs.S3FileSystem().cat(url).decode().splitlines()[1][0])
"""


@pytest.mark.parametrize("library", ["polars", "pandas", "s3fs"])
@pytest.mark.parametrize("profile", ["B", "RM"])
def test_a_library_imported_after_the_selection_reads_with_it(world: TwoAccounts, library: str, profile: str,
                                                              tmp_path: Path) -> None:
    # A fresh interpreter: the selection is made before the library is imported at all. stdin is closed:
    # a library asking for the MFA code itself (getpass) would fail.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run([sys.executable, "-c", CHILD, profile, world.b.csv_url, library], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "imported: []" in done.stdout  # awswidget and a switch import none of the data libraries
    assert "read: B" in done.stdout


# --------------------------------------------------------------------------- versions too old


def test_a_library_too_old_for_its_hook_gets_one_clear_warning(monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    # Stand-ins for releases without the hooks (s3fs without clear_instance_cache, polars without
    # Config.set_default_credential_provider): only the follower's check is under test here.
    from awswidget.follow import Selection
    from awswidget.follow.fsspec import FsspecFollower
    from awswidget.follow.polars import PolarsFollower

    old_s3fs, old_polars = types.ModuleType("s3fs"), types.ModuleType("polars")
    old_s3fs.S3FileSystem = type("S3FileSystem", (), {})  # type: ignore[attr-defined]
    old_polars.Config = type("Config", (), {})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "s3fs", old_s3fs)
    monkeypatch.setitem(sys.modules, "polars", old_polars)
    selection = Selection("A", "us-east-1", None, 1)
    for follower in (FsspecFollower(), PolarsFollower()):
        follower.follow(selection)
        follower.follow(selection)
    assert caplog.text.count("this s3fs is too old to follow account switches") == 1
    assert caplog.text.count("this polars is too old to follow account switches") == 1
    assert "pip install -U s3fs" in caplog.text and "pip install -U polars" in caplog.text


# --------------------------------------------------------------------------- other kinds, region, no export


def test_a_credential_process_profile_is_followed(world: TwoAccounts, aws_env: Any, tmp_path: Path) -> None:
    script = tmp_path / "creds.py"
    reply = json.dumps({"Version": 1, "AccessKeyId": world.b.access_key_id, "SecretAccessKey": world.b.secret_access_key})
    script.write_text(f"print({reply!r})\n")
    world.write_profiles(aws_env, extra_config=f"\n[profile P]\ncredential_process = {sys.executable} {script}\n"
                                               f"region = eu-west-1\nendpoint_url = {world.endpoint_url}\n")
    m = CredentialsManager(profile="A")
    m.profile = "P"
    for read in (_s3fs, _pandas_read_csv, _polars_read_csv):
        assert _reads(read, world) == AS_B


def test_the_selected_region_reaches_s3fs_and_polars(world: TwoAccounts) -> None:
    import s3fs
    from polars.io.cloud.credential_provider import _builder

    m = CredentialsManager(profile="B")
    m.region = "ap-southeast-2"  # not the profile's own
    fs = s3fs.S3FileSystem()
    fs.connect()
    assert fs.s3.meta.region_name == "ap-southeast-2"
    provider = _builder.DEFAULT_CREDENTIAL_PROVIDER
    assert provider._storage_update_options()["region"] == "ap-southeast-2"  # type: ignore[union-attr]
    assert provider._storage_update_options()["endpoint_url"] == world.endpoint_url  # type: ignore[union-attr]
    assert _reads(_s3fs, world) == AS_B and _reads(_polars_read_csv, world) == AS_B


def test_without_exporting_polars_follows_and_s3fs_says_it_cannot(world: TwoAccounts, aws_env: Any,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    from awswidget.follow import fsspec as fsspec_follow

    fsspec_follow.FOLLOWER._warned.clear()  # it warns once per process: an earlier test may have had it said
    m = CredentialsManager(profile="A")
    m.export_env = False
    os.environ["AWS_PROFILE"] = "A"  # what the user's environment says, and keeps saying
    m.profile = "B"
    assert _reads(_polars_read_csv, world) == AS_B  # polars uses the manager's session itself
    assert _reads(_s3fs, world) == AS_A  # s3fs reads the environment, as it was told
    assert "s3fs and pandas read the AWS settings of the environment" in caplog.text
