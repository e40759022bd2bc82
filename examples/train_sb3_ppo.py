"""stable-baselines3 PPO with babyaipp's encoders and fusion as its features extractor.

Run: python examples/train_sb3_ppo.py --model film --timesteps 100000
     python examples/train_sb3_ppo.py --timesteps 256 --episodes 4     (a smoke run)

SB3's PPO is feed-forward (no memory); the extractor is any model of babyaipp.agents.MODELS.
The trained model is wrapped as a babyaipp Policy and scored on the Train and HeldOut splits.
"""

from __future__ import annotations

import argparse

import gymnasium as gym
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

import babyaipp
from babyaipp.agents import run_episodes
from babyaipp.agents.sb3 import BabyAIPPExtractor
from babyaipp.eval import SB3Policy


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-id", default="BabyAIPP-GoToRedBall-Train-v0")
    parser.add_argument("--model", default="cross-attention", help="a babyaipp.agents model name")
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--timesteps", type=int, default=100_000)
    parser.add_argument("--n-envs", type=int, default=8)
    parser.add_argument("--episodes", type=int, default=100, help="evaluation episodes per split")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    def make() -> gym.Env:
        return babyaipp.TokenizeText(gym.make(args.env_id))

    envs = make_vec_env(make, n_envs=args.n_envs, seed=args.seed)
    n_steps = max(8, min(128, args.timesteps // args.n_envs))
    model = PPO(
        "MultiInputPolicy",
        envs,
        n_steps=n_steps,
        batch_size=n_steps * args.n_envs // 4,
        n_epochs=4,
        learning_rate=1e-3,
        ent_coef=0.01,
        policy_kwargs=BabyAIPPExtractor.policy_kwargs(args.model, args.dim),
        seed=args.seed,
    )
    model.learn(args.timesteps)
    policy = SB3Policy(model, f"sb3-ppo-{args.model}")  # stateless: SB3 PPO has no memory
    held_out_id = args.env_id.replace("-Train-", "-HeldOut-")
    results = {
        env_id: run_episodes(policy, env_id, args.episodes)["success"]
        for env_id in (args.env_id, held_out_id)
    }
    for env_id, success in results.items():
        print(f"{policy.name} on {env_id}: success {success:.1%} over {args.episodes} episodes")
    envs.close()
    return results


if __name__ == "__main__":
    main()
