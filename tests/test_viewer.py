"""The viewer without a window: key bindings, the session the keys change, the painter."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from minigrid.core.actions import Actions
from minigrid.core.world_object import Floor

import babyaipp  # noqa: F401  (registers the ids)
from babyaipp.viewer.keys import ACTION_NAMES, Command, command_for_key, help_lines
from babyaipp.viewer.session import END_HOLD_S, SPEEDS, Session

LOCAL = "BabyAIPP-GoToLocal-Train-v0"


class FakePolicy:
    """A policy with explain(): fixed probabilities, attention from a seeded generator.

    It records what it was given, and plays ``actions`` in turn.
    """

    name = "fake"
    uses_text = True
    privileged = False
    needs_env = False

    def __init__(self, actions=(Actions.left,), attention=True):
        self.actions = list(actions)
        self.attention = attention
        self.calls = []
        self.rng = np.random.default_rng(0)

    def initial_state(self, num_envs):
        return np.zeros(num_envs, dtype=np.int64)

    def act(self, obs, state, episode_start, *, greedy=True, envs=None):
        self.calls.append(({k: np.array(v) for k, v in obs.items()}, episode_start.copy(), greedy))
        action = self.actions[int(state[0]) % len(self.actions)]
        return np.array([int(action)]), state + 1

    def explain(self, obs, state):
        probs = np.full((1, 7), 0.05)
        probs[0, self.actions[int(state[0]) % len(self.actions)]] = 0.7
        attention = self.rng.integers(0, 3, size=(1, 7, 7)) if self.attention else None
        return {"action_probs": probs, "attention": attention}


def reference_env(env_id, seed, actions, **kwargs):
    env = gym.make(env_id, **kwargs)
    env.reset(seed=seed)
    for action in actions:
        env.step(action)
    return env.unwrapped


# -- keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, action",
    [
        ("left", Actions.left),
        ("right", Actions.right),
        ("up", Actions.forward),
        ("space", Actions.toggle),
        ("page up", Actions.pickup),
        ("pageup", Actions.pickup),
        ("tab", Actions.pickup),
        ("page down", Actions.drop),
        ("left shift", Actions.drop),
        ("return", Actions.done),
        ("enter", Actions.done),
    ],
)
def test_human_keys_are_minigrid_manual_control_actions(key, action):
    assert command_for_key(key, agent_mode=False) == Command("act", int(action))


@pytest.mark.parametrize(
    "key, name",
    [
        ("space", "pause"),
        (".", "step_once"),
        ("+", "faster"),
        ("=", "faster"),
        ("[+]", "faster"),
        ("-", "slower"),
        ("[-]", "slower"),
    ],
)
def test_agent_keys(key, name):
    assert command_for_key(key, agent_mode=True) == Command(name)


def test_view_keys_work_in_both_modes_and_unbound_keys_do_nothing():
    for agent_mode in (False, True):
        assert command_for_key("n", agent_mode) == Command("next_seed")
        assert command_for_key("d", agent_mode) == Command("toggle_dynamics")
        assert command_for_key("h", agent_mode) == Command("toggle_help")
        assert command_for_key("backspace", agent_mode) == Command("restart")
        assert command_for_key("escape", agent_mode) == Command("escape")
        assert command_for_key("q", agent_mode) is None
    assert command_for_key("up", agent_mode=True) is None  # the agent drives
    assert command_for_key(".", agent_mode=False) is None


def test_help_lists_every_bound_key_meaning():
    human = dict(help_lines(agent_mode=False))
    agent = dict(help_lines(agent_mode=True))
    assert "up" in human and "n" in human and "d" in human and "escape" in human
    assert "space" in agent and "." in agent and "+ / -" in agent and "up" not in agent


# -- the session in human mode -----------------------------------------------------------------


def press(session, *keys):
    for key in keys:
        session.apply(command_for_key(key, session.agent_mode))


def test_action_keys_step_the_env_like_the_same_actions():
    session = Session(LOCAL, seed=5)
    press(session, "up", "left", "up", "right", "up")
    actions = [Actions.forward, Actions.left, Actions.forward, Actions.right, Actions.forward]
    ref = reference_env(LOCAL, 5, actions)
    level = session.level
    assert level.step_count == 5 == session.steps
    assert tuple(level.agent_pos) == tuple(ref.agent_pos)
    assert level.agent_dir == ref.agent_dir
    assert session.last_action == Actions.forward


def test_restart_replays_the_seed_and_n_moves_to_the_next():
    session = Session(LOCAL, seed=7)
    start = (tuple(session.level.agent_pos), session.level.mission, session.level.description)
    press(session, "left", "up")
    press(session, "backspace")
    assert session.seed == 7 and session.level.step_count == 0
    assert (
        tuple(session.level.agent_pos),
        session.level.mission,
        session.level.description,
    ) == start
    press(session, "n")
    assert session.seed == 8
    ref = reference_env(LOCAL, 8, [])
    assert session.level.mission == ref.mission and session.level.floor_map == ref.floor_map


def test_toggles_and_escape_closes_help_before_quitting():
    session = Session(LOCAL, seed=0)
    version = session.version
    press(session, "d", "h", "a")
    assert session.show_dynamics and session.show_help and not session.show_attention
    assert session.version == version + 3  # each toggle asks for a redraw
    press(session, "escape")
    assert not session.show_help and not session.quit
    press(session, "escape")
    assert session.quit


def test_timeout_ends_the_episode_and_further_actions_are_ignored():
    session = Session(LOCAL, seed=0, env_kwargs={"max_steps": 3})
    press(session, "left", "left", "left")
    assert session.ended is not None and session.ended.reason == "timeout"
    assert "3 steps" in session.ended.message()
    press(session, "left", "up")
    assert session.level.step_count == 3
    assert session.episodes_done == 1


def _front_cell_free(session):
    level = session.level
    front = tuple(int(v) for v in level.front_pos)
    return front if level.grid.get(*front) is None else None


def test_walking_onto_a_trap_ends_the_episode_and_names_the_floor():
    for seed in range(20):  # a seed whose agent faces an empty cell
        session = Session(LOCAL, seed=seed)
        front = _front_cell_free(session)
        if front is not None:
            break
    level = session.level
    color = "purple"
    level.floor_map[color] = "trap"
    level.grid.set(*front, Floor(color))
    press(session, "up")
    assert session.ended.reason == "trap"
    assert session.info["failure"] == "trap"
    assert "purple" in session.ended.message()


def test_highlighted_sentence_is_the_one_about_the_tile_underfoot():
    session = Session(LOCAL, seed=1)
    level = session.level
    x, y, color = level.tiles[0]
    level.agent_pos = (x, y)
    index = session.highlighted_sentence()
    assert index is not None and level.sentences[index].startswith(f"{color} floors")
    level.agent_pos = next(
        (i, j)
        for i in range(1, level.width - 1)
        for j in range(1, level.height - 1)
        if level.grid.get(i, j) is None
    )
    assert session.highlighted_sentence() is None


def test_no_sentence_is_highlighted_for_random_text():
    session = Session(LOCAL, seed=1, env_kwargs={"text": "random"})
    x, y, _ = session.level.tiles[0]
    session.level.agent_pos = (x, y)
    assert session.underfoot_color() is not None
    assert session.highlighted_sentence() is None


def test_unknown_and_malformed_ids_are_clear_errors():
    with pytest.raises(ValueError, match="'BabyAIPP-Nope-Train-v0': unknown family 'Nope'"):
        Session("BabyAIPP-Nope-Train-v0")
    with pytest.raises(ValueError, match="not a babyaipp id"):
        Session("CartPole-v1")


# -- the session in agent mode ----------------------------------------------------------------


def test_agent_gets_batched_tokenized_observations_and_episode_starts():
    policy = FakePolicy()
    session = Session(LOCAL, seed=2, policy=policy, paused=True)
    press(session, ".", ".", ".")
    assert session.steps == 3 and session.paused
    obs, start, greedy = policy.calls[0]
    assert obs["image"].shape == (1, 7, 7, 3) and obs["image"].dtype == np.uint8
    assert obs["mission"].shape == (1, 48) and obs["mission"].dtype == np.int64
    assert obs["description"].shape == (1, 6, 4)
    assert obs["direction"].shape == (1,)
    assert [c[1].tolist() for c in policy.calls] == [[True], [False], [False]]
    assert greedy is True
    assert session.action_probs.shape == (7,) and session.attention.shape == (7, 7)
    ref = reference_env(LOCAL, 2, [Actions.left] * 3)
    assert session.level.agent_dir == ref.agent_dir


def test_agent_steps_at_the_chosen_speed_and_pause_stops_it():
    session = Session(LOCAL, seed=2, policy=FakePolicy(), speed=4.0)
    assert not session.update(0.2)  # a quarter second has not passed
    assert session.update(0.06) and session.steps == 1
    press(session, "space")
    assert session.paused and not session.update(10.0) and session.steps == 1
    press(session, "space", "+")
    assert session.speed == 8.0
    press(session, "-", "-", "-")
    assert session.speed == 1.0
    press(session, *["-"] * 10)
    assert session.speed == SPEEDS[0]


def test_agent_mode_holds_the_end_then_plays_the_next_seed_until_max_episodes():
    session = Session(
        LOCAL, seed=4, policy=FakePolicy(), speed=60.0, max_episodes=2, env_kwargs={"max_steps": 2}
    )
    for _ in range(2):
        session.update(1.0)
    assert session.ended.reason == "timeout" and session.seed == 4
    assert not session.update(END_HOLD_S / 2)
    assert session.update(END_HOLD_S / 2) and session.seed == 5 and session.ended is None
    for _ in range(2):
        session.update(1.0)
    assert session.episodes_done == 2 and not session.quit
    session.update(END_HOLD_S)
    assert session.quit


def test_policy_without_explain_still_plays():
    class Plain:
        name, uses_text, privileged, needs_env = "plain", False, False, False

        def initial_state(self, n):
            return None

        def act(self, obs, state, episode_start, *, greedy=True, envs=None):
            return np.array([Actions.right]), None

    session = Session(LOCAL, seed=0, policy=Plain(), paused=True)
    press(session, ".")
    assert session.steps == 1 and session.action_probs is None and session.attention is None


def test_blind_bot_completes_an_easy_episode():
    from babyaipp.viewer.bot import BlindBotPolicy

    session = Session(LOCAL, seed=1, policy=BlindBotPolicy(), paused=True)
    for _ in range(50):
        if session.ended is not None:
            break
        session.agent_step()
    assert session.ended is not None and session.ended.reason == "success"
    assert session.info["success"] and session.ended.reward > 0


# -- the painter -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def painter_for():
    from babyaipp.viewer.draw import Layout, Painter

    painters = {}

    def get(session):
        key = (session.level.width, session.level.height)
        if key not in painters:
            painters[key] = Painter(Layout.for_level(session.level, max_grid_px=160))
        return painters[key]

    return get


def test_every_overlay_renders_and_changes_the_picture(painter_for):
    session = Session(LOCAL, seed=3, policy=FakePolicy(), paused=True)
    painter = painter_for(session)
    base = painter.frame(session)
    assert base.ndim == 3 and base.shape[2] == 3 and base.dtype == np.uint8
    assert len(np.unique(base.reshape(-1, 3), axis=0)) > 20  # not blank
    for toggle in ("show_dynamics", "show_help"):
        setattr(session, toggle, True)
        assert not np.array_equal(painter.frame(session), base), toggle
        setattr(session, toggle, False)
    session.show_attention = False
    assert not np.array_equal(painter.frame(session), base)  # the attention overlay was on
    session.show_attention = True
    session.level.max_steps = 1
    session.agent_step()
    assert session.ended is not None
    ended = painter.frame(session)
    assert not np.array_equal(ended, base)


def test_dynamics_overlay_marks_every_tile_but_the_agents(painter_for):
    session = Session(LOCAL, seed=3)
    level = session.level
    level.agent_pos = level.tiles[0][:2]  # stand on the first tile
    painter = painter_for(session)
    tile = painter.layout.tile
    plain = painter.frame(session)
    session.show_dynamics = True
    revealed = painter.frame(session)
    for i, (x, y, _) in enumerate(level.tiles):
        cell = np.s_[y * tile : (y + 1) * tile, x * tile : (x + 1) * tile]
        assert np.array_equal(plain[cell], revealed[cell]) == (i == 0), (x, y)


def test_attention_cells_follow_the_agents_view():
    from babyaipp.viewer.draw import attention_cells

    session = Session(LOCAL, seed=0, policy=FakePolicy(), paused=True)
    for _ in range(4):  # every heading
        level = session.level
        session.attention = np.arange(49).reshape(7, 7) % 6
        cells = dict(attention_cells(session))
        front = tuple(int(v) for v in level.front_pos)
        assert cells[front] == session.attention[3, 5]  # the cell right in front of the agent
        assert cells[tuple(int(v) for v in level.agent_pos)] == session.attention[3, 6]
        seen = session.obs["image"][:, :, 0] != 0
        assert len(cells) <= seen.sum()
        press(session, ".")


def test_status_line_has_the_episode_facts():
    from babyaipp.viewer.draw import status_items

    session = Session(LOCAL, seed=9)
    press(session, "left")
    items = status_items(session)
    assert items[0] == LOCAL
    text = " | ".join(items)
    for part in ("split Train", "seed 9", f"step 1/{session.level.max_steps}", "reward 0.00"):
        assert part in text
    assert "held-out pair: " in text and "underfoot: " in text


def test_agent_panel_names_actions():
    assert ACTION_NAMES == ("left", "right", "forward", "pickup", "drop", "toggle", "done")


def test_wrap_and_pack_keep_every_word_within_the_width():
    import pygame

    from babyaipp.viewer.draw import pack, wrap

    pygame.font.init()
    font = pygame.font.Font(None, 18)
    text = "go to the red ball after you pick up the grey key and open the door " * 3
    lines = wrap(text, font, 150)
    assert " ".join(lines).split() == text.split()
    assert all(font.size(line)[0] <= 150 for line in lines if " " in line)
    packed = pack(["aaaa", "bbbb", "cccc"], font, font.size("aaaa   bbbb")[0])
    assert packed == ["aaaa   bbbb", "cccc"]
