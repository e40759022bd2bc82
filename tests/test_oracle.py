"""The oracle: solvability of generated episodes, exact predictions, hand-built cases, belief."""

import gymnasium as gym
import pytest

import babyaipp
from babyaipp.dynamics import active_rules, reset_memory
from babyaipp.oracle import Belief, Goal, Oracle, find_plan, solve
from babyaipp.oracle.belief import normalise_memory
from babyaipp.oracle.world import BeliefWorld
from babyaipp.scenario import build_scenario

LEFT, RIGHT, FORWARD, PICKUP, DROP, TOGGLE, DONE = range(7)
EAST, SOUTH, WEST, NORTH = range(4)
ALL_IDS = babyaipp.registered_ids()
SIX = ["trap", "sticky", "flipud", "fliplr", "slippery", "magic"]


def play(env, oracle, max_steps=500):
    """Step ``oracle``'s actions in ``env`` (unwrapped); the cells entered and the last info."""
    cells, info = [], {}
    for _ in range(max_steps):
        _, _, terminated, truncated, info = env.step(oracle.act())
        cells.append(tuple(int(v) for v in env.agent_pos))
        if terminated or truncated:
            break
    return cells, info


def fully_described(env_id):
    return babyaipp.get_family(babyaipp.catalog.parse_env_id(env_id)[0]).withhold == 0


# -- generated episodes ----------------------------------------------------------------------


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_oracle_solves_generated_episodes(env_id):
    env = gym.make(env_id)
    for seed in (0, 1):
        rollout = solve(env, seed=seed)
        assert rollout.success, (env_id, seed, rollout.failure, rollout.stuck)
        assert rollout.stuck is None
        if fully_described(env_id):
            # With the whole map described, every step goes exactly as the plan predicted:
            # the planner's simulation and the env agree.
            assert rollout.stats.surprises == 0, (env_id, seed)


@pytest.mark.slow
@pytest.mark.parametrize("env_id", ALL_IDS)
def test_oracle_solves_more_seeds_and_the_blind_twin_only_dies_in_traps(env_id):
    env = gym.make(env_id)
    for seed in range(2, 12):
        rollout = solve(env, seed=seed)
        assert rollout.success, (env_id, seed, rollout.failure, rollout.stuck)
        if fully_described(env_id):
            assert rollout.stats.surprises == 0, (env_id, seed)
    for seed in range(5):
        rollout = solve(env, seed=seed, reads_text=False)
        assert rollout.success or rollout.failure == "trap", (env_id, seed, rollout.stuck)


def test_oracle_is_deterministic():
    env = gym.make("BabyAIPP-GoToHard-Test-v0")
    assert solve(env, seed=3).actions == solve(env, seed=3).actions


def test_oracle_must_be_created_at_episode_start():
    env = gym.make("BabyAIPP-GoToRedBall-Train-v0")
    env.reset(seed=0)
    env.step(LEFT)
    with pytest.raises(ValueError, match="right after reset"):
        Oracle(env)


# -- hand-built cases ------------------------------------------------------------------------

DETOUR = ["WWWWWWW", "W>.b.RW", "W.....W", "WWWWWWW"]


def test_reads_the_text_and_walks_around_a_trap():
    env = build_scenario(DETOUR, {"blue": "trap"}, family="GoToRedBallHard")
    cells, info = play(env, Oracle(env))
    assert info["success"] and (3, 1) not in cells


def test_a_lying_description_leads_it_into_the_trap():
    # The oracle believes the text, not the hidden map: told blue is sticky, it walks on it.
    env = build_scenario(DETOUR, {"blue": "trap"}, family="GoToRedBallHard")
    _, info = play(env, Oracle(env, description="blue floors are sticky."))
    assert info["failure"] == "trap"


def test_blind_twin_avoids_unknown_floor_when_it_can():
    env = build_scenario(DETOUR, {"blue": "sticky"}, family="GoToRedBallHard")
    cells, info = play(env, Oracle(env, reads_text=False))
    assert info["success"] and (3, 1) not in cells
    # The reader knows sticky is harmless and takes the straight route: 3 forwards + waits.
    env = build_scenario(DETOUR, {"blue": "sticky"}, family="GoToRedBallHard")
    cells, info = play(env, Oracle(env))
    assert info["success"] and (3, 1) in cells


