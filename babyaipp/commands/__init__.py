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
