"""Subcommands of the ``babyaipp`` CLI, one module each (see babyaipp.cli)."""
