"""The ``Policy`` protocol: what the evaluator, the viewer and the probes can run.

Any object with these members is a policy: babyaipp's trained agents, a stable-baselines3
model behind an adapter, a random policy, the oracle, or a plain function behind an adapter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Policy(Protocol):
    """A batch of observations (plus a recurrent state) in, a batch of actions out.

    - ``obs`` is the batched observation dict of a gymnasium vector env over
      :class:`babyaipp.TokenizeText`-wrapped envs: ``image`` (N, 7, 7, 3) uint8,
      ``direction`` (N,), ``mission`` (N, 48) int64, ``description`` (N, 6, 4) int64.
    - ``episode_start`` is a bool array (N,), True where ``obs`` is the first observation of an
      episode: the policy must reset that row's recurrent state.
    - ``greedy`` picks the most likely action instead of sampling.
    - ``envs`` is given only to policies whose ``needs_env`` is True (privileged ones, like the
      oracle): the unwrapped env of each row, from an in-process vector env.

    Attributes: ``name`` (str), ``uses_text`` (reads mission/description), ``privileged``
    (uses information an agent does not observe), ``needs_env``.

    Optional: ``for_family(family) -> Policy``, for a set of per-family agents behind one
    policy (:mod:`babyaipp.eval.family_checkpoints`): the evaluator plays the policy it
    returns on that family's envs.
    """

    name: str
    uses_text: bool
    privileged: bool
    needs_env: bool

    def initial_state(self, num_envs: int) -> Any:
        """The recurrent state for ``num_envs`` fresh episodes (None if stateless)."""

    def act(
        self,
        obs: dict[str, np.ndarray],
        state: Any,
        episode_start: np.ndarray,
        *,
        greedy: bool = True,
        envs: Sequence[Any] | None = None,
    ) -> tuple[np.ndarray, Any]:
        """Actions (int64 array of shape (N,)) and the next state."""
