#!/usr/bin/env bash
# Attempt 10, item 5: frames/s of cross-attention before (2dee562) and after, alternating, on
# an idle machine, with 07-warm-speed/steady_fps.py (no periodic evaluation): the small
# preset's settings before (16 envs, 4 minibatches) and after (32 envs, 4 minibatches) on
# GoToRedBall-v0, and the table's (64 envs x 64 steps) on GoToRedBall-v1; then
# benchmarks/train_speed.py at the new small preset's settings (its defaults) against SB3 PPO.
# Run from the repository root with the old commit as a worktree (see run.sh):
#   ROUNDS=3 bash results/attempts/10-fast-small/speed.sh
set -euo pipefail
here=results/attempts/10-fast-small old=${OLD:-/tmp/old_2dee562}
steady() { python results/attempts/07-warm-speed/steady_fps.py "$@" 2>&1 | grep -v Warning; }
small_before=(num_envs=16 num_steps=32 num_minibatches=4 learning_rate=0.001)
small_after=(num_envs=32 num_steps=32 num_minibatches=4 learning_rate=0.001)
{
  for round in $(seq "${ROUNDS:-3}"); do
    echo "round $round"
    for settings in small_before small_after; do
      declare -n values=$settings
      echo "$settings"
      PYTHONPATH=$old steady BabyAIPP-GoToRedBall-Train-v0 16384 1 "${values[@]}"
      steady BabyAIPP-GoToRedBall-Train-v0 16384 1 "${values[@]}"
    done
    echo "table"
    PYTHONPATH=$old steady BabyAIPP-GoToRedBall-Train-v1 32768 1
    steady BabyAIPP-GoToRedBall-Train-v1 32768 1
  done
} | tee $here/steady.log
python benchmarks/train_speed.py --env-backend batched --vector-mode sync --frames 16384 --rounds 2 2>&1 | grep -v Warning | tee $here/speed-small.log
