"""``babyaipp reproduce``: train, evaluate and enter every (model, seed) of a suite, resumably."""

from __future__ import annotations

import argparse
import json

from babyaipp.commands import add_vectorization_argument

DEFAULT_MODELS = ("image", "concat", "film", "attention", "cross-attention")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "reproduce",
        help="train every (model, seed, family) of a suite and write leaderboard entries",
        description=(
            "Train one agent per (model, training seed, family of the suite) with the "
            "project's trainer, evaluate each (model, seed) on the suite behind the policy "
            "spec checkpoints:seed<k>/manifest.json, and write the entry <prefix><model> "
            "(one results file per seed). Resumable: run the same command again after a "
            "stop; finished runs are skipped, a run in progress continues from its last "
            "checkpoint. See docs/agents.md."
        ),
    )
    p.add_argument("--suite", default="leaderboard-v1", help="suite name or file")
    p.add_argument("--frames", type=int, required=True, help="training frames per family run")
    p.add_argument("--seeds", type=int, default=3, help="training seeds per model (default 3)")
    p.add_argument("--first-seed", type=int, default=1, help="the first seed (default 1)")
    p.add_argument(
        "--models",
        nargs="+",
        default=list(DEFAULT_MODELS),
        metavar="MODEL",
        help=f"models (default: {' '.join(DEFAULT_MODELS)})",
    )
    p.add_argument("--out", default="results/reproduce", help="output folder")
    p.add_argument(
        "--board",
        help="leaderboard folder the entries go to (default: <out>/leaderboard). A board "
        "refuses an entry with fewer than 2 seeds, so copy an entry to leaderboard/entries/ "
        "once its seeds are done rather than passing --board leaderboard",
    )
    p.add_argument("--prefix", default="ppo-", help="entry name prefix (default ppo-)")
    p.add_argument(
        "--preset",
        default="medium",
        help="trainer preset (default medium, the leaderboard-v2 table's; small does not learn "
        "the v1 designs)",
    )
    p.add_argument(
        "--config",
        type=json.loads,
        default={},
        metavar="JSON",
        help='other trainer settings, e.g. \'{"num_envs": 32, "dim": 64}\'',
    )
    p.add_argument("--env-backend", default="batched", help="trainer env backend (default batched)")
    p.add_argument("--eval-num-envs", type=int, default=16, help="evaluation sub-envs")
    add_vectorization_argument(p, "sync", "evaluation: ")
    p.add_argument(
        "--git-commit",
        action="store_true",
        help="commit each finished run's small files (weights, log, results, metadata)",
    )
    p.add_argument("--dry-run", action="store_true", help="list the runs and what is done")
    p.add_argument("--no-progress", action="store_true", help="no progress lines (stderr)")
    p.add_argument(
        "--progress-interval",
        type=float,
        default=10.0,
        help="seconds between progress lines (default 10; 0: one per update)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from babyaipp.cli import CommandError
    from babyaipp.eval import load_suite

    try:
        from babyaipp.agents.reproduce import Reproduction
    except ImportError as error:
        raise CommandError(
            f"reproduce needs torch: pip install 'babyaipp[agents]' ({error})"
        ) from None
    if not isinstance(args.config, dict):
        raise ValueError(f"--config must be a JSON object, got {args.config!r}")
    plan = Reproduction(
        suite=load_suite(args.suite),
        models=args.models,
        seeds=list(range(args.first_seed, args.first_seed + args.seeds)),
        frames=args.frames,
        out=args.out,
        board=args.board,
        prefix=args.prefix,
        preset=args.preset,
        overrides=args.config,
        env_backend=args.env_backend,
        eval_num_envs=args.eval_num_envs,
        vectorization=args.vectorization,
        git_commit=args.git_commit,
        progress=not args.no_progress,
        progress_interval=args.progress_interval,
    )
    if args.dry_run:
        pending = set(plan.pending())
        for item in plan.runs:
            state = "to train" if item in pending else "finished"
            print(f"{item}: {state} ({plan.run_frames(item):,} frames) -> {plan.run_dir(item)}")
        return 0
    summary = plan.run()
    print(json.dumps(summary, indent=2))
    return 0
