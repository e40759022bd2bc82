"""Train the cross-attention agent on GoToRedBall and compare seen vs held-out success.

Run: python examples/train_agent.py            (the small preset: minutes on a 2-core CPU)
     python examples/train_agent.py --total-frames 4096 --episodes 10   (a smoke run)

Trains on ``BabyAIPP-GoToRedBall-Train-v0`` (colour-property pairs seen in training), then
plays greedy episodes on the Train split and on the HeldOut split (every map holds a pair never
seen in training) and prints both success rates.
"""

from __future__ import annotations

import argparse

from babyaipp.agents import PRESETS, TrainConfig, load_policy, run_episodes, train

ENV_ID = "BabyAIPP-GoToRedBall-Train-v0"
HELD_OUT_ID = "BabyAIPP-GoToRedBall-HeldOut-v0"


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cross-attention")
    parser.add_argument("--total-frames", type=int, default=None, help="default: the preset's")
    parser.add_argument("--num-envs", type=int, default=None, help="default: the preset's")
    parser.add_argument("--episodes", type=int, default=200, help="evaluation episodes per split")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--run-dir", default="runs")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    overrides = {"total_frames": args.total_frames, "num_envs": args.num_envs}
    cfg = TrainConfig(
        **{
            **PRESETS["small"],
            **{k: v for k, v in overrides.items() if v is not None},
            "env_id": ENV_ID,
            "model": args.model,
            "seed": args.seed,
            "run_dir": args.run_dir,
            "eval_episodes": min(args.episodes, 100),
            "progress": not args.no_progress,
        }
    )
    summary = train(cfg)
    policy = load_policy(summary["checkpoint"])
    results = {}
    for label, env_id in (("seen (Train)", ENV_ID), ("held-out (HeldOut)", HELD_OUT_ID)):
        results[label] = run_episodes(policy, env_id, args.episodes)["success"]
    print(f"{args.model} after {summary['frames']} frames ({summary['checkpoint']}):")
    for label, success in results.items():
        print(f"  {label:<20} success {success:.1%} over {args.episodes} greedy episodes")
    return results


if __name__ == "__main__":
    main()
