"""Each tile rule on hand-built grids: the contract in babyaipp/dynamics.py, case by case."""

import numpy as np
import pytest

from babyaipp.dynamics import PROPERTIES, TileRule, register_property
from babyaipp.scenario import build_scenario

LEFT, RIGHT, FORWARD, PICKUP, DROP, TOGGLE, DONE = range(7)
EAST, SOUTH, WEST, NORTH = range(4)


def pos(env):
    return tuple(int(v) for v in env.agent_pos)


# -- trap ----------------------------------------------------------------------------------


def test_trap_entry_ends_episode_with_zero_reward():
    env = build_scenario(["WWWWWW", "W>b..W", "W...RW", "WWWWWW"], {"blue": "trap"})
    _, reward, terminated, truncated, info = env.step(FORWARD)
    assert (reward, terminated, truncated) == (0.0, True, False)
    assert info["failure"] == "trap" and info["success"] is False and info["tile"] == "trap"


def test_trap_wins_over_mission_completed_on_the_same_step():
    # Stepping onto the trap leaves the agent facing the ball: BabyAI would call it a success.
    env = build_scenario(["WWWWW", "W>bRW", "WWWWW"], {"blue": "trap"})
    _, reward, terminated, _, info = env.step(FORWARD)
    assert terminated and reward == 0.0
    assert info["success"] is False and info["failure"] == "trap"


def test_same_step_without_trap_is_a_success():
    env = build_scenario(["WWWWW", "W>bRW", "WWWWW"], {"blue": "fliplr"})
    _, reward, terminated, _, info = env.step(FORWARD)
    assert terminated and reward > 0 and info["success"] is True and info["failure"] is None


def test_slide_into_trap_kills():
    env = build_scenario(
        ["WWWWWW", "W>gb.W", "W...RW", "WWWWWW"], {"green": "slippery", "blue": "trap"}
    )
    _, reward, terminated, _, info = env.step(FORWARD)
    assert pos(env) == (3, 1)
    assert terminated and reward == 0.0 and info["failure"] == "trap"


def test_push_into_trap_kills_and_skips_the_action():
    # The agent starts on magic; its 2nd step there pushes it south onto the trap.
    env = build_scenario(
        ["WWWWW", "W.>.W", "W.b.W", "W..RW", "WWWWW"],
        {"green": "magic", "blue": "trap"},
        agent_tile="green",
    )
    _, _, terminated, _, info = env.step(LEFT)  # 1st step on magic: no push; turns north
    assert not terminated and env.agent_dir == NORTH
    _, reward, terminated, _, info = env.step(LEFT)  # 2nd: pushed onto the trap, no turn
    assert pos(env) == (2, 2) and env.agent_dir == NORTH
    assert terminated and reward == 0.0 and info["failure"] == "trap"


# -- sticky --------------------------------------------------------------------------------


def test_sticky_holds_two_forwards_then_releases():
    env = build_scenario(["WWWWWWW", "W>b...W", "W....RW", "WWWWWWW"], {"blue": "sticky"})
    env.step(FORWARD)
    assert pos(env) == (2, 1)
    env.step(FORWARD)
    env.step(FORWARD)
    assert pos(env) == (2, 1)  # both held
    env.step(FORWARD)
    assert pos(env) == (3, 1)


def test_sticky_wait_is_used_up_by_turns():
    env = build_scenario(["WWWWWWW", "W>b...W", "W....RW", "WWWWWWW"], {"blue": "sticky"})
    env.step(FORWARD)
    env.step(LEFT)  # turns act during the wait...
    assert env.agent_dir == NORTH
    env.step(RIGHT)  # ...and use it up
    env.step(FORWARD)
    assert pos(env) == (3, 1)


def test_push_onto_sticky_holds_the_same_steps_action():
    env = build_scenario(
        ["WWWWW", "W.>.W", "W.b.W", "W...W", "W..RW", "WWWWW"],
        {"green": "magic", "blue": "sticky"},
        agent_tile="green",
    )
    env.step(RIGHT)  # 1st magic step: turns south
    env.step(FORWARD)  # 2nd: pushed onto sticky; this forward is the 1st held action
    assert pos(env) == (2, 2)
    env.step(FORWARD)  # 2nd held action
    assert pos(env) == (2, 2)
    env.step(FORWARD)
    assert pos(env) == (2, 3)


# -- flipud --------------------------------------------------------------------------------


def test_flipud_forward_turns_around_and_moves_back():
    env = build_scenario(
        ["WWWWWW", "W..>.W", "W...RW", "WWWWWW"], {"blue": "flipud"}, agent_tile="blue"
    )
    env.step(FORWARD)
    assert pos(env) == (2, 1) and env.agent_dir == WEST


