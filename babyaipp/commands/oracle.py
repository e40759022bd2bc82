"""``babyaipp demos`` (oracle demonstrations) and ``babyaipp probe`` (does a policy read?)."""

from __future__ import annotations

import argparse

from babyaipp.commands import seed


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "demos",
        help="record oracle demonstrations to an .npz file",
        description="Play the oracle on N seeded episodes and write observations, actions, "
        "rewards, text and seeds to an .npz file (schema: docs/oracle.md).",
    )
    p.add_argument("env_id", metavar="ID", help="e.g. BabyAIPP-GoToRedBall-Train-v0")
    p.add_argument("--episodes", type=int, required=True, help="number of episodes")
    p.add_argument("--out", required=True, help="output file, ending in .npz")
    p.add_argument("--seed", type=seed, default=0, help="seed of the first episode (then +1…)")
    p.add_argument("--blind", action="store_true", help="use the text-blind oracle")
    p.add_argument("--text", default="full", help="text mode: full, none, shuffled, random")
    p.set_defaults(func=run_demos)

    p = subparsers.add_parser(
        "probe",
        help="paired-text probe: success with true, shuffled and no description",
        description="Play the same seeds with the description true, shuffled across colours "
        "and empty; a policy that reads loses success when the text lies.",
    )
    p.add_argument("env_id", metavar="ID", help="e.g. BabyAIPP-GoToRedBallHard-Test-v0")
    p.add_argument(
        "--policy",
        default="oracle",
        help="oracle, blind-oracle, a checkpoint path, or a policy spec such as random:seed=0 "
        "(default: oracle)",
    )
    p.add_argument("--episodes", type=int, default=100, help="seeds per text mode")
    p.add_argument("--seed", type=seed, default=0, help="first seed")
    p.add_argument(
        "--modes",
        default="full,shuffled,none",
        help="comma-separated text modes; the first is the reference (default: full,shuffled,none)",
    )
    p.add_argument("--json", metavar="FILE", help="also write the full result (per seed) as JSON")
    p.set_defaults(func=run_probe)


def _check_env_id(env_id: str) -> None:

    import babyaipp  # noqa: F401  (registers the ids)
    from babyaipp.catalog import check_env_id

    check_env_id(env_id)  # names what is wrong: the form, family, version or split


def _check_episodes(episodes: int) -> None:
    if episodes < 1:
        raise ValueError(f"--episodes {episodes} must be at least 1")


def run_demos(args: argparse.Namespace) -> int:
    from pathlib import Path

    from babyaipp.oracle import demos
    from babyaipp.text import TEXT_MODES

    _check_env_id(args.env_id)
    _check_episodes(args.episodes)
    if args.text not in TEXT_MODES:
        raise ValueError(f"unknown --text {args.text!r}; valid: {list(TEXT_MODES)}")
    out = Path(args.out)
    if out.suffix != ".npz":
        raise ValueError(f"--out {args.out!r} must end in .npz")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"directory {str(out.parent)!r} does not exist")
    arrays = demos.record(
        args.env_id,
        range(args.seed, args.seed + args.episodes),
        reads_text=not args.blind,
        text=args.text,
    )
    demos.save(out, arrays)
    success = arrays["success"]
    print(
        f"wrote {out}: {len(success)} episodes, {len(arrays['action'])} steps, "
        f"success {success.mean():.3f} ({arrays['policy']}, text={args.text})"
    )
    return 0


def run_probe(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from babyaipp.io import atomic_write_text
    from babyaipp.oracle.probe import format_probe, load_probe_policy, probe

    _check_env_id(args.env_id)
    _check_episodes(args.episodes)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if args.json and not Path(args.json).parent.is_dir():
        raise FileNotFoundError(f"directory {str(Path(args.json).parent)!r} does not exist")
    load_probe_policy(args.policy)  # a clear error before any episode is played
    seeds = range(args.seed, args.seed + args.episodes)
    result = probe(lambda: load_probe_policy(args.policy), args.env_id, seeds, modes)
    print(format_probe(result))
    if args.json:
        path = Path(args.json)
        atomic_write_text(path, json.dumps(result, indent=1))
        print(f"wrote {path}")
    return 0
