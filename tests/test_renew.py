"""Renewal in place (issue 16): MFA roles ask for one new code and every kept client recovers; SSO and the one expiry story.

Expiry is moved forward, not waited for: the tests set the expiry time the
credentials object holds (a test-side time shift; botocore's own refresh logic
then runs unchanged) against moto on 127.0.0.1. moto does not expire what it
issues, so each test proves the renewal by the access key the kept clients sign
with, and by the AssumeRole calls botocore sent (their TokenCode).
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.credentials
import botocore.exceptions
import pytest

from awswidget import CredentialsManager, _botocore, _session, expiry
from awswidget.errors import AwsWidgetError
from awswidget.mfa import MfaUnavailableError

from .conftest import AwsFiles
from .test_mfa import ROLE, SERIAL, AssumeRoleCalls, Requests, write_profiles
from .test_sso import portal  # noqa: F401 - the SSO portal fixture (a Stubber over a real moto key)

pytestmark = pytest.mark.integration

NOW = dt.datetime.now


@pytest.fixture(autouse=True)
def fresh_role_cache() -> Iterator[None]:
    _session.role_cache().clear()
    yield
    _session.role_cache().clear()


@pytest.fixture
def mfa_env(aws_env: AwsFiles, local_aws: Any) -> AwsFiles:
    write_profiles(aws_env, local_aws.endpoint_url)
    return aws_env


def utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def shift(credentials: Any, left: dt.timedelta) -> None:
    """Move the credentials' end so that ``left`` remains (the time shift; nothing of botocore is replaced)."""
    credentials._expiry_time = utc() + left


