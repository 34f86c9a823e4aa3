"""``selfplay bench learner``: learner steps per second, fp32 against bf16 autocast.

One real ``train_step`` (the AlphaZero loss, backward, gradient clipping, AdamW) on a random
minibatch of 256, repeated for ``--seconds`` per row, at each network size the project trains:
the Connect Four 4x64 network (net:c4, configs/connect4.yaml), the 8x64 one it was deepened to,
and the 7x7 Go 6x64 network (net:go7) with its ownership and score heads. Each size is measured
in fp32 (the baseline) and then with ``optim.precision: bf16``, whose row carries ``x
baseline``, in the same run. The learner is what an SFT run does all day and half of what an
RL run's learner process does, so its steps a second are the training budget's unit.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from games import make_game
from selfplay.network import NetworkConfig, PolicyValueNet, cpu_has_bf16
from selfplay.training.learner import OptimConfig, make_optimizer, train_step

BATCH = 256
#: (label, game, board size or None, network)
SIZES = (
    ("connect4 4x64", "connect4", None, NetworkConfig(channels=64, blocks=4, value_discount=0.98)),
    ("connect4 8x64", "connect4", None, NetworkConfig(channels=64, blocks=8, value_discount=0.98)),
    ("go 7x7 6x64, ownership", "go", 7, NetworkConfig(channels=64, blocks=6, ownership_head=True)),
)


def random_batch(game, rng: np.random.Generator, ownership: bool) -> tuple[np.ndarray, ...]:
    planes = rng.integers(0, 2, size=(BATCH, *game.obs_shape)).astype(np.float32)
    policy = rng.dirichlet(np.ones(game.num_actions), size=BATCH).astype(np.float32)
    value = rng.uniform(-1, 1, size=BATCH).astype(np.float32)
    if not ownership:
        return planes, policy, value
    _, height, width = game.obs_shape
    owner = rng.integers(-1, 2, size=(BATCH, height, width)).astype(np.float32)
    return planes, policy, value, owner, rng.normal(0, 1, size=BATCH).astype(np.float32)


def measure(game, network: NetworkConfig, precision: str, seconds: float) -> dict:
    torch.manual_seed(0)
    model = PolicyValueNet(game.obs_shape, game.num_actions, network)
    config = OptimConfig(batch_size=BATCH, precision=precision)
    optimizer = make_optimizer(model, config)
    batch = random_batch(game, np.random.default_rng(0), network.ownership_head)
    device = torch.device("cpu")
    for _ in range(3):  # warm up: oneDNN picks its kernels on the first calls
        train_step(model, optimizer, batch, config, device)
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        train_step(model, optimizer, batch, config, device)
        steps += 1
    elapsed = time.perf_counter() - t0
    return {"steps/s": steps / elapsed, "samples/s": steps * BATCH / elapsed, "params": model.num_parameters()}


def run(args) -> dict:
    threads = torch.get_num_threads()
    precisions = ("fp32", "bf16") if not args.no_baseline else ("bf16",)
    rows = []
    for label, game_name, size, network in SIZES:
        game = make_game(game_name, size=size) if size else make_game(game_name)
        baseline = None
        for precision in precisions:
            row = {"network": label, "precision": precision, "threads": threads,
                   **measure(game, network, precision, args.seconds)}
            if precision == "fp32":
                baseline = row["steps/s"]
            elif baseline:
                row["x baseline"] = row["steps/s"] / baseline
            rows.append(row)
    notes = [] if cpu_has_bf16() else ["this CPU has no native bf16: autocast emulates it, expect no gain"]
    return {"title": f"learner steps/s, batch {BATCH}, CPU", "rows": rows, "notes": notes}
