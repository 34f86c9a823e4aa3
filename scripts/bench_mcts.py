#!/usr/bin/env python
"""MCTS simulations per second, ours vs OpenSpiel's MCTSBot: same as `selfplay bench mcts`.

    python scripts/bench_mcts.py [--seconds 3] [--no-reference] [--json]
"""
import sys

from selfplay.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "mcts", *sys.argv[1:]]))
