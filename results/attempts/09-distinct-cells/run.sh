#!/usr/bin/env bash
# Attempt 9: does the code that embeds each distinct grid cell once in the update (with fused
# Adam, GridHead and one text-encoder call) learn what attempt 8's code learnt? First the small
# preset (200k frames on GoToRedBall-Train-v0, seeds 1-3, logs kept as small-seedSEED.csv;
# attempt 8's small-after-seedSEED.csv are the "before"), then attempt 6's train_eval.sh (the
# table's recipe) for cross-attention and tile-reader on GoToRedBall-v1, seeds 1-3, two runs at
# a time, with runs/, checkpoints/ and results/ in this folder. Resumable: finished runs are
# skipped. Run from the repository root: bash results/attempts/09-distinct-cells/run.sh
set -euo pipefail
export ATTEMPT_DIR=results/attempts/09-distinct-cells
small() {
  local seed=$1 kept=$ATTEMPT_DIR/small-seed$1.csv
  [[ -f $kept ]] && return
  babyaipp train --preset small --model cross-attention --env-id BabyAIPP-GoToRedBall-Train-v0 \
    --seed "$seed" --env-backend batched --run-dir "$ATTEMPT_DIR/runs/small" \
    --run-name "seed$seed" --no-progress > /dev/null
  cp "$ATTEMPT_DIR/runs/small/seed$seed/progress.csv" "$kept"
}
export -f small
printf '%s\n' 1 2 3 | xargs -P 2 -I{} bash -c 'small {}'
for seed in 1 2 3; do
  for model in cross-attention tile-reader; do echo "$model GoToRedBall-v1 $seed"; done
done | xargs -P 2 -L 1 bash results/attempts/06-separable-conv/train_eval.sh
