"""The ``awswidget`` command.

``awswidget demo``     the notebooks in JupyterLab, on made-up accounts of a local AWS endpoint
``awswidget sandbox``  only the sandbox and its endpoint, left running (prints shell exports)
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import __version__

_INSTALL_HINT = "Install them with:  pip install 'awswidget[demo]'   (from a clone: pip install -e '.[demo]')"

_REQUIREMENTS = {
    "jupyterlab": ("jupyterlab", "JupyterLab"),
    "moto": ("moto.server", "moto's server (moto[server])"),
}


def missing(names: Sequence[str]) -> list[str]:
    """The human names of the requirements among ``names`` that cannot be imported."""
    absent = []
    for name in names:
        module, label = _REQUIREMENTS[name]
        try:
            importlib.import_module(module)
        except ImportError:
            absent.append(label)
    return absent


def _require(command: str, names: Sequence[str]) -> bool:
    absent = missing(names)
    if absent:
        print(f"awswidget {command} needs {' and '.join(absent)}, which {'is' if len(absent) == 1 else 'are'} not installed.", file=sys.stderr)
        print(_INSTALL_HINT, file=sys.stderr)
    return not absent


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="awswidget", description="Connect Jupyter notebooks to AWS: demos and tools.")
    parser.add_argument("--version", action="version", version=f"awswidget {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="open the example notebooks in JupyterLab, on made-up accounts of a local AWS endpoint",
        description=(
            "Create a sandbox folder (demo config and credentials; your ~/.aws is never used), start a local "
            "AWS endpoint (moto) seeded with made-up accounts, and open the example notebooks in JupyterLab. "
            "Ctrl-C stops everything."
        ),
    )
    keep = demo.add_mutually_exclusive_group()
    keep.add_argument("--keep", dest="keep", action="store_true", default=True, help="keep the sandbox folder on exit (default)")
    keep.add_argument("--clean", dest="keep", action="store_false", help="remove the sandbox folder on exit")
    demo.add_argument("--port", type=int, default=None, help="JupyterLab's port on 127.0.0.1 (default: a free one)")
    demo.add_argument("--no-browser", dest="browser", action="store_false", help="do not open a web browser")
    demo.add_argument("--sandbox", metavar="FOLDER", default=None, help="the sandbox folder (default: a new temporary folder)")
    demo.add_argument("--notebooks", metavar="FOLDER", default=None, help="the notebooks to open (default: the ones installed with awswidget)")

    sandbox = commands.add_parser(
        "sandbox",
        help="create a sandbox and leave its local endpoint running; print shell exports",
        description=(
            "Create a sandbox folder and start its local AWS endpoint in the background, then print the "
            "environment that uses it, for a POSIX shell:  eval \"$(awswidget sandbox --path FOLDER)\""
        ),
    )
    sandbox.add_argument("--path", metavar="FOLDER", default=None, help="the sandbox folder (default: a new temporary folder)")
    commands.add_parser("scan", help="find AWS keys in notebooks and text files (see: awswidget scan --help)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``awswidget`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["scan"]:  # its own parser and exit codes
        from .scan.cli import main as scan_main

        return scan_main(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        if not _require("demo", ["jupyterlab", "moto"]):
            return 1
        from .demo import run_demo

        try:
            return run_demo(keep=args.keep, port=args.port, open_browser=args.browser, sandbox_path=args.sandbox, notebooks=args.notebooks)
        except RuntimeError as exc:
            print(f"awswidget demo: {exc}", file=sys.stderr)
            return 1
    if args.command == "sandbox":
        if not _require("sandbox", ["moto"]):
            return 1
        from .demo import shell_exports, start_sandbox

        try:
            sandbox = start_sandbox(args.path)
        except RuntimeError as exc:
            print(f"awswidget sandbox: {exc}", file=sys.stderr)
            return 1
        print(f"awswidget sandbox: {sandbox.path}, local AWS endpoint {sandbox.endpoint_url}", file=sys.stderr)
        sys.stdout.write(shell_exports(sandbox))
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
