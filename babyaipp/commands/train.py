"""``babyaipp train``: recurrent PPO on a babyaipp env (the flags of TrainConfig)."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers) -> None:
    from babyaipp.agents.config import TrainConfig, add_config_arguments

    parser = subparsers.add_parser(
        "train",
        help="train a text-conditioned agent with recurrent PPO",
        description=f"{TrainConfig.__doc__} Example: babyaipp train --preset small --model film",
    )
    add_config_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from babyaipp.agents.config import config_from_args
    from babyaipp.agents.trainer import config_for_resume, train

    cfg, explicit = config_from_args(args)
    summary = train(config_for_resume(cfg, explicit))
    keys = ("run_dir", "checkpoint", "frames", "success", "eval_success")
    print(json.dumps({key: summary[key] for key in keys if key in summary}))
    return 0
