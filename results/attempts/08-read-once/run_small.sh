#!/usr/bin/env bash
# Attempt 8 at the small preset: cross-attention on GoToRedBall-Train-v0, the preset's 200k
# frames and periodic HeldOut evaluation, seeds 1-3, with the code of 6f0b9ef ("before", from
# the worktree of speed.sh) and this code ("after"); each run's log is kept here as
# small-{before,after}-seedSEED.csv. Skips runs whose log is kept. Run from the repository root:
#   bash results/attempts/08-read-once/run_small.sh
set -euo pipefail
here=results/attempts/08-read-once
root=$(pwd)
for seed in 1 2 3; do
  for code in before after; do
    kept=$here/small-$code-seed$seed.csv
    [[ -f $kept ]] && continue
    code_dir=$([[ $code == before ]] && echo /tmp/old_6f0b9ef || pwd)
    # python -m puts the working directory first on sys.path: run from the code's folder
    (cd "$code_dir" && python -m babyaipp train --preset small --model cross-attention \
      --env-id BabyAIPP-GoToRedBall-Train-v0 --seed "$seed" --env-backend batched \
      --run-dir "$root/$here/runs/small-$code" --run-name "seed$seed" --no-progress > /dev/null)
    cp "$here/runs/small-$code/seed$seed/progress.csv" "$kept"
  done
done
