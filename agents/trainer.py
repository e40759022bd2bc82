"""Recurrent PPO over gymnasium vector envs (cleanrl's loop, with testable parts).

Run ``python -m babyaipp.agents.train --preset small`` or ``babyaipp train --preset small``;
``--help`` lists every setting (:class:`babyaipp.agents.config.TrainConfig`).

Autoreset: gymnasium 1.x vector envs reset in *next-step* mode. The step that ends an episode
returns the episode's last observation (with ``terminated``/``truncated``); the following step
resets that env, ignores its action and returns the first observation of the next episode
with reward 0. So the rollout keeps two flags per step: ``valid`` (False for that reset step:
masked out of the loss) and ``starts`` (True on the first observation of an episode: the
memory is zeroed). The last observation's value, computed on the reset step, is what a
truncated episode bootstraps from (see :func:`babyaipp.agents.ppo.compute_gae`).
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import json
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from babyaipp.agents.allocator import keep_freed_memory
from babyaipp.agents.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint, space_spec
from babyaipp.agents.config import TrainConfig, parse_config, with_legacy_values
from babyaipp.agents.evaluate import heldout_env_id, run_episodes, tokenized
from babyaipp.agents.model import ActorCritic, obs_to_tensors
from babyaipp.agents.policy import TorchPolicy
from babyaipp.agents.ppo import compute_gae, log_prob_and_entropy, ppo_loss
from babyaipp.engine import backend_of
from babyaipp.engine.torch_env import FAILURE_NAMES, TorchBatchedEnv
from babyaipp.io import remove_stale_temp_files
from babyaipp.vector import make_vec

CSV_FIELDS = (
    "iteration", "frames", "time", "fps", "episodes", "return", "success", "trap", "length",
    "learning_rate", "pg_loss", "v_loss", "entropy", "approx_kl", "clipfrac", "explained_variance",
    "eval_success", "eval_return", "eval_trap",
)  # fmt: skip

# TensorBoard tags, in cleanrl's vocabulary
TB_GROUPS = {
    **{
        k: f"charts/{k}"
        for k in ("fps", "episodes", "return", "success", "trap", "length", "learning_rate")
    },
    **{
        k: f"losses/{k}"
        for k in ("pg_loss", "v_loss", "entropy", "approx_kl", "clipfrac", "explained_variance")
    },
    **{f"eval_{k}": f"eval/{k}" for k in ("success", "return", "trap")},
}


def resolve_device(name: str) -> torch.device:
    """``auto`` → cuda when available, else cpu; a cuda device that is absent → ValueError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available; use --device cpu")
    return device


def make_envs(cfg: TrainConfig, device: torch.device | None = None) -> gym.vector.VectorEnv:
    """The training envs: tokenised observations, NEXT_STEP autoreset, on either backend.

    The batched backend runs the torch engine on ``device`` when that is a GPU, so that
    environment, policy and PPO all stay there, and on a CPU the numba engine when it can
    (:func:`cpu_engine`), else the numpy engine; ``batched-numpy``, ``batched-numba`` and
    ``batched-torch`` pick the engine's backend themselves.
    """
    if cfg.env_backend.startswith("batched"):  # the engine's observations are tokenised
        on_gpu = device is not None and device.type != "cpu"
        backend = {
            "batched": "torch" if on_gpu else cpu_engine(cfg),
            "batched-numpy": "auto",  # the numpy engine (reference envs where unsupported)
            "batched-numba": "numba",
            "batched-torch": "torch",
        }[cfg.env_backend]
        engine = {} if backend == "auto" else {"backend": backend}
        if backend == "torch":
            engine["device"] = str(device or "cpu")
        return gym.make_vec(
            cfg.env_id,
            cfg.num_envs,
            vectorization_mode="vector_entry_point",
            bank_size=cfg.bank_size,
            **engine,
            **cfg.env_kwargs,
        )
    mode = cfg.vector_mode
    if mode == "auto":
        mode = "async" if cfg.num_envs > 1 else "sync"
    return make_vec(  # gym.make_vec, with workers quiet on Ctrl-C
        cfg.env_id,
        cfg.num_envs,
        vectorization_mode=mode,
        wrappers=[tokenized],
        **cfg.env_kwargs,
    )


