"""Reference env steps per second (random actions, GoToRedBall-HeldOut-v0 and GoToLocal-v1),
and one trainer-style evaluation (run_episodes, 100 greedy episodes of an untrained
cross-attention agent: every episode times out) for the babyaipp on PYTHONPATH.

Run: python results/attempts/10-fast-small/env_step_speed.py  (see env_speed.sh)
"""

import time

import gymnasium as gym
import numpy as np
import torch

import babyaipp
from babyaipp.agents.evaluate import run_episodes, tokenized
from babyaipp.agents.model import ActorCritic
from babyaipp.agents.policy import TorchPolicy

torch.set_num_threads(1)
print(babyaipp.__file__)
for env_id in ("BabyAIPP-GoToRedBall-HeldOut-v0", "BabyAIPP-GoToLocal-Train-v1"):
    env = gym.make(env_id)
    env.reset(seed=1)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for k in range(3000):
        _, _, terminated, truncated, _ = env.step(int(rng.integers(0, 6)))
        if terminated or truncated:
            env.reset(seed=k)
    print(f"{env_id}: {3000 / (time.perf_counter() - start):,.0f} steps/s")
env = tokenized(gym.make("BabyAIPP-GoToRedBall-HeldOut-v0"))
torch.manual_seed(1)
agent = ActorCritic(env.observation_space, env.action_space, "cross-attention", 32)
start = time.perf_counter()
run_episodes(TorchPolicy(agent, "cpu", seed=1), "BabyAIPP-GoToRedBall-HeldOut-v0", 100)
print(f"evaluation of 100 episodes: {time.perf_counter() - start:.2f} s")
