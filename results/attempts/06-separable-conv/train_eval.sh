#!/usr/bin/env bash
# Attempt 6: does a model with separable grid convolutions learn what the table's (full 3x3)
# model learnt? One (model, family, seed) run of the table's recipe (docs/results.md "The
# table": preset small, 64 envs x 64 steps, learning rate 3e-4, 1M frames, batched engine)
# with --grid-conv separable; resumes a killed run, keeps the final weights and the log under
# checkpoints/ (committed), then evaluates those weights greedily on that family of
# leaderboard-v2 (500 episodes per split, the suite's seeds) into results/.
# Run from the repository root:
#   bash results/attempts/06-separable-conv/train_eval.sh MODEL FAMILY SEED
# ATTEMPT_DIR=<folder> puts runs/, checkpoints/ and results/ there instead (attempt 8 re-runs
# this recipe with later code).
set -euo pipefail
model=$1 family=$2 seed=$3
here=${ATTEMPT_DIR:-results/attempts/06-separable-conv}
run=$here/runs/$model/seed$seed/$family  # (runs/ is not committed)
kept=$here/checkpoints/$model-$family-seed$seed
results=$here/results/$model-$family-seed$seed.json
if [[ ! -f $kept.pt ]]; then
  resume=()
  if [[ -f $run/checkpoint.pt ]]; then resume=(--resume "$run/checkpoint.pt"); fi
  babyaipp train --preset small --env-id "BabyAIPP-${family%-v1}-Train-v1" --model "$model" \
    --grid-conv separable --seed "$seed" --total-frames 1000000 --num-envs 64 --num-steps 64 \
    --learning-rate 0.0003 --eval-interval 25 --env-backend batched \
    --run-dir "$here/runs/$model/seed$seed" --run-name "$family" --no-progress "${resume[@]}"
  mkdir -p "$here/checkpoints"
  cp "$run/progress.csv" "$kept.csv"
  python -c "import sys; from babyaipp.agents.reproduce import weights_only; \
from babyaipp.io import atomic_write_bytes; atomic_write_bytes(sys.argv[2], weights_only(sys.argv[1]))" \
    "$run/checkpoint.pt" "$kept.pt"
fi
if [[ ! -f $results ]]; then
  babyaipp evaluate "checkpoint:$kept.pt" --suite leaderboard-v2 --families "$family" \
    --num-envs 16 --vectorization sync --no-progress --out "$results"
fi
