"""Finding a secret in files a notebook save wrote: the notebook and its checkpoint."""

from __future__ import annotations

import base64
import binascii
import json
import re
from pathlib import Path
from typing import Any

WINDOW = 12  # a run of 12 characters of a random 40-character secret is a leak, not a coincidence


def checkpoint_of(notebook: Path) -> Path:
    """Where Jupyter's file checkpoints keep the last saved copy of ``notebook``."""
    return notebook.parent / ".ipynb_checkpoints" / f"{notebook.stem}-checkpoint{notebook.suffix}"


def widget_state(notebook: Path) -> dict[str, Any]:
    """The widget models saved in a notebook's metadata (empty when none were saved)."""
    metadata = json.loads(notebook.read_text())["metadata"]
    saved = metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    return dict(saved.get("state", {}))


def _readable(text: str) -> str:
    """The file text, JSON escapes undone, with base64 payloads (widget buffers) decoded too."""
    parts = [text, json.dumps(json.loads(text), ensure_ascii=False)]
    for blob in re.findall(r"[A-Za-z0-9+/]{16,}={0,2}", text):
        try:
            parts.append(base64.b64decode(blob, validate=True).decode("utf-8", "replace"))
        except (binascii.Error, ValueError):
            continue
    return "\n".join(parts)


def traces(secret: str, *paths: Path) -> list[str]:
    """``"<file>: <fragment>"`` for every file holding the secret or any 12-character run of it."""
    fragments = {secret[i : i + WINDOW] for i in range(max(1, len(secret) - WINDOW + 1))}
    found = []
    for path in paths:
        text = _readable(path.read_text())
        found += [f"{path.name}: {fragment}" for fragment in sorted(fragments) if fragment in text]
    return found
