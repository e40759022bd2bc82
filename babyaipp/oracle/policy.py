"""The oracle behind the :class:`babyaipp.policy.Policy` protocol (for evaluation and probes)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from babyaipp.oracle.agent import Oracle


class OraclePolicy:
    """One :class:`~babyaipp.oracle.agent.Oracle` per sub-env, rebuilt at each episode start.

    Privileged (it plans on the full grid), so it needs the unwrapped env of each row:
    ``act(obs, state, episode_start, envs=[...])``. The observations themselves are not used:
    the oracle reads the grid and the description text from the env. ``reads_text=False`` is
    the text-blind twin. The state is the list of per-row oracles.
    """

    privileged = True
    needs_env = True

    def __init__(self, reads_text: bool = True):
        self.reads_text = bool(reads_text)
        self.uses_text = self.reads_text
        self.name = "oracle" if self.reads_text else "blind-oracle"
        self.spec = "oracle" if self.reads_text else "oracle:blind"

    def initial_state(self, num_envs: int) -> list[Oracle | None]:
        return [None] * num_envs

    def act(
        self,
        obs: dict[str, np.ndarray],
        state: list[Oracle | None] | None,
        episode_start: np.ndarray,
        *,
        greedy: bool = True,
        envs: Sequence[Any] | None = None,
    ) -> tuple[np.ndarray, list[Oracle | None]]:
        n = len(episode_start)
        if envs is None or len(envs) != n:
            raise ValueError(
                f"{self.name} needs envs=[the unwrapped env of each of the {n} rows], got "
                f"{None if envs is None else len(envs)}"
            )
        state = list(state) if state is not None else [None] * n
        actions = np.empty(n, dtype=np.int64)
        for i in range(n):
            env = envs[i].unwrapped
            if episode_start[i] or state[i] is None or state[i].env is not env:
                state[i] = Oracle(env, reads_text=self.reads_text)
            actions[i] = state[i].act()
        return actions, state


def from_spec(argument: str = "", base_dir: Path | None = None) -> OraclePolicy:
    """A policy-spec factory (``oracle`` or ``oracle:blind``), for the evaluation's registry:
    ``register_policy_kind("oracle", "babyaipp.oracle.policy:from_spec")``."""
    if argument in ("", "text"):
        return OraclePolicy(reads_text=True)
    if argument == "blind":
        return OraclePolicy(reads_text=False)
    raise ValueError(f"policy spec oracle:{argument}: unknown option; valid: oracle, oracle:blind")
