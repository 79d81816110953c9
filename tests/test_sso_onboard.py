"""IAM Identity Center onboarding: start URL → device login → accounts × roles → profiles, as `aws configure sso` writes them.

moto has no SSO OIDC nor SSO portal: awswidget/demo/sso_portal.py answers those calls over
real HTTP on 127.0.0.1, and botocore is pointed at it the way a user would point
it at any endpoint (``AWS_ENDPOINT_URL_SSO``, ``AWS_ENDPOINT_URL_SSO_OIDC``). The
anchor: the profiles awswidget writes are resolved by botocore's OWN SSO provider
(a plain ``boto3.Session(profile_name=...)`` in a fresh interpreter), whose role
credentials -- a real IAM user's key on moto's server with signature checks on --
then pass STS GetCallerIdentity.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ipywidgets.embed import dependency_state

from awswidget import AwsWidgetError, CredentialsManager, ValidationError
from awswidget.demo.sso_portal import Account, SsoServer, running
from awswidget.sso_setup import (
    SsoChoice,
    SsoSetupError,
    existing_profiles,
    setup_config,
    suggest_profile_name,
    validate_start_url,
)
from awswidget.widgets.sso_form import SsoSetupPane

from .conftest import AuthAws, AwsFiles, IamKey

START_URL = "https://corp.awsapps.com/start"
SESSION = "corp"
TOKEN_FILE = hashlib.sha1(SESSION.encode(), usedforsecurity=False).hexdigest() + ".json"

ACCOUNTS = [
    Account("111111111111", "Data Lake", ["ReadOnly", "Admin"]),
    Account("222222222222", "sandbox", ["Developer"]),
    Account("333333333333", "Prod (EU)", ["ReadOnly", "Admin", "Billing"]),
]

EXISTING = """\
# my own notes: keep me
[default]
region = eu-west-2   ; inline comment

[profile keys]
output = json
"""


@pytest.fixture
def sso(aws_env: AwsFiles, monkeypatch: pytest.MonkeyPatch) -> Iterator[SsoServer]:
    """A fake IAM Identity Center with 3 accounts (6 roles), 2 items a page; botocore pointed at it."""
    server = SsoServer([Account(a.account_id, a.name, list(a.roles)) for a in ACCOUNTS], page_size=2, start_url=START_URL)
    with running(server) as live:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", live.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SSO_OIDC", live.url)
        yield live


def approve_on_poll(server: SsoServer) -> Callable[[float], bool]:
    """A sleep for the login's poll loop: the first wait is where the person approves (no real waiting)."""

    def sleep(_seconds: float) -> bool:
        server.approve()
        return False

    return sleep


def log_in(m: CredentialsManager, server: SsoServer, session: str | None = SESSION) -> None:
    login = m.sso_setup_login(START_URL, "eu-west-1", session_name=session, sleep=approve_on_poll(server))
    assert login.run().status == "succeeded"


def secrets_of(server: SsoServer) -> list[str]:
    return [*server.access_tokens, *server.refresh_tokens, *server._clients.values(), *server._device_codes]


# ---------------------------------------------------------------- inputs


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "Enter the start URL"),
        ("corp.awsapps.com/start", "must be a web address"),
        ("ftp://corp.awsapps.com/start", "must be a web address"),
        ("http://corp.awsapps.com/start", "must start with https"),
        ("https://", "must be a web address"),
        ("https://corp.awsapps.com/start\nsso_region = x", "line breaks"),
        ("https://bob:hunter2pass@corp.awsapps.com/start", "user name or password"),
        ("https://bob@corp.awsapps.com/start", "user name or password"),
        ("https://corp.awsapps.com/start/#/", "remove the '#'"),
        ("https://corp.awsapps.com/" + "a" * 2100, "longer than 2048"),
        ("https://corp.awsapps.com:0/start", "port must be a number"),
        ("https://corp.awsapps.com:99999/start", "port must be a number"),
        ("https://corp.awsapps.com:44x/start", "port must be a number"),
        ("https://[corp.awsapps.com/start", "must be a web address"),
        ("https://corp.awsapps.com/st\u202eart", "text-direction"),
        ("https://corp.awsapps.com/st\u2066art", "text-direction"),
        ("https://corp.awsapps.com/st\x07art", "control"),
    ],
)
def test_a_bad_start_url_is_named_and_nothing_is_written(aws_env: AwsFiles, url: str, words: str) -> None:
    aws_env.write(config=EXISTING)
    m = CredentialsManager()
    with pytest.raises(ValidationError, match=words) as info:
        m.add_sso_profiles(SESSION, url, "eu-west-1", [("x", "111111111111", "ReadOnly")])
    assert info.value.field == "start_url" and "hunter2pass" not in str(info.value)
    assert aws_env.config.read_text() == EXISTING
    with pytest.raises(ValidationError):
        validate_start_url(url)


