"""The networks that ship with the package (selfplay/agents/): each loads with the safe loader
and plays, its model card's commands run (reduced), and a shipped file that is a pickle of
arbitrary objects is refused with nothing executed."""

import os
import pickle
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from games import make_game
from selfplay import agents
from selfplay.arena.match import play_game
from selfplay.cli import main
from selfplay.gtp.client import EngineNotFoundError, resolve_command
from selfplay.players import PlayerSpecError, RandomPlayer, make_player
from selfplay.run.checkpoint import CheckpointError, load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
GAMES = {"c4": ("connect4", {}), "go7": ("go", {"size": 7, "komi": 9.0})}
#: options appended to a card's command so that it runs in seconds: argparse keeps the last value
REDUCED = {"eval-c4": ["--limit", "3"], "arena": ["--games", "1"]}
SAMPLE_POSITIONS = ROOT / "tests" / "data" / "connect4_sample.txt"  # where ../shared/data is absent


def gnugo_installed() -> bool:
    try:
        resolve_command("gnugo")
        return True
    except EngineNotFoundError:
        return False


def needs_absent_gnugo(argv: list[str]) -> bool:
    """A Go command with a GNU Go opponent (expert:...) on a machine without GNU Go."""
    go = "--game" in argv and argv[argv.index("--game") + 1] == "go"
    return go and any(a.startswith("expert") for a in argv) and not gnugo_installed()


def reduced(argv: list[str]) -> list[str]:
    """A card's command in seconds: fewer positions and games, smaller searches, and the test
    sample of positions where the benchmark files are not on this machine."""
    argv = [re.sub(r"sims=\d+", "sims=16", a) for a in argv]
    if "--positions" in argv:
        at = argv.index("--positions") + 1
        if not (ROOT / argv[at]).is_file():
            argv[at] = str(SAMPLE_POSITIONS)
    return [*argv, *REDUCED.get(argv[0], [])]


@pytest.mark.parametrize("name", sorted(agents.SHIPPED))
def test_a_shipped_network_loads_weights_only_and_plays(name):
    payload = torch.load(agents.agent_path(name), map_location="cpu", weights_only=True)  # no pickled code
    assert set(payload) <= {*agents.KEPT, "source", "checksum"} and "optimizer" not in payload
    load_checkpoint(agents.agent_path(name))  # the checksum matches
    game_name, options = GAMES[name]
    game = make_game(game_name, **options)
    record = play_game(game, [make_player(f"net:{name},sims=8", game), RandomPlayer(seed=1)])
    assert record.returns is not None


@pytest.mark.parametrize("name", sorted(agents.SHIPPED))
def test_the_model_card_says_how_it_was_made_and_its_commands_run(name, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)  # the card's paths are the README's: from the repository's root
    card = agents.card_path(name).read_text()
    for heading in ("## Training", "## Strength", "## Check it"):
        assert heading in card
    commands = [line.strip() for line in card.split("## Check it", 1)[1].splitlines()
                if line.strip().startswith("selfplay ")]
    assert commands
    for command in commands:
        argv = shlex.split(command)[1:]
        if not needs_absent_gnugo(argv):  # .ci/run installs GNU Go: there every command runs
            assert main(reduced(argv)) == 0, command
    capsys.readouterr()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # torch's note on the hostile file
def test_a_shipped_file_that_is_a_pickle_is_refused_and_nothing_runs(tmp_path, monkeypatch):
    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'PWNED'}",))

    with open(tmp_path / "c4.pt", "wb") as f:
        pickle.dump({"model": Exploit()}, f)
    monkeypatch.setattr(agents, "HERE", tmp_path)
    with pytest.raises(CheckpointError, match="unreadable"):
        make_player("net:c4", make_game("connect4"))
    assert not (tmp_path / "PWNED").exists()


def test_a_missing_network_names_the_shipped_ones(tmp_path, capsys):
    assert main(["play", "connect4", "--x", "random", "--o", f"net:{tmp_path / 'runs' / 'connect4'}"]) == 2
    err = capsys.readouterr().err
    assert "shipped networks: net:c4 (Connect Four)" in err and "make curve" in err


def test_a_folder_of_the_same_name_wins_over_the_shipped_network(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c4").mkdir()
    assert agents.shipped_or_path("c4") == Path("c4")
    assert agents.shipped_or_path("go19") == Path("go19")


def test_make_demo_plays_the_shipped_network_without_a_terminal():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py")], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "net(c4@" in done.stdout and "result:" in done.stdout


def test_a_shipped_network_averaged_over_its_mirror_image_plays_and_says_so():
    game = make_game("connect4")
    player = make_player("net:c4,sims=8,sym=2", game)
    assert "sym=2" in player.name
    assert play_game(game, [player, RandomPlayer(seed=1)]).returns is not None
    with pytest.raises(PlayerSpecError, match="sym must be 1 \\(none\\) to 2 \\(the symmetries of connect4\\)"):
        make_player("net:c4,sym=3", game)
