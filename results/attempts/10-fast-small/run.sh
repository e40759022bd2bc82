#!/usr/bin/env bash
# Attempt 10: does a small preset of 32 envs in 8 minibatches of 128 frames ("after"), with
# this attempt's code (the allocator kept, the update's LSTM and loss in fewer operators), learn
# what the small preset before it learnt? (The adopted preset is the third arm below.) 200k frames of cross-attention on GoToRedBall-Train-v0, `--preset small` as each
# commit defines it. Before: the code of 2dee562, seeds 4-6 here (seeds 1-3 are attempt 9's
# small-seedSEED.csv, the same trainer); after: this commit, seeds 1-6. Logs kept as
# before-seedSEED.csv / after-seedSEED.csv; two runs at a time; finished runs are skipped.
# ARMS="minibatch256" runs the third arm instead: 32 envs in 4 minibatches of 256 frames (half
# the gradient steps per frame; the small preset since), seeds 1-6, as minibatch256-seedSEED.csv.
# Run from the repository root, with the old commit as a worktree (as attempt 8's speed.sh):
#   git worktree add /tmp/old_2dee562 2dee562
#   ln -s ../agents /tmp/old_2dee562/babyaipp/agents; ln -s ../levels /tmp/old_2dee562/babyaipp/levels
#   bash results/attempts/10-fast-small/run.sh
set -euo pipefail
export ATTEMPT_DIR=results/attempts/10-fast-small OLD=${OLD:-/tmp/old_2dee562}
small() {
  local arm=$1 seed=$2 kept=$ATTEMPT_DIR/$1-seed$2.csv path=
  [[ -f $kept ]] && return
  [[ $arm == before ]] && path=$OLD
  local extra=()
  [[ $arm == minibatch256 ]] && extra=(--num-minibatches 4)  # the preset's value since
  [[ $arm == after ]] && extra=(--num-minibatches 8)  # what `small` was at this arm's commit
  PYTHONPATH=$path babyaipp train --preset small "${extra[@]}" --model cross-attention \
    --env-id BabyAIPP-GoToRedBall-Train-v0 --seed "$seed" --env-backend batched \
    --run-dir "$ATTEMPT_DIR/runs/$arm" --run-name "seed$seed" --no-progress > /dev/null
  cp "$ATTEMPT_DIR/runs/$arm/seed$seed/progress.csv" "$kept"
}
export -f small
if [[ ${ARMS:-} == minibatch256 ]]; then
  for seed in 1 2 3 4 5 6; do echo "minibatch256 $seed"; done
else
  for seed in 1 2 3 4 5 6; do echo "after $seed"; [[ $seed -gt 3 ]] && echo "before $seed"; done
fi | xargs -P 2 -L 1 bash -c 'small "$@"' _
