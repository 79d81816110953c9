"""``%aws scan``: what this kernel has run that holds AWS keys; ``%aws scan PATH…``: the files' findings."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

from .detect import mask_value
from .kernel import KernelScan, scan_kernel

__all__ = ["report_kernel", "run"]


def report_kernel(scan: KernelScan, out: TextIO) -> None:
    """Print a kernel scan for a person: each finding (masked), then what moving each key pair means."""
    shown = [f for f in scan.findings if f.kind != "unique_id"]
    if not shown:
        print("No AWS keys in this kernel's executed cells or its environment.", file=out)
        return
    for finding in shown:
        print(finding.describe(), file=out)
    for move in scan.moves:
        if move.example:
            continue
        where = ", ".join([f"In [{n}]" for n in move.execution_counts] + (["the environment"] if move.from_environment else []))
        print(
            f"\nKey {mask_value('access_key_id', move.access_key_id)} ({where}): move it into a profile with the "
            "setup form (its 'Move into a profile'), then run the rewritten cells instead.",
            file=out,
        )
    if scan.leaks:
        print("\nThe keys are also in this kernel's history (In, _ih) until it restarts; deactivate any key that "
              "reached a saved notebook or git.", file=out)


def run(shell: Any, args: Sequence[str], out: TextIO | None = None) -> int:
    """Run ``%aws scan [PATH…]`` in ``shell``; returns the scan's exit status."""
    out = out or sys.stdout
    if args:
        from .cli import main

        return main(list(args), out=out, err=out)
    scan = scan_kernel(shell)
    report_kernel(scan, out)
    return 1 if scan.leaks else 0
