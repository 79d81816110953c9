"""The process: which manager steers it, and what a selection changes in it.

A notebook has one boto3 default session and one ``os.environ``. Exactly one
manager at a time *owns the process* and writes them; every other manager is a
plain model for a side task. The rule:

* a manager claims the process when it is created and no other manager owns it,
  or when a notebook runs the owner's line of code again in a later execution (a
  cell run again hands the process to its new manager; a helper called in a loop
  makes side tasks); ``default_manager()`` returns the owner, so widgets made
  without a manager follow it;
* a later manager never takes over by being created: it calls
  :meth:`~awswidget.manager.CredentialsManager.activate` (or is created with
  ``activate=True``); ``activate=False`` never claims;
* :meth:`~awswidget.manager.CredentialsManager.release` gives the process back
  and restores what the user had before.

:class:`Exporter` does the writing, remembering what the user's environment held
before awswidget exported anything, so a manager never mistakes its own exports
for the user's settings. Only the manager's publish point calls it.
"""

from __future__ import annotations

import os
import sys
import threading
import weakref
from collections.abc import Mapping
from typing import Any

from . import _environ

__all__ = ["SHADOW_VARS", "Exporter", "Ownership", "exporter", "ownership", "user_env"]

PROFILE_VARS = ("AWS_DEFAULT_PROFILE", "AWS_PROFILE")  # botocore's order: the first one set wins
EXPORTED_VARS = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    # For SDKs that cannot resolve the profile (pyarrow's C++ SDK, tools in subprocesses): the selection's S3
    # endpoint, and the local credentials endpoint (its address and token file; never a secret itself), in
    # place of a container's own credentials variables (exported as unset, restored on release).
    "AWS_ENDPOINT_URL_S3",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
)
SHADOW_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


class Exporter:
    """Writes a selection into ``os.environ`` and boto3's default session, and undoes it."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._original: dict[str, str | None] = {}
        self._exported: dict[str, str | None] = {}
        self._installed: Any = None

    def user_env(self, name: str) -> str | None:
        """The user's own value of an environment variable, ignoring our exports."""
        with self._lock:
            value = os.environ.get(name)
            if name in self._exported and value == self._exported[name]:
                return self._original.get(name)
            return value

    def export(self, values: Mapping[str, str | None]) -> None:
        with self._lock:
            changes: dict[str, str | None] = {}
            originals: dict[str, str | None] = {}
            for name, value in values.items():
                current = os.environ.get(name)
                if name not in self._exported or current != self._exported[name]:
                    originals[name] = current  # first export, or the user changed it since
                if current != value:
                    changes[name] = value
            _environ.update(changes)  # one change, safe for native threads reading the environment (or none)
            self._original.update(originals)
            self._exported.update(values)

    def exported(self, name: str) -> str | None:
        """Our export of ``name`` while it is in effect (``None``: not exported, or changed since)."""
        with self._lock:
            value = os.environ.get(name)
            return value if name in self._exported and value == self._exported[name] else None

    def restore(self, names: tuple[str, ...] = EXPORTED_VARS) -> None:
        """Put back what the user had, for every variable we exported and nobody changed since."""
        with self._lock:
            changes: dict[str, str | None] = {}
            for name in names:
                if name in self._exported and os.environ.get(name) == self._exported[name]:
                    original = self._original.get(name)
                    if os.environ.get(name) != original:
                        changes[name] = original
                self._exported.pop(name, None)
                self._original.pop(name, None)
            _environ.update(changes)

    def apply(
        self, profile: str | None, region: str | None, session: Any, *, files: tuple[str, str] | None, install: bool, export: bool
    ) -> None:
        """What a selection changes in the process: boto3's default session and the exported variables.

        ``files`` are exported too when the manager was given explicit ones (otherwise
        ``AWS_PROFILE`` would mean nothing to other tools).
        """
        if install:
            self.install_session(session)
        if not export:
            return
        if profile is None:
            self.restore()
            return
        values: dict[str, str | None] = {"AWS_PROFILE": profile, "AWS_DEFAULT_REGION": region, "AWS_REGION": region}
        if os.environ.get("AWS_DEFAULT_PROFILE") is not None:
            values["AWS_DEFAULT_PROFILE"] = profile  # botocore reads it before AWS_PROFILE
        if files is not None:
            values.update(AWS_CONFIG_FILE=files[0], AWS_SHARED_CREDENTIALS_FILE=files[1])
        self.export(values)

    def install_session(self, session: Any) -> None:
        """Make ``session`` boto3's default (``None``: boto3 builds its own default chain again)."""
        import boto3

        with self._lock:
            boto3.DEFAULT_SESSION = session
            self._installed = session

    def uninstall_session(self) -> None:
        """Drop the default session we installed, unless somebody replaced it since."""
        import boto3

        with self._lock:
            if self._installed is not None and boto3.DEFAULT_SESSION is self._installed:
                boto3.DEFAULT_SESSION = None
            self._installed = None

    def reset(self) -> None:
        """Forget what was exported (for tests that restore the environment themselves)."""
        with self._lock:
            self._original.clear()
            self._exported.clear()
            self._installed = None


