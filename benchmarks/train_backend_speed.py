"""Training speed by env backend: PPO frames/s on the batched engine vs async reference envs.

Run: python benchmarks/train_backend_speed.py [--frames 16384] [--num-envs 16] [--rounds 3]

The same trainer and model (``--model``, width ``--dim``, the small preset's rollout shape)
train on the same env id three ways (four with numba), in alternating rounds so a busy machine
slows all alike:

- ``reference``: ``--env-backend reference`` with ``AsyncVectorEnv`` (one worker process per
  env), the trainer's default on CPU;
- ``batched``: ``--env-backend batched-numpy``, the numpy engine stepping every env in this
  process;
- ``batched-numba``: the same with the numba engine, when numba is installed (what
  ``--env-backend batched`` then picks on a CPU);
- ``free env``: the model-only ceiling, a vector env that costs nothing (it returns one recorded
  observation batch forever), so only rollout inference and PPO updates are timed.

It prints each round's frames/s and the median ratio batched / reference (target on 2 cores,
issue 7: >= 1.5x), and what fraction of the ceiling each backend reaches. Wall-clock includes
building the envs and the model; the layout bank is built before timing starts. torch uses
one thread (see TrainConfig.torch_threads).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import tempfile
import time
from unittest import mock

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode, VectorEnv

import babyaipp.agents.trainer as trainer
from babyaipp.agents import TrainConfig, train
from babyaipp.agents.config import PRESETS


class FreeVectorEnv(VectorEnv):
    """A vector env that costs nothing: it replays one observation batch of ``envs`` forever
    (reward 0, never done), so a training run on it times the model alone."""

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, envs: VectorEnv):
        self.num_envs = envs.num_envs
        self.single_observation_space = envs.single_observation_space
        self.single_action_space = envs.single_action_space
        self.observation_space = envs.observation_space
        self.action_space = envs.action_space
        self._obs, _ = envs.reset(seed=0)
        envs.close()
        self._zeros = np.zeros(self.num_envs)
        self._false = np.zeros(self.num_envs, dtype=bool)

    def reset(self, *, seed=None, options=None):
        return self._obs, {}

    def step(self, actions):
        return self._obs, self._zeros, self._false, self._false, {}


def run(args, backend: str, run_dir: str) -> float:
    explicit = {
        "env_id": args.env_id,
        "model": args.model,
        "dim": args.dim,
        "total_frames": args.frames,
        "num_envs": args.num_envs,
        "env_backend": {"batched": "batched-numpy", "free env": "batched"}.get(backend, backend),
        "vector_mode": "async",
        "eval_env_id": "none",
        "checkpoint_interval": 10**9,  # one checkpoint at the end
        "progress": False,
        "run_dir": run_dir,
    }
    cfg = TrainConfig(**{**PRESETS["small"], **explicit})
    make_envs = trainer.make_envs
    if backend == "free env":
        patch = mock.patch.object(
            trainer, "make_envs", lambda cfg, device=None: FreeVectorEnv(make_envs(cfg, device))
        )
    else:
        patch = mock.patch.object(trainer, "make_envs", make_envs)
    with patch:
        start = time.perf_counter()
        summary = train(cfg)
        return summary["frames"] / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-id", default="BabyAIPP-GoToRedBall-Train-v0")
    parser.add_argument("--model", default="cross-attention")
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--frames", type=int, default=16384, help="frames per run")
    parser.add_argument("--num-envs", type=int, default=16, help="default: the small preset's")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    gym.make_vec(args.env_id, 1, vectorization_mode="vector_entry_point").close()  # the bank

    numba = importlib.util.find_spec("numba") is not None
    backends = ("reference", "batched", *(["batched-numba"] if numba else []), "free env")
    fps: dict[str, list[float]] = {b: [] for b in backends}
    with tempfile.TemporaryDirectory() as run_dir:
        for round_ in range(args.rounds):
            for backend in backends:
                fps[backend].append(run(args, backend, run_dir))
            shown = ", ".join(f"{b} {v[-1]:.0f} fps" for b, v in fps.items())
            print(f"round {round_ + 1}: {shown}")
    medians = {b: statistics.median(v) for b, v in fps.items()}
    ratios = [b / r for b, r in zip(fps["batched"], fps["reference"], strict=True)]
    print(
        f"{args.env_id}, {args.model} dim {args.dim}, {args.num_envs} envs, {args.frames} frames "
        f"per run, median of {args.rounds} rounds:"
    )
    for backend in backends:
        print(
            f"  {backend:<13} {medians[backend]:>7.0f} frames/s "
            f"({medians[backend] / medians['free env']:.0%} of the model-only ceiling)"
        )
    print(f"  batched / reference: {statistics.median(ratios):.2f}x (target >= 1.5x)")
    if numba:
        ratios = [b / r for b, r in zip(fps["batched-numba"], fps["reference"], strict=True)]
        print(f"  batched-numba / reference: {statistics.median(ratios):.2f}x")
    return medians


if __name__ == "__main__":
    main()
