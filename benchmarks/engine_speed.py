"""Steps per second of the batched numpy engine vs one reference env, on one core, one run.

    python benchmarks/engine_speed.py                      # GoToRedBall, 64/1024/4096 envs
    python benchmarks/engine_speed.py --family GoToLocal --sizes 256 --envpool

The process is pinned to one CPU. Each round measures the reference env (TokenizeText-wrapped,
random actions, reset on episode end) and then the engine at each batch size (random actions,
autoreset), for about ``--seconds`` each; the table reports the median over ``--rounds``
rounds and the ratio to the reference measured in the same run. With ``--envpool``, EnvPool's
C++ BabyAI port of the same base level (``BabyAI-GoToLocal-v0`` for GoToLocal,
``BabyAI-GoToRedBallNoDists-v0`` for GoToRedBall; one thread, synchronous) is measured too,
at the largest size. EnvPool has no floor tiles, description text or info fields, so it does
less work per step than either babyaipp backend. With ``--torch DEVICE`` the torch engine
(``backend="torch"``) is measured too at each size, actions drawn on the device; on ``cuda``
the process is not pinned and the timing synchronises the device at its ends:

    python benchmarks/engine_speed.py --torch cuda --no-numpy --sizes 4096 16384 65536
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import gymnasium as gym
import numpy as np

import babyaipp
from babyaipp.engine import build_bank, make_vector_env

ENVPOOL_IDS = {"GoToLocal": "BabyAI-GoToLocal-v0", "GoToRedBall": "BabyAI-GoToRedBallNoDists-v0"}


def pin_one_core() -> int | None:
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def reference_rate(env_id: str, seconds: float, rng: np.random.Generator) -> float:
    env = babyaipp.TokenizeText(gym.make(env_id))
    env.reset(seed=int(rng.integers(2**31)))
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for a in rng.integers(7, size=200):
            _, _, term, trunc, _ = env.step(int(a))
            if term or trunc:
                env.reset()
        steps += 200
    return steps / (time.perf_counter() - start)


def batched_rate(envs, seconds: float, rng: np.random.Generator) -> float:
    n = envs.num_envs
    actions = rng.integers(7, size=(64, n))
    for a in actions[:5]:  # warm up
        envs.step(a)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for a in actions:
            envs.step(a)
        steps += len(actions) * n
    return steps / (time.perf_counter() - start)


def torch_rate(envs, seconds: float, seed: int) -> float:
    import torch

    n, device = envs.num_envs, envs.device
    generator = torch.Generator(device=device).manual_seed(seed)
    actions = torch.randint(7, (64, n), device=device, generator=generator)
    for a in actions[:5]:  # warm up
        envs.step(a)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for a in actions:
            envs.step(a)
        sync()
        steps += len(actions) * n
    return steps / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--family", default="GoToRedBall")
    parser.add_argument("--split", default="Train")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 1024, 4096])
    parser.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bank-size", type=int, default=64, help="layouts per trap set")
    parser.add_argument("--envpool", action="store_true", help="also measure EnvPool's BabyAI port")
    parser.add_argument("--torch", metavar="DEVICE", help="also measure the torch engine there")
    parser.add_argument("--no-numpy", action="store_true", help="skip the numpy engine")
    args = parser.parse_args(argv)

    cpu = None if args.torch and args.torch.startswith("cuda") else pin_one_core()
    env_id = f"BabyAIPP-{args.family}-{args.split}-v0"
    rng = np.random.default_rng(0)
    bank = build_bank(babyaipp.get_family(args.family), args.bank_size, progress=False)
    engines = {
        n: make_vector_env(n, args.family, args.split, backend="numpy", bank=bank)
        for n in ([] if args.no_numpy else args.sizes)
    }
    torch_engines = {
        n: make_vector_env(
            n, args.family, args.split, backend="torch", device=args.torch, bank=bank
        )
        for n in (args.sizes if args.torch else [])
    }
    for envs in [*engines.values(), *torch_engines.values()]:
        envs.reset(seed=0)
    pool = None
    if args.envpool:
        import envpool

        pool_id = ENVPOOL_IDS[args.family]
        pool = envpool.make(pool_id, env_type="gymnasium", num_envs=max(args.sizes), num_threads=1)
        pool.reset()

    rates: dict[str, list[float]] = {"reference": []}
    for _ in range(args.rounds):
        rates["reference"].append(reference_rate(env_id, args.seconds, rng))
        for n, envs in engines.items():
            rates.setdefault(f"numpy engine, {n} envs", []).append(
                batched_rate(envs, args.seconds, rng)
            )
        for n, envs in torch_engines.items():
            rates.setdefault(f"torch engine ({args.torch}), {n} envs", []).append(
                torch_rate(envs, args.seconds, seed=n)
            )
        if pool is not None:
            rates.setdefault(f"envpool {pool_id}, {max(args.sizes)} envs, 1 thread", []).append(
                batched_rate(pool, args.seconds, rng)
            )

    ref = statistics.median(rates["reference"])
    where = f"one core (cpu {cpu})" if cpu is not None else "not pinned"
    print(f"{env_id}, {where}, median of {args.rounds} rounds x {args.seconds}s")
    print(f"{'':44s} {'steps/s':>12s} {'x reference':>12s}")
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"{name:44s} {rate:12,.0f} {rate / ref:12.1f}")
    if pool is not None and engines:
        ours = statistics.median(rates[f"numpy engine, {max(args.sizes)} envs"])
        theirs = statistics.median(rates[f"envpool {pool_id}, {max(args.sizes)} envs, 1 thread"])
        print(f"numpy engine / envpool at {max(args.sizes)} envs: {ours / theirs:.2f}x")


if __name__ == "__main__":
    main()
