"""Pictures and tables from trained entries: learning curves, the results table, the probe.

The inputs are leaderboard entry folders as ``babyaipp reproduce`` writes them
(:mod:`babyaipp.agents.reproduce`): ``<entry>/<entry>-seed<k>.json`` (results on a suite) and
``<entry>/seed<k>/<Family>.csv`` (the trainer's ``progress.csv`` of each family's agent).

- :func:`learning_curves`: success against frames, one panel per family, one colour per
  entry; Train (the trainer's ``success``: the last 100 training episodes, sampled actions)
  dashed and HeldOut (``eval_success``: the periodic greedy evaluation) solid; the mean over
  seeds with a 95% Student-t interval (with 3 seeds a bootstrap interval is too narrow to
  mean anything).
- :func:`results_table`: the paper's table (success, return and length on Train / HeldOut /
  Test, mean ± standard error over training seeds, one row per entry), as markdown; a seed's
  value is the mean over the suite's families.
- :func:`probe_entries`: the reading probe (:func:`babyaipp.oracle.probe.probe`: true vs
  shuffled vs empty description, paired by seed) for every run of every entry.
- :func:`spot_check`: a quick ``leaderboard verify``: re-play the first episodes of every
  sub-env's seed block and compare them with the recorded ones.

Torch is imported only when the probe loads checkpoints.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from babyaipp.io import atomic_write_bytes

SPLITS = ("Train", "HeldOut", "Test")
TABLE_METRICS = ("success", "return", "length")
CURVES = (("success", "Train", "--"), ("eval_success", "HeldOut", "-"))
"""(CSV column, label, line style) of each curve."""


# -- reading entries -------------------------------------------------------------------------


def results_files(entry: str | Path) -> list[Path]:
    """The results files of an entry folder (every top-level JSON but metadata.json)."""
    entry = Path(entry)
    if not entry.is_dir():
        raise FileNotFoundError(f"no entry folder {str(entry)!r}")
    files = sorted(p for p in entry.glob("*.json") if p.name != "metadata.json")
    if not files:
        raise ValueError(f"{entry}: no results files")
    return files


def read_log(path: str | Path) -> dict[str, np.ndarray]:
    """A trainer ``progress.csv`` as float columns (empty cells are NaN)."""
    with open(path, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    if not rows or "frames" not in rows[0]:
        raise ValueError(f"{path}: not a training log (no rows or no 'frames' column)")
    return {
        key: np.array([float(r[key]) if r[key] not in ("", None) else np.nan for r in rows])
        for key in rows[0]
    }


def entry_logs(entry: str | Path) -> dict[str, dict[int, dict[str, np.ndarray]]]:
    """``{family: {seed: log}}`` from ``<entry>/seed<k>/<Family>.csv``."""
    entry = Path(entry)
    logs: dict[str, dict[int, dict[str, np.ndarray]]] = {}
    for path in sorted(entry.glob("seed*/*.csv")):
        seed = path.parent.name.removeprefix("seed")
        if seed.isdigit():
            logs.setdefault(path.stem, {})[int(seed)] = read_log(path)
    if not logs:
        raise ValueError(f"{entry}: no training logs (seed<k>/<Family>.csv)")
    return logs


# -- statistics ------------------------------------------------------------------------------


def mean_ci(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and 95% Student-t interval over ``axis`` (zero width for one value)."""
    from scipy import stats

    values = np.asarray(values, dtype=np.float64)
    n = values.shape[axis]
    mean = values.mean(axis=axis)
    if n < 2:
        return mean, mean, mean
    half = stats.t.ppf(0.975, n - 1) * values.std(axis=axis, ddof=1) / math.sqrt(n)
    return mean, mean - half, mean + half


def aligned(logs: Sequence[dict[str, np.ndarray]], column: str) -> tuple[np.ndarray, np.ndarray]:
    """(frames, values (seeds, frames)) of ``column`` on the frames every log covers
    (linear interpolation between logged points; rows where the column is empty skipped)."""
    series = []
    for log in logs:
        keep = ~np.isnan(log[column]) if column in log else np.zeros(len(log["frames"]), bool)
        series.append((log["frames"][keep], log[column][keep] if column in log else None))
    if any(len(frames) == 0 for frames, _ in series):
        return np.zeros(0), np.zeros((len(logs), 0))
    low = max(frames[0] for frames, _ in series)
    high = min(frames[-1] for frames, _ in series)
    grid = np.unique(np.concatenate([frames for frames, _ in series]))
    grid = grid[(grid >= low) & (grid <= high)]
    return grid, np.array([np.interp(grid, frames, values) for frames, values in series])


