"""Every command-line option says what it does: walk the whole ``babyaipp`` parser tree."""

from __future__ import annotations

import argparse

import pytest

from babyaipp.cli import build_parser


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command path, parser) for the parser and every sub-command below it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


COMMANDS = dict(_commands(build_parser()))


def test_the_walk_finds_the_commands():
    for command in [("train",), ("describe",), ("leaderboard", "compare"), ("bank", "check")]:
        assert command in COMMANDS, sorted(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS), ids=lambda path: " ".join(path) or "babyaipp")
def test_every_option_and_argument_has_help(command):
    parser = COMMANDS[command]
    missing = [
        "/".join(action.option_strings) or action.dest
        for action in parser._actions
        if not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction))
        and not (action.help or "").strip()
    ]
    assert not missing, f"babyaipp {' '.join(command)}: no help text for {missing}"
