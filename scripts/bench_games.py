#!/usr/bin/env python
"""Random full-game playouts per second, ours vs OpenSpiel: same as `selfplay bench games`."""
import sys

from selfplay.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "games", *sys.argv[1:]]))
