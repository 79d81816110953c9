"""The resource inventory: what the selection's account holds, listed in the background.

:class:`ResourceInventory` follows a source of sessions (a
:class:`~awswidget.manager.CredentialsManager`, duck-typed: anything with
``session``, ``profile`` and ``region`` traits) and lists the Lambda functions
and S3 buckets of each new session in a worker thread. Every listing has a
generation number: a result that comes back after a newer listing started is
dropped, and a listing still running is cancelled between two pages, so a
table never shows one account's resources under another profile's name.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from traitlets import Bool, HasTraits, Instance, Unicode

from .resources import BUCKET_COLUMNS, FUNCTION_COLUMNS, Inventory, ListingCancelled, Section, list_resources

__all__ = ["ResourceInventory"]

log = logging.getLogger(__name__)
Lister = Callable[..., Inventory]


class ResourceInventory(HasTraits):
    """Lambda functions and S3 buckets of a source's current selection.

    Attributes
    ----------
    shown_profile, shown_region
        Whose resources ``functions`` and ``buckets`` are (set when a listing starts).
    functions, buckets
        The :class:`~awswidget.resources.Section` listed (``None`` while loading).
    loading
        A listing is running.
    listing
        The :class:`~concurrent.futures.Future` of the latest listing: ``True``
        once its result is published, ``False`` if a newer one replaced it.
    """

    shown_profile = Unicode(None, allow_none=True)
    shown_region = Unicode(None, allow_none=True)
    functions = Instance(Section, allow_none=True, help="The Lambda section on display.")
    buckets = Instance(Section, allow_none=True, help="The S3 section on display.")
    loading = Bool(False, help="A listing is running.")
    has_session = Bool(False, help="The source has a session to list with.")

    def __init__(self, source: Any, *, page_size: int | None = None, lister: Lister | None = None) -> None:
        super().__init__()
        self.source = source
        self.page_size = page_size
        self._lister: Lister = lister or list_resources
        # Re-entrant, and held while a listing's result is published: a refresh in another thread waits for
        # that moment to pass, so a stale result can never land after the newer listing's reset.
        self._lock = threading.RLock()
        self._generation = 0
        self._cancel: threading.Event | None = None
        self.listing: Future[bool] | None = None
        # The source builds a new session on every switch (and on a reload that changes the
        # profile's keys): this sees each switch once, when the new session is in place.
        source.observe(self._on_session, names="session")

    def close(self) -> None:
        """Stop following the source and drop a listing still running."""
        try:
            self.source.unobserve(self._on_session, names="session")
        except ValueError:
            pass  # closed twice
        with self._lock:
            self._generation += 1
            if self._cancel is not None:
                self._cancel.set()

    def _on_session(self, _change: Any) -> None:
        self.refresh()

    def refresh(self) -> Future[bool]:
        """List again for the source's current selection (a future: ``True`` once shown)."""
        future: Future[bool] = Future()
        with self._lock:
            self._generation += 1
            generation = self._generation
            if self._cancel is not None:
                self._cancel.set()  # the stale listing stops at its next page
            cancel = self._cancel = threading.Event()
            self.listing = future
            session, profile, region = self.source.session, self.source.profile, self.source.region
            with self.hold_trait_notifications():  # the old rows go in the same step as the new name comes
                self.shown_profile, self.shown_region = profile, region
                self.functions = self.buckets = None
                self.has_session = session is not None
                self.loading = session is not None
        if session is None:
            future.set_result(True)
            return future
        threading.Thread(
            target=self._load, args=(generation, session, region, cancel, future), daemon=True, name="awswidget-inventory"
        ).start()
        return future

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the latest listing; ``True`` if it is published within ``timeout`` seconds."""
        while True:
            with self._lock:
                future = self.listing
            if future is None:
                return True
            try:
                shown = future.result(timeout)
            except concurrent.futures.TimeoutError:
                return False
            with self._lock:
                if future is self.listing:
                    return shown
            # A newer listing started meanwhile: wait for that one instead.

    def _load(self, generation: int, session: Any, region: str | None, cancel: threading.Event, future: Future[bool]) -> None:
        inventory: Inventory | None
        try:
            inventory = self._lister(session, page_size=self.page_size, cancel=cancel)
        except ListingCancelled:
            inventory = None
        except Exception as exc:  # a lister that fails must still end the loading state
            log.warning("ResourceInventory: listing failed: %s", exc)
            reason = f"Listing failed ({type(exc).__name__})."
            inventory = Inventory(
                region,
                Section("Lambda functions", FUNCTION_COLUMNS, error=reason),
                Section("S3 buckets", BUCKET_COLUMNS, error=reason),
            )
        with self._lock:
            current = generation == self._generation and inventory is not None
            if current and inventory is not None:
                with self.hold_trait_notifications():
                    self.functions, self.buckets = inventory.functions, inventory.buckets
                    self.loading = False
        future.set_result(current)
