#!/usr/bin/env python
"""Average the weights of several checkpoints of one run (SWA; selfplay/training/averaging.py)
and write the result as a checkpoint that `net:PATH` plays and scripts/export_agent.py ships.

    python scripts/average_checkpoints.py runs/go7-swa/checkpoints/step-0000{35,40,45}00.pt \
        --replay runs/go7-swa/replay --out runs/go7-swa-avg.pt

With --replay the batch norm statistics of the average are measured again on the newest
--positions replay positions (recommended); without it they are the snapshots' average.
"""

import argparse
import sys

from selfplay.errors import UserError
from selfplay.run.checkpoint import save_checkpoint
from selfplay.training.averaging import average_checkpoints


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", help="checkpoint files (RUN/checkpoints/step-N.pt), two or more")
    parser.add_argument("--out", required=True, help="the averaged checkpoint to write")
    parser.add_argument("--replay", help="a run's replay folder (RUN/replay) to measure batch norm on")
    parser.add_argument("--positions", type=int, default=20_000, help="replay positions for batch norm (default 20000)")
    args = parser.parse_args(argv)
    try:
        if args.positions < 1:
            raise UserError(f"--positions must be positive, got {args.positions}")
        payload = average_checkpoints(args.checkpoints, args.replay, args.positions,
                                      on_bad=lambda message: print(message, file=sys.stderr))
        save_checkpoint(args.out, payload)
    except (UserError, OSError) as e:  # OSError: --out cannot be written
        print(f"average_checkpoints: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: the mean of steps {', '.join(map(str, payload['averaged']))}, "
          f"batch norm {payload['batchnorm']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
