"""Leak checks shared by the widget and security tests: every place a secret could show up, as text to search.

Each ``*_text`` function renders one channel (log records, widget state, an exception with its whole chain, a
saved notebook, ...) as plain text; :func:`leaks` says which of the given secrets occur in which channel.
The tests prove every check with a negative control: a secret planted in the channel is found.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
import traceback
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

#: Name parts of the files an awswidget write may create beside a shared file.
TMP_MARK = ".awswidget-tmp"
BACKUP_MARK = ".awswidget-backup-"


def new_secret() -> str:
    """A 40-character secret unique to one test, so a leak search cannot hit anything else."""
    return ("Sx/" + uuid.uuid4().hex + "0123456789")[:40]


def new_token() -> str:
    """A session token unique to one test (STS tokens are long base64 runs)."""
    return "IQoJb3JpZ2luX2Vj" + uuid.uuid4().hex + uuid.uuid4().hex + "/" + uuid.uuid4().hex


# ---------------------------------------------------------------- log records and warnings


@dataclass
class Capture:
    """Every log record (DEBUG and up, botocore's included) and every warning of one test."""

    caplog: pytest.LogCaptureFixture
    recwarn: pytest.WarningsRecorder

    @property
    def records(self) -> list[logging.LogRecord]:
        return self.caplog.records

    def clear(self) -> None:
        self.caplog.clear()
        self.recwarn.clear()

    def text(self) -> str:
        records = "\n".join(f"{r.name} {r.getMessage()} {r.msg!r} {r.args!r} {r.exc_text or ''}" for r in self.records)
        warned = "\n".join(f"{w.category.__name__}: {w.message}" for w in self.recwarn)
        return "\n".join([records, self.caplog.text, warned])


def debug_everything(caplog: pytest.LogCaptureFixture, recwarn: pytest.WarningsRecorder) -> Capture:
    """Capture at DEBUG on the root logger and on every logger that exists now (levels restored by caplog)."""
    caplog.set_level(logging.DEBUG)
    for name in ("botocore", "boto3", "urllib3", "filelock", "awswidget", *logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    return Capture(caplog, recwarn)


# ---------------------------------------------------------------- widget state and notebooks


def decoded_state(state: Any) -> str:
    """JSON text of widget state, with binary buffers (FileUpload content, raw or base64) decoded too."""
    parts = [json.dumps(state, default=repr)]

    def walk(node: Any) -> None:
        if isinstance(node, (bytes, bytearray, memoryview)):
            parts.append(bytes(node).decode("utf-8", "replace"))
        elif isinstance(node, dict):
            if node.get("encoding") == "base64" and isinstance(node.get("data"), str):
                parts.append(base64.b64decode(node["data"]).decode("utf-8", "replace"))
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    walk(state)
    return "\n".join(parts)


def descendants(*widgets: Any) -> list[Any]:
    """The widgets and every widget below them (children, and widgets held in traits)."""
    from ipywidgets import Widget

    seen: dict[int, Any] = {}
    pending = list(widgets)
    while pending:
        widget = pending.pop()
        if id(widget) in seen:
            continue
        seen[id(widget)] = widget
        for name in widget.keys:
            value = getattr(widget, name, None)
            for item in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(item, Widget):
                    pending.append(item)
    return list(seen.values())


def widget_state_texts(*views: Any, notebook: bool = True) -> dict[str, str]:
    """Every form of widget state a frontend or a saved notebook can get for ``views``.

    ``notebook=False`` leaves out the saved notebook (embed_data's state again, in nbformat's JSON; its
    schema validation costs half a second).
    """
    from ipywidgets import Widget
    from ipywidgets.embed import embed_data

    texts = {
        "get_state": decoded_state([w.get_state() for w in descendants(*views)]),
        "get_manager_state": decoded_state(Widget.get_manager_state()),
        "embed_data": decoded_state(embed_data(views=list(views))),
    }
    if notebook:
        texts["notebook"] = notebook_text(*views)
    return texts


def notebook_text(*views: Any) -> str:
    """A notebook saved with widget state, as nbformat writes it (what ends up in git)."""
    import nbformat
    from ipywidgets.embed import embed_data

    data = embed_data(views=list(views))
    nb = nbformat.v4.new_notebook()
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import awswidget\nawswidget.connect()",
            outputs=[
                nbformat.v4.new_output(
                    "display_data", data={"application/vnd.jupyter.widget-view+json": spec, "text/plain": "widget"}
                )
                for spec in data["view_specs"]
            ],
        )
    )
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": data["manager_state"]}
    nbformat.validate(nb)
    text = nbformat.writes(nb)
    return decoded_state(json.loads(text))