# -- learning curves -------------------------------------------------------------------------


def suite_families(entries: Sequence[str | Path]) -> list[str]:
    """The families of the entries' logs, in their suite's order (from a results file) where
    one is known, then any others in the order first seen."""
    from babyaipp.eval.results import load_results

    order: list[str] = []
    for entry in entries:
        files = sorted(p for p in Path(entry).glob("*.json") if p.name != "metadata.json")
        if files:
            order = list(load_results(files[0])["suite"]["families"])
            break
    logged = [f for e in entries for f in entry_logs(e)]
    return list(dict.fromkeys([f for f in order if f in logged] + logged))


def learning_curves(
    entries: Sequence[str | Path], path: str | Path, *, columns: int | None = None
) -> Path:
    """Write a PNG of success vs frames (see the module doc) for ``entries``; return it.

    One panel per family in the suite's order (``columns`` wide; default: up to 3 in a row,
    a square-ish grid beyond); each panel's title says how many seeds the entries have there
    (an entry still training may have fewer seeds in some families).
    """
    from matplotlib.figure import Figure

    logs = {Path(e).name: entry_logs(e) for e in entries}
    families = suite_families(entries)
    if columns is None:
        columns = len(families) if len(families) <= 3 else math.ceil(math.sqrt(len(families)))
    columns = max(1, min(columns, len(families)))
    rows = math.ceil(len(families) / columns)
    size = (max(6.4, 4.6 * columns), 3.4 * rows + 1.0)
    fig = Figure(figsize=size, dpi=100, layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False, sharey=True)
    colours = {name: f"C{i % 10}" for i, name in enumerate(logs)}
    for ax, family in zip(axes.flat, families, strict=False):
        for name, by_family in logs.items():
            by_seed = by_family.get(family)
            if not by_seed:
                continue
            for column, label, style in CURVES:
                frames, values = aligned(list(by_seed.values()), column)
                if not len(frames):
                    continue
                mean, low, high = mean_ci(values)
                ax.plot(frames, mean, style, color=colours[name], label=f"{name} {label}")
                ax.fill_between(frames, low, high, color=colours[name], alpha=0.15, linewidth=0)
        ax.set_title(f"{family} ({seed_counts(logs, family)})", fontsize=10)
        ax.set_xlabel("frames")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("success")
    for ax in list(axes.flat)[len(families) :]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(2 * columns, 6), fontsize=8)
    fig.suptitle(
        "Success vs frames; solid: HeldOut (greedy evaluation), dashed: Train (last 100\n"
        "training episodes); mean over seeds, shaded: 95% t-interval",
        fontsize=8,
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    path = Path(path)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def seed_counts(logs: dict[str, dict[str, dict[int, Any]]], family: str) -> str:
    """``"3 seeds"`` when every entry has the same number of seeds in ``family``, else the
    counts in the legend's (entry) order: ``"seeds 3, 3, 2"``."""
    counts = [len(by_family.get(family, {})) for by_family in logs.values()]
    if len(set(counts)) == 1:
        return f"{counts[0]} seeds"
    return "seeds " + ", ".join(map(str, counts))


# -- the results table -----------------------------------------------------------------------


def entry_table_rows(entry: str | Path, suite=None) -> dict[str, Any]:
    """Per split and metric of an entry: the per-seed values (mean over families), their mean
    and standard error; plus the entry's name, runs and ``uses_text``."""
    from babyaipp.eval.results import load_results

    runs = [load_results(p, suite=suite) for p in results_files(entry)]
    suite_dict = runs[0]["suite"]
    for path, run in zip(results_files(entry), runs, strict=True):
        if run["suite"]["sha256"] != suite_dict["sha256"]:
            raise ValueError(f"{path}: another suite than the entry's other runs")
    cells: dict[str, dict[str, Any]] = {}
    families = suite_dict["families"]
    for split in suite_dict["splits"]:
        for metric in TABLE_METRICS:
            values = np.array(
                [
                    np.mean([r["aggregates"]["envs"][f"{f}/{split}"][metric] for f in families])
                    for r in runs
                ]
            )
            se = values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else None
            cells[f"{split}/{metric}"] = {
                "values": values.tolist(),
                "mean": float(values.mean()),
                "se": None if se is None else float(se),
            }
    return {
        "name": Path(entry).name,
        "runs": len(runs),
        "uses_text": runs[0]["policy"]["uses_text"],
        "suite": suite_dict,
        "cells": cells,
    }


def _pm(cell: dict[str, Any], digits: int) -> str:
    if cell is None:
        return "—"
    if cell["se"] is None:
        return f"{cell['mean']:.{digits}f}"
    return f"{cell['mean']:.{digits}f} ± {cell['se']:.{digits}f}"


def results_table(entries: Sequence[str | Path], suite=None) -> str:
    """The results table as markdown (see the module doc); one row per entry."""
    rows = [entry_table_rows(e, suite) for e in entries]
    if not rows:
        raise ValueError("no entries to tabulate")
    suite_dict = rows[0]["suite"]
    if any(r["suite"]["sha256"] != suite_dict["sha256"] for r in rows):
        raise ValueError("the entries were evaluated on different suites")
    splits = [s for s in SPLITS if s in suite_dict["splits"]]
    digits = {"success": 3, "return": 3, "length": 1}
    headers = ["Model", "Text", "Seeds"] + [
        f"{split} {metric}" for split in splits for metric in TABLE_METRICS
    ]
    lines = [
        f"Suite `{suite_dict['name']}` v{suite_dict['version']} "
        f"({', '.join(suite_dict['families'])}; {suite_dict['episodes']} greedy episodes per "
        "family and split). Each cell: mean ± standard error over training seeds of the mean "
        "over families; return is the unscaled env reward, length in steps.",
        "",
        "| " + " | ".join(headers) + " |",
        "|" + "|".join(["---"] * 3 + ["---:"] * (len(headers) - 3)) + "|",
    ]
    for row in rows:
        cells = [row["name"], "yes" if row["uses_text"] else "no", str(row["runs"])]
        cells += [
            _pm(row["cells"].get(f"{split}/{metric}"), digits[metric])
            for split in splits
            for metric in TABLE_METRICS
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# -- the reading probe -----------------------------------------------------------------------


def probe_entries(
    entries: Sequence[str | Path],
    *,
    episodes: int = 100,
    split: str = "HeldOut",
    families: Sequence[str] | None = None,
    seed_start: int | None = None,
) -> list[dict[str, Any]]:
    """The reading probe for every run (results file) of every entry and every family.

    Each run's policy is rebuilt from its results file's spec; a per-family policy
    (``checkpoints:``) is probed with its agent for each family. Episodes use the seeds of
    the run's suite (``seed_start`` to change), on the family's ``split``. Returns one row per
    (entry, run, family) with the probe's per-mode summary; :func:`pooled_probe` pools them.
    """
    import babyaipp
    from babyaipp.eval.policies import policy_from_spec
    from babyaipp.oracle.probe import probe

    rows = []
    for entry in map(Path, entries):
        for path in results_files(entry):
            results = json.loads(path.read_text(encoding="utf-8"))
            spec = results["policy"]["spec"]
            if not spec:
                raise ValueError(f"{path}: no policy spec, so its policy cannot be probed")
            policy = policy_from_spec(spec, base_dir=entry)
            start = results["suite"]["seed_start"] if seed_start is None else seed_start
            seeds = range(start, start + episodes)
            chosen = families or results["suite"]["families"]
            route = getattr(policy, "for_family", None)
            for family in chosen:
                env_id = babyaipp.get_family(family).env_id(split)
                if route is not None:  # its agents play greedily: one instance serves all
                    member = route(family)  # modes, and any number of sub-envs at once
                    result = probe(lambda member=member: member, env_id, seeds, num_envs=16)
                else:  # a fresh policy per mode, so a seeded one draws the same numbers
                    fresh = functools.partial(policy_from_spec, spec, base_dir=entry)
                    result = probe(fresh, env_id, seeds)
                rows.append(
                    {
                        "entry": entry.name,
                        "run": path.stem,
                        "family": family,
                        "env_id": env_id,
                        "uses_text": bool(policy.uses_text),
                        "modes": result["modes"],
                        "success": {
                            mode: [float(e["success"]) for e in eps]
                            for mode, eps in result["episodes"].items()
                        },
                    }
                )
    return rows


def pooled_probe(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per entry and text mode: success and the paired success drop against the true text
    over every (run, family, seed) of the entry, with a 95% bootstrap interval."""
    from babyaipp.oracle.probe import paired_interval

    pooled: dict[str, dict[str, Any]] = {}
    for entry in dict.fromkeys(r["entry"] for r in rows):
        mine = [r for r in rows if r["entry"] == entry]
        reference = np.concatenate([r["success"]["full"] for r in mine])
        modes = {}
        for mode in mine[0]["success"]:
            success = np.concatenate([r["success"][mode] for r in mine])
            drop = reference - success
            low, high = paired_interval(drop)
            modes[mode] = {
                "success": float(success.mean()),
                "drop": float(drop.mean()),
                "drop_ci": [low, high],
            }
        pooled[entry] = {
            "runs": len({r["run"] for r in mine}),
            "families": len({r["family"] for r in mine}),
            "episodes": len(reference),
            "uses_text": mine[0]["uses_text"],
            "modes": modes,
        }
    return pooled


def probe_table(rows: Sequence[dict[str, Any]], split: str = "HeldOut") -> str:
    """The pooled probe as markdown: one row per entry."""
    pooled = pooled_probe(rows)
    lines = [
        f"Reading probe on {split}: the same episodes with the true description, the "
        "properties shuffled across colours, and no description; drop = success with the "
        "true text minus success in that mode, paired by episode, pooled over runs and "
        "families, with a 95% bootstrap interval.",
        "",
        "| Model | Text | Runs × families × episodes | true text | shuffled | drop [95% CI] | "
        "no text | drop [95% CI] |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for entry, row in pooled.items():
        cells = [entry, "yes" if row["uses_text"] else "no"]
        per_run = row["episodes"] // max(1, row["runs"] * row["families"])
        cells.append(f"{row['runs']} × {row['families']} × {per_run}")
        cells.append(f"{row['modes']['full']['success']:.3f}")
        for mode in ("shuffled", "none"):
            item = row["modes"].get(mode)
            if item is None:
                cells += ["—", "—"]
                continue
            low, high = item["drop_ci"]
            cells += [f"{item['success']:.3f}", f"{item['drop']:+.3f} [{low:+.3f}, {high:+.3f}]"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# -- a quick verification --------------------------------------------------------------------


def spot_check(
    entry: str | Path, *, episodes: int = 5, vectorization: str = "sync"
) -> dict[str, int]:
    """Re-play, for every run of ``entry``, the first ``episodes`` episodes of each sub-env's
    seed block in every (family, split), with the recorded ``num_envs`` and ``greedy``.

    Sub-env i plays the same first episodes as in the full run, so for a greedy policy whose
    action in a row depends only on that row's observations and memory (the trained agents)
    the re-played episodes must equal the recorded ones exactly (what ``babyaipp leaderboard
    verify`` checks on all of them). Not for sampled runs, nor for a policy that draws from
    one generator across the whole run (``random``): it matches on the suite's first env only.
    Returns ``{run file: episodes compared}``; ValueError naming the run, env and seed of the
    first difference, or a changed checkpoint hash.
    """
    from babyaipp.eval.policies import policy_from_spec
    from babyaipp.eval.results import diff, load_results
    from babyaipp.eval.runner import assign_seeds, run_env
    from babyaipp.eval.suites import suite_from_dict

    if episodes < 1:
        raise ValueError(f"episodes={episodes} must be at least 1")
    entry = Path(entry)
    compared = {}
    for path in results_files(entry):
        results = load_results(path)
        spec, run = results["policy"]["spec"], results["run"]
        if not spec:
            raise ValueError(f"{path}: no policy spec, so the run cannot be re-played")
        if not run["greedy"]:
            raise ValueError(f"{path}: a sampled run; only `babyaipp leaderboard verify` checks it")
        policy = policy_from_spec(spec, base_dir=entry)
        if getattr(policy, "checkpoint_sha256", None) != results["policy"]["checkpoint_sha256"]:
            raise ValueError(f"{path}: the checkpoint of {spec!r} is not the one evaluated")
        suite = suite_from_dict(results["suite"], str(path))
        blocks = assign_seeds(suite.seeds(), min(run["num_envs"], suite.episodes))
        seeds = [seed for block in blocks for seed in block[: min(episodes, len(blocks[-1]))]]
        recorded = {(e["family"], e["split"], e["seed"]): e for e in results["episodes"]}
        count = 0
        for family, split in suite.envs:
            played = run_env(
                policy,
                family,
                split,
                seeds,
                num_envs=len(blocks),
                greedy=run["greedy"],
                vectorization=vectorization,
            )
            for episode in played:
                differences = diff(recorded[(family, split, episode["seed"])], episode)
                if differences:
                    raise ValueError(
                        f"{path}: {family}/{split} seed {episode['seed']} differs when "
                        f"re-played (file != re-played: {'; '.join(differences[:3])}); a "
                        "spot check is exact only for policies whose rows do not share a "
                        "random generator: `babyaipp leaderboard verify` re-plays everything"
                    )
                count += 1
        compared[path.name] = count
    return compared
