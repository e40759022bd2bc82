"""Trained agents behind the :class:`babyaipp.policy.Policy` protocol, and :func:`load_policy`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from babyaipp.agents.checkpoint import load_checkpoint, resolve_path, spaces_from_spec
from babyaipp.agents.config import with_legacy_values
from babyaipp.agents.model import ActorCritic, obs_to_tensors
from babyaipp.io import file_sha256


class TorchPolicy:
    """An :class:`ActorCritic` as a :class:`babyaipp.policy.Policy`.

    The recurrent state is a tensor ``(N, state_size)`` on the policy's device (None without
    memory). Besides the protocol it has ``model_name``, ``vocab_hash``, ``checkpoint_sha256``,
    ``config`` (the training config dict) and :meth:`explain`.
    """

    privileged = False
    needs_env = False

    def __init__(
        self,
        agent: ActorCritic,
        device: torch.device | str = "cpu",
        *,
        config: dict[str, Any] | None = None,
        vocab_hash: str = "",
        checkpoint_sha256: str = "",
        seed: int = 0,
    ):
        self.agent = agent.to(device).eval()
        self.device = torch.device(device)
        self.model_name = agent.model_name
        self.name = agent.model_name
        self.uses_text = agent.uses_text
        self.config = dict(config or {})
        self.vocab_hash = vocab_hash
        self.checkpoint_sha256 = checkpoint_sha256
        self.generator = torch.Generator(device=self.device).manual_seed(seed)

    def initial_state(self, num_envs: int) -> torch.Tensor | None:
        if self.agent.memory is None:
            return None
        return self.agent.initial_state(num_envs, self.device)

    @torch.no_grad()
    def _step(self, obs: dict[str, np.ndarray], state: Any, episode_start: np.ndarray | None):
        tensors = obs_to_tensors(obs, self.device)
        n = len(tensors["image"])
        if state is None:
            state = self.agent.initial_state(n, self.device)
        if episode_start is None:
            episode_start = np.zeros(n, dtype=bool)
        starts = torch.as_tensor(np.asarray(episode_start, dtype=bool), device=self.device)
        logits, value, next_state = self.agent.step(tensors, state, starts)
        return tensors, starts, state, logits.float(), value.float(), next_state

    def act(
        self,
        obs: dict[str, np.ndarray],
        state: Any,
        episode_start: np.ndarray,
        *,
        greedy: bool = True,
        envs: Sequence[Any] | None = None,
    ) -> tuple[np.ndarray, Any]:
        """Actions (int64, shape (N,)) and the next state; see :class:`babyaipp.policy.Policy`."""
        _, _, _, logits, _, next_state = self._step(obs, state, episode_start)
        if greedy:
            actions = logits.argmax(dim=1)
        else:
            actions = torch.multinomial(torch.softmax(logits, dim=1), 1, generator=self.generator)[
                :, 0
            ]
        return actions.cpu().numpy().astype(np.int64), (
            next_state if self.agent.memory is not None else None
        )

    @torch.no_grad()
    def explain(
        self, obs: dict[str, np.ndarray], state: Any, episode_start: np.ndarray | None = None
    ) -> dict[str, Any]:
        """What the policy would do and look at, without advancing its state.

        Returns ``action_probs`` (N, A) float numpy, ``value`` (N,) and ``attention``: for
        attention models an int array (N, H, W) with the index of the description sentence
        (row of ``obs["description"]``) each view cell attends to most, -1 for none; else None.
        """
        tensors, _, _, logits, value, _ = self._step(obs, state, episode_start)
        attention = self.agent.fusion.attention(tensors)
        return {
            "action_probs": torch.softmax(logits, dim=1).cpu().numpy(),
            "value": value.cpu().numpy(),
            "attention": None if attention is None else attention.cpu().numpy().astype(np.int64),
        }


def agent_from_checkpoint(payload: dict[str, Any]) -> ActorCritic:
    """Rebuild the :class:`ActorCritic` of a loaded checkpoint and load its weights."""
    observation_space, action_space = spaces_from_spec(payload["spaces"])
    agent = ActorCritic(observation_space, action_space, **with_legacy_values(payload["model"]))
    agent.load_state_dict(payload["model_state"])
    return agent


def load_policy(path: str | os.PathLike, device: torch.device | str = "cpu") -> TorchPolicy:
    """The trained policy in a checkpoint file (or a run directory holding ``checkpoint.pt``).

    Raises FileNotFoundError if there is no such file and ValueError (naming the file and the
    problem) if it is unreadable, not a babyaipp checkpoint, or from another vocabulary.
    """
    path = Path(resolve_path(path))
    payload = load_checkpoint(path, device="cpu")
    try:
        agent = agent_from_checkpoint(payload)
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise ValueError(
            f"{path}: cannot rebuild the model ({type(error).__name__}: {error})"
        ) from None
    return TorchPolicy(
        agent,
        device,
        config=payload["config"],
        vocab_hash=payload["vocab_hash"],
        checkpoint_sha256=file_sha256(path),
    )
