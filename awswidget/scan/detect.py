"""Find AWS credentials in one piece of text, precisely.

What counts (and why it is precise):

- **Access key IDs** by their documented shape: a credential prefix (``AKIA`` long-term, ``ASIA`` temporary,
  ``ABIA`` STS bearer token, ``ACCA`` context-specific credential, and the old ``A3T…``), then 16 upper-case
  letters or digits, standing alone (no letter, digit, ``+`` or ``/`` touching it, so a run inside base64
  image data never matches). IAM's other unique-ID prefixes (``AIDA`` user, ``AROA`` role, ``AGPA`` group,
  ``ANPA``/``ANVA`` policy, ``AIPA`` instance profile, ``APKA`` public key, ``ASCA`` certificate) identify
  things, not credentials: they are reported as ``unique_id``, which is never a leak.
- **Secret access keys** (40 characters of ``A-Za-z0-9/+=``) only where the text says so: after a name
  (``aws_secret_access_key=``, ``"SecretAccessKey": ``, ``os.environ["AWS_SECRET_ACCESS_KEY"] = ``,
  ``secret_key``…), or within two lines of a credential key ID (CSV rows, positional ``boto3.client``
  arguments). Hex hashes, paths and URLs, and placeholders are not secrets.
- **Session tokens** after a name, or by the prefixes STS tokens begin with (``IQoJb3JpZ2lu…``,
  ``FwoGZXIvYXdz…``, ``AQoDYXdz…``).
- AWS's documented example keys (they all contain ``EXAMPLE``) are reported as examples, not leaks.
- A line holding ``awswidget: allow`` (or detect-secrets' ``pragma: allowlist secret``) is skipped.

A :class:`Finding` never holds the value: only its masked form, where it is (``span``) and a short digest.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from ..errors import AwsWidgetError
from ..validate import mask

__all__ = ["KINDS", "Finding", "ScanError", "find_in_text", "mask_value"]

KINDS = ("access_key_id", "secret_access_key", "session_token", "unique_id")

_CREDENTIAL_PREFIXES = ("AKIA", "ASIA", "ABIA", "ACCA")
# Alphabet: AWS documents [A-Z2-7] (base32) for current keys, but its own example AKIAI44QH8DHBEXAMPLE has an
# 8 and older keys used all digits, so 0-9 are accepted; standing alone is what keeps this precise.
KEY_ID_RE = re.compile(
    r"(?<![A-Za-z0-9+/])"
    r"(?P<v>(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9]|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16})"
    r"(?![A-Za-z0-9+/])"
)
_SECRET_ALPHABET = "A-Za-z0-9/+="  # noqa: S105 (a character class)
_SECRET_RUN_RE = re.compile(rf"(?<![A-Za-z0-9+/])(?P<v>[{_SECRET_ALPHABET}]{{40}})(?![{_SECRET_ALPHABET}])")
# A name, then its separator: `name=`, `name: `, `"name": "`, `name => '`, `["NAME"] = "`, `name, "` (a call's
# arguments: setdefault, putenv, configparser.set), or whitespace (`aws configure set name VALUE`).
_SEP = r"[\"'\]\)]{0,2}\s*(?:=>|[:=,]|\s)\s*(?:[rRbBuU]{0,2}[\"'])?"
_SECRET_NAME = r"(?:aws[_-]?)?secret[_-]?(?:access[_-]?)?key|aws[_-]?secret"  # noqa: S105
_NAMED_SECRET_RE = re.compile(
    rf"(?i)(?<![A-Za-z0-9])(?P<n>{_SECRET_NAME})(?![A-Za-z0-9]){_SEP}"
    rf"(?P<v>[{_SECRET_ALPHABET}]{{40}})(?![{_SECRET_ALPHABET}])"
)
_TOKEN_ALPHABET = "A-Za-z0-9/+=%"  # noqa: S105 (a character class)
_NAMED_TOKEN_RE = re.compile(
    r"(?i)(?<![A-Za-z0-9])(?P<n>(?:aws_?|x-amz-)?(?:session|security)[_-]?token)(?![A-Za-z0-9])"
    rf"{_SEP}(?P<v>[{_TOKEN_ALPHABET}]{{80,}})"
)
# Base64 of STS's serialized token header ("\x17\n\x06er/aws", "!\n\torigin_ec"...): only tokens start so.
_TOKEN_SIGNATURE_RE = re.compile(
    r"(?<![A-Za-z0-9+/])"
    rf"(?P<v>(?:FwoGZXIvYXdz|FQoGZXIvYXdz|IQoJb3JpZ2lu|IgoJb3JpZ2lu|AgoJb3JpZ2lu|AQoDYXdz|AQoEXAMPLE)[{_TOKEN_ALPHABET}]{{40,}})"
)
_TOKEN_TRIGGERS = ("ZXIvYXdz", "b3JpZ2lu", "AQoDYXdz", "AQoEXAMPLE")
_HEX_RE = re.compile(r"[0-9a-fA-F]+")
_PATH_SEGMENT_RE = re.compile(r"[A-Za-z0-9][a-z0-9]*(?:[A-Z][a-z0-9]+)*")
_CALL_RE = re.compile(r"(?:\b(?P<mod>boto3|session|Session\(\))\s*\.\s*)?(?P<fn>client|resource|Session)\s*\(")
_ENV_RE = re.compile(r"(?:environ\s*\[\s*[\"']|environ\.setdefault\s*\(\s*[\"']|putenv\s*\(\s*[\"']|%env\s+|export\s+|\bset\s+)AWS_\w+")
_WINDOW_LINES = 2
# A line that says so is not reported: made-up fixtures in tests, a deliberate example in docs.
ALLOW_PRAGMAS = ("awswidget: allow", "pragma: allowlist secret")


class ScanError(AwsWidgetError):
    """A file could not be scanned or fixed (``path``, ``reason``); the message never quotes its content."""

    fmt = "{path}: {reason}"

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(path=path, reason=reason)


@dataclass(frozen=True)
class Finding:
    """One credential found. It never holds the value in clear.

    ``kind`` is one of :data:`KINDS`; ``masked`` the value as it may be shown (a key ID as
    ``****************ABCD``, a secret or token fully masked); ``example`` is true for AWS's documented
    example keys. ``where`` says which part of a notebook (``source``, ``output``, ``widget state``,
    ``attachment``, ``metadata``), ``history`` or ``environment`` in a kernel, ``text`` for a text file.
    ``line``/``column`` are 1-based in that part; ``span`` the offsets in the scanned text; ``cell`` the
    0-based cell index and ``execution_count`` the cell's ``In [n]`` when known. ``digest`` is a short
    SHA-256 of the value, to tell two findings of the same key apart without holding it.
    """

    kind: str
    masked: str
    line: int
    column: int
    context: str
    example: bool = False
    where: str = "text"
    path: str | None = None
    cell: int | None = None
    execution_count: int | None = None
    output: int | None = None
    span: tuple[int, int] = field(default=(0, 0), compare=False)
    digest: str = field(default="", repr=False)

    @property
    def leak(self) -> bool:
        """True for a real credential (not an example, not an IAM unique ID): the scan fails on it."""
        return not self.example and self.kind != "unique_id"

    def location(self) -> str:
        """``file: cells[3] (In [7]) output 0, line 2`` — where a person looks for it."""
        parts = [self.path] if self.path else []
        if self.cell is not None:
            cell = f"cells[{self.cell}]"
            if self.execution_count is not None:
                cell += f" (In [{self.execution_count}])"
            parts.append(cell)
        elif self.execution_count is not None:
            parts.append(f"In [{self.execution_count}]")
        where = self.where if self.output is None else f"{self.where} {self.output}"
        if where not in ("text",):
            parts.append(where)
        parts.append(f"line {self.line}")
        return ", ".join(parts)

    def describe(self) -> str:
        """One line for a person: location, kind, masked value, how it was recognised."""
        label = self.kind.replace("_", " ")
        note = " (AWS's documented example, not a leak)" if self.example else ""
        if self.kind == "unique_id":
            note = " (an IAM unique ID, not a credential)"
        return f"{self.location()}: {label} {self.masked} [{self.context}]{note}"


def mask_value(kind: str, value: str) -> str:
    """How a value of ``kind`` may be shown: a key ID keeps its last 4 characters, anything else none."""
    if kind in ("access_key_id", "unique_id"):
        return mask(value)
    return "*" * 16


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def is_example(value: str) -> bool:
    """AWS's documentation marks every example credential with EXAMPLE (AKIAIOSFODNN7EXAMPLE...)."""
    return "EXAMPLE" in value


