#!/usr/bin/env python
"""Ship a trained network: write selfplay/agents/NAME.pt from a run's checkpoint (weights, game
and network sections only), then write or update its model card selfplay/agents/NAME.md by hand.

    python scripts/export_agent.py runs/c4-ship/checkpoints/step-00020000.pt c4
"""

import argparse
import sys

from selfplay.agents import export_agent
from selfplay.errors import UserError

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="a checkpoint file of a board run (RUN/checkpoints/step-N.pt)")
    parser.add_argument("name", help="the agent's name: player specs will say net:NAME")
    args = parser.parse_args()
    try:
        print(f"wrote {export_agent(args.checkpoint, args.name)}")
    except UserError as e:
        sys.exit(f"export_agent: error: {e}")
