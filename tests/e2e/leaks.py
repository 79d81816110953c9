"""What a notebook save wrote: the notebook, its checkpoint, and the widget state in them.

The search itself is the suite's shared one (:func:`tests.leaks.leaks`); this
module only reads the saved files as text it can search.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..leaks import decoded_state, leaks


def checkpoint_of(notebook: Path) -> Path:
    """Where Jupyter's file checkpoints keep the last saved copy of ``notebook``."""
    return notebook.parent / ".ipynb_checkpoints" / f"{notebook.stem}-checkpoint{notebook.suffix}"


def widget_state(notebook: Path) -> dict[str, Any]:
    """The widget models saved in a notebook's metadata (empty when none were saved)."""
    metadata = json.loads(notebook.read_text())["metadata"]
    saved = metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    return dict(saved.get("state", {}))


def traces(secret: str, *paths: Path) -> list[str]:
    """``"<file name>: <secret>…"`` for each file holding the secret (or a long run of it).

    A file is searched as written and as parsed JSON with its base64 widget
    buffers decoded, so escaping or encoding cannot hide a copy.
    """
    return leaks([secret], {p.name: p.read_text() + "\n" + decoded_state(json.loads(p.read_text())) for p in paths})