def test_bad_region_and_session_name_are_named(aws_env: AwsFiles) -> None:
    with pytest.raises(ValidationError, match="not an AWS region") as info:
        setup_config(START_URL, "europe", SESSION)
    assert info.value.field == "sso_region"
    with pytest.raises(ValidationError) as info:
        setup_config(START_URL, "eu-west-1", "my session")
    assert info.value.field == "session_name"
    assert setup_config(START_URL, "eu-west-1").session_name == "corp"  # from the start URL's host


@pytest.mark.parametrize(
    ("account", "role", "name"),
    [("Data Lake", "ReadOnly", "Data-Lake-ReadOnly"), ("Prod (EU)", "Admin", "Prod-EU-Admin"), ("a/b", "R", "a-b-R"), ("", "R", "R")],
)
def test_suggested_names_are_account_then_role_sanitised(account: str, role: str, name: str) -> None:
    assert suggest_profile_name(account, role) == name


# ---------------------------------------------------------------- the core, end to end


def test_onboarding_writes_exactly_what_aws_configure_sso_writes(sso: SsoServer, aws_env: AwsFiles) -> None:
    aws_env.write(config=EXISTING)
    m = CredentialsManager()
    with pytest.raises(SsoSetupError, match="Not logged in") as info:
        m.sso_accounts(START_URL, "eu-west-1", session_name=SESSION)
    assert info.value.field == "login"
    log_in(m, sso)
    # The CLI's token file, under the session's name: `aws sso login --sso-session corp` would find it.
    token = json.loads((aws_env.root / ".aws" / "sso" / "cache" / TOKEN_FILE).read_text())
    assert token["startUrl"] == START_URL and token["region"] == "eu-west-1" and token["accessToken"] in sso.access_tokens
    sso.calls.clear()
    found = m.sso_accounts(START_URL, "eu-west-1", session_name=SESSION)
    # Every page of both listings was read (2 a page: 2 pages of accounts, 2 of the 3-role account).
    assert sso.names().count("ListAccounts") == 2 and sso.names().count("ListAccountRoles") == 4
    assert [(r.account_name, r.role_name) for r in found.roles] == [
        ("Data Lake", "Admin"), ("Data Lake", "ReadOnly"), ("Prod (EU)", "Admin"), ("Prod (EU)", "Billing"),
        ("Prod (EU)", "ReadOnly"), ("sandbox", "Developer"),
    ]
    assert found.existing == {} and len(found.new) == 6 and found.gone == ()
    lake = found.roles[1]
    result = m.add_sso_profiles(
        SESSION, START_URL, "eu-west-1",
        [(lake.suggested_name, lake.account_id, lake.role_name), SsoChoice("sandbox-dev", "222222222222", "Developer")],
        region="us-west-2", output="json", select="sandbox-dev",
    )
    assert result.added == ("Data-Lake-ReadOnly", "sandbox-dev") and result.removed == ()
    # The user's bytes first, untouched; then the CLI's sections, keys in the CLI's order.
    assert aws_env.config.read_text() == EXISTING + (
        "\n[profile Data-Lake-ReadOnly]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = ReadOnly\n"
        "region = us-west-2\noutput = json\n"
        "\n[profile sandbox-dev]\nsso_session = corp\nsso_account_id = 222222222222\nsso_role_name = Developer\n"
        "region = us-west-2\noutput = json\n"
        "\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n"
        "sso_registration_scopes = sso:account:access\n"
    )
    assert not aws_env.credentials.exists()  # SSO profiles hold no keys
    assert m.profile == "sandbox-dev" and {"Data-Lake-ReadOnly", "sandbox-dev"} <= set(m.profiles)
    info_ = m.profile_info("sandbox-dev")
    assert (info_.kind, info_.sso_session, info_.sso_account_id, info_.sso_role_name) == ("sso", "corp", "222222222222", "Developer")


