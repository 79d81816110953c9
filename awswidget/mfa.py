"""MFA codes for role profiles (``role_arn`` + ``mfa_serial``), asked where someone can answer.

botocore's assume-role provider asks a *prompter* (``prompter(prompt) -> code``)
for the code. Its default is ``getpass.getpass`` as bound when botocore was
imported, which in a kernel reads a terminal nobody sees.
:mod:`awswidget._session` hands botocore an :class:`MfaPrompter` instead, and
the prompter answers according to where botocore asks:

* **a background thread while the kernel is idle** (``manager.verify(block=False)``,
  the expiry ticker renewing early): an :class:`MfaRequest` is published as
  ``manager.mfa_request``; whatever shows the manager (a widget, or a script calling
  ``request.answer("123456")``) answers it. Nobody answering within ``timeout``
  seconds is an :class:`MfaTimeoutError`.
* **any thread while a notebook cell runs** (``m.client("s3").list_buckets()`` in a
  cell, or a library's worker thread): widget events cannot arrive while the cell
  runs, so the code is asked with ipykernel's stdin prompt (a password box under
  the cell). ipykernel sends the request with the running cell's parent header
  from any thread; one question at a time (:data:`_STDIN_LOCK`).
* **the main thread outside a kernel** with a terminal: ``getpass`` on it; with no
  terminal at all (a scheduled script), :class:`MfaUnavailableError` saying how to
  renew, never an echo warning or ``EOFError``.
* **the main thread in a widget callback, or a frontend without stdin**
  (Voila): nobody can answer, so :class:`MfaUnavailableError` at once.

One code serves until the credentials expire: the temporary credentials go to
the resolver's cache (see :func:`awswidget._session.role_cache`), and the one
credentials object of the profile asks again when botocore's refresh window comes
(see :func:`awswidget._botocore.renewing_credentials_class`).
"""

from __future__ import annotations

import getpass
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from . import texts
from .errors import ValidationError, VerificationError

__all__ = [
    "MfaCancelledError",
    "MfaError",
    "MfaPrompter",
    "MfaRequest",
    "MfaTimeoutError",
    "MfaUnavailableError",
    "is_code",
    "prompt_route",
    "validate_mfa_code",
]

#: Seconds a background request waits for a code (authenticator codes change every 30 s).
DEFAULT_TIMEOUT = 120.0

_CODE_RE = re.compile(r"\d{6}", re.ASCII)  # ASCII: a unicode \d takes fullwidth (１２３４５６) and Arabic-Indic digits


def is_code(text: str | None) -> bool:
    """Whether ``text`` is a complete MFA code (6 digits, spaces ignored)."""
    return _CODE_RE.fullmatch(re.sub(r"\s+", "", text or "")) is not None
# botocore's prompt is "Enter MFA code for {serial}: " (AssumeRoleCredentialFetcher).
_PROMPT_SERIAL_RE = re.compile(r"Enter MFA code for (?P<serial>\S+?):?\s*$")


