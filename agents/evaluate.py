"""A small episode runner for the evaluation during training (and the examples).

Episode ``k`` is played on an env reset with seed ``seed + k``, whatever the batch size, so
two evaluations with greedy actions see exactly the same episodes. The project's evaluation
and leaderboard code is the reference for reported numbers; this one is for learning curves.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from babyaipp import TokenizeText
from babyaipp.policy import Policy

EVAL_SEED = 10**9  # the original evaluated on seeds from 1e9


def tokenized(env: gym.Env) -> gym.Env:
    """``env`` wrapped in :class:`babyaipp.TokenizeText` unless its text is already token ids."""
    if isinstance(env.observation_space["mission"], gym.spaces.Text):
        return TokenizeText(env)
    return env


def heldout_env_id(env_id: str) -> str | None:
    """``BabyAIPP-<Family>-<Split>-v0`` → the family's HeldOut id; None for other ids."""
    parts = env_id.split("-")
    if len(parts) == 4 and parts[0] == "BabyAIPP":
        return f"BabyAIPP-{parts[1]}-HeldOut-{parts[3]}"
    return None


def run_episodes(
    policy: Policy,
    env_id: str,
    episodes: int,
    *,
    seed: int = EVAL_SEED,
    batch: int = 16,
    greedy: bool = True,
    env_kwargs: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Mean ``success``, ``return``, ``length`` and ``trap`` (deaths) over ``episodes`` episodes."""
    if episodes < 1:
        raise ValueError(f"episodes={episodes} must be at least 1")
    envs = [tokenized(gym.make(env_id, **(env_kwargs or {}))) for _ in range(min(batch, episodes))]
    results: list[tuple[float, float, int, bool]] = []
    slot_episode: list[int | None] = [None] * len(envs)
    obs_list: list[Any] = [None] * len(envs)
    totals = np.zeros(len(envs))
    lengths = np.zeros(len(envs), dtype=int)
    starts = np.ones(len(envs), dtype=bool)
    next_episode = 0
    for i, env in enumerate(envs):
        obs_list[i], _ = env.reset(seed=seed + next_episode)
        slot_episode[i] = next_episode
        next_episode += 1
    state = policy.initial_state(len(envs))
    try:
        while any(k is not None for k in slot_episode):
            obs = {key: np.stack([o[key] for o in obs_list]) for key in obs_list[0]}
            actions, state = policy.act(obs, state, starts, greedy=greedy)
            starts[:] = False
            for i, env in enumerate(envs):
                if slot_episode[i] is None:
                    continue
                obs_list[i], reward, terminated, truncated, info = env.step(int(actions[i]))
                totals[i] += reward
                lengths[i] += 1
                if terminated or truncated:
                    success = bool(info.get("success", reward > 0))
                    results.append(
                        (float(success), totals[i], lengths[i], info.get("failure") == "trap")
                    )
                    totals[i], lengths[i] = 0.0, 0
                    if next_episode < episodes:
                        obs_list[i], _ = env.reset(seed=seed + next_episode)
                        slot_episode[i] = next_episode
                        starts[i] = True
                        next_episode += 1
                    else:
                        slot_episode[i] = None
    finally:
        for env in envs:
            env.close()
    success, returns, length, trap = (np.mean(column) for column in zip(*results, strict=True))
    return {
        "success": float(success),
        "return": float(returns),
        "length": float(length),
        "trap": float(trap),
    }
