"""Frames/s of the trainer at the table's settings, for any commit of this repository.

Run: python steady_fps.py ENV_ID FRAMES RUNS [FIELD=VALUE ...] (with the code to measure first
on PYTHONPATH; see docs/results.md, "Training speed"). One untimed 1-iteration run first (the
process's one-time costs), then RUNS timed runs of FRAMES frames, wall-clock of train() each.
Fields a commit's TrainConfig lacks are left out (and printed). Unlike
benchmarks/train_speed.py it needs nothing of the benchmark's own code, so the code before
a change can be measured with today's script.
"""

import ast
import dataclasses
import sys
import tempfile
import time

import babyaipp
from babyaipp.agents import TrainConfig, train

env_id, frames, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def value(text: str):
    try:
        return ast.literal_eval(text)  # numbers
    except (ValueError, SyntaxError):
        return text  # names


extra = {key: value(text) for key, text in (arg.split("=", 1) for arg in sys.argv[4:])}
table = dict(  # the leaderboard-v2 table's recipe (docs/results.md), no periodic evaluation
    env_id=env_id, model="cross-attention", dim=32, num_envs=64, num_steps=64, recurrence=8,
    num_minibatches=4, update_epochs=4, learning_rate=3e-4, env_backend="batched",
    torch_threads=1, eval_env_id="none", checkpoint_interval=10**9, progress=False,
)  # fmt: skip
fields = {f.name for f in dataclasses.fields(TrainConfig)}
settings = {**table, **extra, "run_dir": tempfile.mkdtemp()}
missing = sorted(set(settings) - fields)
print(babyaipp.__file__, extra, f"(not in this TrainConfig: {missing})" if missing else "")
settings = {key: value for key, value in settings.items() if key in fields}
train(TrainConfig(**{**settings, "total_frames": 4096}))
fps = []
for _ in range(runs):
    start = time.perf_counter()
    summary = train(TrainConfig(**{**settings, "total_frames": frames}))
    fps.append(summary["frames"] / (time.perf_counter() - start))
print("frames/s:", " / ".join(f"{x:,.0f}" for x in fps))