def test_flipud_blocked_behind_only_turns():
    env = build_scenario(
        ["WWWWWW", "W>...W", "W...RW", "WWWWWW"], {"blue": "flipud"}, agent_tile="blue"
    )
    env.step(FORWARD)
    assert pos(env) == (1, 1) and env.agent_dir == WEST


def test_flipud_leaves_turns_alone():
    env = build_scenario(
        ["WWWWWW", "W.>..W", "W...RW", "WWWWWW"], {"blue": "flipud"}, agent_tile="blue"
    )
    env.step(LEFT)
    assert env.agent_dir == NORTH


# -- fliplr --------------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "expected"), [(LEFT, SOUTH), (RIGHT, NORTH)])
def test_fliplr_swaps_turns(action, expected):
    env = build_scenario(
        ["WWWWWW", "W.>..W", "W...RW", "WWWWWW"], {"blue": "fliplr"}, agent_tile="blue"
    )
    env.step(action)
    assert env.agent_dir == expected


def test_fliplr_only_acts_on_its_tile():
    env = build_scenario(["WWWWWW", "W.>b.W", "W...RW", "WWWWWW"], {"blue": "fliplr"})
    env.step(LEFT)
    assert env.agent_dir == NORTH


# -- slippery ------------------------------------------------------------------------------


def test_slippery_slides_one_more_cell():
    env = build_scenario(["WWWWWWW", "W>g...W", "W....RW", "WWWWWWW"], {"green": "slippery"})
    _, _, _, _, info = env.step(FORWARD)
    assert pos(env) == (3, 1) and info["tile"] is None


def test_slippery_does_not_slide_into_a_wall_or_object():
    env = build_scenario(["WWWWW", "W>gKW", "W..RW", "WWWWW"], {"green": "slippery"})
    _, _, _, _, info = env.step(FORWARD)
    assert pos(env) == (2, 1) and info["tile"] == "slippery"


def test_slides_do_not_chain():
    env = build_scenario(["WWWWWWW", "W>gg..W", "W....RW", "WWWWWWW"], {"green": "slippery"})
    env.step(FORWARD)
    assert pos(env) == (3, 1)


def test_slide_onto_sticky_starts_the_wait():
    env = build_scenario(
        ["WWWWWWW", "W>gb..W", "W....RW", "WWWWWWW"], {"green": "slippery", "blue": "sticky"}
    )
    env.step(FORWARD)
    assert pos(env) == (3, 1)
    env.step(FORWARD)
    env.step(FORWARD)
    assert pos(env) == (3, 1)
    env.step(FORWARD)
    assert pos(env) == (4, 1)


def test_push_onto_slippery_does_not_slide():
    env = build_scenario(
        ["WWWWW", "W.>.W", "W.g.W", "W...W", "W..RW", "WWWWW"],
        {"blue": "magic", "green": "slippery"},
        agent_tile="blue",
    )
    env.step(LEFT)
    env.step(LEFT)  # pushed south onto slippery
    assert pos(env) == (2, 2)


def test_slide_through_open_door():
    env = build_scenario(["WWWWWWW", "W>gO..W", "W....RW", "WWWWWWW"], {"green": "slippery"})
    env.step(FORWARD)
    assert pos(env) == (3, 1)


# -- magic ---------------------------------------------------------------------------------


def test_magic_pushes_south_every_second_step():
    env = build_scenario(
        ["WWWWW", "W.>.W", "W.b.W", "W.b.W", "W.b.W", "W..RW", "WWWWW"],
        {"blue": "magic"},
        agent_tile="blue",
    )
    trace = []
    for _ in range(6):
        env.step(TOGGLE)  # an action that does nothing here
        trace.append(pos(env)[1])
    assert trace == [1, 2, 2, 3, 3, 4]


def test_magic_counter_resets_off_magic():
    env = build_scenario(
        ["WWWWWW", "W.>..W", "W....W", "W...RW", "WWWWWW"], {"blue": "magic"}, agent_tile="blue"
    )
    env.step(FORWARD)  # 1st magic step; moves east onto plain floor
    env.step(LEFT)  # plain floor: counter resets
    env.step(LEFT)
    assert pos(env) == (3, 1)


def test_magic_counter_resets_on_another_colour():
    env = build_scenario(
        ["WWWWWW", "W.>g.W", "W....W", "W...RW", "WWWWWW"],
        {"blue": "magic", "green": "magic"},
        agent_tile="blue",
    )
    env.step(FORWARD)  # 1st blue step, onto green
    env.step(TOGGLE)  # 1st green step: no push
    assert pos(env) == (3, 1)
    env.step(TOGGLE)  # 2nd green step: push
    assert pos(env) == (3, 2)


