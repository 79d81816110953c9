"""The libraries follow the two kinds issue 20 names that the other follow tests do not: SSO and ``credential_process``.

Profile ``S`` reaches account B through IAM Identity Center (the small SSO server of
awswidget/demo/sso_portal.py hands out B's temporary credentials, as the portal's GetRoleCredentials
does); profile ``P`` runs a ``credential_process`` that prints B's temporary credentials.
Each library reads the two accounts' buckets after each switch: what it reads names the account.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from awswidget import CredentialsManager
from awswidget.demo.sso_portal import Account as SsoAccount
from awswidget.demo.sso_portal import SsoServer, running
from tests.accounts import TwoAccounts, fresh_credentials, two_accounts_fixture  # noqa: F401  (fixtures)
from tests.accounts import outcome as _outcome
from tests.conftest import AwsFiles

pytestmark = pytest.mark.integration

SESSION = "corp"
ROLE = "DataReader"


def _b_temporary(world: TwoAccounts) -> dict[str, str]:
    """Temporary credentials of account B's user (GetSessionToken on moto): what the portal or a process hands out."""
    sts = boto3.client("sts", endpoint_url=world.endpoint_url, region_name=world.b.region,
                       aws_access_key_id=world.b.access_key_id, aws_secret_access_key=world.b.secret_access_key)
    return sts.get_session_token()["Credentials"]  # type: ignore[no-any-return]


@pytest.fixture
def world(two_accounts: TwoAccounts, aws_env: AwsFiles, monkeypatch: pytest.MonkeyPatch) -> Iterator[TwoAccounts]:
    fresh_credentials()
    creds = _b_temporary(two_accounts)
    server = SsoServer([SsoAccount(two_accounts.b.account_id, "account-b", [ROLE])])
    server.role_keys[(two_accounts.b.account_id, ROLE)] = {
        "accessKeyId": creds["AccessKeyId"], "secretAccessKey": creds["SecretAccessKey"], "sessionToken": creds["SessionToken"],
    }
    with running(server) as live:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", live.url)  # beats the profile's endpoint_url (moto) for SSO alone
        monkeypatch.setenv("AWS_ENDPOINT_URL_SSO_OIDC", live.url)
        _cache_sso_login(aws_env.root, live)
        process = _process_output(aws_env.root, creds)
        e, region = two_accounts.endpoint_url, two_accounts.b.region
        extra = (
            f"\n[profile S]\nsso_session = {SESSION}\nsso_account_id = {two_accounts.b.account_id}\nsso_role_name = {ROLE}\n"
            f"region = {region}\nendpoint_url = {e}\n"
            f"\n[sso-session {SESSION}]\nsso_start_url = {live.start_url}\nsso_region = us-east-1\n"
            f"sso_registration_scopes = sso:account:access\n"
            f"\n[profile P]\ncredential_process = {shlex.quote(sys.executable)} -c "
            f"{shlex.quote('import sys; sys.stdout.write(open(sys.argv[1]).read())')} {process}\n"
            f"region = {region}\nendpoint_url = {e}\n"
        )
        two_accounts.write_profiles(aws_env, extra_config=extra)
        yield two_accounts
    fresh_credentials()


def _cache_sso_login(home: Path, server: SsoServer) -> None:
    """A valid SSO login in the CLI's token cache, as ``aws sso login`` leaves it (no device login in these tests)."""
    access = "accesstoken-follow-" + "x" * 20
    server.access_tokens.add(access)
    now = dt.datetime.now(dt.timezone.utc)
    token = {
        "startUrl": server.start_url, "region": "us-east-1", "accessToken": access,
        "expiresAt": (now + dt.timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "clientId": "client-follow", "clientSecret": "clientsecret-follow",
        "registrationExpiresAt": (now + dt.timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "refreshToken": "refreshtoken-follow",
    }
    folder = home / ".aws" / "sso" / "cache"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / (hashlib.sha1(SESSION.encode(), usedforsecurity=False).hexdigest() + ".json")).write_text(json.dumps(token))


def _process_output(home: Path, creds: dict[str, str]) -> Path:
    path = home / "process-credentials.json"
    expiration = creds["Expiration"]
    path.write_text(json.dumps({
        "Version": 1, "AccessKeyId": creds["AccessKeyId"], "SecretAccessKey": creds["SecretAccessKey"],
        "SessionToken": creds["SessionToken"],
        "Expiration": expiration.isoformat() if hasattr(expiration, "isoformat") else str(expiration),
    }))
    return path


def _s3fs(url: str) -> object:
    import s3fs

    return s3fs.S3FileSystem().cat(url)


def _pandas(url: str) -> object:
    import pandas as pd

    return pd.read_csv(url)


def _polars(url: str) -> object:
    import polars as pl

    return pl.read_csv(url)


def _pyarrow(url: str) -> object:
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    fs, path = pafs.FileSystem.from_uri(url.replace("data.csv", "data.parquet"))
    return pq.read_table(path, filesystem=fs)


READERS = {"s3fs": _s3fs, "pandas.read_csv": _pandas, "polars.read_csv": _polars, "pyarrow.from_uri": _pyarrow}


@pytest.mark.parametrize("library", list(READERS))
def test_sso_and_credential_process_profiles_are_followed(world: TwoAccounts, library: str) -> None:
    read = READERS[library]
    m = CredentialsManager(profile="A")
    try:
        reads = lambda: {"A": _outcome(read, world.a.csv_url), "B": _outcome(read, world.b.csv_url)}  # noqa: E731
        assert reads() == {"A": "A", "B": "denied"}
        m.profile = "S"
        assert m.verify().account == world.b.account_id  # the SSO server's credentials, through botocore's SSO provider
        assert reads() == {"A": "denied", "B": "B"}
        m.profile = "A"
        assert reads() == {"A": "A", "B": "denied"}
        m.profile = "P"
        assert m.verify().account == world.b.account_id
        assert reads() == {"A": "denied", "B": "B"}
        m.profile = "S"
        assert reads() == {"A": "denied", "B": "B"}
    finally:
        m.release()
