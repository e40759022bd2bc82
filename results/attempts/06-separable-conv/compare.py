"""Attempt 6: full vs separable grid convolutions, per (model, family), at 3 training seeds.

Run from the repository root: python results/attempts/06-separable-conv/compare.py

"full" is the leaderboard-v2 table's runs (results/reproduce, grid_conv full), "separable" the
runs of train_eval.sh (same recipe, grid_conv separable); both evaluated greedily on the
family's 500 leaderboard-v2 episodes per split. Prints a markdown table: per split, each
seed's success, the mean ± s.e. over seeds, and Welch's t-test p-value of the difference.
"""

from __future__ import annotations

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
    ("film", "GoToRedBall-v1"),
    ("floor-reader", "GoToRedBall-v1"),
]


def success(path: Path, family: str) -> list[float]:
    envs = json.loads(path.read_text())["aggregates"]["envs"]
    return [envs[f"{family}/{split}"]["success"] for split in SPLITS]


def mean_se(values: list[float]) -> str:
    se = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else float("nan")
    return f"{statistics.mean(values):.3f} ± {se:.3f}"


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
        for i, split in enumerate(SPLITS):
            a, b = [r[i] for r in full], [r[i] for r in separable]
            p = stats.ttest_ind(a, b, equal_var=False).pvalue if len(b) > 1 else float("nan")
            print(
                f"| {model} | {family} | {split} | {', '.join(f'{x:.3f}' for x in a)} | "
                f"{mean_se(a)} | {', '.join(f'{x:.3f}' for x in b)} | {mean_se(b)} | {p:.2f} |"
            )


if __name__ == "__main__":
    main()
