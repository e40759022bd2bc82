"""Hand-built levels from ASCII art, for tests, teaching and debugging the tile rules.

>>> env = build_scenario(["WWWWW", "W>bRW", "WWWWW"], {"blue": "trap"})
>>> obs, reward, terminated, truncated, info = env.step(2)  # forward onto the blue trap
>>> info["failure"]
'trap'

One character a cell:

===========  ====================================================================
``W``        wall
``.``        empty floor
``>v<^``     the agent, facing east / south / west / north (exactly one)
``R``        the red ball: the mission is "go to the red ball"
``K``/``B``  a yellow key / a purple box (obstacles that can be picked up)
``D``/``O``  a closed / open grey door
``L``        a locked yellow door
``r g b p y e``  a floor tile of colour red, green, blue, purple, yellow, grey
===========  ====================================================================

The agent may start on a floor tile: give ``agent_tile`` (a colour) to put one under it.
"""

from __future__ import annotations

from minigrid.core.grid import Grid
from minigrid.core.world_object import Ball, Box, Door, Floor, Key, Wall
from minigrid.envs.babyai.core.verifier import GoToInstr, ObjDesc

from babyaipp.dynamics import active_rules, reset_memory

TILE_COLORS = {"r": "red", "g": "green", "b": "blue", "p": "purple", "y": "yellow", "e": "grey"}
AGENT_DIRS = {">": 0, "v": 1, "<": 2, "^": 3}


def build_scenario(
    rows: list[str],
    floor_map: dict[str, str],
    *,
    agent_tile: str | None = None,
    max_steps: int = 100,
    family: str = "GoToRedBall",
):
    """A reset babyaipp env (unwrapped) whose grid, agent and map are exactly as drawn.

    ``floor_map`` gives each tile colour its property; the description is the true one in
    sorted order. The env is an ordinary :class:`~babyaipp.env.DynamicsLevel`: ``step`` runs
    the real rules.
    """
    from babyaipp.env import make_env

    height, width = len(rows), len(rows[0])
    if any(len(r) != width for r in rows):
        raise ValueError("scenario rows must all have the same length")
    env = make_env(family, "Test", sentence_order="sorted", max_steps=max_steps)
    env.reset(seed=0)
    grid = Grid(width, height)
    agent = None
    has_ball = False
    for y, row in enumerate(rows):
        for x, ch in enumerate(row):
            if ch in AGENT_DIRS:
                agent = (x, y, AGENT_DIRS[ch])
                if agent_tile:
                    grid.set(x, y, Floor(agent_tile))
            elif ch in TILE_COLORS:
                grid.set(x, y, Floor(TILE_COLORS[ch]))
            elif ch != ".":
                obj = _object(ch)
                grid.set(x, y, obj)
                obj.init_pos = obj.cur_pos = (x, y)
                has_ball |= ch == "R"
    if agent is None:
        raise ValueError("a scenario needs one agent: one of > v < ^")
    env.width, env.height, env.grid = width, height, grid
    env.agent_pos, env.agent_dir = (agent[0], agent[1]), agent[2]
    env.carrying = None
    env.step_count = 0
    env.max_steps = max_steps
    env.floor_map = dict(floor_map)
    env.held_out = False
    env.tiles = [(x, y, c.color) for x, y, c in _floor_cells(grid)]
    env.sentences = [f"{c} floors are {p}." for c, p in sorted(floor_map.items())]
    env.description = " ".join(env.sentences)
    env._active_rules = active_rules(floor_map.values())
    env.rule_memory = reset_memory(env._active_rules)
    if has_ball:
        env.instrs = GoToInstr(ObjDesc("ball", "red"))
        env.instrs.reset_verifier(env)
        env.mission = env.instrs.surface(env)
    else:
        env.instrs = _NeverDone()
    return env


def _object(ch: str):
    makers = {
        "W": Wall,
        "R": lambda: Ball("red"),
        "K": lambda: Key("yellow"),
        "B": lambda: Box("purple"),
        "D": lambda: Door("grey", is_open=False),
        "O": lambda: Door("grey", is_open=True),
        "L": lambda: Door("yellow", is_open=False, is_locked=True),
    }
    if ch not in makers:
        raise ValueError(
            f"unknown scenario character {ch!r}; valid: W . > v < ^ R K B D O L rgbpye"
        )
    return makers[ch]()


def _floor_cells(grid):
    for y in range(grid.height):
        for x in range(grid.width):
            cell = grid.get(x, y)
            if cell is not None and cell.type == "floor":
                yield x, y, cell


class _NeverDone:
    """A mission that never completes, for scenarios without a target."""

    def verify(self, action) -> str:
        return "continue"

    def surface(self, env) -> str:
        return "explore"
