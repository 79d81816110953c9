"""Focused tests of what hands credentials to other libraries and cluster workers (issue 22, mutation run).

Each test pins one behaviour a mutant of ``awswidget/follow/_temporary.py``,
``awswidget/follow/endpoint.py`` or the worker plugin of ``awswidget/follow/dask.py``
changed: which credentials may leave botocore (temporary ones only), the cache of
``GetSessionToken`` sessions and its renewal window, who the local credentials
endpoint answers (``127.0.0.1``, the token of its 0600 file) and what it answers,
what a Dask worker is given and what it is made to forget.

The credentials are real botocore ones: explicit temporary keys, a
``credential_process`` that prints temporary keys with an expiry (a child
process, no network), and for long-term keys an STS session from moto's server
on 127.0.0.1 (the ``local_aws`` fixture, started once per run: the only tests
here that need it, marked ``integration`` outside a mutation run, see
:func:`_moto`). The endpoint is a real HTTP server on 127.0.0.1, asked with urllib.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
import os
import socket
import stat
import sys
import threading
import types
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest

from awswidget import _redact
from awswidget.environment import exporter
from awswidget.errors import AwsWidgetError, VerificationError
from awswidget.follow import Selection, _temporary
from awswidget.follow import endpoint as ep
from awswidget.localaws import LocalAws, free_port
from tests.conftest import AwsFiles


# moto's server is what the integration marker is for; a mutation run (mutmut sets MUTANT_UNDER_TEST in
# every phase) deselects that marker, and these are the only fast tests of the GetSessionToken path.
def _moto(test: Any) -> Any:
    return test if "MUTANT_UNDER_TEST" in os.environ else pytest.mark.integration(test)

UTC = dt.timezone.utc
KEY_ID = "ASIAEXAMPLETEMPKEY01"
SECRET = "temporary/secret/" + "s" * 23
TOKEN = "session-token-" + "t" * 40


def temp_session(region: str | None = "eu-west-1", key: str = KEY_ID, token: str | None = TOKEN) -> boto3.Session:
    """A session of explicit temporary credentials (botocore resolves them without any network)."""
    return boto3.Session(aws_access_key_id=key, aws_secret_access_key=SECRET, aws_session_token=token,
                         region_name=region)


def process_profile(aws_env: AwsFiles, expiration: dt.datetime | None, name: str = "proc") -> boto3.Session:
    """A profile whose ``credential_process`` prints temporary keys (botocore's refreshable credentials)."""
    body: dict[str, Any] = {"Version": 1, "AccessKeyId": KEY_ID, "SecretAccessKey": SECRET, "SessionToken": TOKEN}
    if expiration is not None:
        body["Expiration"] = expiration.strftime("%Y-%m-%dT%H:%M:%SZ")
    script = aws_env.root / f"{name}.json"
    script.write_text(json.dumps(body))
    aws_env.write(config=f"[profile {name}]\nregion = ap-south-1\n"
                         f"credential_process = {sys.executable} -c \"import sys; print(open(sys.argv[1]).read())\" {script}\n")
    return boto3.Session(profile_name=name)


def made(expiration: dt.datetime | None = None, token: str = TOKEN, key: str = KEY_ID) -> _temporary.TemporaryCredentials:
    return _temporary.TemporaryCredentials(key, SECRET, token, expiration, "eu-west-1", None, "p")


@pytest.fixture(autouse=True)
def _no_cached_sessions() -> Any:
    _temporary.forget()
    yield
    _temporary.forget()


# ============================================================================ _temporary.py


def test_temporary_credentials_pass_through_with_the_sessions_region_and_s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9/s3")
    got = _temporary.temporary_credentials(temp_session(), "p")
    assert (got.access_key_id, got.secret_access_key, got.session_token) == (KEY_ID, SECRET, TOKEN)
    assert (got.region, got.endpoint_url, got.profile, got.expiration) == ("eu-west-1", "http://127.0.0.1:9/s3", "p", None)
    assert _temporary.temporary_credentials(temp_session(), "p", "us-west-2").region == "us-west-2"  # the caller's wins
    assert _temporary.temporary_credentials(temp_session(region=None)).region is None


def test_a_credential_process_s_expiry_is_kept_in_utc(aws_env: AwsFiles) -> None:
    expiry = (dt.datetime.now(UTC) + dt.timedelta(hours=2)).replace(microsecond=0)
    got = _temporary.temporary_credentials(process_profile(aws_env, expiry), "proc")
    assert got.expiration == expiry and got.expiration.tzinfo is not None
    assert got.region == "ap-south-1" and got.session_token == TOKEN


def test_no_session_or_no_credentials_is_a_sentence_naming_the_profile(aws_env: AwsFiles) -> None:
    with pytest.raises(VerificationError, match=r"^Profile '\(none selected\)' has no credentials to hand to other libraries\.$") as e:
        _temporary.temporary_credentials(None)
    assert e.value.code == "NoCredentials"
    aws_env.write(config="[profile Empty]\nregion = us-east-1\n")
    with pytest.raises(VerificationError, match=r"^Profile 'Empty' has no credentials") as e:
        _temporary.temporary_credentials(boto3.Session(profile_name="Empty"), "Empty")
    assert e.value.code == "NoCredentials"
    with pytest.raises(VerificationError, match="'Empty' has no credentials"):
        _temporary.temporary_credentials(temp_session(key=""), "Empty")  # an empty key id is no credential


def test_a_provider_that_fails_is_explained_without_its_output(aws_env: AwsFiles) -> None:
    aws_env.write(config=f"[profile bad]\ncredential_process = {sys.executable} -c \"print('{SECRET}'); raise SystemExit(3)\"\n")
    with pytest.raises(AwsWidgetError) as e:
        _temporary.temporary_credentials(boto3.Session(profile_name="bad"), "bad")
    assert SECRET not in str(e.value) and e.value.__cause__ is None and e.value.__suppress_context__


def test_the_repr_masks_the_key_and_shows_no_secret() -> None:
    text = repr(made(dt.datetime(2030, 1, 2, tzinfo=UTC)))
    assert SECRET not in text and TOKEN not in text and KEY_ID not in text
    assert text.startswith("TemporaryCredentials(profile='p', access_key_id='****************EY01', ")
    assert "expiration=datetime.datetime(2030, 1, 2" in text and "region='eu-west-1'" in text and "endpoint_url=None" in text


def test_expires_within_is_inclusive_and_false_without_an_expiry() -> None:
    now = dt.datetime(2030, 1, 1, tzinfo=UTC)
    window = dt.timedelta(minutes=15)
    assert not made(None).expires_within(window, now)
    assert made(now + window).expires_within(window, now)  # exactly at the edge: renew
    assert not made(now + window + dt.timedelta(seconds=1)).expires_within(window, now)
    assert made(dt.datetime.now(UTC) + dt.timedelta(minutes=14)).expires_within(window)  # now defaults to now
    assert not made(dt.datetime.now(UTC) + dt.timedelta(minutes=16)).expires_within(window)
    assert _temporary.RENEW_BEFORE == dt.timedelta(minutes=15)


def test_an_sts_that_cannot_be_reached_is_one_sentence(aws_env: AwsFiles) -> None:
    aws_env.write(config=f"[profile keys]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:{free_port()}\n",
                  credentials=f"[keys]\naws_access_key_id = AKIAEXAMPLELONGTERM1\naws_secret_access_key = {SECRET}\n")
    with pytest.raises(VerificationError) as e:
        _temporary.temporary_credentials(boto3.Session(profile_name="keys"), "keys")
    assert SECRET not in str(e.value) and e.value.__cause__ is None and e.value.__suppress_context__
    assert _temporary._sessions == {}  # nothing cached


def keys_profile(aws_env: AwsFiles, endpoint_url: str, name: str = "keys", key: str = "AKIAEXAMPLELONGTERM1",
                 region: str | None = "eu-central-1") -> boto3.Session:
    region_line = f"region = {region}\n" if region else ""
    aws_env.write(config=f"[profile {name}]\n{region_line}endpoint_url = {endpoint_url}\n",
                  credentials=f"[{name}]\naws_access_key_id = {key}\naws_secret_access_key = {SECRET}\n")
    return boto3.Session(profile_name=name)


@_moto
@pytest.mark.parametrize("region", ["eu-central-1", None])
def test_long_term_keys_become_a_cached_sts_session(local_aws: LocalAws, aws_env: AwsFiles, region: str | None,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # STS's own endpoint (the cache's key) differs from the profile's endpoint for every other service (S3's).
    s3_url = local_aws.endpoint_url.replace("127.0.0.1", "localhost")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", local_aws.endpoint_url)
    session = keys_profile(aws_env, s3_url, region=region)
    before = dt.datetime.now(UTC)
    first = _temporary.temporary_credentials(session, "keys")
    assert first.access_key_id != "AKIAEXAMPLELONGTERM1" and first.secret_access_key != SECRET and first.session_token
    assert first.access_key_id.startswith("ASIA")
    assert all(isinstance(v, str) and len(v) >= 20 for v in (first.secret_access_key, first.session_token))
    assert first.expiration is not None and first.expiration.tzinfo is not None
    # GetSessionToken's 12 hours for IAM users (moto's expiry is the request's DurationSeconds from now).
    assert abs((first.expiration - before).total_seconds() - 12 * 3600) < 120
    assert (first.region, first.endpoint_url, first.profile) == (region, s3_url, "keys")
    assert list(_temporary._sessions) == [("AKIAEXAMPLELONGTERM1", local_aws.endpoint_url)]
    # Cached per key and STS endpoint: the same session again, with the caller's region and profile.
    again = _temporary.temporary_credentials(session, "other", "sa-east-1")
    assert (again.access_key_id, again.secret_access_key, again.session_token, again.expiration) == \
        (first.access_key_id, first.secret_access_key, first.session_token, first.expiration)
    assert (again.region, again.endpoint_url, again.profile) == ("sa-east-1", s3_url, "other")
    # Within RENEW_BEFORE of its expiry it is replaced by a new session.
    cached = _temporary._sessions[("AKIAEXAMPLELONGTERM1", local_aws.endpoint_url)]
    soon = dt.datetime.now(UTC) + _temporary.RENEW_BEFORE - dt.timedelta(seconds=30)
    _temporary._sessions[("AKIAEXAMPLELONGTERM1", local_aws.endpoint_url)] = _temporary.TemporaryCredentials(
        cached.access_key_id, cached.secret_access_key, cached.session_token, soon, None, None)
    renewed = _temporary.temporary_credentials(session, "keys")
    assert renewed.access_key_id != first.access_key_id and renewed.expiration is not None and renewed.expiration > soon
    assert _temporary._sessions[("AKIAEXAMPLELONGTERM1", local_aws.endpoint_url)] is renewed
    _temporary.forget()
    assert _temporary._sessions == {}
    assert _temporary.temporary_credentials(session, "keys").access_key_id not in (first.access_key_id, renewed.access_key_id)


@_moto
def test_the_cache_tells_keys_and_sts_endpoints_apart(local_aws: LocalAws, aws_env: AwsFiles) -> None:
    one = _temporary.temporary_credentials(keys_profile(aws_env, local_aws.endpoint_url, key="AKIAEXAMPLELONGTERM1"))
    two = _temporary.temporary_credentials(keys_profile(aws_env, local_aws.endpoint_url, key="AKIAEXAMPLELONGTERM2"))
    assert one.access_key_id != two.access_key_id
    other_url = local_aws.endpoint_url.replace("127.0.0.1", "localhost")
    three = _temporary.temporary_credentials(keys_profile(aws_env, other_url, key="AKIAEXAMPLELONGTERM1"))
    assert three.access_key_id not in (one.access_key_id, two.access_key_id)
    assert len(_temporary._sessions) == 3


# ============================================================================ endpoint.py


@pytest.fixture
def server() -> Any:
    made_here = ep.CredentialsEndpoint()
    made_here.start()
    exporter.export({ep.FULL_URI: made_here.url})  # what the follower does: the endpoint serves only while pointed at
    yield made_here
    made_here.stop()
    exporter.restore((ep.FULL_URI,))


def ask(server: ep.CredentialsEndpoint, token: str | None, path: str = "/awswidget/credentials") -> tuple[int, dict[str, str], Any]:
    assert server.url is not None
    request = urllib.request.Request(server.url.rsplit("/awswidget", 1)[0] + path)  # noqa: S310 (127.0.0.1)
    if token is not None:
        request.add_header("Authorization", token)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 (127.0.0.1)
            return reply.status, json.loads(reply.read()), reply.headers
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read()), refused.headers


def test_starting_the_endpoint_asks_no_resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    """http.server's bind looks up the host's name (a reverse DNS query that may leave the machine); ours does not."""
    import socket

    def no_lookup(*_args: Any) -> str:
        raise AssertionError("a name lookup")

    monkeypatch.setattr(socket, "getfqdn", no_lookup)
    monkeypatch.setattr(socket, "gethostbyaddr", no_lookup)
    started = ep.CredentialsEndpoint()
    started.start()
    try:
        assert started._server is not None and started._server.server_name == "127.0.0.1"
        assert started._server.server_port == started._server.server_address[1] > 0
        exporter.export({ep.FULL_URI: started.url})
        assert ask(started, "wrong")[0] == 403  # it serves: refused for a wrong token, as ever
    finally:
        exporter.restore((ep.FULL_URI,))
        started.stop()


def test_the_token_file_is_private_and_the_server_listens_on_127_0_0_1_only(server: ep.CredentialsEndpoint) -> None:
    token_file = Path(str(server.token_file))
    assert token_file.name == "token" and token_file.parent.name.startswith("awswidget-endpoint-")
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
    token = token_file.read_text()
    assert token == server._token and len(token) == 43  # 32 random bytes, URL-safe base64
    assert server._server is not None and server._server.server_address[0] == "127.0.0.1"
    assert server.url == f"http://127.0.0.1:{server._server.server_address[1]}/awswidget/credentials"
    assert token not in _redact.redact(f"sent {token} to it")  # remembered: never logged, whatever the format
    serving = [t for t in threading.enumerate() if t.name == "awswidget-credentials-endpoint" and t.is_alive()]
    assert serving and all(t.daemon for t in serving)  # it never holds up the kernel's exit
    other = ep.CredentialsEndpoint()
    other.start()  # a second endpoint gets its own port: the OS picks it
    try:
        assert other._server is not None and other._server.server_address[1] != server._server.server_address[1]
    finally:
        other.stop()
    server.start()  # a second start keeps the running server and its token
    assert server._token == token and token_file.exists()
    folder = token_file.parent
    token_file.unlink()
    folder.rmdir()  # removed by someone else first (a tmp cleaner): stop() still stops
    server.stop()
    assert server.url is None and server.token_file is None and server._token == ""
    assert not folder.exists()
    server.stop()  # twice is harmless


def test_only_127_0_0_1_with_the_exact_token_is_allowed(server: ep.CredentialsEndpoint) -> None:
    token = server._token
    assert server.allowed("127.0.0.1", token)
    assert not server.allowed("127.0.0.2", token) and not server.allowed("10.0.0.1", token)
    assert not server.allowed("127.0.0.1", None) and not server.allowed("127.0.0.1", token + "x")
    assert not server.allowed("127.0.0.1", token[:-1]) and not server.allowed("127.0.0.1", "")
    server.stop()
    assert not server.allowed("127.0.0.1", "")  # a stopped server has no token, and an empty one matches nothing


def test_it_refuses_without_the_token_and_answers_the_credentials_path_only(server: ep.CredentialsEndpoint,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    server.select(Selection("p", "eu-west-1", temp_session(), 1))
    for token in (None, "wrong", server._token + "x"):
        status, body, _ = ask(server, token)
        assert (status, body) == (403, {"Code": "AccessDenied", "Message": "Wrong or missing authorization token."})
    assert server.refused == 3 and server.requests == 0
    status, body, _ = ask(server, server._token, "/awswidget/other")
    assert (status, body) == (404, {"Code": "NotFound", "Message": "Not an awswidget credentials path."})
    import time

    monkeypatch.setenv("TZ", "America/Los_Angeles")  # a kernel whose clock is not on UTC: the answer still is
    time.tzset()
    try:
        status, body, headers = ask(server, server._token, "/awswidget/credentials?x=1")
    finally:
        monkeypatch.undo()
        time.tzset()
    assert status == 200 and server.requests == 1 and server.refused == 3
    assert headers["Server"].strip() == "awswidget"  # no Python version
    assert headers["Cache-Control"] == "no-store" and headers["Content-Type"] == "application/json"
    assert int(headers["Content-Length"]) == len(json.dumps(body).encode())
    assert set(body) == {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}
    assert (body["AccessKeyId"], body["SecretAccessKey"], body["Token"]) == (KEY_ID, SECRET, TOKEN)
    # No expiry known: SDKs are told UNKNOWN_EXPIRY from now, so they ask again.
    expiry = dt.datetime.strptime(body["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs((expiry - dt.datetime.now(UTC) - ep.UNKNOWN_EXPIRY).total_seconds()) < 60
    assert ep.UNKNOWN_EXPIRY == dt.timedelta(minutes=30)
    assert ask(server, server._token)[0] == 200 and server.requests == 2


def test_a_known_expiry_is_served_in_utc(server: ep.CredentialsEndpoint, aws_env: AwsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    expiry = (dt.datetime.now(UTC) + dt.timedelta(hours=3)).replace(microsecond=0)
    server.select(Selection("proc", None, process_profile(aws_env, expiry), 1))
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        status, body, _ = ask(server, server._token)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert status == 200 and body["Expiration"] == expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (body["AccessKeyId"], body["Token"]) == (KEY_ID, TOKEN)
    assert _redact.redact(f"x {SECRET} {TOKEN}") == "x " + _redact.redact(SECRET) + " " + _redact.redact(TOKEN)
    assert SECRET not in _redact.redact(f"x {SECRET}") and TOKEN not in _redact.redact(f"x {TOKEN}")


def test_nothing_selected_or_not_pointed_at_is_refused_with_a_sentence(server: ep.CredentialsEndpoint) -> None:
    status, body, _ = ask(server, server._token)
    assert (status, body) == (503, {"Code": "NoCredentials", "Message": "No profile is selected in awswidget."})
    server.select(Selection(None, None, None, 1))
    assert ask(server, server._token)[1]["Code"] == "NoCredentials"
    server.select(Selection("p", "eu-west-1", temp_session(), 2))
    assert ask(server, server._token)[0] == 200
    exporter.restore((ep.FULL_URI,))  # released, or the user unset it: not served any more
    with pytest.raises(VerificationError, match="No profile is selected") as e:
        server.credentials()
    assert e.value.code == "NoCredentials"
    os.environ[ep.FULL_URI] = str(server.url)  # set by somebody else, not exported by awswidget
    with pytest.raises(VerificationError, match="No profile is selected"):
        server.credentials()


def test_credentials_are_resolved_once_per_selection_and_renewed_before_expiry(
        server: ep.CredentialsEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    expiries = [dt.datetime.now(UTC) + dt.timedelta(hours=1)]

    def resolve(session: Any, profile: str | None = None, region: str | None = None) -> _temporary.TemporaryCredentials:
        calls.append((session, profile, region))
        return made(expiries[-1], token=f"{TOKEN}-{len(calls)}")

    monkeypatch.setattr(ep, "temporary_credentials", resolve)
    session = temp_session()
    server.select(Selection("p", "eu-west-1", session, 1))
    first = server.credentials()
    assert server.credentials() is first and calls == [(session, "p", "eu-west-1")]  # served again, not resolved
    server.select(Selection("p", "eu-west-1", session, 2))  # a switch (or a renewal): never the previous ones
    second = server.credentials()
    assert second is not first and len(calls) == 2 and server.credentials() is second
    expiries.append(dt.datetime.now(UTC) + ep.RENEW_BEFORE - dt.timedelta(seconds=5))
    server.select(Selection("p", "eu-west-1", session, 3))
    third = server.credentials()
    assert len(calls) == 3  # about to expire...
    fourth = server.credentials()
    assert len(calls) == 4 and fourth is not third  # ...so every request resolves afresh
    assert server._served is fourth and server._served_generation == 3


def test_a_renewal_of_the_same_generation_is_resolved_afresh(server: ep.CredentialsEndpoint,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = iter(["first", "renewed"])
    monkeypatch.setattr(ep, "temporary_credentials", lambda *args: made(token=next(tokens)))
    session = temp_session()
    server.select(Selection("p", None, session, 5))
    assert server.credentials().session_token == "first"
    server.select(Selection("p", None, session, 5, reason="renewal"))  # new temporary credentials, same generation
    assert server.credentials().session_token == "renewed"


def test_a_fresh_endpoint_serves_nothing_and_names_no_token_file() -> None:
    fresh = ep.CredentialsEndpoint()
    assert fresh.url is None and fresh.token_file is None and fresh._token == "" and not fresh.allowed("127.0.0.1", "")
    assert (fresh.requests, fresh.refused) == (0, 0)


def test_it_never_serves_long_term_keys_whatever_the_resolver_returns(
        server: ep.CredentialsEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ep, "temporary_credentials", lambda *args: made(token=""))
    server.select(Selection("p", "eu-west-1", temp_session(), 1))
    status, body, _ = ask(server, server._token)
    assert (status, body) == (503, {"Code": "NotTemporary", "Message": "awswidget only hands out temporary credentials."})
    assert server.requests == 0 and server._served is None


def test_a_failure_that_is_not_ours_names_only_its_type(server: ep.CredentialsEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> Any:
        raise KeyError(SECRET)

    monkeypatch.setattr(ep, "temporary_credentials", broken)
    server.select(Selection("p", "eu-west-1", temp_session(), 1))
    status, body, _ = ask(server, server._token)
    assert (status, body) == (503, {"Code": "CredentialsUnavailable",
                                    "Message": "awswidget could not resolve the selection's credentials (KeyError)."})
    assert ep._is_ours(VerificationError("x")) and not ep._is_ours(KeyError("x"))


def test_a_switch_during_a_resolution_serves_the_new_selection(server: ep.CredentialsEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = Selection("a", None, temp_session(), 1), Selection("b", None, temp_session(), 2)
    profiles: list[str | None] = []

    def resolve(session: Any, profile: str | None = None, region: str | None = None) -> _temporary.TemporaryCredentials:
        profiles.append(profile)
        if profile == "a":
            server.select(second)  # the user switched while STS answered
        return made(token=f"{TOKEN}-{profile}")

    monkeypatch.setattr(ep, "temporary_credentials", resolve)
    server.select(first)
    assert server.credentials().session_token == f"{TOKEN}-b" and profiles == ["a", "b"]
    assert server._served_generation == 2

    def always_switching(session: Any, profile: str | None = None, region: str | None = None) -> Any:
        server.select(Selection("c", None, temp_session(), 3))
        return made()

    tries: list[int] = []

    def counted(*args: Any) -> Any:
        tries.append(1)
        return always_switching(*args)

    monkeypatch.setattr(ep, "temporary_credentials", counted)
    server.select(Selection("c", None, temp_session(), 3))
    with pytest.raises(VerificationError) as e:
        server.credentials()
    assert str(e.value) == "The selection changed while its credentials were being resolved."
    assert e.value.code == "Busy" and server._served is None and len(tries) == 3  # three tries, then it says so


class SignallingLock:
    """The endpoint's resolution lock, telling the test when a request waits for it (no sleep, no race)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiting = threading.Event()

    def __enter__(self) -> SignallingLock:
        self.waiting.set()
        self.lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def _in_thread(call: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(call()), daemon=True)
    thread.start()
    return thread, out


def test_a_request_that_waited_for_another_resolution_takes_its_result(
        server: ep.CredentialsEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str | None] = []

    def resolve(session: Any, profile: str | None = None, region: str | None = None) -> _temporary.TemporaryCredentials:
        calls.append(profile)
        return made(dt.datetime.now(UTC) + dt.timedelta(hours=1), token=f"{TOKEN}-{profile}")

    monkeypatch.setattr(ep, "temporary_credentials", resolve)
    gate = server._resolving = SignallingLock()  # type: ignore[assignment]
    selection = Selection("a", None, temp_session(), 1)
    server.select(selection)
    # 1. Another request resolved this selection while this one waited: its result, no second resolution.
    gate.lock.acquire()
    thread, out = _in_thread(server.credentials)
    assert gate.waiting.wait(10)
    theirs = made(dt.datetime.now(UTC) + dt.timedelta(hours=1), token="resolved-by-the-other-request")
    with server._lock:
        server._served, server._served_generation = theirs, 1
    gate.lock.release()
    thread.join(10)
    assert out == [theirs] and calls == []
    # 2. ...but not when what it resolved is about to expire.
    gate.waiting.clear()
    server.select(selection)
    gate.lock.acquire()
    thread, out = _in_thread(server.credentials)
    assert gate.waiting.wait(10)
    with server._lock:
        server._served, server._served_generation = made(dt.datetime.now(UTC) + dt.timedelta(minutes=1)), 1
    gate.lock.release()
    thread.join(10)
    assert calls == ["a"] and out[0].session_token == f"{TOKEN}-a"
    # 3. The user switched while it waited: it resolves the new selection.
    gate.waiting.clear()
    server.select(selection)
    gate.lock.acquire()
    thread, out = _in_thread(server.credentials)
    assert gate.waiting.wait(10)
    server.select(Selection("b", None, temp_session(), 2))
    gate.lock.release()
    thread.join(10)
    assert calls == ["a", "b"] and out[0].session_token == f"{TOKEN}-b" and server._served_generation == 2


def test_a_request_the_handler_fails_on_is_dropped_with_a_debug_line(
        server: ep.CredentialsEndpoint, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken(client_host: str, authorization: str | None) -> bool:
        raise RuntimeError(SECRET)

    monkeypatch.setattr(server, "allowed", broken)
    with caplog.at_level(logging.DEBUG, logger="awswidget.follow.endpoint"):
        with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
            ask(server, server._token)
        monkeypatch.undo()
        server.select(Selection("p", None, temp_session(), 1))
        assert ask(server, server._token)[0] == 200  # and the server goes on answering
    messages = [r.getMessage() for r in caplog.records if r.name == "awswidget.follow.endpoint"]
    assert messages == ["awswidget: the credentials endpoint dropped a request"]
    assert not any(SECRET in r.getMessage() or r.exc_info for r in caplog.records)


def test_a_connection_waiting_for_a_free_handler_is_closed_when_the_server_stops(server: ep.CredentialsEndpoint) -> None:
    class EveryHandlerBusy:
        """The server's handler slots with none free; tells the test once the accept loop waits for one."""

        def __init__(self) -> None:
            self.waiting = threading.Event()

        def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
            self.waiting.set()
            threading.Event().wait(timeout or 0)  # as long as a real wait for a slot would take
            return False

        def release(self) -> None:
            raise AssertionError("no slot was taken")

    assert server._server is not None
    slots = server._server._slots = EveryHandlerBusy()  # type: ignore[assignment]
    with socket.create_connection(("127.0.0.1", server._server.server_address[1]), timeout=10) as waiting:
        waiting.sendall(b"GET /awswidget/credentials HTTP/1.0\r\n\r\n")
        assert slots.waiting.wait(10)  # accepted, and waiting for a handler
        server.stop()  # returns once the accept loop saw it (it checks every 0.25 s while it waits for a slot)
        try:
            answer = waiting.recv(100)
        except ConnectionResetError:
            answer = b""
        assert answer == b""  # hung up on, never answered


def test_a_handler_thread_that_cannot_start_gives_its_slot_back(server: ep.CredentialsEndpoint,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import socketserver

    def no_thread(self: Any, request: Any, client_address: Any) -> None:
        raise RuntimeError("can't start new thread")  # what threading raises when the process is out of threads

    monkeypatch.setattr(socketserver.ThreadingMixIn, "process_request", no_thread)
    assert server._server is not None
    with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
        ask(server, server._token)
    monkeypatch.undo()
    slots = server._server._slots
    taken = 0
    while slots.acquire(blocking=False):  # every slot is free again: none leaked by the failed request
        taken += 1
    assert taken == ep._QuietServer.MAX_HANDLERS == 64
    for _ in range(taken):
        slots.release()
    server.select(Selection("p", None, temp_session(), 1))
    assert ask(server, server._token)[0] == 200


def test_a_follower_whose_endpoint_stopped_points_nobody_at_it(monkeypatch: pytest.MonkeyPatch, aws_env: AwsFiles) -> None:
    monkeypatch.setenv(ep.RELATIVE_URI, "/v2/credentials/task")
    stopped = ep.CredentialsEndpoint()
    monkeypatch.setattr(stopped, "start", lambda: None)  # the kernel is exiting: atexit stopped it meanwhile
    follower = ep.EndpointFollower(stopped)
    follower.follow(Selection("p", "eu-west-1", temp_session(), 1))
    assert ep.FULL_URI not in os.environ and ep.TOKEN_FILE not in os.environ
    assert os.environ[ep.RELATIVE_URI] == "/v2/credentials/task"  # the container's own, untouched
    follower.stop()


def test_a_profile_that_left_the_files_has_no_s3_endpoint(aws_env: AwsFiles) -> None:
    aws_env.write(config="[profile gone]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:8/all\n")
    session = boto3.Session(profile_name="gone")
    assert ep.s3_endpoint(session) == "http://127.0.0.1:8/all"
    session._session.set_config_variable("profile", "gone-since")  # type: ignore[attr-defined]
    assert ep.s3_endpoint(session) is None


def test_the_follower_points_sdks_at_the_endpoint_in_place_of_a_containers_variables(
        monkeypatch: pytest.MonkeyPatch, aws_env: AwsFiles, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(ep.RELATIVE_URI, "/v2/credentials/task")
    monkeypatch.setenv(ep.TOKEN, "the-containers-token")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9/s3")
    follower = ep.EndpointFollower(ep.CredentialsEndpoint())
    try:
        with caplog.at_level(logging.WARNING, logger="awswidget.follow.endpoint"):
            follower.follow(Selection("p", "eu-west-1", temp_session(), 1))
            follower.follow(Selection("p", "eu-west-1", temp_session(), 2))
        [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]  # once per follower
        assert warning == (
            "awswidget: this environment has container credentials of its own (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, "
            "AWS_CONTAINER_AUTHORIZATION_TOKEN); while this manager owns the process, awswidget's credentials endpoint "
            "replaces them, so pyarrow and SDKs in subprocesses read with the selected profile; release() restores them")
        assert os.environ[ep.FULL_URI] == follower.server.url and os.environ[ep.TOKEN_FILE] == follower.server.token_file
        assert ep.RELATIVE_URI not in os.environ and ep.TOKEN not in os.environ
        assert os.environ["AWS_ENDPOINT_URL_S3"] == "http://127.0.0.1:9/s3"
        assert follower.server.credentials().session_token == TOKEN
        follower.follow(Selection(None, None, None, 3))  # nothing selected: the container's own again
        assert os.environ[ep.RELATIVE_URI] == "/v2/credentials/task" and os.environ[ep.TOKEN] == "the-containers-token"
        assert ep.FULL_URI not in os.environ and ep.TOKEN_FILE not in os.environ
        with pytest.raises(VerificationError):
            follower.server.credentials()
        follower.follow(Selection("p", "eu-west-1", temp_session(), 4))
        url = follower.server.url
        follower.stop()
        assert follower.server.url is None and url is not None
        assert os.environ[ep.RELATIVE_URI] == "/v2/credentials/task" and ep.FULL_URI not in os.environ
    finally:
        follower.stop()


@pytest.mark.parametrize("export_env", [False, True])
def test_export_env_false_points_nobody_at_the_endpoint(monkeypatch: pytest.MonkeyPatch, aws_env: AwsFiles,
                                                        export_env: bool) -> None:
    from awswidget import _session
    from awswidget.environment import ownership

    class Owner:  # the manager that owns the process, as ownership sees it: only its export_env counts
        pass

    owner = Owner()
    owner.export_env = export_env  # type: ignore[attr-defined]
    monkeypatch.setattr(ownership, "owner", lambda: owner)
    follower = ep.EndpointFollower(ep.CredentialsEndpoint())
    try:
        session = temp_session()  # the user's own session: shielded either way
        follower.follow(Selection("p", "eu-west-1", session, 1))
        container = [p for p in session._session.get_component("credential_provider").providers
                     if p.METHOD == "container-role"]
        assert container and container[0]._environ is _session._user_environ
        if export_env:
            assert os.environ[ep.FULL_URI] == follower.server.url and follower.server._selection is not None
        else:
            assert ep.FULL_URI not in os.environ and ep.TOKEN_FILE not in os.environ and follower.server._selection is None
        follower.follow(Selection("p", "eu-west-1", None, 2))  # a profile whose session could not be made
        assert ep.FULL_URI not in os.environ and follower.server._selection is None
    finally:
        follower.stop()


def test_s3_endpoint_is_the_users_own_not_awswidgets_export(monkeypatch: pytest.MonkeyPatch, aws_env: AwsFiles) -> None:
    aws_env.write(config="[profile e]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:8/all\n")
    assert ep.s3_endpoint(boto3.Session(profile_name="e")) == "http://127.0.0.1:8/all"
    exporter.export({"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:7/exported"})
    try:
        assert ep.s3_endpoint(boto3.Session(profile_name="e")) == "http://127.0.0.1:8/all"  # our export is ignored
        monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:6/user")
        assert ep.s3_endpoint(boto3.Session(profile_name="e")) == "http://127.0.0.1:6/user"
        monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
        assert ep.s3_endpoint(boto3.Session(profile_name="e")) is None
    finally:
        exporter.restore(("AWS_ENDPOINT_URL_S3",))
    assert ep.s3_endpoint(temp_session()) is None


def test_s3_endpoint_reads_a_services_section_and_ignores_a_nested_block(aws_env: AwsFiles) -> None:
    aws_env.write(config="[profile svc]\nservices = local\n[services local]\ns3 =\n  endpoint_url = http://127.0.0.1:5/s3\n"
                         "[profile nested]\nendpoint_url =\n  x = y\n")
    assert ep.s3_endpoint(boto3.Session(profile_name="svc")) == "http://127.0.0.1:5/s3"
    assert ep.s3_endpoint(boto3.Session(profile_name="nested")) is None


# ============================================================================ dask.py: what a worker is given

try:
    import distributed
    import s3fs
except ImportError:  # the dask extra is not installed
    distributed = s3fs = None  # type: ignore[assignment]

from awswidget.follow import dask as dask_follow  # noqa: E402

needs_dask = pytest.mark.skipif(distributed is None, reason="needs distributed and s3fs (the dask extra)")


@pytest.fixture(autouse=True)
def _plugin_class_made_here(monkeypatch: pytest.MonkeyPatch) -> None:
    # plugin_class() makes the class once per process; each test makes its own, so that the class a test
    # checks is the one the code makes now (a mutation run forks every run from a process that made it).
    monkeypatch.setattr(dask_follow, "_plugin_class", None)

WORKER_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
               "AWS_CREDENTIAL_EXPIRATION", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
               "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
               "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")


def test_the_payload_is_the_temporary_credentials_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    assert dask_follow.payload(None) == {}
    expiry = dt.datetime(2030, 5, 6, 9, 8, 7, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    full = _temporary.TemporaryCredentials(KEY_ID, SECRET, TOKEN, expiry, "eu-west-1", "http://127.0.0.1:9", "p")
    assert dask_follow.payload(full) == {
        "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": TOKEN,
        "AWS_CREDENTIAL_EXPIRATION": "2030-05-06T07:08:07Z",  # in UTC
        "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9",
    }
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")  # a kernel whose clock is not on UTC: the variable still is
    time.tzset()
    try:
        assert dask_follow.payload(full)["AWS_CREDENTIAL_EXPIRATION"] == "2030-05-06T07:08:07Z"
    finally:
        monkeypatch.undo()
        time.tzset()
    bare = _temporary.TemporaryCredentials(KEY_ID, SECRET, TOKEN, None, None, None)
    assert dask_follow.payload(bare) == {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": TOKEN}


@needs_dask
def test_the_plugin_replaces_itself_and_its_repr_shows_no_secret() -> None:
    cls: Any = dask_follow.plugin_class()
    assert cls.name == dask_follow.PLUGIN_NAME == "awswidget-credentials"
    assert cls.idempotent is False and cls.__mro__[1] is distributed.diagnostics.plugin.WorkerPlugin
    assert dask_follow.plugin_class() is cls  # made once
    plugin = dask_follow.make_plugin(made(), "p", 7)
    assert (plugin.profile, plugin.generation, plugin._kernel, plugin.cleared) == ("p", 7, dask_follow._kernel_token(), False)
    assert plugin._values == dask_follow.payload(made())
    text = repr(plugin)
    assert text == "<awswidget credentials for profile='p' generation=7 access_key_id=ASIA****EY01 region='eu-west-1'>"
    assert str(plugin) == text and SECRET not in text and TOKEN not in text
    assert "access_key_id=**** " in repr(cls({"AWS_ACCESS_KEY_ID": "ASIA1234"}, "p", 1, "k"))  # too short to show any
    assert "access_key_id=ASIA****2345 " in repr(cls({"AWS_ACCESS_KEY_ID": "ASIA12345"}, "p", 1, "k"))  # 9: shown
    cleared = dask_follow.make_plugin(None, None, 8)
    assert cleared.cleared and repr(cleared) == "<awswidget credentials for profile=None generation=8 access_key_id=none region=None>"
    assert dask_follow._kernel_token() == f"{dask_follow._PROCESS_TOKEN}:{os.getpid()}"
    values = {"AWS_ACCESS_KEY_ID": KEY_ID}
    kept = cls(values, "p", 1, "k")
    values["AWS_ACCESS_KEY_ID"] = "changed"
    assert kept._values == {"AWS_ACCESS_KEY_ID": KEY_ID}  # a copy: the caller's dict is not shipped


def _worker_plugin(credentials: _temporary.TemporaryCredentials | None) -> Any:
    """The plugin as a worker in another process holds it (its kernel token is not this process's)."""
    plugin_class: Any = dask_follow.plugin_class()
    return plugin_class(dask_follow.payload(credentials), "p", 1, "another-kernel:1")


@needs_dask
def test_a_worker_gets_the_credentials_and_forgets_every_profile_and_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in WORKER_VARS:
        monkeypatch.setenv(name, f"kernel-value-of-{name}")
    fs = s3fs.S3FileSystem(anon=True)
    assert s3fs.S3FileSystem._cache
    plugin = _worker_plugin(made(dt.datetime(2030, 1, 1, tzinfo=UTC)))
    assert not plugin._in_kernel()
    plugin.setup(worker=None)
    assert not s3fs.S3FileSystem._cache and fs is not None  # s3fs's cached filesystems are forgotten
    for name, value in dask_follow.payload(made(dt.datetime(2030, 1, 1, tzinfo=UTC))).items():
        assert os.environ[name] == value
    for name in set(WORKER_VARS) - set(plugin._values):
        assert name not in os.environ, name
    assert os.environ["AWS_CONFIG_FILE"] == os.devnull and os.environ["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
    s3fs.S3FileSystem(anon=True)
    plugin.teardown(worker=None)  # replaced or closing: no credentials at all until the next plugin
    assert not any(name in os.environ for name in WORKER_VARS) and not s3fs.S3FileSystem._cache
    assert os.environ["AWS_CONFIG_FILE"] == os.devnull


@needs_dask
def test_a_worker_in_the_kernels_own_process_is_left_alone(monkeypatch: pytest.MonkeyPatch, aws_env: AwsFiles) -> None:
    monkeypatch.setenv("AWS_PROFILE", "kernel")
    plugin = dask_follow.make_plugin(made(), "p", 1)
    assert plugin._in_kernel()
    plugin.setup(worker=None)
    assert os.environ["AWS_PROFILE"] == "kernel" and "AWS_SECRET_ACCESS_KEY" not in os.environ
    assert os.environ["AWS_CONFIG_FILE"] == str(aws_env.config)
    plugin.teardown(worker=None)
    assert os.environ["AWS_PROFILE"] == "kernel"
    monkeypatch.delitem(sys.modules, "awswidget.follow.dask")  # a worker elsewhere: no awswidget there
    assert not plugin._in_kernel()


@needs_dask
def test_a_worker_that_cannot_take_them_says_only_the_errors_type(monkeypatch: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    plugin_class: Any = dask_follow.plugin_class()
    broken = plugin_class({"AWS_SESSION_TOKEN": 12345}, "p", 1, "another-kernel:1")  # not a string
    with pytest.raises(RuntimeError) as e:
        broken.setup(worker=None)
    assert str(e.value) == "awswidget could not set credentials on this worker (TypeError)"
    assert e.value.__cause__ is None and e.value.__suppress_context__

    class Failing:
        @staticmethod
        def clear_instance_cache() -> None:
            raise OSError(SECRET)

    monkeypatch.setattr(s3fs, "S3FileSystem", Failing)
    with caplog.at_level(logging.WARNING, logger="awswidget"):
        _worker_plugin(made()).teardown(worker=None)  # logged, never raised
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("awswidget", "awswidget could not clear this worker's credentials (OSError)")]
    monkeypatch.setitem(sys.modules, "s3fs", types.ModuleType("s3fs"))  # a task importing s3fs: no class yet
    plugin = _worker_plugin(made())
    plugin.setup(worker=None)
    assert os.environ["AWS_ACCESS_KEY_ID"] == KEY_ID


class Scheduler:
    """Stands in for the Client: the plugins it is given (what the scheduler would hand every worker)."""

    asynchronous = False

    def __init__(self) -> None:
        self.plugins: list[Any] = []
        self.unregistered: list[str] = []

    def register_plugin(self, plugin: Any, name: str) -> None:
        assert name == dask_follow.PLUGIN_NAME
        self.plugins.append(plugin)

    def unregister_worker_plugin(self, name: str) -> None:
        self.unregistered.append(name)


class Followers:
    def __init__(self) -> None:
        self.dropped: list[Any] = []

    def drop(self, follower: Any) -> None:
        self.dropped.append(follower)


class Manager:
    def __init__(self) -> None:
        self._followers = Followers()


@needs_dask
def test_a_switch_clears_the_workers_before_the_new_credentials(aws_env: AwsFiles, caplog: pytest.LogCaptureFixture) -> None:
    scheduler, manager = Scheduler(), Manager()
    follower = dask_follow._factory(scheduler, manager)
    try:
        # Fresh: nothing published, nothing to wait for, and a daemon thread that never holds up the kernel's exit.
        assert (follower.generation, follower.delay, follower.error) == (-1, None, None) and follower.wait(5)
        assert follower._thread.name == "awswidget-dask-follower" and follower._thread.daemon is True
        follower.follow(Selection("a", "eu-west-1", temp_session(key="ASIAFIRSTACCOUNT0001"), 1))
        assert follower.wait(30) and follower.generation == 1 and follower.error is None
        assert [p._values.get("AWS_ACCESS_KEY_ID") for p in scheduler.plugins] == ["ASIAFIRSTACCOUNT0001"]  # nothing to clear yet
        assert follower.delay is not None and 0 <= follower.delay < 30
        follower.follow(Selection("b", "eu-west-1", temp_session(key="ASIASECONDACCOUNT001"), 2))
        assert follower.wait(30) and follower.generation == 2
        assert [(p.cleared, p.profile, p.generation) for p in scheduler.plugins[1:]] == [(True, "b", 2), (False, "b", 2)]
        assert scheduler.plugins[-1]._values["AWS_ACCESS_KEY_ID"] == "ASIASECONDACCOUNT001"
        aws_env.write(config="[profile Empty]\nregion = us-east-1\n")
        with caplog.at_level(logging.WARNING, logger="awswidget.follow.dask"):
            follower.follow(Selection("Empty", None, boto3.Session(profile_name="Empty"), 3))
            assert follower.wait(30)
        assert [p.cleared for p in scheduler.plugins[3:]] == [True, True]  # cleared, and left cleared
        assert follower.error == ("Dask workers have no credentials for profile 'Empty': "
                                  "Profile 'Empty' has no credentials to hand to other libraries.")
        assert follower._renew_at is None
        assert [r.getMessage() for r in caplog.records if r.name == "awswidget.follow.dask"] == [f"awswidget: {follower.error}"]
        follower.follow(Selection(None, None, None, 4))
        assert follower.wait(30) and scheduler.plugins[-1].cleared and follower.error is None
        assert repr(follower) == "<DaskFollower generation=4 stopped=False>"
    finally:
        follower.stop()
    assert scheduler.unregistered == [dask_follow.PLUGIN_NAME] and manager._followers.dropped == [follower]
    assert repr(follower) == "<DaskFollower generation=4 stopped=True>"
    follower.stop()  # twice: nothing more
    assert scheduler.unregistered == [dask_follow.PLUGIN_NAME]
    follower.follow(Selection("a", None, temp_session(), 5))
    assert follower._wanted is None  # a stopped follower takes nothing


@needs_dask
def test_renewal_is_scheduled_before_expiry_and_never_sooner_than_a_minute(aws_env: AwsFiles) -> None:
    import time

    follower = dask_follow.DaskFollower(Scheduler(), Manager())
    try:
        follower._schedule_renewal(made(dt.datetime.now(UTC) + dt.timedelta(hours=1)))
        expected = time.monotonic() + (dt.timedelta(hours=1) - _temporary.RENEW_BEFORE).total_seconds()
        assert follower._renew_at is not None and abs(follower._renew_at - expected) < 5
        follower._schedule_renewal(made(dt.datetime.now(UTC) + dt.timedelta(minutes=5)))  # cannot get fresher
        assert follower._renew_at is not None and abs(follower._renew_at - time.monotonic() - dask_follow._MIN_RENEW_DELAY) < 5
        assert dask_follow._MIN_RENEW_DELAY == 60.0
        follower._schedule_renewal(made(None))
        assert follower._renew_at is None and follower._until_renewal() is None and not follower._renewal_due()
        with follower._cond:
            follower._renew_at = time.monotonic() - 1
            assert follower._renewal_due() and follower._until_renewal() == 0.0
            follower._renew_at = time.monotonic() + 100
            assert not follower._renewal_due() and 95 < (follower._until_renewal() or 0) <= 100
            follower._renew_at = None
    finally:
        follower.stop()


@needs_dask
def test_a_renewal_publishes_the_same_selection_again(aws_env: AwsFiles) -> None:
    import time

    scheduler = Scheduler()
    follower = dask_follow.DaskFollower(scheduler, Manager())
    try:
        follower.follow(Selection("a", "eu-west-1", temp_session(), 1))
        assert follower.wait(30) and len(scheduler.plugins) == 1
        with follower._cond:
            follower._renew_at = time.monotonic()  # renewal time
            follower._cond.notify()
        deadline = time.monotonic() + 30
        while len(scheduler.plugins) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert follower.wait(30)
        assert [(p.cleared, p.generation) for p in scheduler.plugins] == [(False, 1), (False, 1)]  # not cleared first
        assert follower._renew_at is None  # no expiry known: no further renewal
    finally:
        follower.stop()


def test_only_a_synchronous_distributed_client_is_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    from awswidget.errors import ValidationError

    class Asynchronous:
        asynchronous = True

    with pytest.raises(ValidationError) as e:
        dask_follow._factory(Asynchronous(), Manager())
    assert e.value.field == "target" and str(e.value) == (
        "awswidget follows a synchronous distributed Client: make one with Client(address) (not asynchronous=True) "
        "and hand it to m.follow().")
    follower = dask_follow._factory(Scheduler(), Manager())  # asynchronous = False
    follower.stop()

    class Plain:  # no asynchronous attribute at all: synchronous
        def unregister_worker_plugin(self, name: str) -> None:
            pass

    dask_follow._factory(Plain(), Manager()).stop()
    assert not dask_follow._accepts(Scheduler())
    if distributed is not None:
        assert dask_follow._accepts(distributed.Client.__new__(distributed.Client))
        monkeypatch.delitem(sys.modules, "distributed")
        assert not dask_follow._accepts(distributed.Client.__new__(distributed.Client))  # distributed not imported


@needs_dask
def test_a_new_generation_of_the_same_profile_is_a_switch_too(aws_env: AwsFiles) -> None:
    scheduler = Scheduler()
    follower = dask_follow.DaskFollower(scheduler, Manager())
    try:
        follower.follow(Selection("a", None, temp_session(), 1))
        assert follower.wait(30)
        follower.follow(Selection("a", None, temp_session(key="ASIAKEYSCHANGEDINFILE"), 2))  # its keys changed in the files
        assert follower.wait(30)
        assert [(p.cleared, p.generation) for p in scheduler.plugins] == [(False, 1), (True, 2), (False, 2)]
    finally:
        follower.stop()


@needs_dask
def test_a_selection_superseded_while_it_resolves_is_never_published(aws_env: AwsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    resolving, release = threading.Event(), threading.Event()
    real = dask_follow.temporary_credentials

    def slow(session: Any, profile: str | None = None, region: str | None = None) -> Any:
        if profile == "old":
            resolving.set()
            assert release.wait(30)
        return real(session, profile, region)

    monkeypatch.setattr(dask_follow, "temporary_credentials", slow)
    scheduler = Scheduler()
    follower = dask_follow.DaskFollower(scheduler, Manager())
    try:
        follower.follow(Selection("old", None, temp_session(key="ASIAOLDSELECTION0001"), 1))
        assert resolving.wait(30)
        assert not follower.wait(0.05)  # busy: not there yet, and it says so within the timeout
        follower.follow(Selection("new", None, temp_session(key="ASIANEWSELECTION0001"), 2))
        release.set()
        assert follower.wait(30)
        assert [p._values.get("AWS_ACCESS_KEY_ID") for p in scheduler.plugins] == ["ASIANEWSELECTION0001"]
        assert follower.generation == 2
    finally:
        release.set()
        follower.stop()


@needs_dask
def test_a_scheduler_that_fails_keeps_the_follower_alive(aws_env: AwsFiles, caplog: pytest.LogCaptureFixture) -> None:
    class Closed(Scheduler):
        fail = True

        def register_plugin(self, plugin: Any, name: str) -> None:
            if self.fail:
                raise OSError(SECRET)
            super().register_plugin(plugin, name)

        def unregister_worker_plugin(self, name: str) -> None:
            raise OSError(SECRET)

    scheduler = Closed()
    follower = dask_follow.DaskFollower(scheduler, Manager())
    with caplog.at_level(logging.INFO, logger="awswidget.follow.dask"):
        follower.follow(Selection("a", None, temp_session(), 1))
        assert follower.wait(30) and follower.generation == -1
        scheduler.fail = False
        follower.follow(Selection("a", None, temp_session(), 2))
        assert follower.wait(30) and follower.generation == 2  # the thread survived the first failure
        follower.stop()  # the client is gone: logged, not raised
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["awswidget: Dask workers could not follow 'a' (OSError)",
                        "awswidget: Dask plugin not unregistered (OSError)"]
    assert [r.levelname for r in caplog.records] == ["WARNING", "INFO"]


def test_awswidgets_own_sessions_read_the_users_container_variables() -> None:
    from awswidget import _session
    from awswidget.environment import user_env

    ep._hide_exports()
    assert _session._user_value is user_env


@needs_dask
def test_workers_get_the_selections_region_and_an_expiry_renewal(aws_env: AwsFiles, monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    import time

    scheduler = Scheduler()
    follower = dask_follow.DaskFollower(scheduler, Manager())
    try:
        expiry = (dt.datetime.now(UTC) + dt.timedelta(hours=2)).replace(microsecond=0)
        follower.follow(Selection("proc", "sa-east-1", process_profile(aws_env, expiry), 1))  # the profile says ap-south-1
        assert follower.wait(30) and follower.error is None
        values = scheduler.plugins[-1]._values
        assert values["AWS_REGION"] == "sa-east-1" and values["AWS_CREDENTIAL_EXPIRATION"] == expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
        expected = time.monotonic() + (dt.timedelta(hours=2) - _temporary.RENEW_BEFORE).total_seconds()
        assert follower._renew_at is not None and abs(follower._renew_at - expected) < 30

        def broken(*args: Any) -> Any:
            raise KeyError(SECRET)

        monkeypatch.setattr(dask_follow, "temporary_credentials", broken)
        with caplog.at_level(logging.WARNING, logger="awswidget.follow.dask"):
            follower.follow(Selection("proc", "sa-east-1", temp_session(), 2))
            assert follower.wait(30)
        assert follower.error == "Dask workers have no credentials for profile 'proc': KeyError"  # not its text
        assert SECRET not in caplog.text and scheduler.plugins[-1].cleared
    finally:
        follower.stop()


@needs_dask
def test_the_follower_wakes_up_by_itself_to_renew(aws_env: AwsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    # Credentials "due" at once: renewal after the shortest delay, made short here (60 s in use).
    monkeypatch.setattr(dask_follow, "RENEW_BEFORE", dt.timedelta(hours=3))
    monkeypatch.setattr(dask_follow, "_MIN_RENEW_DELAY", 0.2)
    expiry = (dt.datetime.now(UTC) + dt.timedelta(hours=2)).replace(microsecond=0)
    scheduler = Scheduler()
    follower = dask_follow.DaskFollower(scheduler, Manager())
    try:
        follower.follow(Selection("proc", None, process_profile(aws_env, expiry), 1))
        deadline = time.monotonic() + 30
        while len(scheduler.plugins) < 3 and time.monotonic() < deadline:  # nobody notifies it: its own timer
            time.sleep(0.02)
        assert len(scheduler.plugins) >= 3 and {(p.cleared, p.generation) for p in scheduler.plugins} == {(False, 1)}
    finally:
        follower.stop()


def test_a_connection_that_sends_nothing_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ep, "HANDLER_TIMEOUT", 0.3)  # 5 s in use; the handler class takes it when the server starts
    quiet = ep.CredentialsEndpoint()
    quiet.start()
    try:
        assert quiet._server is not None
        with socket.create_connection(("127.0.0.1", quiet._server.server_address[1]), timeout=20) as idle:
            try:
                answer = idle.recv(100)
            except ConnectionResetError:
                answer = b""
            assert answer == b""  # the server hung up (a handler without a timeout would hold it forever)
    finally:
        quiet.stop()


def test_shield_keeps_a_users_session_off_the_endpoint() -> None:
    from awswidget import _botocore, _session

    session = boto3.Session(region_name="us-east-1")  # built by the user, not by awswidget
    ep.shield(session)
    resolver = _botocore.botocore_session(session).get_component("credential_provider")
    [container] = [p for p in resolver.providers if p.METHOD == "container-role"]
    assert container._environ is _session._user_environ
    ep.shield(None)  # nothing selected: nothing to do