class Ownership:
    """Which manager owns the process (held weakly: a manager that is gone owns nothing)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: weakref.ref[Any] | None = None
        self._origin: tuple[str, int, int] | None = None

    def owner(self) -> Any:
        with self._lock:
            return self._owner() if self._owner is not None else None

    def claim(self, manager: Any, *, force: bool, origin: tuple[str, int, int] | None = None) -> bool:
        """Make ``manager`` the owner; True if it is now.

        It is when nobody owns the process, with ``force``, or when ``origin`` (the
        line of code that created it, and the notebook execution that ran it) is the
        owner's line in a later execution: the same cell run again. The same line
        within one execution (a helper called in a loop) makes side tasks.
        """
        with self._lock:
            current = self._owner() if self._owner is not None else None
            rerun = origin is not None and self._origin is not None and origin[:2] == self._origin[:2] and origin[2] != self._origin[2]
            if current is None or current is manager or force or rerun:
                self._owner, self._origin = weakref.ref(manager), origin
                return True
            return False

    def release(self, manager: Any) -> bool:
        """Release the process if ``manager`` owns it; True if it did."""
        with self._lock:
            if self._owner is not None and self._owner() is manager:
                self._owner = self._origin = None
                return True
            return False

    def reset(self) -> None:
        with self._lock:
            self._owner = self._origin = None


exporter = Exporter()
ownership = Ownership()
user_env = exporter.user_env


def shadowing_vars() -> list[str]:
    """Key variables of the environment that other tools would use instead of the profile."""
    return [name for name in SHADOW_VARS if os.environ.get(name)]


def caller_origin() -> tuple[str, int, int] | None:
    """The notebook cell statement running now: (its cell's source digest, line, execution count).

    The top-level statement of the cell, wherever below it the manager is made (a
    helper defined in another cell still counts as this cell's). ``None`` outside
    IPython: a script runs its lines once per process, so there is no "cell run again".
    """
    import hashlib
    import linecache

    shell = None
    if "IPython" in sys.modules:
        from IPython import get_ipython

        shell = get_ipython()
    count = getattr(shell, "execution_count", None)
    user_ns = getattr(shell, "user_ns", None)
    if not isinstance(count, int) or user_ns is None:
        return None
    frame = sys._getframe(1)
    while frame is not None and not (frame.f_code.co_name == "<module>" and frame.f_globals is user_ns):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return None
    # IPython names cells after their execution count; ipykernel after their text: the text is what is the same.
    source = "".join(linecache.getlines(frame.f_code.co_filename))
    digest = hashlib.sha256(source.encode("utf-8", "replace")).hexdigest()
    return (digest, frame.f_lineno, count)
