"""Role profiles: checked field by field, verified by assuming the role against moto, written as ``aws configure set``.

moto (with signature checks on, ``auth_aws``) enforces the caller's own IAM policy on AssumeRole
(a user without ``sts:AssumeRole`` is refused) but not the role's trust policy, nor whether the
role exists: those refusals are AWS's alone and are not tested here (see the README text).
"""

from __future__ import annotations

import json
import queue
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from awswidget import _session
from awswidget.errors import AwsWidgetError, ProfileExistsError, ValidationError, VerificationError
from awswidget.localaws import LocalAws
from awswidget.manager import CredentialsManager
from awswidget.mfa import MfaRequest
from awswidget.roles import check_role_fields, source_loop, validate_edit, validate_role

from .conftest import AuthAws, AwsFiles, IamKey

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/deploy"
SERIAL = f"arn:aws:iam::{ACCOUNT}:mfa/alice"
CONFIG_BEFORE = """\
# my settings: keep this comment
[default]
region = eu-west-1

[profile alice]
region = us-east-1
endpoint_url = {endpoint}
"""


@pytest.fixture(autouse=True)
def fresh_role_cache() -> Iterator[None]:
    _session.role_cache().clear()
    yield
    _session.role_cache().clear()


def trust(account: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}]})


def make_role(auth_aws: AuthAws, name: str | None = None) -> str:
    iam: Any = auth_aws.client("iam")
    name = name or f"role-{uuid.uuid4().hex[:8]}"
    return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(auth_aws.key.account))["Role"]["Arn"])


def write_alice(files: AwsFiles, auth_aws: AuthAws, key: IamKey | None = None) -> tuple[bytes, bytes]:
    key = key or auth_aws.key
    files.write(
        config=CONFIG_BEFORE.format(endpoint=auth_aws.endpoint_url),
        credentials=f"# keys\n[alice]\naws_access_key_id = {key.access_key_id}\naws_secret_access_key = {key.secret_access_key}\n",
    )
    return files.config.read_bytes(), files.credentials.read_bytes()


# ---------------------------------------------------------------------------------- fields

@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"role_arn": ""}, "role_arn", "Enter the ARN"),
        ({"role_arn": "arn:aws:iam::12345:role/x"}, "role_arn", "12-digit account"),
        ({"role_arn": f"arn:aws:iam::{ACCOUNT}:user/bob"}, "role_arn", "that is a user"),
        ({"role_arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/x/s"}, "role_arn", "not the ARN of an IAM role"),
        ({"role_arn": f"arn:aws-eu:iam::{ACCOUNT}:role/x"}, "role_arn", "not the ARN of an IAM role"),
        ({"role_arn": f"arn:aws:iam::{ACCOUNT}:role/has space"}, "role_arn", "not the ARN"),
        ({"source_profile": None}, "source_profile", "Choose the profile"),
        ({"source_profile": "nobody"}, "source_profile", "no profile named 'nobody'"),
        ({"source_profile": "ops"}, "source_profile", "its own source profile"),
        ({"credential_source": "Environment"}, "source_profile", "not both"),
        ({"source_profile": None, "credential_source": "Laptop"}, "credential_source", "Ec2InstanceMetadata"),
        ({"mfa_serial": f"arn:aws:iam::{ACCOUNT}:user/alice"}, "mfa_serial", "MFA device"),
        ({"mfa_serial": "12"}, "mfa_serial", "MFA device"),
        ({"external_id": "x"}, "external_id", "2 to 1224"),
        ({"external_id": "a b"}, "external_id", "2 to 1224"),
        ({"role_session_name": "a"}, "role_session_name", "2 to 64"),
        ({"role_session_name": "has space"}, "role_session_name", "2 to 64"),
        ({"role_session_name": "x" * 65}, "role_session_name", "2 to 64"),
        ({"duration_seconds": 899}, "duration_seconds", "900"),
        ({"duration_seconds": "43201"}, "duration_seconds", "43200"),
        ({"duration_seconds": "1h"}, "duration_seconds", "number of seconds"),
        ({"region": "moon-1"}, "region", "not an AWS region"),
        ({"region": "us-east-\u0661"}, "region", "not an AWS region"),  # botocore's regionRegex takes a unicode \\d
        ({"duration_seconds": "\u00b2"}, "duration_seconds", "number of seconds"),  # '²'.isdigit(), int('²') raises
        ({"duration_seconds": "\u0663\u0666\u0660\u0660"}, "duration_seconds", "number of seconds"),  # Arabic-Indic 3600
        ({"duration_seconds": "\uff19\uff10\uff10"}, "duration_seconds", "number of seconds"),  # fullwidth 900
        ({"duration_seconds": "9" * 5000}, "duration_seconds", "number of seconds"),  # past int()'s digit limit
        ({"role_session_name": "a\nb"}, "role_session_name", "line breaks"),
        ({"external_id": "ab\ncd"}, "external_id", "line breaks"),
        ({"output": "xml"}, "output", "json"),
        ({"endpoint_url": "localhost:5000"}, "endpoint_url", "https://"),
        ({"profile_name": "has space"}, "profile_name", "letters, digits"),
    ],
)
def test_each_field_names_its_own_problem(changes: dict[str, Any], field: str, words: str) -> None:
    fields: dict[str, Any] = {"profile_name": "ops", "role_arn": ROLE, "source_profile": "alice", "existing": ("alice", "ops")}
    result = check_role_fields(**{**fields, **changes})
    assert list(result.errors) == [field] and words in result.errors[field], result.errors
    with pytest.raises(ValidationError) as info:
        validate_role(**{**fields, **changes})
    assert info.value.field == field