def test_rerun_adds_what_is_new_and_removes_gone_roles_only_on_request(sso: SsoServer, aws_env: AwsFiles) -> None:
    m = CredentialsManager()
    log_in(m, sso)
    m.add_sso_profiles(SESSION, START_URL, "eu-west-1", [("lake-ro", "111111111111", "ReadOnly"), ("prod-billing", "333333333333", "Billing")])
    # Later: Billing is taken away, a new account appears.
    sso.accounts[2].roles.remove("Billing")
    sso.accounts.append(Account("444444444444", "analytics", ["Analyst"]))
    found = m.sso_accounts(START_URL, "eu-west-1", session_name=SESSION)
    assert found.gone == ("prod-billing",)
    assert ("444444444444", "Analyst") in {r.key for r in found.new} and ("111111111111", "ReadOnly") not in {r.key for r in found.new}
    before = aws_env.config.read_bytes()
    # Saving what is new never removes anything on its own...
    result = m.add_sso_profiles(SESSION, START_URL, "eu-west-1", [("analytics", "444444444444", "Analyst"), ("lake-ro", "111111111111", "ReadOnly")])
    assert result.added == ("analytics",) and result.unchanged == ("lake-ro",) and result.removed == ()
    assert "prod-billing" in m.profiles and aws_env.config.read_bytes().startswith(before)
    # ...only when asked; and the session section is not written twice.
    result = m.add_sso_profiles(SESSION, START_URL, "eu-west-1", [], remove=["prod-billing"])
    assert result.removed == ("prod-billing",) and "prod-billing" not in m.profiles
    text = aws_env.config.read_text()
    assert text.count("[sso-session corp]") == 1 and "Billing" not in text and "[profile analytics]" in text
    # A profile of another session (or none) is never removed by an onboarding.
    with pytest.raises(SsoSetupError, match="not a profile of SSO session corp"):
        m.add_sso_profiles(SESSION, START_URL, "eu-west-1", [], remove=["default"])


def test_collisions_are_all_named_and_nothing_is_written(sso: SsoServer, aws_env: AwsFiles) -> None:
    aws_env.write(config=EXISTING, credentials="[lake]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = x\n")
    m = CredentialsManager()
    log_in(m, sso)
    before = aws_env.config.read_bytes(), aws_env.credentials.read_bytes()
    with pytest.raises(ValidationError, match=r"Already a profile: 'keys', 'lake'") as info:
        m.add_sso_profiles(SESSION, START_URL, "eu-west-1", [("keys", "111111111111", "ReadOnly"), ("ok", "111111111111", "Admin"),
                                                             ("lake", "222222222222", "Developer")])
    assert info.value.field == "profile_name"
    with pytest.raises(ValidationError, match="both be saved as 'same'"):
        m.add_sso_profiles(SESSION, START_URL, "eu-west-1", [("same", "111111111111", "ReadOnly"), ("same", "111111111111", "Admin")])
    with pytest.raises(ValidationError, match="letters, digits"):
        m.add_sso_profiles(SESSION, START_URL, "eu-west-1", [("my profile", "111111111111", "ReadOnly")])
    assert (aws_env.config.read_bytes(), aws_env.credentials.read_bytes()) == before
    # The same session name for another start URL is refused, not merged.
    m.add_sso_profiles(SESSION, START_URL, "eu-west-1", [("ok", "111111111111", "Admin")])
    after = aws_env.config.read_bytes()
    with pytest.raises(ValidationError, match=r"\[sso-session corp\] already exists for https://corp.awsapps.com/start") as info:
        m.add_sso_profiles(SESSION, "https://other.awsapps.com/start", "eu-west-1", [("other", "111111111111", "Admin")])
    assert info.value.field == "session_name" and aws_env.config.read_bytes() == after


