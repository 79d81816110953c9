"""Keep secrets out of log output.

botocore's DEBUG logging prints credentials in many shapes: the request
parameters ("Making request ... with params", where the SSO bearer token and
the web-identity token sit), the signed request's headers ("Sending http
request"), the canonical request, and whole replies ("Response body", with
the keys STS, SSO, OIDC and console login hand out). A notebook user who turns
DEBUG on must not see them, whoever produced the value: awswidget, the CLI's
caches, an environment variable.

A log-record factory (it sees every record of every logger, after the level
check, so it costs nothing while DEBUG is off) formats the record, replaces
secrets awswidget has handled and the value of every credential-bearing field,
and hands on the cleaned text. A value is blanked whole, whatever characters it
holds: each shape is matched with its own quoting rules (a Python repr, JSON,
XML, a header line, a query string), and string literals that hold escapes are
decoded, cleaned and written back, so JSON inside a logged ``b'...'`` body is
cleaned exactly too.

Opt out with ``AWSWIDGET_REDACT_LOGS=0`` (or :func:`uninstall`).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from typing import Any

REDACTED = "***"
#: Registered secrets shorter than this are ignored: blanking a short string would mangle ordinary text.
MIN_SECRET = 8
#: Literals inside literals are decoded this deep; a deeper one is blanked whole (fails closed).
MAX_NESTING = 6

# Field, header and parameter names whose value is a credential. From botocore's service models (members
# marked "sensitive" in sts, sso, sso-oidc, signin and cognito-identity), its credential providers (the
# IMDS and container replies' "Token", the DPoP proof of console login), SigV4 (X-Amz-Security-Token),
# S3's customer-provided encryption keys and the shared files (aws_session_token...). Written with "_"
# between words; any mix of "_", "-" or nothing matches, in any case. Names with "secret" in them
# (secretAccessKey, clientSecret, SecretKey...) are covered by _NAME_PARTS.
_NAMES = (
    "session_token",
    "security_token",
    "token",
    "sso_bearer_token",
    "access_token",
    "refresh_token",
    "id_token",
    "device_code",
    "code_verifier",
    "assertion",
    "saml_assertion",
    "subject_token",
    "web_identity_token",
    "trade_in_token",
    "token_code",
    "authorization",
    "dpop",
    "dpop_key",
    "server_side_encryption_customer_key",
)
# A name that contains one of these anywhere is a secret too (Password, NewPassword, SecretString...).
_NAME_PARTS = ("secret", "password", "passphrase", "private_key")


# Each name as a pattern: its words joined by an optional "_" or "-". (Built at import: no function here,
# so a mutation run can reach every part of it.)
_NAME_PATTERNS = [r"[_-]?".join(map(re.escape, name.split("_"))) for name in _NAMES]
_PART_PATTERNS = [r"[_-]?".join(map(re.escape, part.split("_"))) for part in _NAME_PARTS]
_KEY = (
    r"(?:(?:aws[_-]|x-amz-(?:copy-source-)?)?(?:" + "|".join(_NAME_PATTERNS) + r")"
    r"|[\w-]*?(?:" + "|".join(_PART_PATTERNS) + r")[\w-]*)"
)
# Any credential name anywhere: most DEBUG records hold none, and then no shape needs a look.
_KEY_RE = re.compile(_KEY, re.IGNORECASE)
# A Python (or JSON) string literal, escapes included: repr() never puts a raw line break in one.
_LITERAL = r"""b?(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")"""
_LITERAL_RE = re.compile(_LITERAL)

_QUOTED_RE = re.compile(rf"""(?P<head>(?P<q>['"]){_KEY}(?P=q)\s*:\s*)(?P<value>{_LITERAL})""", re.IGNORECASE)
_XML_RE = re.compile(rf"(<{_KEY}(?:\s[^<>]*)?>)[^<]+", re.IGNORECASE)
# "name: value" (a header line of the canonical request) and "name = value" (the shared files): to the line's end.
_LINE_RE = re.compile(rf"((?<![\w-]){_KEY}(?:[ \t]*:|[ \t]+=|=[ \t]+)[ \t]*)[^\r\n]+", re.IGNORECASE)
_LINE_START_RE = re.compile(rf"(^[ \t]*{_KEY}[ \t]*=[ \t]*)[^\r\n]+", re.IGNORECASE | re.MULTILINE)
# "name=value" in a query string or form body: URL-encoded, so the value ends at "&", a quote or a space.
_QUERY_RE = re.compile(rf"""((?<![\w-]){_KEY}=)[^\s&'"<>]+""", re.IGNORECASE)

# An escape in a literal: those repr() writes (\\ \' \n \r \t \xNN \uNNNN \UNNNNNNNN) and JSON's \" and \/.
_ESCAPE_RE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)")
_CONTROL_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}

