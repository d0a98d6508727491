"""The ``segjupyter`` command line.

>>> segjupyter demo ./segjupyter-demo --size S      # build the demo workspace, print a summary
>>> segjupyter --version

Each command is a pair of functions: ``_add_<command>(subparsers)`` declares its arguments and
sets ``func`` to ``_run_<command>(args) -> int``. Exit codes: 0 ok, 1 failure (a
:class:`~segjupyter.errors.SegjupyterError`, printed as one line), 2 usage (argparse),
130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .errors import SegjupyterError
from .workspace.storage import RETAIL_FILE

DEFAULT_DEMO_PATH = "./segjupyter-demo"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command (also used by ``--help``)."""
    from . import __version__
    parser = argparse.ArgumentParser(
        prog="segjupyter",
        description="Customer segmentation in Jupyter: demo data, segment catalog, dashboards.")
    parser.add_argument("--version", action="version", version=f"segjupyter {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_demo(sub)
    # Catalog commands (refresh, list, export, snapshot); their work lives in
    # segjupyter/segments/commands.py.
    from .segments.commands import add_commands as _add_catalog_commands
    _add_catalog_commands(sub)
    # Face commands (dashboard, report, refresh-notebook); their work lives in
    # segjupyter/serve.py and segjupyter/report.py.
    from .report import add_commands as _add_report_commands
    from .serve import add_command as _add_dashboard_command
    _add_dashboard_command(sub)
    _add_report_commands(sub)
    return parser


# -- demo ------------------------------------------------------------------------------------
def _add_demo(sub) -> None:
    p = sub.add_parser(
        "demo", help="build the demo workspace and print its summary",
        description="Build (or reuse) a workspace holding the synthetic demo shop and print "
                    "its summary. A folder that already holds the same demo is reused unless "
                    "--force is given.")
    p.add_argument("path", nargs="?", default=DEFAULT_DEMO_PATH,
                   help=f"workspace folder (default: {DEFAULT_DEMO_PATH})")
    p.add_argument("--size", choices=("S", "M", "L"), default="S", type=str.upper,
                   help="S ~10k customers / 100k orders (default), M ~100k / 1M, L ~1M / 10M")
    p.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    p.add_argument("--force", action="store_true",
                   help="regenerate the data even if the folder already holds this demo")
    p.set_defaults(func=_run_demo)


def _run_demo(args) -> int:
    from . import demo
    path = Path(args.path).expanduser()
    if path.exists() and not path.is_dir():
        raise SegjupyterError(f"{path} is a file; the demo workspace is a folder")
    if path.is_dir() and any(path.iterdir()) and not (path / RETAIL_FILE).exists() \
            and not args.force:
        raise SegjupyterError(f"{path} is not empty and holds no workspace; choose a new "
                              "folder (or --force to build the demo into it anyway)")
    started = time.perf_counter()
    ws = demo.build(str(path), size=args.size, seed=args.seed, force=args.force)
    elapsed = time.perf_counter() - started
    print(ws)
    print(f"demo {args.size} (seed {args.seed}) ready in {elapsed:.1f} s at {ws.path}")
    ws.close()
    return 0


# -- entry point -----------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and return its exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version (0) and usage errors (2)
        return int(e.code or 0)
    try:
        return int(args.func(args) or 0)
    except SegjupyterError as e:
        print(f"segjupyter {args.command}: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # the folder cannot be created or written, disk full, ...
        print(f"segjupyter {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"segjupyter {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