def test_one_write_all_or_nothing_a_refused_add_removes_nothing_and_a_read_only_file_is_untouched(sso: SsoServer, aws_env: AwsFiles) -> None:
    aws_env.write(config=EXISTING)
    m = CredentialsManager()
    log_in(m, sso)
    m.add_sso_profiles(SESSION, START_URL, "eu-west-1", [("lake-ro", "111111111111", "ReadOnly")])
    before = aws_env.config.read_bytes()
    with pytest.raises(ValidationError, match="Already a profile: 'keys'"):
        m.add_sso_profiles(SESSION, START_URL, "eu-west-1", [("keys", "222222222222", "Developer")], remove=["lake-ro"])
    assert aws_env.config.read_bytes() == before and "lake-ro" in m.profiles
    aws_env.config.chmod(0o400)
    with pytest.raises(AwsWidgetError, match=r"read-only|Could not write"):
        m.add_sso_profiles(SESSION, START_URL, "eu-west-1", [("dev", "222222222222", "Developer")], remove=["lake-ro"])
    assert aws_env.config.read_bytes() == before


def test_crlf_and_no_final_newline_are_kept(sso: SsoServer, aws_env: AwsFiles) -> None:
    aws_env.write()
    aws_env.config.write_bytes(b"[profile keys]\r\nregion = us-east-1")
    m = CredentialsManager()
    log_in(m, sso)
    m.add_sso_profiles(SESSION, START_URL, "eu-west-1", [("ro", "111111111111", "ReadOnly")])
    data = aws_env.config.read_bytes()
    assert data.startswith(b"[profile keys]\r\nregion = us-east-1\r\n") and b"\n" not in data.replace(b"\r\n", b"")


def test_a_revoked_login_says_log_in_again(sso: SsoServer, aws_env: AwsFiles) -> None:
    m = CredentialsManager()
    log_in(m, sso)
    sso.revoke_tokens()
    with pytest.raises(SsoSetupError, match="log in again"):
        m.sso_accounts(START_URL, "eu-west-1", session_name=SESSION)


# ---------------------------------------------------------------- the anchor: botocore's own provider, moto's STS


CHECK = """
import json, os, boto3
s = boto3.Session(profile_name=os.environ["PROFILE"])
c = s.get_credentials().get_frozen_credentials()
who = s.client("sts", endpoint_url=os.environ["MOTO"]).get_caller_identity()
print(json.dumps({"arn": who["Arn"], "key": c.access_key, "method": s.get_credentials().method}))
"""


