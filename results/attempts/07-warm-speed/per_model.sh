#!/usr/bin/env bash
# Item 5: frames/s of every model at the table's settings on this 2-core machine (batched
# engine, one torch thread), ours against SB3 PPO in the same rounds, with the benchmark's
# untimed warm-up. One log per model here. Run from the repository root, on an idle machine:
#   bash results/attempts/07-warm-speed/per_model.sh [MODEL ...]
set -euo pipefail
here=${PER_MODEL_DIR:-results/attempts/07-warm-speed}  # where the logs go
models=("$@")
if [[ ${#models[@]} -eq 0 ]]; then
  models=(image concat film attention cross-attention floor-reader tile-reader)
fi
for model in "${models[@]}"; do
  python benchmarks/train_speed.py --env-id BabyAIPP-GoToRedBall-Train-v1 --model "$model" \
    --num-envs 64 --num-steps 64 --env-backend batched --vector-mode sync --frames 32768 \
    --rounds 2 --torch-threads 1 --baseline-grid-conv full 2>&1 | grep -v Warning \
    | tee "$here/speed-$model.log"
done
