"""ProfilePicker, driven headlessly as a user drives it: set the children's values, click its buttons.

Every check lands on something real: the manager's traits, ``boto3.DEFAULT_SESSION``,
``os.environ``, the files on disk, the status text and the widgets' synced state.
Verification talks to moto's server on 127.0.0.1 (``AWS_ENDPOINT_URL`` points every
background check there); botocore's Stubber appears in one test only, for a root ARN,
which moto never returns.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import boto3
import ipywidgets
import ipywidgets.embed
import pytest
from botocore.stub import Stubber

from awswidget import CredentialsManager, VerificationError, default_manager
from awswidget.identity import Identity
from awswidget.widgets import CredentialSetupForm, ProfilePicker

if TYPE_CHECKING:
    from conftest import AuthAws, AwsFiles

MOTO_ACCOUNT = "123456789012"  # what moto's STS answers for any key when signatures are not checked
KEY_A, SECRET_A = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
KEY_B, SECRET_B = "AKIAI44QH8DHBEXAMPLE", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
WAIT = 30.0  # seconds: a bound on any background verification against the local endpoint


def keys(name: str, key: str, secret: str) -> str:
    return f"[{name}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"


TWO_PROFILES = {
    "config": "[default]\nregion = eu-west-1\n\n[profile dev]\nregion = us-west-2\n",
    "credentials": keys("default", KEY_A, SECRET_A) + keys("dev", KEY_B, SECRET_B),
}


def status_text(picker: ProfilePicker) -> str:
    """The status line as a user reads it, from the widget's synced state."""
    return html.unescape(re.sub(r"<[^>]+>", "", picker.status.get_state()["value"]))


def widget_state(*widgets: ipywidgets.Widget) -> str:
    """Everything these widgets (and every widget they hold) would send to a frontend or save in a notebook."""
    return json.dumps(ipywidgets.embed.dependency_state(list(widgets), drop_defaults=False))


