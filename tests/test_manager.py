"""CredentialsManager: traits, switching that reaches boto3 and os.environ, verification."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from traitlets import TraitError

import awswidget
from awswidget import CredentialsManager, ProfileExistsError, ValidationError, VerificationError
from awswidget.identity import Identity, get_caller_identity
from awswidget.manager import default_manager

from .conftest import AuthAws, AwsFiles

KEY_DEFAULT = "AKIAAAAAAAAAAAAAAAAA"
KEY_DEV = "AKIABBBBBBBBBBBBBBBB"
KEY_PROD = "AKIACCCCCCCCCCCCCCCC"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

CONFIG = """\
# team config
[default]
region = eu-west-1

[profile dev]
region = us-west-2

[profile prod]
region = ap-southeast-2
output = json

[sso-session corp]
sso_start_url = https://example.awsapps.com/start
"""

CREDENTIALS = f"""\
[default]
aws_access_key_id = {KEY_DEFAULT}
aws_secret_access_key = {SECRET}

[dev]
aws_access_key_id = {KEY_DEV}
aws_secret_access_key = {SECRET}

[prod]
aws_access_key_id = {KEY_PROD}
aws_secret_access_key = {SECRET}
"""


@pytest.fixture
def files(aws_env: AwsFiles) -> AwsFiles:
    return aws_env.write(CONFIG, CREDENTIALS)


def resolved_key(client: object) -> str:
    """The access key ID a client will sign with (no request is made)."""
    return client._request_signer._credentials.get_frozen_credentials().access_key  # type: ignore[attr-defined]


# ---------------------------------------------------------------- reading and the model


def test_profiles_agree_with_botocore_default_first(files: AwsFiles) -> None:
    import botocore.session

    m = CredentialsManager()
    assert m.profiles == ("default", "dev", "prod")
    assert set(m.profiles) == set(botocore.session.Session().available_profiles)
    assert "corp" not in m.profiles  # an sso-session is not a profile


def test_initial_selection_is_default_with_its_region(files: AwsFiles) -> None:
    m = CredentialsManager()
    assert (m.profile, m.region, m.status) == ("default", "eu-west-1", "unverified")
    assert boto3.DEFAULT_SESSION is m.session
    assert os.environ["AWS_PROFILE"] == "default"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"AWS_PROFILE": "prod"}, "prod"),
        ({"AWS_DEFAULT_PROFILE": "dev"}, "dev"),
        # botocore reads AWS_DEFAULT_PROFILE before AWS_PROFILE
        ({"AWS_DEFAULT_PROFILE": "dev", "AWS_PROFILE": "prod"}, "dev"),
    ],
)
def test_initial_selection_follows_the_environment(
    files: AwsFiles, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert CredentialsManager().profile == expected


def test_unknown_profile_in_environment_is_a_message_not_a_crash(files: AwsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "ghost")
    with pytest.raises(Exception, match="ghost"):
        boto3.Session()  # boto3 itself crashes here (boto/boto3#2403)
    m = CredentialsManager()
    assert m.profile == "default"
    assert "ghost" in m.message and "AWS_PROFILE" in m.message
    assert any("ghost" in w for w in m.warnings)


def test_no_files_means_no_selection_and_a_friendly_message(aws_env: AwsFiles) -> None:
    m = CredentialsManager()
    assert m.profiles == () and m.profile is None and m.session is None
    assert "No AWS profile yet" in m.message
    assert str(aws_env.credentials) in m.message


def test_assigning_unknown_profile_raises_helpfully(files: AwsFiles) -> None:
    m = CredentialsManager()
    with pytest.raises(TraitError, match=r"No profile named 'nope'.*default, dev, prod"):
        m.profile = "nope"
    assert m.profile == "default"


def test_invalid_region_is_refused(files: AwsFiles) -> None:
    m = CredentialsManager()
    with pytest.raises(TraitError, match="not an AWS region"):
        m.region = "mars-1"
    assert m.region == "eu-west-1"


def test_secret_is_no_trait_and_not_in_repr(files: AwsFiles) -> None:
    m = CredentialsManager()
    for name in m.trait_names():
        assert SECRET not in repr(getattr(m, name))
    assert SECRET not in repr(m) and SECRET not in repr(m.profile_info("dev"))
    assert SECRET not in str(m.describe())
    assert KEY_DEV not in repr(m.profile_info("dev"))  # masked: ****************BBBB
    assert m.profile_info("dev").access_key_id.endswith("BBBB")


def test_describe_is_like_aws_configure_list(files: AwsFiles) -> None:
    m = CredentialsManager()
    m.profile = "prod"
    rows = {key: (value, source) for key, value, source in m.describe()}
    assert rows["profile"] == ("prod", "selected in awswidget")
    assert rows["region"] == ("ap-southeast-2", str(files.config))
    assert rows["aws_access_key_id"] == ("****************CCCC", str(files.credentials))
    assert rows["aws_secret_access_key"][0] == "(hidden)"
    assert rows["credentials file"][0] == str(files.credentials)


# ---------------------------------------------------------------- switching


def test_switch_reaches_boto3_client_env_and_new_sessions(files: AwsFiles) -> None:
    m = CredentialsManager()
    for name, key, region in (("dev", KEY_DEV, "us-west-2"), ("prod", KEY_PROD, "ap-southeast-2")):
        m.profile = name
        assert boto3.DEFAULT_SESSION is m.session
        client = boto3.client("s3")
        assert resolved_key(client) == key
        assert client.meta.region_name == region
        assert resolved_key(m.client("sts")) == key
        assert os.environ["AWS_PROFILE"] == name
        assert os.environ["AWS_DEFAULT_REGION"] == region
        # a library building its own session follows AWS_PROFILE
        assert boto3.Session().get_credentials().access_key == key


def test_switch_reaches_subprocesses(files: AwsFiles) -> None:
    m = CredentialsManager()
    m.profile = "prod"
    code = "import boto3; s = boto3.Session(); print(s.profile_name, s.region_name, s.get_credentials().access_key)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    assert out == ["prod", "ap-southeast-2", KEY_PROD]


def test_region_switch_keeps_profile(files: AwsFiles) -> None:
    m = CredentialsManager()
    m.profile = "dev"
    m.region = "eu-central-1"
    assert boto3.client("s3").meta.region_name == "eu-central-1"
    assert resolved_key(boto3.client("s3")) == KEY_DEV
    assert os.environ["AWS_DEFAULT_REGION"] == "eu-central-1"
    assert m.status == "unverified"


def test_user_region_variable_wins_like_botocore(files: AwsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "sa-east-1")
    m = CredentialsManager()
    m.profile = "prod"
    assert m.region == boto3.Session(profile_name="prod").region_name == "sa-east-1"


def test_clearing_the_selection_restores_the_environment(files: AwsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "sa-east-1")
    m = CredentialsManager()
    m.profile = "dev"
    m.region = "us-east-2"
    assert os.environ["AWS_DEFAULT_REGION"] == "us-east-2"
    m.profile = None
    assert "AWS_PROFILE" not in os.environ
    assert os.environ["AWS_DEFAULT_REGION"] == "sa-east-1"
    assert boto3.DEFAULT_SESSION is None


def test_export_env_off_leaves_environment_alone(files: AwsFiles) -> None:
    m = CredentialsManager(export_env=False)
    m.profile = "prod"
    assert "AWS_PROFILE" not in os.environ
    assert resolved_key(boto3.client("s3")) == KEY_PROD


def test_explicit_files_are_exported_for_other_tools(tmp_path: Path, files: AwsFiles) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "config").write_text(CONFIG)
    (other / "credentials").write_text(CREDENTIALS.replace(KEY_PROD, "AKIADDDDDDDDDDDDDDDD"))
    m = CredentialsManager(config_file=other / "config", credentials_file=other / "credentials")
    m.profile = "prod"
    assert os.environ["AWS_SHARED_CREDENTIALS_FILE"] == str(other / "credentials")
    assert boto3.Session().get_credentials().access_key == "AKIADDDDDDDDDDDDDDDD"


def test_environment_keys_shadowing_is_reported(files: AwsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEEEEEEEEEEEEEEEE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    m = CredentialsManager()
    m.profile = "dev"
    # boto3's explicit-profile session ignores them, AWS_PROFILE-based sessions do not
    assert resolved_key(boto3.client("s3")) == KEY_DEV
    assert boto3.Session().get_credentials().access_key == "AKIAEEEEEEEEEEEEEEEE"
    assert any("AWS_ACCESS_KEY_ID" in w and "'dev'" in w for w in m.warnings)


def test_switch_resets_verification(files: AwsFiles) -> None:
    m = CredentialsManager()
    m.set_trait("identity", Identity("123456789012", "arn:aws:iam::123456789012:user/a", "AIDA"))
    m.set_trait("status", "verified")
    m.profile = "dev"
    assert (m.identity, m.status) == (None, "unverified")


def test_observers_see_one_consistent_switch(files: AwsFiles) -> None:
    m = CredentialsManager()
    seen: list[tuple[str, object]] = []
    m.observe(lambda c: seen.append((c.name, c.new)), names=["profile", "region"])
    m.profile = "prod"
    assert seen == [("region", "ap-southeast-2"), ("profile", "prod")] or seen == [("profile", "prod"), ("region", "ap-southeast-2")]


def test_using_switches_for_a_block_and_restores_even_on_error(files: AwsFiles) -> None:
    m = CredentialsManager()
    m.profile = "dev"
    before = (m.session, os.environ["AWS_PROFILE"], os.environ["AWS_DEFAULT_REGION"])
    with m.using("prod"):
        assert resolved_key(boto3.client("s3")) == KEY_PROD
        assert os.environ["AWS_PROFILE"] == "prod"
    assert (m.profile, m.region) == ("dev", "us-west-2")
    assert (m.session, os.environ["AWS_PROFILE"], os.environ["AWS_DEFAULT_REGION"]) == before
    assert boto3.DEFAULT_SESSION is before[0]
    with pytest.raises(RuntimeError), m.using("prod", region="eu-north-1"):
        assert m.region == "eu-north-1"
        raise RuntimeError("analysis failed")
    assert (m.profile, m.region, boto3.DEFAULT_SESSION) == ("dev", "us-west-2", before[0])


def test_old_clients_keep_old_credentials(files: AwsFiles) -> None:
    m = CredentialsManager()
    m.profile = "dev"
    old = boto3.client("s3")
    m.profile = "prod"
    assert resolved_key(old) == KEY_DEV
    assert resolved_key(boto3.client("s3")) == KEY_PROD


def test_role_profiles_still_resolve_through_botocore(files: AwsFiles) -> None:
    files.config.write_text(CONFIG + "\n[profile analyst]\nrole_arn = arn:aws:iam::222222222222:role/analyst\nsource_profile = dev\n")
    m = CredentialsManager()
    m.profile = "analyst"
    resolver = m.session._session.get_component("credential_provider")
    creds = resolver.load_credentials()
    assert creds.method == "assume-role"  # deferred: no call is made until the keys are used


# ---------------------------------------------------------------- external edits, reload, writes


def test_reload_sees_external_edits_and_keeps_selection(files: AwsFiles) -> None:
    m = CredentialsManager()
    m.profile = "prod"
    files.credentials.write_text(CREDENTIALS + "\n[extra]\naws_access_key_id = AKIAFFFFFFFFFFFFFFFF\naws_secret_access_key = " + SECRET + "\n")
    m.reload()
    assert "extra" in m.profiles and m.profile == "prod"
    m.profile = "extra"
    assert resolved_key(boto3.client("s3")) == "AKIAFFFFFFFFFFFFFFFF"


def test_reload_rebuilds_session_when_the_selected_keys_change(files: AwsFiles) -> None:
    m = CredentialsManager()
    m.profile = "prod"
    files.credentials.write_text(CREDENTIALS.replace(KEY_PROD, "AKIAGGGGGGGGGGGGGGGG"))
    m.reload()
    assert resolved_key(boto3.client("s3")) == "AKIAGGGGGGGGGGGGGGGG"


def test_a_region_nobody_chose_follows_the_file_and_a_chosen_one_stays(files: AwsFiles) -> None:
    m = CredentialsManager()
    m.profile = "prod"
    assert m.region == "ap-southeast-2"
    files.config.write_text(CONFIG.replace("region = ap-southeast-2", "region = ca-central-1"))
    m.reload()  # the profile's own region, changed by another program: followed
    assert m.region == "ca-central-1" == m.session.region_name == boto3.client("s3").meta.region_name
    m.region = "eu-central-1"  # the user's choice
    files.config.write_text(CONFIG.replace("region = ap-southeast-2", "region = sa-east-1"))
    m.reload()
    assert m.region == "eu-central-1" == m.session.region_name


def test_editing_the_selected_profiles_region_moves_the_selection_there(files: AwsFiles) -> None:
    m = CredentialsManager()
    m.profile = "dev"
    m.edit_profile("dev", region="eu-north-1")
    assert m.profile == "dev" and m.region == "eu-north-1" == boto3.client("s3").meta.region_name


def test_aws_default_region_still_wins_after_the_file_changes(files: AwsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "sa-east-1")
    m = CredentialsManager()
    m.profile = "prod"
    files.config.write_text(CONFIG.replace("region = ap-southeast-2", "region = ca-central-1"))
    m.reload()
    assert m.region == "sa-east-1" == boto3.Session(profile_name="prod").region_name


def test_reload_when_selection_disappears(files: AwsFiles) -> None:
    m = CredentialsManager()
    m.profile = "prod"
    files.credentials.write_text(CREDENTIALS.split("[prod]")[0])
    files.config.write_text(CONFIG.split("[profile prod]")[0])
    m.reload()
    assert m.profile == "default"
    assert "'prod' is no longer" in m.message


def test_add_profile_writes_like_aws_configure_and_can_select(files: AwsFiles) -> None:
    m = CredentialsManager()
    info = m.add_profile("sandbox", "AKIAHHHHHHHHHHHHHHHH", SECRET, region="eu-west-3", select=True)
    assert info.kind == "static" and m.profile == "sandbox" and m.region == "eu-west-3"
    assert files.credentials.read_text().endswith(f"\n[sandbox]\naws_access_key_id = AKIAHHHHHHHHHHHHHHHH\naws_secret_access_key = {SECRET}\n")
    assert files.config.read_text().endswith("\n[profile sandbox]\nregion = eu-west-3\n")
    assert files.config.read_text().startswith(CONFIG)
    assert resolved_key(boto3.client("s3")) == "AKIAHHHHHHHHHHHHHHHH"


def test_add_existing_profile_needs_overwrite_and_rotation_drops_stale_token(files: AwsFiles) -> None:
    m = CredentialsManager()
    m.add_profile("temp", "ASIAIIIIIIIIIIIIIIII", SECRET, session_token="FwoGZXIvYXdzEJr//////////token")
    with pytest.raises(ProfileExistsError, match="'temp' already exists"):
        m.add_profile("temp", "AKIAJJJJJJJJJJJJJJJJ", SECRET)
    m.add_profile("temp", "AKIAJJJJJJJJJJJJJJJJ", SECRET, overwrite=True)
    text = files.credentials.read_text()
    assert "aws_session_token" not in text and "AKIAJJJJJJJJJJJJJJJJ" in text
    assert m.profile_info("temp").kind == "static"


def test_bad_input_changes_nothing_on_disk(files: AwsFiles) -> None:
    m = CredentialsManager()
    before = (files.config.read_bytes(), files.credentials.read_bytes())
    for kwargs in (
        {"name": "bad name", "access_key_id": KEY_DEV, "secret_access_key": SECRET},
        {"name": "ok", "access_key_id": "short", "secret_access_key": SECRET},
        {"name": "ok", "access_key_id": KEY_DEV, "secret_access_key": "has space"},
        {"name": "ok", "access_key_id": "ASIAKKKKKKKKKKKKKKKK", "secret_access_key": SECRET},
        {"name": "ok", "access_key_id": KEY_DEV, "secret_access_key": SECRET, "region": "mars-1"},
    ):
        with pytest.raises(ValidationError) as info:
            m.add_profile(**kwargs)
        assert SECRET not in str(info.value) and "has space" not in str(info.value)
    assert (files.config.read_bytes(), files.credentials.read_bytes()) == before


def test_remove_profile_removes_both_sections_only(files: AwsFiles) -> None:
    m = CredentialsManager()
    m.profile = "prod"
    m.remove_profile("prod")
    assert m.profiles == ("default", "dev") and m.profile == "default"
    assert "[profile prod]" not in files.config.read_text() and "[prod]" not in files.credentials.read_text()
    assert files.config.read_text().startswith("# team config\n[default]\nregion = eu-west-1\n")
    with pytest.raises(awswidget.ProfileNotFoundError):
        m.remove_profile("prod")


def test_a_write_never_overwrites_an_edit_made_meanwhile(files: AwsFiles) -> None:
    m = CredentialsManager()
    # Another program (a terminal, another notebook) edits the file after the manager read it.
    files.credentials.write_text(CREDENTIALS + "\n# added in a terminal\n[terminal]\naws_access_key_id = AKIALLLLLLLLLLLLLLLL\naws_secret_access_key = " + SECRET + "\n")
    m.add_profile("notebook", "AKIAMMMMMMMMMMMMMMMM", SECRET)
    text = files.credentials.read_text()
    assert "# added in a terminal\n[terminal]" in text and "[notebook]" in text
    assert {"terminal", "notebook"} <= set(m.profiles)


def test_default_manager_is_shared(files: AwsFiles) -> None:
    assert default_manager() is default_manager()
    assert awswidget.default_manager() is default_manager()


# ---------------------------------------------------------------- verification against a local AWS


@pytest.mark.integration
def test_verify_iam_user_against_local_aws(aws_env: AwsFiles, auth_aws: AuthAws) -> None:
    key = auth_aws.new_key()
    aws_env.write(
        f"[profile analyst]\nregion = us-east-1\nendpoint_url = {auth_aws.endpoint_url}\n",
        f"[analyst]\naws_access_key_id = {key.access_key_id}\naws_secret_access_key = {key.secret_access_key}\n",
    )
    m = CredentialsManager()
    m.profile = "analyst"
    statuses: list[str] = []
    m.observe(lambda c: statuses.append(c.new), names="status")
    identity = m.verify()
    assert statuses == ["verifying", "verified"]
    assert identity == m.identity
    assert (identity.account, identity.arn, identity.principal_kind) == (key.account, key.arn, "IAM user")
    assert key.account in m.message and "analyst" in m.message


@pytest.mark.integration
@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [
        (lambda k: (k.access_key_id, "x" * 40), "secret_access_key", "secret access key is wrong"),
        (lambda k: ("AKIANOTKNOWNANYWHERE", k.secret_access_key), "access_key_id", "does not recognise this access key ID"),
    ],
)
def test_verify_errors_name_the_field(aws_env: AwsFiles, auth_aws: AuthAws, mutate: object, field: str, words: str) -> None:
    key_id, secret = mutate(auth_aws.key)  # type: ignore[operator]
    aws_env.write(
        f"[profile bad]\nendpoint_url = {auth_aws.endpoint_url}\n",
        f"[bad]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n",
    )
    m = CredentialsManager()
    m.profile = "bad"
    with pytest.raises(VerificationError) as info:
        m.verify()
    assert info.value.field == field and words in str(info.value)
    assert m.status == "error" and words in m.message
    assert secret not in str(info.value) and secret not in m.message
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.integration
def test_verify_keys_checks_a_candidate_without_touching_traits(aws_env: AwsFiles, auth_aws: AuthAws) -> None:
    m = CredentialsManager()
    key = auth_aws.key
    identity = m.verify_keys(key.access_key_id, key.secret_access_key, endpoint_url=auth_aws.endpoint_url)
    assert identity.arn == key.arn
    assert (m.identity, m.status) == (None, "unverified")
    with pytest.raises(VerificationError) as info:
        m.verify_keys(key.access_key_id, "y" * 40, endpoint_url=auth_aws.endpoint_url)
    assert info.value.field == "secret_access_key"


@pytest.mark.integration
def test_verify_assumed_role_reaches_another_account(aws_env: AwsFiles, local_aws: object) -> None:
    endpoint = local_aws.endpoint_url  # type: ignore[attr-defined]
    aws_env.write(
        f"[profile base]\nendpoint_url = {endpoint}\nregion = us-east-1\n\n"
        f"[profile analyst]\nrole_arn = arn:aws:iam::222222222222:role/analyst\nsource_profile = base\n"
        f"endpoint_url = {endpoint}\nregion = us-east-1\n",
        f"[base]\naws_access_key_id = {KEY_DEV}\naws_secret_access_key = {SECRET}\n",
    )
    m = CredentialsManager()
    m.profile = "analyst"
    identity = m.verify()
    assert identity.account == "222222222222"
    assert identity.principal_kind == "assumed role"
    assert identity.arn.startswith("arn:aws:sts::222222222222:assumed-role/analyst/")


@pytest.mark.integration
def test_background_verification_does_not_block_and_discards_stale_results(files: AwsFiles, local_aws: object) -> None:
    endpoint = local_aws.endpoint_url  # type: ignore[attr-defined]
    files.config.write_text(CONFIG.replace("region = us-west-2", f"region = us-west-2\nendpoint_url = {endpoint}"))
    m = CredentialsManager()
    m.profile = "dev"
    first = m.verify(block=False)
    assert m.verify(block=False) is first  # one verification per selection
    assert first.result(timeout=30).account == "123456789012"
    assert m.status == "verified"
    # A switch while a verification runs: its result must not be applied to the new selection.
    started, release = threading.Event(), threading.Event()
    real = m._verifier.run

    def slow(generation: int, session: object) -> Identity:
        started.set()
        release.wait(30)
        return real(generation, session)  # type: ignore[arg-type]

    m._verifier.run = slow  # type: ignore[method-assign]
    pending = m.verify(block=False)
    assert started.wait(30)
    m.profile = "prod"
    release.set()
    pending.result(timeout=30)
    assert (m.profile, m.status, m.identity) == ("prod", "unverified", None)


@pytest.mark.integration
def test_unreachable_endpoint_says_where(files: AwsFiles) -> None:
    from awswidget.localaws import free_port

    url = f"http://127.0.0.1:{free_port()}"
    files.config.write_text(CONFIG.replace("region = us-west-2", f"region = us-west-2\nendpoint_url = {url}"))
    m = CredentialsManager()
    m.profile = "dev"
    with pytest.raises(VerificationError, match="Could not reach") as info:
        m.verify()
    assert "127.0.0.1" in str(info.value)


def test_root_credentials_warn(files: AwsFiles) -> None:
    # moto never answers with a root ARN, so this one case stubs STS with botocore's Stubber.
    m = CredentialsManager()
    m.profile = "prod"
    client = m.session.client("sts", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response("get_caller_identity", {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:root", "UserId": "123456789012"})
        m.session.client = lambda *a, **k: client  # type: ignore[method-assign]
        identity = m.verify()
    assert identity.is_root and identity.principal_kind == "root"
    assert any("root credentials" in w and "IAM user" in w for w in m.warnings)


def test_identity_kinds() -> None:
    cases = {
        "arn:aws:iam::1:user/team/alice": ("IAM user", "team/alice"),
        "arn:aws:sts::1:assumed-role/Admin/session": ("assumed role", "Admin/session"),
        "arn:aws:sts::1:federated-user/bob": ("federated user", "bob"),
        "arn:aws:iam::1:root": ("root", "root"),
    }
    for arn, (kind, name) in cases.items():
        identity = Identity("1", arn, "x")
        assert (identity.principal_kind, identity.name) == (kind, name)


def test_get_caller_identity_maps_expired_token() -> None:
    session = boto3.Session(aws_access_key_id=KEY_DEV, aws_secret_access_key=SECRET, aws_session_token="t" * 20, region_name="us-east-1")
    client = session.client("sts")
    with Stubber(client) as stub:
        stub.add_client_error("get_caller_identity", "ExpiredToken", "The security token included in the request is expired")
        session.client = lambda *a, **k: client  # type: ignore[method-assign]
        with pytest.raises(VerificationError) as info:
            get_caller_identity(session)
    assert info.value.field == "session_token" and "expired" in str(info.value)


def test_region_none_means_the_profiles_own_region(files: AwsFiles) -> None:
    m = CredentialsManager()
    m.profile = "prod"
    m.region = "eu-central-1"
    m.region = None
    assert m.region == "ap-southeast-2" == m.session.region_name
    assert boto3.client("s3").meta.region_name == "ap-southeast-2"
