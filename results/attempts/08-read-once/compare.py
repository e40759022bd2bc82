"""Attempt 8: attempt 6's separable runs (code of 6f0b9ef) against the same runs with reading
once per (description, cell kind) in the update and fused Adam, at 3 training seeds.

Run from the repository root: python results/attempts/08-read-once/compare.py

Both are the recipe of attempt 6's train_eval.sh (the table's, separable grid convolutions),
evaluated greedily on the family's 500 leaderboard-v2 episodes per split. Prints, per split,
each seed's success, the mean ± s.e. over seeds and Welch's t-test p-value of the difference;
then training success (the last 100 episodes of the run's log) at 205k, 410k and 614k frames,
mean over the seeds, before / after.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

HERE = Path(__file__).parent
BEFORE = HERE.parent / "06-separable-conv"
sys.path.insert(0, str(BEFORE))
from compare import EARLY_FRAMES, print_splits, success, training_success  # noqa: E402

PAIRS = [
    ("cross-attention", "GoToRedBall-v1"),
    ("cross-attention", "GoToRedBallHard-v1"),
    ("tile-reader", "GoToRedBall-v1"),
]


def runs(folder: Path, model: str, family: str, suffix: str) -> list[Path]:
    kind = "results" if suffix == ".json" else "checkpoints"
    paths = [folder / kind / f"{model}-{family}-seed{s}{suffix}" for s in (1, 2, 3)]
    return [path for path in paths if path.is_file()]


def main() -> None:
    print("| model | family | split | before: seeds 1-3 | before | after: seeds | after | p |")
    print("|---|---|---|---|---:|---|---:|---:|")
    for model, family in PAIRS:
        before = [success(p, family) for p in runs(BEFORE, model, family, ".json")]
        after = [success(p, family) for p in runs(HERE, model, family, ".json")]
        if not after:
            continue
        print_splits(model, family, before, after)
    print("\n| model, family | " + " | ".join(f"{f // 1000}k frames" for f in EARLY_FRAMES) + " |")
    print("|---|" + "---|" * len(EARLY_FRAMES))
    for model, family in PAIRS:
        logs = [runs(folder, model, family, ".csv") for folder in (BEFORE, HERE)]
        if not logs[1]:
            continue
        cells = [
            " / ".join(
                f"{statistics.mean(training_success(log, frames) for log in group):.2f}"
                for group in logs
            )
            for frames in EARLY_FRAMES
        ]
        print(f"| {model}, {family} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
