"""Oracle demonstrations in a ``.npz`` file that loads with numpy alone.

``np.load(path)`` (no pickle needed) gives these arrays. ``T`` is the total number of steps,
``E`` the number of episodes; episode ``i`` is steps ``offsets[i]:offsets[i + 1]``.

==========================  =================  ===============================================
key                         shape, dtype       meaning
==========================  =================  ===============================================
``format``                  (), str            ``"babyaipp-demos"``
``version``                 (), int64          :data:`FORMAT_VERSION`
``env_id``                  (), str            e.g. ``"BabyAIPP-GoToRedBall-Train-v0"``
``text_mode``               (), str            the env's ``text=`` (full, none, shuffled, random)
``policy``                  (), str            ``"oracle"`` or ``"blind-oracle"``
``vocab_hash``              (), str            :data:`babyaipp.VOCAB_HASH` of the token arrays
``offsets``                 (E+1,), int64      episode boundaries in the step arrays
``image``                   (T, 7, 7, 3) uint8 observation before each action
``direction``               (T,), int64        observation before each action
``action``                  (T,), int64        the oracle's action (minigrid's 0-6)
``reward``                  (T,), float32      reward of that step
``terminated``              (T,), bool         the step ended the episode (success, trap, …)
``truncated``               (T,), bool         the step hit ``max_steps``
``seed``                    (E,), int64        ``env.reset(seed=…)`` of the episode
``mission``                 (E,), str          the instruction
``description``             (E,), str          the description text the oracle read
``mission_tokens``          (E, 48), int64     ``mission`` tokenised (:class:`TokenizeText`)
``description_tokens``      (E, 6, 4), int64   ``description`` tokenised
``floor_properties``        (E,), str          the true colour→property map, as JSON
``held_out``                (E,), bool         the map holds a held-out pair
``success``                 (E,), bool         the episode was solved
``failure``                 (E,), str          ``""``, ``"trap"``, ``"timeout"`` or ``"mission"``
``return``                  (E,), float32      sum of the episode's rewards
==========================  =================  ===============================================

The observation after an episode's last action is not stored. Mission and description are
constant within an episode, so they are stored once per episode. Replaying ``action`` from
``reset(seed=seed)`` on ``gym.make(env_id, text=text_mode)`` reproduces the episode.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from babyaipp.io import atomic_path

FORMAT = "babyaipp-demos"
FORMAT_VERSION = 1


def record(
    env_id: str,
    seeds: Iterable[int],
    *,
    reads_text: bool = True,
    text: str = "full",
    on_episode: Callable[[int, bool], None] | None = None,
) -> dict[str, np.ndarray]:
    """Play one oracle episode per seed on ``env_id``; the arrays of the file format."""
    import gymnasium as gym

    import babyaipp
    from babyaipp.oracle.agent import Oracle

    env = babyaipp.TokenizeText(gym.make(env_id, text=text))
    steps: dict[str, list] = {k: [] for k in ("image", "direction", "action", "reward")}
    steps.update(terminated=[], truncated=[])
    episodes: dict[str, list] = {
        k: []
        for k in (
            "seed", "mission", "description", "mission_tokens", "description_tokens",
            "floor_properties", "held_out", "success", "failure", "return",
        )
    }  # fmt: skip
    offsets = [0]
    try:
        for seed in seeds:
            obs, info = env.reset(seed=int(seed))
            unwrapped = env.unwrapped
            oracle = Oracle(env, reads_text=reads_text)
            episodes["seed"].append(int(seed))
            episodes["mission"].append(unwrapped.mission)
            episodes["description"].append(unwrapped.description)
            episodes["mission_tokens"].append(obs["mission"])
            episodes["description_tokens"].append(obs["description"])
            episodes["floor_properties"].append(json.dumps(info["floor_properties"]))
            episodes["held_out"].append(bool(info["held_out"]))
            total, done = 0.0, False
            while not done:
                action = oracle.act()
                steps["image"].append(obs["image"])
                steps["direction"].append(int(obs["direction"]))
                obs, reward, terminated, truncated, info = env.step(action)
                steps["action"].append(action)
                steps["reward"].append(reward)
                steps["terminated"].append(terminated)
                steps["truncated"].append(truncated)
                total += reward
                done = terminated or truncated
            offsets.append(len(steps["action"]))
            episodes["success"].append(bool(info["success"]))
            episodes["failure"].append(info["failure"] or "")
            episodes["return"].append(total)
            if on_episode is not None:
                on_episode(int(seed), bool(info["success"]))
    finally:
        env.close()

    from babyaipp.vocab import VOCAB_HASH

    return {
        "format": np.array(FORMAT),
        "version": np.array(FORMAT_VERSION, dtype=np.int64),
        "env_id": np.array(env_id),
        "text_mode": np.array(text),
        "policy": np.array("oracle" if reads_text else "blind-oracle"),
        "vocab_hash": np.array(VOCAB_HASH),
        "offsets": np.array(offsets, dtype=np.int64),
        "image": np.array(steps["image"], dtype=np.uint8).reshape(-1, 7, 7, 3),
        "direction": np.array(steps["direction"], dtype=np.int64),
        "action": np.array(steps["action"], dtype=np.int64),
        "reward": np.array(steps["reward"], dtype=np.float32),
        "terminated": np.array(steps["terminated"], dtype=bool),
        "truncated": np.array(steps["truncated"], dtype=bool),
        "seed": np.array(episodes["seed"], dtype=np.int64),
        "mission": np.array(episodes["mission"], dtype=str),
        "description": np.array(episodes["description"], dtype=str),
        "mission_tokens": np.array(episodes["mission_tokens"], dtype=np.int64).reshape(-1, 48),
        "description_tokens": np.array(episodes["description_tokens"], dtype=np.int64).reshape(
            -1, 6, 4
        ),
        "floor_properties": np.array(episodes["floor_properties"], dtype=str),
        "held_out": np.array(episodes["held_out"], dtype=bool),
        "success": np.array(episodes["success"], dtype=bool),
        "failure": np.array(episodes["failure"], dtype=str),
        "return": np.array(episodes["return"], dtype=np.float32),
    }


def save(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` to ``path`` (compressed ``.npz``) atomically: a temp file, then rename."""
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"demonstrations file {str(path)!r} must end in .npz")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"directory {str(path.parent)!r} does not exist")
    with atomic_path(path) as tmp, open(tmp, "wb") as file:
        np.savez_compressed(file, **arrays)
    return path


def load(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of a demonstrations file (checks the format and version)."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    if arrays.get("format") != FORMAT:
        raise ValueError(f"{path} is not a babyaipp demonstrations file")
    if int(arrays["version"]) != FORMAT_VERSION:
        raise ValueError(
            f"{path} has demonstrations format version {int(arrays['version'])}; "
            f"this babyaipp reads version {FORMAT_VERSION}"
        )
    return arrays


def episode(arrays: dict[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
    """Episode ``i``: its per-step arrays sliced out, plus its per-episode values."""
    offsets = arrays["offsets"]
    num = len(offsets) - 1
    if not -num <= i < num:
        raise IndexError(f"episode {i} out of range: the file has {num} episodes")
    i %= num
    lo, hi = offsets[i], offsets[i + 1]
    per_step = ("image", "direction", "action", "reward", "terminated", "truncated")
    out = {k: arrays[k][lo:hi] for k in per_step}
    per_episode = (
        "seed", "mission", "description", "mission_tokens", "description_tokens",
        "floor_properties", "held_out", "success", "failure", "return",
    )  # fmt: skip
    out.update({k: arrays[k][i] for k in per_episode})
    return out