def test_magic_push_blocked_by_wall_or_closed_door():
    env = build_scenario(
        ["WWWWW", "W.>.W", "WWDWW", "W..RW", "WWWWW"], {"blue": "magic"}, agent_tile="blue"
    )
    env.step(TOGGLE)
    env.step(TOGGLE)
    assert pos(env) == (2, 1)


def test_magic_push_through_open_door():
    env = build_scenario(
        ["WWWWW", "W.>.W", "WWOWW", "W..RW", "WWWWW"], {"blue": "magic"}, agent_tile="blue"
    )
    env.step(TOGGLE)
    env.step(TOGGLE)
    assert pos(env) == (2, 2)


def test_magic_push_then_action_runs_from_the_new_cell():
    env = build_scenario(
        ["WWWWWW", "W.>..W", "W....W", "W...RW", "WWWWWW"], {"blue": "magic"}, agent_tile="blue"
    )
    env.step(TOGGLE)
    env.step(FORWARD)  # pushed to (2, 2), then moves east
    assert pos(env) == (3, 2)


# -- general -------------------------------------------------------------------------------


def test_objects_cannot_be_dropped_on_floor_tiles():
    env = build_scenario(["WWWWWW", "W>Kb.W", "W...RW", "WWWWWW"], {"blue": "fliplr"})
    env.step(PICKUP)
    assert env.carrying is not None
    env.step(FORWARD)
    env.step(DROP)  # the cell ahead is a blue floor tile: minigrid refuses
    assert env.carrying is not None


def test_timeout_sets_failure():
    env = build_scenario(["WWWWW", "W>..W", "W..RW", "WWWWW"], {"blue": "fliplr"}, max_steps=2)
    env.step(LEFT)
    _, _, terminated, truncated, info = env.step(LEFT)
    assert truncated and not terminated and info["failure"] == "timeout"


def test_info_tile_reports_property_underfoot():
    env = build_scenario(["WWWWWW", "W>b..W", "W...RW", "WWWWWW"], {"blue": "fliplr"})
    *_, info = env.step(FORWARD)
    assert info["tile"] == "fliplr"
    *_, info = env.step(FORWARD)
    assert info["tile"] is None


@pytest.mark.parametrize(
    "action", [7, -1, 2.5, "forward", None, True, False, np.True_, np.array(True)]
)
def test_invalid_action_names_the_value_and_choices(action):
    env = build_scenario(["WWWWW", "W>..W", "W..RW", "WWWWW"], {"blue": "fliplr"})
    with pytest.raises(ValueError, match="invalid action") as excinfo:
        env.step(action)
    assert "forward" in str(excinfo.value)


def test_user_property_plugs_in_without_editing_babyaipp():
    class Windy(TileRule):
        """Every action on a windy tile is replaced by a right turn."""

        name = "windy"
        symbol = "W"

        def before_action(self, ctx, world):
            if ctx.start_property == self.name:
                ctx.action = RIGHT

    register_property(Windy())
    try:
        env = build_scenario(
            ["WWWWW", "W>..W", "W..RW", "WWWWW"], {"blue": "windy"}, agent_tile="blue"
        )
        env.step(FORWARD)
        assert pos(env) == (1, 1) and env.agent_dir == SOUTH
    finally:
        del PROPERTIES["windy"]


def test_register_property_rejects_duplicates():
    with pytest.raises(ValueError, match="already registered"):
        register_property(PROPERTIES["trap"])


# -- the pure step used by planners agrees with the env ------------------------------------


@pytest.mark.parametrize(
    "env_id",
    ["BabyAIPP-GoToRedBallHard-Test-v0", "BabyAIPP-GoToLocal-Test-v0", "BabyAIPP-GoToSeq-Test-v0"],
)
def test_simulate_step_matches_env_step(env_id):
    """``simulate_step`` (for planners) predicts the env's movement under every rule."""
    import copy

    import gymnasium as gym
    import numpy as np

    from babyaipp.dynamics import simulate_step

    env = gym.make(env_id, density=0.6).unwrapped
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    checked = 0
    for _ in range(3000):
        action = int(rng.choice([LEFT, RIGHT, FORWARD, FORWARD, DONE]))
        memory = copy.deepcopy(env.rule_memory)
        predicted = simulate_step(
            env, env.agent_pos, env.agent_dir, action, memory, env._active_rules
        )
        _, _, terminated, truncated, info = env.step(action)
        assert tuple(predicted.pos) == pos(env) and predicted.dir == env.agent_dir
        assert predicted.died == (info["failure"] == "trap")
        assert memory == env.rule_memory
        checked += 1
        if terminated or truncated:
            env.reset(seed=checked)
    assert checked == 3000
