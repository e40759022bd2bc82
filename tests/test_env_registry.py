"""Tests that scale with the registry: every registered babyaipp id, the same checks."""

import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from minigrid.core.world_object import Ball, Wall

import babyaipp
from babyaipp import AppendDescription, TokenizeText

ALL_IDS = babyaipp.registered_ids()
INFO_KEYS = {"floor_properties", "held_out", "tile", "success", "failure"}


def rollout(env, seed, steps=60):
    """(obs, reward, terminated, truncated, info) of a seeded random rollout, resets included."""
    rng = np.random.default_rng(seed)
    trace = [env.reset(seed=seed)]
    for _ in range(steps):
        out = env.step(int(rng.integers(7)))
        trace.append(out)
        if out[2] or out[3]:
            trace.append(env.reset())
    return trace


def assert_same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


def test_catalog_has_every_family_and_split():
    families = {
        "GoToRedBall", "GoToRedBallHard", "GoToRedBallMaze", "GoToRedBallSticky", "GoToLocal",
        "GoTo", "GoToHard", "GoToObjMaze", "PutNextLocal", "PutNext", "PutNextHard", "PickupLoc",
        "Unlock", "GoToSeq", "GoTo2x2Partial",
        # version 1: leaderboard-v2's design
        "GoToRedBall-v1", "GoToRedBallHard-v1", "GoToLocal-v1", "PutNextLocal-v1",
    }  # fmt: skip
    assert set(babyaipp.FAMILIES) == families
    with_fixed = {"GoToRedBallHard", "GoToRedBallMaze", "PutNextLocal", "GoToHard", "Unlock",
                  "PickupLoc", "GoToSeq"}  # fmt: skip
    for name, spec in babyaipp.FAMILIES.items():
        expected = ["Train", "HeldOut", "Test"] + (["Fixed"] if name in with_fixed else [])
        assert list(spec.splits) == expected, name
    assert len(ALL_IDS) == 3 * 19 + 7


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_gymnasium_check_env(env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped, skip_render_check=True)
    messages = [str(w.message) for w in caught]
    assert not messages, messages
    env.close()


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_spaces_contain_every_observation_and_info_is_complete(env_id):
    env = gym.make(env_id)
    appended = AppendDescription(gym.make(env_id))
    tokenized = TokenizeText(gym.make(env_id))
    for (obs, *_, info), app, tok in zip(
        rollout(env, 1), rollout(appended, 1), rollout(tokenized, 1), strict=True
    ):
        assert env.observation_space.contains(obs), obs
        assert appended.observation_space.contains(app[0])
        assert tokenized.observation_space.contains(tok[0])
        assert INFO_KEYS <= set(info)
        assert set(info["floor_properties"]) <= set(babyaipp.text.COLOR_NAMES)


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_same_seed_same_episode_text_included(env_id):
    assert_same(rollout(gym.make(env_id), 7), rollout(gym.make(env_id), 7))


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_pickle_round_trip_continues_identically(env_id):
    env = gym.make(env_id)
    env.reset(seed=3)
    env.step(2)
    clone = pickle.loads(pickle.dumps(env))
    for action in (2, 1, 2, 2, 0, 2):
        assert_same(env.step(action), clone.step(action))


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_rgb_array_render(env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.std() > 0
    env.close()


def test_different_seeds_differ():
    env = gym.make("BabyAIPP-GoToLocal-Test-v0")
    descriptions = {env.reset(seed=s)[0]["description"] for s in range(20)}
    assert len(descriptions) > 1


@pytest.mark.parametrize("env_id", ["BabyAIPP-GoToLocal-Test-v0", "BabyAIPP-PutNext-Test-v0"])
def test_encode_view_is_minigrids_grid_encode(env_id):
    """The env's faster view encoding gives minigrid's array, on random walks with doors,
    carried objects, floor tiles and occlusion."""
    from babyaipp.env import encode_view

    env = gym.make(env_id).unwrapped
    env.reset(seed=5)
    rng = np.random.default_rng(0)
    for _ in range(400):
        grid, vis_mask = env.gen_obs_grid()
        want = grid.encode(vis_mask)
        got = encode_view(grid, vis_mask)
        assert got.dtype == want.dtype and got.flags["C_CONTIGUOUS"]
        np.testing.assert_array_equal(got, want)
        _, _, terminated, truncated, _ = env.step(int(rng.integers(7)))
        if terminated or truncated:
            env.reset()


@pytest.mark.parametrize(
    "env_id", ["BabyAIPP-PutNext-Test-v0", "BabyAIPP-GoToSeq-Test-v0", "BabyAIPP-GoTo-Test-v0"]
)
def test_update_objs_poss_is_minigrids(env_id):
    """The env's refresh of tracked positions equals minigrid's grid scan, on random walks
    that pick up, carry, drop and toggle objects (boxes vanish when toggled)."""
    env = gym.make(env_id).unwrapped
    rng = np.random.default_rng(1)
    checked = 0
    for seed in range(4):
        env.reset(seed=seed)
        for _ in range(300):
            action = int(rng.choice([0, 1, 2, 2, 3, 4, 5]))
            _, _, terminated, truncated, _ = env.step(action)
            if action == 4:
                ours = _positions(env.instrs)
                _minigrid_update(env.instrs)
                assert _positions(env.instrs) == ours
                checked += 1
            if terminated or truncated:
                break
    assert checked > 20


def _minigrid_update(instr):
    """minigrid's own refresh, leaf by leaf (ObjDesc.find_matching_objs scanning the grid)."""
    if hasattr(instr, "instr_a"):
        _minigrid_update(instr.instr_a)
        _minigrid_update(instr.instr_b)
    else:
        instr.update_objs_poss()


def _positions(instr):
    if hasattr(instr, "instr_a"):
        return _positions(instr.instr_a) + _positions(instr.instr_b)
    descs = [getattr(instr, a) for a in ("desc", "desc_move", "desc_fixed") if hasattr(instr, a)]
    return [list(map(tuple, d.obj_poss)) for d in descs]


@pytest.mark.parametrize("family", sorted(babyaipp.FAMILIES))
def test_view_is_minigrids(family):
    """The env's own gen_obs_grid gives minigrid's view: the same objects in the same cells (a
    wall outside the map), the same visibility mask, along a random walk that turns in every
    direction, picks up and drops."""
    from minigrid.minigrid_env import MiniGridEnv

    env = gym.make(babyaipp.FAMILIES[family].env_id("Train")).unwrapped
    env.reset(seed=5)
    rng = np.random.default_rng(5)
    directions = set()

    def assert_same_view(step):
        ours, mask = env.gen_obs_grid()
        theirs, their_mask = MiniGridEnv.gen_obs_grid(env)
        np.testing.assert_array_equal(mask, their_mask)
        for mine, reference in zip(ours.grid, theirs.grid, strict=True):
            assert mine is reference or (type(mine) is type(reference) is Wall), step

    for step in range(300):
        assert_same_view(step)
        directions.add(env.agent_dir)
        _, _, terminated, truncated, _ = env.step(int(rng.integers(0, 5)))
        if terminated or truncated:
            env.reset(seed=5 + step)
    assert directions == {0, 1, 2, 3}
    env.carrying = Ball("purple")  # the carried object shows in the agent's own cell
    assert_same_view("carrying")
