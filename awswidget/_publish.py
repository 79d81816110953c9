"""The publish point of a traitlets model that worker threads also update.

:class:`Publisher` is a :class:`~traitlets.HasTraits` whose writes happen in one
place, ``with self._publishing(): self._write(...)``: under the model's lock the
new values are written (observers are not called yet, so none of them can see a
state that is half written), and the notifications are delivered after the lock
is released, in the order they were made. A thread that publishes while another
thread is delivering leaves its notifications to that thread, so observers may
call back into the model from anywhere without a deadlock.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

from traitlets import HasTraits

__all__ = ["Publisher"]

log = logging.getLogger(__name__)


class Publisher(HasTraits):
    """A model whose trait writes are published as a whole (see the module docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        self._lock = threading.RLock()
        self._local = threading.local()
        self._outbox: collections.deque[Any] = collections.deque()
        self._deliverer: int | None = None
        super().__init__(**kwargs)

    def notify_change(self, change: Any) -> None:
        held = getattr(self._local, "held", None)
        if held is not None:
            held.append(change)  # inside the publish point: delivered once the whole state is written
        else:
            super().notify_change(change)

    @contextlib.contextmanager
    def _publishing(self) -> Iterator[None]:
        """Compute and write under the lock; deliver the notifications afterwards, without it."""
        if getattr(self._local, "held", None) is not None:
            with self._lock:
                yield  # nested: the outermost publication delivers
            return
        try:
            with self._lock:
                held: list[Any] = []
                self._local.held = held
                try:
                    yield
                finally:
                    self._local.held = None
                    self._outbox.extend(held)
        finally:
            self._deliver()

    def _deliver(self) -> None:
        me, first = threading.get_ident(), None
        main = threading.current_thread() is threading.main_thread()
        try:
            while True:
                with self._lock:
                    if self._deliverer not in (None, me):
                        break  # that thread delivers what is queued, ours included
                    if not self._outbox:
                        self._deliverer = None  # in the same step as the check: nothing queued meanwhile is stranded
                        break
                    self._deliverer = me
                    change = self._outbox.popleft()
                try:
                    super().notify_change(change)
                except Exception as exc:  # the other observers still hear about it
                    log.error("An observer of %s.%s failed: %s", type(self).__name__, change.name, type(exc).__name__)
                    first = first or exc
        except BaseException:
            with self._lock:  # a KeyboardInterrupt in an observer: the next publication is still delivered
                if self._deliverer == me:
                    self._deliverer = None
            raise
        if first is not None and main:
            raise first  # as traitlets does for the code that made the change; a worker thread only logs it

    def _write(self, **values: Any) -> None:
        """Set traits (read-only ones too); call inside :meth:`_publishing`."""
        for name, value in values.items():
            if getattr(self, name) is not value:
                self.set_trait(name, value)

    def _publish(self, **values: Any) -> None:
        with self._publishing():
            self._write(**values)
