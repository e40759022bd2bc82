"""babyaipp.agents: text-conditioned policies and the recurrent PPO trainer.

- :data:`MODELS` / :func:`register_model`: the fusion models by name (``image``, ``concat``,
  ``film``, ``attention``, ``cross-attention``, ``floor-reader``, ``tile-reader``).
- :class:`ActorCritic`: a fusion model + LSTM memory + policy and value heads.
- :class:`TrainConfig`, :func:`train`: the trainer (``python -m babyaipp.agents.train``).
- :func:`compute_gae`, :func:`ppo_loss`, :func:`log_prob_and_entropy`: PPO's maths, pure.
- :func:`load_policy`: a checkpoint as a :class:`babyaipp.policy.Policy`.

The names load lazily, so that ``babyaipp.agents.config`` (the CLI's flags) can be imported
without torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "MODELS": "fusion",
    "Fusion": "fusion",
    "register_model": "fusion",
    "ActorCritic": "model",
    "obs_to_tensors": "model",
    "PRESETS": "config",
    "TrainConfig": "config",
    "parse_config": "config",
    "compute_gae": "ppo",
    "ppo_loss": "ppo",
    "log_prob_and_entropy": "ppo",
    "load_checkpoint": "checkpoint",
    "save_checkpoint": "checkpoint",
    "TorchPolicy": "policy",
    "load_policy": "policy",
    "run_episodes": "evaluate",
    "train": "trainer",
}
__all__ = [
    "ActorCritic",
    "Fusion",
    "MODELS",
    "PRESETS",
    "TorchPolicy",
    "TrainConfig",
    "compute_gae",
    "load_checkpoint",
    "load_policy",
    "log_prob_and_entropy",
    "obs_to_tensors",
    "parse_config",
    "ppo_loss",
    "register_model",
    "run_episodes",
    "save_checkpoint",
    "train",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'babyaipp.agents' has no attribute {name!r}")
    return getattr(importlib.import_module(f"babyaipp.agents.{_EXPORTS[name]}"), name)


if TYPE_CHECKING:
    from babyaipp.agents.checkpoint import load_checkpoint, save_checkpoint
    from babyaipp.agents.config import PRESETS, TrainConfig, parse_config
    from babyaipp.agents.evaluate import run_episodes
    from babyaipp.agents.fusion import MODELS, Fusion, register_model
    from babyaipp.agents.model import ActorCritic, obs_to_tensors
    from babyaipp.agents.policy import TorchPolicy, load_policy
    from babyaipp.agents.ppo import compute_gae, log_prob_and_entropy, ppo_loss
    from babyaipp.agents.trainer import train
