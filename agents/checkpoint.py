"""Checkpoints: written atomically, read with ``torch.load(weights_only=True)``, vocab-checked.

A checkpoint is a dict of plain values and tensors: ``format``, ``babyaipp_version``,
``vocab_hash``, ``model`` (the :class:`ActorCritic` constructor kwargs), ``spaces`` (enough
to rebuild the observation and action spaces), ``config`` (the :class:`TrainConfig` dict),
``iteration``, ``global_step``, ``model_state``, ``optimizer_state`` and ``rng`` (torch's
generator states).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

import babyaipp
from babyaipp.io import atomic_path
from babyaipp.vocab import VOCAB_HASH

FORMAT = 1
CHECKPOINT_NAME = "checkpoint.pt"
REQUIRED_KEYS = ("format", "vocab_hash", "model", "spaces", "config", "model_state")


def space_spec(observation_space: spaces.Dict, action_space: spaces.Discrete) -> dict[str, Any]:
    """The shapes a model is built from, as plain values."""
    return {
        "image_shape": list(observation_space["image"].shape),
        "vocab_size": int(observation_space["mission"].high.max()) + 1,
        "mission_length": int(observation_space["mission"].shape[0]),
        "description_shape": list(observation_space["description"].shape),
        "num_actions": int(action_space.n),
    }


def spaces_from_spec(spec: dict[str, Any]) -> tuple[spaces.Dict, spaces.Discrete]:
    """Rebuild the (TokenizeText-style) observation space and the action space."""
    high = spec["vocab_size"] - 1
    observation_space = spaces.Dict(
        {
            "image": spaces.Box(0, 255, tuple(spec["image_shape"]), np.uint8),
            "direction": spaces.Discrete(4),
            "mission": spaces.Box(0, high, (spec["mission_length"],), np.int64),
            "description": spaces.Box(0, high, tuple(spec["description_shape"]), np.int64),
        }
    )
    return observation_space, spaces.Discrete(spec["num_actions"])


def resolve_path(path: str | os.PathLike) -> Path:
    """A checkpoint file, or the checkpoint inside a run directory."""
    path = Path(path)
    return path / CHECKPOINT_NAME if path.is_dir() else path


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (plus version and vocab hash) to ``path`` atomically; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "babyaipp_version": babyaipp.__version__,
        "vocab_hash": VOCAB_HASH,
        **payload,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def describe_file(path: str | os.PathLike) -> str:
    """What a file looks like from its first bytes, for error messages: ``"an empty file"``,
    ``"a zip archive that torch cannot read …"``, ``"a text file of 12 bytes starting …"``."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(64)
    if size == 0:
        return "an empty file (0 bytes; a write that was cut short?)"
    if head.startswith(b"PK\x03\x04"):
        kind = "a zip archive that torch cannot read"
        return f"{kind} (a stable-baselines3 model? evaluate it as sb3:ALGO:{path.name})"
    if head[:1] == b"\x80":
        return f"a pickle file of {size} bytes that is not a torch checkpoint"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return f"binary data of {size} bytes starting {head[:8].hex(' ')}"
    start = text.strip().splitlines()[0][:40] if text.strip() else text[:40]
    return f"a text file of {size} bytes starting {start!r}"


def load_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Read a checkpoint safely (``weights_only=True``) and check it belongs to this vocabulary.

    Raises FileNotFoundError if there is no such file, ValueError (naming the file) if it is
    not a babyaipp checkpoint or was trained with another vocabulary.
    """
    path = resolve_path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        with warnings.catch_warnings():  # torch warns about the pickle protocol of odd files
            warnings.simplefilter("ignore", UserWarning)
            payload = torch.load(path, map_location=device, weights_only=True)
    except Exception:  # torch raises many kinds (KeyError, EOFError, …) for a bad file
        raise ValueError(
            f"{path}: not a babyaipp checkpoint: {describe_file(path)}; expected a torch file "
            f"written by `babyaipp train` (its run directory's {CHECKPOINT_NAME})"
        ) from None
    if not isinstance(payload, dict) or any(key not in payload for key in REQUIRED_KEYS):
        raise ValueError(f"{path}: not a babyaipp checkpoint (expected keys {list(REQUIRED_KEYS)})")
    if payload["format"] != FORMAT:
        raise ValueError(
            f"{path}: checkpoint format {payload['format']!r}, this babyaipp reads {FORMAT}"
        )
    if payload["vocab_hash"] != VOCAB_HASH:
        raise ValueError(
            f"{path}: trained with vocabulary {payload['vocab_hash']} but this babyaipp "
            f"({babyaipp.__version__}) has vocabulary {VOCAB_HASH}; its word ids would mean "
            f"other words. Use the babyaipp version it was trained with "
            f"({payload.get('babyaipp_version', 'unknown')}) or retrain."
        )
    return payload
