"""A corpus of real-world and odd shared files: awswidget reads them exactly as botocore does.

For every file in ``tests/corpus`` (paired with its partner of the same stem, or
with a small good companion file for the other role):

* where botocore can parse both files, the manager's profile list and
  :func:`build_profiles` equal ``botocore.session.Session().available_profiles``
  set-wise, and match the expectation written below, "default" first;
* where botocore cannot parse a file, awswidget names the file and the line,
  never the line's text (the fake secret on the bad line appears in no message,
  repr or chained exception), never crashes, refuses to write that file, leaves
  every byte of it unchanged, and keeps working with the other file.

The special files that cannot live in git (a directory, a FIFO, symlinks, binary
garbage, huge lines) are made by the tests below.
"""

from __future__ import annotations

import os
import random
import threading
import traceback
from pathlib import Path
from typing import Any

import botocore.configloader
import botocore.exceptions
import botocore.session
import pytest

from awswidget import files
from awswidget.errors import ConfigFileError
from awswidget.manager import CredentialsManager
from awswidget.profiles import build_profiles, sorted_names
from tests.helpers import KEY_ID, ROLES, SECRET, corpus_cases, sha256

CASES = corpus_cases()

# What botocore makes of each corpus file on its own (profile names), or where it fails.
GOOD: dict[str, tuple[str, ...]] = {
    "aws-configure-default.config": ("default", "dev"),
    "aws-configure.credentials": ("default", "dev"),
    "colon-delimiter.config": ("colon", "default"),
    "colon-in-credentials.credentials": ("colon",),
    "comments-only.config": (),
    "comments-only.credentials": (),
    "continuation-in-credentials.credentials": ("wrapped",),
    "continuation-lines.config": ("cont", "default"),
    "cr-only-line-endings.config": ("default", "classic-mac"),
    "crlf-line-endings.config": ("default", "windows"),
    "crlf-windows.credentials": ("default", "work"),
    "default-section-uppercase.config": ("inherits",),  # [DEFAULT] is configparser's defaults, not a profile
    "default-section-uppercase.credentials": ("inherits-key-id",),
    "empty-section.config": ("empty", "full"),
    "empty.config": (),
    "empty.credentials": (),
    "equals-in-secret.credentials": ("eq",),
    "equals-in-values.config": ("proc",),
    "indented-section-header.config": ("indented",),
    "inline-comment-in-secret.credentials": ("inline",),
    "inline-comments.config": ("default", "inline"),
    "many-profiles.credentials": tuple(f"p{i:03d}" for i in range(200)),
    "mixed-line-endings.config": ("default", "mixed"),
    "nested-s3-subsections.config": ("s3tuned", "other"),
    "no-final-newline.config": ("default", "last"),
    # [profilex], [profile two words here], [preview] and [plugins] are not profiles; shlex reads the quotes
    "non-profile-sections.config": ("quoted name", "real"),
    "pair-aws-configure-layout.config": ("default", "dev"),
    "pair-aws-configure-layout.credentials": ("default", "dev"),
    "pair-overlap-and-split.config": ("default", "config-only", "both"),
    "pair-overlap-and-split.credentials": ("keys-only", "both", "profile both"),
    "profile-default-and-default.config": ("default",),
    "profile-default.credentials": ("profile default",),  # the prefix means nothing in the credentials file
    "profile-keyword-case.config": ("lower",),  # [Profile x], [PROFILE x] and [Default] are not profiles
    "profile-prefix.credentials": ("profile prefixed", "plain"),
    "role-chain.config": ("default", "admin", "mfa-admin", "ec2", "web", "process"),
    "services-and-sso-sessions-only.config": (),
    "session-token.credentials": ("temp", "legacy"),
    "sso-session-and-services.config": ("default", "sso-dev", "local"),
    # Every section of the credentials file is a profile to botocore, whatever its name.
    "sso-session-in-credentials.credentials": ("sso-session stray", "services stray", "real"),
    "tabs-and-indentation.config": ("default", "tabbed"),
    "tabs.credentials": ("default",),
    "unicode-names.credentials": ("café", "日本"),
    "unicode-profile-names.config": ("café", "日本語", "emoji-🚀"),
    "value-without-text.config": ("default",),
    "whitespace-only.config": (),
}

