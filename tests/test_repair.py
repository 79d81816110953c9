"""Repair of files botocore rejects (BOM, repeated section, repeated key): explicit, backed up, safe.

Run over the whole corpus: only the fixable breakages get a plan; the plan shows
what changes with key values masked; applying it saves a byte-exact backup (0600)
next to the file, then writes through the locked atomic writer; the result reads,
through botocore, exactly as a lenient INI reader (last occurrence wins) read the
original.
"""

from __future__ import annotations

import configparser
import io
import os
import stat
from pathlib import Path
from typing import Any

import botocore.configloader
import pytest

from awswidget import files, repair
from awswidget.errors import ConfigFileError, WriteError
from awswidget.manager import CredentialsManager
from tests.helpers import KEY_ID, SECRET, corpus_cases, sha256
from tests.test_corpus import BAD, MARK

CORPUS = {path.name: path for case in corpus_cases().values() for path in case.values()}
REPAIRABLE = sorted(name for name, (_, fixable) in BAD.items() if fixable)


def _lenient(text: str) -> dict[str, dict[str, str]]:
    """How a non-strict configparser (and botocore on Python 2) reads a file: the last occurrence wins."""
    parser = configparser.RawConfigParser(strict=False)
    parser.read_file(io.StringIO(text, newline=None))
    return {s: {k: parser.get(s, k) for k in parser.options(s)} for s in parser.sections()}


def _copy(name: str, tmp_path: Path) -> Path:
    (tmp_path / "aws").mkdir()
    path = tmp_path / "aws" / name
    path.write_bytes(CORPUS[name].read_bytes())
    path.chmod(0o644)
    return path


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_plan_only_for_the_fixable_breakages_and_planning_writes_nothing(name: str, tmp_path: Path) -> None:
    path = _copy(name, tmp_path)
    before = sha256(path)
    plan = repair.plan_repair(path)
    assert (plan is not None) == (name in REPAIRABLE)
    assert sha256(path) == before and sorted(p.name for p in path.parent.iterdir()) == [name]


@pytest.mark.parametrize("name", REPAIRABLE)
def test_repair_of_the_corpus(name: str, tmp_path: Path) -> None:
    path = _copy(name, tmp_path)
    original = path.read_bytes()
    plan = repair.plan_repair(path)
    assert plan is not None and plan.description
    # What the user is shown never holds a key: description, diff, str and repr.
    shown = f"{plan} {plan!r} {plan.description} {plan.diff}"
    assert MARK not in shown.lower() and SECRET not in shown
    assert plan.diff.startswith(f"--- {path} (now)\n+++ {path} (repaired)\n")
    assert MARK in plan.new_data.decode().lower() or SECRET in plan.new_data.decode()  # the negative control

    backup = repair.apply_repair(plan)
    assert os.path.dirname(backup) == str(path.parent) and os.path.basename(backup).startswith(f"{name}{repair.BACKUP_MARK}")
    assert Path(backup).read_bytes() == original
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600  # a backup of keys is private, whatever the original's mode
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # the repaired file keeps its own mode
    text = original.decode("utf-8").removeprefix("\ufeff")
    repaired = path.read_bytes().decode("utf-8")
    assert botocore.configloader.raw_config_parse(str(path)) == _lenient(text)
    assert files.read_file(path).error is None and repair.plan_repair(path) is None
    # Nothing is invented: every repaired line is a line of the original.
    assert set(repaired.splitlines()) <= set(text.splitlines())
    assert files.temp_files(str(path)) == []


