#!/usr/bin/env bash
# Attempt 8: does the code that reads once per (description, cell kind) in the update, with
# fused Adam, learn what attempt 6's separable runs (the same recipe, code of 6f0b9ef) learnt?
# Re-runs attempt 6's train_eval.sh for the same (model, family, seed)s, two at a time, with
# runs/, checkpoints/ and results/ in this folder. Resumable: finished runs are skipped.
# Run from the repository root: bash results/attempts/08-read-once/run.sh
set -euo pipefail
export ATTEMPT_DIR=results/attempts/08-read-once
for seed in 1 2 3; do
  for pair in cross-attention:GoToRedBall-v1 cross-attention:GoToRedBallHard-v1 \
    tile-reader:GoToRedBall-v1; do
    echo "${pair%%:*} ${pair##*:} $seed"
  done
done | xargs -P 2 -L 1 bash results/attempts/06-separable-conv/train_eval.sh