# file -> (line awswidget reports, awswidget can repair it)
BAD: dict[str, tuple[int | None, bool]] = {
    "bad-line-secret.config": (3, False),
    "duplicate-key-torn-write.credentials": (4, True),
    "duplicate-key.config": (5, True),
    "duplicate-section-torn-write.credentials": (8, True),
    "duplicate-section.config": (8, True),
    "latin1-encoded.config": (4, False),
    "many-bad-lines.config": (3, False),
    "nested-block-without-equals.config": (5, False),
    "no-header.credentials": (1, False),
    "no-section-header.config": (1, False),
    "secret-on-bad-line.credentials": (3, False),
    "token-pasted-twice.credentials": (5, True),
    # botocore reports line 4 (a key now repeated in [default]); the unclosed header on line 3 is the cause
    "unclosed-section-header.config": (3, False),
    "utf8-bom-windows.credentials": (1, True),
    "utf8-bom.config": (1, True),
}

# Files whose botocore/configparser error quotes the secret: the negative control for the leak checks.
BOTOCORE_QUOTES_SECRET = {
    "bad-line-secret.config",
    "many-bad-lines.config",
    "no-header.credentials",
    "no-section-header.config",
    "secret-on-bad-line.credentials",
    "token-pasted-twice.credentials",
}

COMPANION = {
    "config": ("[profile zz-companion]\nregion = eu-west-1\n", ("zz-companion",)),
    "credentials": (
        f"[zz-companion-keys]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n",
        ("zz-companion-keys",),
    ),
}
MARK = "fakesecret"  # every fake secret in the corpus contains it (any case)


def _botocore_profiles() -> list[str]:
    return botocore.session.Session().available_profiles


def _manager(aws_env: Any) -> CredentialsManager:
    return CredentialsManager(
        config_file=str(aws_env.config), credentials_file=str(aws_env.credentials), export_env=False, install_default=False
    )


def _texts_of(exc: BaseException) -> list[str]:
    """Everything an exception can print: str, repr, args, kwargs and the whole chain."""
    texts = ["".join(traceback.format_exception(exc))]
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts += [str(current), repr(current), repr(current.args), repr(getattr(current, "kwargs", None))]
        current = current.__cause__ or current.__context__
    return texts


def assert_secret_free(*things: Any) -> None:
    for thing in things:
        texts = _texts_of(thing) if isinstance(thing, BaseException) else [str(thing), repr(thing)]
        for text in texts:
            assert MARK not in text.lower(), text


def _install(stem: str, aws_env: Any) -> dict[str, Path]:
    """Copy the case into the isolated shared files (a companion for a missing role)."""
    aws_env.config.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    paths = {"config": aws_env.config, "credentials": aws_env.credentials}
    for role in ROLES:
        source = CASES[stem].get(role)
        paths[role].write_bytes(source.read_bytes() if source else COMPANION[role][0].encode())
    return paths


def test_corpus_is_large_and_every_file_has_an_expectation() -> None:
    names = {path.name for case in CASES.values() for path in case.values()}
    assert len(names) >= 30
    assert names == set(GOOD) | set(BAD)
    assert not set(GOOD) & set(BAD)


@pytest.mark.parametrize("stem", sorted(CASES))
def test_corpus_case(stem: str, aws_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _install(stem, aws_env)
    before = {role: sha256(path) for role, path in paths.items()}
    broken = {role: BAD[CASES[stem][role].name] for role in ROLES if role in CASES[stem] and CASES[stem][role].name in BAD}
    expected: set[str] = set()
    for role in ROLES:
        source = CASES[stem].get(role)
        if source is None:
            expected |= set(COMPANION[role][1])
        elif source.name in GOOD:
            expected |= set(GOOD[source.name])

    if broken:
        with pytest.raises(botocore.exceptions.ConfigParseError):
            _botocore_profiles()
        # What botocore reads with the broken file out of the way is what awswidget must still offer.
        for role in broken:
            monkeypatch.setenv("AWS_CONFIG_FILE" if role == "config" else "AWS_SHARED_CREDENTIALS_FILE", str(aws_env.root / "absent"))
    reference = _botocore_profiles()
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws_env.config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws_env.credentials))
    assert set(reference) == expected

    m = _manager(aws_env)
    assert set(m.profiles) == expected
    assert m.profiles == sorted_names(expected)
    if "default" in expected:
        assert m.profiles[0] == "default"
    config, creds = files.read_file(paths["config"]), files.read_file(paths["credentials"])
    assert tuple(build_profiles(config.sections, creds.sections)) == m.profiles

    for role, path in paths.items():
        snap = files.read_file(path)
        if role not in broken:
            assert snap.error is None
            continue
        line, _ = broken[role]
        error = snap.error
        assert isinstance(error, ConfigFileError)
        assert error.path == str(path) and error.lineno == line
        assert str(error).startswith(f"{path}, line {line}: ")
        assert error.__cause__ is None and error.__context__ is None
        assert any(message.startswith(str(path)) for message in m.file_errors)
        assert_secret_free(error, *m.file_errors, m.message, *m.warnings, m)

    if broken:
        # Nothing may write to a file that cannot be parsed; the refusal names it, without the secret.
        with pytest.raises(ConfigFileError) as refused:
            m.add_profile("added", KEY_ID, SECRET, region="us-east-1")
        assert_secret_free(refused.value)
        with pytest.raises(ConfigFileError):
            m.remove_profile(next(iter(expected)) if expected else "zz-companion")
        if "credentials" not in broken:
            # Keys go to the credentials file only: that still works while the config file is broken.
            m.add_profile("added-keys", KEY_ID, SECRET)
            assert "added-keys" in m.profiles
            before["credentials"] = sha256(paths["credentials"])
    for role, path in paths.items():
        assert sha256(path) == before[role], f"{role} file changed"


