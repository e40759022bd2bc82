"""The ``babyaipp`` command. Each subcommand lives in its own module under babyaipp.commands.

A command module defines ``add_parser(subparsers)``, which adds its parser and sets
``func`` (called with the parsed args; its return value is the exit code). Command modules
import heavy dependencies (torch, pygame, matplotlib) inside ``func``, so that ``babyaipp list``
stays fast and ``import babyaipp`` stays torch-free.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES: tuple[str, ...] = (
    "babyaipp.commands.catalog",
    "babyaipp.commands.play",
    "babyaipp.engine.cli",
    "babyaipp.commands.evaluate",
    "babyaipp.commands.leaderboard",
    "babyaipp.commands.train",
    "babyaipp.commands.oracle",
    "babyaipp.commands.reproduce",
    "babyaipp.commands.report",
)


class CommandError(Exception):
    """A user-facing error: printed as one line to stderr, exit code 2, no traceback."""


def build_parser() -> argparse.ArgumentParser:
    from babyaipp import __version__

    parser = argparse.ArgumentParser(
        prog="babyaipp", description="BabyAI levels with floor dynamics told in text."
    )
    parser.add_argument("--version", action="version", version=f"babyaipp {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CommandError, ValueError, FileNotFoundError) as error:
        print(f"babyaipp {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