def cpu_engine(cfg: TrainConfig) -> str:
    """The engine backend of ``--env-backend batched`` on a CPU: ``numba`` when numba is
    installed and the engine runs the family with ``cfg.env_kwargs`` (the same episodes as the
    numpy engine, faster), else ``auto`` (the numpy engine, or reference envs where the engine
    does not run the family)."""
    family = gym.spec(cfg.env_id).kwargs.get("family")
    if family is None or importlib.util.find_spec("numba") is None:
        return "auto"
    return "numba" if backend_of(family, **cfg.env_kwargs) == "batched" else "auto"


def make_optimizer(agent: torch.nn.Module, learning_rate: float, eps: float) -> torch.optim.Adam:
    """The trainer's Adam: ``fused`` (one kernel per step for all parameters, ~3x faster per
    step on the CPU than ``foreach``), with the parameters' version counters bumped after each
    step.

    The fused kernel updates the parameters in place without bumping those counters, and the
    text encoder's rollout cache keys on them: without the bump it kept the first parameters'
    text vectors in every rollout, and the agent never learnt to read (docs/results.md,
    attempt 8).
    """
    parameters = list(agent.parameters())
    optimizer = torch.optim.Adam(parameters, lr=learning_rate, eps=eps, fused=True)
    optimizer.register_step_post_hook(lambda *_: torch.autograd.graph.increment_version(parameters))
    return optimizer


def step_envs(envs: gym.vector.VectorEnv, action: torch.Tensor):
    """``envs.step``: the torch engine takes the action tensor where it is, others numpy."""
    if isinstance(envs, TorchBatchedEnv):
        return envs.step(action)
    return envs.step(action.cpu().numpy())