class MfaError(VerificationError):
    """No usable MFA code was obtained; ``code`` says why."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason, "mfa_code", code)


class MfaTimeoutError(MfaError):
    """Nobody entered a code in time."""


class MfaCancelledError(MfaError):
    """The user cancelled the code entry."""


class MfaUnavailableError(MfaError):
    """There is no way to ask for a code where botocore asked for it."""


def validate_mfa_code(code: str) -> str:
    """Return the 6-digit code with spaces removed, or raise :class:`ValidationError`."""
    cleaned = re.sub(r"\s+", "", code or "")
    if not cleaned:
        raise ValidationError("mfa_code", "Enter the 6-digit code from your MFA device.")
    if not _CODE_RE.fullmatch(cleaned):
        raise ValidationError("mfa_code", "An MFA code is exactly 6 digits (from your authenticator app or key).")
    return cleaned


def _duration(seconds: float) -> str:
    if seconds >= 90:
        return f"{round(seconds / 60)} minutes"
    return f"{round(seconds)} seconds"


class MfaRequest:
    """One pending question "which MFA code?", answered once.

    ``profile`` and ``serial`` say which profile and device it is for. The code
    itself is never kept after it is handed to botocore and never shown in
    ``repr``.
    """

    def __init__(self, profile: str | None, serial: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.profile = profile
        self.serial = serial
        self.timeout = timeout
        self.created = time.monotonic()
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._code: str | None = None
        self._state = "pending"

    def __repr__(self) -> str:
        return f"<MfaRequest profile={self.profile!r} serial={self.serial!r} state={self._state!r}>"

    @property
    def state(self) -> str:
        """``pending``, ``answered``, ``cancelled`` or ``timed-out``."""
        return self._state

    @property
    def pending(self) -> bool:
        return self._state == "pending"

    @property
    def deadline(self) -> float:
        """``time.monotonic()`` value after which the request times out."""
        return self.created + self.timeout

    def answer(self, code: str) -> None:
        """Give the code; raises :class:`ValidationError` unless it is 6 digits."""
        code = validate_mfa_code(code)
        with self._lock:
            if self._state != "pending":
                raise MfaError(f"This MFA request is no longer waiting ({self._state}); verify again.", "MfaStale")
            self._code, self._state = code, "answered"
        self._done.set()

    def cancel(self) -> None:
        """Give up: the waiting caller gets :class:`MfaCancelledError`."""
        with self._lock:
            if self._state == "pending":
                self._state = "cancelled"
        self._done.set()

    def wait(self) -> str:
        """Block until answered, cancelled or timed out; return the code."""
        answered = self._done.wait(self.timeout)
        with self._lock:
            if not answered and self._state == "pending":
                self._state = "timed-out"
            state, code, self._code = self._state, self._code, None
        who = f"profile '{self.profile}'" if self.profile else self.serial
        if state == "answered" and code is not None:
            return code
        if state == "cancelled":
            raise MfaCancelledError(f"MFA code entry for {who} was cancelled; verify again to retry.", "MfaCancelled")
        raise MfaTimeoutError(
            f"No MFA code was entered for {who} within {_duration(self.timeout)}; verify again to get a new prompt.",
            "MfaTimeout",
        )


def _kernel() -> Any:
    """The running ipykernel, or None (never imports IPython itself)."""
    if "ipykernel" not in sys.modules or "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    shell = get_ipython()
    return getattr(shell, "kernel", None)


# ipykernel's stdin socket serves one question at a time, whichever thread asks.
_STDIN_LOCK = threading.Lock()


def _has_terminal() -> bool:
    try:
        return bool(sys.stdin is not None and sys.stdin.isatty())
    except (ValueError, OSError):  # a closed or odd stdin
        return False


def prompt_route() -> str:
    """Where a code asked for *now*, on this thread, can come from.

    While ipykernel runs a cell (it swaps ``getpass.getpass`` for its own then),
    ``"stdin"`` on any thread: widget events cannot arrive until the cell ends. In
    a kernel that is not running a cell, ``"widget"`` on a background thread and
    ``"none"`` on the main thread (a widget callback: the kernel handles one message
    at a time, so nothing could answer). Outside a kernel, ``"widget"`` on a
    background thread and ``"terminal"`` on the main one (without a terminal, the
    prompter then says how to renew instead of asking).
    """
    main = threading.current_thread() is threading.main_thread()
    kernel = _kernel()
    if kernel is None:
        return "terminal" if main else "widget"
    if getpass.getpass == getattr(kernel, "getpass", None):
        return "stdin"
    return "widget" if not main else "none"


class MfaPrompter:
    """The ``prompter`` given to botocore's ``AssumeRoleProvider``.

    Parameters
    ----------
    profile
        The profile being resolved (for messages and the request).
    publish
        Called with the :class:`MfaRequest` when a background request starts
        and again when it ends (answered, cancelled, timed out); the manager
        turns it into its ``mfa_request`` trait. Without it, background
        requests fail at once with :class:`MfaUnavailableError`.
    timeout
        Seconds a background request waits, or a callable giving them when asked.
    route
        Returns the route (default: :func:`prompt_route`, looked up at each call).
    standing
        Returns :meth:`standing` (default: always ``()``, the lowest that may be asked).
    """

    def __init__(
        self,
        profile: str | None = None,
        publish: Callable[[MfaRequest], None] | None = None,
        *,
        timeout: float | Callable[[], float] = DEFAULT_TIMEOUT,
        route: Callable[[], str] | None = None,
        standing: Callable[[], tuple[int, ...] | None] | None = None,
    ) -> None:
        self.profile = profile
        self.publish = publish
        self.timeout = timeout
        self.route = route
        self._standing = standing

    def standing(self) -> tuple[int, ...] | None:
        """Whether this prompter may be asked now, by credentials shared with other sessions of its profile:
        ``None`` when not (its manager left the profile, or is gone), else a rank (the highest is asked)."""
        return () if self._standing is None else self._standing()

    def __repr__(self) -> str:
        return f"<MfaPrompter profile={self.profile!r}>"

    def __call__(self, prompt: str = "") -> str:
        match = _PROMPT_SERIAL_RE.search(prompt or "")
        serial = match.group("serial") if match else "your MFA device"
        route = (self.route or prompt_route)()
        if route == "terminal" and not _has_terminal():
            route = "no-terminal"  # getpass would warn that the code may be echoed, then hit EOFError
        if route == "widget" and self.publish is not None:
            return self._ask_widget(serial)
        if route in ("stdin", "terminal"):
            with _STDIN_LOCK:
                return self._ask_console(serial)
        raise MfaUnavailableError(self._unavailable(route), "MfaUnavailable")

    def _ask_widget(self, serial: str) -> str:
        assert self.publish is not None
        timeout = self.timeout() if callable(self.timeout) else self.timeout
        request = MfaRequest(self.profile, serial, timeout)
        self.publish(request)
        try:
            return request.wait()
        finally:
            self.publish(request)  # no longer pending: it is withdrawn

    def _ask_console(self, serial: str) -> str:
        who = f" (profile {self.profile})" if self.profile else ""
        # Looked up now, not at import: ipykernel replaces getpass.getpass while a cell runs.
        try:
            # getpass.getpass is ipykernel's while a cell runs: it answers from any thread.
            answer = getpass.getpass(f"MFA code for {serial}{who}: ")
        except (EOFError, KeyboardInterrupt):
            raise MfaCancelledError("MFA code entry was cancelled; run the cell again to retry.", "MfaCancelled") from None
        except Exception as exc:  # IPython's StdinNotImplementedError: this frontend has no input box
            raise MfaUnavailableError(self._unavailable("no-stdin", type(exc).__name__), "MfaUnavailable") from None
        try:
            return validate_mfa_code(answer)
        except ValidationError as exc:
            raise MfaError(f"{exc.reason} Run the cell again to retry.", "MfaInvalid") from None

    def _unavailable(self, route: str, detail: str = "") -> str:
        return texts.mfa_unavailable({"none": "callback"}.get(route, route), self.profile, detail)
