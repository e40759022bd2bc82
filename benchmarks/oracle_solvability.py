"""Solvability and speed of the oracle, its text-blind twin and the oracle fed shuffled text.

    python benchmarks/oracle_solvability.py --seeds 200 --workers 2 --json oracle_report.json
    python benchmarks/oracle_solvability.py --ids '*HeldOut*' --seeds 200 --density 0.5
    python benchmarks/oracle_solvability.py --ids 'BabyAIPP-*-v1' --seeds 200   # leaderboard-v2

For every id and seed 0..N-1 it plays one episode with the oracle, one with the blind twin and
one with the oracle reading the env's ``text="shuffled"`` description (the same layout and map,
the sentences' properties permuted so that the most colours are wrong), and prints, per id:
success rates, the reading gaps (oracle - blind, oracle - shuffled), failures by kind, and the
oracle's thinking time per episode
(planning + learning, i.e. time inside ``Oracle.act``) in ms and as a ratio to the time the env
spent stepping the same episode (the reference, measured in the same run). Every episode the
oracle did not solve is listed with its seed and the oracle's own account (``stuck``), for
investigation: each one is a bug in the generator or in the oracle. ``--density`` replaces the
families' tile density (the fraction of eligible cells drawn as tiles; default 0.3): the gap
between the oracle and its blind twin is how much reading the description is worth.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import statistics
import sys
import time
from multiprocessing import Pool


def play(env, seed: int, reads_text: bool) -> dict:
    from babyaipp.oracle import Oracle

    env.reset(seed=seed)
    oracle = Oracle(env, reads_text=reads_text)
    think = stepping = 0.0
    done, info, steps = False, {}, 0
    while not done:
        t0 = time.perf_counter()
        action = oracle.act()
        t1 = time.perf_counter()
        _, _, terminated, truncated, info = env.step(action)
        stepping += time.perf_counter() - t1
        think += t1 - t0
        steps += 1
        done = terminated or truncated
    return {
        "seed": seed,
        "success": bool(info["success"]),
        "failure": info["failure"],
        "steps": steps,
        "max_steps": env.unwrapped.max_steps,
        "think_s": think,
        "plan_s": oracle.stats.plan_seconds,
        "env_s": stepping,
        "surprises": oracle.stats.surprises,
        "fixes": oracle.stats.fixes,
        "stuck": oracle.stuck,
    }


def run_id(job: tuple[str, int, float | None]) -> dict:
    import gymnasium as gym

    import babyaipp  # noqa: F401

    env_id, num_seeds, density = job
    kwargs = {} if density is None else {"density": density}
    env = gym.make(env_id, **kwargs)
    out = {"env_id": env_id}
    for name, reads_text in (("oracle", True), ("blind", False)):
        out[name] = [play(env, seed, reads_text) for seed in range(num_seeds)]
    env.close()
    env = gym.make(env_id, text="shuffled", **kwargs)
    out["shuffled"] = [play(env, seed, True) for seed in range(num_seeds)]
    env.close()
    return out


def summarise(episodes: list[dict]) -> dict:
    failures: dict[str, int] = {}
    for e in episodes:
        if not e["success"]:
            failures[e["failure"]] = failures.get(e["failure"], 0) + 1
    think_ms = [1000 * e["think_s"] for e in episodes]
    ratio = sum(e["think_s"] for e in episodes) / max(sum(e["env_s"] for e in episodes), 1e-12)
    return {
        "episodes": len(episodes),
        "success": sum(e["success"] for e in episodes),
        "failures": failures,
        "think_ms_mean": statistics.fmean(think_ms),
        "think_ms_median": statistics.median(think_ms),
        "think_ms_max": max(think_ms),
        "think_over_env": ratio,
        "steps_mean": statistics.fmean(e["steps"] for e in episodes),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1 per id")
    parser.add_argument("--ids", default="*", help="glob over the registered ids")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--json", help="write every episode's record here")
    parser.add_argument("--density", type=float, help="tile density (default: each family's)")
    args = parser.parse_args(argv)

    import babyaipp
    from babyaipp.io import atomic_write_text

    ids = [i for i in babyaipp.registered_ids() if fnmatch.fnmatch(i, args.ids)]
    if not ids:
        parser.error(f"no registered id matches {args.ids!r}")
    start = time.perf_counter()
    jobs = [(i, args.seeds, args.density) for i in ids]
    with Pool(args.workers) as pool:
        results = pool.map(run_id, jobs, chunksize=1) if args.workers > 1 else map(run_id, jobs)
        results = list(results)

    print(
        f"{'id':34s} {'oracle':>7s} {'blind':>7s} {'shuffled':>8s} {'gap':>6s} {'gap-sh':>6s}"
        f"  oracle think ms (mean/median/max)  think/env   blind failures"
    )
    unsolved = []
    for r in results:
        o, b, sh = summarise(r["oracle"]), summarise(r["blind"]), summarise(r["shuffled"])
        n = o["episodes"]
        print(
            f"{r['env_id'].removeprefix('BabyAIPP-'):34s} {o['success'] / n:7.3f} "
            f"{b['success'] / n:7.3f} {sh['success'] / n:8.3f} "
            f"{(o['success'] - b['success']) / n:6.3f} {(o['success'] - sh['success']) / n:6.3f}  "
            f"{o['think_ms_mean']:7.1f} {o['think_ms_median']:7.1f} {o['think_ms_max']:7.0f}   "
            f"{o['think_over_env']:7.1f}x   {b['failures']}"
        )
        unsolved += [(r["env_id"], e) for e in r["oracle"] if not e["success"]]
    total = sum(len(r["oracle"]) for r in results)
    print(
        f"\noracle solved {total - len(unsolved)}/{total} episodes "
        f"({len(ids)} ids x {args.seeds} seeds, density "
        f"{'as registered' if args.density is None else args.density}) "
        f"in {time.perf_counter() - start:.0f}s"
    )
    for env_id, e in unsolved:
        print(f"  UNSOLVED {env_id} seed={e['seed']} failure={e['failure']} stuck={e['stuck']!r}")
    if args.json:
        atomic_write_text(args.json, json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
