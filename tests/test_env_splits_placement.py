"""Splits draw the right pairs; tiles go where the placement rules allow; episodes stay solvable."""

import contextlib
import io
import random

import gymnasium as gym
import numpy as np
import pytest

import babyaipp
from babyaipp.env import mission_groups
from babyaipp.placement import FLOOR, OBJECT, Reachability, occupancy, separate_colors
from babyaipp.splits import draw_floor_map, has_held_out_pair

FAMILIES = list(babyaipp.FAMILIES.values())


@pytest.mark.parametrize("spec", FAMILIES, ids=lambda s: s.name)
def test_split_maps_draw_only_their_pairs(spec):
    rng = np.random.default_rng(0)
    held = spec.held_out_pairs
    seen_held_in_test = seen_seen_in_test = False
    for _ in range(2000):
        train = draw_floor_map(spec, "Train", rng)
        assert not held & set(train.items())
        assert list(train) == list(spec.floor_colors)
        heldout = draw_floor_map(spec, "HeldOut", rng)
        for color, prop in heldout.items():
            if color in spec.held_out:
                assert (color, prop) in held
        assert has_held_out_pair(spec, heldout)
        test = draw_floor_map(spec, "Test", rng)
        seen_held_in_test |= bool(held & set(test.items()))
        seen_seen_in_test |= bool(set(test.items()) - held)
    assert seen_held_in_test and seen_seen_in_test


@pytest.mark.parametrize("spec", [s for s in FAMILIES if s.fixed], ids=lambda s: s.name)
def test_fixed_split_uses_the_fixed_map(spec):
    rng = np.random.default_rng(0)
    used = set()
    for _ in range(300):
        fixed = draw_floor_map(spec, "Fixed", rng)
        assert len(fixed) == spec.num_floor_colors
        assert all(spec.fixed[c] == p for c, p in fixed.items())
        used |= set(fixed)
    assert used == set(spec.fixed)  # every fixed colour shows up, unseen ones included


def test_train_covers_every_allowed_pair():
    spec = babyaipp.get_family("GoToRedBallHard")
    rng = np.random.default_rng(1)
    pairs = {p for _ in range(3000) for p in draw_floor_map(spec, "Train", rng).items()}
    expected = {(c, p) for c in spec.floor_colors for p in spec.properties} - spec.held_out_pairs
    assert pairs == expected


@pytest.mark.parametrize(
    "env_id", ["BabyAIPP-GoToRedBall-HeldOut-v0", "BabyAIPP-GoToHard-Train-v0"]
)
def test_env_info_matches_split(env_id):
    env = gym.make(env_id)
    spec = env.unwrapped.family
    for seed in range(40):
        _, info = env.reset(seed=seed)
        pairs = set(info["floor_properties"].items())
        if env_id.endswith("HeldOut-v0"):
            assert pairs <= spec.held_out_pairs and info["held_out"]
        else:
            assert not pairs & spec.held_out_pairs and not info["held_out"]


def tile_cells(env):
    return [(x, y) for x, y, _ in env.unwrapped.tiles]


@pytest.mark.parametrize("env_id", [s.env_id("Test") for s in FAMILIES])
@pytest.mark.parametrize("placement", ["uniform", "original"])
def test_tiles_avoid_objects_doors_and_the_agent(env_id, placement):
    """With ``clear_around_objects``, scattered tiles keep off the 4 neighbours of every object;
    a barrier (v1 designs) keeps off those of the mission's objects only, since a line across
    the room may have to pass beside a distractor."""
    env = gym.make(env_id, placement=placement)
    family = env.unwrapped.family
    for seed in range(5):
        env.reset(seed=seed)
        level = env.unwrapped
        ax, ay = level.agent_pos
        mission_objects = {p for group in mission_groups(level.instrs, level) for p in group}
        for x, y in tile_cells(env):
            assert level.grid.get(x, y).type == "floor"
            assert max(abs(x - ax), abs(y - ay)) > 1, "tile on or next to the start cell"
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    cell = level.grid.get(x + dx, y + dy)
                    assert cell is None or cell.type != "door", "tile touching a door"
                    if not family.clear_around_objects or abs(dx) + abs(dy) != 1:
                        continue
                    if family.tiles == "barrier":
                        assert (x + dx, y + dy) not in mission_objects, "mission object neighbour"
                    else:
                        assert cell is None or cell.type in ("wall", "floor"), "object neighbour"


@pytest.mark.parametrize("env_id", [s.env_id(split) for s in FAMILIES for split in s.splits])
def test_traps_never_cut_off_an_object(env_id):
    """The solvability checker: BabyAI's reachability with trap tiles counted as walls."""
    env = gym.make(env_id)
    for seed in range(6):
        _, info = env.reset(seed=seed)
        level = env.unwrapped
        traps = {(x, y) for x, y, c in level.tiles if info["floor_properties"][c] == "trap"}
        check = Reachability(
            level.grid, level.agent_pos, movable_walkable=getattr(level, "unblocking", False)
        )
        assert check.unreached(traps) <= check.unreached()


