"""Reference envs in an engine episode's exact state: for building banks and for testing.

:func:`forced_map_env` is the generator behind every bank entry: the family's own reference
env with a one-map Fixed split whose trap slots are a given set (:func:`forced_spec`; see
:mod:`babyaipp.engine.bank`, which imports this module, never the other way round).
:func:`episode_env` rebuilds, for env ``i`` of a batched engine, the reference env of its
current episode: the bank entry's layout regenerated from its recorded seed, then the
episode's map (tile colours), text and rule memory put in place. The differential test steps
the two side by side.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from gymnasium.vector import SyncVectorEnv
from minigrid.core.world_object import Floor
from minigrid.utils.baby_ai_bot import BabyAIBot

from babyaipp.catalog import FamilySpec
from babyaipp.dynamics import active_rules, reset_memory
from babyaipp.env import DynamicsLevel, make_env
from babyaipp.oracle import Oracle
from babyaipp.splits import has_held_out_pair
from babyaipp.wrappers import TokenizeText


def forced_spec(spec: FamilySpec, trap_mask: int) -> FamilySpec:
    """``spec`` with a one-map Fixed split whose trap slots are exactly ``trap_mask``."""
    others = [p for p in spec.properties if p != "trap"]
    fixed = {}
    for slot, color in enumerate(spec.floor_colors):
        if trap_mask >> slot & 1:
            fixed[color] = "trap"
        elif others:
            fixed[color] = others[0]
        else:
            raise ValueError(f"family {spec.key} has no non-trap property for slot {slot}")
    return dataclasses.replace(spec, fixed=fixed)


def forced_map_env(spec: FamilySpec, trap_mask: int, **kwargs: Any) -> DynamicsLevel:
    """The reference env of ``spec`` whose episodes have exactly the trap slots ``trap_mask``."""
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    return make_env(forced_spec(spec, trap_mask), "Fixed", text="none", **kwargs)


def set_episode(
    env: DynamicsLevel,
    spec: FamilySpec,
    split: str,
    floor_map: dict[str, str],
    sentences: list[str],
) -> None:
    """Give a freshly reset reference env another map (same slots) and description.

    Tiles keep their cells and slots (slot k = the k-th colour of the map); the rules' memory
    starts afresh. This writes the env's episode attributes directly: the env has no public
    setter for them.
    """
    old, new = list(env.floor_map), list(floor_map)
    if len(old) != len(new):
        raise ValueError(f"map {floor_map} has {len(new)} colours, the episode {len(old)}")
    tiles = []
    for x, y, color in env.tiles:
        color = new[old.index(color)]
        env.grid.set(x, y, Floor(color))
        tiles.append((x, y, color))
    env.tiles = tiles
    env.family, env.split = spec, split
    env.floor_map = dict(floor_map)
    env.held_out = has_held_out_pair(spec, env.floor_map)
    env.sentences = list(sentences)
    env.description = " ".join(sentences)
    env._active_rules = active_rules(env.floor_map.values())
    env.rule_memory = reset_memory(env._active_rules)


def episode_env(engine, i: int) -> tuple[TokenizeText, dict, dict]:
    """The reference env (TokenizeText-wrapped) in env ``i``'s current episode, at its start.

    Returns ``(env, obs, info)`` with the episode's first observation and info as the reference
    computes them. Call right after the engine reset env ``i``.
    """
    state = engine.episode_state(i)
    env = forced_map_env(
        engine.spec, state["trap_mask"], density=engine.density, max_steps=engine.max_steps_override
    )
    env.reset(seed=state["seed"])
    set_episode(env, engine.spec, engine.split, state["floor_map"], state["sentences"])
    wrapped = TokenizeText(env)
    obs = wrapped.observation(env.gen_obs())
    return wrapped, obs, env._info(success=False, failure=None)


class Mismatch(AssertionError):
    """The engine and the reference env disagree (the message says where and how)."""


def _unbatch_info(info: dict, i: int) -> dict:
    """Env ``i``'s info from a vector info dict (gymnasium's convention)."""
    out = {}
    for key, value in info.items():
        if key.startswith("_") or not info[f"_{key}"][i]:
            continue
        item = _unbatch_info(value, i) if isinstance(value, dict) else value[i]
        out[key] = item.item() if isinstance(item, np.generic) else item
    return out


def _same(a, b, ordered: bool = False) -> bool:
    """Equal values, types and dtypes; with ``ordered``, dict keys in the same order too."""
    if isinstance(a, dict):
        keys_ok = list(a) == list(b) if ordered else set(a) == set(b)
        return isinstance(b, dict) and keys_ok and all(_same(a[k], b[k], ordered) for k in a)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and bool((a == b).all())
    return type(a) is type(b) and a == b


def _check(what: str, got, want, where: str, ordered: bool = False) -> None:
    if not _same(got, want, ordered):
        raise Mismatch(f"{where}: {what} differs\n engine:    {got!r}\n reference: {want!r}")


def _check_obs(engine_obs: dict, i: int, ref_obs: dict, where: str) -> None:
    for key in ("image", "mission", "description"):
        _check(
            key, engine_obs[key][i], np.asarray(ref_obs[key], dtype=engine_obs[key].dtype), where
        )
    _check("direction", int(engine_obs["direction"][i]), int(ref_obs["direction"]), where)


def _as_info(info: dict) -> dict:
    """A reference info with numpy scalars turned into Python ones, as the engine returns."""
    return {k: (_as_info(v) if isinstance(v, dict) else v) for k, v in info.items()}


def differential_run(engine, steps: int, seed: int = 0, bot_envs: int = 0) -> dict[str, int]:
    """Step ``engine`` and, beside it, one reference env per batch slot; raise on any difference.

    Each reference env is rebuilt in the engine's episode (:func:`episode_env`) whenever the
    engine starts one; both get the same actions: uniformly random, except that the first
    ``bot_envs`` envs follow minigrid's BabyAI bot (planning on the reference env, blind to the
    floor dynamics; a random action whenever it is lost; the oracle in barrier families), so
    that instructions that random actions rarely complete (PutNext) get completed too.
    Compared at every reset and step, for every env: observation (image, direction, mission
    and description tokens), reward, terminated, truncated and the info fields; the vector
    info's structure is checked against the one gymnasium's ``SyncVectorEnv`` would build from
    the reference infos.

    Returns counts of the events the run exercised (rules fired, doors toggled, successes...),
    so a test can check that it covered what it claims.
    """
    n = engine.num_envs
    rng = np.random.default_rng(seed)
    obs, info = engine.reset(seed=seed)
    refs: list = [None] * n
    bots: list = [None] * n
    restart = np.ones(n, dtype=bool)
    counts = dict.fromkeys(
        ("steps", "episodes", "success", "trap", "timeout", "slide", "magic_push", "sticky_hold",
         "fliplr", "flipud", "door_toggle", "pickup", "drop"), 0)  # fmt: skip
    rewards, terms, truncs = np.zeros(n), np.zeros(n, bool), np.zeros(n, bool)
    actions = np.zeros(n, dtype=np.int64)
    for t in range(steps + 1):
        where = f"step {t}"
        if t > 0:
            actions = rng.integers(7, size=n)
            for i in range(min(bot_envs, n)):
                actions[i] = _bot_action(bots[i], int(actions[i]))
            obs, rewards, terms, truncs, info = engine.step(actions)
        want_info = {}
        for i in range(n):
            at = f"{where}, env {i}"
            if restart[i]:
                refs[i], ref_obs, ref_info = episode_env(engine, i)
                bots[i] = _make_bot(refs[i]) if i < bot_envs else None
                ref_reward, ref_term, ref_trunc = 0.0, False, False
                counts["episodes"] += 1
            else:
                ref_obs, ref_reward, ref_term, ref_trunc, ref_info = _step_counted(
                    refs[i], int(actions[i]), counts
                )
            _check_obs(obs, i, ref_obs, at)
            _check("reward", float(rewards[i]), float(ref_reward), at)
            _check("terminated", bool(terms[i]), bool(ref_term), at)
            _check("truncated", bool(truncs[i]), bool(ref_trunc), at)
            _check("info", _unbatch_info(info, i), _as_info(ref_info), at)
            SyncVectorEnv._add_info(engine, want_info, ref_info, i)
        _check("vector info", info, want_info, where, ordered=True)
        restart = terms | truncs
        if t > 0:
            counts["steps"] += n
    return counts


def _make_bot(env):
    """minigrid's BabyAI bot; in barrier families (which it cannot cross: it never reads the
    text and wanders until timeout) the reading oracle, so successes get exercised there too."""
    if env.unwrapped.family.tiles == "barrier":
        return _OracleBot(env)
    return BabyAIBot(env.unwrapped)


class _OracleBot:
    """The oracle behind the BabyAI bot's ``replan()`` (created right after the reset)."""

    def __init__(self, env):
        self.oracle = Oracle(env)

    def replan(self) -> int:
        return self.oracle.act()