@pytest.mark.parametrize(
    "arn",
    [ROLE, f"arn:aws-cn:iam::{ACCOUNT}:role/a/b/c-d_e+f=g,h.i@j", f"arn:aws-us-gov:iam::{ACCOUNT}:role/service-role/x"],
)
def test_role_arns_of_every_partition_and_path_pass(arn: str) -> None:
    role = validate_role(profile_name="ops", role_arn=f"  {arn} ", credential_source="Ec2InstanceMetadata",
                         mfa_serial="GAHT12345678", duration_seconds="3600")
    assert role.role_arn == arn and role.duration_seconds == 3600
    assert role.settings() == {"role_arn": arn, "credential_source": "Ec2InstanceMetadata", "mfa_serial": "GAHT12345678",
                               "duration_seconds": "3600"}


def test_bad_input_changes_nothing_on_disk(aws_env: AwsFiles) -> None:
    aws_env.write(config="[profile alice]\nregion = us-east-1\n", credentials="[alice]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n")
    before = aws_env.config.read_bytes(), aws_env.credentials.read_bytes()
    m = CredentialsManager()
    for bad in ({"role_arn": "arn:aws:iam::1:role/x"}, {"duration_seconds": 60}, {"source_profile": "ghost"}):
        with pytest.raises(ValidationError):
            m.add_role_profile("ops", **{"role_arn": ROLE, "source_profile": "alice", **bad})  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as info:  # an MFA role is verified with a code: none given is refused before any call
        m.add_role_profile("ops", ROLE, source_profile="alice", mfa_serial=SERIAL)
    assert info.value.field == "mfa_code"
    assert (aws_env.config.read_bytes(), aws_env.credentials.read_bytes()) == before
    assert m.profiles == ("alice",)


# ---------------------------------------------------------------------------------- against moto

@pytest.mark.integration
def test_a_verified_role_is_written_as_aws_configure_set_writes_it(aws_env: AwsFiles, auth_aws: AuthAws) -> None:
    arn = make_role(auth_aws)
    config, credentials = write_alice(aws_env, auth_aws)
    m = CredentialsManager()
    info = m.add_role_profile("ops", arn, source_profile="alice", external_id="team-42", role_session_name="notebook",
                              duration_seconds=1800, region="us-east-1", output="json", endpoint_url=auth_aws.endpoint_url,
                              select=True)
    assert aws_env.config.read_bytes() == config + (
        f"\n[profile ops]\nrole_arn = {arn}\nsource_profile = alice\nexternal_id = team-42\nrole_session_name = notebook\n"
        f"duration_seconds = 1800\nregion = us-east-1\noutput = json\nendpoint_url = {auth_aws.endpoint_url}\n"
    ).encode()
    assert aws_env.credentials.read_bytes() == credentials  # nothing in the credentials file
    assert info.kind == "role" and m.profile == "ops" and "ops" in m.profiles
    assert m.status == "verified" and m.identity is not None
    assert m.identity.arn == f"arn:aws:sts::{auth_aws.key.account}:assumed-role/{arn.rsplit('/', 1)[1]}/notebook"
    # botocore resolves the written profile by itself: the session the manager selected assumes the role.
    assert m.client("sts").get_caller_identity()["Arn"] == m.identity.arn


