"""Steps per second of the batched engines vs one reference env, on one core, one run.

    python benchmarks/engine_speed.py                      # GoToRedBall, 64/1024/4096 envs
    python benchmarks/engine_speed.py --family GoToLocal --sizes 256 --envpool --numba

The process is pinned to one CPU. Each round measures the reference env (TokenizeText-wrapped,
random actions, reset on episode end) and then the engine at each batch size (random actions,
autoreset), for about ``--seconds`` each; the table reports the median over ``--rounds``
rounds and the ratio to the reference measured in the same run.

With ``--envpool``, EnvPool's C++ BabyAI port of the same base level (``BabyAI-GoToLocal-v0``
for GoToLocal, ``BabyAI-GoToRedBallNoDists-v0`` for GoToRedBall; one thread, synchronous) is
measured too, at each size, and the last column gives each engine's ratio to it. EnvPool has
no floor tiles, description text or info fields, so it does less work per step than any
babyaipp backend. With ``--numba`` the numba engine (``backend="numba"``,
``pip install "babyaipp[numba]"``) is measured too at each size (its kernel compiled, or
loaded from numba's cache, before the clock starts). With ``--torch DEVICE`` the torch engine
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
    parser.add_argument("--numba", action="store_true", help="also measure the numba engine")
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
    numba_engines = {
        n: make_vector_env(n, args.family, args.split, backend="numba", bank=bank)
        for n in (args.sizes if args.numba else [])
    }
    torch_engines = {
        n: make_vector_env(
            n, args.family, args.split, backend="torch", device=args.torch, bank=bank
        )
        for n in (args.sizes if args.torch else [])
    }
    for envs in [*engines.values(), *numba_engines.values(), *torch_engines.values()]:
        envs.reset(seed=0)
    pools = {}
    if args.envpool:
        import envpool

        pool_id = ENVPOOL_IDS[args.family]
        for n in args.sizes:
            pools[n] = envpool.make(pool_id, env_type="gymnasium", num_envs=n, num_threads=1)
            pools[n].reset()

    # (name, batch size or None) -> one rate per round
    rates: dict[tuple[str, int | None], list[float]] = {("reference", None): []}
    for _ in range(args.rounds):
        rates["reference", None].append(reference_rate(env_id, args.seconds, rng))
        for name, group in (("numpy engine", engines), ("numba engine", numba_engines)):
            for n, envs in group.items():
                rates.setdefault((name, n), []).append(batched_rate(envs, args.seconds, rng))
        for n, envs in torch_engines.items():
            rates.setdefault((f"torch engine ({args.torch})", n), []).append(
                torch_rate(envs, args.seconds, seed=n)
            )
        for n, pool in pools.items():
            rates.setdefault((f"envpool {pool_id} (1 thread)", n), []).append(
                batched_rate(pool, args.seconds, rng)
            )

    median = {key: statistics.median(values) for key, values in rates.items()}
    ref = median["reference", None]
    where = f"one core (cpu {cpu})" if cpu is not None else "not pinned"
    print(f"{env_id}, {where}, median of {args.rounds} rounds x {args.seconds}s")
    print(f"{'':48s} {'steps/s':>12s} {'x reference':>12s} {'x envpool':>10s}")
    for (name, n), rate in median.items():
        label = name if n is None else f"{name}, {n} envs"
        theirs = median.get((f"envpool {pool_id} (1 thread)", n)) if pools else None
        versus = f"{rate / theirs:10.2f}" if theirs else ""
        print(f"{label:48s} {rate:12,.0f} {rate / ref:12.1f} {versus}")


if __name__ == "__main__":
    main()
