"""A scripted policy for demos and the gallery: minigrid's BabyAI bot, blind to the dynamics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from minigrid.core.actions import Actions


class BlindBotPolicy:
    """minigrid's ``BabyAIBot`` behind the :class:`babyaipp.policy.Policy` protocol.

    The bot plans the instruction from the full grid (so it is privileged and needs the env)
    and knows nothing of the floor dynamics: it walks over traps and is thrown off its plan by
    flipped turns, slides and pushes. When that makes its internal checks fail, it is rebuilt
    from the current state; if the rebuilt bot fails too, it steps forward. It is a demo
    policy, not a baseline (babyaipp's oracle is the one that reads the dynamics).
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
                state[i] = BabyAIBot(env)
            try:
                action = state[i].replan()
            except AssertionError:  # the dynamics moved the agent under the bot's feet
                state[i] = BabyAIBot(env)
                try:
                    action = state[i].replan()
                except AssertionError:
                    action = Actions.forward
            actions[i] = int(action)
        return actions, state
