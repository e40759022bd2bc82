"""The ``babyaipp`` command. Each subcommand lives in its own module under babyaipp.commands.

A command module defines ``add_parser(subparsers)``, which adds its parser and sets
``func`` (called with the parsed args; its return value is the exit code). Command modules
import heavy dependencies (torch, pygame, matplotlib) inside ``func``, so that ``babyaipp list``
stays fast and ``import babyaipp`` stays torch-free.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading

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


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM, so that ``finally`` blocks close worker
    processes as they do on Ctrl-C (a BaseException, as KeyboardInterrupt is)."""


@contextlib.contextmanager
def _sigterm_raises():
    """While in the block, SIGTERM raises :class:`Terminated` (if it had the default action)."""

    def handler(signum, frame):
        raise Terminated

    installed = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    )
    if installed:
        signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        if installed:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def main(argv: list[str] | None = None) -> int:
    """Run a command; its exit code. Errors are one line and exit 2; Ctrl-C exits 130 and
    SIGTERM 143 (128 + the signal), after the command's clean-up, without a traceback."""
    args = build_parser().parse_args(argv)
    try:
        with _sigterm_raises():
            return int(args.func(args) or 0)
    except (CommandError, ValueError, FileNotFoundError) as error:
        print(f"babyaipp {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"babyaipp {args.command}: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except Terminated:
        print(f"babyaipp {args.command}: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except BrokenPipeError:  # `babyaipp list | head`: the reader left, which is not an error
        # Point stdout at devnull so that the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
