"""The per-model speed table of docs/results.md from the speed-MODEL.log files here.

Run from the repository root: python results/attempts/07-warm-speed/table.py
"""

import re
from pathlib import Path

HERE = Path(__file__).parent
MODELS = ("image", "concat", "film", "attention", "cross-attention", "floor-reader", "tile-reader")
TRAINERS = ("ours (LSTM)", "ours (no memory)", "sb3", "ours (LSTM, full grid conv)")

print(
    "| model | rounds: ours, LSTM | ours, LSTM (the default run) | ours, no memory | SB3 PPO "
    "| ratio to SB3 | ours, LSTM, full convs | separable vs full |"
)
print("|---|---|---:|---:|---:|---:|---:|---:|")
for model in MODELS:
    log = (HERE / f"speed-{model}.log").read_text()
    rounds = re.findall(r"round \d+: ours \(LSTM\) (\d+) fps", log)
    median = {
        name: float(re.search(rf"  {re.escape(name)}: (\d+) frames/s", log).group(1))
        for name in TRAINERS
    }
    lstm, full = median["ours (LSTM)"], median["ours (LSTM, full grid conv)"]
    print(
        f"| {model} | {' / '.join(f'{int(r):,}' for r in rounds)} | {lstm:,.0f} "
        f"| {median['ours (no memory)']:,.0f} | {median['sb3']:,.0f} "
        f"| {lstm / median['sb3']:.2f}× | {full:,.0f} | {lstm / full:.2f}× |"
    )