@pytest.mark.integration
def test_access_denied_names_the_trust_policy_and_the_source_profile(aws_env: AwsFiles, auth_aws: AuthAws) -> None:
    """moto refuses AssumeRole to a user whose own policy does not allow it (it never reads trust policies)."""
    arn = make_role(auth_aws)
    config, credentials = write_alice(aws_env, auth_aws, key=auth_aws.new_key())  # a user with no policy at all
    m = CredentialsManager()
    with pytest.raises(VerificationError) as info:
        m.add_role_profile("ops", arn, source_profile="alice", endpoint_url=auth_aws.endpoint_url)
    error = info.value
    assert error.code == "AccessDenied" and error.field == "source_profile"
    assert "trust policy" in str(error) and "source profile 'alice'" in str(error) and arn in str(error)
    assert (aws_env.config.read_bytes(), aws_env.credentials.read_bytes()) == (config, credentials)
    assert "ops" not in m.profiles


@pytest.mark.integration
def test_refused_source_keys_name_the_source_profile(aws_env: AwsFiles, auth_aws: AuthAws) -> None:
    arn = make_role(auth_aws)
    wrong = IamKey("alice", auth_aws.key.access_key_id, "w" * 40, auth_aws.key.account, auth_aws.key.arn)
    write_alice(aws_env, auth_aws, key=wrong)
    m = CredentialsManager()
    with pytest.raises(VerificationError) as info:
        m.add_role_profile("ops", arn, source_profile="alice", endpoint_url=auth_aws.endpoint_url)
    assert info.value.field == "source_profile" and "source profile 'alice'" in str(info.value)
    assert "w" * 40 not in str(info.value) and "ops" not in m.profiles


@pytest.mark.integration
def test_the_mfa_code_of_the_check_serves_the_first_use(aws_env: AwsFiles, local_aws: LocalAws) -> None:
    """The check puts the role's credentials where botocore looks for them: selecting the profile asks for no new code.

    Against moto without signature checks, as tests/test_mfa.py: with them on, moto refuses every AssumeRole that
    carries a SerialNumber, whatever the policies say.
    """
    aws_env.write(config=f"[profile base]\nregion = us-east-1\nendpoint_url = {local_aws.endpoint_url}\n",
                  credentials="[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = " + "s" * 40 + "\n")
    m = CredentialsManager()
    requests: queue.Queue[MfaRequest] = queue.Queue()
    m.observe(lambda change: change.new is not None and requests.put(change.new), names="mfa_request")
    m.add_role_profile("ops", ROLE, source_profile="base", mfa_serial=SERIAL, endpoint_url=local_aws.endpoint_url,
                       region="us-east-1", mfa_code="123 456", select=True)
    assert f"mfa_serial = {SERIAL}\n" in aws_env.config.read_text()
    assert m.profile_info("ops").kind == "role-mfa" and m.status == "verified"
    assert m.client("sts").get_caller_identity()["Arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy/")
    m.select(fresh=True)  # a new session: botocore's own provider, which would ask for a code on a cache miss
    assert m.verify(block=False).result(timeout=30).arn.startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy/")
    assert requests.empty(), "botocore asked for a second MFA code: the cache key differs from botocore's"
    assert len(_session.role_cache()) == 1


