"""The prepared GPU check (issues 3 and 7): one script, one run, sized for under 10 minutes.

    python benchmarks/gpu_check.py --out gpu_check.json          # on a CUDA machine
    python benchmarks/gpu_check.py --device cpu --quick          # a smoke run of the same code

It measures, in this order, and prints a table after each part:

1. **Torch engine** (``backend="torch"`` on the device): env-steps/s at 4096, 16384 and 65536
   envs with random actions drawn on the device (issue 7 target: >= 10M/s at 16k+ envs), and
   one reference env on this process's CPU for the ratio.
2. **Trainer frames/s** of the small preset's ``cross-attention`` at 64 and 256 envs, on the
   batched backend (the torch engine on the device) and on async reference envs (a worker
   process per env on the CPU cores), a fixed number of iterations each (issue 3).
3. **A 5M-frame GoToRedBall run** of ``cross-attention`` on the batched backend with 4096 envs:
   its wall-clock time (issue 7 target: under 2 minutes) and the success of its greedy policy
   on the family's HeldOut split at the end (the trainer's own evaluation).

Every number is written to ``--out`` as JSON (atomically), with the device's name, so a session
with a lent GPU can run this once and report the file. ``--quick`` shrinks every size so the
same code runs on a CPU in about a minute; its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from engine_speed import reference_rate, torch_rate

import babyaipp
from babyaipp.agents import TrainConfig, train
from babyaipp.agents.config import PRESETS
from babyaipp.engine import build_bank, make_vector_env
from babyaipp.io import atomic_write_text

FAMILY = "GoToRedBall"
ENV_ID = f"BabyAIPP-{FAMILY}-Train-v0"


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()})"


def engine_rates(sizes: list[int], device: torch.device, seconds: float) -> dict[str, float]:
    """Env-steps/s of one reference env and of the torch engine at each size."""
    rates = {"reference env (cpu)": reference_rate(ENV_ID, seconds, np.random.default_rng(0))}
    bank = build_bank(babyaipp.get_family(FAMILY), 64, progress=False)
    for n in sizes:
        envs = make_vector_env(n, FAMILY, "Train", backend="torch", device=str(device), bank=bank)
        envs.reset(seed=0)
        rates[f"torch engine, {n} envs"] = torch_rate(envs, seconds, seed=n)
        envs.close()
    return rates


def train_run(run_dir: str, device: torch.device, **overrides: Any) -> dict[str, Any]:
    """One training run of the small preset's cross-attention; wall-clock frames/s included."""
    cfg = TrainConfig(
        **{
            **PRESETS["small"],
            "env_id": ENV_ID,
            "model": "cross-attention",
            "device": str(device),
            "eval_env_id": "none",
            "checkpoint_interval": 10**9,  # one checkpoint, at the end
            "progress": False,
            "run_dir": run_dir,
            **overrides,
        }
    )
    start = time.perf_counter()
    summary = train(cfg)
    seconds = time.perf_counter() - start
    return {
        "frames": summary["frames"],
        "seconds": round(seconds, 2),
        "frames_per_s": round(summary["frames"] / seconds, 1),
        **{k: summary[k] for k in ("success", "eval_success", "eval_trap") if k in summary},
    }


def print_table(title: str, rows: dict[str, float], unit: str) -> None:
    print(f"\n{title}")
    for name, value in rows.items():
        print(f"  {name:<40} {value:>14,.0f} {unit}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="torch device (default: cuda)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--out", default=None, help="write every number here as JSON")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"device {args.device!r}: CUDA is not available (use --device cpu)")

    quick = args.quick
    engine_sizes = [64, 256] if quick else [4096, 16384, 65536]
    train_sizes = [4, 8] if quick else [64, 256]
    iterations = 2 if quick else 10
    long_envs, long_frames = (16, 16 * 32 * 2) if quick else (4096, 5_000_000)
    result: dict[str, Any] = {
        "device": device_name(device),
        "torch": torch.__version__,
        "babyaipp": babyaipp.__version__,
        "quick": quick,
    }

    rates = engine_rates(engine_sizes, device, seconds=0.5 if quick else 3.0)
    result["engine_steps_per_s"] = rates
    print(f"device: {result['device']}")
    print_table(f"1. {FAMILY} env-steps/s", rates, "steps/s")

    gym.make_vec(ENV_ID, 1, vectorization_mode="vector_entry_point").close()  # build the bank
    result["train"] = {}
    with tempfile.TemporaryDirectory() as run_dir:
        for backend in ("batched", "reference"):
            for n in train_sizes:
                frames = iterations * n * PRESETS["small"]["num_steps"]
                run = train_run(
                    run_dir, device, env_backend=backend, num_envs=n, total_frames=frames
                )
                result["train"][f"{backend}, {n} envs"] = run
        print_table(
            "2. cross-attention PPO frames/s (small preset)",
            {name: run["frames_per_s"] for name, run in result["train"].items()},
            "frames/s",
        )

        long = train_run(
            run_dir,
            device,
            env_backend="batched",
            num_envs=long_envs,
            total_frames=long_frames,
            eval_env_id="auto",
            eval_interval=0,  # only at the end
        )
        result["long_run"] = {"num_envs": long_envs, **long}
    print(f"\n3. {long['frames']:,} frames, {long_envs} envs, batched: {long['seconds']:.1f} s")
    print(f"   HeldOut success at the end: {long.get('eval_success', float('nan')):.3f}")
    if args.out:
        atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