def botocore_resolves(profile: str, aws_env: AwsFiles, server: SsoServer, moto: str) -> dict[str, Any]:
    """A plain boto3 in a fresh interpreter, whose botocore locates ~/.aws/sso/cache from this HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        HOME=str(aws_env.root), AWS_CONFIG_FILE=str(aws_env.config), AWS_SHARED_CREDENTIALS_FILE=str(aws_env.credentials),
        AWS_ENDPOINT_URL_SSO=server.url, AWS_ENDPOINT_URL_SSO_OIDC=server.url, AWS_EC2_METADATA_DISABLED="true",
        PROFILE=profile, MOTO=moto, PYTHONPATH="",
    )
    done = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.integration
def test_botocores_own_sso_provider_resolves_the_written_profiles_and_moto_accepts_the_keys(
    sso: SsoServer, aws_env: AwsFiles, auth_aws: AuthAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    dev, ops = auth_aws.new_key(), auth_aws.new_key()
    sso.role_keys[("222222222222", "Developer")] = {"accessKeyId": dev.access_key_id, "secretAccessKey": dev.secret_access_key, "sessionToken": ""}
    sso.role_keys[("333333333333", "Admin")] = {"accessKeyId": ops.access_key_id, "secretAccessKey": ops.secret_access_key, "sessionToken": ""}
    m = CredentialsManager()
    log_in(m, sso)
    m.add_sso_profiles(SESSION, START_URL, "eu-west-1", [("dev", "222222222222", "Developer"), ("ops", "333333333333", "Admin")],
                       region="us-east-1")
    sso.calls.clear()
    for profile, key in (("dev", dev), ("ops", ops)):
        seen = botocore_resolves(profile, aws_env, sso, auth_aws.endpoint_url)
        assert seen == {"arn": key.arn, "key": key.access_key_id, "method": "sso"}
    assert ("GetRoleCredentials", {"role_name": "Developer", "account_id": "222222222222"}) in sso.calls
    # The refresh-token grant: a login about to end is renewed by botocore itself (15 min window).
    cache = aws_env.root / ".aws" / "sso" / "cache" / TOKEN_FILE
    token = json.loads(cache.read_text())
    old = token["accessToken"]
    token["expiresAt"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 300))
    cache.write_text(json.dumps(token))
    sso.calls.clear()
    assert botocore_resolves("dev", aws_env, sso, auth_aws.endpoint_url)["arn"] == dev.arn
    assert ("CreateToken", {"grantType": "refresh_token"}) in sso.calls
    assert json.loads(cache.read_text())["accessToken"] != old
    # And the manager, selecting it, verifies it through the same provider.
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", auth_aws.endpoint_url)
    m.reload()
    m.profile = "ops"
    assert m.verify().arn == ops.arn


CLI = Path("~/.cache/awswidget-bench/awscli-venv/bin/aws").expanduser()  # the benchmarks' own awscli venv, resolved before HOME changes


@pytest.mark.integration
def test_the_aws_cli_in_its_own_venv_uses_the_login_and_the_profile(sso: SsoServer, aws_env: AwsFiles, auth_aws: AuthAws) -> None:
    """The CLI (a subprocess from its own venv, never imported) reads the token awswidget cached and the profile it wrote."""
    if not CLI.exists():
        pytest.skip(f"no awscli venv at {CLI.parent.parent} (tests/test_midrewrite.py creates it)")
    key = auth_aws.new_key()
    sso.role_keys[("222222222222", "Developer")] = {"accessKeyId": key.access_key_id, "secretAccessKey": key.secret_access_key, "sessionToken": ""}
    m = CredentialsManager()
    log_in(m, sso)
    m.add_sso_profiles(SESSION, START_URL, "eu-west-1", [("dev", "222222222222", "Developer")], region="us-east-1", output="json")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    env.update(HOME=str(aws_env.root), AWS_CONFIG_FILE=str(aws_env.config), AWS_SHARED_CREDENTIALS_FILE=str(aws_env.credentials),
               AWS_ENDPOINT_URL_SSO=sso.url, AWS_ENDPOINT_URL_SSO_OIDC=sso.url, AWS_EC2_METADATA_DISABLED="true")
    done = subprocess.run([str(CLI), "sts", "get-caller-identity", "--profile", "dev", "--endpoint-url", auth_aws.endpoint_url],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["Arn"] == key.arn
    assert ("GetRoleCredentials", {"role_name": "Developer", "account_id": "222222222222"}) in sso.calls


# ---------------------------------------------------------------- the pane


def wait_until(predicate: Callable[[], bool], timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


@pytest.fixture
def paused(sso: SsoServer) -> tuple[threading.Event, threading.Event, Callable[[float], bool]]:
    """A poll sleep the test holds: ``polling`` is set while the kernel waits, ``go_on`` lets it poll."""
    polling, go_on = threading.Event(), threading.Event()

    def sleep(_seconds: float) -> bool:
        polling.set()
        go_on.wait(20)
        return False

    return polling, go_on, sleep


def test_the_pane_logs_in_lists_filters_and_saves_and_the_picker_selects(sso: SsoServer, aws_env: AwsFiles, paused: Any) -> None:
    aws_env.write(config=EXISTING)
    polling, go_on, sleep = paused
    m = CredentialsManager()
    pane = SsoSetupPane(m, login_options={"sleep": sleep})
    assert pane._chooser.layout.display == "none"
    with pytest.raises(SsoSetupError, match="Log in first"):
        pane.save()
    pane.start_url.value = "not a url"
    pane.login_button.click()
    assert "must be a web address" in pane.message.value
    pane.start_url.value, pane.sso_region.value = START_URL, "eu-west-1"
    pane.login_button.click()
    assert polling.wait(10)
    assert f'href="{sso.url}/device?user_code={sso.user_code}"' in pane.link.value
    assert sso.user_code in pane.user_code.value and "font-size:2em" in pane.user_code.value
    assert pane.login_button.disabled and pane.cancel_button.layout.display is None and pane._waiting.layout.display is None
    sso.approve()
    go_on.set()
    wait_until(lambda: pane._chooser.layout.display is None)
    assert "6 role(s) in 3 account(s); 6 without a profile yet" in pane.message.value
    assert len(pane.roles.options) == 6
    pane.filter.value = "prod"
    assert [label for label, _ in pane.roles.options] == [
        "Prod (EU) (333333333333) · Admin", "Prod (EU) (333333333333) · Billing", "Prod (EU) (333333333333) · ReadOnly"]
    pane.select_all_button.click()
    pane.filter.value = "sandbox"
    pane.roles.value = (pane.roles.options[0][1],)  # add one by hand, under another filter
    pane.filter.value = ""
    assert len(pane.roles.value) == 4  # the choice survives filtering
    assert [row.value for row in pane.names.children] == ["Prod-EU-Admin", "Prod-EU-Billing", "Prod-EU-ReadOnly", "sandbox-Developer"]
    pane.names.children[3].value = "sandbox"  # edit a suggested name
    pane.output.value = "json"
    pane.save_button.click()
    assert "Saved 4 profile(s)" in pane.message.value, pane.message.value
    wait_until(lambda: m.status in ("verified", "error"))  # the pane verifies what it selected (no role keys here: an error)
    assert m.profile == "Prod-EU-Admin" and {"Prod-EU-Admin", "sandbox"} <= set(m.profiles)
    assert "[profile sandbox]\nsso_session = corp\nsso_account_id = 222222222222\nsso_role_name = Developer\noutput = json\n" in aws_env.config.read_text()
    assert aws_env.config.read_text().startswith(EXISTING)
    assert "✓ sandbox" in dict((v, k) for k, v in pane.roles.options)[5] or any("✓ sandbox" in k for k, _ in pane.roles.options)
    # Nothing secret in what the frontend holds (or a saved notebook would).
    state = json.dumps(dependency_state([pane], drop_defaults=False))
    shown = secrets_of(sso)
    assert shown and not any(secret in state for secret in shown)
    pane.close()


def test_the_pane_offers_gone_roles_for_removal_unchecked(sso: SsoServer, aws_env: AwsFiles) -> None:
    m = CredentialsManager()
    log_in(m, sso)
    m.add_sso_profiles(SESSION, START_URL, "eu-west-1", [("billing", "333333333333", "Billing"), ("dev", "222222222222", "Developer")])
    sso.accounts[2].roles.remove("Billing")
    pane = SsoSetupPane(m)
    pane.start_url.value, pane.sso_region.value, pane.session_name.value = START_URL, "eu-west-1", SESSION
    pane.load()
    assert pane.remove.options == ("billing",) and pane.remove.value == () and pane._remove_box.layout.display is None
    assert "✓ dev" in " ".join(label for label, _ in pane.roles.options)
    # Select all shown skips roles that have a profile already; saving with nothing under Remove removes nothing.
    pane.select_all_shown()
    assert ("222222222222", "Developer") not in {(a, r) for _, a, r in pane.chosen()}
    pane.save()
    assert "billing" in m.profiles
    wait_until(lambda: m.status in ("verified", "error"))
    assert pane.save_button.disabled  # nothing chosen, nothing to remove
    pane.remove.value = ("billing",)
    assert not pane.save_button.disabled  # removing alone is a change worth saving
    pane.save_button.click()
    assert "billing" not in m.profiles and "removed billing" in pane.message.value and pane.remove.options == ()
    wait_until(lambda: m.status in ("verified", "error", "unverified"))
    pane.close()


EU_URL = "https://corp.eu.awsapps.com/start"


def test_a_session_name_of_another_start_url_is_refused_before_its_login_is_replaced(sso: SsoServer, aws_env: AwsFiles) -> None:
    m = CredentialsManager()
    log_in(m, sso)
    m.add_sso_profiles(SESSION, START_URL, "eu-west-1", [("prod-admin", "111111111111", "Admin")])
    cache = aws_env.root / ".aws" / "sso" / "cache"
    corp_token, config = (cache / TOKEN_FILE).read_bytes(), aws_env.config.read_bytes()
    sso.start_url = EU_URL  # a second start URL whose host also begins with "corp"
    # Asked for by name: refused before any login, with a free name suggested.
    with pytest.raises(ValidationError, match=r"\[sso-session corp\] already exists for https://corp.awsapps.com/start in eu-west-1.*corp-eu") as info:
        m.sso_setup_login(EU_URL, "us-east-1", session_name=SESSION, sleep=approve_on_poll(sso))
    assert info.value.field == "session_name"
    with pytest.raises(ValidationError, match="already exists"):
        m.sso_accounts(EU_URL, "us-east-1", session_name=SESSION)
    # By default: the first free name; corp's cached login and its profiles are left alone.
    login = m.sso_setup_login(EU_URL, "us-east-1", sleep=approve_on_poll(sso))
    assert login.config.session_name == "corp-eu" and login.run().status == "succeeded"
    assert (cache / TOKEN_FILE).read_bytes() == corp_token
    found = m.sso_accounts(EU_URL, "us-east-1")
    assert found.existing == {} and found.gone == () and len(found.new) == 6
    # The same start URL in another region is another session too.
    assert m.sso_setup_config(START_URL, "us-east-1").session_name == "corp-2"
    assert m.sso_setup_config(START_URL, "eu-west-1").session_name == SESSION
    # Profiles are only "of the session" when its [sso-session] is this start URL's.
    full = {"profiles": {"prod-admin": {"sso_session": SESSION, "sso_account_id": "111111111111", "sso_role_name": "Admin"}},
            "sso_sessions": {SESSION: {"sso_start_url": START_URL, "sso_region": "eu-west-1"}}}
    assert existing_profiles(full, setup_config(EU_URL, "eu-west-1", SESSION)) == {}
    assert existing_profiles(full, setup_config(START_URL, "eu-west-1", SESSION)) == {"prod-admin": ("111111111111", "Admin")}
    assert aws_env.config.read_bytes() == config
    # The pane shows the name it chose and offers none of corp's profiles for removal.
    pane = SsoSetupPane(m, login_options={"sleep": approve_on_poll(sso)})
    pane.start_url.value, pane.sso_region.value = EU_URL, "us-east-1"
    pane.login().result(20)
    wait_until(lambda: pane._chooser.layout.display is None)
    assert pane._where == (EU_URL, "us-east-1", "corp-eu") and "corp-eu" in pane.session_name.placeholder
    assert pane.remove.options == () and (cache / TOKEN_FILE).read_bytes() == corp_token
    pane.close()


def test_the_pane_refuses_a_password_in_the_start_url_and_forgets_it(sso: SsoServer, aws_env: AwsFiles) -> None:
    pane = SsoSetupPane(CredentialsManager(), login_options={"sleep": approve_on_poll(sso)})
    pane.start_url.value = "https://bob:hunter2pass@corp.awsapps.com/start"
    pane.login_button.click()
    assert "user name or password" in pane.message.value and sso.calls == []
    assert pane.start_url.value == START_URL and not pane.start_url.disabled  # scrubbed from the box, nothing locked
    assert "hunter2pass" not in json.dumps(dependency_state([pane], drop_defaults=False))
    pane.close()


def test_the_pane_locks_where_it_logged_in_until_start_over(sso: SsoServer, aws_env: AwsFiles) -> None:
    m = CredentialsManager()
    pane = SsoSetupPane(m, login_options={"sleep": approve_on_poll(sso)})
    pane.start_url.value, pane.sso_region.value, pane.session_name.value = START_URL, "eu-west-1", SESSION
    pane.login().result(20)
    wait_until(lambda: pane._chooser.layout.display is None)
    boxes = (pane.start_url, pane.sso_region, pane.session_name)
    assert all(box.disabled for box in boxes) and pane.start_over_button.layout.display is None
    pane.roles.value = (pane.roles.options[0][1],)
    before = aws_env.config.read_bytes() if aws_env.config.exists() else None
    pane.start_url.value = "https://other.awsapps.com/start"  # changed anyway (from code): never saved to the old login's session
    with pytest.raises(SsoSetupError, match="changed after the login"):
        pane.save()
    assert (aws_env.config.read_bytes() if aws_env.config.exists() else None) == before
    pane.start_over_button.click()
    assert not any(box.disabled for box in boxes) and pane._chooser.layout.display == "none"
    assert pane.roles.options == () and pane.start_over_button.layout.display == "none"
    with pytest.raises(SsoSetupError, match="Log in first"):
        pane.save()
    pane.close()


def test_the_pane_cancels_a_login(sso: SsoServer, aws_env: AwsFiles) -> None:
    m = CredentialsManager()
    pane = SsoSetupPane(m)  # the real sleeper: cancel() cuts the wait short
    sso.interval = 30
    pane.start_url.value, pane.sso_region.value = START_URL, "eu-west-1"
    future = pane.login()
    wait_until(lambda: pane._waiting.layout.display is None)
    pane.cancel_button.click()
    assert future.exception(timeout=10) is not None
    assert "cancelled" in pane.message.value and pane._chooser.layout.display == "none" and not pane.login_button.disabled
    wait_until(lambda: not pane.start_url.disabled)  # nothing was listed: the boxes are free again (after the future's callbacks)
    assert pane._where is None
    pane.close()


def test_closing_the_pane_leaves_no_widgets_but_layouts_and_styles(sso: SsoServer) -> None:
    from ipywidgets import Widget
    from ipywidgets.widgets.widget import _instances

    before = set(_instances)
    SsoSetupPane(manager=CredentialsManager()).close()
    Widget.get_manager_state()
    left = {type(_instances[k]).__name__ for k in set(_instances) - before}
    assert all(name == "Layout" or name.endswith("Style") for name in left), left


def _unused(_key: IamKey) -> None:  # the fixture types, for mypy
    return None


def test_paths_are_files_of_this_test(aws_env: AwsFiles) -> None:
    assert str(aws_env.root) in str(Path(os.environ["AWS_CONFIG_FILE"]))


def test_the_setup_form_offers_the_sso_pane_and_hears_its_save(aws_env):
    from awswidget import CredentialSetupForm, CredentialsManager
    from awswidget.widgets.kinds import SSO
    from awswidget.widgets.sso_form import SsoSetupPane

    m = CredentialsManager()
    form = CredentialSetupForm(manager=m)
    form.kinds.kind.value = SSO
    pane = form.kinds.pane(SSO)
    assert isinstance(pane, SsoSetupPane) and pane in form.kinds.children
    pane.last_saved = "corp-Admin"  # what a save sets
    assert form.last_saved == "corp-Admin"
    form.close()
