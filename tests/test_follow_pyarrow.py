"""pyarrow, and pandas' parquet through it, follow the selection: a filesystem made after a switch reads as its account.

pyarrow's C++ SDK reads ``AWS_PROFILE`` for static keys; roles (and anything else it cannot
resolve) come from awswidget's local credentials endpoint, the S3 endpoint from
``AWS_ENDPOINT_URL_S3`` (exported from the profile's ``endpoint_url``: nothing else sets it here).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pandas as pd
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

import awswidget
from awswidget.follow import endpoint as ep
from tests.accounts import UNRESOLVABLE, TwoAccounts, account_of, fresh_credentials, two_accounts_fixture  # noqa: F401  (fixtures)
from tests.conftest import AwsFiles

pytestmark = pytest.mark.integration

# A role whose source has no credentials (it cannot resolve), and a profile with no credentials at all.




@pytest.fixture
def world(two_accounts: TwoAccounts, aws_env: AwsFiles) -> TwoAccounts:
    fresh_credentials()
    two_accounts.write_profiles(aws_env, extra_config=UNRESOLVABLE)
    return two_accounts


@pytest.fixture
def m(world: TwoAccounts) -> Iterator[awswidget.CredentialsManager]:
    manager = awswidget.CredentialsManager()
    yield manager
    manager.release()


def read(url: str) -> str:
    fs, path = pafs.FileSystem.from_uri(url)  # a new filesystem, as pyarrow's docs create it
    return account_of(pq.read_table(path, filesystem=fs))


def denied(url: str) -> bool:
    try:
        read(url)
    except OSError:
        return True
    return False


def test_from_uri_follows_a_then_b_then_the_role(m: awswidget.CredentialsManager, world: TwoAccounts) -> None:
    m.profile = "A"
    assert read(world.a.parquet_url) == "A"
    assert denied(world.b.parquet_url)
    m.profile = "B"
    assert read(world.b.parquet_url) == "B"
    assert denied(world.a.parquet_url)
    m.profile = "R"  # a role through source_profile: pyarrow's C++ SDK cannot assume it, the endpoint serves it
    assert read(world.b.parquet_url) == "B"
    assert denied(world.a.parquet_url)
    m.profile = "A"
    assert read(world.a.parquet_url) == "A"
    assert denied(world.b.parquet_url)


def test_read_table_and_pandas_parquet_follow(m: awswidget.CredentialsManager, world: TwoAccounts) -> None:
    m.profile = "A"
    assert account_of(pq.read_table(world.a.parquet_url)) == "A"
    assert account_of(pd.read_parquet(world.a.parquet_url)) == "A"
    m.profile = "R"
    assert account_of(pq.read_table(world.b.parquet_url)) == "B"
    assert account_of(pd.read_parquet(world.b.parquet_url)) == "B"
    # to_parquet goes the same way; moto's CompleteMultipartUpload reply does not satisfy pyarrow, so
    # writing is not read back here: a write into A's bucket is refused before that step.
    with pytest.raises(OSError, match=r"ACCESS_DENIED|AccessDenied"):
        pd.DataFrame({"account": ["B"]}).to_parquet(f"s3://{world.a.bucket}/not-allowed.parquet")


def test_the_s3_endpoint_comes_from_the_profile_and_goes_away_on_release(m: awswidget.CredentialsManager, world: TwoAccounts) -> None:
    assert "AWS_ENDPOINT_URL_S3" not in os.environ and "AWS_ENDPOINT_URL" not in os.environ
    m.profile = "B"
    assert os.environ["AWS_ENDPOINT_URL_S3"] == world.endpoint_url  # the profile's endpoint_url, resolved by botocore
    assert os.environ["AWS_REGION"] == world.b.region
    m.release()
    for name in ("AWS_ENDPOINT_URL_S3", ep.FULL_URI, ep.TOKEN_FILE):
        assert name not in os.environ


def test_a_users_own_s3_endpoint_is_kept_and_restored(world: TwoAccounts, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")  # the user's: botocore would use it too
    m = awswidget.CredentialsManager(profile="B")
    assert os.environ["AWS_ENDPOINT_URL_S3"] == "http://127.0.0.1:9"
    m.release()
    assert os.environ["AWS_ENDPOINT_URL_S3"] == "http://127.0.0.1:9"


def test_a_renewal_serves_new_credentials(m: awswidget.CredentialsManager, world: TwoAccounts) -> None:
    m.profile = "R"
    assert read(world.b.parquet_url) == "B"
    before = ep.endpoint.requests
    m._renewed()
    assert read(world.b.parquet_url) == "B"
    assert ep.endpoint.requests == before + 1  # resolved again, not the credentials from before the renewal
    assert denied(world.a.parquet_url)


def test_a_switch_that_cannot_resolve_leaves_no_account_readable(m: awswidget.CredentialsManager, world: TwoAccounts) -> None:
    m.profile = "R"
    assert read(world.b.parquet_url) == "B"
    m.profile = "Orphan"  # its source profile has no credentials
    assert denied(world.b.parquet_url)
    assert denied(world.a.parquet_url)


def test_botocore_in_the_kernel_still_resolves_profiles_itself(m: awswidget.CredentialsManager, world: TwoAccounts) -> None:
    m.profile = "R"
    assert os.environ.get(ep.FULL_URI)  # the endpoint is exported...
    sts = boto3.Session(profile_name="A").client("sts")  # ...and a named profile still resolves by itself
    assert sts.get_caller_identity()["Account"] == world.a.account_id
    m.profile = "Empty"  # no credentials: the selection's own session must not ask the endpoint (it would ask itself)
    assert m.session.get_credentials() is None


def process_profile(world: TwoAccounts, aws_env: AwsFiles, tmp_path: os.PathLike[str]) -> None:
    """A ``credential_process`` profile that prints B's keys (what a password manager's helper does)."""
    import json
    import sys
    from pathlib import Path

    script = Path(tmp_path) / "helper.py"
    script.write_text("print(" + repr(json.dumps({"Version": 1, "AccessKeyId": world.b.access_key_id,
                                                  "SecretAccessKey": world.b.secret_access_key})) + ")\n")
    world.write_profiles(aws_env, extra_config=f"\n[profile P]\ncredential_process = {sys.executable} {script}\n"
                                               f"region = eu-west-1\nendpoint_url = {world.endpoint_url}\n")


def test_a_credential_process_profile_follows(world: TwoAccounts, aws_env: AwsFiles, tmp_path: os.PathLike[str]) -> None:
    process_profile(world, aws_env, tmp_path)
    m = awswidget.CredentialsManager(profile="A")
    try:
        assert read(world.a.parquet_url) == "A"
        m.profile = "P"
        assert read(world.b.parquet_url) == "B"
        assert denied(world.a.parquet_url)
    finally:
        m.release()


def test_an_mfa_role_follows_once_its_code_is_given(m: awswidget.CredentialsManager, world: TwoAccounts) -> None:
    import queue

    requests: queue.Queue[object] = queue.Queue()
    m.observe(lambda change: change.new is not None and requests.put(change.new), names="mfa_request")
    m.profile = "RM"
    future = m.verify(block=False)  # asks for the code in the notebook (here: answered below)
    requests.get(timeout=30).answer("123456")  # type: ignore[attr-defined]
    assert future.result(timeout=30).account == world.b.account_id
    assert read(world.b.parquet_url) == "B"  # the endpoint serves the MFA role's credentials
    assert denied(world.a.parquet_url)


def test_the_selection_wins_over_a_containers_own_credentials(world: TwoAccounts, monkeypatch: pytest.MonkeyPatch) -> None:
    """SageMaker/ECS: the container's credentials (here A's) were set before awswidget; R (in B) is selected."""
    import http.server
    import json
    import threading

    sts = boto3.client("sts", endpoint_url=world.endpoint_url, region_name="us-east-1",
                       aws_access_key_id=world.a.access_key_id, aws_secret_access_key=world.a.secret_access_key)
    c = sts.get_session_token()["Credentials"]
    body = json.dumps({"AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"], "Token": c["SessionToken"],
                       "Expiration": c["Expiration"].strftime("%Y-%m-%dT%H:%M:%SZ")}).encode()

    class Container(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Container)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    container = f"http://127.0.0.1:{server.server_address[1]}/role"
    monkeypatch.setenv(ep.FULL_URI, container)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", world.endpoint_url)  # the user's own (both accounts' buckets are there)
    try:
        assert read(world.a.parquet_url) == "A"  # before awswidget: the container's account
        m = awswidget.CredentialsManager(profile="R")
        try:
            assert read(world.b.parquet_url) == "B"  # the selection's, not the container's
            assert denied(world.a.parquet_url)
        finally:
            m.release()
        assert os.environ[ep.FULL_URI] == container
        assert read(world.a.parquet_url) == "A"  # restored: the container's again
    finally:
        server.shutdown()
        server.server_close()
