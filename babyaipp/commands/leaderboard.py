"""``babyaipp leaderboard``: add, render, verify and compare leaderboard entries."""

from __future__ import annotations

import argparse

from babyaipp.commands import add_vectorization_argument


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("leaderboard", help="add, render, verify and compare entries")
    p.add_argument(
        "--root",
        default="leaderboard",
        help="boards folder (default: leaderboard); a built-in suite's board is its subfolder "
        "<root>/<suite>, any other suite's board is <root> itself",
    )
    p.add_argument(
        "--suite",
        default="leaderboard-v2",
        help="the board's suite, a name or a file (default: leaderboard-v2, the main board; "
        "leaderboard-v1 is the archived one)",
    )
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    q = sub.add_parser(
        "render",
        help="write README.md and leaderboard.png from the entries (with a built-in suite: "
        "every built-in board, and the index <root>/README.md)",
    )
    q.set_defaults(func=run_render)

    q = sub.add_parser("verify", help="re-play an entry's runs; fail if any number differs")
    q.add_argument("entries", nargs="*", metavar="ENTRY", help="entry names (default: all)")
    q.add_argument("--quick", action="store_true", help="only check files, do not re-play")
    add_vectorization_argument(q, "async")
    q.add_argument("--no-progress", action="store_true", help="no progress bar")
    q.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="let the entry's model files run code they carry (SB3's pickled fields). Never "
        "for someone else's entry: without it, verifying runs none of the submitter's code",
    )
    q.set_defaults(func=run_verify)

    q = sub.add_parser("add", help="make an entry from results files (one per training seed)")
    q.add_argument("name", help="entry name (folder under entries/)")
    q.add_argument("results", nargs="+", help="results JSON files from `babyaipp evaluate`")
    q.add_argument("--model", required=True, help="one line: the model and how it was trained")
    q.add_argument("--frames", type=int, help="training frames (omit for none/unknown)")
    q.add_argument("--privileged", action="store_true", help="trained with privileged info")
    q.add_argument("--notes", default="", help="free text shown with the entry")
    q.add_argument("--overwrite", action="store_true", help="replace an entry of that name")
    q.set_defaults(func=run_add)

    q = sub.add_parser("compare", help="probability that entry A improves on entry B")
    q.add_argument("a", metavar="A", help="entry name (folder under entries/)")
    q.add_argument("b", metavar="B", help="entry name to compare against")
    q.add_argument(
        "--split", default="HeldOut", help="split whose scores are compared (default HeldOut)"
    )
    q.set_defaults(func=run_compare)


def _suite(args):
    from babyaipp.eval import load_suite

    return load_suite(args.suite)


def _board(args, suite) -> str:
    from babyaipp.eval.leaderboard import board_dir

    return board_dir(args.root, suite.name if args.suite == suite.name else "")


def run_render(args: argparse.Namespace) -> int:
    from babyaipp.eval.leaderboard import (
        BOARDS,
        load_entries,
        render,
        render_boards,
        render_markdown,
    )

    suite = _suite(args)
    board = _board(args, suite)
    print(render_markdown(load_entries(board, suite), suite))
    if args.suite in BOARDS:
        written = render_boards(args.root)
    else:
        written = render(board, suite)
    print("wrote " + ", ".join(map(str, written)))
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from babyaipp.cli import CommandError
    from babyaipp.eval.leaderboard import entries_dir, verify_entry

    suite = _suite(args)
    folder = entries_dir(_board(args, suite))
    names = args.entries or sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not names:
        raise CommandError(f"no entries under {folder}")
    for name in names:
        path = folder / name
        if not path.is_dir():
            raise CommandError(f"no entry {name!r} under {folder}")
        try:
            entry = verify_entry(
                path,
                suite,
                rerun=not args.quick,
                vectorization=args.vectorization,
                progress=not args.no_progress,
                trust_remote_code=args.trust_remote_code,
            )
        except ImportError as error:
            raise CommandError(str(error)) from None
        how = "files checked" if args.quick else "every run re-played and identical"
        print(f"{name}: OK ({len(entry.runs)} runs; {how})")
    return 0


def run_add(args: argparse.Namespace) -> int:
    from babyaipp.eval.leaderboard import add_entry

    suite = _suite(args)
    entry = add_entry(
        _board(args, suite),
        args.name,
        args.results,
        suite,
        model=args.model,
        frames=args.frames,
        privileged=args.privileged,
        notes=args.notes,
        overwrite=args.overwrite,
    )
    print(
        f"added {entry.path} ({entry.category}, {len(entry.runs)} runs); now run "
        "`babyaipp leaderboard render`"
    )
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from babyaipp.eval import probability_of_improvement
    from babyaipp.eval.leaderboard import entries_dir, load_entry

    suite = _suite(args)
    if args.split not in suite.splits:
        raise ValueError(f"unknown split {args.split!r}; the suite has {list(suite.splits)}")
    folder = entries_dir(_board(args, suite))
    a, b = (load_entry(folder / n, suite) for n in (args.a, args.b))
    result = probability_of_improvement(a.scores(args.split), b.scores(args.split))
    low, high = result["ci"]
    print(
        f"P({a.name} > {b.name}) on {args.split} = {result['probability']:.3f} "
        f"[{low:.3f}, {high:.3f}] ({len(a.runs)} vs {len(b.runs)} runs)"
    )
    return 0
