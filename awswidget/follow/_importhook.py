"""A one-shot hook: run a callback right after a module is first imported (no import of it here).

A follower that saw a switch before its library was imported applies the selection the moment
the library arrives, so even its first read uses it. The hook is one finder at the front of
``sys.meta_path`` that answers for one name only and leaves as soon as that name is looked up.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["when_imported"]

log = logging.getLogger(__name__)


def when_imported(name: str, then: Callable[[Any], None]) -> None:
    """Call ``then(module)`` once the top-level module ``name`` has been imported (at once if it is)."""
    module = sys.modules.get(name)
    if module is not None:
        then(module)
        return
    for finder in sys.meta_path:
        if isinstance(finder, _Hook) and finder.name == name:
            finder.callbacks.append(then)
            return
    sys.meta_path.insert(0, _Hook(name, then))


class _Hook(importlib.abc.MetaPathFinder):
    def __init__(self, name: str, then: Callable[[Any], None]) -> None:
        self.name = name
        self.callbacks = [then]

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run, callbacks = loader.exec_module, self.callbacks

        def exec_module(module: Any) -> None:
            run(module)
            for then in callbacks:
                try:
                    then(module)
                except Exception as error:  # never break the user's import
                    log.warning("awswidget: %s could not follow the selection (%s)", fullname, type(error).__name__)

        # On this spec's own loader object: the module keeps its real loader (resources, metadata).
        loader.exec_module = exec_module
        return spec
