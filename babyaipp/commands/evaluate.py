"""``babyaipp evaluate``: score policies on a frozen suite and write one results file each."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from babyaipp.commands import add_vectorization_argument


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score policies on an evaluation suite (one results JSON per policy)",
        description=(
            "Play every episode of a suite with each policy (one per training seed) and write "
            "one results JSON per policy. Policies are specs: random:seed=0, "
            "checkpoint:path/to/agent.pt, sb3:PPO:model.zip, or a kind registered by other code."
        ),
    )
    p.add_argument("policies", nargs="+", metavar="POLICY", help="policy spec(s)")
    p.add_argument("--suite", default="leaderboard-v1", help="built-in suite name or a suite file")
    p.add_argument("--out", default=".", help="output file (one policy) or folder (default: .)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace results files that exist (without it, an existing file is an error)",
    )
    p.add_argument("--num-envs", type=int, default=8, help="sub-envs per vector env (default 8)")
    p.add_argument("--sampled", action="store_true", help="sample actions instead of greedy play")
    add_vectorization_argument(p, "async")
    p.add_argument("--episodes", type=int, help="quick look: fewer episodes per env (new suite)")
    p.add_argument("--families", help="quick look: comma-separated families (new suite)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="let model files run code they carry (SB3's pickled fields); only for files you "
        "made yourself. Without it, sb3: models load without unpickling anything",
    )
    p.set_defaults(func=run_evaluate)


def output_name(spec: str) -> str:
    """A file name for a policy spec: ``random:seed=0`` → ``random-seed=0.json``,
    ``checkpoint:runs/s0/agent.pt`` → ``runs-s0-agent.json``."""
    kind, _, argument = spec.partition(":")
    stem = str(Path(argument).with_suffix("")) if kind in ("checkpoint", "sb3") else spec
    return re.sub(r"[^A-Za-z0-9_.=-]+", "-", stem).strip("-.") + ".json"


def quick_suite(suite, episodes: int | None, families: str | None):
    """The suite cut down for a quick look (its own name and hash: not for the leaderboard)."""
    from babyaipp.eval import make_suite

    if episodes is None and families is None:
        return suite
    chosen = suite.families
    if families:
        chosen = tuple(f.strip() for f in families.split(",") if f.strip())
        unknown = [f for f in chosen if f not in suite.families]
        if unknown:
            raise ValueError(
                f"families {unknown} are not in suite {suite.name}: {list(suite.families)}"
            )
    return make_suite(
        f"{suite.name}-quick",
        chosen,
        suite.splits,
        episodes=episodes or suite.episodes,
        seed_start=suite.seed_start,
        version=suite.version,
        doc=f"quick look at {suite.name}",
    )


def run_evaluate(args: argparse.Namespace) -> int:
    import sys
    import time

    from babyaipp.cli import CommandError
    from babyaipp.eval import (
        evaluate,
        load_suite,
        policy_from_spec,
        score_aggregates,
        write_results,
    )

    if args.num_envs < 1:
        raise ValueError(f"--num-envs {args.num_envs} must be >= 1")
    if args.episodes is not None and args.episodes < 1:
        raise ValueError(f"--episodes {args.episodes} must be >= 1")
    suite = quick_suite(load_suite(args.suite), args.episodes, args.families)
    out = Path(args.out)
    if len(args.policies) > 1 and out.suffix == ".json":
        raise ValueError(f"--out {out} is a file but {len(args.policies)} policies were given")
    targets = [out if out.suffix == ".json" else out / output_name(s) for s in args.policies]
    if len(set(targets)) != len(targets):
        raise ValueError(f"two policies would write the same file: {[str(t) for t in targets]}")
    existing = [str(t) for t in targets if t.exists()]
    if existing and not args.overwrite:
        raise CommandError(
            f"results file {', '.join(existing)} exists; pass --overwrite to replace it "
            f"or choose another --out"
        )
    runs = []
    for spec, target in zip(args.policies, targets, strict=True):
        try:
            policy = policy_from_spec(spec, trust_remote_code=args.trust_remote_code)
        except ImportError as error:
            raise CommandError(str(error)) from None
        start = time.perf_counter()
        results = evaluate(
            policy,
            suite,
            num_envs=args.num_envs,
            greedy=not args.sampled,
            vectorization=args.vectorization,
            progress=not args.no_progress,
        )
        seconds = time.perf_counter() - start
        try:
            write_results(results, target, overwrite=args.overwrite)
        except FileExistsError:
            raise CommandError(
                f"results file {target} was written by another run meanwhile; these results "
                f"are not saved (pass --overwrite to replace it)"
            ) from None
        runs.append(results)
        print(format_run(results, target))
        print(
            f"{suite.total_episodes} episodes in {seconds:.1f} s "
            f"({suite.total_episodes / seconds:.1f} episodes/s)",
            file=sys.stderr,
        )
    if len(runs) > 1:
        print(f"\nover {len(runs)} runs (IQM over runs x families, 95% stratified bootstrap):")
        for split in suite.splits:
            scores = [
                [r["aggregates"]["envs"][f"{f}/{split}"]["success"] for f in suite.families]
                for r in runs
            ]
            s = score_aggregates(scores)
            print(
                f"  {split:8s} IQM {s['iqm']:.3f} [{s['iqm_ci'][0]:.3f}, {s['iqm_ci'][1]:.3f}]"
                f"  mean {s['mean']:.3f} [{s['mean_ci'][0]:.3f}, {s['mean_ci'][1]:.3f}]"
            )
    return 0


def format_run(results: dict, path: Path) -> str:
    """A short text summary of one results dict."""
    agg = results["aggregates"]
    lines = [f"{results['policy']['spec'] or results['policy']['name']} -> {path}"]
    lines.append(f"  {'env':28s} {'success':>7s} {'return':>7s} {'length':>7s} {'trap':>6s}")
    for key, m in agg["envs"].items():
        lines.append(
            f"  {key:28s} {m['success']:7.3f} {m['return']:7.3f} {m['length']:7.1f} "
            f"{m['trap']:6.3f}"
        )
    for family, f in agg["families"].items():
        if f["gap"] is not None:
            lines.append(f"  gap (Train - HeldOut) {family}: {f['gap']:+.3f}")
    for split, s in agg["splits"].items():
        lines.append(
            f"  {split:8s} mean {s['mean']:.3f} [{s['mean_ci'][0]:.3f}, {s['mean_ci'][1]:.3f}]"
            f"  IQM {s['iqm']:.3f} [{s['iqm_ci'][0]:.3f}, {s['iqm_ci'][1]:.3f}] (episode bootstrap)"
        )
    return "\n".join(lines)