def host_stats(reward, term, trunc, info: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """What the episode statistics need, as numpy (one copy per step from the torch engine,
    whose ``failure`` info is a code into ``FAILURE_NAMES``)."""
    if not torch.is_tensor(reward):
        return reward, term, trunc, info

    failure = np.array(FAILURE_NAMES, dtype=object)[info["failure"].cpu().numpy()]
    host = {"success": info["success"].cpu().numpy(), "failure": failure}
    return reward.cpu().numpy(), term.cpu().numpy(), trunc.cpu().numpy(), host


def env_seed(seed: int, iteration: int) -> int:
    """The base seed of the envs for a run (re)started at ``iteration`` (env i gets base + i)."""
    return int(np.random.SeedSequence([seed, iteration]).generate_state(1)[0])


class RunLogger:
    """TensorBoard scalars and a CSV row per iteration, in the run directory."""

    def __init__(self, run_dir: Path, resume_iteration: int, resume_frames: int):
        from torch.utils.tensorboard import SummaryWriter

        self.csv_path = run_dir / "progress.csv"
        rows = []
        if resume_iteration and self.csv_path.exists():  # drop rows logged after the checkpoint
            with open(self.csv_path, newline="") as file:
                rows = [r for r in csv.DictReader(file) if int(r["iteration"]) <= resume_iteration]
        self.file = open(self.csv_path, "w", newline="")  # noqa: SIM115 - closed in close()
        self.csv = csv.DictWriter(self.file, CSV_FIELDS)
        self.csv.writeheader()
        self.csv.writerows(rows)
        # the x axis is frames: drop events logged after the checkpoint
        self.writer = SummaryWriter(
            str(run_dir), purge_step=resume_frames + 1 if resume_iteration else None
        )

    def log(self, row: dict[str, Any]) -> None:
        for key, value in row.items():
            if key in TB_GROUPS:
                self.writer.add_scalar(TB_GROUPS[key], value, row["frames"])
        self.csv.writerow({key: row.get(key, "") for key in CSV_FIELDS})
        self.file.flush()

    def close(self) -> None:
        self.writer.close()
        self.file.close()


def train(
    cfg: TrainConfig, on_iteration: Callable[[dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    """Train with ``cfg``; return a summary (run dir, checkpoint path, last metrics).

    ``on_iteration(row)``, if given, is called with each iteration's logged row (the CSV's
    columns), e.g. for a progress display (``babyaipp reproduce``).
    """
    cfg.validate()
    device = resolve_device(cfg.device)
    amp = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if cfg.amp and device.type == "cuda"
        else contextlib.nullcontext()
    )
    if cfg.torch_threads:
        torch.set_num_threads(cfg.torch_threads)
    keep_freed_memory()
    run_dir = Path(cfg.run_dir) / cfg.run_name  # made once the envs and the agent are built
    eval_env_id = heldout_env_id(cfg.env_id) if cfg.eval_env_id == "auto" else cfg.eval_env_id
    eval_env_id = None if eval_env_id in (None, "", "none") else eval_env_id

    # TRY NOT TO MODIFY: seeding, envs, agent, optimizer
    torch.manual_seed(cfg.seed)
    envs = make_envs(cfg, device)
    agent = ActorCritic(
        envs.single_observation_space,
        envs.single_action_space,
        cfg.model,
        cfg.dim,
        cfg.memory,
        cfg.grid_conv,
    )
    agent.to(device)
    optimizer = make_optimizer(agent, cfg.learning_rate, cfg.adam_eps)
    parameters = optimizer.param_groups[0]["params"]  # the agent's, listed once for clipping
    start_iteration, global_step = 0, 0
    if cfg.resume:
        checkpoint = load_checkpoint(cfg.resume, device)
        if with_legacy_values(checkpoint["model"]) != agent.model_kwargs():
            raise ValueError(
                f"{cfg.resume}: checkpoint model {checkpoint['model']} "
                f"differs from the configured {agent.model_kwargs()}"
            )
        agent.load_state_dict(checkpoint["model_state"])
        optimizer.load_state_dict(checkpoint["optimizer_state"])
        start_iteration, global_step = checkpoint["iteration"], checkpoint["global_step"]
        torch.set_rng_state(checkpoint["rng"]["torch"].cpu())
        if device.type == "cuda" and "cuda" in checkpoint["rng"]:
            torch.cuda.set_rng_state(checkpoint["rng"]["cuda"].cpu(), device)
    run_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(run_dir / CHECKPOINT_NAME)  # left by a write that was killed
    (run_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
    logger = RunLogger(run_dir, start_iteration, global_step)

    # ALGO Logic: storage setup, indexed [step, env]
    T, N, R = cfg.num_steps, cfg.num_envs, cfg.recurrence
    obs_space = envs.single_observation_space
    obs = {
        key: torch.zeros(
            (T, N, *obs_space[key].shape),
            dtype=torch.uint8 if key == "image" else torch.long,
            device=device,
        )
        for key in ("image", "direction", "mission", "description")
    }
    starts = torch.zeros((T, N), dtype=torch.bool, device=device)
    valid = torch.zeros((T, N), dtype=torch.bool, device=device)
    states = torch.zeros((T, N, agent.state_size), device=device)
    actions = torch.zeros((T, N), dtype=torch.long, device=device)
    logprobs = torch.zeros((T, N), device=device)
    values = torch.zeros((T, N), device=device)
    rewards = torch.zeros((T, N), device=device)
    terminated = torch.zeros((T, N), dtype=torch.bool, device=device)
    truncated = torch.zeros((T, N), dtype=torch.bool, device=device)

    # start the game
    next_obs_np, _ = envs.reset(seed=env_seed(cfg.seed, start_iteration))
    next_obs = obs_to_tensors(next_obs_np, device)
    next_start = torch.ones(N, dtype=torch.bool, device=device)
    next_valid = torch.ones(N, dtype=torch.bool, device=device)
    state = agent.initial_state(N, device)
    episode_return, episode_length = np.zeros(N), np.zeros(N, dtype=int)
    # the last 100 episodes: (return, success, trap, length)
    recent: deque[tuple[float, float, float, float]] = deque(maxlen=100)
    summary: dict[str, Any] = {
        "run_dir": str(run_dir),
        "checkpoint": str(run_dir / CHECKPOINT_NAME),
    }
    progress = _progress_bar(cfg, global_step)
    start_time, start_step = time.time(), global_step

    def save(iteration: int) -> None:
        save_checkpoint(
            run_dir / CHECKPOINT_NAME,
            {
                "model": agent.model_kwargs(),
                "spaces": space_spec(envs.single_observation_space, envs.single_action_space),
                "config": cfg.to_dict(),
                "iteration": iteration,
                "global_step": global_step,
                "model_state": agent.state_dict(),
                "optimizer_state": optimizer.state_dict(),
                "rng": {
                    "torch": torch.get_rng_state(),
                    **({"cuda": torch.cuda.get_rng_state(device)} if device.type == "cuda" else {}),
                },
            },
        )

    for iteration in range(start_iteration + 1, cfg.num_iterations + 1):
        lr = cfg.learning_rate * (
            1.0 - (iteration - 1) / cfg.num_iterations if cfg.anneal_lr else 1.0
        )
        optimizer.param_groups[0]["lr"] = lr
        iteration_episodes = 0

        # ROLLOUT
        agent.eval()
        for step in range(T):
            global_step += N
            for key in obs:
                obs[key][step] = next_obs[key]
            starts[step], valid[step], states[step] = next_start, next_valid, state
            with torch.inference_mode(), amp:
                action, logprob, _, value, state = agent.get_action_and_value(
                    next_obs, state, next_start
                )
            actions[step], logprobs[step], values[step] = action, logprob, value
            next_obs_np, reward, term, trunc, info = step_envs(envs, action)
            rewards[step] = torch.as_tensor(reward, device=device) * cfg.reward_scale
            terminated[step] = torch.as_tensor(term, device=device)
            truncated[step] = torch.as_tensor(trunc, device=device)
            reward, term, trunc, info = host_stats(reward, term, trunc, info)

            # episode statistics (unscaled), on real steps only
            real = next_valid.cpu().numpy()
            episode_return += np.where(real, reward, 0.0)
            episode_length += real
            for i in np.flatnonzero(real & (term | trunc)):
                success = bool(info["success"][i]) if "success" in info else reward[i] > 0
                trap = "failure" in info and info["failure"][i] == "trap"
                recent.append((episode_return[i], float(success), float(trap), episode_length[i]))
                episode_return[i], episode_length[i] = 0.0, 0
                iteration_episodes += 1

            next_start = ~next_valid  # a reset step returns the first observation of an episode
            next_valid = ~torch.as_tensor(term | trunc, device=device)
            next_obs = obs_to_tensors(next_obs_np, device)

        # bootstrap value and GAE
        with torch.inference_mode(), amp:
            _, next_value, _ = agent.step(next_obs, state, next_start)
        advantages, returns = compute_gae(
            rewards, values, terminated, truncated, next_value.float(), cfg.gamma, cfg.gae_lambda
        )

        # cut the rollout into sequences of R steps: [T, N, ...] -> [R, T/R * N, ...]
        def sequences(x: torch.Tensor) -> torch.Tensor:
            return (
                x.view(T // R, R, N, *x.shape[2:])
                .transpose(0, 1)
                .reshape(R, T // R * N, *x.shape[2:])
            )

        b_obs = {key: sequences(value) for key, value in obs.items()}
        b_starts, b_valid, b_actions = sequences(starts), sequences(valid), sequences(actions)
        b_logprobs, b_values = sequences(logprobs), sequences(values)
        b_advantages, b_returns = sequences(advantages), sequences(returns)
        b_states = states[::R].reshape(T // R * N, -1)

        # Optimizing the policy and value network
        agent.train()
        num_sequences = b_states.shape[0]
        mb_size = num_sequences // cfg.num_minibatches
        stats: dict[str, list[float]] = {}
        for _epoch in range(cfg.update_epochs):
            order = torch.randperm(num_sequences, device=device)
            for begin in range(0, num_sequences, mb_size):
                mb = order[begin : begin + mb_size]
                with amp:
                    logits, new_values, _ = agent(
                        {k: v[:, mb] for k, v in b_obs.items()}, b_states[mb], b_starts[:, mb]
                    )
                new_logprob, entropy = log_prob_and_entropy(logits.float(), b_actions[:, mb])
                loss, mb_stats = ppo_loss(
                    new_logprob,
                    b_logprobs[:, mb],
                    entropy,
                    new_values.float(),
                    b_values[:, mb],
                    b_advantages[:, mb],
                    b_returns[:, mb],
                    b_valid[:, mb],
                    clip_coef=cfg.clip_coef,
                    clip_vloss=cfg.clip_vloss,
                    vf_coef=cfg.vf_coef,
                    ent_coef=cfg.ent_coef,
                    norm_adv=cfg.norm_adv,
                )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(parameters, cfg.max_grad_norm)
                optimizer.step()
                for key, value in mb_stats.items():
                    stats.setdefault(key, []).append(float(value))

        # logging
        y_pred, y_true = values[valid].cpu().numpy(), returns[valid].cpu().numpy()
        var_y = np.var(y_true)
        elapsed = time.time() - start_time
        row: dict[str, Any] = {
            "iteration": iteration,
            "frames": global_step,
            "time": round(elapsed, 2),
            "fps": round((global_step - start_step) / max(elapsed, 1e-9), 1),
            "episodes": iteration_episodes,
            "learning_rate": lr,
            "explained_variance": float("nan")
            if var_y == 0
            else float(1 - np.var(y_true - y_pred) / var_y),
            **{key: float(np.mean(value)) for key, value in stats.items()},
        }
        if recent:
            columns = zip(*recent, strict=True)
            for key, column in zip(("return", "success", "trap", "length"), columns, strict=True):
                row[key] = float(np.mean(column))
        last = iteration == cfg.num_iterations
        if eval_env_id and (last or (cfg.eval_interval and iteration % cfg.eval_interval == 0)):
            policy = TorchPolicy(agent, device, seed=cfg.seed)
            result = run_episodes(policy, eval_env_id, cfg.eval_episodes, env_kwargs=cfg.env_kwargs)
            agent.to(device)
            row.update(
                {
                    f"eval_{key}": value
                    for key, value in result.items()
                    if f"eval_{key}" in CSV_FIELDS
                }
            )
        logger.log(row)
        if on_iteration is not None:
            on_iteration(row)
        summary.update(row)
        progress.update(N * T)
        progress.set_postfix(fps=row["fps"], success=f"{row.get('success', float('nan')):.2f}")
        if last or iteration % cfg.checkpoint_interval == 0:
            save(iteration)

    if start_iteration >= cfg.num_iterations:  # nothing left to do: keep the checkpoint as it is
        summary["iteration"] = start_iteration
    progress.close()
    logger.close()
    envs.close()
    return summary


def _progress_bar(cfg: TrainConfig, initial: int):
    from tqdm.auto import tqdm

    return tqdm(
        total=cfg.num_iterations * cfg.batch_size,
        initial=initial,
        unit="frame",
        unit_scale=True,
        disable=not cfg.progress,
    )


def config_for_resume(cfg: TrainConfig, explicit: dict[str, Any]) -> TrainConfig:
    """With ``--resume``: the checkpoint's config, overridden by the flags given explicitly."""
    if not cfg.resume:
        return cfg
    stored = load_checkpoint(cfg.resume)["config"]
    return TrainConfig(**{**stored, **explicit})


def main(argv: list[str] | None = None) -> dict[str, Any]:
    cfg, explicit = parse_config(argv)
    cfg = config_for_resume(cfg, explicit)
    summary = train(cfg)
    print(
        json.dumps(
            {k: summary[k] for k in ("run_dir", "checkpoint", "frames", "success") if k in summary}
        )
    )
    return summary


if __name__ == "__main__":
    main()
