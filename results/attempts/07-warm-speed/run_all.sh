#!/usr/bin/env bash
# Every measurement of docs/results.md "Training speed" (Dec 7, second session), one after the
# other on an idle machine. Run from the repository root:
#   bash results/attempts/07-warm-speed/run_all.sh
# It needs the two older commits as worktrees (their agents/ and levels/ linked into the
# package, as the editable install maps them):
#   for c in 047db23 9b53634; do git worktree add /tmp/old_$c $c
#     ln -s ../agents /tmp/old_$c/babyaipp/agents; ln -s ../levels /tmp/old_$c/babyaipp/levels; done
set -euo pipefail
here=results/attempts/07-warm-speed
bash $here/per_model.sh cross-attention
steady() { python $here/steady_fps.py "$@" 2>&1 | grep -v Warning; }
{
  steady BabyAIPP-GoToRedBall-Train-v1 32768 2
  steady BabyAIPP-GoToRedBall-Train-v1 32768 2 grid_conv=full
  PYTHONPATH=/tmp/old_9b53634 steady BabyAIPP-GoToRedBall-Train-v1 32768 2
  steady BabyAIPP-GoToRedBall-Train-v0 32768 2
  PYTHONPATH=/tmp/old_047db23 steady BabyAIPP-GoToRedBall-Train-v0 32768 2
} | tee $here/steady.log
bash $here/per_model.sh image concat film attention floor-reader tile-reader