@pytest.mark.parametrize(
    ("text", "described", "result"),
    [
        (
            "\ufeff[default]\r\nregion = us-east-1\r\n",
            ["Remove the UTF-8 byte-order mark"],
            "[default]\r\nregion = us-east-1\r\n",
        ),
        (
            "[a]\nx = 1\ny = 2\n\n# about b\n[b]\nz = 3\n[a]\nx = 9\n",
            ["Section [a] appears 2 times (lines 1, 8): merge them into the last one (line 8)", "Key 'x' of [a] is set 2 times (lines 2, 9)"],
            "\n# about b\n[b]\nz = 3\n[a]\nx = 9\ny = 2\n",
        ),
        (
            "[a]\nregion = us-east-1\noutput = json\nregion = eu-west-1\n",
            ["Key 'region' of [a] is set 2 times (lines 2, 4): keep the last one (line 4)"],
            "[a]\noutput = json\nregion = eu-west-1\n",
        ),
        (
            "[a]\ns3 =\n  addressing_style = path\n[b]\nx = 1\n[a]\nregion = us-east-1\n",
            ["Section [a] appears 2 times"],
            "[b]\nx = 1\n[a]\nregion = us-east-1\ns3 =\n  addressing_style = path\n",
        ),
    ],
)
def test_repair_table(text: str, described: list[str], result: str, tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_bytes(text.encode())
    plan = repair.plan_repair(path)
    assert plan is not None
    for sentence, expected in zip(plan.description, described, strict=False):
        assert sentence.startswith(expected), sentence
    repair.apply_repair(plan)
    assert path.read_bytes() == result.encode()


def test_the_diff_masks_every_key_like_value(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text(
        f"[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = OLD{SECRET}\n"
        f"# aws_secret_access_key = COMMENTED{SECRET}\naws_session_token = IQoJb3JpZ2luX2VjEJr//////////wEaCX\n"
        f"aws_secret_access_key = {SECRET}\n"
    )
    plan = repair.plan_repair(path)
    assert plan is not None
    assert "aws_secret_access_key = ****************EKEY" in plan.diff
    assert "aws_access_key_id = ****************MPLE" in plan.diff
    for value in (SECRET, KEY_ID, "IQoJb3JpZ2luX2VjEJr", "COMMENTED", "OLDwJalr"):
        assert value not in plan.diff


def test_a_file_changed_after_planning_is_not_repaired(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("[a]\nx = 1\n[a]\nx = 2\n")
    plan = repair.plan_repair(path)
    assert plan is not None
    path.write_text("[a]\nx = 1\n[a]\nx = 3\n")  # someone edited it meanwhile
    with pytest.raises(WriteError, match="changed since the repair was planned"):
        repair.apply_repair(plan)
    assert path.read_text() == "[a]\nx = 1\n[a]\nx = 3\n"
    assert not list(tmp_path.glob(f"*{repair.BACKUP_MARK}*"))


def test_repair_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    target = tmp_path / "dotfiles" / "credentials"
    target.parent.mkdir()
    target.write_bytes(b"\xef\xbb\xbf[default]\naws_access_key_id = " + KEY_ID.encode() + b"\n")
    link = tmp_path / "credentials"
    link.symlink_to(target)
    plan = repair.plan_repair(link)
    assert plan is not None
    backup = repair.apply_repair(plan)
    assert link.is_symlink() and target.read_text() == f"[default]\naws_access_key_id = {KEY_ID}\n"
    assert os.path.dirname(backup) == str(tmp_path)  # next to the file the user knows


def test_two_repairs_in_the_same_second_keep_both_backups(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("[a]\nx = 1\nx = 2\n")
    first = repair.apply_repair(repair.plan_repair(path), clock=lambda: 1_700_000_000.0)  # type: ignore[arg-type]
    path.write_text("[a]\ny = 1\ny = 2\n")
    second = repair.apply_repair(repair.plan_repair(path), clock=lambda: 1_700_000_000.0)  # type: ignore[arg-type]
    assert first != second and Path(first).read_text() == "[a]\nx = 1\nx = 2\n" and Path(second).read_text() == "[a]\ny = 1\ny = 2\n"


@pytest.mark.parametrize(
    "text",
    [
        "region = us-east-1\n[default]\n",  # no header: not guessable
        "[a]\nx = 1\nnot a line\n[a]\ny = 2\n",  # a duplicate, and a line that cannot be read
        "[a]\nx = 1\n  more\n[a]\n    y = 2\n",  # moved under [a]'s deeper keys, "  more" would not continue x
    ],
)
def test_what_cannot_be_repaired_safely_gets_no_plan(text: str, tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(text)
    assert repair.plan_repair(path) is None
    assert path.read_text() == text


def test_the_manager_repairs_only_when_asked(aws_env: Any) -> None:
    aws_env.write(config="[default]\nregion = us-east-1\n", credentials=f"[default]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n[dev]\naws_access_key_id = {KEY_ID}\n[dev]\naws_secret_access_key = {SECRET}\n")
    broken = aws_env.credentials.read_bytes()
    m = CredentialsManager(export_env=False, install_default=False)
    assert m.profiles == ("default",) and m.file_errors  # reading never repairs
    assert aws_env.credentials.read_bytes() == broken
    plan = m.plan_repair(str(aws_env.credentials))
    assert plan is not None and "Section [dev] appears 2 times" in plan.description[0]
    backup = m.repair_file(str(aws_env.credentials), plan)
    assert Path(backup).read_bytes() == broken
    assert m.profiles == ("default", "dev") and not m.file_errors
    with pytest.raises(ConfigFileError, match="no repair"):
        m.repair_file(str(aws_env.credentials))
    with pytest.raises(ValueError, match="not one of this manager's shared files"):
        m.plan_repair(str(aws_env.root / "elsewhere"))
