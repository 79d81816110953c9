"""Small helpers shared by the widgets."""

from __future__ import annotations

import functools
import html
import logging
import weakref
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ..manager import CredentialsManager, default_manager
from ..validate import known_regions

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


def follow(source: Any, widget: Any, method: str, names: Any) -> Callable[[], None]:
    """Observe ``source`` on behalf of ``widget`` without keeping the widget alive.

    ``widget.<method>(change)`` is called on each change while the widget exists;
    once it is garbage collected the observer removes itself. Returns the function
    that stops following (call it from ``close()``).
    """
    ref = weakref.ref(widget)

    def handler(change: Any) -> None:
        target = ref()
        if target is None:
            stop()
            return
        getattr(target, method)(change)

    def stop() -> None:
        try:
            source.unobserve(handler, names=names)
        except ValueError:
            pass  # stopped already

    source.observe(handler, names=names)
    return stop


#: Status colours, from JupyterLab's theme variables (Lab, Notebook 7 and Voila define them, light and dark):
#: each tone mixed 60/40 with the theme's own text colour, which keeps it at 4.5:1 contrast or more on both
#: backgrounds (the tone colours alone reach 2.7:1 in the light theme, 3.8:1 in the dark one). Where the
#: variables are missing, the light theme's value is the fallback.
COLORS = {
    "ok": "color-mix(in srgb, var(--jp-success-color1, #1b6e20) 60%, var(--jp-content-font-color1, #000))",
    "busy": "var(--jp-ui-font-color2, #555)",
    "info": "inherit",
    "warning": "color-mix(in srgb, var(--jp-warn-color1, #8a5a00) 60%, var(--jp-content-font-color1, #000))",
    "error": "color-mix(in srgb, var(--jp-error-color1, #b00020) 60%, var(--jp-content-font-color1, #000))",
}


def set_busy(form: Any, busy: bool) -> None:
    """Lock or unlock a form's inputs while it works (under its lock, so a finished task and a click do not race)."""
    with form._lock:
        form._busy = busy
        for widget in form._inputs:
            widget.disabled = busy
        form._revalidate()


def colored(kind: str, html_text: str) -> str:
    """``html_text`` (already escaped) in the colour of ``kind`` (a key of :data:`COLORS`)."""
    return f'<span style="color:{COLORS[kind]}">{html_text}</span>' if html_text else ""


def escape(text: str) -> str:
    """HTML-escape text shown in an HTML widget."""
    return html.escape(text, quote=True)


#: The value of a region selector's "(no region)" option (a Dropdown cannot select ``None``).
NO_REGION = ""


def region_options(current: str | None, partitions: Iterable[str], *, no_region: bool = True) -> list[tuple[str, str]]:
    """``(label, name)`` options of botocore's regions in ``partitions``, "(no region)" first.

    A ``current`` region botocore does not list (newer than it, or of another
    partition) is kept as an option, so a selector can always show it.
    ``no_region=False`` leaves out the "(no region)" option.
    """
    wanted = set(partitions)
    regions = [r for r in known_regions(None) if r.partition in wanted]
    options = [("(no region)", NO_REGION)] if no_region else []
    options += [(r.label, r.name) for r in regions]
    if current and all(r.name != current for r in regions):
        options.append((current, current))
    return options
