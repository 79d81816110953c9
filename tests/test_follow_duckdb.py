"""A DuckDB connection handed to ``m.follow`` keeps an S3 secret of the selection: switches, renewals, failures, stop."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest

import awswidget
from awswidget.follow import duckdb as follow_duckdb
from awswidget.follow._temporary import TemporaryCredentials
from tests.accounts import UNRESOLVABLE, TwoAccounts, fresh_credentials, two_accounts_fixture  # noqa: F401  (fixtures)
from tests.conftest import AwsFiles

pytestmark = pytest.mark.integration





@pytest.fixture
def world(two_accounts: TwoAccounts, aws_env: AwsFiles) -> TwoAccounts:
    fresh_credentials()
    two_accounts.write_profiles(aws_env, extra_config=UNRESOLVABLE)
    return two_accounts


@pytest.fixture
def m(world: TwoAccounts) -> Iterator[awswidget.CredentialsManager]:
    manager = awswidget.CredentialsManager(profile="A")
    yield manager
    manager.release()


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def account(con: duckdb.DuckDBPyConnection, url: str) -> str:
    rows = con.execute("SELECT DISTINCT account FROM read_parquet(?)", [url]).fetchall()
    assert len(rows) == 1, rows
    return str(rows[0][0])


def denied(con: duckdb.DuckDBPyConnection, url: str) -> bool:
    try:
        account(con, url)
    except duckdb.Error:
        return True
    return False


def secrets(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.execute("SELECT name, secret_string FROM duckdb_secrets()").fetchall()


def test_the_secret_follows_a_then_b_then_the_role(m: awswidget.CredentialsManager, world: TwoAccounts,
                                                   con: duckdb.DuckDBPyConnection) -> None:
    follower = m.follow(con)
    assert follower.wait() and follower.state == "ready"
    assert account(con, world.a.parquet_url) == "A"
    assert denied(con, world.b.parquet_url)
    m.profile = "B"
    assert follower.wait()
    assert account(con, world.b.parquet_url) == "B"
    assert denied(con, world.a.parquet_url)
    m.profile = "R"
    assert follower.wait()
    assert account(con, world.b.parquet_url) == "B"
    assert denied(con, world.a.parquet_url)
    (name, text), = secrets(con)
    assert name == "awswidget"
    assert f"endpoint={world.endpoint_url.removeprefix('http://')}" in text  # from the profile alone
    assert "use_ssl=false" in text and "url_style=path" in text and f"region={world.b.region}" in text


def test_httpfs_comes_from_the_package(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(duckdb.Error):
        con.execute("LOAD httpfs")  # DuckDB's default: a download into ~/.duckdb, which this machine cannot do
    follow_duckdb.load_httpfs(con)
    assert con.execute("SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'httpfs'").fetchall() == [(True,)]


def test_no_secret_value_in_reprs_or_secret_listings(m: awswidget.CredentialsManager, con: duckdb.DuckDBPyConnection) -> None:
    follower = m.follow(con)
    assert follower.wait()
    served = follow_duckdb.temporary_credentials(m.session, "A")
    for text in (repr(follower), repr(served), str(secrets(con)), str(vars(follower))):
        assert served.secret_access_key not in text
        assert served.session_token not in text


def test_duckdbs_own_errors_never_leave_with_a_value(m: awswidget.CredentialsManager, con: duckdb.DuckDBPyConnection) -> None:
    follower = m.follow(con)
    assert follower.wait()
    value = "never-in-a-message-" + "q" * 20
    with pytest.raises(awswidget.AwsWidgetError) as refused:  # DuckDB's message would quote it
        follower._execute(follow_duckdb._CREATE, ["AKIAX", value, value, "us-east-1", "h:1", "path", value])
    assert value not in str(refused.value)
    with pytest.raises(duckdb.Error) as raw:
        con.execute(follow_duckdb._CREATE, ["AKIAX", value, value, "us-east-1", "h:1", "path", value])
    assert value in str(raw.value)  # what the follower keeps out


def test_a_failed_switch_drops_the_secret_and_says_why(m: awswidget.CredentialsManager, world: TwoAccounts,
                                                       con: duckdb.DuckDBPyConnection, caplog: pytest.LogCaptureFixture) -> None:
    follower = m.follow(con)
    assert follower.wait()
    assert account(con, world.a.parquet_url) == "A"
    with caplog.at_level(logging.WARNING, logger="awswidget.follow.duckdb"):
        m.profile = "Orphan"
        assert not follower.wait()
    assert follower.state == "error" and follower.error
    assert "Orphan" in caplog.text
    assert secrets(con) == []
    assert denied(con, world.a.parquet_url) and denied(con, world.b.parquet_url)
    m.profile = "B"
    assert follower.wait() and follower.error is None
    assert account(con, world.b.parquet_url) == "B"


def test_the_old_secret_is_gone_as_soon_as_the_switch_returns(m: awswidget.CredentialsManager, world: TwoAccounts,
                                                              con: duckdb.DuckDBPyConnection,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    follower = m.follow(con)
    assert follower.wait()
    hold, real = threading.Event(), follow_duckdb.temporary_credentials

    def held(*args: Any, **kwargs: Any) -> TemporaryCredentials:
        hold.wait(10)  # B's credentials are still being resolved (in the background) when the switch returns
        return real(*args, **kwargs)

    monkeypatch.setattr(follow_duckdb, "temporary_credentials", held)
    m.profile = "B"
    assert follower.state == "pending"
    assert secrets(con) == []  # A's secret did not outlive the switch
    assert denied(con, world.a.parquet_url)
    hold.set()
    assert follower.wait()
    assert account(con, world.b.parquet_url) == "B"


def test_a_renewal_and_the_timer_replace_the_secret(m: awswidget.CredentialsManager, world: TwoAccounts,
                                                    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    m.profile = "R"
    follower = m.follow(con)
    assert follower.wait()
    made: list[str] = []
    original = follow_duckdb.DuckDBFollower._execute

    def counted(self: Any, sql: str, parameters: list[Any] | None = None) -> None:
        if parameters is not None:
            made.append(parameters[0])  # a CREATE SECRET (a DROP has no parameters)
        original(self, sql, parameters)

    monkeypatch.setattr(follow_duckdb.DuckDBFollower, "_execute", counted)
    m._renewed()
    assert follower.wait() and len(made) == 1
    assert account(con, world.b.parquet_url) == "B"
    # The timer: credentials inside the renewal window are renewed without a switch or a renewal.
    monkeypatch.setattr(follow_duckdb, "MIN_TIMER", 0.2)
    monkeypatch.setattr(follow_duckdb, "RENEW_BEFORE", dt.timedelta(days=365))
    m._renewed()
    deadline = time.monotonic() + 10
    while len(made) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(made) >= 4  # the renewal, then the timer, again and again
    assert follower.wait()
    assert account(con, world.b.parquet_url) == "B"


def test_stop_drops_the_secret_and_stops_following(m: awswidget.CredentialsManager, world: TwoAccounts,
                                                   con: duckdb.DuckDBPyConnection) -> None:
    follower = m.follow(con)
    assert follower.wait()
    follower.stop()
    assert follower.state == "stopped" and secrets(con) == []
    m.profile = "B"
    assert secrets(con) == []
    assert denied(con, world.b.parquet_url)


def test_only_duckdb_connections_are_taken(m: awswidget.CredentialsManager) -> None:
    with pytest.raises(awswidget.AwsWidgetError):
        m.follow(object())


def test_a_credential_process_profile_follows(world: TwoAccounts, aws_env: AwsFiles, tmp_path: Any,
                                              con: duckdb.DuckDBPyConnection) -> None:
    from tests.test_follow_pyarrow import process_profile

    process_profile(world, aws_env, tmp_path)
    m = awswidget.CredentialsManager(profile="A")
    try:
        follower = m.follow(con)
        m.profile = "P"  # long-term keys from a process: DuckDB gets an STS session of them
        assert follower.wait(), follower.error
        assert account(con, world.b.parquet_url) == "B"
        assert denied(con, world.a.parquet_url)
        assert world.b.access_key_id not in str(secrets(con))
    finally:
        m.release()


def test_a_second_manager_of_the_same_database_is_refused(m: awswidget.CredentialsManager, world: TwoAccounts,
                                                          con: duckdb.DuckDBPyConnection) -> None:
    first = m.follow(con)
    assert first.wait()
    side = awswidget.CredentialsManager(profile="B", activate=False)
    cursor = con.cursor()  # a cursor shares the database, and so its secrets
    with pytest.raises(awswidget.ValidationError) as refused:
        side.follow(cursor)
    assert "profile='A'" in str(refused.value) and "stop()" in str(refused.value)
    assert account(con, world.a.parquet_url) == "A"  # m's secret was not overwritten with B's
    assert denied(con, world.b.parquet_url)
    other = duckdb.connect()  # another database is free
    try:
        assert side.follow(other).wait()
        assert account(other, world.b.parquet_url) == "B"
    finally:
        other.close()
    first.stop()
    second = side.follow(cursor)  # once stopped, the database is free
    assert second.wait()
    assert account(con, world.b.parquet_url) == "B"
    second.stop()


def test_a_secret_nobody_keeps_is_not_overwritten(m: awswidget.CredentialsManager, con: duckdb.DuckDBPyConnection) -> None:
    follow_duckdb.load_httpfs(con)
    con.execute(f"CREATE SECRET {follow_duckdb.SECRET_NAME} (TYPE s3, KEY_ID 'mine', SECRET 'mine')")
    with pytest.raises(awswidget.ValidationError, match="DROP SECRET"):
        m.follow(con)
    assert "key_id=mine" in str(secrets(con))


def test_the_same_manager_gets_its_follower_back(m: awswidget.CredentialsManager, world: TwoAccounts,
                                                 con: duckdb.DuckDBPyConnection) -> None:
    follower = m.follow(con)
    assert follower.wait()
    assert m.follow(con) is follower and m.follow(con.cursor()) is follower
    assert follower.state == "ready"  # handed back: not re-resolved
    assert m._followers._handed.count(follower) == 1  # a switch reaches it once
    m.profile = "B"
    assert follower.wait()
    assert account(con, world.b.parquet_url) == "B"


def test_a_timer_renewal_racing_a_switch_keeps_the_switch(m: awswidget.CredentialsManager, world: TwoAccounts,
                                                          con: duckdb.DuckDBPyConnection,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    follower = m.follow(con)
    assert follower.wait()
    assert follower._timer is not None
    renewal, generation = follower._timer.args
    reached, go = threading.Event(), threading.Event()
    real_follow, real_credentials = follower.follow, follow_duckdb.temporary_credentials

    def late_follow(selection: Any) -> None:  # the timer thread loses the CPU after its generation check
        if selection.reason == "renewal":
            reached.set()
            go.wait(10)
        real_follow(selection)

    def late_credentials(session: Any, profile: str | None, region: str | None) -> TemporaryCredentials:
        if profile == "A":  # the renewal's resolution of A is still running when the switch lands
            reached.set()
            go.wait(10)
        return real_credentials(session, profile, region)

    monkeypatch.setattr(follower, "follow", late_follow)
    monkeypatch.setattr(follow_duckdb, "temporary_credentials", late_credentials)
    timer = threading.Thread(target=follower._renew, args=(renewal, generation))
    timer.start()
    assert reached.wait(10)
    m.profile = "B"
    go.set()
    timer.join(10)
    assert follower.wait()
    assert (follower.state, follower.profile) == ("ready", "B")
    assert account(con, world.b.parquet_url) == "B"
    assert denied(con, world.a.parquet_url)
