"""Attempt 9: attempt 8's code (the "before") against this attempt's, at 3 training seeds.

Run from the repository root: python results/attempts/09-distinct-cells/compare.py

First the small preset (cross-attention, GoToRedBall-Train-v0, 200k frames): per seed, the
final training success (the last 100 episodes) and the final periodic HeldOut evaluation (100
episodes), before / after, mean and Welch's t-test p-value. Then the table's recipe, printed
by attempt 8's compare.py with attempt 8's runs as "before" and this folder's as "after".
"""

from __future__ import annotations

import csv
import importlib.util
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).parent
BEFORE = HERE.parent / "08-read-once"
sys.path.insert(0, str(HERE.parent / "06-separable-conv"))
from compare import welch_p  # noqa: E402


def final(log: Path, column: str) -> float:
    """The last logged value of ``column`` (empty between periodic evaluations)."""
    values = [row[column] for row in csv.DictReader(log.open()) if row[column] != ""]
    return float(values[-1])


def small_preset() -> None:
    print("| small preset | before: seeds 1-3 | mean | after: seeds 1-3 | mean | p |")
    print("|---|---|---:|---|---:|---:|")
    for column, name in (
        ("success", "final training success"),
        ("eval_success", "final HeldOut evaluation"),
    ):
        before = [final(BEFORE / f"small-after-seed{s}.csv", column) for s in (1, 2, 3)]
        after = [final(log, column) for log in sorted(HERE.glob("small-seed*.csv"))]
        if not after:
            return
        p = welch_p(before, after)
        cells = [" / ".join(f"{x:.2f}" for x in xs) for xs in (before, after)]
        means = [f"{statistics.mean(xs):.3f}" for xs in (before, after)]
        print(f"| {name} | {cells[0]} | {means[0]} | {cells[1]} | {means[1]} | {p:.2f} |")


def table_recipe() -> None:
    spec = importlib.util.spec_from_file_location("compare8", BEFORE / "compare.py")
    compare8 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compare8)
    compare8.BEFORE, compare8.HERE = BEFORE, HERE
    compare8.PAIRS = [("cross-attention", "GoToRedBall-v1"), ("tile-reader", "GoToRedBall-v1")]
    print()
    compare8.main()


if __name__ == "__main__":
    small_preset()
    table_recipe()
