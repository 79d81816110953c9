"""Reading the shared files: where they are, what botocore makes of them, what a profile is."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import botocore.configloader
import botocore.session
import pytest

from awswidget import fileread, files
from awswidget.errors import ConfigFileError
from awswidget.profiles import build_profiles, full_config, sorted_names
from tests.helpers import KEY_ID, SECRET, patch_stat_key

# --------------------------------------------------------------------------- locating


def test_locate_follows_the_environment_like_botocore(aws_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert files.locate() == (str(aws_env.config), str(aws_env.credentials))
    monkeypatch.setenv("AWS_DIR", str(aws_env.root / "elsewhere"))
    monkeypatch.setenv("AWS_CONFIG_FILE", "$AWS_DIR/cfg")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "~/creds")
    config, creds = files.locate()
    assert (config, creds) == (str(aws_env.root / "elsewhere" / "cfg"), str(aws_env.root / "creds"))
    # botocore reads the very same files through the same variables.
    Path(config).parent.mkdir()
    Path(config).write_text("[profile from-cfg]\nregion = us-east-1\n")
    Path(creds).write_text(f"[from-creds]\naws_access_key_id = {KEY_ID}\n")
    assert set(botocore.session.Session().available_profiles) == {"from-cfg", "from-creds"}


def test_locate_defaults_and_explicit_paths(aws_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_CONFIG_FILE")
    monkeypatch.delenv("AWS_SHARED_CREDENTIALS_FILE")
    home = os.environ["HOME"]
    assert files.locate() == (f"{home}/.aws/config", f"{home}/.aws/credentials")
    assert files.locate("~/c", Path("/x/k")) == (f"{home}/c", "/x/k")
    monkeypatch.setenv("AWS_CONFIG_FILE", "")  # empty counts as unset, as in botocore
    assert files.locate()[0] == f"{home}/.aws/config"


# --------------------------------------------------------------------------- section names


@pytest.mark.parametrize(
    ("header", "profile"),
    [
        ("default", "default"),
        ("profile dev", "dev"),
        ("profile default", "default"),
        ("profile  two-spaces", "two-spaces"),
        ("profile\ttabbed", "tabbed"),
        ('profile "quoted name"', "quoted name"),
        ("profile café", "café"),
        ("profilex", None),
        ("profile a b", None),
        ("profile", None),
        ('profile "unclosed', None),
        ("Profile dev", None),
        ("Default", None),
        ("DEFAULT", None),
        ("sso-session corp", None),
        ("services local", None),
        ("preview", None),
    ],
)
def test_config_profile_name_is_botocores_mapping(header: str, profile: str | None) -> None:
    assert files.config_profile_name(header) == profile
    mapped = botocore.configloader.build_profile_map({header: {}})["profiles"]
    assert list(mapped) == ([profile] if profile else [])


@pytest.mark.parametrize(("name", "header"), [
    ("default", "default"), ("dev", "profile dev"), ("a.b@c+d-e_f", "profile a.b@c+d-e_f"),
    # Names botocore reads otherwise from "profile <name>" (it splits with shlex) are quoted (review 40, D1/D2).
    ("dev\t", "profile 'dev\t'"), ("dev ", "profile 'dev '"), ("a b", "profile 'a b'"), ("it's", "profile 'it'\"'\"'s'"),
    ('say "hi"', "profile 'say \"hi\"'"), ("back\\slash", "profile 'back\\slash'"),
])
def test_config_header_round_trips(name: str, header: str) -> None:
    assert files.config_header(name) == header
    assert files.config_profile_name(header) == name


def test_no_config_header_names_a_profile_with_a_line_break() -> None:
    from awswidget.errors import ValidationError

    with pytest.raises(ValidationError):
        files.config_header("a\nb")


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("profile dev", "profile dev"),
        ("aws_secret_access_key", "aws_secret_access_key"),
        ("sso-session my-company-production", "sso-session my-company-production"),
        ("wjalrxutnfemi/k7mdeng/bpxrficyexamplekey", None),
        ("fwogzxivyxdzejr//////////weadkuexampletoken", None),
        ("AKIAIOSFODNN7EXAMPLE", None),
        ("x" * 65, None),
        ("tab\there", None),
    ],
)
def test_names_from_a_file_are_shown_only_when_they_cannot_be_a_secret(name: str, shown: str | None) -> None:
    assert files.shown_name(name) == shown


# --------------------------------------------------------------------------- reading


def test_missing_file_reads_as_empty(tmp_path: Path) -> None:
    snap = files.read_file(tmp_path / "nope")
    assert (snap.exists, snap.sections, snap.error) == (False, {}, None)


def test_snapshot_is_botocores_parse_and_never_shows_it(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text(f"[a]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n")
    path.chmod(0o640)
    snap = files.read_file(path)
    assert snap.sections == botocore.configloader.raw_config_parse(str(path))
    assert snap.mode == 0o640 and snap.data == path.read_bytes()
    assert SECRET not in repr(snap) and SECRET not in str(snap) and "sections" not in repr(snap)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"key = SECRETVALUE\n", "line 1: this line is outside any [section]"),
        (b"[a]\nx = 1\n[a]\n", "line 3: section [a] appears twice"),
        (b"[a]\nx = 1\nX = SECRETVALUE\n", "line 3: key 'x' of section [a] appears twice"),
        (b"[a]\nSECRETVALUE\nnope too\n", "line 2: this line is not 'key = value', a [section] or a comment (and 1 more line(s))"),
        (b"[a]\nx = caf\xe9 SECRETVALUE\n", "line 2: the file is not UTF-8 text"),
        (b"\xef\xbb\xbf[a]\nx = SECRETVALUE\n", "line 1: starts with a UTF-8 byte-order mark"),
        (b"[a]\ns3 =\n  ok = 1\n  SECRETVALUE\n", "line 4: a line of an indented (nested) block has no '='"),
        (b"[a]\nx = 1\n[b SECRETVALUE\nx = 2\n", "line 3: this line is not 'key = value'"),
    ],
)
def test_parse_errors_name_file_and_line_never_the_text(text: bytes, message: str, tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_bytes(text)
    error = files.read_file(path).error
    assert isinstance(error, ConfigFileError)
    assert str(error).startswith(f"{path}, {message}")
    assert "SECRETVALUE" not in f"{error} {error!r} {error.args} {error.kwargs}"
    assert error.__cause__ is None and error.__context__ is None and error.__traceback__ is None


@pytest.mark.parametrize("kind", ["directory", "fifo", "loop", "file-in-path"])
def test_read_file_never_raises(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "config"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "loop":
        path.symlink_to(tmp_path / "other")
        (tmp_path / "other").symlink_to(path)
    else:
        path.write_text("a file")
        path = path / "config"
    snap = files.read_file(path)
    assert snap.exists and snap.sections == {} and isinstance(snap.error, ConfigFileError)
    assert str(snap.error).startswith(str(path))


def test_a_file_changing_while_botocore_reads_it_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore opens the file itself: if it changed between our read and botocore's, read both again."""
    path = tmp_path / "config"
    path.write_text("[old]\nx = 1\n")
    real_parse = botocore.configloader.raw_config_parse
    calls = 0

    def parse_racing_a_writer(p: str, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        result = real_parse(p, *args, **kwargs)
        if calls == 1:
            Path(p).write_text("[new]\ny = 2\n")  # lands right after botocore's read
        return result

    monkeypatch.setattr(botocore.configloader, "raw_config_parse", parse_racing_a_writer)
    from awswidget import _fastini

    def unsupported(*_args: Any) -> Any:
        raise _fastini.Unsupported("this test is about botocore's own reading")

    monkeypatch.setattr(_fastini, "parse", unsupported)  # the path taken where the fast reader is not proven
    snap = files.read_file(path)
    assert calls == 2
    assert snap.sections == {"new": {"y": "2"}}
    assert snap.data == b"[new]\ny = 2\n"


def test_cached_read_sees_every_change_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config"
    path.write_text("[a]\nregion = us-east-1\n")
    first = files.read_file_cached(path)
    assert files.read_file_cached(path) is first
    # A same-size, same-inode edit that stat() cannot tell apart (coarse timestamps): the content check can.
    patch_stat_key(monkeypatch, lambda st: (st.st_dev, st.st_ino, st.st_size))
    fileread.forget_cached()
    first = files.read_file_cached(path)
    with open(path, "r+") as f:
        f.write("[a]\nregion = us-west-2\n")
    assert files.read_file_cached(path).sections == {"a": {"region": "us-west-2"}}
    path.unlink()
    assert not files.read_file_cached(path).exists
    path.mkdir()
    assert files.read_file_cached(path).error is not None


def test_the_write_leaves_its_parse_in_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config"
    path.write_text("[a]\nx = 1\n")
    files.update_file(path, lambda doc, _s: doc.set("a", {"y": "2"}))
    from awswidget import _fastini

    parses = []
    real_parse = _fastini.parse
    monkeypatch.setattr(_fastini, "parse", lambda data, p: parses.append(p) or real_parse(data, p))
    assert files.read_file_cached(path).sections == {"a": {"x": "1", "y": "2"}}
    assert parses == []  # served from what the writer's own check read back
    path.write_text("[a]\nx = 3\n")
    assert files.read_file_cached(path).sections == {"a": {"x": "3"}} and parses == [str(path)]


@pytest.mark.parametrize(
    ("mode", "warned"),
    [(0o600, None), (0o400, None), (0o644, "can be read"), (0o640, "can be read"), (0o604, "can be read"), (0o620, "can be changed")],
)
def test_permissive_mode_warning(mode: int, warned: str | None, tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("[a]\n")
    path.chmod(mode)
    warning = files.permissive_mode_warning(str(path))
    if warned is None:
        assert warning is None
    else:
        assert warning is not None and warned in warning and f"{mode:04o}" in warning and f"chmod 600 {path}" in warning


def test_permissive_mode_warning_ignores_what_is_not_a_file(tmp_path: Path) -> None:
    assert files.permissive_mode_warning(str(tmp_path / "missing")) is None
    assert files.permissive_mode_warning(str(tmp_path)) is None


# --------------------------------------------------------------------------- profiles


PAIR_CONFIG = """[default]
region = us-east-1
output = json

[profile static]
region = eu-west-1

[profile role]
role_arn = arn:aws:iam::123456789012:role/Admin
source_profile = static

[profile role-mfa]
role_arn = arn:aws:iam::123456789012:role/Admin
source_profile = static
mfa_serial = arn:aws:iam::123456789012:mfa/alice

[profile web]
role_arn = arn:aws:iam::123456789012:role/Web
web_identity_token_file = /tmp/token

[profile sso]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Dev

[profile legacy-sso]
sso_start_url = https://corp.awsapps.com/start

[profile process]
credential_process = /bin/creds

[profile settings]
region = ap-south-1
endpoint_url = http://127.0.0.1:5000

[profile keys-in-config]
aws_access_key_id = {key}
aws_secret_access_key = {secret}

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
"""
PAIR_CREDENTIALS = """[default]
aws_access_key_id = {key}
aws_secret_access_key = {secret}

[static]
aws_access_key_id = {key}
aws_secret_access_key = {secret}

[temp]
aws_access_key_id = ASIAIOSFODNN7EXAMPLE
aws_secret_access_key = {secret}
aws_session_token = TOKEN-{secret}
"""

KINDS = {
    "default": "static",
    "static": "static",
    "temp": "temporary",
    "role": "role",
    "role-mfa": "role-mfa",
    "web": "web-identity",
    "sso": "sso",
    "legacy-sso": "sso",
    "process": "process",
    "settings": "config-only",
    "keys-in-config": "static",
}


def _pair(aws_env: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    aws_env.write(
        config=PAIR_CONFIG.format(key=KEY_ID, secret=SECRET), credentials=PAIR_CREDENTIALS.format(key=KEY_ID, secret=SECRET)
    )
    return files.read_file(aws_env.config).sections, files.read_file(aws_env.credentials).sections


def test_full_config_is_botocores(aws_env: Any) -> None:
    config, creds = _pair(aws_env)
    ours = full_config(config, creds)
    theirs = botocore.session.Session().full_config
    assert ours["profiles"] == theirs["profiles"]
    assert list(ours["profiles"]) == botocore.session.Session().available_profiles
    assert "corp" in ours["sso_sessions"] and "corp" not in ours["profiles"]


def test_profile_infos_kinds_sources_and_no_secret(aws_env: Any) -> None:
    config, creds = _pair(aws_env)
    infos = build_profiles(config, creds, str(aws_env.config), str(aws_env.credentials))
    assert {name: info.kind for name, info in infos.items()} == KINDS
    assert list(infos) == list(sorted_names(KINDS)) and next(iter(infos)) == "default"
    default = infos["default"]
    assert default.sources == (str(aws_env.config), str(aws_env.credentials))
    assert (default.region, default.output) == ("us-east-1", "json")
    assert infos["temp"].sources == (str(aws_env.credentials),)
    assert infos["settings"].endpoint_url == "http://127.0.0.1:5000"
    assert infos["role-mfa"].mfa_serial == "arn:aws:iam::123456789012:mfa/alice"
    assert infos["static"].access_key_id == "****************MPLE"
    shown = dict((k, v) for k, v, _ in infos["temp"].settings)
    assert shown["aws_secret_access_key"] == shown["aws_session_token"] == "(hidden)"
    for info in infos.values():
        text = f"{info!r} {info} {info.label} {info.settings}"
        assert SECRET not in text and KEY_ID not in text


def test_sorted_names_default_first_then_case_insensitive() -> None:
    assert sorted_names(["b", "default", "A", "a", "_x", "Default"]) == ("default", "_x", "A", "a", "b", "Default")
