"""Find credentials in a notebook: cell sources, text outputs, tracebacks, widget state, attachments, metadata.

A notebook on disk is mostly base64 images. :func:`scan_notebook_bytes` first looks at the raw JSON with the
image payloads skipped, for anything that could be a credential (a key-ID shape, the words a secret or token
is named with, a token's prefix, an attachment, a Password widget); only if there is one does it parse the
JSON, with the image payloads cut out, and walk the cells. A 50 MB notebook therefore costs about one read.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any

from .detect import KEY_ID_RE, Finding, _digest, _looks_secret, find_in_text, mask_value

__all__ = ["may_hold_credentials", "scan_notebook", "scan_notebook_bytes"]

# Mime types whose payload is base64 binary: never text a person typed or a program printed.
_BINARY_PAYLOAD_RE = re.compile(rb'"(?:image/(?!svg)[A-Za-z0-9.+-]+|application/pdf)"\s*:\s*"')
_KEY_ID_BYTES_RE = re.compile(KEY_ID_RE.pattern.replace("(?<![A-Za-z0-9+/])", "").encode())
_WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
_RAW_TRIGGERS = (
    b"ecret", b"ECRET", b"oken", b"OKEN",  # secret / Secret / SECRET, token / Token / TOKEN
    b"ZXIvYXdz", b"b3JpZ2lu", b"AQoDYXdz", b"AQoEXAMPLE",  # session-token prefixes
    b'"attachments"', b"PasswordModel",  # base64 text to decode; a Password widget's saved value
)


def _text_regions(data: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of the raw JSON outside binary payloads (image/png values and the like)."""
    pos = 0
    size = len(data)
    pdf = data.find(b'"application/pdf"')  # kept ahead of pos: finding it anew each time would be quadratic
    while pos < size:
        i = data.find(b'"image/', pos)
        if 0 <= pdf < pos:
            pdf = data.find(b'"application/pdf"', pos)
        i = pdf if i < 0 or (0 <= pdf < i) else i
        if i < 0:
            break
        m = _BINARY_PAYLOAD_RE.match(data, i)
        if m is None:
            yield pos, i + 1
            pos = i + 1
            continue
        yield pos, m.end()
        end = data.find(b'"', m.end())
        while end > 0 and data[end - 1] == 0x5C:  # an escaped quote: count the backslashes
            k = end - 1
            while data[k] == 0x5C:
                k -= 1
            if (end - 1 - k) % 2 == 0:
                break
            end = data.find(b'"', end + 1)
        if end < 0:
            return  # truncated JSON: the parser will say so
        pos = end
    if pos < size:
        yield pos, size


def _may_hold(data: bytes, regions: list[tuple[int, int]]) -> bool:
    for start, end in regions:
        if _KEY_ID_BYTES_RE.search(data, start, end):
            return True
        if any(data.find(t, start, end) >= 0 for t in _RAW_TRIGGERS):
            return True
    return False


def may_hold_credentials(data: bytes) -> bool:
    """False when the raw notebook JSON cannot hold a credential (then it need not be parsed)."""
    return _may_hold(data, list(_text_regions(data)))


def scan_notebook_bytes(data: bytes, path: str | None = None) -> list[Finding]:
    """Findings of a notebook file's bytes; raises ``ValueError`` if it is not JSON.

    The JSON parsed is the file with its binary payloads cut out (they become empty strings): the same
    notebook for the scan, which never reads images, at a fraction of the parsing time.
    """
    regions = list(_text_regions(data))
    if not _may_hold(data, regions):
        return []
    nb = json.loads(b"".join(data[start:end] for start, end in regions) if len(regions) > 1 else data)
    return scan_notebook(nb, path)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def _is_text_mime(mime: str) -> bool:
    return mime.startswith("text/") or mime.endswith(("json", "javascript", "+xml")) or mime == "image/svg+xml"


def flatten(value: Any, prefix: str = "") -> str:
    """JSON as ``key.path: value`` lines, one per string leaf, so names sit beside values."""
    lines: list[str] = []

    def walk(v: Any, key: str) -> None:
        if isinstance(v, dict):
            for k, sub in v.items():
                walk(sub, f"{key}.{k}" if key else str(k))
        elif isinstance(v, list):
            for sub in v:
                walk(sub, key)
        elif isinstance(v, str) and v:
            lines.append(f"{key}: {v}")

    walk(value, prefix)
    return "\n".join(lines)


