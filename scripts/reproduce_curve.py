#!/usr/bin/env python
"""The AlphaGo curve end to end: expert games -> SFT -> RL from the SFT network -> ratings -> the
figure. The same as ``selfplay curve``; arguments pass through, for example:

    python scripts/reproduce_curve.py --game connect4 --preset quick   # about 15 min on 2 CPU cores
    python scripts/reproduce_curve.py --game connect4 --preset full    # the README's figure
"""

import sys

from selfplay.cli import main

if __name__ == "__main__":
    sys.exit(main(["curve", *sys.argv[1:]]))
