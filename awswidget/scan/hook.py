"""A Jupyter server pre-save hook that keeps AWS keys out of notebook files. Opt in with one line in
``jupyter_server_config.py``::

    c.ContentsManager.pre_save_hook = "awswidget.scan.hook.pre_save_hook"

What it does, and why: a save must neither lose the user's work nor write a secret. Refusing the save would
keep the secret out but also every edit made since the last save (and autosave would keep failing). So the
notebook is saved, and in the copy written to disk only what carries a credential changes: outputs,
attachments and widget state holding one are dropped, and in cell sources the key ID is masked
(``****************ABCD``) and the secret and token are replaced by ``****************`` (likewise in
metadata). The notebook open in the browser keeps its text; the server logs a warning per finding (masked)
and the save reply carries a ``message``. Plain files (``.py``, ``.env``, the AWS files themselves edited
in Jupyter's editor) are never altered.

If the check itself fails, the save is refused with an HTTP 500 that says so: the edits stay in the
browser, and no unchecked notebook is written.
"""

from __future__ import annotations

import logging
from typing import Any

from .detect import Finding
from .fix import clean_notebook
from .notebook import scan_notebook

__all__ = ["clean_model", "pre_save_hook"]

log = logging.getLogger("awswidget.scan")


def clean_model(model: dict[str, Any], path: str = "") -> list[Finding]:
    """Clean a contents-API notebook model in place; return the leaks it held (masked)."""
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return []
    nb = model["content"]
    leaks = [f for f in scan_notebook(nb, path or None) if f.leak]
    if leaks:
        clean_notebook(nb, leaks, mask_sources=True)
    return leaks


def pre_save_hook(model: dict[str, Any], path: str = "", contents_manager: Any = None, **_: Any) -> None:
    """``ContentsManager.pre_save_hook``: save the notebook without the AWS credentials it holds."""
    logger = getattr(contents_manager, "log", None) or log
    try:
        leaks = clean_model(model, path)
    except Exception as exc:
        from tornado.web import HTTPError

        logger.error("awswidget: could not check %s for AWS keys (%s); not saved", path, type(exc).__name__)
        raise HTTPError(500, f"awswidget could not check {path} for AWS keys ({type(exc).__name__}); it was not saved. "
                        "Your edits are still in the browser.") from None
    if not leaks:
        return
    for finding in leaks:
        logger.warning("awswidget: not saving %s to disk: %s", finding.kind.replace("_", " "), finding.describe())
    model["message"] = (
        f"awswidget kept {len(leaks)} AWS credential{'s' if len(leaks) != 1 else ''} out of the saved file "
        "(masked in sources, outputs and widget state removed). Move the keys into a profile."
    )
