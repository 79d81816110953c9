"""The picker's "keys in this kernel" notice: keys pasted into a cell (or set in the environment) go into a profile.

Shown when :func:`awswidget.scan.scan_kernel` finds key pairs in the cells this
kernel ran or in ``os.environ``. **Move into a profile** opens the setup form
filled in (the secret held out of every widget, as an imported CSV's is); once
the form has saved the profile, the notice says what to run instead of each cell.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from ipywidgets import HTML, Button, HBox, Layout, VBox

from ._common import COLORS, escape, shows_errors

__all__ = ["KeysNotice"]


def _report(notice: KeysNotice, message: str) -> None:
    notice.message.value = f'<span style="color:{COLORS["error"]}">✖ {escape(message)}</span>'


class KeysNotice(VBox):
    """A warning line with a **Move into a profile** button, hidden while the kernel holds no keys.

    ``open_form()`` returns the setup form to fill in (the picker's).
    """

    def __init__(self, open_form: Callable[[], Any], **kwargs: Any) -> None:
        self.open_form = open_form
        self.message = HTML()
        self.move_button = Button(description="Move into a profile", icon="key", button_style="warning",
                                  layout=Layout(width="auto"))
        self.instructions = HTML()
        self.scan: Any = None  # the last KernelScan: key pairs in clear for the form, masked in repr
        self._move: Any = None
        self._stop: Callable[[], None] | None = None
        super().__init__([HBox([self.message, self.move_button], layout=Layout(align_items="center")), self.instructions],
                         layout=Layout(display="none"), **kwargs)
        self.add_class("awswidget-keys-notice")
        self.move_button.on_click(self._on_move)

    def start(self) -> None:
        """Look at this kernel now and after every cell that holds a key (nothing outside IPython)."""
        import sys

        if "IPython" not in sys.modules:
            return
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None:
            return
        from ..scan import scan_kernel, watch

        ref = weakref.ref(self)

        def heard(scan: Any) -> None:
            notice = ref()
            if notice is not None:
                notice.show(scan)

        self._stop = watch(heard, shell)
        self.show(scan_kernel(shell))

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None

    def close(self) -> None:
        """Stop watching the kernel and close the notice's widgets (the key pair goes with it)."""
        self.stop()
        self.scan = self._move = None
        for child in (*getattr(self, "children", ()), self.message, self.move_button, self.instructions):
            for grandchild in getattr(child, "children", ()):
                grandchild.close()
            child.close()
        super().close()

    def show(self, scan: Any) -> None:
        """Display what ``scan`` (a :class:`~awswidget.scan.KernelScan`) found, or hide."""
        self.scan = scan
        moves = [m for m in scan.moves if not m.example]
        text = scan.message()
        if not text:
            self.layout.display = "none"
            return
        self._move = moves[0] if moves else None
        self.message.value = f'<span style="color:{COLORS["warning"]}">⚠ {escape(text)}</span>'
        self.move_button.layout.display = None if self._move is not None else "none"
        self.instructions.value = ""
        self.layout.display = None

    @shows_errors(_report)
    def _on_move(self, _button: Any) -> None:
        move = self._move
        if move is None:
            return
        form = self.open_form()
        cells = ", ".join(f"In [{n}]" for n in move.execution_counts) or "the environment"
        form.prefill(move.access_key_id, move.secret_access_key, move.session_token, source=cells, name="from-notebook")
        ref = weakref.ref(self)

        def saved(change: Any) -> None:
            notice = ref()
            if notice is not None and change.new:
                notice.saved(str(change.new))
                form.unobserve(saved, names="last_saved")

        form.observe(saved, names="last_saved")

    def saved(self, profile: str) -> None:
        """The keys are in ``profile`` now: say what to run instead."""
        if self._move is None:
            return
        self.message.value = f'<span style="color:{COLORS["ok"]}">✔ {escape(f"The keys are saved as profile {profile!r}.")}</span>'
        self.move_button.layout.display = "none"
        self.instructions.value = f"<pre style='white-space:pre-wrap;margin:0.3em 0'>{escape(self._move.instructions(profile))}</pre>"
        self._move = None
