#!/usr/bin/env bash
# Attempt 6b: cross-attention on GoToRedBall-v1 with a candidate grid conv (exp_train.py), the
# table's recipe (1M-frame schedule), stopped once it passes 409,600 frames; its progress.csv
# is copied here as CONV-seedSEED.csv. Run from the repository root:
#   bash results/attempts/06-separable-conv/early-start/run.sh CONV SEED
set -euo pipefail
conv=$1 seed=$2
here=results/attempts/06-separable-conv/early-start
log=$here/runs/$conv/seed$seed/progress.csv  # (runs/ is not committed)
python $here/exp_train.py --preset small --env-id BabyAIPP-GoToRedBall-Train-v1 \
  --model cross-attention --grid-conv "$conv" --seed "$seed" --total-frames 1000000 \
  --num-envs 64 --num-steps 64 --learning-rate 0.0003 --eval-interval 25 --env-backend batched \
  --run-dir "$here/runs/$conv" --run-name "seed$seed" --no-progress &
pid=$!
while kill -0 $pid 2>/dev/null; do
  sleep 10
  if [[ -f $log ]] && awk -F, 'NR > 1 && $2 >= 409600 {done = 1} END {exit !done}' "$log"; then
    kill $pid
  fi
done
cp "$log" "$here/$conv-seed$seed.csv"
