"""The v1 designs (leaderboard-v2): one trap a episode, a barrier across the way, no leaks."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from minigrid.core.grid import Grid
from minigrid.core.world_object import Ball, Wall
from scipy import stats

import babyaipp
from babyaipp.catalog import FamilySpec, SpecError, check_env_id, parse_env_id
from babyaipp.placement import Reachability
from babyaipp.splits import draw_floor_map, trap_colors

V2 = [s for s in babyaipp.FAMILIES.values() if s.version == 1]
V2_IDS = [s.env_id(split) for s in V2 for split in s.splits]


def test_the_paper_families_and_the_local_ones_have_a_v1_design():
    assert {s.key for s in V2} >= {
        "GoToRedBall-v1",
        "GoToRedBallHard-v1",
        "GoToLocal-v1",
        "PutNextLocal-v1",
    }
    for spec in V2:
        assert (spec.assignment, spec.tiles) == ("one-trap", "barrier")
        assert spec.env_id("Train") == f"BabyAIPP-{spec.name}-Train-v1"


def test_v0_ids_and_spec_dicts_are_unchanged():
    spec = babyaipp.get_family("GoToRedBall")
    assert spec.env_id("HeldOut") == "BabyAIPP-GoToRedBall-HeldOut-v0"
    assert set(spec.to_dict()) == {
        "name", "base", "properties", "floor_colors", "held_out", "fixed", "base_kwargs",
        "withhold", "density", "clear_around_objects", "doc",
    }  # fmt: skip
    assert FamilySpec.from_dict(babyaipp.get_family("GoToLocal-v1").to_dict()).key == (
        "GoToLocal-v1"
    )


@pytest.mark.parametrize(
    "env_id, message",
    [
        ("BabyAIPP-GoToRedBall-Train-v9", r"GoToRedBall has no version v9; valid: \['v0', 'v1'\]"),
        ("BabyAIPP-Nope-Train-v1", "unknown family 'Nope'"),
        ("BabyAIPP-GoToRedBall-Fixed-v1", "GoToRedBall-v1 has no split Fixed"),
        ("BabyAIPP-GoToRedBall-Train-1", "is not a babyaipp id"),
    ],
)
def test_bad_ids_name_what_is_wrong(env_id, message):
    with pytest.raises(ValueError, match=message):
        check_env_id(env_id)


def test_ids_parse_to_family_keys():
    assert parse_env_id("BabyAIPP-GoToLocal-HeldOut-v1") == ("GoToLocal-v1", "HeldOut")
    assert parse_env_id("BabyAIPP-GoToLocal-HeldOut-v0") == ("GoToLocal", "HeldOut")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"held_out": {}}, "needs the trap held out for some colours but not all"),
        ({"held_out": {c: ["trap"] for c in ("blue", "green", "grey", "purple")}}, "not all"),
        ({"assignment": "independent"}, "tiles 'barrier' needs assignment 'one-trap'"),
        ({"tiles": "wall"}, r"unknown tiles 'wall'; valid: \['scatter', 'barrier'\]"),
        ({"assignment": "two"}, "unknown assignment 'two'"),
        ({"version": -1}, "version -1 must be an integer >= 0"),
        ({"fixed": dict.fromkeys(("blue", "green", "grey", "purple"), "trap")}, "no Fixed split"),
    ],
)
def test_bad_v1_specs_are_refused(change, message):
    data = {**babyaipp.get_family("GoToRedBall-v1").to_dict(), "fixed": None, **change}
    if data["fixed"] is None:
        del data["fixed"]
    with pytest.raises(SpecError, match=message):
        FamilySpec.from_dict(data)


@pytest.mark.parametrize("spec", V2, ids=lambda s: s.key)
def test_exactly_one_trap_and_the_split_decides_which_colours_may_be_it(spec):
    rng = np.random.default_rng(0)
    held_trap = {c for c in spec.floor_colors if "trap" in spec.held_out.get(c, ())}
    for split, allowed in (("Train", set(spec.floor_colors) - held_trap), ("HeldOut", held_trap)):
        seen = set()
        for _ in range(500):
            floor_map = draw_floor_map(spec, split, rng)
            traps = [c for c, p in floor_map.items() if p == "trap"]
            assert len(traps) == 1 and traps[0] in allowed, (split, floor_map)
            seen.add(traps[0])
        assert seen == allowed == set(trap_colors(spec, split))


def across_the_way(env) -> bool:
    """Whether no path of plain cells leads from the agent to a cell beside a mission object
    of some description: the mission cannot be done without stepping on a tile."""
    u = env.unwrapped
    tiles = {(x, y) for x, y, _ in u.tiles}
    groups = babyaipp.env.mission_groups(u.instrs, u)
    seen, stack = {tuple(map(int, u.agent_pos))}, [tuple(map(int, u.agent_pos))]
    while stack:
        x, y = stack.pop()
        for nxt in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
            if nxt not in seen and nxt not in tiles and u.grid.get(*nxt) is None:
                seen.add(nxt)
                stack.append(nxt)
    beside = lambda p: {(p[0] + 1, p[1]), (p[0] - 1, p[1]), (p[0], p[1] + 1), (p[0], p[1] - 1)}  # noqa: E731
    return any(group and all(not (beside(p) & seen) for p in group) for group in groups)


@pytest.mark.parametrize("env_id", V2_IDS)
def test_every_episode_lies_across_a_barrier_of_the_trap_and_one_other_colour(env_id):
    env = gym.make(env_id)
    for seed in range(40):
        _, info = env.reset(seed=seed)
        u = env.unwrapped
        colors = {c for *_, c in u.tiles}
        [trap] = [c for c, p in info["floor_properties"].items() if p == "trap"]
        assert len(colors) == 2 and trap in colors, (seed, colors, info["floor_properties"])
        assert across_the_way(env), f"{env_id} seed {seed}: the mission needs no crossing"
        assert sorted(info["floor_properties"]) == sorted(u.family.floor_colors)


def test_the_same_seed_gives_the_same_episode_text_included():
    a, b = gym.make("BabyAIPP-GoToLocal-Train-v1"), gym.make("BabyAIPP-GoToLocal-Train-v1")
    for seed in (0, 5, 123):
        oa, _ = a.reset(seed=seed)
        ob, _ = b.reset(seed=seed)
        assert np.array_equal(oa["image"], ob["image"]) and oa["description"] == ob["description"]
        assert a.unwrapped.tiles == b.unwrapped.tiles


def test_the_image_does_not_tell_which_segment_is_the_trap():
    """Segment length and position are drawn without looking at properties: over many
    episodes the trap segment is as long as the safe one and as often first along the line."""
    env = gym.make("BabyAIPP-GoToLocal-Test-v1")
    trap_longer = trap_first = longer_total = 0
    trap_len, safe_len = [], []
    for seed in range(600):
        _, info = env.reset(seed=seed)
        tiles = env.unwrapped.tiles
        [trap] = [c for c, p in info["floor_properties"].items() if p == "trap"]
        n_trap = sum(c == trap for *_, c in tiles)
        n_safe = len(tiles) - n_trap
        trap_len.append(n_trap)
        safe_len.append(n_safe)
        trap_first += tiles[0][2] == trap
        if n_trap != n_safe:
            longer_total += 1
            trap_longer += n_trap > n_safe
    assert stats.binomtest(trap_first, 600).pvalue > 0.01, trap_first
    assert stats.binomtest(trap_longer, longer_total).pvalue > 0.01, (trap_longer, longer_total)
    assert abs(np.mean(trap_len) - np.mean(safe_len)) < 0.5


def test_a_crossing_counts_only_straight_through_a_tile_of_a_safe_colour():
    # 7x5 room: agent at (1, 2), a ball at (5, 2), a vertical line at x = 3 of two colours.
    grid = Grid(7, 5)
    grid.wall_rect(0, 0, 7, 5)
    grid.set(5, 2, Ball("red"))
    reach = Reachability(grid, (1, 2))
    ball = 5 + 2 * 7
    line = {3 + y * 7: ("blue" if y < 2 else "green") for y in (1, 2, 3)}
    assert reach.unreached_across(line, 0, blocked="blue") == set()  # cross green
    assert reach.unreached_across(line, 0, blocked="green") == set()  # cross blue at y = 1
    assert reach.unreached_across(line, 1, blocked="green") == {ball}  # along-line only: no
    everything = {i: "blue" for i in line}
    assert reach.unreached_across(everything, 0, blocked="blue") == {ball}
    grid.set(4, 1, Wall())  # blue's only cell now leads into a wall: no crossing there
    reach = Reachability(grid, (1, 2))
    assert reach.unreached_across(line, 0, blocked="green") == {ball}
    assert not reach.barrier_keeps_solvable(line, 0)
    assert reach.unreached_across(line, 0, blocked="blue") == set()


@pytest.mark.parametrize("env_id", [s.env_id(split) for s in V2 for split in ("Train", "HeldOut")])
def test_the_oracle_solves_and_reading_pays(env_id):
    """A quick version of benchmarks/oracle_solvability.py (200 seeds each; docs): the
    oracle solves every episode, its text-blind twin and the oracle fed shuffled text fail
    far more often."""
    from babyaipp.oracle import solve

    seeds = range(30)
    env, shuffled = gym.make(env_id), gym.make(env_id, text="shuffled")
    oracle = [solve(env, reads_text=True, seed=s).success for s in seeds]
    blind = [solve(env, reads_text=False, seed=s).success for s in seeds]
    lied = [solve(shuffled, reads_text=True, seed=s).success for s in seeds]
    assert all(oracle)
    assert np.mean(blind) <= 0.75 and np.mean(lied) <= 0.75, (np.mean(blind), np.mean(lied))


@pytest.mark.slow
@pytest.mark.parametrize("env_id", V2_IDS)
def test_the_oracle_solves_200_seeds_of_every_v1_id(env_id):
    """The solvability claim of docs/benchmark-v2.md, at its 200 seeds."""
    from babyaipp.oracle import solve

    env = gym.make(env_id)
    failed = [s for s in range(200) if not solve(env, reads_text=True, seed=s).success]
    assert failed == []
