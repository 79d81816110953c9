"""The reward after connecting: the account's Lambda functions and S3 buckets.

``ResourceExplorer`` renders a :class:`~awswidget.inventory.ResourceInventory`,
the core service that lists them for the manager's selection in the background
and drops results that come back after a switch.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from ipywidgets import HTML, Button, HBox, Layout, VBox
from traitlets import Int, observe

from ..inventory import Lister, ResourceInventory
from ..manager import CredentialsManager
from ..resources import Section
from ._common import COLORS, escape, resolve_manager, shows_errors

__all__ = ["ResourceExplorer", "connect"]



def _heading(title: str, profile: str | None) -> str:
    owner = f" · profile {escape(profile)}" if profile else ""
    return f"<h4 style='margin:0.6em 0 0.3em'>{escape(title)}{owner}</h4>"


def _note(title: str, profile: str | None, text: str) -> str:
    """A section heading with a line of text instead of a table (loading, nothing found)."""
    return f"{_heading(title, profile)}<div><i>{escape(text)}</i></div>"


def _table(section: Section, profile: str | None, max_rows: int) -> str:
    """One section as HTML: a heading naming the profile, then the rows or the error."""
    if section.error:
        return f"{_heading(section.title, profile)}<div style='color:{COLORS['error']}'>{escape(section.error)}</div>"
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
    self.status.value = f"<span style='color:{COLORS['error']}'>{escape(message)}</span>"


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
    inventory
        The :class:`~awswidget.inventory.ResourceInventory` shown: its ``functions``,
        ``buckets``, ``shown_profile``, ``shown_region``, ``loading`` and ``listing``
        are also readable here.

    Examples
    --------
    >>> explorer = ResourceExplorer()      # doctest: +SKIP
    >>> explorer.wait(30)                  # the first load, from a script
    >>> explorer.functions.rows
    """

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
        self.max_rows = max_rows
        self.title = HTML("<b>Resources</b>")
        self.refresh_button = Button(description="Refresh", icon="refresh", tooltip="List again", layout=Layout(width="auto"))
        self.status = HTML()
        self.functions_table = HTML(layout=Layout(max_height="320px", overflow="auto"))
        self.buckets_table = HTML(layout=Layout(max_height="320px", overflow="auto"))
        header = HBox([self.title, self.refresh_button], layout=Layout(align_items="center"))
        self.children = (header, self.status, self.functions_table, self.buckets_table)
        self._parts = (*header.children, *self.children)
        self.inventory = ResourceInventory(self.manager, page_size=page_size, lister=lister)
        self.inventory.observe(self._on_inventory, names=["shown_profile", "shown_region", "functions", "buckets", "loading"])
        self.refresh_button.on_click(self._on_refresh)
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

    # ------------------------------------------------------------------ the inventory's state

    shown_profile = property(lambda self: self.inventory.shown_profile, doc="Whose resources the tables show.")
    shown_region = property(lambda self: self.inventory.shown_region)
    functions = property(lambda self: self.inventory.functions, doc="The Lambda section on display.")
    buckets = property(lambda self: self.inventory.buckets, doc="The S3 section on display.")
    loading = property(lambda self: self.inventory.loading)
    listing = property(lambda self: self.inventory.listing)

    def refresh(self) -> Future[bool]:
        """List again for the manager's current selection (see :meth:`ResourceInventory.refresh`)."""
        return self.inventory.refresh()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the latest listing; ``True`` if it is on display within ``timeout`` seconds."""
        return self.inventory.wait(timeout)

    # ------------------------------------------------------------------ display

    @shows_errors(_report)
    def _on_inventory(self, _change: Any) -> None:
        self._render()

    def _render(self) -> None:
        inv = self.inventory
        profile, region = inv.shown_profile, inv.shown_region
        where = f"{escape(profile)} · {escape(region or 'no region')}" if profile else ""
        self.title.value = f"<b>Resources</b> {where}"
        if not inv.has_session:
            self.status.value = "<i>No profile is selected: choose one to see its resources.</i>"
            self.functions_table.value = self.buckets_table.value = ""
            return
        if inv.functions is None or inv.buckets is None:
            self.status.value = f"⏳ Loading Lambda functions and S3 buckets of {escape(profile or '')}…"
            self.functions_table.value = _note(f"Lambda functions in {region}" if region else "Lambda functions", profile, "Loading…")
            self.buckets_table.value = _note("S3 buckets", profile, "Loading…")
            return
        self._render_tables()
        counts = []
        for section, noun in ((inv.functions, "function"), (inv.buckets, "bucket")):
            if section.error is None:
                counts.append(f"{len(section.rows):,} {noun}{'' if len(section.rows) == 1 else 's'}")
        self.status.value = escape(f"{', '.join(counts)} listed." if counts else "Nothing could be listed: see below.")

    def _render_tables(self) -> None:
        for section, table in ((self.functions, self.functions_table), (self.buckets, self.buckets_table)):
            if section is not None:
                table.value = _table(section, self.shown_profile, self.max_rows)

    @observe("max_rows")
    def _on_max_rows(self, _change: Any) -> None:
        if hasattr(self, "inventory"):  # set in __init__, before the tables exist
            self._render_tables()

    # ------------------------------------------------------------------ callbacks

    @shows_errors(_report)
    def _on_refresh(self, _button: Any) -> None:
        self.refresh()

    def close(self) -> None:
        """Stop following the manager, drop a listing still running, close the child widgets."""
        inventory = getattr(self, "inventory", None)  # close() also runs from __del__, maybe half-built
        if inventory is not None:
            inventory.unobserve_all()
            inventory.close()
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