@pytest.mark.integration
def test_a_trust_policy_that_names_someone_else_is_a_refusal(aws_env: AwsFiles, auth_aws: AuthAws) -> None:
    """moto checks a trust policy's principal (and a StringEquals sts:ExternalId condition) within its one account."""
    bob = auth_aws.new_key()
    iam: Any = auth_aws.client("iam")
    only_bob = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": bob.arn},
                                                                    "Action": "sts:AssumeRole"}]})
    arn = iam.create_role(RoleName=f"bob-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=only_bob)["Role"]["Arn"]
    config, credentials = write_alice(aws_env, auth_aws)
    m = CredentialsManager()
    with pytest.raises(VerificationError) as info:
        m.add_role_profile("ops", arn, source_profile="alice", endpoint_url=auth_aws.endpoint_url)
    assert info.value.code == "AccessDenied" and info.value.field == "source_profile" and "trust policy" in str(info.value)
    assert (aws_env.config.read_bytes(), aws_env.credentials.read_bytes()) == (config, credentials)


@pytest.mark.integration
def test_an_external_id_the_trust_policy_does_not_expect_is_a_refusal(aws_env: AwsFiles, auth_aws: AuthAws) -> None:
    iam: Any = auth_aws.client("iam")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": auth_aws.key.arn}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "team-42"}}}]})
    arn = iam.create_role(RoleName=f"ext-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=policy)["Role"]["Arn"]
    write_alice(aws_env, auth_aws)
    m = CredentialsManager()
    with pytest.raises(VerificationError) as info:
        m.add_role_profile("ops", arn, source_profile="alice", external_id="team-41", endpoint_url=auth_aws.endpoint_url)
    assert info.value.code == "AccessDenied" and "with this external ID" in str(info.value) and "ops" not in m.profiles
    m.add_role_profile("ops", arn, source_profile="alice", external_id="team-42", endpoint_url=auth_aws.endpoint_url)
    assert "external_id = team-42" in aws_env.config.read_text()


@pytest.mark.integration
def test_credential_source_environment(aws_env: AwsFiles, auth_aws: AuthAws, monkeypatch: pytest.MonkeyPatch) -> None:
    arn = make_role(auth_aws)
    aws_env.write(config="[default]\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", auth_aws.key.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", auth_aws.key.secret_access_key)
    m = CredentialsManager()
    m.add_role_profile("ops", arn, credential_source="Environment", region="us-east-1", endpoint_url=auth_aws.endpoint_url)
    assert "credential_source = Environment" in aws_env.config.read_text() and not aws_env.credentials.exists()
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    with pytest.raises(VerificationError) as info:
        m.add_role_profile("ops2", arn, credential_source="Environment", endpoint_url=auth_aws.endpoint_url)
    assert info.value.field == "credential_source" and "ops2" not in m.profiles


@pytest.mark.integration
def test_an_existing_profile_is_replaced_only_when_asked(aws_env: AwsFiles, auth_aws: AuthAws) -> None:
    arn = make_role(auth_aws)
    write_alice(aws_env, auth_aws)
    m = CredentialsManager()
    m.add_role_profile("ops", arn, source_profile="alice", mfa_serial=SERIAL, verify=False, endpoint_url=auth_aws.endpoint_url)
    before = aws_env.config.read_bytes()
    m.add_role_profile("ops", arn, source_profile="alice", mfa_serial=SERIAL, verify=False, endpoint_url=auth_aws.endpoint_url)
    assert aws_env.config.read_bytes() == before  # the same profile again is a retry, not a conflict
    with pytest.raises(ProfileExistsError):
        m.add_role_profile("ops", arn, source_profile="alice", endpoint_url=auth_aws.endpoint_url)
    with pytest.raises(ProfileExistsError):
        m.add_role_profile("alice", arn, source_profile="default", verify=False)  # a key profile is not replaced either
    assert aws_env.config.read_bytes() == before
    m.add_role_profile("ops", arn, source_profile="alice", endpoint_url=auth_aws.endpoint_url, overwrite=True)
    text = aws_env.config.read_text()
    assert "mfa_serial" not in text and text.startswith(CONFIG_BEFORE.format(endpoint=auth_aws.endpoint_url))
    assert m.profile_info("ops").kind == "role"


# ---------------------------------------------------------------------------------- the Role pane of the form

def fill(pane: Any, **values: Any) -> None:
    for name, value in values.items():
        getattr(pane, name).value = value


@pytest.mark.integration
def test_the_role_pane_saves_a_verified_role_and_the_picker_lists_it(aws_env: AwsFiles, auth_aws: AuthAws) -> None:
    from awswidget.widgets.form import CredentialSetupForm
    from awswidget.widgets.picker import ProfilePicker

    arn = make_role(auth_aws)
    write_alice(aws_env, auth_aws)
    m = CredentialsManager()
    picker = ProfilePicker(m, verify=False)
    form = CredentialSetupForm(m, endpoint_url=auth_aws.endpoint_url)
    assert form.kinds.kind.options[:2] == ("Access keys", "Role")
    form.kinds.kind.value = "Role"
    pane = form.role_pane
    assert form.kinds.children[1] is pane
    assert pane.source.value == ("profile", m.profile)  # the selection's credentials, to start with
    fill(pane, profile_name="ops", role_arn=arn, role_session_name="nb", region="us-east-1", source=("profile", "alice"))
    assert not pane.save_button.disabled
    info = pane.submit()
    assert info is not None and info.kind == "role" and form.last_saved == "ops"
    assert m.profile == "ops" and picker.profile_select.value == "ops" and m.status == "verified"
    assert "Verified: account" in pane.message.value and pane.profile_name.value == ""
    assert f"[profile ops]\nrole_arn = {arn}\nsource_profile = alice\nrole_session_name = nb\nregion = us-east-1\n" \
           f"endpoint_url = {auth_aws.endpoint_url}\n" in aws_env.config.read_text()


@pytest.mark.integration
def test_the_role_pane_names_the_field_at_fault(aws_env: AwsFiles, auth_aws: AuthAws) -> None:
    from awswidget.widgets.role_form import RoleSetupPane

    arn = make_role(auth_aws)
    key = auth_aws.new_key()
    write_alice(aws_env, auth_aws, key=key)  # alice without sts:AssumeRole
    before = aws_env.config.read_bytes()
    pane = RoleSetupPane(CredentialsManager(), endpoint_url=auth_aws.endpoint_url)
    fill(pane, profile_name="ops", role_arn="arn:aws:iam::42:role/x", source=("profile", "alice"))
    assert "12-digit account" in pane.field_messages["role_arn"].value and pane.save_button.disabled
    assert pane.submit() is None and "Not saved" in pane.message.value
    fill(pane, role_arn=arn, mfa_serial=SERIAL)
    assert pane._rows["mfa_code"].layout.display is None  # the code box appears with an MFA device
    assert pane.submit() is None and "6-digit code" in pane.field_messages["mfa_code"].value
    fill(pane, mfa_serial="")
    assert pane.submit() is None
    assert "trust policy" in pane.field_messages["source"].value and "AccessDenied" in pane.message.value
    assert aws_env.config.read_bytes() == before
    from ipywidgets.embed import embed_data

    state = json.dumps(embed_data(views=[pane])["manager_state"])
    assert "trust policy" in state and key.secret_access_key not in state and key.access_key_id not in state
    fill(pane, source=("credential_source", "Environment"))  # another source: AWS's verdict no longer applies
    assert pane.field_messages["source"].value == ""


def test_the_mfa_code_leaves_the_widget_state_at_save(aws_env: AwsFiles) -> None:
    from awswidget.widgets.role_form import RoleSetupPane

    aws_env.write(config="[profile alice]\nregion = us-east-1\n[profile ops]\nregion = us-east-1\n")
    pane = RoleSetupPane(CredentialsManager())
    fill(pane, profile_name="ops", role_arn=ROLE, source=("profile", "alice"), mfa_serial=SERIAL, mfa_code="123456")
    assert pane.submit() is None and pane.save_confirm.visible  # "replace ops?" is open
    assert pane.mfa_code.value == "" and "123456" not in json.dumps(pane.mfa_code.get_state())
    pane.save_confirm.no_button.click()
    assert pane._code == "" and "Nothing was saved" in pane.message.value


def test_a_config_file_botocore_rejects_is_never_rewritten(aws_env: AwsFiles) -> None:
    aws_env.write(config="[profile alice]\nregion = us-east-1\nthis line is not a setting\n",
                  credentials="[alice]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = " + "s" * 40 + "\n")
    before = aws_env.config.read_bytes()
    m = CredentialsManager()
    with pytest.raises(AwsWidgetError) as info:
        m.add_role_profile("ops", ROLE, source_profile="alice", verify=False)
    assert str(aws_env.config) in str(info.value) and aws_env.config.read_bytes() == before


# ---------------------------------------------------------------------------------- digits are ASCII digits

@pytest.mark.parametrize("duration", ["\u00b2", "90\u00b2", "\u0663\u0666\u0660\u0660", "\uff19\uff10\uff10", "9" * 5000])
def test_a_duration_in_other_digits_is_a_validation_error_everywhere(aws_env: AwsFiles, duration: str) -> None:
    """'²' passed str.isdigit() and int() then raised a bare ValueError; '٣٦٠٠' and '９００' were written as 3600 and 900."""
    from awswidget.widgets.role_form import RoleSetupPane
    from awswidget.widgets.settings_edit import SettingsEditor

    aws_env.write(config=f"[profile ops]\nrole_arn = {ROLE}\nsource_profile = alice\n",
                  credentials="[alice]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = " + "s" * 40 + "\n")
    before = aws_env.config.read_bytes(), aws_env.credentials.read_bytes()
    m = CredentialsManager()
    with pytest.raises(ValidationError) as info:
        m.add_role_profile("new", ROLE, source_profile="alice", duration_seconds=duration, verify=False)  # type: ignore[arg-type]
    assert info.value.field == "duration_seconds"
    with pytest.raises(ValidationError) as info:
        m.edit_profile("ops", duration_seconds=duration)
    assert info.value.field == "duration_seconds"
    pane = RoleSetupPane(m)
    fill(pane, profile_name="new", role_arn=ROLE, source=("profile", "alice"), duration_seconds=duration)
    pane.verify_checkbox.value = False
    assert "number of seconds" in pane.field_messages["duration_seconds"].value and pane.save_button.disabled
    assert pane.submit() is None and "fix the marked fields" in pane.message.value
    m.select("ops")
    editor = SettingsEditor(m)
    editor.inputs["duration_seconds"].value = duration
    assert editor.save() is None and "number of seconds" in editor.field_messages["duration_seconds"].value
    assert (aws_env.config.read_bytes(), aws_env.credentials.read_bytes()) == before


# ---------------------------------------------------------------------------------- source_profile loops

CHAINS = f"""\
[profile a]
role_arn = {ROLE}
source_profile = b

[profile b]
role_arn = {ROLE}
source_profile = base

[profile keyed]
role_arn = {ROLE}
source_profile = keyed

[profile via-keyed]
role_arn = {ROLE}
source_profile = keyed

[profile selfish]
role_arn = {ROLE}
source_profile = selfish

[profile web]
role_arn = {ROLE}
web_identity_token_file = /nonexistent/token
source_profile = via-web

[profile via-web]
role_arn = {ROLE}
source_profile = web

[profile x]
role_arn = {ROLE}
source_profile = y

[profile y]
role_arn = {ROLE}
source_profile = x

[profile into-xy]
role_arn = {ROLE}
source_profile = x
"""
KEYS = "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = " + "s" * 40 + "\n"
CHAIN_CREDS = f"[base]\n{KEYS}[keyed]\n{KEYS}"


def chains(files: AwsFiles, config: str = CHAINS) -> dict[str, Any]:
    files.write(config=config, credentials=CHAIN_CREDS)
    return dict(_session.merged_config(str(files.config), str(files.credentials))["profiles"])


def botocore_loops(name: str) -> bool:
    """Whether botocore itself refuses ``name``'s credentials as a loop (it resolves the chain before any call)."""
    import botocore.session
    from botocore.exceptions import InfiniteLoopConfigError

    try:
        botocore.session.Session(profile=name).get_credentials()
    except InfiniteLoopConfigError:
        return True
    except Exception:  # the web-identity profile's missing token file, say: not a loop
        return False
    return False


@pytest.mark.parametrize("b_source", ["base", "a", "b", "keyed", "via-keyed", "x"])
def test_source_loop_is_botocore_s_rule(aws_env: AwsFiles, b_source: str) -> None:
    """Every profile of the files: :func:`source_loop` finds a loop exactly when botocore raises InfiniteLoopConfigError
    (a profile may source itself only with static keys; keys or a web identity end a chain)."""
    profiles = chains(aws_env, CHAINS.replace("source_profile = base", f"source_profile = {b_source}"))
    verdicts = {name: (source_loop(name, profiles) is not None, botocore_loops(name)) for name in profiles}
    assert all(ours == theirs for ours, theirs in verdicts.values()), verdicts
    assert verdicts["selfish"] == verdicts["x"] == (True, True) and verdicts["keyed"] == verdicts["via-keyed"] == (False, False)
    assert verdicts["a"][0] is (b_source in ("a", "b", "x"))


def test_an_edit_or_a_replacement_that_makes_a_loop_is_refused(aws_env: AwsFiles) -> None:
    """edit_profile("b", source_profile="a") while a sources b was written, and botocore then raised InfiniteLoopConfigError."""
    profiles = chains(aws_env)
    for name, changes, loop in [("b", {"source_profile": "a"}, "b → a → b"),
                                ("base", {"role_arn": ROLE, "source_profile": "a"}, "base → a → b → base"),
                                ("b", {"source_profile": "into-xy"}, "b → into-xy → x → y → x")]:
        with pytest.raises(ValidationError) as info:
            validate_edit(name, profiles[name], changes, existing=profiles)
        assert info.value.field == "source_profile" and loop in info.value.reason, info.value.reason
    with pytest.raises(ValidationError) as info:  # add_role_profile(..., overwrite=True) makes the same loop
        validate_role(profile_name="b", role_arn=ROLE, source_profile="a", existing=profiles)
    assert info.value.field == "source_profile" and "b → a → b" in info.value.reason
    result = check_role_fields(profile_name="b", role_arn=ROLE, source_profile="a", existing=profiles)  # never raises
    assert list(result.errors) == ["source_profile"] and result.role is None
    # not loops: a source that ends in keys, a profile with keys naming itself (botocore allows it), a loop elsewhere
    assert validate_edit("b", profiles["b"], {"source_profile": "via-keyed"}, existing=profiles) == {"source_profile": "via-keyed"}
    assert validate_edit("base", profiles["base"], {"role_arn": ROLE, "source_profile": "base"}, existing=profiles)
    assert validate_edit("x", profiles["x"], {"region": "us-east-2"}, existing=profiles) == {"region": "us-east-2"}
    assert validate_role(profile_name="c", role_arn=ROLE, source_profile="a", existing=profiles).source_profile == "a"
    assert validate_role(profile_name="base", role_arn=ROLE, source_profile="base", existing=profiles).source_profile == "base"


def test_the_manager_refuses_a_loop_and_changes_nothing(aws_env: AwsFiles) -> None:
    from awswidget.widgets.role_form import RoleSetupPane

    chains(aws_env)
    before = aws_env.config.read_bytes(), aws_env.credentials.read_bytes()
    m = CredentialsManager()
    with pytest.raises(ValidationError) as info:
        m.edit_profile("b", source_profile="a")
    assert info.value.field == "source_profile"
    with pytest.raises(ValidationError) as info:
        m.add_role_profile("b", ROLE, source_profile="a", overwrite=True, verify=False)
    assert info.value.field == "source_profile"
    with pytest.raises(ValidationError) as info:  # a profile with keys replaced by a role whose source leads back to it
        m.add_role_profile("base", ROLE, source_profile="a", verify=False)
    assert info.value.field == "source_profile" and "base → a → b → base" in info.value.reason
    pane = RoleSetupPane(m)
    fill(pane, profile_name="new", role_arn=ROLE, source=("profile", "selfish"))  # into a loop of the files: said at Save
    pane.verify_checkbox.value = False
    assert pane.submit() is None and "loop of source profiles" in pane.field_messages["source"].value
    assert (aws_env.config.read_bytes(), aws_env.credentials.read_bytes()) == before
    assert not botocore_loops("a")
