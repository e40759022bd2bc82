"""Where a PPO update's time goes: torch.profiler over training minibatches of one model.

Run: python benchmarks/update_profile.py [--model cross-attention] [--sequences 128]

Builds the model as the trainer does (width ``--dim``, ``--grid-conv``, LSTM memory), takes
``--sequences`` sequences of ``--recurrence`` steps from the batched engine (random actions),
and times the minibatch forward + backward + Adam step (the trainer's update is made of
these), then prints the profiler's table of the heaviest operators. One rollout step of the
same envs is timed too, for scale. The loss is a stand-in of the same shape as PPO's (the
operators' cost does not depend on it).
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import torch
from torch.profiler import ProfilerActivity, profile

import babyaipp  # noqa: F401  (registers the envs)
from babyaipp.agents.config import DEFAULT_GRID_CONV
from babyaipp.agents.encoders import GRID_CONVS
from babyaipp.agents.model import ActorCritic, obs_to_tensors
from babyaipp.agents.trainer import make_optimizer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-id", default="BabyAIPP-GoToRedBall-Train-v1")
    parser.add_argument("--model", default="cross-attention")
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--grid-conv", choices=list(GRID_CONVS), default=DEFAULT_GRID_CONV)
    parser.add_argument("--sequences", type=int, default=128, help="sequences per minibatch")
    parser.add_argument("--recurrence", type=int, default=8, help="steps per sequence")
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.torch_threads)

    envs = gym.make_vec(args.env_id, args.sequences, vectorization_mode="vector_entry_point")
    obs, _ = envs.reset(seed=0)
    steps = []
    for _ in range(args.recurrence):
        steps.append(obs_to_tensors(obs, "cpu"))
        obs, *_ = envs.step(envs.action_space.sample())
    batch = {key: torch.stack([step[key] for step in steps]) for key in steps[0]}
    torch.manual_seed(0)
    agent = ActorCritic(
        envs.single_observation_space,
        envs.single_action_space,
        args.model,
        args.dim,
        grid_conv=args.grid_conv,
    )
    optimizer = make_optimizer(agent, 3e-4, 1e-5)
    state = agent.initial_state(args.sequences)
    starts = torch.zeros(args.recurrence, args.sequences, dtype=torch.bool)

    def minibatch() -> None:
        logits, values, _ = agent(batch, state, starts)
        loss = logits.logsumexp(-1).mean() + values.pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    minibatch()
    start = time.perf_counter()
    for _ in range(args.repeats):
        minibatch()
    per_minibatch = (time.perf_counter() - start) / args.repeats
    with torch.inference_mode():
        first = {key: value[0] for key, value in batch.items()}
        start = time.perf_counter()
        for _ in range(args.repeats):
            agent.step(first, state, starts[0])
        per_step = (time.perf_counter() - start) / args.repeats
    frames = args.sequences * args.recurrence
    print(
        f"{args.model} width {args.dim} ({args.grid_conv} grid conv), {args.torch_threads} "
        f"thread(s): minibatch of {frames} "
        f"frames {per_minibatch * 1e3:.1f} ms (forward + backward + Adam); one rollout step of "
        f"{args.sequences} envs {per_step * 1e3:.1f} ms"
    )
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(3):
            minibatch()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20))
    envs.close()


if __name__ == "__main__":
    main()
