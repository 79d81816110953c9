"""Small helpers shared by the widgets."""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from ..manager import CredentialsManager, default_manager

log = logging.getLogger("awswidget.widgets")

F = TypeVar("F", bound=Callable[..., Any])


def resolve_manager(manager: CredentialsManager | None) -> CredentialsManager:
    """The given manager, or the process-wide one."""
    return manager if manager is not None else default_manager()


def shows_errors(report: Callable[[Any, str], None]) -> Callable[[F], F]:
    """Decorate a widget callback so that an exception lands in its status line.

    JupyterLab swallows exceptions raised in widget callbacks; this logs them
    (without a traceback that could quote a value) and calls
    ``report(self, message)`` instead.
    """

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return func(self, *args, **kwargs)
            except Exception as exc:  # a callback must never fail silently
                message = str(exc) or type(exc).__name__
                log.warning("%s: %s", func.__qualname__, message)
                report(self, message)
                return None

        return wrapper  # type: ignore[return-value]

    return decorator


def escape(text: str) -> str:
    """HTML-escape text shown in an HTML widget."""
    return html.escape(text, quote=True)
