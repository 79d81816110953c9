"""The reward after connecting: the account's Lambda functions and S3 buckets.

``ResourceExplorer`` lists them for the manager's selection in a background
thread (:func:`awswidget.resources.list_resources` does the AWS calls) and
lists again whenever the manager switches. Every load has a generation number;
a result that comes back after a newer load started is dropped, so a table
never shows one account's resources under another profile's name.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from ipywidgets import HTML, Button, HBox, Layout, VBox
from traitlets import Bool, Instance, Int, Unicode, observe

from .. import resources
from ..manager import CredentialsManager
from ..resources import Inventory, ListingCancelled, Section
from ._common import escape, log, resolve_manager, shows_errors

__all__ = ["ResourceExplorer", "connect"]

Lister = Callable[..., Inventory]
_ERROR_COLOR = "#b00020"


def _heading(title: str, profile: str | None) -> str:
    owner = f" · profile {escape(profile)}" if profile else ""
    return f"<h4 style='margin:0.6em 0 0.3em'>{escape(title)}{owner}</h4>"


def _note(title: str, profile: str | None, text: str) -> str:
    """A section heading with a line of text instead of a table (loading, nothing found)."""
    return f"{_heading(title, profile)}<div><i>{escape(text)}</i></div>"


def _table(section: Section, profile: str | None, max_rows: int) -> str:
    """One section as HTML: a heading naming the profile, then the rows or the error."""
    if section.error:
        return f"{_heading(section.title, profile)}<div style='color:{_ERROR_COLOR}'>{escape(section.error)}</div>"
    if not section.rows:
        return _note(section.title, profile, "None.")
    shown = section.rows[:max_rows]
    header = "".join(f"<th style='text-align:left;padding-right:1.5em'>{escape(c)}</th>" for c in section.columns)
    body = "".join(
        "<tr>" + "".join(f"<td style='padding-right:1.5em'>{escape(cell)}</td>" for cell in row) + "</tr>" for row in shown
    )
    more = ""
    if len(section.rows) > len(shown):
        more = f"<div><i>Showing the first {len(shown):,} of {len(section.rows):,}.</i></div>"
    return f"{_heading(section.title, profile)}<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>{more}"


def _report(self: ResourceExplorer, message: str) -> None:
    self.status.value = f"<span style='color:{_ERROR_COLOR}'>{escape(message)}</span>"


class ResourceExplorer(VBox):
    """Lambda functions and S3 buckets of the selected profile and region.

    Parameters
    ----------
    manager
        The manager to follow (default: :func:`awswidget.default_manager`).
    page_size
        Items per API page (``None``: the service's default).
    max_rows
        Rows shown per table; the rest are counted.
    lister
        What lists an account (default: :func:`awswidget.resources.list_resources`);
        called in a worker thread as ``lister(session, page_size=..., cancel=...)``.

    Attributes
    ----------
    refresh_button, status, functions_table, buckets_table
        The children: a button, the loading/result line and one HTML table per section.
    functions, buckets
        The :class:`~awswidget.resources.Section` on display (``None`` while loading).
    shown_profile, shown_region
        Whose resources the tables show.
    listing
        The :class:`~concurrent.futures.Future` of the latest listing: ``True``
        once it is on display, ``False`` if a newer one replaced it.

    Examples
    --------
    >>> explorer = ResourceExplorer()      # doctest: +SKIP
    >>> explorer.wait(30)                  # the first load, from a script
    >>> explorer.functions.rows
    """

    #: The profile and region the tables below belong to.
    shown_profile = Unicode(None, allow_none=True)
    shown_region = Unicode(None, allow_none=True)
    functions = Instance(Section, allow_none=True, help="The Lambda section on display.")
    buckets = Instance(Section, allow_none=True, help="The S3 section on display.")
    loading = Bool(False, help="A listing is running.")
    max_rows = Int(500)

    def __init__(
        self,
        manager: CredentialsManager | None = None,
        *,
        page_size: int | None = None,
        max_rows: int = 500,
        lister: Lister | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.manager = resolve_manager(manager)
        self.page_size = page_size
        self.max_rows = max_rows
        self._lister: Lister = lister or resources.list_resources
        self._lock = threading.RLock()  # re-entrant: an observer of ours may call refresh()
        self._generation = 0
        self._cancel: threading.Event | None = None
        self.listing: Future[bool] | None = None

        self.title = HTML("<b>Resources</b>")
        self.refresh_button = Button(description="Refresh", icon="refresh", tooltip="List again", layout=Layout(width="auto"))
        self.status = HTML()
        self.functions_table = HTML(layout=Layout(max_height="320px", overflow="auto"))
        self.buckets_table = HTML(layout=Layout(max_height="320px", overflow="auto"))
        header = HBox([self.title, self.refresh_button], layout=Layout(align_items="center"))
        self.children = (header, self.status, self.functions_table, self.buckets_table)
        self._parts = (*header.children, *self.children)

        self.refresh_button.on_click(self._on_refresh)
        # The manager builds a new session on every profile or region switch (and on a
        # reload that changes the profile's keys), so this sees each switch once, and only
        # when the new session is already in place.
        self.manager.observe(self._on_refresh, names="session")
        self.refresh()

    def __repr__(self) -> str:
        def count(section: Section | None) -> str:
            if section is None:
                return "…"
            return "error" if section.error else str(len(section.rows))

        return (
            f"<ResourceExplorer profile={self.shown_profile!r} region={self.shown_region!r} "
            f"loading={self.loading} functions={count(self.functions)} buckets={count(self.buckets)}>"
        )

    # ------------------------------------------------------------------ loading

    def refresh(self) -> Future[bool]:
        """List again for the manager's current selection.

        Returns a future that resolves to ``True`` once this listing is on
        display, or ``False`` if a newer one replaced it first.
        """
        future: Future[bool] = Future()
        with self._lock:
            self._generation += 1
            generation = self._generation
            if self._cancel is not None:
                self._cancel.set()  # the stale listing stops at its next page
            cancel = self._cancel = threading.Event()
            self.listing = future
            session, profile, region = self.manager.session, self.manager.profile, self.manager.region
            self._show_loading(profile, region, session is not None)
        if session is None:
            with self._lock:
                if generation == self._generation:
                    self.loading = False
            future.set_result(generation == self._generation)
            return future
        worker = threading.Thread(
            target=self._load,
            args=(generation, session, profile, region, cancel, future),
            daemon=True,
            name="awswidget-explorer",
        )
        worker.start()
        return future

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the latest listing; ``True`` if it is on display within ``timeout`` seconds."""
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

    def _load(
        self,
        generation: int,
        session: Any,
        profile: str | None,
        region: str | None,
        cancel: threading.Event,
        future: Future[bool],
    ) -> None:
        inventory: Inventory | None
        try:
            inventory = self._lister(session, page_size=self.page_size, cancel=cancel)
        except ListingCancelled:
            inventory = None
        except Exception as exc:  # a lister that fails must still end the loading state
            log.warning("ResourceExplorer: listing failed: %s", exc)
            reason = f"Listing failed ({type(exc).__name__})."
            inventory = Inventory(
                region,
                Section("Lambda functions", resources.FUNCTION_COLUMNS, error=reason),
                Section("S3 buckets", resources.BUCKET_COLUMNS, error=reason),
            )
        shown = False
        with self._lock:
            if generation == self._generation and inventory is not None:
                self._show(inventory)
                shown = True
        future.set_result(shown)

    # ------------------------------------------------------------------ display

    def _show_loading(self, profile: str | None, region: str | None, has_session: bool) -> None:
        # Called with the lock held: the old rows go in the same step as the new name comes.
        with self.hold_trait_notifications():
            self.shown_profile, self.shown_region = profile, region
            self.functions = self.buckets = None
            self.loading = has_session
        where = f"{escape(profile)} · {escape(region or 'no region')}" if profile else ""
        self.title.value = f"<b>Resources</b> {where}"
        if not has_session:
            self.status.value = "<i>No profile is selected: choose one to see its resources.</i>"
            self.functions_table.value = self.buckets_table.value = ""
            return
        self.status.value = f"⏳ Loading Lambda functions and S3 buckets of {escape(profile or '')}…"
        lambda_title = f"Lambda functions in {region}" if region else "Lambda functions"
        self.functions_table.value = _note(lambda_title, profile, "Loading…")
        self.buckets_table.value = _note("S3 buckets", profile, "Loading…")

    def _show(self, inventory: Inventory) -> None:
        # Called with the lock held, for the listing started for shown_profile.
        with self.hold_trait_notifications():
            self.functions, self.buckets = inventory.functions, inventory.buckets
            self.loading = False
        self._render_tables()
        counts = []
        for section, noun in ((inventory.functions, "function"), (inventory.buckets, "bucket")):
            if section.error is None:
                counts.append(f"{len(section.rows):,} {noun}{'' if len(section.rows) == 1 else 's'}")
        self.status.value = escape(f"{', '.join(counts)} listed." if counts else "Nothing could be listed: see below.")

    def _render_tables(self) -> None:
        for section, table in ((self.functions, self.functions_table), (self.buckets, self.buckets_table)):
            if section is not None:
                table.value = _table(section, self.shown_profile, self.max_rows)

    @observe("max_rows")
    def _on_max_rows(self, _change: Any) -> None:
        if hasattr(self, "_lock"):  # set again in __init__, before the tables exist
            with self._lock:
                self._render_tables()

    # ------------------------------------------------------------------ callbacks

    @shows_errors(_report)
    def _on_refresh(self, _event: Any) -> None:
        """The Refresh button, or a new session on the manager."""
        self.refresh()

    def close(self) -> None:
        """Stop following the manager, drop a listing still running, close the child widgets."""
        manager = getattr(self, "manager", None)  # close() also runs from __del__, maybe half-built
        if manager is not None:
            with contextlib.suppress(ValueError):  # closed twice
                manager.unobserve(self._on_refresh, names="session")
            with self._lock:
                self._generation += 1
                if self._cancel is not None:
                    self._cancel.set()
        for child in getattr(self, "_parts", ()):
            child.close()
        super().close()


def connect(manager: CredentialsManager | None = None) -> VBox:
    """Display a profile picker with a resource explorer below it, and return both in a VBox.

    >>> ui = awswidget.connect()        # doctest: +SKIP
    """
    from IPython.display import display

    from .picker import ProfilePicker

    manager = resolve_manager(manager)
    box = VBox([ProfilePicker(manager), ResourceExplorer(manager)])
    display(box)
    return box