_known: set[str] = set()
_known_lock = threading.Lock()
_installed: Any = None


def remember(*secrets: str | None) -> None:
    """Register secret values to be blanked out of any log record."""
    with _known_lock:
        _known.update(s for s in secrets if s and len(s) >= MIN_SECRET)


def forget(*secrets: str | None) -> None:
    with _known_lock:
        _known.difference_update(s for s in secrets if s)


def _unescape(body: str) -> str:
    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        if len(code) == 1:
            return _CONTROL_ESCAPES.get(code, code)
        return chr(int(code[1:], 16))

    return _ESCAPE_RE.sub(one, body)


def _clean_literal(m: re.Match[str], depth: int) -> str:
    """A string literal with escapes, decoded, cleaned and written back (unchanged if it held nothing)."""
    literal = m.group(0)
    if "\\" not in literal:
        return literal  # the shapes below see its text exactly as it is
    is_bytes = literal[0] == "b"
    if depth >= MAX_NESTING:
        return "b" * is_bytes + repr(REDACTED)
    body = _unescape(literal[1 + is_bytes : -1])
    cleaned = _redact(body, depth + 1)
    if cleaned == body:
        return literal
    # A bytes repr is Latin-1 text once decoded (\xNN is one byte), so this writes back the same kind.
    return repr(cleaned.encode("latin-1", "replace")) if is_bytes else repr(cleaned)


def _blank_value(m: re.Match[str]) -> str:
    value = m.group("value")
    prefix = "b" if value[0] == "b" else ""
    quote = value[len(prefix)]
    return m.group("head") + prefix + quote + REDACTED + quote


def _keep_name(m: re.Match[str]) -> str:
    return m.group(1) + REDACTED


def redact(text: str) -> str:
    """``text`` with known secrets and the values of credential-bearing fields replaced by ``***``."""
    return _redact(text, 0)


def _redact(text: str, depth: int) -> str:
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)  # longest first: a secret may contain another
    for secret in known:
        text = text.replace(secret, REDACTED)
    if "\\" in text:
        text = _LITERAL_RE.sub(lambda m: _clean_literal(m, depth), text)
    if _KEY_RE.search(text) is None:
        return text
    text = _QUOTED_RE.sub(_blank_value, text)
    for pattern in (_XML_RE, _LINE_START_RE, _LINE_RE, _QUERY_RE):
        text = pattern.sub(_keep_name, text)
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
        if record.exc_info and record.exc_info[1] is not None:
            # A traceback is formatted later, by the handler: format it now, and drop the exception
            # object when its text held a secret, so no handler can render it again.
            trace = logging.Formatter().formatException(record.exc_info)
            cleaned = redact(trace)
            if cleaned != trace:
                record.exc_text, record.exc_info = cleaned, None
        return record

    factory.__wrapped__ = previous  # type: ignore[attr-defined]
    return factory


def install() -> None:
    """Install the redacting record factory once per process (unless opted out)."""
    global _installed
    if _installed is not None or os.environ.get("AWSWIDGET_REDACT_LOGS") == "0":
        return
    _installed = _wrap(logging.getLogRecordFactory())
    logging.setLogRecordFactory(_installed)


def uninstall() -> None:
    """Restore the record factory that was in place before :func:`install`."""
    global _installed
    if _installed is not None:
        previous = _installed.__wrapped__
        if logging.getLogRecordFactory() is _installed:  # someone else's factory on top stays
            logging.setLogRecordFactory(previous)
    _installed = None


# A run of key-like characters this long in a name read from a file may be a pasted secret.
_SECRETISH_RE = re.compile(r"[A-Za-z0-9/+=]{16,}")


def shown_name(name: str) -> str | None:
    """A section or key name read from a file, or ``None`` when it might be a pasted secret."""
    if len(name) > 64 or _SECRETISH_RE.search(name) or not name.isprintable():
        return None
    return name