# ---------------------------------------------------------------- exceptions


def exception_text(exc: BaseException) -> str:
    """str, repr, attributes and the formatted traceback of ``exc`` and of every exception chained to it.

    The chain is walked through ``__cause__`` and ``__context__`` even where ``raise ... from None``
    hides the context from the printed traceback: a debugger (``%debug``) still shows it.
    """
    parts: list[str] = []
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        parts += [str(error), repr(error), repr(error.args), repr(vars(error)), *traceback.format_exception(error)]
        pending += [error.__cause__, error.__context__]
    return "\n".join(parts)


# ---------------------------------------------------------------- files and the environment


def tree_files(root: Path) -> list[Path]:
    """Every file below ``root`` (symlinks not followed)."""
    found = []
    for folder, _dirs, names in os.walk(root):
        found += [Path(folder, n) for n in names]
    return found


def file_problems(root: Path, secrets: Iterable[str], may_hold_secrets: Iterable[Path]) -> list[str]:
    """What is wrong with the files below ``root``, as sentences (empty: nothing).

    Only the files in ``may_hold_secrets`` (the credentials file) and backups of them may hold a secret,
    and those must be mode 0600 or stricter; no temporary file of a write may be left.
    """
    allowed = {p.resolve() for p in may_hold_secrets}
    problems = []
    for path in tree_files(root):
        if path.is_symlink():
            continue
        name = path.name
        if TMP_MARK in name:
            problems.append(f"temporary file left behind: {path}")
        backup_of = Path(path.parent, name.split(BACKUP_MARK)[0]).resolve() if BACKUP_MARK in name else None
        if path.resolve() in allowed or backup_of in allowed:
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                problems.append(f"{path} holds keys with mode {mode:04o}")
            continue
        content = path.read_bytes().decode("utf-8", "replace")
        problems += [f"secret {s[:4]}… in {path}" for s in secrets if s in content]
    return problems


def environ_leaks(secrets: Iterable[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """Names of the environment variables whose value (or name) holds one of ``secrets``."""
    environ = os.environ if environ is None else environ
    return sorted({name for name, value in environ.items() for s in secrets if s in value or s in name})


# ---------------------------------------------------------------- the search


#: Any copy of this many consecutive characters of a secret counts as a leak (an echo cut short, a line
#: wrapped); the AWS CLI's mask (the last 4 characters) does not.
WINDOW = 24
_STRIDE = 8


def leaks(secrets: Iterable[str], places: Mapping[str, str]) -> list[str]:
    """``"place: secret…"`` for every secret found in a place's text (empty: no leak).

    A secret is found whole in any letter case, or by any run of ``WINDOW + 8`` of its characters (of its
    first or last 256 characters, where an echo cut short or a mask would start or end).
    """
    found = []
    for where, text in places.items():
        folded = text.casefold()
        for secret in secrets:
            if not secret:
                continue
            starts = range(0, max(len(secret) - WINDOW, 0) + 1, _STRIDE)
            pieces = [secret[i : i + WINDOW] for i in starts if i < 256 or i > len(secret) - 256 - WINDOW]
            if secret.casefold() in folded or any(piece in text for piece in pieces):
                found.append(f"{where}: {secret[:6]}…")
    return found
