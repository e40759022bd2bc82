"""Subcommands of the ``babyaipp`` CLI, one module each (see babyaipp.cli)."""

from __future__ import annotations

import argparse


def seed(text: str) -> int:
    """argparse type of every ``--seed``: a non-negative integer (gymnasium's seeds), so a bad
    one is a one-line usage error (exit 2) rather than a traceback from ``reset``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be a non-negative integer")
    return value


def add_vectorization_argument(
    parser: argparse.ArgumentParser, default: str, what: str = ""
) -> None:
    """``--vectorization {sync,async}`` of every command that evaluates: how its vector env runs
    (the episodes are the same either way). ``what`` prefixes the help (e.g. "evaluation: ")."""
    modes = {
        "async": "one worker process per sub-env",
        "sync": "every sub-env in this process",
    }
    choices = (default, *(mode for mode in modes if mode != default))
    described = "; ".join(
        f"{mode}{' (default)' if mode == default else ''}: {modes[mode]}" for mode in choices
    )
    parser.add_argument(
        "--vectorization",
        default=default,
        choices=choices,
        help=f"{what}{described} (same episodes either way)",
    )
