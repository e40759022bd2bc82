"""Attempt 6: full vs separable grid convolutions, per (model, family), at 3 training seeds.

Run from the repository root: python results/attempts/06-separable-conv/compare.py

"full" is the leaderboard-v2 table's runs (results/reproduce, grid_conv full), "separable" the
runs of train_eval.sh (same recipe, grid_conv separable); both evaluated greedily on the
family's 500 leaderboard-v2 episodes per split. Prints a markdown table: per split, each
seed's success, the mean ± s.e. over seeds, and Welch's t-test p-value of the difference.
Then how fast each got there: training success (the last 100 episodes of the run's log) at
205k, 410k and 614k frames, mean over the seeds, full / separable.
"""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

from scipy import stats

HERE = Path(__file__).parent
ENTRIES = Path("results/reproduce/leaderboard/entries")
SPLITS = ("Train", "HeldOut", "Test")
PAIRS = [
    ("cross-attention", "GoToRedBall-v1"),
    ("cross-attention", "GoToRedBallHard-v1"),
    ("tile-reader", "GoToRedBall-v1"),
    ("tile-reader", "GoToRedBallHard-v1"),
    ("image", "GoToRedBall-v1"),
    ("concat", "GoToRedBall-v1"),
    ("film", "GoToRedBall-v1"),
    ("attention", "GoToRedBall-v1"),
    ("floor-reader", "GoToRedBall-v1"),
]


def success(path: Path, family: str) -> list[float]:
    envs = json.loads(path.read_text())["aggregates"]["envs"]
    return [envs[f"{family}/{split}"]["success"] for split in SPLITS]


def mean_se(values: list[float]) -> str:
    se = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else float("nan")
    return f"{statistics.mean(values):.3f} ± {se:.3f}"


def welch_p(a: list[float], b: list[float]) -> float:
    """Welch's t-test p-value of the difference (nan with fewer than two runs in ``b``)."""
    return stats.ttest_ind(a, b, equal_var=False).pvalue if len(b) > 1 else float("nan")


def print_splits(model: str, family: str, a_runs: list, b_runs: list) -> None:
    """One table row per split: each run's success, mean ± s.e. of both, Welch's p."""
    for i, split in enumerate(SPLITS):
        a, b = [r[i] for r in a_runs], [r[i] for r in b_runs]
        p = welch_p(a, b)
        print(
            f"| {model} | {family} | {split} | {', '.join(f'{x:.3f}' for x in a)} | "
            f"{mean_se(a)} | {', '.join(f'{x:.3f}' for x in b)} | {mean_se(b)} | {p:.2f} |"
        )


def main() -> None:
    print("| model | family | split | full: seeds 1-3 | full | separable: seeds | separable | p |")
    print("|---|---|---|---|---:|---|---:|---:|")
    for model, family in PAIRS:
        entry = ENTRIES / f"ppo-{model}"
        full = [success(entry / f"ppo-{model}-seed{s}.json", family) for s in (1, 2, 3)]
        paths = [HERE / "results" / f"{model}-{family}-seed{s}.json" for s in (1, 2, 3)]
        separable = [success(p, family) for p in paths if p.is_file()]
        if not separable:
            continue
        print_splits(model, family, full, separable)


EARLY_FRAMES = (204_800, 409_600, 614_400)


def training_success(log: Path, frames: int) -> float:
    """The logged training success of the first iteration at or past ``frames``."""
    rows = [row for row in csv.DictReader(log.open()) if int(row["frames"]) >= frames]
    return float(min(rows, key=lambda row: int(row["frames"]))["success"])


def early() -> None:
    print("\n| model, family | " + " | ".join(f"{f // 1000}k frames" for f in EARLY_FRAMES) + " |")
    print("|---|" + "---|" * len(EARLY_FRAMES))
    for model, family in PAIRS:
        full = [ENTRIES / f"ppo-{model}" / f"seed{s}" / f"{family}.csv" for s in (1, 2, 3)]
        separable = sorted((HERE / "checkpoints").glob(f"{model}-{family}-seed*.csv"))
        if not separable:
            continue
        cells = [
            " / ".join(
                f"{statistics.mean(training_success(log, frames) for log in logs):.2f}"
                for logs in (full, separable)
            )
            for frames in EARLY_FRAMES
        ]
        print(f"| {model}, {family} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
    early()