def wait(predicate: Callable[[], bool], timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("timed out")
        time.sleep(0.05)


class Spy:
    """A follower that records what the manager tells the data libraries (a renewal, a switch)."""

    name = "spy"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def follow(self, selection: Any) -> None:
        self.seen.append(selection.reason)

    def stop(self) -> None:
        pass


def verified(m: CredentialsManager, code: str = "123456") -> Any:
    """Select the MFA role, answer the first code, and return its (shared) credentials object."""
    m.profile = "mfa"
    requests = Requests(m)
    future = m.verify(block=False)
    requests.next().answer(code)
    future.result(timeout=30)
    return m.session.get_credentials()  # type: ignore[union-attr]


def test_botocore_alone_refuses_a_second_code(mfa_env: AwsFiles, local_aws: Any) -> None:
    """The defect (botocore issue 1805), shown with botocore's own provider: its MFA refresher works once."""
    bs = botocore.session.Session(profile="mfa")
    resolver = bs.get_component("credential_provider")
    provider = resolver.get_provider("assume-role")
    provider._prompter = lambda _prompt: "123456"
    creds = provider.load()
    creds.get_frozen_credentials()
    shift(creds, dt.timedelta(minutes=5))
    with pytest.raises(botocore.exceptions.RefreshWithMFAUnsupportedError):
        creds.get_frozen_credentials()


def test_a_kept_client_works_after_one_code_entered_while_idle(mfa_env: AwsFiles) -> None:
    m = CredentialsManager()
    calls, spy = AssumeRoleCalls(m), Spy()
    m._followers._handed.append(spy)
    creds = verified(m)
    assert _botocore.is_renewing(creds)
    kept, default = m.client("sts"), boto3.client("sts")  # boto3's default session is the manager's
    also = CredentialsManager(activate=False)  # another session of the same profile shares the one object
    also.profile = "mfa"
    assert also.session.get_credentials() is creds  # type: ignore[union-attr]
    old_key = creds.access_key
    requests = Requests(m)
    shift(creds, dt.timedelta(minutes=12))  # inside botocore's 15-minute window, before its mandatory 10
    m._tick()  # what the picker's ticker does: the code box appears before anything fails
    request = requests.next()
    assert request.profile == "mfa" and request.serial == SERIAL
    request.answer("654321")
    wait(lambda: creds.access_key != old_key)
    assert creds._seconds_remaining() > 50 * 60
    for client in (kept, default, also.client("sts"), m.client("sts")):
        assert client._request_signer._credentials is creds
        assert client.get_caller_identity()["Arn"].startswith("arn:aws:sts::123456789012:assumed-role/admin/")
    assert [c["TokenCode"] for c in calls.params] == ["123456", "654321"]
    wait(lambda: "renewal" in spy.seen)  # the data libraries were told at the same moment
    assert m.status == "verified" and m.expiry is not None and m.expiry.level == "ok"
    m._tick()
    time.sleep(0.3)
    assert requests.count == 0  # one code: nothing more is asked


def test_a_library_thread_in_the_mandatory_window_gets_the_code_box(mfa_env: AwsFiles) -> None:
    """No ticker at all: a background call after the mandatory window asks through the code box, then succeeds."""
    m = CredentialsManager()
    creds = verified(m)
    kept = m.client("sts")
    requests = Requests(m)
    shift(creds, dt.timedelta(minutes=5))
    result: list[str] = []
    worker = threading.Thread(target=lambda: result.append(kept.get_caller_identity()["Account"]))
    worker.start()
    requests.next().answer("222333")
    worker.join(30)
    assert result == ["123456789012"]


def test_refresh_renews_now_at_any_time_left(mfa_env: AwsFiles) -> None:
    m = CredentialsManager()
    calls = AssumeRoleCalls(m)
    creds = verified(m)
    old_key, kept = creds.access_key, m.client("sts")
    assert creds._seconds_remaining() > 40 * 60  # far from the window: only Refresh renews
    requests = Requests(m)
    future = m.refresh()
    requests.next().answer("444555")
    assert future is not None and future.result(timeout=30).account == "123456789012"
    assert creds.access_key != old_key and kept._request_signer._credentials is creds
    assert [c["TokenCode"] for c in calls.params] == ["123456", "444555"]


def test_a_refused_early_renewal_keeps_the_credentials_until_the_mandatory_window(mfa_env: AwsFiles) -> None:
    m = CredentialsManager()
    creds = verified(m)
    kept, old_key = m.client("sts"), creds.access_key
    requests = Requests(m)
    shift(creds, dt.timedelta(minutes=12))
    m._tick()
    requests.next().cancel()
    wait(lambda: m.mfa_request is None)
    m._tick()  # not asked again for the same credentials: Refresh is how to renew now
    assert kept.get_caller_identity()["Account"] == "123456789012"  # advisory window: botocore keeps the old ones
    time.sleep(0.3)
    assert requests.count == 0 and creds.access_key == old_key
    status = m.check_expiry()
    assert status is not None and status.action == "mfa" and not status.renews and status.level == "warning"
    assert "refresh and enter a new MFA code" in status.message


def test_no_frontend_is_a_clear_error_never_eof(mfa_env: AwsFiles) -> None:
    """The main thread of a process without a terminal (pytest's stdin is none): an AwsWidgetError saying how."""
    m = CredentialsManager()
    creds = verified(m)
    kept = m.client("sts")
    shift(creds, dt.timedelta(minutes=5))
    with pytest.raises(MfaUnavailableError) as info:
        kept.get_caller_identity()
    assert isinstance(info.value, AwsWidgetError)
    assert "refresh_credentials(block=False)" in str(info.value) and "mfa_request.answer" in str(info.value)
    # ...and the way it names works: renew from Python, and the kept client recovers.
    requests = Requests(m)
    future = m.refresh_credentials(block=False)
    requests.next().answer("777888")
    future.result(timeout=30)  # type: ignore[union-attr]
    assert kept.get_caller_identity()["Account"] == "123456789012"


def test_status_never_claims_verified_credentials_botocore_would_refuse(mfa_env: AwsFiles) -> None:
    m = CredentialsManager()
    creds = verified(m)
    assert m.status == "verified"
    shift(creds, dt.timedelta(minutes=9))  # botocore no longer uses them (mandatory window)
    status = m.check_expiry()
    assert status is not None and status.level == "expired" and status.action == "mfa"
    assert m.status == "unverified"
    assert any("MFA session ended" in w and "new MFA code" in w for w in m.warnings)
    requests = Requests(m)
    future = m.refresh()  # renew now; verified again once the new code is in
    requests.next().answer("101010")
    assert future is not None and future.result(timeout=30).account == "123456789012"
    wait(lambda: m.status == "verified")


def test_s3fs_follows_an_mfa_renewal(mfa_env: AwsFiles, local_aws: Any) -> None:
    import s3fs

    m = CredentialsManager()
    creds = verified(m)
    m.client("s3").create_bucket(Bucket="renew-bucket")
    m.client("s3").put_object(Bucket="renew-bucket", Key="a.txt", Body=b"hi")
    fs = s3fs.S3FileSystem(session=_session.aio_session(m.session), client_kwargs={"endpoint_url": local_aws.endpoint_url,
                                                                                  "region_name": "us-east-1"}, skip_instance_cache=True)
    assert fs.cat("renew-bucket/a.txt") == b"hi"
    aio_creds = fs.s3._request_signer._credentials
    old_key = creds.access_key
    assert aio_creds._access_key == old_key  # aiobotocore hides it behind a coroutine
    requests = Requests(m)
    shift(creds, dt.timedelta(minutes=5))
    shift(aio_creds, dt.timedelta(minutes=5))  # the same moment, seen by aiobotocore's copy
    answered = threading.Thread(target=lambda: requests.next().answer("303030"))
    answered.start()
    assert fs.cat("renew-bucket/a.txt") == b"hi"  # signed with the renewed keys
    answered.join(30)
    assert creds.access_key != old_key and aio_creds._access_key == creds.access_key


# ---------------------------------------------------------------- who is asked: the shared object has many sessions

ACCOUNT = "123456789012"


class Watcher:
    """What a picker is to its manager here: an object it watches while it lives."""


def library_call(creds: Any, kept: Any) -> tuple[threading.Thread, list[str]]:
    """A kept client's call from a library thread in botocore's mandatory window: it renews there, and asks."""
    shift(creds, dt.timedelta(minutes=5))
    result: list[str] = []

    def call() -> None:
        try:
            result.append(kept.get_caller_identity()["Account"])
        except Exception as exc:  # the test says which
            result.append(type(exc).__name__)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    return worker, result


def second(profile: str = "mfa") -> CredentialsManager:
    """A manager with no UI (a helper's, a script's) that resolves ``profile``: its session joins the shared object."""
    m = CredentialsManager(activate=False)
    m.mfa_timeout = 2.0  # asked by mistake, it gives up in seconds (the test fails then, not after minutes)
    m.profile = profile
    m.session.get_credentials()  # type: ignore[union-attr]
    return m


def test_a_manager_that_left_the_profile_is_not_asked(mfa_env: AwsFiles) -> None:
    """Review of issue 16: B touched the profile last, then moved on; A's kept client renews from a library thread.

    Before the fix the newest session's prompter asked: B, whom nobody shows, so A's code box never appeared."""
    a = CredentialsManager()
    creds = verified(a)
    kept = a.client("sts")
    b = second()
    assert b.session.get_credentials() is creds  # type: ignore[union-attr]
    b.profile = "base"
    asked_a, asked_b = Requests(a), Requests(b)
    worker, result = library_call(creds, kept)
    asked_a.next().answer("222333")
    worker.join(30)
    assert result == [ACCOUNT] and asked_b.count == 0


def test_the_owner_then_a_watched_manager_then_any_on_the_profile_is_asked(mfa_env: AwsFiles) -> None:
    """The order at ask time, whoever resolved the profile last; a manager that is gone, or left, is never asked."""
    owner = CredentialsManager()
    creds = verified(owner)
    kept = owner.client("sts")
    assert owner.owns_process
    watched, picker = second(), Watcher()
    watched.watch(picker)
    watched.logins.ticker.stop()  # it would renew early itself: here only the library thread asks
    newest = second()
    asked = {"owner": Requests(owner), "watched": Requests(watched), "newest": Requests(newest)}

    def renewal_asks(name: str, code: str) -> None:
        worker, result = library_call(creds, kept)
        asked[name].next().answer(code)
        worker.join(30)
        assert result == [ACCOUNT]
        assert {n: q.count for n, q in asked.items()} == dict.fromkeys(asked, 0)  # nobody else was asked

    renewal_asks("owner", "111222")  # the process owner's, though two managers came after it
    owner.profile = "base"
    renewal_asks("watched", "222333")  # then one a picker shows, before a newer one nobody shows
    del watched, picker
    gc.collect()
    renewal_asks("newest", "333444")  # the watched one is gone: any manager still on the profile
    newest.profile = "base"
    worker, result = library_call(creds, kept)  # nobody is on it any more: a clear error at once, nobody asked
    worker.join(30)
    assert result == ["VerificationError"] and asked["newest"].count == 0 and asked["owner"].count == 0


def test_refresh_and_the_ticker_ask_the_manager_that_asked(mfa_env: AwsFiles) -> None:
    """Refresh, and a manager's own ticker, show the question in that manager, not in the best-ranked one."""
    owner = CredentialsManager()
    creds = verified(owner)
    other = second()
    asked_owner, asked_other = Requests(owner), Requests(other)
    future = other.refresh()
    asked_other.next().answer("444555")
    assert future is not None and future.result(timeout=30).account == ACCOUNT
    renewed = creds.renewals
    shift(creds, dt.timedelta(minutes=12))  # the advisory window: what the ticker of `other`'s picker does
    other._tick()
    asked_other.next().answer("555666")
    wait(lambda: creds.renewals == renewed + 1)
    assert asked_owner.count == 0 and asked_other.count == 0


# ---------------------------------------------------------------- SSO and the one expiry story


def sso_profiles(files: AwsFiles, endpoint: str) -> None:
    files.write(config=f"""\
[profile dev]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = ReadOnly
region = us-east-1
endpoint_url = {endpoint}

[profile via-sso]
role_arn = {ROLE}
source_profile = dev
region = us-east-1

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
""")


def write_token(cache_dir: str, *, expires_in: dt.timedelta, refresh: bool, registration_in: dt.timedelta) -> None:
    import os

    from awswidget.sso import sso_config

    os.makedirs(cache_dir, exist_ok=True)
    key = sso_config({"profiles": {"dev": {"sso_session": "corp"}},
                      "sso_sessions": {"corp": {"sso_start_url": "https://corp.awsapps.com/start", "sso_region": "us-east-1"}}},
                     "dev").cache_key
    token: dict[str, Any] = {"startUrl": "https://corp.awsapps.com/start", "region": "us-east-1", "accessToken": "access-x",
                             "expiresAt": (utc() + expires_in).strftime("%Y-%m-%dT%H:%M:%SZ"), "clientId": "client-x",
                             "clientSecret": "secret-x",
                             "registrationExpiresAt": (utc() + registration_in).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if refresh:
        token["refreshToken"] = "refresh-x"
    with open(os.path.join(cache_dir, key + ".json"), "w") as f:
        json.dump(token, f)


@pytest.mark.parametrize(
    ("refresh", "registration", "renews", "action", "words"),
    [
        (True, dt.timedelta(days=80), True, "none", "renewed automatically with its refresh token"),
        (False, dt.timedelta(days=80), False, "sso-login", "log in with SSO again"),
        (True, dt.timedelta(minutes=-1), False, "sso-login", "log in with SSO again"),  # the registration ended
    ],
)
@pytest.mark.parametrize("profile", ["dev", "via-sso"])
def test_sso_says_whether_botocore_renews_the_login(aws_env: AwsFiles, local_aws: Any, profile: str, refresh: bool,
                                                    registration: dt.timedelta, renews: bool, action: str, words: str) -> None:
    sso_profiles(aws_env, local_aws.endpoint_url)
    cache = _session.sso_cache_dir()
    write_token(cache, expires_in=dt.timedelta(minutes=-5), refresh=refresh, registration_in=registration)
    m = CredentialsManager()
    status = expiry.status_for(None, m.profile_info(profile), m._catalog.config, utc())
    assert status is not None and status.renews is renews and status.action == action and words in status.message
    if not renews:  # the SSO login ended: a role sourced from it does not "renew automatically" (the leftover)
        assert status.level == "expired" and "renewed automatically" not in status.message


def test_an_mfa_session_reports_its_end(mfa_env: AwsFiles) -> None:
    m = CredentialsManager()
    m.mfa_login("123456", "base")
    assert m.profile == "base-mfa"
    m.verify()
    assert m.expiry is not None and m.expiry.action == "mfa-login" and not m.expiry.renews
    status = m.check_expiry(now=m.expiry.expires_at - dt.timedelta(minutes=5))
    assert status is not None and status.level == "warning" and "MFA login" in status.message


def test_kept_sso_clients_recover_after_the_login(aws_env: AwsFiles, auth_aws: Any, portal: Any) -> None:  # noqa: F811
    """Only a login botocore cannot renew asks for Log in, and a client kept from before works after it."""
    from .test_sso import CONFIG, START_URL, Clock, oidc, wait_for

    aws_env.write(config=CONFIG.format(endpoint=f"endpoint_url = {auth_aws.endpoint_url}"))
    portal.expect.update(role="ReadOnly", account="111122223333")
    m = CredentialsManager()
    m.profile = "dev"
    kept = m.client("sts")
    with pytest.raises(botocore.exceptions.BotoCoreError):
        kept.get_caller_identity()  # no login yet
    clock = Clock()
    client, _ = oidc("eu-west-1", start_url=START_URL, register="botocore-client-corp", scopes=["sso:account:access"])
    m.sso_login(block=True, client=client, clock=clock, sleep=clock.sleep)
    wait_for(m, "status", lambda s: s in ("verified", "error"))
    assert kept.get_caller_identity()["Arn"] == portal.arn
    # The CLI's token has a refresh token and a client registration: botocore renews it, the status says so.
    assert m.expiry is not None and m.expiry.renews and "refresh token" in m.expiry.message


def test_botocore_still_has_the_shapes_renewal_relies_on() -> None:
    assert _botocore.check() == []


def test_the_pickers_ticker_shows_the_code_box_before_anything_fails(mfa_env: AwsFiles) -> None:
    """The whole idle path: the picker's own ticker starts the renewal; the code is typed in its box."""
    from awswidget import ProfilePicker

    m = CredentialsManager()
    creds = verified(m)
    kept, old_key = m.client("sts"), creds.access_key
    picker = ProfilePicker(manager=m)
    try:
        assert picker.mfa_prompt.layout.display == "none"
        shift(creds, dt.timedelta(minutes=14))
        wait(lambda: picker.mfa_prompt.layout.display != "none", timeout=15)  # within a tick or two (2 s)
        assert "mfa" in picker.mfa_prompt.label.value
        picker.mfa_prompt.code.value = "121212"  # the sixth digit submits
        wait(lambda: creds.access_key != old_key)
        assert kept.get_caller_identity()["Account"] == "123456789012"
        wait(lambda: picker.mfa_prompt.layout.display == "none")
        assert m.status == "verified" and m.expiry is not None and m.expiry.level == "ok"
    finally:
        picker.close()