@pytest.mark.parametrize("name", sorted(BOTOCORE_QUOTES_SECRET))
def test_negative_control_botocore_errors_do_quote_the_secret(name: str, tmp_path: Path) -> None:
    """The leak check above has teeth: botocore's own error for these files carries the fake secret."""
    path = tmp_path / name
    stem, _, role = name.rpartition(".")
    path.write_bytes(CASES[stem][role].read_bytes())
    with pytest.raises(botocore.exceptions.ConfigParseError) as raw:
        botocore.configloader.raw_config_parse(str(path))
    with pytest.raises(AssertionError):
        assert_secret_free(raw.value.kwargs["error"])
    assert_secret_free(files.read_file(path).error)


# --------------------------------------------------------------------------- files that cannot live in git


def _agree_and_report(aws_env: Any, role: str, reason: str) -> CredentialsManager:
    """The odd file reads as absent to botocore; awswidget says why, and offers the other file's profiles."""
    other = "credentials" if role == "config" else "config"
    getattr(aws_env, other).write_text(COMPANION[other][0])
    assert set(_botocore_profiles()) == set(COMPANION[other][1])
    m = _manager(aws_env)
    assert set(m.profiles) == set(COMPANION[other][1])
    path = str(getattr(aws_env, role))
    assert any(message.startswith(path) and reason in message for message in m.file_errors), m.file_errors
    return m


@pytest.mark.parametrize("role", ROLES)
def test_directory_where_the_file_should_be(role: str, aws_env: Any) -> None:
    getattr(aws_env, role).mkdir(parents=True)
    m = _agree_and_report(aws_env, role, "is a directory")
    with pytest.raises(ConfigFileError, match="is a directory"):
        m.add_profile("added", KEY_ID, SECRET, region="us-east-1")
    assert getattr(aws_env, role).is_dir() and not any(getattr(aws_env, role).iterdir())


