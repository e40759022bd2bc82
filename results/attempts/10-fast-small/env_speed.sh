#!/usr/bin/env bash
# Attempt 10: the reference env's view built in one pass (gen_obs_grid) against 2dee562's
# (minigrid's slice and rotations), alternating; the old commit as a worktree (see run.sh).
#   bash results/attempts/10-fast-small/env_speed.sh
set -euo pipefail
here=results/attempts/10-fast-small old=${OLD:-/tmp/old_2dee562}
for round in 1 2 3; do
  echo "round $round"
  PYTHONPATH=$old python $here/env_step_speed.py 2>&1 | grep -v Warning
  python $here/env_step_speed.py 2>&1 | grep -v Warning
done | tee $here/env_speed.log
