"""``babyaipp bank``: build, list and check the batched engine's layout banks.

``python -m babyaipp.engine.cli [FAMILY ...]`` is the same as ``babyaipp bank build``. This
module sits above :mod:`babyaipp.engine.bank` and :mod:`babyaipp.engine.reference` and imports
them; neither imports it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from babyaipp.catalog import FAMILIES, get_family, parse_env_id
from babyaipp.commands import seed
from babyaipp.engine import DEFAULT_BANK_SIZE, backend_of, make_vector_env
from babyaipp.engine.bank import bank_dir, bank_path, load_or_build
from babyaipp.engine.reference import differential_run


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "bank", help="layout banks of the batched engine (build, list, check)"
    )
    sub = p.add_subparsers(dest="bank_command", required=True, metavar="ACTION")
    build = sub.add_parser("build", help="generate (or load) banks, with a progress bar")
    add_build_arguments(build)
    build.set_defaults(func=run_build)
    ls = sub.add_parser("list", help="banks cached on disk")
    ls.add_argument(
        "--dir", help="bank folder (default $BABYAIPP_BANK_DIR or ~/.cache/babyaipp/banks)"
    )
    ls.set_defaults(func=run_list)
    check = sub.add_parser(
        "check", help="step the engine beside reference envs; fail on any difference"
    )
    check.add_argument("env_id", metavar="ID", help="e.g. BabyAIPP-GoToRedBall-Test-v0")
    check.add_argument(
        "--envs",
        type=int,
        default=16,
        help="engine envs stepped side by side with as many reference envs (default 16)",
    )
    check.add_argument(
        "--steps", type=int, default=200, help="vector steps to compare (default 200)"
    )
    check.add_argument("--seed", type=seed, default=0, help="reset and action seed (default 0)")
    check.add_argument("--size", type=int, default=None, help="layouts per trap set")
    check.add_argument("--dir", help="bank folder")
    check.set_defaults(func=run_check)


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "families",
        nargs="*",
        metavar="FAMILY",
        help="families to build (default: every family the engine supports)",
    )
    parser.add_argument(
        "--size",
        type=int,
        default=DEFAULT_BANK_SIZE,
        help=f"layouts per trap set (default {DEFAULT_BANK_SIZE})",
    )
    parser.add_argument("--seed", type=seed, default=0, help="bank seed (default 0)")
    parser.add_argument(
        "--density", type=float, default=None, help="tile density (default: the family's)"
    )
    parser.add_argument(
        "--dir", help="bank folder (default $BABYAIPP_BANK_DIR or ~/.cache/babyaipp/banks)"
    )
    parser.add_argument("--rebuild", action="store_true", help="regenerate even if cached")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run_build(args: argparse.Namespace) -> int:
    names = args.families or [n for n, s in FAMILIES.items() if backend_of(s) == "batched"]
    for name in names:
        spec = get_family(name)
        if backend_of(spec) != "batched":
            raise ValueError(f"family {name} runs on reference envs: it has no bank")
        bank = load_or_build(
            spec,
            args.size,
            args.seed,
            args.density,
            root=args.dir,
            progress=not args.quiet,
            rebuild=args.rebuild,
        )
        path = bank_path(spec, args.size, args.seed, args.density, args.dir)
        print(f"{name}: {len(bank.seeds)} layouts in {len(bank.buckets)} trap sets -> {path}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    root = Path(args.dir) if args.dir else bank_dir()
    paths = sorted(root.glob("*.npz")) if root.is_dir() else []
    if not paths:
        print(f"no banks in {root}")
        return 0
    for path in paths:
        with np.load(path, allow_pickle=False) as data:
            key = json.loads(str(data["meta"]))["key"]
            count = len(data["seeds"])
        print(
            f"{path.name}  family={key['spec']['name']} size={key['size']} seed={key['seed']} "
            f"density={key['density']} layouts={count} ({path.stat().st_size / 1e6:.1f} MB)"
        )
    return 0


def run_check(args: argparse.Namespace) -> int:
    family, split = parse_env_id(args.env_id)
    env = make_vector_env(
        args.envs,
        family,
        split,
        backend="numpy",
        bank_dir=args.dir,
        bank_size=args.size or DEFAULT_BANK_SIZE,
    )
    counts = differential_run(env, args.steps, seed=args.seed, bot_envs=args.envs // 2)
    print(f"{args.env_id}: identical over {counts['steps']} steps, {counts['episodes']} episodes")
    print("  " + ", ".join(f"{k}={v}" for k, v in counts.items() if k not in ("steps", "episodes")))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m babyaipp.engine.cli``: the same as ``babyaipp bank build``."""
    parser = argparse.ArgumentParser(
        prog="python -m babyaipp.engine.cli", description="Build the engine's layout banks."
    )
    add_build_arguments(parser)
    return run_build(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
