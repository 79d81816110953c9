"""``awswidget scan PATH…``: find AWS credentials in notebooks and text files (a pre-commit hook).

Exit status: 0 nothing found (AWS's documented example keys alone do not fail), 1 a credential was found
(or ``--fix`` changed a file, so that pre-commit asks for a new ``git add``), 2 usage error (no such path) or a file that could not be read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .detect import ScanError
from .files import scan_paths

__all__ = ["EXIT_CLEAN", "EXIT_FOUND", "EXIT_USAGE", "main"]

EXIT_CLEAN, EXIT_FOUND, EXIT_USAGE = 0, 1, 2

_HINT = (
    "Move keys into a profile (the awswidget setup form, or `aws configure --profile NAME`), then use "
    "`m.client(...)` or AWS_PROFILE=NAME instead, and deactivate the keys that were exposed (IAM console)."
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="awswidget scan",
        description="Find AWS credentials in notebooks (cell sources, outputs, widget state, attachments) and text files.",
        epilog="Exit status: 0 clean (documented example keys do not count), 1 credentials found, 2 usage error.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files and folders (folders are searched recursively)")
    p.add_argument("--fix", action="store_true", help="remove outputs and widget state that carry a secret (sources are left alone)")
    p.add_argument("-v", "--verbose", action="store_true", help="also list IAM unique IDs (AIDA…, AROA…), which are not credentials")
    return p


def _usage_error(message: str, err: TextIO) -> int:
    print(f"awswidget scan: {message}", file=err)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run ``awswidget scan``; returns the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed its message
        return EXIT_USAGE if exc.code else EXIT_CLEAN
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        return _usage_error(f"no such file or folder: {', '.join(missing)}", err)
    result = scan_paths(args.paths)
    changed = False
    if args.fix:
        from .fix import fix_notebook_file

        dirty = sorted({f.path for f in result.leaks if f.path and f.path.endswith(".ipynb") and f.where != "source"})
        for path in dirty:
            try:
                report = fix_notebook_file(path)
            except ScanError as exc:
                result.errors.append(str(exc))
                continue
            changed = changed or report.changed
            if report.summary():
                print(report.summary(), file=out)
        if changed:
            result = scan_paths(args.paths)
    shown = [f for f in result.findings if args.verbose or f.kind != "unique_id"]
    for finding in shown:
        print(finding.describe(), file=out)
    for error in result.errors:
        print(f"awswidget scan: {error}", file=err)
    leaks = result.leaks
    examples = sum(1 for f in result.findings if f.example)
    if leaks:
        files = len({f.path for f in leaks})
        print(f"{len(leaks)} credential{'s' if len(leaks) != 1 else ''} in {files} file{'s' if files != 1 else ''}"
              f" ({result.files} scanned). {_HINT}", file=out)
        return EXIT_FOUND
    note = f" ({examples} documented example key{'s' if examples != 1 else ''}, not counted)" if examples else ""
    if result.errors:
        return EXIT_USAGE  # a file that could not be read was not checked: not "clean"
    print(f"No AWS credentials in {result.files} file{'s' if result.files != 1 else ''}{note}.", file=out)
    return EXIT_FOUND if changed else EXIT_CLEAN
