"""Evaluation throughput: the suite runner against a plain one-env loop, in the same run.

The reference plays the same seeds with a seeded random policy in one ``gym.make`` env (no
vector env, no bookkeeping). Each runner configuration prints episodes/s and its ratio to the
reference, so the numbers mean something on a shared machine.

Run: python benchmarks/eval_speed.py [--suite leaderboard-v1] [--episodes 16] [--configs ...]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import babyaipp
from babyaipp.eval import RandomPolicy, load_suite, make_suite, run_env


def reference(family: str, split: str, seeds: list[int]) -> float:
    """Seconds for a plain one-env loop over ``seeds`` with a seeded random policy."""
    rng = np.random.default_rng(0)
    env = babyaipp.TokenizeText(gym.make(babyaipp.get_family(family).env_id(split)))
    start = time.perf_counter()
    for seed in seeds:
        env.reset(seed=seed)
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(int(rng.integers(7)))
            done = terminated or truncated
    env.close()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suite", default="leaderboard-v1")
    parser.add_argument("--episodes", type=int, default=16, help="episodes per env (a subset)")
    parser.add_argument(
        "--configs", nargs="+", default=["sync:8", "async:2", "async:8"], help="mode:num_envs"
    )
    args = parser.parse_args(argv)
    full = load_suite(args.suite)
    suite = make_suite(f"{full.name}-bench", full.families, full.splits, episodes=args.episodes)
    seconds = dict.fromkeys(["reference", *args.configs], 0.0)
    # Interleaved env by env, so that a shared machine's load hits every configuration alike.
    for family, split in suite.envs:
        seconds["reference"] += reference(family, split, suite.seeds())
        for config in args.configs:
            mode, _, num_envs = config.partition(":")
            start = time.perf_counter()
            run_env(
                RandomPolicy(0),
                family,
                split,
                suite.seeds(),
                num_envs=int(num_envs),
                vectorization=mode,
            )
            seconds[config] += time.perf_counter() - start
    n = suite.total_episodes
    print(f"{suite.name}: {len(suite.envs)} envs x {suite.episodes} episodes = {n} episodes")
    for config, s in seconds.items():
        name = "reference (one env, plain loop)" if config == "reference" else f"runner {config}"
        print(f"{name:34s} {n / s:7.2f} episodes/s  {seconds['reference'] / s:.2f}x")
    return {config: n / s for config, s in seconds.items()}


if __name__ == "__main__":
    main()
