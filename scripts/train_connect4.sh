#!/usr/bin/env bash
# The Connect Four strength benchmark of the README: train from scratch with configs/connect4.yaml
# (a 4-hour budget of training time, resumable: rerun this script after a stop), then measure the
# final network with 200 simulations per move on every middle-medium benchmark position and in
# 100 games against rollout MCTS with 2000 simulations, colours alternating, and draw the curve.
#   scripts/train_connect4.sh [RUN_DIR]     (default runs/connect4)
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-runs/connect4}
POSITIONS=${POSITIONS:-../shared/data/connect4/Test_L2_R2}
SELFPLAY=${SELFPLAY:-.venv/bin/selfplay}

if [ -f "$RUN/config.yaml" ]; then
  "$SELFPLAY" train --resume "$RUN"
else
  "$SELFPLAY" train configs/connect4.yaml --runs "$(dirname "$RUN")" --name "$(basename "$RUN")"
fi
"$SELFPLAY" eval-c4 "net:$RUN,sims=200" --positions "$POSITIONS"
"$SELFPLAY" arena "net:$RUN,sims=200" mcts:sims=2000 --game connect4 --games 100 --batch 50 \
  --results "$RUN/arena-vs-mcts2000.csv"
"$SELFPLAY" plot-elo "$RUN"
