"""Trained networks that ship with the package, each a weights-only checkpoint (read with
``torch.load(weights_only=True)``, its checksum checked) beside its model card (NAME.md: the
command that trained it, its training time and hardware, its measured strength and the commands
that measure it). A player spec names one directly: ``net:c4``.

``python scripts/export_agent.py CHECKPOINT NAME`` writes one from a run's checkpoint: the
weights and the game and network sections only, no optimizer or replay state.
"""

from __future__ import annotations

from pathlib import Path

from selfplay.errors import UserError

HERE = Path(__file__).resolve().parent

#: name -> what it plays, for messages (the file is HERE / f"{name}.pt", its card HERE / f"{name}.md").
SHIPPED = {
    "c4": "Connect Four",
    "go7": "7x7 Go, komi 9",
}

#: Sections of a run checkpoint an agent keeps: enough to rebuild and describe the network.
KEPT = ("model", "game", "network", "step", "elapsed_seconds", "initial", "averaged", "batchnorm")


def agent_path(name: str) -> Path:
    return HERE / f"{name}.pt"


def card_path(name: str) -> Path:
    return HERE / f"{name}.md"


def shipped_or_path(text: str | Path) -> Path:
    """A shipped agent's file for its name (``c4``), else the path as given: a file or a folder
    of that name in the working directory wins, so ``net:c4`` never shadows a user's ``c4/``."""
    path = Path(text)
    if not path.exists() and str(text) in SHIPPED:
        return agent_path(str(text))
    return path


def missing_message(path: str | Path) -> str:
    """What to say when a network named by the user is nowhere: the shipped ones, and how to make one."""
    names = ", ".join(f"net:{n} ({what})" for n, what in SHIPPED.items())
    return (f"{path} does not exist; shipped networks: {names}; or train one "
            "(make curve, then net:runs/curve-connect4-quick/rl)")


class AgentError(UserError):
    """A shipped agent that cannot be written (a bad name, a checkpoint without weights)."""


def export_agent(checkpoint: str | Path, name: str, out_dir: str | Path = HERE) -> Path:
    """Write ``out_dir/NAME.pt`` from a run's checkpoint, keeping only ``KEPT``; returns its path."""
    from selfplay.run.checkpoint import load_checkpoint, read_sections, save_checkpoint
    if not name.isidentifier():
        raise AgentError(f"agent name {name!r}: use letters, digits and _ (e.g. c4, go7)")
    payload = load_checkpoint(checkpoint)
    read_sections(payload, checkpoint)  # refuses a checkpoint whose network cannot be rebuilt
    kept = {k: payload[k] for k in KEPT if k in payload}
    kept["source"] = str(checkpoint)
    out = Path(out_dir) / f"{name}.pt"
    save_checkpoint(out, kept)
    return out
