"""``babyaipp list`` and ``babyaipp describe``: what the catalog holds, and one episode."""

from __future__ import annotations

import argparse

from babyaipp.commands import seed


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("list", help="table of every registered env id")
    p.add_argument("--family", help="only this family")
    p.set_defaults(func=run_list)

    p = subparsers.add_parser(
        "describe", help="instruction, description, map and picture of an episode"
    )
    p.add_argument("env_id", metavar="ID", help="e.g. BabyAIPP-GoToRedBall-Train-v0")
    p.add_argument("--seed", type=seed, default=0, help="reset seed of the episode (default 0)")
    p.add_argument("--text", default="full", help="text mode: full, none, shuffled, random")
    p.set_defaults(func=run_describe)


def catalog_rows(family: str | None = None) -> list[dict[str, str]]:
    """One row per registered id: id, family, split, grid, colours, properties, backend."""
    import babyaipp
    from babyaipp.engine import backend_of
    from babyaipp.env import level_class

    rows = []
    for spec in babyaipp.FAMILIES.values():
        if family and spec.key != family:
            continue
        probe = level_class(spec.base_class())(spec, "Train")
        for split in spec.splits:
            colors = list(spec.fixed) if split == "Fixed" else list(spec.floor_colors)
            rows.append(
                {
                    "id": spec.env_id(split),
                    "family": spec.key,
                    "split": split,
                    "grid": f"{probe.width}x{probe.height}",
                    "colours": ",".join(colors),
                    "properties": ",".join(spec.properties),
                    "backend": backend_of(spec),
                }
            )
    if family and not rows:
        babyaipp.get_family(family)  # raises, naming the known families
    return rows


def format_table(rows: list[dict[str, str]]) -> str:
    if not rows:
        return ""
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in keys}
    lines = ["  ".join(k.ljust(widths[k]) for k in keys)]
    lines.append("  ".join("-" * widths[k] for k in keys))
    lines += ["  ".join(r[k].ljust(widths[k]) for k in keys) for r in rows]
    return "\n".join(lines)


def run_list(args: argparse.Namespace) -> int:
    print(format_table(catalog_rows(args.family)))
    return 0


def run_describe(args: argparse.Namespace) -> int:
    import gymnasium as gym

    import babyaipp
    from babyaipp.ascii_art import ascii_grid, legend
    from babyaipp.catalog import check_env_id

    check_env_id(args.env_id)  # names what is wrong: the form, family, version or split
    env = gym.make(args.env_id, text=args.text)
    obs, info = env.reset(seed=args.seed)
    unwrapped = env.unwrapped
    print(f"{args.env_id}  seed={args.seed}  max_steps={unwrapped.max_steps}")
    print(f"instruction: {obs['mission']}")
    print(f"description: {obs['description'] or '(none)'}")
    floor_map = ", ".join(f"{c}={p}" for c, p in info["floor_properties"].items())
    print(f"map:         {floor_map}   held-out pair: {'yes' if info['held_out'] else 'no'}")
    print()
    print(ascii_grid(unwrapped))
    print(
        f"\nlegend: {legend()}  (then the colour's initial)  W=wall D/L/_=door A=ball B=box K=key"
    )
    env.close()
    del babyaipp
    return 0
