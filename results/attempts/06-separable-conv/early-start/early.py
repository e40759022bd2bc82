"""Attempt 6b: training success (last 100 episodes) at 102k-410k frames, each seed and the mean.

Run from the repository root: python results/attempts/06-separable-conv/early-start/early.py
Rows: the table's full-conv runs, attempt 6's separable runs, and the candidates here.
"""

import statistics
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
from compare import ENTRIES, training_success  # noqa: E402  (attempt 6's script, one folder up)

FRAMES = (102_400, 204_800, 307_200, 409_600)
GROUPS = {
    "full (the table)": sorted((ENTRIES / "ppo-cross-attention").glob("seed*/GoToRedBall-v1.csv")),
    "separable (attempt 6)": sorted(
        HERE.parent.glob("checkpoints/cross-attention-GoToRedBall-v1-seed*.csv")
    ),
    **{conv: sorted(HERE.glob(f"{conv}-seed*.csv")) for conv in ("separable-x3", "separable-gain")},
}


print("| grid conv | runs | " + " | ".join(f"{f // 1000}k frames" for f in FRAMES) + " |")
print("|---|---|" + "---|" * len(FRAMES))
for name, paths in GROUPS.items():
    cells = []
    for frames in FRAMES:
        values = [training_success(path, frames) for path in paths]
        seeds = ", ".join(f"{v:.2f}" for v in values)
        cells.append(f"{seeds} (**{statistics.mean(values):.2f}**)" if values else "")
    print(f"| {name} | {len(paths)} | " + " | ".join(cells) + " |")
