"""Where the setup form keeps a secret out of the synced widget state.

A Password widget's ``value`` is synced to the frontend and can be saved into the
notebook (ipywidgets issues 1747, 1793). The secret of an imported key CSV never
goes into a widget at all, and a typed secret (and session token) leaves its
Password field while a question is open ("replace its keys?", "root keys?").
:class:`HeldSecret` is the one place either lives until it is used or dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ValidationError
from ..keys import looks_like_secret
from ..validate import mask, parse_key_csv

__all__ = ["Candidate", "HeldSecret", "read_upload"]

PASTE_HINT = "paste the secret access key"


class HeldSecret:
    """The secret (and token) of one key ID, held outside the widgets; the Password fields stay empty."""

    def __init__(self, secret_field: Any, token_field: Any) -> None:
        self._secret_field = secret_field
        self._token_field = token_field
        self.secret: str | None = None
        self.key_id: str | None = None
        self.token: str | None = None

    def __repr__(self) -> str:
        return f"<HeldSecret key_id={self.key_id!r} held={self.secret is not None}>"

    def secret_value(self) -> str:
        """What the form would save: the typed secret, else the held one."""
        return self._secret_field.value or (self.secret or "")

    def token_value(self) -> str | None:
        return self._token_field.value or self.token

    def keep(self, key_id: str, secret: str, *, hint: str) -> None:
        """Hold ``secret`` for ``key_id`` (the Password field shows ``hint`` instead)."""
        self.key_id, self.secret = key_id, secret
        self._secret_field.placeholder = hint

    def hold_typed(self, key_id: str) -> None:
        """Move the typed secret and token out of their fields (a question is about to be asked)."""
        if not self._secret_field.value:
            return
        self.token = self._token_field.value or self.token
        self.keep(key_id, self._secret_field.value, hint="kept out of the page until you answer (type to replace)")
        self._secret_field.value = self._token_field.value = ""

    def moved(self, change: Any) -> bool:
        """Whether ``change`` (of a Password field) is :meth:`hold_typed` emptying it, not the user editing."""
        return not change.new and bool(change.old) and change.old in (self.secret, self.token)

    def drop(self) -> None:
        self.secret = self.key_id = self.token = None
        self._secret_field.placeholder = PASTE_HINT


@dataclass(repr=False)
class Candidate:
    """The checked values of one save attempt; lives only for that attempt."""

    name: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(repr=False)
    region: str | None
    endpoint_url: str | None
    exists: bool
    verify: bool
    select: bool
    save_endpoint: bool

    def __repr__(self) -> str:
        return f"Candidate(name={self.name!r}, access_key_id={mask(self.access_key_id)!r})"


def read_upload(item: Any) -> tuple[str, Any, str | None]:
    """``(file name, parsed key CSV or None, why it was refused)`` of one FileUpload item."""
    filename = str(item.get("name") or "the file")
    try:
        parsed = parse_key_csv(bytes(item["content"]))
    except ValidationError as exc:
        return filename, None, exc.reason
    if looks_like_secret(parsed.access_key_id):  # never into the plain Text field
        return filename, None, "its access key ID column holds a secret (are the columns swapped?)"
    return filename, parsed, None