def _bot_action(bot, fallback: int) -> int:
    try:
        action = bot.replan()
    except Exception:  # the bot's plan broke on the floor dynamics: act at random
        return fallback
    return fallback if action is None else int(action)


def _step_counted(env, action: int, counts: dict[str, int]):
    """``env.step(action)``, counting which rules and mechanics the step exercised."""
    u = env.unwrapped
    pos, start, carrying = tuple(u.agent_pos), u.property_at(u.agent_pos), u.carrying
    front = u.grid.get(*u.front_pos)
    obs, reward, term, trunc, info = env.step(action)
    moved = (u.agent_pos[0] - pos[0], u.agent_pos[1] - pos[1])
    counts["success"] += info["success"]
    counts["trap"] += info["failure"] == "trap"
    counts["timeout"] += info["failure"] == "timeout"
    counts["slide"] += abs(moved[0]) + abs(moved[1]) == 2 and start != "magic"
    counts["magic_push"] += (
        start == "magic" and moved[1] >= 1 and action != 2 or (start == "magic" and moved[1] == 2)
    )
    counts["sticky_hold"] += (
        start == "sticky"
        and action == 2
        and moved == (0, 0)
        and (front is None or front.can_overlap())
    )
    counts["fliplr"] += start == "fliplr" and action in (0, 1)
    counts["flipud"] += start == "flipud" and action == 2
    counts["door_toggle"] += action == 5 and front is not None and front.type == "door"
    counts["pickup"] += carrying is None and u.carrying is not None
    counts["drop"] += carrying is not None and u.carrying is None
    return obs, reward, term, trunc, info