@pytest.mark.parametrize(
    "env_id",
    [s.env_id(split) for s in FAMILIES if s.tiles == "scatter" for split in s.splits],
)
def test_tiles_of_different_colours_never_touch(env_id):
    """So no slide off a slippery tile and no magic push can ever land in a trap. (A barrier's
    segments touch by design; its crossings are checked in test_env_v2.py.)"""
    env = gym.make(env_id)
    for seed in range(6):
        env.reset(seed=seed)
        level = env.unwrapped
        color_at = {(x, y): c for x, y, c in level.tiles}
        for (x, y), color in color_at.items():
            for nx, ny in ((x + 1, y), (x, y + 1)):
                assert color_at.get((nx, ny), color) == color, f"seed {seed}: {(x, y)}"


def test_separate_colors_drops_the_later_of_two_touching_colours():
    tiles = [(2, 1, "blue"), (1, 1, "green"), (1, 2, "blue"), (3, 3, "blue"), (2, 2, "blue")]
    # visited in cell order: (1,1) green, (2,1) blue dropped, (1,2) blue dropped,
    # (2,2) blue kept (its kept neighbours are none), (3,3) blue kept
    assert separate_colors(tiles, width=5) == [(1, 1, "green"), (2, 2, "blue"), (3, 3, "blue")]
    assert separate_colors(list(reversed(tiles)), width=5) == separate_colors(tiles, width=5)


def test_reachability_moves_blockers_only_where_the_level_unblocks():
    """A ball that blocks the way hides the box behind it; traps then cut the box off.

    Without ``movable_walkable`` the box is unreached with or without the traps, so the check
    would pass vacuously; with it, the agent may move the ball and the traps are caught.
    """
    from babyaipp.scenario import build_scenario

    env = build_scenario(["WWWWWW", "W>R.BW", "WWWWWW"], {"blue": "trap"})
    box = 4 + 1 * 6
    traps = {(3, 1)}
    blocked = Reachability(env.grid, env.agent_pos)
    assert box in blocked.unreached()
    assert blocked.traps_keep_solvable(traps)  # vacuous: the box was never reached
    movable = Reachability(env.grid, env.agent_pos, movable_walkable=True)
    assert movable.unreached() == set()
    assert movable.unreached(traps) == {box}
    assert not movable.traps_keep_solvable(traps)


def test_dense_traps_force_a_regeneration():
    env = gym.make("BabyAIPP-GoToLocal-HeldOut-v0", density=0.6)
    for seed in range(30):
        env.reset(seed=seed)
    assert env.unwrapped.generation_stats["placement_retries"] > 0


def test_unsolvable_placement_gives_up_with_a_clear_error(monkeypatch):
    monkeypatch.setattr(babyaipp.env, "MAX_LAYOUT_TRIES", 3)
    env = gym.make("BabyAIPP-GoToLocal-Test-v0", density=1.0)
    trapped = {"blue": "trap", "green": "trap"}
    monkeypatch.setattr(babyaipp.env, "draw_floor_map", lambda spec, split, rng: dict(trapped))
    with pytest.raises(babyaipp.GenerationError, match="GoToLocal: no solvable layout in 3"):
        env.reset(seed=0)


def tile_counts(placement, seeds=400):
    """Mean number of tiles per colour, grouped by the colour's property."""
    env = gym.make("BabyAIPP-GoToRedBall-Test-v0", placement=placement)
    by_prop = {"trap": [], "fliplr": [], "slippery": []}
    for seed in range(seeds):
        _, info = env.reset(seed=seed)
        for color, prop in info["floor_properties"].items():
            by_prop[prop].append(sum(c == color for *_, c in env.unwrapped.tiles))
    return {p: np.mean(v) for p, v in by_prop.items()}


def test_uniform_density_does_not_reveal_the_property():
    means = tile_counts("uniform")
    assert max(means.values()) - min(means.values()) < 0.6, means


def test_original_placement_leaks_the_property_through_density():
    means = tile_counts("original", seeds=150)
    assert means["fliplr"] > 3 * means["trap"], means


def test_resets_print_nothing_and_leave_global_randomness_alone(capfd):
    state_np = np.random.get_state()[1].copy()  # noqa: NPY002 (checking it is untouched)
    state_py = random.getstate()
    env = gym.make("BabyAIPP-PutNext-Test-v0")  # LevelGen rejects many layouts
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for seed in range(20):
            env.reset(seed=seed)
            env.step(2)
    assert out.getvalue() == ""
    assert capfd.readouterr().out == ""
    assert env.unwrapped.generation_stats["layout_rejections"] > 0
    np.testing.assert_array_equal(np.random.get_state()[1], state_np)  # noqa: NPY002
    assert random.getstate() == state_py


def test_occupancy_codes():
    env = gym.make("BabyAIPP-GoToLocal-Train-v0")
    env.reset(seed=0)
    occ = occupancy(env.unwrapped.grid)
    assert (occ == OBJECT).sum() == 8  # 8 objects, one of them the target
    assert (occ == FLOOR).sum() == len(env.unwrapped.tiles) > 0


def test_reachability_treats_traps_as_walls():
    from babyaipp.scenario import build_scenario

    env = build_scenario(["WWWWWW", "W>.b.W", "W..bRW", "W..b.W", "WWWWWW"], {"blue": "trap"})
    check = Reachability(env.grid, env.agent_pos)
    ball = 4 + 2 * 6
    assert check.unreached() == set()
    assert check.unreached({(3, 1), (3, 2), (3, 3)}) == {ball}
    assert not check.traps_keep_solvable({(3, 1), (3, 2), (3, 3)})
    assert check.traps_keep_solvable({(3, 1), (3, 3)})
