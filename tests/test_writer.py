"""The writer: text in, text out, every untouched byte kept; and every refusal leaves the file alone.

Table tests run each edit through :func:`awswidget.files.update_file` on a real
file, so botocore's re-parse and the self-check run too; the expected output is
written out in full. The manager tests check the ``aws configure`` layout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.configloader
import pytest

from awswidget import files
from awswidget._ini import IniDocument
from awswidget.errors import (
    ConfigFileError,
    FileChangedError,
    ProfileExistsError,
    ValidationError,
    WriteError,
)
from awswidget.manager import CredentialsManager
from tests.helpers import KEY_ID, SECRET, patch_stat_key, sha256

Edit = Callable[[IniDocument], Any]


def _set(header: str, match: Callable[[str], bool] | None = None, **values: str | None) -> Edit:
    return lambda doc: doc.set(header, dict(values), match=match)


def _remove(header: str) -> Edit:
    return lambda doc: doc.remove(lambda h: h == header)


def _profile(name: str) -> Callable[[str], bool]:
    return lambda h: files.config_profile_name(h) == name


# (id, text in, edit, text out)
TABLE: list[tuple[str, str, Edit, str]] = [
    (
        "add-key-to-section",
        "[default]\naws_access_key_id = AKIDOLD\n\n[other]\nx = 1\n",
        _set("default", aws_secret_access_key="s3cr3t"),
        "[default]\naws_access_key_id = AKIDOLD\naws_secret_access_key = s3cr3t\n\n[other]\nx = 1\n",
    ),
    (
        "update-in-place-keeps-comments-and-spacing",
        "# top comment\n[default]\n# the keys\naws_access_key_id   =   AKIDOLD\nregion=us-east-1   \n\n\n[other]  \nx   :   1\n",
        _set("default", aws_access_key_id="AKIDNEW"),
        "# top comment\n[default]\n# the keys\naws_access_key_id = AKIDNEW\nregion=us-east-1   \n\n\n[other]  \nx   :   1\n",
    ),
    (
        "remove-key-and-its-continuation-lines",
        "[t]\naws_access_key_id = A\naws_session_token = part1\n  part2\n  part3\nregion = us-east-1\n",
        _set("t", aws_session_token=None),
        "[t]\naws_access_key_id = A\nregion = us-east-1\n",
    ),
    (
        "remove-missing-key-is-a-no-op",
        "[t]\naws_access_key_id = A\n",
        _set("t", aws_session_token=None),
        "[t]\naws_access_key_id = A\n",
    ),
    (
        "add-section-crlf",
        "[default]\r\nregion = us-east-1\r\n",
        _set("profile dev", region="eu-west-1"),
        "[default]\r\nregion = us-east-1\r\n\r\n[profile dev]\r\nregion = eu-west-1\r\n",
    ),
    (
        "update-crlf-stays-crlf",
        "[default]\r\nregion = us-east-1\r\noutput = json\r\n",
        _set("default", region="eu-west-1", output="text", cli_pager=""),
        "[default]\r\nregion = eu-west-1\r\noutput = text\r\ncli_pager = \r\n",
    ),
    (
        "cr-only-file",
        "[default]\rregion = us-east-1\r",
        _set("default", output="json"),
        "[default]\rregion = us-east-1\routput = json\r",
    ),
    (
        "mixed-endings-new-lines-follow-the-majority",
        "[a]\r\nx = 1\r\ny = 2\n",
        _set("b", z="3"),
        # the separating blank line ends like the line before it; the section's own lines use CRLF
        "[a]\r\nx = 1\r\ny = 2\n\n[b]\r\nz = 3\r\n",
    ),
    (
        "no-final-newline-update-last-key",
        "[default]\nregion = us-east-1",
        _set("default", region="eu-west-1"),
        "[default]\nregion = eu-west-1",
    ),
    (
        "no-final-newline-add-key",
        "[default]\nregion = us-east-1",
        _set("default", output="json"),
        "[default]\nregion = us-east-1\noutput = json",
    ),
    (
        "no-final-newline-add-section",
        "[default]\nregion = us-east-1",
        _set("profile x", region="eu-west-1"),
        "[default]\nregion = us-east-1\n\n[profile x]\nregion = eu-west-1",
    ),
    (
        "empty-file",
        "",
        _set("default", region="us-east-1"),
        "[default]\nregion = us-east-1\n",
    ),
    (
        "comments-only-file",
        "# nothing yet\n",
        _set("default", region="us-east-1"),
        "# nothing yet\n\n[default]\nregion = us-east-1\n",
    ),
    (
        "nested-block-untouched-key-added-after-it",
        "[profile s3]\nregion = us-east-1\ns3 =\n    addressing_style = path\n    max_concurrent_requests = 20\n# after\n[profile b]\nx = 1\n",
        _set("profile s3", _profile("s3"), output="json"),
        "[profile s3]\nregion = us-east-1\ns3 =\n    addressing_style = path\n    max_concurrent_requests = 20\noutput = json\n# after\n[profile b]\nx = 1\n",
    ),
    (
        "nested-block-replaced-whole",
        "[p]\ns3 =\n  addressing_style = path\nregion = us-east-1\n",
        _set("p", s3="v4"),
        "[p]\ns3 = v4\nregion = us-east-1\n",
    ),
    (
        "sso-session-and-services-untouched",
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n\n[services local]\ns3 =\n  endpoint_url = http://127.0.0.1:5000\n\n[profile dev]\nsso_session = corp\n",
        _set("profile dev", _profile("dev"), region="us-west-2"),
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n\n[services local]\ns3 =\n  endpoint_url = http://127.0.0.1:5000\n\n[profile dev]\nsso_session = corp\nregion = us-west-2\n",
    ),
    (
        "unknown-keys-and-sections-kept",
        "[preview]\ncloudsearch = true\n[default]\nmy_tool_setting = 42\ncli_follow_urlparam = false\n",
        _set("default", region="us-east-1"),
        "[preview]\ncloudsearch = true\n[default]\nmy_tool_setting = 42\ncli_follow_urlparam = false\nregion = us-east-1\n",
    ),
    (
        "profile-default-after-default-the-later-one-is-edited",
        "[default]\nregion = us-east-1\n\n[profile default]\nregion = eu-west-1\n",
        _set("default", _profile("default"), region="ap-south-1"),
        "[default]\nregion = us-east-1\n\n[profile default]\nregion = ap-south-1\n",
    ),
    (
        "indented-keys-keep-their-indentation",
        "[a]\n  x = 1\n  y = 2\n",
        _set("a", x="3", z="4"),
        "[a]\n  x = 3\n  y = 2\n  z = 4\n",
    ),
    (
        "tabs-kept",
        "[a]\n\tx\t=\t1\n\ty = 2\n",
        _set("a", y="3"),
        "[a]\n\tx\t=\t1\n\ty = 3\n",
    ),
    (
        "empty-section-before-an-indented-header",
        "[a]\n  [b]\n  x = 1\n",
        _set("a", k="v"),
        "[a]\n  k = v\n  [b]\n  x = 1\n",
    ),
    (
        "remove-middle-section-keeps-neighbours-and-comments",
        "[a]\nx = 1\n\n# about b\n[b]\ny = 2\n# inside b, after its keys\n\n[c]\nz = 3\n",
        _remove("b"),
        "[a]\nx = 1\n\n# about b\n# inside b, after its keys\n\n[c]\nz = 3\n",
    ),
    (
        "remove-section-and-its-separating-blank-lines",
        "[a]\nx = 1\n\n[b]\n# b's own comment\ny = 2\n\n[c]\nz = 3\n",
        _remove("b"),
        "[a]\nx = 1\n\n[c]\nz = 3\n",
    ),
    (
        "remove-last-section-takes-one-blank-line",
        "[a]\nx = 1\n\n[b]\ny = 2\n",
        _remove("b"),
        "[a]\nx = 1\n",
    ),
    (
        "remove-section-then-indented-header-is-unindented",
        "[a]\nx = 1\n[b]\n  y = 2\n  [c]\n  z = 3\n",
        _remove("b"),
        "[a]\nx = 1\n[c]\n  z = 3\n",
    ),
    (
        "value-with-equals-and-colons",
        "[p]\n",
        _set("p", credential_process="/bin/tool --a=b:c --d==e"),
        "[p]\ncredential_process = /bin/tool --a=b:c --d==e\n",
    ),
    (
        "colon-line-replaced",
        "[p]\nregion: us-east-1\n",
        _set("p", region="eu-west-1"),
        "[p]\nregion = eu-west-1\n",
    ),
    (
        "default-section-untouched",
        "[DEFAULT]\noutput = json\n\n[a]\nx = 1\n",
        _set("a", y="2"),
        "[DEFAULT]\noutput = json\n\n[a]\nx = 1\ny = 2\n",
    ),
    (
        "unicode-names-and-values",
        "[café]\nx = 1\n",
        _set("café", note="naïve ☃"),
        "[café]\nx = 1\nnote = naïve ☃\n",
    ),
]


@pytest.mark.parametrize(("text_in", "edit", "text_out"), [t[1:] for t in TABLE], ids=[t[0] for t in TABLE])
def test_writer_table(text_in: str, edit: Edit, text_out: str, tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_bytes(text_in.encode())
    result = files.update_file(path, lambda doc, _sections: edit(doc))
    assert path.read_bytes() == text_out.encode()
    assert result.changed == (text_in != text_out)
    botocore.configloader.raw_config_parse(str(path))  # and botocore reads it


def test_file_created_by_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "new" / ".aws" / "credentials"
    result = files.update_file(path, lambda doc, _s: doc.set("default", {"aws_access_key_id": KEY_ID}))
    assert result.created and result.changed
    assert path.read_text() == f"[default]\naws_access_key_id = {KEY_ID}\n"


# --------------------------------------------------------------------------- the aws configure layout


def _manager(aws_env: Any) -> CredentialsManager:
    return CredentialsManager(export_env=False, install_default=False)


def test_aws_configure_layout(aws_env: Any) -> None:
    m = _manager(aws_env)
    m.add_profile("default", KEY_ID, SECRET, region="us-east-1", output="json")
    m.add_profile("dev", "AKIAI44QH8DHBEXAMPLE", SECRET, region="eu-west-1", endpoint_url="http://127.0.0.1:5000")
    assert aws_env.credentials.read_text() == (
        f"[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n\n"
        f"[dev]\naws_access_key_id = AKIAI44QH8DHBEXAMPLE\naws_secret_access_key = {SECRET}\n"
    )
    assert aws_env.config.read_text() == (
        "[default]\nregion = us-east-1\noutput = json\n\n"
        "[profile dev]\nregion = eu-west-1\nendpoint_url = http://127.0.0.1:5000\n"
    )


def test_keys_only_profile_leaves_the_config_file_alone(aws_env: Any) -> None:
    aws_env.write(config="# mine\n[default]\nregion = us-east-1\n")
    before = sha256(aws_env.config)
    _manager(aws_env).add_profile("keys", KEY_ID, SECRET)
    assert sha256(aws_env.config) == before


def test_overwrite_replaces_keys_and_drops_a_stale_session_token(aws_env: Any) -> None:
    aws_env.write(
        credentials=(
            "# work keys\n[work]\naws_access_key_id = ASIAIOSFODNN7EXAMPLE\naws_secret_access_key = old\n"
            "aws_session_token = STALE-TOKEN\naws_security_token = STALE-LEGACY\nmy_note = keep me\n\n[other]\nx = 1\n"
        )
    )
    m = _manager(aws_env)
    with pytest.raises(ProfileExistsError, match=r"'work' already exists in .*credentials.*overwrite=True"):
        m.add_profile("work", KEY_ID, SECRET)
    m.add_profile("work", KEY_ID, SECRET, overwrite=True)
    assert aws_env.credentials.read_text() == (
        f"# work keys\n[work]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
        "my_note = keep me\n\n[other]\nx = 1\n"
    )
    m.add_profile("work", "ASIAI44QH8DHBEXAMPLE", SECRET, session_token="NEW-TOKEN", overwrite=True)
    creds = botocore.configloader.raw_config_parse(str(aws_env.credentials))["work"]
    assert creds["aws_session_token"] == "NEW-TOKEN" and "aws_security_token" not in creds


def test_existing_profile_in_config_only_is_refused_without_overwrite(aws_env: Any) -> None:
    aws_env.write(config="[profile sso]\nsso_session = corp\n")
    before = sha256(aws_env.config)
    with pytest.raises(ProfileExistsError, match="'sso'"):
        _manager(aws_env).add_profile("sso", KEY_ID, SECRET, region="us-east-1")
    assert sha256(aws_env.config) == before and not aws_env.credentials.exists()


def test_remove_profile_takes_both_sections_only(aws_env: Any) -> None:
    aws_env.write(
        config="[default]\nregion = us-east-1\n\n[profile dev]\nregion = eu-west-1\n\n[sso-session dev]\nsso_region = us-east-1\n",
        credentials=f"[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n\n[dev]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n",
    )
    m = _manager(aws_env)
    m.remove_profile("dev")
    assert aws_env.config.read_text() == "[default]\nregion = us-east-1\n\n[sso-session dev]\nsso_region = us-east-1\n"
    assert aws_env.credentials.read_text() == f"[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
    assert m.profiles == ("default",)


# --------------------------------------------------------------------------- refusals write nothing


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "my profile"}, "profile_name"),
        ({"name": "[evil]"}, "profile_name"),
        ({"name": "a]\n[b"}, "profile_name"),
        ({"name": "x\ny"}, "profile_name"),
        ({"secret_access_key": SECRET[:20] + "\n[inject]\n" + SECRET[20:]}, "secret_access_key"),
        ({"secret_access_key": SECRET[:20] + "\r" + SECRET[20:]}, "secret_access_key"),
        ({"access_key_id": KEY_ID + "\x00"}, "access_key_id"),
        ({"session_token": "tok\nen"}, "session_token"),
        ({"output": "json\n[profile injected]"}, "output"),
        ({"endpoint_url": "http://x\r\ny = 1"}, "endpoint_url"),
        ({"endpoint_url": "http://x\x00"}, "endpoint_url"),
        ({"region": "us-east-1\n[x]"}, "region"),
    ],
)
def test_bad_values_and_names_are_rejected_before_anything_is_written(
    kwargs: dict[str, str], field: str, aws_env: Any
) -> None:
    aws_env.write(config="[default]\nregion = us-east-1\n", credentials=f"[default]\naws_access_key_id = {KEY_ID}\n")
    before = (sha256(aws_env.config), sha256(aws_env.credentials))
    args = {"name": "ok", "access_key_id": KEY_ID, "secret_access_key": SECRET, "region": "us-east-1"} | kwargs
    with pytest.raises(ValidationError) as refused:
        _manager(aws_env).add_profile(**args)
    assert refused.value.field == field
    assert "\n[" not in str(refused.value) and SECRET not in str(refused.value)
    assert (sha256(aws_env.config), sha256(aws_env.credentials)) == before


def test_surrounding_whitespace_of_a_paste_is_stripped_not_written(aws_env: Any) -> None:
    # A trailing newline from a paste is not an attack; inner line breaks are (above).
    _manager(aws_env).add_profile(" pasted\n", KEY_ID + "\n", SECRET + "\r\n", region=" us-east-1\n")
    assert botocore.configloader.raw_config_parse(str(aws_env.credentials)) == {
        "pasted": {"aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET}
    }
    assert aws_env.config.read_text() == "[profile pasted]\nregion = us-east-1\n"


@pytest.mark.parametrize(
    ("header", "values"),
    [
        ("a\nb", {"x": "1"}),
        ("a", {"x\n": "1"}),
        ("a", {"x=y": "1"}),
        ("a", {"[x": "1"}),
        ("a", {"#x": "1"}),
        ("a", {"x": "1\n[b]"}),
        ("a", {"x": "1\r"}),
        ("a", {"x": " padded "}),
    ],
)
def test_the_writer_itself_refuses_structure_breaking_input(header: str, values: dict[str, str], tmp_path: Path) -> None:
    """Defence in depth: even a caller that skipped validation cannot inject lines."""
    path = tmp_path / "credentials"
    path.write_text("[a]\nx = 0\n")
    with pytest.raises(WriteError):
        files.update_file(path, lambda doc, _s: doc.set(header, values))
    assert path.read_text() == "[a]\nx = 0\n"
    assert files.temp_files(str(path)) == []


def test_a_writer_bug_is_caught_by_the_botocore_recheck(tmp_path: Path) -> None:
    """If an edit damaged a section it did not mean to touch, the re-parse refuses the rename."""
    path = tmp_path / "credentials"
    path.write_text("[a]\nx = 0\n\n[b]\ny = 1\n")

    def buggy(doc: IniDocument, _sections: Any) -> None:
        doc.set("a", {"x": "2"})
        doc._lines[-1].text = "y = 666\n"  # an edit gone astray in [b]

    with pytest.raises(WriteError, match=r"self-check failed: untouched section \[b\] changed"):
        files.update_file(path, buggy)
    assert path.read_text() == "[a]\nx = 0\n\n[b]\ny = 1\n"
    assert files.temp_files(str(path)) == []


# --------------------------------------------------------------------------- other programs


def test_external_change_between_read_and_rename_survives(tmp_path: Path) -> None:
    """Another program (the AWS CLI takes no lock) writes while we edit: we start over and keep its change."""
    path = tmp_path / "config"
    path.write_text("[default]\nregion = us-east-1\n")
    calls = []

    def edit(doc: IniDocument, sections: dict[str, Any]) -> None:
        calls.append(sorted(sections))
        if len(calls) == 1:
            with open(path, "a") as f:  # written in place, as `aws configure set` does
                f.write("\n[profile from-cli]\nregion = eu-west-1\n")
        doc.set("profile ours", {"region": "ap-south-1"})

    files.update_file(path, edit)
    assert calls == [["default"], ["default", "profile from-cli"]]
    parsed = botocore.configloader.raw_config_parse(str(path))
    assert parsed["profile from-cli"] == {"region": "eu-west-1"} and parsed["profile ours"] == {"region": "ap-south-1"}


def test_external_change_seen_by_content_when_timestamps_cannot_tell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A same-size edit within one clock tick looks the same to stat(): the bytes are compared too."""
    path = tmp_path / "config"
    path.write_text("[default]\nregion = us-east-1\n")
    patch_stat_key(monkeypatch, lambda st: (st.st_dev, st.st_ino))  # a file system with no usable times
    calls = 0

    def edit(doc: IniDocument, _sections: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            with open(path, "r+") as f:  # same size, same inode
                f.write("[default]\nregion = us-west-2\n")
        doc.set("default", {"output": "json"})

    files.update_file(path, edit)
    assert calls == 2
    assert path.read_text() == "[default]\nregion = us-west-2\noutput = json\n"


def test_a_file_that_never_stops_changing_is_not_clobbered(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("[default]\nregion = us-east-1\n")
    n = 0

    def edit(doc: IniDocument, _sections: Any) -> None:
        nonlocal n
        n += 1
        with open(path, "a") as f:
            f.write(f"\n[profile external{n}]\nregion = eu-west-1\n")
        doc.set("profile ours", {"region": "ap-south-1"})

    with pytest.raises(FileChangedError, match="changed by another program"):
        files.update_file(path, edit, max_attempts=3)
    parsed = botocore.configloader.raw_config_parse(str(path))
    assert set(parsed) == {"default", "profile external1", "profile external2", "profile external3"}
    assert files.temp_files(str(path)) == []


def test_the_lock_is_the_targets_folder_and_excludes_other_processes(tmp_path: Path) -> None:
    """The lock is a flock on the folder of the real file (a symlink's target): no lock file, ever."""
    target = tmp_path / "dotfiles" / "credentials"
    target.parent.mkdir()
    target.write_text("[a]\nx = 1\n")
    link = tmp_path / "credentials"
    link.symlink_to(target)
    child = textwrap.dedent(
        f"""
        import sys
        from awswidget import files
        from awswidget.errors import WriteError
        try:
            files.update_file({str(link)!r}, lambda doc, s: doc.set("a", {{"x": "2"}}), lock_timeout=0.5)
        except WriteError as exc:
            print("refused:", exc)
        else:
            print("wrote")
        """
    )
    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    with files.locked([str(link)]):
        out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, env=env, check=True).stdout
        # The link's own folder is not what is locked: a file beside the link can be written meanwhile.
        files.update_file(tmp_path / "other", lambda doc, s: doc.set("b", {"y": "1"}), lock_timeout=0.5)
    assert out.startswith("refused:") and f"{target.parent}: another program holds the lock" in out
    assert target.read_text() == "[a]\nx = 1\n"
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, env=env, check=True).stdout
    assert out == "wrote\n" and target.read_text() == "[a]\nx = 2\n"
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if not p.is_dir())
    assert left == ["credentials", "dotfiles/credentials", "other"]  # no lock file anywhere


