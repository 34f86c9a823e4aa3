#!/usr/bin/env python
"""The main job on a sensible default: Connect Four in the terminal against the built-in MCTS
player; with no terminal attached (CI, a pipe), a scripted game between two built-in players."""

import sys

from selfplay.cli import main
from selfplay.players import PLAYER_FACTORIES

ENGINE = "mcts:sims=2000" if "mcts" in PLAYER_FACTORIES else "random"

if __name__ == "__main__":
    if sys.stdin.isatty():
        sys.exit(main(["play", "connect4", "--x", "human", "--o", ENGINE]))
    print("no terminal attached: a scripted game between two built-in players\n")
    sys.exit(main(["play", "connect4", "--x", "random", "--o", ENGINE]))
