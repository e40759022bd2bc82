"""Steps/s and resets/s of each babyaipp family against its minigrid base level, same run.

The base level is built with the family's own kwargs (same geometry, no tiles, no text). Both
envs run random actions; step timing excludes resets, reset timing uses fresh seeds. Both use
the same short time limit (``--max-steps``) so that the step timing averages over many layouts
rather than a couple of long episodes. The two are measured in alternating rounds and the
median ratio is printed, because this machine is shared and noisy. Also prints how often
generation had to retry per family.

Run: python benchmarks/env_speed.py [--steps 3000] [--resets 200] [--rounds 5] [--max-steps 64]
     [--family NAME]
Targets (issue 2): steps/s ratio >= 0.95, resets/s ratio >= 0.75.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import time

import numpy as np

import babyaipp


def time_steps(env, n: int, seed: int) -> float:
    """Seconds spent inside ``step`` over ``n`` random actions (resets not counted)."""
    rng = np.random.default_rng(seed)
    actions = rng.integers(7, size=n)
    env.reset(seed=seed)
    total = 0.0
    for a in actions:
        t = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(int(a))
        total += time.perf_counter() - t
        if terminated or truncated:
            env.reset()
    return total


def time_resets(env, n: int, seed: int) -> float:
    t = time.perf_counter()
    for s in range(seed, seed + n):
        env.reset(seed=s)
    return time.perf_counter() - t


def measure(spec, args) -> dict:
    base_cls = spec.base_class()
    ours = babyaipp.make_env(spec, "Test", max_steps=args.max_steps)
    base = base_cls(**{**spec.base_kwargs, "max_steps": args.max_steps})
    step_ratios, reset_ratios, ours_sps, ours_rps = [], [], [], []
    sink = io.StringIO()  # minigrid's base levels print on every rejected layout
    with contextlib.redirect_stdout(sink):
        for r in range(args.rounds):
            seed = 1000 * r
            t_base = time_steps(base, args.steps, seed)
            t_ours = time_steps(ours, args.steps, seed)
            r_base = time_resets(base, args.resets, seed)
            r_ours = time_resets(ours, args.resets, seed)
            step_ratios.append(t_base / t_ours)
            reset_ratios.append(r_base / r_ours)
            ours_sps.append(args.steps / t_ours)
            ours_rps.append(args.resets / r_ours)
    stats = ours.generation_stats
    return {
        "family": spec.key,
        "steps/s": statistics.median(ours_sps),
        "step ratio": statistics.median(step_ratios),
        "resets/s": statistics.median(ours_rps),
        "reset ratio": statistics.median(reset_ratios),
        "placement retries/ep": stats["placement_retries"] / stats["episodes"],
        "layout rejections/ep": stats["layout_rejections"] / stats["episodes"],
    }


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--resets", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-steps", type=int, default=64, help="time limit of both envs")
    parser.add_argument("--family", action="append", help="only these families")
    args = parser.parse_args(argv)
    specs = [s for s in babyaipp.FAMILIES.values() if not args.family or s.key in args.family]
    rows = [measure(spec, args) for spec in specs]
    header = (
        f"{'family':<18} {'steps/s':>8} {'ratio':>6} {'resets/s':>9} {'ratio':>6} "
        f"{'retries/ep':>10} {'rejects/ep':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['family']:<18} {r['steps/s']:>8.0f} {r['step ratio']:>6.2f} "
            f"{r['resets/s']:>9.0f} {r['reset ratio']:>6.2f} "
            f"{r['placement retries/ep']:>10.3f} {r['layout rejections/ep']:>10.3f}"
        )
    print(
        f"\nmedian over families: step ratio {statistics.median(r['step ratio'] for r in rows):.2f}"
        f" (target >= 0.95), reset ratio {statistics.median(r['reset ratio'] for r in rows):.2f}"
        " (target >= 0.75); ratios are base-level time / babyaipp time, Test split"
    )
    return rows


if __name__ == "__main__":
    main()
