"""A first look at babyaipp: one episode described, then a random agent on a default level.

Run: python examples/quickstart.py [--env-id ID] [--episodes N]
"""

from __future__ import annotations

import argparse
from collections import Counter

import gymnasium as gym
import numpy as np

import babyaipp
from babyaipp.ascii_art import ascii_grid, legend


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env-id", default="BabyAIPP-GoToRedBall-Train-v0")
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    env = gym.make(args.env_id)
    obs, info = env.reset(seed=args.seed)
    print(f"babyaipp {babyaipp.__version__}: {args.env_id}, seed {args.seed}")
    print(f"instruction: {obs['mission']}")
    print(f"description: {obs['description']}")
    print(ascii_grid(env))
    print(f"legend: {legend()}\n")

    rng = np.random.default_rng(args.seed)
    outcomes: Counter = Counter()
    returns = []
    for episode in range(args.episodes):
        obs, info = env.reset(seed=args.seed + episode)
        done, total = False, 0.0
        while not done:
            obs, reward, terminated, truncated, info = env.step(int(rng.integers(7)))
            total += reward
            done = terminated or truncated
        outcomes["success" if info["success"] else info["failure"]] += 1
        returns.append(total)
    rates = {k: v / args.episodes for k, v in sorted(outcomes.items())}
    print(f"random policy over {args.episodes} episodes: mean return {np.mean(returns):.3f}")
    print("outcomes: " + ", ".join(f"{k} {v:.1%}" for k, v in rates.items()))
    env.close()
    return rates


if __name__ == "__main__":
    main()