def _looks_secret(value: str, named: bool) -> bool:
    if _HEX_RE.fullmatch(value):  # SHA-1 and other hex digests are 40 characters too
        return False
    classes = sum(any(test(c) for c in value) for test in (str.isupper, str.islower, str.isdigit))
    if classes < 2 or len(set(value)) < 10:  # placeholders: xxxx..., AAAA..., 0000...
        return False
    if named:
        return True  # after its name it counts, whatever its shape: a real secret may start or end with "/" (base64)
    if value.startswith("/") or value.endswith("/") or "//" in value:
        return False  # beside a key ID only: a path or the tail of a URL
    # Beside a key ID only: a relative path such as usr/share/perl5/Debconf/FrontEnd/Dialog is not a secret.
    segments = value.split("/")
    return not (len(segments) >= 3 and all(_PATH_SEGMENT_RE.fullmatch(s) for s in segments))


class _Lines:
    """Offset → (line, column), 1-based, computed lazily (most texts have no finding)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts: list[int] | None = None

    def starts(self) -> list[int]:
        if self._starts is None:
            self._starts = [0] + [m.end() for m in re.finditer(r"\r\n|\n|\r", self.text)]
        return self._starts

    def at(self, offset: int) -> tuple[int, int]:
        import bisect

        starts = self.starts()
        index = bisect.bisect_right(starts, offset) - 1
        return index + 1, offset - starts[index] + 1

    def window(self, offset: int) -> tuple[int, int]:
        line, _ = self.at(offset)
        starts = self.starts()
        lo = starts[max(0, line - 1 - _WINDOW_LINES)]
        hi_line = line + _WINDOW_LINES
        hi = starts[hi_line] if hi_line < len(starts) else len(self.text)
        return lo, hi


def _still_open(tail: str) -> bool:
    """True when the text after a call's ``(`` has not closed it yet (the value is one of its arguments)."""
    depth = 1
    for char in tail:
        if char in "()":
            depth += 1 if char == "(" else -1
            if depth == 0:
                return False
    return True


