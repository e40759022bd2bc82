"""A scripted policy for demos and the gallery: minigrid's BabyAI bot, blind to the dynamics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from minigrid.core.actions import Actions
from minigrid.core.grid import Grid


class _FloorBlindView:
    """The env as the blind bot sees it: every floor tile is an empty cell.

    minigrid's bot only walks on empty cells, so on the real grid it would treat coloured
    tiles as obstacles (and avoid them without reading anything). Everything but ``grid`` is
    the env's own.
    """

    def __init__(self, env):
        self._env = env
        self._grid_at: tuple | None = None
        self._grid: Grid | None = None

    @property
    def unwrapped(self):
        return self

    @property
    def grid(self) -> Grid:
        real = self._env.grid
        key = (id(real), self._env.step_count)
        if key != self._grid_at:
            self._grid = Grid(real.width, real.height)
            self._grid.grid = [
                None if c is not None and c.type == "floor" else c for c in real.grid
            ]
            self._grid_at = key
        return self._grid

    def __getattr__(self, name: str):
        return getattr(self._env, name)


class BlindBotPolicy:
    """minigrid's ``BabyAIBot`` behind the :class:`babyaipp.policy.Policy` protocol.

    The bot plans the instruction from the full grid (so it is privileged and needs the env)
    and knows nothing of the floor dynamics: it sees floor tiles as empty cells, walks over
    traps, and is thrown off its plan by flipped turns, slides and pushes. When that makes its
    internal checks fail, it is rebuilt from the current state; if the rebuilt bot fails too,
    it steps forward. It is a demo policy, not a baseline (babyaipp's oracle is the one that
    reads the dynamics).
    """

    name = "babyai-bot (dynamics-blind)"
    uses_text = False
    privileged = True
    needs_env = True

    def initial_state(self, num_envs: int) -> list[Any]:
        return [None] * num_envs

    def act(
        self,
        obs: dict[str, np.ndarray],
        state: list[Any],
        episode_start: np.ndarray,
        *,
        greedy: bool = True,
        envs: Sequence[Any] | None = None,
    ) -> tuple[np.ndarray, list[Any]]:
        from minigrid.utils.baby_ai_bot import BabyAIBot

        if envs is None:
            raise ValueError(f"{self.name} needs the envs (its needs_env is True)")
        state = list(state)
        actions = np.empty(len(envs), dtype=np.int64)
        for i, env in enumerate(envs):
            if episode_start[i] or state[i] is None:
                state[i] = BabyAIBot(_FloorBlindView(env.unwrapped))
            try:
                action = state[i].replan()
            except AssertionError:  # the dynamics moved the agent under the bot's feet
                state[i] = BabyAIBot(_FloorBlindView(env.unwrapped))
                try:
                    action = state[i].replan()
                except AssertionError:
                    action = Actions.forward
            actions[i] = int(action)
        return actions, state
