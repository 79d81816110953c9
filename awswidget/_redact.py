"""Keep secrets out of log output.

botocore's DEBUG logging prints session tokens (the canonical request, the
"Sending http request" headers) and whole AssumeRole replies. When a notebook
user turns DEBUG on while awswidget is in use, cell outputs must not show them.
A log-record factory (it sees every record of every logger, after the level
check, so it costs nothing while DEBUG is off) formats the record, replaces
secrets awswidget has handled and anything shaped like a secret or token, and
hands on the cleaned text.

Opt out with ``AWSWIDGET_REDACT_LOGS=0`` (or :func:`uninstall`).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from typing import Any

REDACTED = "***"

_PATTERNS = [
    # XML replies (AssumeRole, GetSessionToken, GetRoleCredentials...).
    re.compile(r"(?i)(<(?:SecretAccessKey|SessionToken)>)([^<]+)"),
    # JSON and Python reprs: "secretAccessKey": "...", 'SessionToken': b'...'
    re.compile(
        r"(?i)([\"'](?:x-amz-)?(?:secret[_-]?access[_-]?key|session[_-]?token|security[_-]?token|access[_-]?token"
        r"|refresh[_-]?token|client[_-]?secret)"
        r"[\"']\s*:\s*b?[\"'])([^\"']+)"
    ),
    # Header and query shapes: X-Amz-Security-Token: ..., X-Amz-Security-Token=...
    re.compile(r"(?i)(x-amz-security-token\s*[:=]\s*)([^\s&,;]+)"),
    # INI and key=value shapes.
    re.compile(r"(?i)((?:aws_)?(?:secret_access_key|session_token|security_token)\s*[=:]\s*)([^\s,;'\"]+)"),
]

_known: set[str] = set()
_known_lock = threading.Lock()
_installed: Any = None


def remember(*secrets: str | None) -> None:
    """Register secret values to be blanked out of any log record."""
    with _known_lock:
        _known.update(s for s in secrets if s and len(s) >= 8)


def forget(*secrets: str | None) -> None:
    with _known_lock:
        _known.difference_update(s for s in secrets if s)


def redact(text: str) -> str:
    """``text`` with known secrets and secret-shaped values replaced by ``***``."""
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def _wrap(previous: Any) -> Any:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the caller's bug: leave the record as is
            return record
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return record

    factory.__wrapped__ = previous  # type: ignore[attr-defined]
    return factory


def install() -> None:
    """Install the redacting record factory once per process (unless opted out)."""
    global _installed
    if _installed is not None or os.environ.get("AWSWIDGET_REDACT_LOGS", "1") == "0":
        return
    _installed = _wrap(logging.getLogRecordFactory())
    logging.setLogRecordFactory(_installed)


def uninstall() -> None:
    """Restore the record factory that was in place before :func:`install`."""
    global _installed
    if _installed is not None and logging.getLogRecordFactory() is _installed:
        logging.setLogRecordFactory(_installed.__wrapped__)
    _installed = None