def _allowed(text: str, start: int) -> bool:
    """The line carries an allowlist pragma (detect-secrets' spelling is honoured too)."""
    end = text.find("\n", start)
    line = text[max(text.rfind("\n", 0, start), 0) : end if end >= 0 else len(text)]
    return any(p in line for p in ALLOW_PRAGMAS)


def _context(text: str, start: int, fallback: str) -> str:
    line_start = max(text.rfind("\n", 0, start), text.rfind("\r", 0, start)) + 1
    if _ENV_RE.search(text, line_start, start):
        return "environment variable set in code"
    before = text[max(0, start - 400) : start]
    calls = list(_CALL_RE.finditer(before))
    if calls:
        call = calls[-1]
        if _still_open(before[call.end() :]):
            module = "boto3" if call.group("mod") in ("boto3", None) else call.group("mod")
            return f"{module}.{call.group('fn')}(...) with literal keys"
    return fallback


def find_in_text(text: str) -> list[Finding]:
    """Every credential in ``text``, in order of position (``where``/``path``/``cell`` left unset)."""
    if not text:
        return []
    lines = _Lines(text)
    found: dict[tuple[int, int], Finding] = {}

    def add(kind: str, start: int, end: int, context: str) -> None:
        if _allowed(text, start):
            return
        value = text[start:end]
        line, column = lines.at(start)
        found[(start, end)] = Finding(
            kind=kind,
            masked=mask_value(kind, value),
            line=line,
            column=column,
            context=_context(text, start, context),
            example=is_example(value),
            span=(start, end),
            digest=_digest(value),
        )

    key_ids = []
    for m in KEY_ID_RE.finditer(text):
        value = m.group("v")
        credential = value.startswith(_CREDENTIAL_PREFIXES) or value.startswith("A3T")
        add("access_key_id" if credential else "unique_id", m.start("v"), m.end("v"), "key ID shape")
        if credential:
            key_ids.append(m)
    lowered = text.lower() if ("ecret" in text or "ECRET" in text or "oken" in text or "OKEN" in text) else ""
    if "secret" in lowered or "aws_secret" in lowered:
        for m in _NAMED_SECRET_RE.finditer(text):
            if _looks_secret(m.group("v"), named=True):
                add("secret_access_key", m.start("v"), m.end("v"), f"named {m.group('n')}")
    if "token" in lowered:
        for m in _NAMED_TOKEN_RE.finditer(text):
            value = m.group("v")
            if not _HEX_RE.fullmatch(value) and (m.start("v"), m.end("v")) not in found:
                add("session_token", m.start("v"), m.end("v"), f"named {m.group('n')}")
    if any(t in text for t in _TOKEN_TRIGGERS):
        for m in _TOKEN_SIGNATURE_RE.finditer(text):
            if not any(s <= m.start("v") < e for s, e in found):
                add("session_token", m.start("v"), m.end("v"), "session token shape")
    for key in key_ids:
        lo, hi = lines.window(key.start())
        for m in _SECRET_RUN_RE.finditer(text, lo, hi):
            span = (m.start("v"), m.end("v"))
            if span not in found and not any(s <= span[0] < e for s, e in found) and _looks_secret(m.group("v"), False):
                add("secret_access_key", span[0], span[1], "next to a key ID")
    return [found[k] for k in sorted(found)]
