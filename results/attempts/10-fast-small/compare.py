"""Attempt 10: the small preset before (16 envs, 4 minibatches of 128 frames; 2dee562's code)
and two candidates with this attempt's code, 32 envs in 8 minibatches of 128 frames ("after")
and in 4 of 256 ("minibatch256"); cross-attention on GoToRedBall-Train-v0, 200k frames, 6
seeds each.

Run from the repository root: python results/attempts/10-fast-small/compare.py

Per arm: each seed's final training success (the last 100 episodes), its final periodic
HeldOut evaluation (100 greedy episodes) and the mean of all its periodic HeldOut evaluations
(both arms evaluate every 5,120 frames, so this is the area under the same curve: how fast it
learns); mean ± s.e. and Welch's t-test p-value. Before: attempt 9's small-seed1-3.csv (the
same trainer as 2dee562) and before-seed4-6.csv here.
"""

from __future__ import annotations

import csv
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "06-separable-conv"))
from compare import mean_se, welch_p  # noqa: E402

BEFORE = [HERE.parent / "09-distinct-cells" / f"small-seed{s}.csv" for s in (1, 2, 3)] + [
    HERE / f"before-seed{s}.csv" for s in (4, 5, 6)
]
ARMS = {
    arm: [HERE / f"{arm}-seed{s}.csv" for s in range(1, 7)] for arm in ("after", "minibatch256")
}


def column(log: Path, name: str) -> list[float]:
    """The logged values of ``name`` (rows without one, between evaluations, left out)."""
    return [float(row[name]) for row in csv.DictReader(log.open()) if row[name] != ""]


MEASURES = {
    "final training success": lambda log: column(log, "success")[-1],
    "final HeldOut evaluation": lambda log: column(log, "eval_success")[-1],
    "mean HeldOut evaluation over the run": lambda log: statistics.mean(
        column(log, "eval_success")
    ),
}


def main() -> None:
    before = [p for p in BEFORE if p.is_file()]
    for arm, logs in ARMS.items():
        after = [p for p in logs if p.is_file()]
        if not after:
            continue
        print(f"| measure | before ({len(before)} seeds) | mean ± s.e. | {arm} ({len(after)} "
              "seeds) | mean ± s.e. | p |")  # fmt: skip
        print("|---|---|---:|---|---:|---:|")
        for name, measure in MEASURES.items():
            a, b = [measure(log) for log in before], [measure(log) for log in after]
            cells = [" / ".join(f"{x:.2f}" for x in xs) for xs in (a, b)]
            print(
                f"| {name} | {cells[0]} | {mean_se(a)} | {cells[1]} | {mean_se(b)} "
                f"| {welch_p(a, b):.2f} |"
            )
        print()


if __name__ == "__main__":
    main()
