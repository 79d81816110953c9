"""``%load_ext awswidget``: the ``%aws`` line magic, the keyboard path to a profile.

::

    %aws                      display the profile picker
    %aws PROFILE [REGION]     switch the process-wide manager (Tab completes names)
    %aws whoami               verify the selection with STS and print who it is
    %aws list                 the profiles, their kinds and regions
    %aws scan [PATH…]         AWS keys in this kernel's executed cells and environment (or in files)

Errors are printed as one line on stderr, never as a traceback.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class

from .manager import CredentialsManager, default_manager
from .validate import known_regions, validate_region

__all__ = ["AwsMagics", "load_ipython_extension"]

SUBCOMMANDS = ("list", "scan", "whoami")
USAGE = "usage: %aws [PROFILE [REGION] | whoami | list | scan [PATH…]]"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


@magics_class
class AwsMagics(Magics):
    """The ``%aws`` magic, bound to ``manager`` (default: the process-wide manager)."""

    def __init__(self, shell: Any = None, manager: CredentialsManager | None = None) -> None:
        super().__init__(shell)
        self._manager = manager

    @property
    def manager(self) -> CredentialsManager:
        # Resolved per call: the process-wide manager can be replaced (tests do).
        return self._manager if self._manager is not None else default_manager()

    @line_magic
    def aws(self, line: str = "") -> None:
        """Switch AWS profiles and see who you are.

        ::

            %aws                      display the profile picker
            %aws PROFILE [REGION]     switch (Tab completes profile and region names)
            %aws whoami               verify the selection with STS and print who it is
            %aws list                 the profiles, their kinds and regions ("*": selected)
        """
        try:
            args = shlex.split(line)
            if not args:
                self._picker()
            elif args == ["whoami"]:
                self._whoami()
            elif args == ["list"]:
                self._list()
            elif args[:1] == ["scan"]:
                from .scan.magic import run

                run(self.shell, args[1:])
            elif args[0] not in SUBCOMMANDS and len(args) <= 2:
                self._switch(args[0], args[1] if len(args) == 2 else None)
            else:
                print(f"%aws: {USAGE}", file=sys.stderr)
        except Exception as exc:  # a magic answers in one line; the notebook is not the place for a traceback
            print(f"%aws: {_one_line(exc)}", file=sys.stderr)

    def _picker(self) -> None:
        from IPython.display import display

        from .widgets import ProfilePicker

        display(ProfilePicker(self.manager))

    def _switch(self, profile: str, region: str | None) -> None:
        m = self.manager
        if region is not None:
            region, _ = validate_region(region)  # before switching: a bad region must not leave half a switch
        m.profile = profile
        if region is not None and region != m.region:
            m.region = region
        print(m.message)
        for warning in m.warnings:
            print(f"warning: {warning}", file=sys.stderr)

    def _whoami(self) -> None:
        m = self.manager
        identity = m.verify()
        print(identity.arn)
        print(f"account {identity.account} · {identity.principal_kind} {identity.name} · profile {m.profile} · region {m.region or '(none)'}")

    def _list(self) -> None:
        m = self.manager
        if not m.profiles:
            print(m.message)
            return
        rows = [("", "PROFILE", "KIND", "REGION")]
        for name in m.profiles:
            info = m.profile_info(name)
            rows.append(("*" if name == m.profile else "", name, info.kind_label, info.region or "-"))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())

    # ------------------------------------------------------------------ completion

    def complete(self, line: str) -> list[str]:
        """Candidates for the word being typed at the end of ``line`` (``"%aws pr"``)."""
        words = line.split()
        if line and not line[-1].isspace():
            words = words[:-1]  # the word being typed is not an argument yet
        position = len(words) - 1  # 0: the first argument
        if position == 0:
            return [*SUBCOMMANDS, *self.manager.profiles]
        if position == 1 and words[1] not in SUBCOMMANDS:
            return [r.name for r in known_regions(None)]
        return []


def _completer(magics: AwsMagics) -> Callable[[Any, Any], list[str]]:
    def complete(_shell: Any, event: Any) -> list[str]:
        return magics.complete(event.text_until_cursor)

    return complete


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%aws`` and its Tab completion in ``ipython``."""
    magics = AwsMagics(ipython)
    ipython.register_magics(magics)
    ipython.set_hook("complete_command", _completer(magics), str_key="%aws")