def _password_values(widgets: Any) -> list[Finding]:
    """A Password widget's value saved in the state: a secret with no name beside it."""
    found = []
    if isinstance(widgets, dict) and isinstance(widgets.get(_WIDGET_STATE_MIME), dict):
        widgets = widgets[_WIDGET_STATE_MIME]
    states = widgets.get("state", {}) if isinstance(widgets, dict) else {}
    for model in states.values() if isinstance(states, dict) else ():
        state = model.get("state", {}) if isinstance(model, dict) else {}
        if not isinstance(state, dict) or state.get("_model_name") != "PasswordModel":
            continue
        value = state.get("value")
        if isinstance(value, str) and len(value) == 40 and _looks_secret(value, named=True):
            masked = mask_value("secret_access_key", value)
            found.append(Finding("secret_access_key", masked, 1, 1, "Password widget value", digest=_digest(value)))
    return found


def _located(found: list[Finding], **where: Any) -> list[Finding]:
    return [dataclasses.replace(f, **where) for f in found]


_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # tracebacks are coloured: "\x1b[0mAKIA..." must still match


def _outputs(cell: dict[str, Any]) -> Iterator[tuple[int, str]]:
    for index, text in _raw_outputs(cell):
        yield index, _ANSI_RE.sub("", text) if "\x1b" in text else text


def _raw_outputs(cell: dict[str, Any]) -> Iterator[tuple[int, str]]:
    for index, output in enumerate(cell.get("outputs") or ()):
        if not isinstance(output, dict):
            continue
        kind = output.get("output_type")
        if kind == "stream":
            yield index, _text(output.get("text"))
        elif kind == "error":
            yield index, "\n".join([_text(output.get("evalue")), *(t for t in output.get("traceback") or () if isinstance(t, str))])
        data = output.get("data")
        if isinstance(data, dict):
            for mime, value in data.items():
                if _is_text_mime(mime):
                    yield index, _text(value) if isinstance(value, str | list) else flatten(value)
        if output.get("metadata"):
            yield index, flatten(output["metadata"])


def _attachments(cell: dict[str, Any]) -> Iterator[str]:
    for bundle in (cell.get("attachments") or {}).values():
        for mime, payload in (bundle or {}).items() if isinstance(bundle, dict) else ():
            if not _is_text_mime(mime):
                continue
            raw = _text(payload)
            try:
                yield base64.b64decode(raw, validate=False).decode("utf-8")
            except (binascii.Error, ValueError):
                yield raw  # not base64 after all: scan it as it is


def scan_cell(cell: dict[str, Any], index: int | None = None, path: str | None = None) -> list[Finding]:
    """Findings of one cell (source, outputs, attachments, metadata)."""
    count = cell.get("execution_count")
    count = count if isinstance(count, int) else None
    loc: dict[str, Any] = {"path": path, "cell": index, "execution_count": count}
    found = _located(find_in_text(_text(cell.get("source"))), where="source", **loc)
    for out_index, text in _outputs(cell):
        found += _located(find_in_text(text), where="output", output=out_index, **loc)
    for text in _attachments(cell):
        found += _located(find_in_text(text), where="attachment", **loc)
    if isinstance(cell.get("metadata"), dict) and cell["metadata"]:
        found += _located(find_in_text(flatten(cell["metadata"])), where="metadata", **loc)
    return found


def scan_notebook(nb: dict[str, Any], path: str | None = None) -> list[Finding]:
    """Findings of a notebook (as ``json.load`` gives it), cells in order, then notebook metadata."""
    found: list[Finding] = []
    cells = nb.get("cells") if isinstance(nb, dict) else None
    for index, cell in enumerate(cells if isinstance(cells, list) else ()):
        if isinstance(cell, dict):
            found += scan_cell(cell, index, path)
    metadata = nb.get("metadata") if isinstance(nb, dict) else None
    if isinstance(metadata, dict):
        widgets = metadata.get("widgets")
        if widgets:
            in_state = find_in_text(flatten(widgets))
            seen = {f.digest for f in in_state}
            in_state += [f for f in _password_values(widgets) if f.digest not in seen]
            found += _located(in_state, where="widget state", path=path)
        rest = {k: v for k, v in metadata.items() if k != "widgets"}
        if rest:
            found += _located(find_in_text(flatten(rest)), where="metadata", path=path)
    return found