@pytest.fixture(autouse=True)
def local_sts(local_aws: Any, aws_env: AwsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every background verification goes to moto on 127.0.0.1, never to AWS."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_aws.endpoint_url)


@pytest.fixture
def make_picker() -> Iterator[Callable[..., ProfilePicker]]:
    """Build pickers; afterwards wait for their background checks, then close them."""
    made: list[ProfilePicker] = []

    def make(manager: CredentialsManager | None = None, **kwargs: Any) -> ProfilePicker:
        picker = ProfilePicker(manager, **kwargs)
        made.append(picker)
        return picker

    yield make
    for picker in made:
        if picker.verification is not None:
            picker.verification.exception(timeout=WAIT)  # finished either way before the next test
        picker.close()


def verified(picker: ProfilePicker) -> Identity:
    assert picker.verification is not None, "the picker started no verification"
    return picker.verification.result(timeout=WAIT)


# ---------------------------------------------------------------------------------------------- switching


def test_switching_reaches_boto3_environment_and_status(aws_env: AwsFiles, make_picker: Callable[..., ProfilePicker]) -> None:
    aws_env.write(**TWO_PROFILES)
    m = CredentialsManager()
    picker = make_picker(m)
    verified(picker)  # the picker checks the initial selection on its own
    assert picker.profile_select.value == "default" and picker.region_select.value == "eu-west-1"

    seen: list[str] = []
    picker.status.observe(lambda c: seen.append(c.new), names="value")
    picker.profile_select.value = "dev"

    assert m.profile == "dev" and m.region == "us-west-2"
    assert boto3.DEFAULT_SESSION is m.session and boto3.DEFAULT_SESSION.profile_name == "dev"
    assert boto3.DEFAULT_SESSION.region_name == "us-west-2"
    assert os.environ["AWS_PROFILE"] == "dev" and os.environ["AWS_DEFAULT_REGION"] == "us-west-2"
    assert picker.region_select.value == "us-west-2"  # followed the profile's configured region
    assert boto3.client("sts").get_caller_identity()["Account"] == MOTO_ACCOUNT  # boto3 itself, on the new profile

    identity = verified(picker)
    assert any("verifying…" in html.unescape(v) for v in seen), "the status never said 'verifying…'"
    text = status_text(picker)
    assert m.status == "verified" and identity.account == MOTO_ACCOUNT
    for part in ("dev", "us-west-2", f"account {MOTO_ACCOUNT}", identity.principal_kind):
        assert part in text
    assert identity.arn not in text and identity.arn in tooltip(picker)  # the line stays one line: the ARN is its tooltip
    state = picker.profile_select.get_state()
    assert state["_options_labels"][state["index"]] == "dev"


def test_default_manager_is_used_when_none_given(aws_env: AwsFiles, make_picker: Callable[..., ProfilePicker]) -> None:
    aws_env.write(**TWO_PROFILES)
    picker = make_picker()
    assert picker.manager is default_manager()
    picker.profile_select.value = "dev"
    assert default_manager().profile == "dev"


def test_option_labels_show_the_kind_and_values_stay_names(aws_env: AwsFiles, make_picker: Callable[..., ProfilePicker]) -> None:
    aws_env.write(
        config=(
            "[default]\nregion = us-east-1\n"
            "[profile admin]\nrole_arn = arn:aws:iam::111122223333:role/Admin\nsource_profile = default\n"
            "[profile sso]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n"
            "sso_account_id = 111122223333\nsso_role_name = ReadOnly\n"
            "[profile local]\nendpoint_url = http://127.0.0.1:1\n"
        ),
        credentials=keys("default", KEY_A, SECRET_A) + keys("local", KEY_B, SECRET_B),
    )
    picker = make_picker(CredentialsManager(), verify=False)
    assert dict(picker.profile_select.options) == {
        "admin (role)": "admin",
        "default": "default",
        "local (endpoint)": "local",
        "sso (SSO)": "sso",
    }
    picker.profile_select.label = "admin (role)"  # what a frontend selection amounts to
    assert picker.manager.profile == "admin" and picker.profile_select.value == "admin"


# ---------------------------------------------------------------------------------------------- filtering


def test_typing_filters_without_switching_and_keeps_the_selection(
    aws_env: AwsFiles, make_picker: Callable[..., ProfilePicker]
) -> None:
    names = [f"team-{i:03d}-{env}" for i in range(150) for env in ("prod", "dev")]
    aws_env.write(credentials="".join(keys(n, KEY_A, SECRET_A) for n in names))
    m = CredentialsManager()
    m.profile = "team-149-prod"  # beyond the first max_options: must still be listed
    switches: list[Any] = []
    m.observe(switches.append, names="profile")
    picker = make_picker(m, verify=False, max_options=50)

    labels = picker.profile_select.get_state()["_options_labels"]
    assert len(labels) == 51 and labels[0] == "team-149-prod"  # capped, plus the selection
    assert picker.profile_select.value == "team-149-prod"
    assert "50 of 300" in status_text_of(picker.match_note)

    picker.profile_filter.value = "012"
    assert [v for _, v in picker.profile_select.options] == ["team-149-prod", "team-012-dev", "team-012-prod"]
    picker.profile_filter.value = "PROD 01"  # case-insensitive, every word must match
    shown = [v for _, v in picker.profile_select.options]
    expected = [n for n in m.profiles if "prod" in n and "01" in n]  # team-001, -010…019 and -101
    assert len(expected) == 12 and shown == ["team-149-prod", *expected]
    assert switches == [] and m.profile == "team-149-prod"  # filtering never switched

    picker.profile_select.value = "team-012-prod"
    assert m.profile == "team-012-prod" and os.environ["AWS_PROFILE"] == "team-012-prod"
    picker.profile_filter.value = ""
    assert picker.profile_select.value == "team-012-prod" and m.profile == "team-012-prod"
    assert len(switches) == 1


def tooltip(picker: ProfilePicker) -> str:
    """The status line's tooltip (its whole first line, ARN included)."""
    found = re.search(r'title="([^"]*)"', picker.status.get_state()["value"])
    return html.unescape(found.group(1)) if found else ""


def status_text_of(widget: ipywidgets.HTML) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", widget.get_state()["value"]))


def test_replacing_options_does_not_clobber_the_selection(aws_env: AwsFiles, make_picker: Callable[..., ProfilePicker]) -> None:
    aws_env.write(**TWO_PROFILES)
    m = CredentialsManager()
    m.profile = "dev"
    picker = make_picker(m, verify=False)
    switches: list[Any] = []
    m.observe(switches.append, names="profile")
    # An external edit adds a profile that sorts before the selection: the options are replaced.
    aws_env.write(credentials=TWO_PROFILES["credentials"] + keys("alpha", KEY_A, SECRET_A))
    picker.refresh_button.click()
    assert [v for _, v in picker.profile_select.options] == ["dev", "default", "alpha"]  # the one used most first
    assert picker.profile_select.value == "dev" and m.profile == "dev" and switches == []


# ---------------------------------------------------------------------------------------------- region


def test_region_selector_lists_the_partition_and_switches_the_session(
    aws_env: AwsFiles, make_picker: Callable[..., ProfilePicker]
) -> None:
    from awswidget.validate import known_regions

    aws_env.write(**TWO_PROFILES)
    m = CredentialsManager()
    picker = make_picker(m)
    values = [v for _, v in picker.region_select.options]
    assert set(known_regions("aws")) and {r.name for r in known_regions("aws")} <= set(values)
    assert "cn-north-1" not in values and picker.region_select.value == "eu-west-1"

    picker.region_select.value = "ap-southeast-2"
    assert m.region == "ap-southeast-2" and m.profile == "default"
    assert boto3.DEFAULT_SESSION is m.session and m.session.region_name == "ap-southeast-2"
    assert os.environ["AWS_DEFAULT_REGION"] == "ap-southeast-2"
    verified(picker)  # a region switch is a switch: checked again
    assert "ap-southeast-2" in status_text(picker) and m.status == "verified"

    assert "" not in values  # "(no region)" is offered only to a profile without a region


def test_a_profile_without_region_shows_no_region(aws_env: AwsFiles, make_picker: Callable[..., ProfilePicker]) -> None:
    aws_env.write(credentials=keys("default", KEY_A, SECRET_A))
    m = CredentialsManager()
    picker = make_picker(m, verify=False)
    assert m.region is None and picker.region_select.value == "" and picker.region_select.label == "(no region)"
    picker.region_select.value = "eu-west-3"
    assert m.region == "eu-west-3" and m.session.region_name == "eu-west-3"


def test_region_options_follow_the_partition(aws_env: AwsFiles, make_picker: Callable[..., ProfilePicker]) -> None:
    aws_env.write(config="[default]\nregion = cn-north-1\n", credentials=keys("default", KEY_A, SECRET_A))
    picker = make_picker(CredentialsManager(), verify=False)
    values = [v for _, v in picker.region_select.options]
    assert picker.region_select.value == "cn-north-1"
    assert "cn-northwest-1" in values and "us-east-1" not in values


# ---------------------------------------------------------------------------------------------- refresh and errors


def test_refresh_sees_an_external_edit(aws_env: AwsFiles, make_picker: Callable[..., ProfilePicker]) -> None:
    aws_env.write(**TWO_PROFILES)
    m = CredentialsManager()
    picker = make_picker(m, verify=False)
    aws_env.write(
        config=TWO_PROFILES["config"] + "[profile ops]\nregion = eu-north-1\n",
        credentials=TWO_PROFILES["credentials"] + keys("ops", KEY_A, SECRET_A),
    )
    assert "ops" not in [v for _, v in picker.profile_select.options]
    picker.refresh_button.click()
    assert "ops" in m.profiles and "ops" in [v for _, v in picker.profile_select.options]
    picker.profile_select.value = "ops"
    assert m.region == "eu-north-1" and picker.region_select.value == "eu-north-1"


def test_a_file_that_cannot_be_parsed_shows_in_the_status_and_the_picker_keeps_working(
    aws_env: AwsFiles, make_picker: Callable[..., ProfilePicker]
) -> None:
    aws_env.write(**TWO_PROFILES)
    m = CredentialsManager()
    picker = make_picker(m, verify=False)
    aws_env.write(config="[default]\nregion = eu-west-1\nthis line is not an assignment\n")
    picker.refresh_button.click()

    text = status_text(picker)
    assert str(aws_env.config) in text and "line 3" in text
    # The credentials file still holds both profiles: still listed, still switchable.
    assert [v for _, v in picker.profile_select.options] == ["default", "dev"]
    picker.profile_select.value = "dev"
    assert m.profile == "dev" and boto3.DEFAULT_SESSION.profile_name == "dev"
    assert str(aws_env.config) in status_text(picker)  # the error stays visible until the file is fixed

    aws_env.write(**TWO_PROFILES)
    picker.refresh_button.click()
    assert str(aws_env.config) not in status_text(picker)


def test_an_exception_in_a_callback_lands_in_the_status_line(
    aws_env: AwsFiles, make_picker: Callable[..., ProfilePicker], caplog: pytest.LogCaptureFixture
) -> None:
    aws_env.write(**TWO_PROFILES)
    m = CredentialsManager()
    picker = make_picker(m, verify=False)

    def refuse(change: Any) -> None:
        raise RuntimeError(f"cannot switch to {change.new} during the audit")

    m.observe(refuse, names="profile")
    with caplog.at_level(logging.WARNING, logger="awswidget.widgets"):
        picker.profile_select.value = "dev"  # the exception must not escape into the frontend's void
    assert "cannot switch to dev during the audit" in status_text(picker)
    assert any("cannot switch to dev" in r.getMessage() for r in caplog.records)

    m.unobserve(refuse, names="profile")
    picker.profile_select.value = "default"  # the next action clears the message
    assert "audit" not in status_text(picker) and m.profile == "default"


# ---------------------------------------------------------------------------------------------- onboarding


def test_no_profile_shows_one_sentence_and_the_setup_form(
    aws_env: AwsFiles, make_picker: Callable[..., ProfilePicker]
) -> None:
    m = CredentialsManager()
    picker = make_picker(m)
    assert m.profiles == () and picker.verification is None
    assert status_text(picker).count(".") == 1 and "No AWS profile yet" in status_text(picker)
    assert isinstance(picker.form, CredentialSetupForm) and picker.form.manager is m
    assert picker.form in picker.children[-1].children  # shown inline

    form = picker.form
    form.profile_name.value = "work"
    form.access_key_id.value = KEY_A
    form.secret_access_key.value = SECRET_A
    form.region.value = "eu-west-2"
    form.save_button.click()  # verifies and saves in a background thread
    assert form.last_save is not None
    assert form.last_save.result(timeout=WAIT) is not None, status_text_of(form.message)

    assert "[work]" in aws_env.credentials.read_text()
    assert m.profiles == ("work",) and m.profile == "work"
    assert picker.profile_select.value == "work" and picker.region_select.value == "eu-west-2"
    assert picker.children[-1].children == ()  # folded away once the profile exists
    # The form verified the keys before saving: the manager knows the caller without a second STS call.
    assert m.status == "verified" and m.identity is not None and m.identity.account == MOTO_ACCOUNT
    assert "work" in status_text(picker) and MOTO_ACCOUNT in status_text(picker)
    assert SECRET_A not in widget_state(picker, form)


def test_add_profile_toggles_the_form_and_selects_what_it_saved(
    aws_env: AwsFiles, make_picker: Callable[..., ProfilePicker]
) -> None:
    aws_env.write(**TWO_PROFILES)
    m = CredentialsManager()
    picker = make_picker(m, verify=False)
    assert picker.form is None and picker.children[-1].children == ()  # not even built

    picker.add_button.click()
    form = picker.form
    assert isinstance(form, CredentialSetupForm) and picker.children[-1].children == (form,)
    picker.add_button.click()
    assert picker.children[-1].children == () and picker.add_button.description == "Add profile"
    picker.add_button.click()
    assert picker.children[-1].children == (form,)  # the same form, not a new one

    form.profile_name.value = "staging"
    form.access_key_id.value = KEY_B
    form.secret_access_key.value = SECRET_B
    assert form.submit() is not None, status_text_of(form.message)
    assert m.profile == "staging" and picker.profile_select.value == "staging"
    assert "staging" in [v for _, v in picker.profile_select.options]
    assert picker.children[-1].children == ()


# ---------------------------------------------------------------------------------------------- two pickers


def test_two_pickers_on_one_manager_stay_in_sync_without_loops(
    aws_env: AwsFiles, make_picker: Callable[..., ProfilePicker]
) -> None:
    aws_env.write(**TWO_PROFILES)
    m = CredentialsManager()
    a, b = make_picker(m), make_picker(m)
    verified(a)
    changes: list[tuple[str, Any]] = []
    m.observe(lambda c: changes.append((c.name, c.new)), names=["profile", "region"])

    a.profile_select.value = "dev"
    assert b.profile_select.value == "dev" and b.region_select.value == "us-west-2"
    assert changes == [("profile", "dev"), ("region", "us-west-2")]  # once each, in one publication: nothing bounced back

    b.region_select.value = "sa-east-1"
    assert a.region_select.value == "sa-east-1" and m.region == "sa-east-1"
    assert changes[2:] == [("region", "sa-east-1")]

    b.profile_filter.value = "zzz"  # b's filter hides everything but the selection
    assert [v for _, v in b.profile_select.options] == ["dev"]
    m.profile = "default"  # from code: both follow
    assert a.profile_select.value == b.profile_select.value == "default"
    assert [v for _, v in b.profile_select.options] == ["default"]

    verified(b)  # b's verification (after its region switch) is settled before we look
    a.refresh_button.click()
    verified(a)
    assert status_text(a) == status_text(b) and f"account {MOTO_ACCOUNT}" in status_text(b)


# ---------------------------------------------------------------------------------------------- verification


def test_verification_against_the_local_endpoint_shows_the_real_caller(
    aws_env: AwsFiles, auth_aws: AuthAws, make_picker: Callable[..., ProfilePicker], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")  # here the profile itself names the endpoint
    wrong = auth_aws.key.secret_access_key[:-4] + "XXXX"
    aws_env.write(
        config=(
            f"[default]\nregion = us-east-1\nendpoint_url = {auth_aws.endpoint_url}\n"
            f"[profile broken]\nregion = us-east-1\nendpoint_url = {auth_aws.endpoint_url}\n"
        ),
        credentials=keys("default", auth_aws.key.access_key_id, auth_aws.key.secret_access_key)
        + keys("broken", auth_aws.key.access_key_id, wrong),
    )
    m = CredentialsManager()
    picker = make_picker(m)
    identity = verified(picker)
    assert identity.arn == auth_aws.key.arn and identity.account == auth_aws.key.account
    text = status_text(picker)
    assert auth_aws.key.arn in tooltip(picker)
    for part in (f"account {auth_aws.key.account}", "IAM user alice", f"endpoint {auth_aws.endpoint_url}"):
        assert part in text

    picker.profile_select.value = "broken"
    with pytest.raises(VerificationError, match="secret access key is wrong"):
        verified(picker)
    assert m.status == "error" and "secret access key is wrong" in status_text(picker)
    assert wrong not in widget_state(picker) and auth_aws.key.secret_access_key not in widget_state(picker)


def test_root_credentials_warning(aws_env: AwsFiles, make_picker: Callable[..., ProfilePicker]) -> None:
    # moto never answers GetCallerIdentity with a root ARN, so this one test stubs STS with
    # botocore's Stubber; everything else (manager, verify path, picker) is the real code.
    aws_env.write(**TWO_PROFILES)
    m = CredentialsManager()
    picker = make_picker(m, verify=False)
    sts = m.session.client("sts", region_name="us-east-1")
    stubber = Stubber(sts)
    stubber.add_response(
        "get_caller_identity",
        {"Account": "210987654321", "Arn": "arn:aws:iam::210987654321:root", "UserId": "210987654321"},
    )
    stubber.activate()
    m.session.client = lambda *args, **kwargs: sts  # type: ignore[method-assign]
    assert m.status == "unverified" and picker.verification is None

    picker.refresh_button.click()  # refresh verifies an unverified selection
    identity = verified(picker)
    stubber.assert_no_pending_responses()
    assert identity.is_root
    text = status_text(picker)
    assert "account 210987654321 · root user" in text and "arn:aws:iam::210987654321:root" in tooltip(picker)
    assert "These are root credentials of account 210987654321" in text  # the warning line


def test_environment_keys_shadowing_the_profile_are_warned_about(
    aws_env: AwsFiles, make_picker: Callable[..., ProfilePicker], monkeypatch: pytest.MonkeyPatch
) -> None:
    aws_env.write(**TWO_PROFILES)
    shadow_secret = "EnvSecretThatMustNeverBeShown0123456789"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_B)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", shadow_secret)
    picker = make_picker(CredentialsManager(), verify=False)
    text = status_text(picker)
    assert "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set in the environment" in text
    assert shadow_secret not in widget_state(picker) and shadow_secret not in repr(picker)


def test_permissive_credentials_file_is_warned_about(aws_env: AwsFiles, make_picker: Callable[..., ProfilePicker]) -> None:
    aws_env.write(**TWO_PROFILES)
    aws_env.credentials.chmod(0o644)
    picker = make_picker(CredentialsManager(), verify=False)
    assert f"chmod 600 {aws_env.credentials}" in status_text(picker)


# ---------------------------------------------------------------------------------------------- details, repr, secrets


def test_details_are_collapsed_and_show_sources_but_never_the_secret(
    aws_env: AwsFiles, make_picker: Callable[..., ProfilePicker]
) -> None:
    aws_env.write(**TWO_PROFILES)
    picker = make_picker(CredentialsManager(), verify=False)
    body = picker.details.children[0]
    assert picker.details.selected_index is None and body.value == ""  # collapsed, nothing computed

    picker.details.selected_index = 0
    text = status_text_of(body)
    for part in (str(aws_env.config), str(aws_env.credentials), "****************MPLE", "(hidden)", "eu-west-1"):
        assert part in text
    picker.profile_select.value = "dev"  # open details follow the selection
    assert "us-west-2" in status_text_of(body)


def test_text_repr_for_frontends_without_widgets(aws_env: AwsFiles, make_picker: Callable[..., ProfilePicker]) -> None:
    aws_env.write(**TWO_PROFILES)
    picker = make_picker(CredentialsManager())
    verified(picker)
    assert repr(picker) == (
        f"<ProfilePicker profile='default' region='eu-west-1' account='{MOTO_ACCOUNT}' status='verified' profiles=2>"
    )
    plain = picker._repr_mimebundle_()["text/plain"]
    assert plain.startswith("AWS: ✔ default · eu-west-1") and f"account {MOTO_ACCOUNT}" in plain
    assert len(plain) > 110  # not cut short like the default widget repr


def test_leak_check_catches_a_secret_in_widget_state(aws_env: AwsFiles, make_picker: Callable[..., ProfilePicker]) -> None:
    # Negative control for the `not in widget_state(...)` checks above.
    aws_env.write(**TWO_PROFILES)
    picker = make_picker(CredentialsManager(), verify=False)
    picker.details.selected_index = 0
    assert SECRET_A not in widget_state(picker)
    leaked = ipywidgets.Text(value=SECRET_A)
    picker.children[-1].children = (leaked,)
    assert SECRET_A in widget_state(picker)


# ---------------------------------------------------------------------------------------------- scale


def test_ten_thousand_profiles_keep_the_widget_state_small(
    aws_env: AwsFiles, make_picker: Callable[..., ProfilePicker]
) -> None:
    names = [f"org-{i:05d}-{('prod', 'dev', 'staging', 'sandbox')[i % 4]}" for i in range(10_000)]
    aws_env.write(
        config="".join(f"[profile {n}]\nregion = eu-west-1\n" for n in names[::2]),
        credentials="".join(keys(n, KEY_A, SECRET_A) for n in names),
    )
    m = CredentialsManager()
    assert len(m.profiles) == 10_000
    picker = make_picker(m, verify=False)

    labels = picker.profile_select.get_state()["_options_labels"]
    assert len(labels) <= ProfilePicker.MAX_OPTIONS + 1  # what is sent is capped, not all 10,000
    name_bytes = sum(len(n.encode()) for n in names)
    assert len(widget_state(picker)) <= 2 * name_bytes

    picker.profile_filter.value = "09999"
    assert picker.profile_select.options[-1] == ("org-09999-sandbox", "org-09999-sandbox")
    picker.profile_select.value = "org-09999-sandbox"
    assert m.profile == "org-09999-sandbox" and os.environ["AWS_PROFILE"] == "org-09999-sandbox"
