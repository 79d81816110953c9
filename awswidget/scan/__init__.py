"""Find AWS keys where notebooks leak them, and help move them into a profile.

The core has no widget import. Entry points:

- :func:`find_in_text`, :func:`scan_notebook`, :func:`scan_paths`: findings (masked) in text, a notebook,
  files and folders; ``awswidget scan PATH…`` is :mod:`awswidget.scan.cli`.
- :func:`clean_notebook`, :func:`fix_notebook_file`: drop outputs and widget state that carry a secret.
- :func:`scan_kernel`: this kernel's executed cells and environment → findings and :class:`KeyMove` objects
  (the keys, masked in repr, for the setup form, and what to run instead once they are in a profile).
- :func:`awswidget.scan.hook.pre_save_hook`: the Jupyter server save hook.
"""

from __future__ import annotations

from .detect import KINDS, Finding, ScanError, find_in_text, mask_value
from .files import ScanResult, scan_file, scan_paths
from .fix import FixReport, clean_notebook, fix_notebook_file
from .kernel import KernelScan, KeyMove, keys_from_environment, scan_history, scan_kernel, watch
from .notebook import scan_notebook, scan_notebook_bytes
from .rewrite import Rewrite, rewrite_source

__all__ = [
    "KINDS",
    "Finding",
    "FixReport",
    "KernelScan",
    "KeyMove",
    "Rewrite",
    "ScanError",
    "ScanResult",
    "clean_notebook",
    "find_in_text",
    "fix_notebook_file",
    "keys_from_environment",
    "mask_value",
    "rewrite_source",
    "scan_file",
    "scan_history",
    "scan_kernel",
    "scan_notebook",
    "scan_notebook_bytes",
    "scan_paths",
    "watch",
]
