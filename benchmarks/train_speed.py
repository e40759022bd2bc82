"""Training speed: babyaipp's recurrent PPO vs stable-baselines3's PPO, as a ratio of env frames/s.

Run: python benchmarks/train_speed.py [--frames 8192] [--num-envs 32] [--rounds 3]

Both train the same fusion model (``--model``, width ``--dim``; SB3 through
:class:`babyaipp.agents.sb3.BabyAIPPExtractor`) on the same env with the same number of envs,
rollout length, epochs and minibatch size, and the same vector-env kind (gymnasium
``AsyncVectorEnv`` vs SB3 ``SubprocVecEnv`` for ``--vector-mode async``; in-process for sync).
SB3's PPO has no memory, so ours runs twice: with its LSTM (the default agent) and without (the
same network as SB3's). ``--grid-conv`` picks the grid convolutions of all three;
``--baseline-grid-conv full`` adds a fourth trainer to each round, ours with its LSTM and those
grid convolutions, to measure what the choice is worth in the same run. Rounds alternate the
trainers so that a busy machine slows all alike;
the script prints each round's frames/s and the median ratios. Wall-clock includes building
the envs and the model. Before the first round each trainer runs once on one rollout, untimed
(``--no-warmup`` skips it): a process's one-time costs (loading the numba engine's compiled
code, torch's first-call set-up: ~1.4 s here) would otherwise be charged to whichever trainer
goes first, which a 1M-frame run never notices. (The trainer's allocator setting,
:func:`babyaipp.agents.allocator.keep_freed_memory`, is process-wide: from the warm-up on,
SB3's updates in this process get it too.) torch uses ``--torch-threads`` threads in
both (default 1, see TrainConfig.torch_threads).
``--env-backend batched`` runs ours on the batched engine instead (same episodes' rules, tested
identical to the reference envs; SB3 keeps its SubprocVecEnv of reference envs), which is what
a babyaipp user would run: ``python benchmarks/train_speed.py --num-envs 8 --env-backend batched``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import gymnasium as gym
import torch

import babyaipp
from babyaipp.agents import PRESETS, TrainConfig, train
from babyaipp.agents.config import DEFAULT_GRID_CONV
from babyaipp.agents.encoders import GRID_CONVS


def ours(args, memory: bool, run_dir: str, grid_conv: str) -> float:
    cfg = TrainConfig(
        env_id=args.env_id,
        model=args.model,
        dim=args.dim,
        memory=memory,
        grid_conv=grid_conv,
        total_frames=args.frames,
        num_envs=args.num_envs,
        num_steps=args.num_steps,
        recurrence=args.recurrence,
        update_epochs=args.epochs,
        num_minibatches=args.minibatches,
        vector_mode=args.vector_mode,
        env_backend=args.env_backend,
        torch_threads=args.torch_threads,
        eval_env_id="none",
        checkpoint_interval=10**9,  # one checkpoint at the end, as SB3 saves none: ~ms
        progress=False,
        run_dir=run_dir,
    )
    start = time.perf_counter()
    summary = train(cfg)
    return summary["frames"] / (time.perf_counter() - start)


def sb3(args) -> float:
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    from babyaipp.agents.sb3 import BabyAIPPExtractor

    def make() -> gym.Env:
        return babyaipp.TokenizeText(gym.make(args.env_id))

    start = time.perf_counter()
    vec_cls = SubprocVecEnv if args.vector_mode == "async" else DummyVecEnv
    envs = make_vec_env(make, n_envs=args.num_envs, vec_env_cls=vec_cls, seed=0)
    batch = args.num_envs * args.num_steps
    model = PPO(
        "MultiInputPolicy",
        envs,
        n_steps=args.num_steps,
        batch_size=batch // args.minibatches,
        n_epochs=args.epochs,
        policy_kwargs=BabyAIPPExtractor.policy_kwargs(
            args.model, args.dim, args.grid_conv, net_arch=[64]
        ),
        device="cpu",
        seed=0,
    )
    frames = (args.frames // batch) * batch
    model.learn(frames)
    envs.close()
    return frames / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-id", default="BabyAIPP-GoToRedBall-Train-v0")
    parser.add_argument("--model", default="cross-attention")
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--grid-conv", choices=list(GRID_CONVS), default=DEFAULT_GRID_CONV)
    parser.add_argument(
        "--baseline-grid-conv",
        choices=list(GRID_CONVS),
        help="also time ours (LSTM) with these grid convolutions in every round",
    )
    parser.add_argument("--frames", type=int, default=8192, help="frames per trainer per round")
    small = PRESETS["small"]  # the defaults: the small preset's rollouts and minibatches
    parser.add_argument("--num-envs", type=int, default=small["num_envs"])
    parser.add_argument("--num-steps", type=int, default=small["num_steps"])
    parser.add_argument("--recurrence", type=int, default=small["recurrence"])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--minibatches", type=int, default=small["num_minibatches"])
    parser.add_argument("--vector-mode", choices=("async", "sync"), default="async")
    parser.add_argument("--env-backend", choices=("reference", "batched"), default="reference")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--torch-threads", type=int, default=1, help="torch threads, both trainers")
    parser.add_argument(
        "--no-warmup", dest="warmup", action="store_false", help="time the first calls too"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.torch_threads)
    if args.env_backend == "batched":  # build the layout bank before any timing
        gym.make_vec(args.env_id, 1, vectorization_mode="vector_entry_point").close()

    baseline = f"ours (LSTM, {args.baseline_grid_conv} grid conv)"
    results: dict[str, list[float]] = {"ours (LSTM)": [], "ours (no memory)": [], "sb3": []}
    if args.baseline_grid_conv:
        results[baseline] = []

    def run_round(args: argparse.Namespace, run_dir: str) -> dict[str, float]:
        fps = {
            "ours (LSTM)": ours(args, True, run_dir, args.grid_conv),
            "sb3": sb3(args),
            "ours (no memory)": ours(args, False, run_dir, args.grid_conv),
        }
        if args.baseline_grid_conv:
            fps[baseline] = ours(args, True, run_dir, args.baseline_grid_conv)
        return fps

    with tempfile.TemporaryDirectory() as run_dir:
        if args.warmup:
            one_rollout = args.num_envs * args.num_steps
            run_round(argparse.Namespace(**{**vars(args), "frames": one_rollout}), run_dir)
        for round_ in range(args.rounds):
            for name, fps in run_round(args, run_dir).items():
                results[name].append(fps)
            print(
                f"round {round_ + 1}: "
                + ", ".join(f"{k} {v[-1]:.0f} fps" for k, v in results.items())
            )
    medians = {name: statistics.median(fps) for name, fps in results.items()}
    print(
        f"{args.env_id}, {args.model} dim {args.dim} ({args.grid_conv} grid conv), "
        f"{args.num_envs} envs "
        f"(ours: {args.env_backend}, {args.vector_mode}; SB3: {args.vector_mode}), "
        f"{args.torch_threads} torch thread(s), "
        f"{args.frames} frames per run, median of {args.rounds} rounds:"
    )
    for name in ("ours (LSTM)", "ours (no memory)"):
        print(
            f"  {name}: {medians[name]:.0f} frames/s = "
            f"{medians[name] / medians['sb3']:.2f}x SB3 PPO"
        )
    print(f"  sb3: {medians['sb3']:.0f} frames/s")
    if args.baseline_grid_conv:
        print(
            f"  {baseline}: {medians[baseline]:.0f} frames/s; ours (LSTM) is "
            f"{medians['ours (LSTM)'] / medians[baseline]:.2f}x that"
        )
    return medians


if __name__ == "__main__":
    main()
