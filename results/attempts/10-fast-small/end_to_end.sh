#!/usr/bin/env bash
# Attempt 10: what a user waits for: `babyaipp train --preset small --env-backend batched`
# (200k frames of cross-attention on GoToRedBall-Train-v0, periodic HeldOut evaluations and
# checkpoints included), wall-clock, 2dee562 (worktree, see run.sh) then this code, one each.
set -euo pipefail
here=results/attempts/10-fast-small old=${OLD:-/tmp/old_2dee562} runs=$(mktemp -d)
for arm in before after; do
  path=; [[ $arm == before ]] && path=$old
  start=$(date +%s.%N)
  PYTHONPATH=$path babyaipp train --preset small --env-backend batched --run-dir "$runs" \
    --run-name $arm --no-progress 2>/dev/null | tail -1 > "$runs/$arm.json"
  python - "$arm" "$start" "$runs/$arm.json" <<'PY'
import json, sys, time
arm, start, summary = sys.argv[1], float(sys.argv[2]), json.load(open(sys.argv[3]))
seconds = time.time() - start
print(f"{arm}: {summary['frames']} frames in {seconds:.0f} s ({summary['frames'] / seconds:,.0f} "
      f"frames/s end to end), final HeldOut evaluation {summary['eval_success']:.2f}")
PY
done | tee $here/end_to_end.log
