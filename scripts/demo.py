#!/usr/bin/env python
"""The main job on a sensible default: Connect Four in the terminal against the shipped network
(net:c4, selfplay/agents/c4.md) with 400 simulations per move; with no terminal attached (CI, a
pipe), a scripted game between the shipped network and a random player."""

import sys

from selfplay.cli import main

ENGINE = "net:c4,sims=400"

if __name__ == "__main__":
    if sys.stdin.isatty():
        sys.exit(main(["play", "connect4", "--x", "human", "--o", ENGINE]))
    print("no terminal attached: a scripted game, the shipped network against a random player\n")
    sys.exit(main(["play", "connect4", "--x", "random", "--o", ENGINE]))
