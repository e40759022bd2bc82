"""Evaluation throughput: the suite runner against a plain one-env loop, in the same run.

The reference plays the same seeds with a seeded random policy in one ``gym.make`` env (no
vector env, no bookkeeping). Configurations are interleaved env by env, so a shared machine's
load hits them alike. Each prints episodes/s, env steps/s and its steps/s ratio to the
reference (steps are the unit of work: random episodes differ in length between runs, and a
sub-env that has met its quota replays uncounted filler episodes until the others finish).

Run: python benchmarks/eval_speed.py [--suite leaderboard-v1] [--episodes 16] [--configs ...]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import babyaipp
from babyaipp.eval import RandomPolicy, load_suite, make_suite, run_env


def reference(family: str, split: str, seeds: list[int]) -> int:
    """Steps of a plain one-env loop over ``seeds`` with a seeded random policy."""
    rng = np.random.default_rng(0)
    steps = 0
    env = babyaipp.TokenizeText(gym.make(babyaipp.get_family(family).env_id(split)))
    for seed in seeds:
        env.reset(seed=seed)
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(int(rng.integers(7)))
            done = terminated or truncated
            steps += 1
    env.close()
    return steps


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
    steps = dict.fromkeys(seconds, 0)
    for family, split in suite.envs:
        for config in seconds:
            start = time.perf_counter()
            if config == "reference":
                steps[config] += reference(family, split, suite.seeds())
            else:
                mode, _, num_envs = config.partition(":")
                episodes = run_env(
                    RandomPolicy(0),
                    family,
                    split,
                    suite.seeds(),
                    num_envs=int(num_envs),
                    vectorization=mode,
                )
                steps[config] += sum(e["length"] for e in episodes)
            seconds[config] += time.perf_counter() - start
    n = suite.total_episodes
    print(f"{suite.name}: {len(suite.envs)} envs x {suite.episodes} episodes = {n} episodes")
    ref_rate = steps["reference"] / seconds["reference"]
    rates = {}
    for config, s in seconds.items():
        rates[config] = steps[config] / s
        name = "reference (one env, plain loop)" if config == "reference" else f"runner {config}"
        print(
            f"{name:34s} {n / s:7.2f} episodes/s {rates[config]:8.0f} steps/s  "
            f"{rates[config] / ref_rate:.2f}x"
        )
    return rates


if __name__ == "__main__":
    main()
