"""``%load_ext awswidget`` and ``%aws``, in a real IPython InteractiveShell (no frontend)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.completer import provisionalcompleter
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from traitlets.config import Config

from awswidget import default_manager
from awswidget.localaws import LocalAws

from .conftest import AwsFiles

KEY = "AKIAMAGICSTEST000001"
SECRET = "magics-test-secret-" + "m" * 21


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    """A fresh InteractiveShell with the extension loaded; cleared afterwards."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    InteractiveShell.clear_instance()
    ip = InteractiveShell.instance(config=config)
    ip.run_line_magic("load_ext", "awswidget")
    yield ip
    InteractiveShell.clear_instance()


@pytest.fixture
def profiles(aws_env: AwsFiles, local_aws: LocalAws) -> str:
    """``default`` (keys), ``beta`` (a role into a fresh moto account) and ``config-only``; returns the account."""
    account = str(random.randrange(10**11, 10**12))
    endpoint = f"endpoint_url = {local_aws.endpoint_url}\n"
    aws_env.write(
        f"[default]\nregion = eu-west-1\n{endpoint}"
        f"[profile beta]\nrole_arn = arn:aws:iam::{account}:role/reader\nsource_profile = default\nregion = us-west-2\n{endpoint}"
        f"[profile config-only]\n{endpoint}",
        f"[default]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n",
    )
    return account


def aws(shell: InteractiveShell, line: str, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    shell.run_line_magic("aws", line)
    captured = capsys.readouterr()
    return captured.out, captured.err


def one_line_error(err: str) -> str:
    assert err.startswith("%aws: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def test_load_ext_registers_the_magic(shell: InteractiveShell) -> None:
    assert "aws" in shell.magics_manager.magics["line"]


def test_switch_profile_and_region(shell: InteractiveShell, profiles: str, capsys: pytest.CaptureFixture[str]) -> None:
    m = default_manager()
    assert m.profile == "default"
    out, err = aws(shell, "beta", capsys)
    assert (m.profile, m.region) == ("beta", "us-west-2")
    assert out == m.message + "\n" and "beta" in out
    out, err = aws(shell, "default ap-south-1", capsys)
    assert (m.profile, m.region) == ("default", "ap-south-1")
    assert "ap-south-1" in out and err == ""


def test_unknown_profile_is_one_line_and_changes_nothing(shell: InteractiveShell, profiles: str, capsys: pytest.CaptureFixture[str]) -> None:
    out, err = aws(shell, "nosuch", capsys)
    assert "nosuch" in one_line_error(err) and "known profiles" in err
    assert out == "" and default_manager().profile == "default"


def test_bad_region_is_refused_before_switching(shell: InteractiveShell, profiles: str, capsys: pytest.CaptureFixture[str]) -> None:
    _out, err = aws(shell, "beta moon-1", capsys)
    assert "moon-1" in one_line_error(err)
    assert default_manager().profile == "default"


def test_usage_error(shell: InteractiveShell, profiles: str, capsys: pytest.CaptureFixture[str]) -> None:
    for line in ("a b c", "list x", "whoami now"):
        _out, err = aws(shell, line, capsys)
        assert "usage: %aws" in one_line_error(err), line
    _out, err = aws(shell, "'unclosed", capsys)
    one_line_error(err)


def test_list_shows_kinds_and_regions(shell: InteractiveShell, profiles: str, capsys: pytest.CaptureFixture[str]) -> None:
    aws(shell, "beta", capsys)
    out, err = aws(shell, "list", capsys)
    lines = [line.split() for line in out.splitlines()]
    assert lines[0] == ["PROFILE", "KIND", "REGION"]
    assert lines[1:] == [
        ["default", "keys", "eu-west-1"],
        ["*", "beta", "role", "us-west-2"],
        ["config-only", "settings", "only", "-"],
    ]
    assert err == ""


def test_list_without_profiles_says_so(shell: InteractiveShell, aws_env: AwsFiles, capsys: pytest.CaptureFixture[str]) -> None:
    out, _err = aws(shell, "list", capsys)
    assert out.startswith("No AWS profile yet")


@pytest.mark.integration
def test_whoami_prints_the_verified_identity(shell: InteractiveShell, profiles: str, capsys: pytest.CaptureFixture[str]) -> None:
    aws(shell, "beta", capsys)
    out, err = aws(shell, "whoami", capsys)
    arn, summary = out.splitlines()
    assert arn.startswith(f"arn:aws:sts::{profiles}:assumed-role/reader/")
    assert summary.startswith(f"account {profiles} · assumed role reader/") and summary.endswith("· profile beta · region us-west-2")
    assert default_manager().identity is not None and default_manager().identity.arn == arn
    assert SECRET not in out + err


@pytest.mark.integration
def test_whoami_failure_is_one_line(shell: InteractiveShell, profiles: str, capsys: pytest.CaptureFixture[str]) -> None:
    aws(shell, "config-only", capsys)  # no credentials at all
    out, err = aws(shell, "whoami", capsys)
    assert "No credentials" in one_line_error(err) and out == ""


def test_bare_magic_displays_the_picker(shell: InteractiveShell, profiles: str) -> None:
    with capture_output() as captured:
        result = shell.run_line_magic("aws", "")
    assert result is None
    (output,) = captured.outputs
    assert "application/vnd.jupyter.widget-view+json" in output.data
    assert output.data["text/plain"].startswith("AWS: ")


def completions(shell: InteractiveShell, line: str) -> list[str]:
    """What Tab offers at the end of ``line`` (the API ipykernel answers complete_request with)."""
    with provisionalcompleter():  # as ipykernel does
        return [c.text for c in shell.Completer.completions(line, len(line))]


def test_tab_completes_profiles_and_regions(shell: InteractiveShell, profiles: str) -> None:
    assert {"default", "beta", "config-only", "list", "whoami"} <= set(completions(shell, "%aws "))
    assert completions(shell, "%aws b") == ["beta"]
    assert completions(shell, "%aws conf") == ["config-only"]
    regions = completions(shell, "%aws beta us-we")
    assert {"us-west-1", "us-west-2"} <= set(regions) and all(r.startswith("us-we") for r in regions)
    assert "beta" not in completions(shell, "%aws whoami ")


def test_switch_warns_when_environment_keys_shadow_the_profile(
    shell: InteractiveShell, profiles: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    out, err = aws(shell, "beta", capsys)
    assert default_manager().profile == "beta" and "beta" in out
    assert err.startswith("warning: AWS_ACCESS_KEY_ID") and "Traceback" not in err