def test_stale_temp_files_are_swept_by_the_next_write(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("[a]\nx = 1\n")
    stale = [tmp_path / f".credentials.{n:012x}{files.TMP_MARK}" for n in range(3)]
    for s in stale:
        s.write_text("[a]\nx = half-writ")
    unrelated = tmp_path / ".config.000000000000.awswidget-tmp"  # another file's temp: not ours to judge here
    unrelated.write_text("x")
    files.update_file(path, lambda doc, _s: doc.set("a", {"x": "2"}))
    assert not any(s.exists() for s in stale) and unrelated.exists()
    assert path.read_text() == "[a]\nx = 2\n"


def test_symlinked_file_is_written_through_and_the_link_kept(aws_env: Any) -> None:
    dotfiles = aws_env.root / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "aws-credentials"
    target.write_text(f"[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n")
    target.chmod(0o600)
    aws_env.credentials.parent.mkdir(mode=0o700, parents=True)
    aws_env.credentials.symlink_to(os.path.relpath(target, aws_env.credentials.parent))
    link_text = os.readlink(aws_env.credentials)
    m = _manager(aws_env)
    m.add_profile("dev", KEY_ID, SECRET)
    assert aws_env.credentials.is_symlink() and os.readlink(aws_env.credentials) == link_text
    assert "[dev]" in target.read_text() and (target.stat().st_mode & 0o777) == 0o600
    m.remove_profile("dev")
    assert aws_env.credentials.is_symlink() and "[dev]" not in target.read_text()
    assert files.temp_files(str(target)) == [] and not list(aws_env.credentials.parent.glob(".credentials.*"))


def test_dangling_symlink_creates_its_target(aws_env: Any) -> None:
    target = aws_env.root / "dotfiles" / "credentials"
    aws_env.credentials.parent.mkdir(mode=0o700, parents=True)
    aws_env.credentials.symlink_to(target)
    _manager(aws_env).add_profile("dev", KEY_ID, SECRET)
    assert aws_env.credentials.is_symlink() and target.read_text().startswith("[dev]\n")
    assert (target.stat().st_mode & 0o777) == 0o600 and (target.parent.stat().st_mode & 0o777) == 0o700


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_not_a_regular_file_is_refused_and_nothing_half_written(kind: str, tmp_path: Path) -> None:
    folder = tmp_path / "aws"
    folder.mkdir()
    path = folder / "credentials"
    if kind == "directory":
        path.mkdir()
    else:
        os.mkfifo(path)
    with pytest.raises(ConfigFileError, match="is a directory" if kind == "directory" else "not a regular file"):
        files.update_file(path, lambda doc, _s: doc.set("a", {"x": "1"}))
    assert sorted(p.name for p in folder.iterdir()) == ["credentials"]  # no temp file, no lock file


def test_a_file_where_the_folder_should_be(tmp_path: Path) -> None:
    (tmp_path / ".aws").write_text("not a folder")
    with pytest.raises(WriteError, match="a file is where this folder should be"):
        files.update_file(tmp_path / ".aws" / "credentials", lambda doc, _s: doc.set("a", {"x": "1"}))
    assert (tmp_path / ".aws").read_text() == "not a folder"


def test_an_unparseable_file_is_never_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    data = b"[a]\nx = 1\n[a]\ny = 2\n"
    path.write_bytes(data)
    with pytest.raises(ConfigFileError, match=r"line 3: section \[a\] appears twice"):
        files.update_file(path, lambda doc, _s: doc.set("b", {"x": "1"}))
    assert path.read_bytes() == data and files.temp_files(str(path)) == []
