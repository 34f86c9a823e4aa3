"""The command line explains itself: every command has a description and examples, `selfplay
players` documents exactly the options each kind of player accepts, `--version`, and `--help`
loads no torch."""

import re
import subprocess
import sys

import pytest

from games import make_game
from selfplay.cli import build_parser, main
from selfplay.commands.players import KINDS
from selfplay.players import PLAYER_FACTORIES, PlayerSpecError, check_player


def test_every_command_has_a_description_and_examples():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name, command in commands.items():
        assert command.description, name
        assert "examples:" in command.format_help(), name


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and re.fullmatch(r"selfplay \d+\.\d+\.\d+.*\n", capsys.readouterr().out)


def test_help_loads_no_torch():
    code = "import sys; from selfplay.cli import build_parser; build_parser(); sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def known_options(spec: str, game) -> set[str]:
    with pytest.raises(PlayerSpecError) as e:
        check_player(spec, game)
    known = str(e.value).split("known options: ")[1]
    return set() if known == "none" else set(known.split(", "))


def test_players_documents_exactly_what_each_kind_accepts(capsys):
    assert set(KINDS) == set(PLAYER_FACTORIES)
    connect4, go = make_game("connect4"), make_game("go", size=5)
    accepted = {
        "human": known_options("human:zzz=1", connect4),
        "random": known_options("random:zzz=1", connect4),
        "mcts": known_options("mcts:zzz=1", connect4),
        "net": known_options("net:somewhere,zzz=1", connect4),
        "solver": known_options("solver:zzz=1", connect4),
        "expert": known_options("expert:zzz=1", connect4) | known_options("expert:zzz=1", go),
        "gtp": known_options('gtp:"engine",zzz=1', go),
    }
    for kind, (_, options) in KINDS.items():
        assert {name for name, _, _ in options} == accepted[kind], kind
    assert main(["players"]) == 0
    out = capsys.readouterr().out
    assert "A player spec is KIND" in out and all(f"{kind}: " in out for kind in KINDS)
