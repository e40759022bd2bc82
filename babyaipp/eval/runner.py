"""Play a policy on every episode of a suite, in vector envs, with a fixed quota per sub-env.

For each (family, split) of the suite, a vector env of ``num_envs`` sub-envs runs the suite's
seeds; sub-env ``i`` gets a fixed contiguous block of them (:func:`assign_seeds`) and plays
exactly those episodes. Collecting "the first N episodes to finish" instead would favour short
episodes. Every episode is started with an explicit ``reset(seed=...)`` (the vector env's
autoreset is disabled), so an episode depends only on its seed and the policy's actions.

Results are reproducible for the same suite, policy spec, ``num_envs`` and ``greedy`` flag;
sync and async vectorization give identical episodes. A policy that draws random numbers
from one generator for the whole batch (like :class:`RandomPolicy`) plays differently with
another ``num_envs``, which is why results record it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

import babyaipp
from babyaipp.eval.suites import Suite
from babyaipp.policy import Policy
from babyaipp.vector import make_vec

VECTORIZATION_MODES = ("async", "sync")

INFO_KEYS = ("success", "failure", "held_out")

Episode = dict[str, Any]
"""One episode: family, split, seed, return, length, success, failure, held_out."""


class _EpisodeInfo(gym.Wrapper):
    """Keeps only the info keys the runner reads: the vector env batches every key of every
    step, and ``floor_properties`` (a dict) is the costly one."""

    def __init__(self, env: gym.Env, keys: tuple[str, ...] = INFO_KEYS):
        super().__init__(env)
        self.keys = keys

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return obs, {k: info[k] for k in self.keys}

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, {k: info[k] for k in self.keys}


def assign_seeds(seeds: list[int], num_envs: int) -> list[list[int]]:
    """Split ``seeds`` into ``num_envs`` contiguous blocks whose sizes differ by at most 1."""
    if num_envs < 1:
        raise ValueError(f"num_envs={num_envs} must be >= 1")
    return [block.tolist() for block in np.array_split(np.asarray(seeds, dtype=np.int64), num_envs)]


def run_env(
    policy: Policy,
    family: str,
    split: str,
    seeds: list[int],
    *,
    num_envs: int = 8,
    greedy: bool = True,
    vectorization: str = "async",
    on_episode: Callable[[Episode], None] | None = None,
) -> list[Episode]:
    """Play one episode per seed on ``BabyAIPP-<family>-<split>-v0``; episodes in seed order.

    A ``needs_env`` policy always runs in an in-process (sync) vector env and gets the
    unwrapped sub-envs as ``envs``. A policy with a ``for_family(family)`` method (one agent
    per family, :mod:`babyaipp.eval.family_checkpoints`) plays the policy that returns.
    """
    route = getattr(policy, "for_family", None)  # one agent per family (optional member)
    if route is not None:
        policy = route(family)
    return play_seeds(
        policy,
        babyaipp.get_family(family).env_id(split),
        seeds,
        num_envs=num_envs,
        greedy=greedy,
        vectorization=vectorization,
        labels={"family": family, "split": split},
        on_episode=on_episode,
    )


def play_seeds(
    policy: Policy,
    env_id: str,
    seeds: list[int],
    *,
    num_envs: int = 8,
    greedy: bool = True,
    vectorization: str = "sync",
    env_kwargs: dict[str, Any] | None = None,
    info_keys: tuple[str, ...] = (),
    labels: dict[str, Any] | None = None,
    on_episode: Callable[[Episode], None] | None = None,
) -> list[Episode]:
    """One episode per seed of ``env_id`` (made with ``env_kwargs``, e.g. ``{"text":
    "shuffled"}``), ``num_envs`` at a time, each sub-env playing its block of seeds (the
    module doc); episodes in seed order.

    An episode is ``labels`` plus seed, return, length, success, failure and held_out, and the
    final step's ``info[key]`` for each of ``info_keys``. With ``num_envs=1`` the episodes are
    played one after the other, as a plain loop over ``env.reset(seed=s)`` would.
    """
    if vectorization not in VECTORIZATION_MODES:
        raise ValueError(
            f"unknown vectorization {vectorization!r}; valid: {list(VECTORIZATION_MODES)}"
        )
    if not seeds:
        return []
    blocks = [b for b in assign_seeds(seeds, min(num_envs, len(seeds))) if b]
    n = len(blocks)
    mode = "sync" if policy.needs_env or n == 1 else vectorization
    keys = INFO_KEYS + tuple(k for k in info_keys if k not in INFO_KEYS)
    vec = make_vec(  # gym.make_vec, with workers quiet on Ctrl-C
        env_id,
        n,
        vectorization_mode=mode,
        wrappers=[babyaipp.TokenizeText, lambda env: _EpisodeInfo(env, keys)],
        vector_kwargs={"autoreset_mode": AutoresetMode.DISABLED},
        **(env_kwargs or {}),
    )
    try:
        envs = [e.unwrapped for e in vec.envs] if policy.needs_env else None
        episodes = _play(policy, vec, blocks, labels or {}, info_keys, greedy, envs, on_episode)
    except BaseException:  # e.g. Ctrl-C mid-step: answers may be lost, so do not wait for them
        vec.close(terminate=True)
        raise
    vec.close()
    return episodes


def _play(policy, vec, blocks, labels, info_keys, greedy, envs, on_episode) -> list[Episode]:
    n = len(blocks)
    cursor = np.zeros(n, dtype=np.int64)  # index of the episode each sub-env is playing
    current = [block[0] for block in blocks]
    obs, _ = vec.reset(seed=current)
    state = policy.initial_state(n)
    episode_start = np.ones(n, dtype=bool)
    returns = np.zeros(n)
    lengths = np.zeros(n, dtype=np.int64)
    episodes: list[Episode] = []
    active = np.ones(n, dtype=bool)  # sub-envs with quota left; the others replay filler
    while active.any():
        kwargs = {"envs": envs} if envs is not None else {}
        actions, state = policy.act(obs, state, episode_start, greedy=greedy, **kwargs)
        actions = _check_actions(policy, actions, n)
        obs, rewards, terminated, truncated, info = vec.step(actions)
        returns += rewards
        lengths += 1
        done = terminated | truncated
        episode_start = done.copy()
        if not done.any():
            continue
        for i in np.flatnonzero(done):
            if active[i]:
                episode = {
                    **labels,
                    "seed": int(current[i]),
                    "return": round(float(returns[i]), 6),
                    "length": int(lengths[i]),
                    "success": bool(info["success"][i]),
                    "failure": info["failure"][i],
                    "held_out": bool(info["held_out"][i]),
                    **{key: _unbatched(info[key], i) for key in info_keys},
                }
                episodes.append(episode)
                if on_episode is not None:
                    on_episode(episode)
                cursor[i] += 1
                if cursor[i] < len(blocks[i]):
                    current[i] = blocks[i][cursor[i]]
                else:
                    active[i] = False  # quota met: replays its last seed until all are done
        returns[done] = 0.0
        lengths[done] = 0
        if active.any():
            obs, _ = vec.reset(seed=list(current), options={"reset_mask": done})
    episodes.sort(key=lambda e: e["seed"])
    return episodes


def _unbatched(value: Any, i: int) -> Any:
    """Sub-env ``i``'s value of a vector env's info entry; a dict value was batched key by key,
    with a ``_key`` mask of the sub-envs that had the key."""
    if isinstance(value, dict):
        return {
            key: _unbatched(item, i)
            for key, item in value.items()
            if not key.startswith("_") and value[f"_{key}"][i]
        }
    item = value[i]
    return item.item() if isinstance(item, np.generic) else item


def _check_actions(policy: Policy, actions: Any, n: int) -> np.ndarray:
    actions = np.asarray(actions)
    if actions.shape != (n,) or not np.issubdtype(actions.dtype, np.integer):
        raise ValueError(
            f"policy {policy.name!r} returned actions of shape {actions.shape} and dtype "
            f"{actions.dtype}; expected integers of shape ({n},)"
        )
    if actions.min() < 0 or actions.max() > 6:
        raise ValueError(f"policy {policy.name!r} returned actions {actions}; valid: 0-6")
    return actions.astype(np.int64)


def run_suite(
    policy: Policy,
    suite: Suite,
    *,
    num_envs: int = 8,
    greedy: bool = True,
    vectorization: str = "async",
    progress: bool = True,
) -> list[Episode]:
    """Play every episode of ``suite``; episodes in suite order (families, splits, seeds).

    ``progress`` shows a tqdm bar (to stderr) with the episodes done and the success so far.
    """
    if num_envs < 1:
        raise ValueError(f"num_envs={num_envs} must be >= 1")
    bar = _progress_bar(suite, policy) if progress else None
    wins = [0, 0]

    def tick(episode: Episode) -> None:
        wins[0] += episode["success"]
        wins[1] += 1
        if bar is not None:
            bar.update(1)
            if wins[1] % 10 == 0 or wins[1] == suite.total_episodes:
                bar.set_postfix(success=f"{wins[0] / wins[1]:.3f}", refresh=False)

    episodes: list[Episode] = []
    try:
        for family, split in suite.envs:
            if bar is not None:
                bar.set_description(f"{family}-{split}")
            episodes += run_env(
                policy,
                family,
                split,
                suite.seeds(),
                num_envs=num_envs,
                greedy=greedy,
                vectorization=vectorization,
                on_episode=tick,
            )
    finally:
        if bar is not None:
            bar.close()
    return episodes


def _progress_bar(suite: Suite, policy: Policy):
    from tqdm.auto import tqdm

    return tqdm(total=suite.total_episodes, unit="ep", desc=f"{suite.name} {policy.name}")
