"""Connect Four solver speed on Pascal Pons's benchmark files, against his C++ solver's means.

Every position is solved from an empty transposition table (an O(1) reset between positions)
and without the opening book, in one kernel call per batch, so the figure is the search
itself. ``--seconds`` is the time budget of each file: positions are taken in file order until
it is spent (all 1000 when it suffices). Every score is checked against the file's.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from games import connect4_solver as cs
from games.connect4 import MASK, MOVES, POSITION, ConnectFour
from selfplay.errors import UserError

FILES = ("Test_L3_R1", "Test_L2_R1", "Test_L2_R2", "Test_L1_R1")
#: Mean time per position of Pons's C++ solver (final version, no book), microseconds.
PONS_CPP_US = {"Test_L3_R1": 7.0, "Test_L2_R1": 54.0, "Test_L2_R2": 4800.0, "Test_L1_R1": 360.0}
BATCH = 25


def data_dir() -> Path:
    """$SELFPLAY_C4_DATA, else shared/data/connect4 beside the repository."""
    env = os.environ.get("SELFPLAY_C4_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data" / "connect4"


def load_file(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(positions, masks, stone counts, expected scores) of a benchmark file."""
    game = ConnectFour()
    states, scores = [], []
    for line in path.read_text().splitlines():
        if line.strip():
            moves, score = line.split()
            states.append(game.state_from_moves(moves))
            scores.append(int(score))
    s = np.array(states)
    return (np.ascontiguousarray(s[:, POSITION]), np.ascontiguousarray(s[:, MASK]),
            np.ascontiguousarray(s[:, MOVES]), np.array(scores, dtype=np.int64))


def measure(solver: cs.Solver, positions, masks, moves, seconds: float):
    """Solve positions in file order, each from an empty table, until ``seconds`` are spent:
    (scores, elapsed seconds, CPU seconds of this process, nodes). On a shared machine the CPU
    time is the steadier figure: it leaves out the time other processes held the core."""
    out = np.zeros(positions.size, dtype=np.int64)
    elapsed, cpu, nodes, done = 0.0, 0.0, 0, 0
    while done < positions.size and (done == 0 or elapsed < seconds):
        end = min(done + BATCH, positions.size)
        solver.reset()
        n0 = solver.nodes
        t0, c0 = time.perf_counter(), time.process_time()
        cs.solve_batch(positions[done:end], masks[done:end], moves[done:end], True,
                       solver.table, solver.order, solver.book, solver.info, out[done:end])
        elapsed += time.perf_counter() - t0
        cpu += time.process_time() - c0
        nodes += solver.nodes - n0
        done = end
    return out[:done], elapsed, cpu, nodes


def run(args) -> dict:
    folder = data_dir()
    if not folder.is_dir():
        raise UserError(f"benchmark positions not found in {folder}; set SELFPLAY_C4_DATA to the folder "
                        f"holding {', '.join(FILES)}")
    solver = cs.Solver(book=False)
    solver.table.fill(0)  # touch every page now: first touches cost a page fault each
    rows = []
    for name in FILES:
        positions, masks, moves, expected = load_file(folder / name)
        measure(solver, positions[:2], masks[:2], moves[:2], float("inf"))  # compile / warm up
        scores, elapsed, cpu, nodes = measure(solver, positions, masks, moves, args.seconds)
        n = scores.size
        mean_us = elapsed / n * 1e6
        rows.append({
            "file": name, "positions": n, "mean us": mean_us, "cpu us": cpu / n * 1e6,
            "positions/s": n / elapsed, "nodes/position": nodes / n, "Mnodes/s": nodes / elapsed / 1e6,
            "Pons C++ us": PONS_CPP_US[name], "x Pons": mean_us / PONS_CPP_US[name],
            "wrong scores": int(np.sum(scores != expected[:n])),
        })
    return {"title": f"Connect Four solver: each position from an empty table, no book "
                     f"(transposition table {solver.table.size:,} entries)", "rows": rows}
