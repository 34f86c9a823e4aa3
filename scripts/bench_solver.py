#!/usr/bin/env python
"""Connect Four solver speed on the benchmark files vs Pons's C++ solver: same as `selfplay bench solver`.

    python scripts/bench_solver.py --seconds 30    # every position of every file
"""
import sys

from selfplay.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "solver", *sys.argv[1:]]))
