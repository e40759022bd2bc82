"""``babyaipp report``: learning curves, the results table and the reading probe of entries."""

from __future__ import annotations

import argparse
from pathlib import Path

from babyaipp.commands import add_vectorization_argument


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "report",
        help="learning curves (PNG), results table and reading probe (markdown) of entries",
        description=(
            "Read leaderboard entries written by `babyaipp reproduce` (results files and the "
            "training logs seed<k>/<Family>.csv) and render what a paper shows."
        ),
    )
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    def common(q) -> None:
        q.add_argument("entries", nargs="*", metavar="ENTRY", help="entry folders")
        q.add_argument(
            "--board",
            help="take every entry under BOARD/entries that has training logs (seed<k>/)",
        )

    q = sub.add_parser("curves", help="success vs frames, one panel per family (PNG)")
    common(q)
    q.add_argument("--out", required=True, help="the PNG to write")
    q.set_defaults(func=run_curves)

    q = sub.add_parser("table", help="success, return, length on Train/HeldOut/Test (markdown)")
    common(q)
    q.add_argument("--out", help="also write the table to this markdown file")
    q.set_defaults(func=run_table)

    q = sub.add_parser("probe", help="true vs shuffled vs empty text, paired drop with a CI")
    common(q)
    q.add_argument("--episodes", type=int, default=100, help="episodes per family and mode")
    q.add_argument("--split", default="HeldOut", help="split to probe on (default HeldOut)")
    q.add_argument("--families", help="comma-separated families (default: the suite's)")
    q.add_argument("--out", help="also write the table to this markdown file")
    q.add_argument("--json", help="also write every (entry, run, family) row as JSON")
    q.set_defaults(func=run_probe)

    q = sub.add_parser(
        "spot-check", help="quick verify: re-play the first episodes of each seed block"
    )
    common(q)
    q.add_argument("--episodes", type=int, default=5, help="episodes per sub-env block")
    add_vectorization_argument(q, "sync")
    q.set_defaults(func=run_spot_check)


def _entries(args: argparse.Namespace) -> list[Path]:
    from babyaipp.cli import CommandError

    entries = [Path(e) for e in args.entries]
    if args.board:
        folder = Path(args.board) / "entries"
        if not folder.is_dir():
            raise CommandError(f"no entries folder {folder}")
        entries += sorted(p for p in folder.iterdir() if p.is_dir() and any(p.glob("seed*/")))
    if not entries:
        raise CommandError("name entry folders or --board")
    missing = [str(e) for e in entries if not e.is_dir()]
    if missing:
        raise FileNotFoundError(f"no entry folders {missing}")
    return entries


def _write(path: str | None, text: str) -> None:
    if path:
        from babyaipp.io import atomic_write_text

        atomic_write_text(Path(path), text)
        print(f"wrote {path}")


def run_curves(args: argparse.Namespace) -> int:
    from babyaipp.eval.report import learning_curves

    print(f"wrote {learning_curves(_entries(args), args.out)}")
    return 0


def run_table(args: argparse.Namespace) -> int:
    from babyaipp.eval.report import results_table

    text = results_table(_entries(args))
    print(text, end="")
    _write(args.out, text)
    return 0


def run_probe(args: argparse.Namespace) -> int:
    import json

    from babyaipp.eval.report import probe_entries, probe_table

    if args.episodes < 1:
        raise ValueError(f"--episodes {args.episodes} must be at least 1")
    families = [f.strip() for f in args.families.split(",")] if args.families else None
    rows = probe_entries(
        _entries(args), episodes=args.episodes, split=args.split, families=families
    )
    text = probe_table(rows, args.split)
    print(text, end="")
    _write(args.out, text)
    if args.json:
        _write(args.json, json.dumps(rows, indent=1) + "\n")
    return 0


def run_spot_check(args: argparse.Namespace) -> int:
    from babyaipp.eval.report import spot_check

    for entry in _entries(args):
        compared = spot_check(entry, episodes=args.episodes, vectorization=args.vectorization)
        runs = ", ".join(f"{name} ({n})" for name, n in compared.items())
        print(f"{entry.name}: OK, re-played episodes identical: {runs}")
    return 0