def _bounded(fn: Any, timeout: float = 20.0) -> Any:
    """Run ``fn`` in a thread; fail (instead of hanging the run) if it blocks."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # handed to the test thread below
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "blocked (opened the FIFO?)"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.mark.parametrize("role", ROLES)
def test_fifo_is_refused_without_being_opened(role: str, aws_env: Any) -> None:
    path = getattr(aws_env, role)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.mkfifo(path)
    snap = _bounded(lambda: files.read_file(path))
    assert snap.error is not None and "not a regular file" in snap.error.reason and snap.sections == {}
    m = _bounded(lambda: _agree_and_report(aws_env, role, "not a regular file"))
    with pytest.raises(ConfigFileError, match="not a regular file"):
        _bounded(lambda: files.update_file(path, lambda doc, _s: doc.set("x", {"region": "us-east-1"})))
    with pytest.raises(ConfigFileError):
        _bounded(lambda: m.add_profile("added", KEY_ID, SECRET, region="us-east-1"))
    assert path.is_fifo()


@pytest.mark.parametrize("role", ROLES)
def test_symlink_reads_as_its_target(role: str, aws_env: Any) -> None:
    source = CASES["pair-aws-configure-layout"][role]
    target = aws_env.root / "dotfiles" / f"aws-{role}"
    target.parent.mkdir()
    target.write_bytes(source.read_bytes())
    link = getattr(aws_env, role)
    link.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    link.symlink_to(target)
    other = "credentials" if role == "config" else "config"
    getattr(aws_env, other).write_text(COMPANION[other][0])
    expected = set(GOOD[source.name]) | set(COMPANION[other][1])
    assert set(_botocore_profiles()) == expected
    assert set(_manager(aws_env).profiles) == expected


@pytest.mark.parametrize("role", ROLES)
def test_symlink_loop_and_dangling_link(role: str, aws_env: Any) -> None:
    link = getattr(aws_env, role)
    link.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    link.symlink_to(aws_env.root / "nowhere")
    other = "credentials" if role == "config" else "config"
    getattr(aws_env, other).write_text(COMPANION[other][0])
    # A dangling link is a missing file, to botocore and to us.
    assert not files.read_file(link).exists
    assert set(_manager(aws_env).profiles) == set(COMPANION[other][1])
    link.unlink()
    loop = aws_env.root / "loop"
    loop.symlink_to(link)
    link.symlink_to(loop)
    _agree_and_report(aws_env, role, "cannot be reached")


@pytest.mark.parametrize("role", ROLES)
def test_binary_garbage(role: str, aws_env: Any) -> None:
    rng = random.Random(20240601)
    data = b"[default]\nregion = us-east-1\n" + bytes(rng.randrange(256) for _ in range(4096))
    with pytest.raises(UnicodeDecodeError) as bad:
        data.decode("utf-8")
    path = getattr(aws_env, role)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_bytes(data)
    other = "credentials" if role == "config" else "config"
    getattr(aws_env, other).write_text(COMPANION[other][0])
    with pytest.raises(botocore.exceptions.ConfigParseError):
        _botocore_profiles()
    m = _manager(aws_env)
    assert set(m.profiles) == set(COMPANION[other][1])
    error = files.read_file(path).error
    assert error is not None and "not UTF-8" in error.reason
    assert error.lineno == data.count(b"\n", 0, bad.value.start) + 1
    with pytest.raises(ConfigFileError):
        m.add_profile("added", KEY_ID, SECRET, region="us-east-1")
    assert path.read_bytes() == data


def test_huge_lines(aws_env: Any) -> None:
    huge_value = "x" * 2_000_000
    huge_name = "p" + "n" * 100_000
    aws_env.write(
        config=f"[default]\nregion = us-east-1\nhuge_setting = {huge_value}\n\n[profile {huge_name}]\nregion = eu-west-1\n",
        credentials=f"[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n",
    )
    expected = {"default", huge_name}
    assert set(_botocore_profiles()) == expected
    m = _manager(aws_env)
    assert set(m.profiles) == expected
    before = aws_env.config.read_bytes()
    m.add_profile("next", KEY_ID, SECRET, region="us-east-1")
    after = aws_env.config.read_bytes()
    assert after.startswith(before) and after[len(before) :] == b"\n[profile next]\nregion = us-east-1\n"
    assert set(_botocore_profiles()) == expected | {"next"}


# --------------------------------------------------------------------------- writing to every good case

GOOD_STEMS = sorted(stem for stem, case in CASES.items() if all(p.name in GOOD for p in case.values()))


@pytest.mark.parametrize("stem", GOOD_STEMS)
def test_add_then_remove_keeps_every_byte(stem: str, aws_env: Any) -> None:
    """Adding a profile appends; removing it restores the files byte for byte; botocore agrees throughout."""
    paths = _install(stem, aws_env)
    originals = {role: path.read_bytes() for role, path in paths.items()}
    reference = botocore.session.Session().full_config["profiles"]
    m = _manager(aws_env)
    m.add_profile("zz-added", KEY_ID, SECRET, region="us-west-2", output="json")
    for role, path in paths.items():
        data = originals[role]
        if data and not data.endswith((b"\n", b"\r")):
            data += b"\r" if b"\r" in data and b"\n" not in data else b"\n"
        assert path.read_bytes().startswith(data), role
    after = botocore.session.Session().full_config["profiles"]
    assert after.pop("zz-added") == {
        "region": "us-west-2",
        "output": "json",
        "aws_access_key_id": KEY_ID,
        "aws_secret_access_key": SECRET,
    }
    assert after == reference
    m.remove_profile("zz-added")
    for role, path in paths.items():
        # Every byte, a missing final newline included (it is taken back off with the removed section).
        assert path.read_bytes() == originals[role], role
    assert botocore.session.Session().full_config["profiles"] == reference


def test_corpus_figures(aws_env: Any) -> None:
    """One pass over every corpus file in both roles: no crash, no byte changed by reading or a refused write."""
    crashes, changed, unreadable, checked = 0, 0, 0, 0
    for stem, case in sorted(CASES.items()):
        for role, source in case.items():
            paths = _install(stem, aws_env)
            before = sha256(paths[role])
            try:
                m = _manager(aws_env)
                if source.name in BAD:
                    unreadable += 1
                    with pytest.raises(ConfigFileError):
                        m.add_profile("added", KEY_ID, SECRET, region="us-east-1")
            except Exception:  # counted: the assertion below reports it
                crashes += 1
            changed += sha256(paths[role]) != before
            checked += 1
    print(f"\ncorpus: {checked} files ({checked - unreadable} readable, {unreadable} rejected by botocore), {crashes} crashes, {changed} files changed")
    assert checked >= 30 and crashes == 0 and changed == 0
