#!/usr/bin/env bash
# Attempt 8, item 5: frames/s of cross-attention before (6f0b9ef) and after reading once per
# (description, cell kind) in the update and fusing Adam, alternating, on an idle machine:
# the table's settings (64 envs x 64 steps, GoToRedBall-v1) and the small preset's (16 envs x
# 32 steps, learning rate 1e-3, GoToRedBall-v0); then benchmarks/train_speed.py against SB3.
# Run from the repository root, with the old commit as a worktree (its agents/ and levels/
# linked into the package, as the editable install maps them):
#   git worktree add /tmp/old_6f0b9ef 6f0b9ef
#   ln -s ../agents /tmp/old_6f0b9ef/babyaipp/agents; ln -s ../levels /tmp/old_6f0b9ef/babyaipp/levels
#   bash results/attempts/08-read-once/speed.sh
# OLD=<worktree> HERE=<folder> ROUNDS=<n> measure another pair (attempt 9 uses them).
set -euo pipefail
here=${HERE:-results/attempts/08-read-once}
steady() { python results/attempts/07-warm-speed/steady_fps.py "$@" 2>&1 | grep -v Warning; }
old=${OLD:-/tmp/old_6f0b9ef}
small=(num_envs=16 num_steps=32 learning_rate=0.001)
{
  for round in $(seq "${ROUNDS:-2}"); do
    echo "round $round"
    PYTHONPATH=$old steady BabyAIPP-GoToRedBall-Train-v1 32768 1
    steady BabyAIPP-GoToRedBall-Train-v1 32768 1
    PYTHONPATH=$old steady BabyAIPP-GoToRedBall-Train-v0 16384 1 "${small[@]}"
    steady BabyAIPP-GoToRedBall-Train-v0 16384 1 "${small[@]}"
  done
} | tee $here/steady.log
PER_MODEL_DIR=$here bash results/attempts/07-warm-speed/per_model.sh cross-attention