@pytest.mark.parametrize("prop", ["sticky", "flipud", "fliplr", "slippery", "magic"])
def test_blind_twin_crosses_unknown_floor_when_it_must_and_learns(prop):
    env = build_scenario(
        ["WWWWWWWW", "W>bbb.RW", "WWWWWWWW"], {"blue": prop}, family="GoToRedBallHard"
    )
    oracle = Oracle(env, reads_text=False)
    _, info = play(env, oracle)
    assert info["success"]
    assert not oracle.belief.may_be("blue", "trap")  # it walked on blue and lived
    if prop in ("sticky", "slippery", "flipud"):  # what a straight walk can reveal
        assert oracle.belief.known() == {"blue": prop}


def test_opens_a_closed_door_on_the_way():
    env = build_scenario(["WWWWWW", "W>D.RW", "WWWWWW"], {})
    oracle = Oracle(env)
    actions = []
    for _ in range(10):
        actions.append(oracle.act())
        _, _, terminated, _, info = env.step(actions[-1])
        if terminated:
            break
    assert info["success"] and actions == [TOGGLE, FORWARD, FORWARD]


def test_fetches_the_key_of_a_locked_door():
    env = build_scenario(["WWWWWWW", "W>..W.W", "W.K.L.W", "W...WRW", "WWWWWWW"], {}, max_steps=200)
    oracle = Oracle(env)
    _, info = play(env, oracle)
    assert info["success"], oracle.stuck
    assert oracle.stats.fixes == 1


def test_moves_an_object_out_of_the_way():
    env = build_scenario(["WWWWWWWW", "W>.B..RW", "W..WWWWW", "WWWWWWWW"], {}, max_steps=200)
    oracle = Oracle(env)
    _, info = play(env, oracle)
    assert info["success"], oracle.stuck
    assert env.grid.get(3, 1) is None  # the box was moved aside


def test_stuck_when_no_way_exists():
    # The only way to the ball crosses a trap: no safe plan; it stops and says why.
    env = build_scenario(["WWWWWW", "W>b.RW", "WWWWWW"], {"blue": "trap"}, max_steps=20)
    oracle = Oracle(env)
    _, info = play(env, oracle)
    assert info["failure"] == "timeout"
    assert oracle.stuck is not None and "no" in oracle.stuck


# -- planner and belief ----------------------------------------------------------------------


def test_plan_counts_the_slide_of_a_slippery_tile():
    # Facing the ball from (4, 1) needs 2 forwards on plain floor; a slippery tile at (2, 1)
    # carries the agent to (3, 1) at once, so 2 forwards still do it: (2,1)->(3,1), (4,1).
    env = build_scenario(["WWWWWWW", "W>g..RW", "WWWWWWW"], {"green": "slippery"})
    world = BeliefWorld(env.grid, {"green": "slippery"}, closed_doors=True)
    rules = active_rules(["slippery"])
    plan = find_plan(world, ((1, 1), EAST), reset_memory(rules), rules, Goal(frozenset({(5, 1)})))
    assert plan.actions == [FORWARD, FORWARD]
    assert plan.poses == [((3, 1), EAST), ((4, 1), EAST)]


def test_magic_counter_is_folded_by_parity():
    assert normalise_memory({"magic_color": "red", "magic_count": 5})["magic_count"] == 1
    assert normalise_memory({"magic_color": "red", "magic_count": 6})["magic_count"] == 2
    assert normalise_memory({"magic_color": "red", "magic_count": 2})["magic_count"] == 2


def test_belief_learns_from_a_slide():
    env = build_scenario(["WWWWWWW", "W>g..RW", "WWWWWWW"], {"green": "slippery"})
    belief = Belief(["green"], SIX)
    env.step(FORWARD)
    belief.observe(env.grid, ((1, 1), EAST), FORWARD, ((3, 1), EAST))
    assert belief.known() == {"green": "slippery"}


def test_belief_stops_trusting_a_contradicted_text():
    env = build_scenario(["WWWWWWW", "W>g..RW", "WWWWWWW"], {"green": "sticky"})
    belief = Belief(["green"], SIX, stated={"green": "slippery"})
    assert belief.known() == {"green": "slippery"}
    env.step(FORWARD)  # no slide: the text lied
    belief.observe(env.grid, ((1, 1), EAST), FORWARD, ((2, 1), EAST))
    assert belief.contradicted
    assert "green" not in belief.known() and not belief.may_be("green", "slippery")
    assert not belief.may_be("green", "trap")


def test_belief_ignores_sentences_about_absent_colours_and_unknown_properties():
    belief = Belief(["blue"], SIX, stated={"blue": "trap", "red": "sticky", "green": "tacky"})
    assert belief.known() == {"blue": "trap"}
