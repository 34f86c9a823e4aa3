"""Every kind in PLAYER_FACTORIES built through ``make_player`` from a spec: its options reach
the player, unknown options and bad values are PlayerSpecErrors naming them, and what cannot
be built (a missing checkpoint, a missing engine, a game the kind does not play) says why.

Kinds tested at length elsewhere are only touched here: mcts (test_mcts_player.py), solver
(test_solver_player.py), expert in Connect Four (test_connect4_expert.py), gtp against the fake
engine (test_gtp.py)."""

import sys
from pathlib import Path

import pytest

from games import make_game
from selfplay.cli import main
from selfplay.errors import UserError
from selfplay.gtp.client import EngineNotFoundError
from selfplay.mcts import MCTSPlayer
from selfplay.players import (
    PLAYER_FACTORIES,
    PlayerSpecError,
    RandomPlayer,
    make_player,
)

ROOT = Path(__file__).resolve().parents[1]
FAKE_ENGINE = f"{sys.executable} {Path(__file__).parent / 'fake_gtp_engine.py'}"
TTT, C4, GO = make_game("tictactoe"), make_game("connect4"), make_game("go", size=5)

# kind -> (a spec of it with one unknown option, a game it plays); every registered kind is here
UNKNOWN_OPTION = {
    "random": ("random:bogus=2", TTT),
    "human": ("human:bogus=2", TTT),
    "solver": ("solver:bogus=2", C4),
    "net": ("net:/nonexistent/run,bogus=2", C4),
    "mcts": ("mcts:bogus=2", TTT),
    "expert": ("expert:depth=3,bogus=2", C4),
    "gtp": (f'gtp:"{FAKE_ENGINE}",bogus=2', GO),
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A Connect Four run of five training steps, made by ``selfplay train`` (one checkpoint)."""
    runs = tmp_path_factory.mktemp("runs")
    assert main(["train", str(ROOT / "configs" / "smoke.yaml"), "total_steps=5", "checkpoint_every=5",
                 "eval.every_steps=0", "--runs", str(runs), "--name", "c4"]) == 0
    return runs / "c4"


def test_every_registered_kind_is_covered_here():
    assert set(UNKNOWN_OPTION) == set(PLAYER_FACTORIES)


@pytest.mark.parametrize("kind", sorted(UNKNOWN_OPTION))
def test_an_unknown_option_is_named(kind):
    spec, game = UNKNOWN_OPTION[kind]
    with pytest.raises(PlayerSpecError, match=rf"^{kind}: unknown option 'bogus'; known options: "):
        make_player(spec, game)


def test_an_unknown_kind_lists_the_known_ones():
    with pytest.raises(PlayerSpecError, match="unknown player 'chess'.*known: expert, gtp, human, mcts, net"):
        make_player("chess:depth=2", TTT)


# ---- random ------------------------------------------------------------------------------------
def test_random_with_a_seed_repeats_its_moves():
    state = C4.initial_state()
    first, second = make_player("random:seed=4", C4), make_player("random:seed=4", C4)
    assert isinstance(first, RandomPlayer)
    assert [first.select_move(C4, state) for _ in range(20)] == [second.select_move(C4, state) for _ in range(20)]
    with pytest.raises(PlayerSpecError, match="random: option seed='x' is not a valid int"):
        make_player("random:seed=x", C4)


# ---- human -------------------------------------------------------------------------------------
def test_human_reads_its_moves_through_the_context():
    lines, written = iter(["z9", "b2"]), []
    player = make_player("human", TTT, read_line=lambda prompt: next(lines), write=written.append)
    assert player.select_move(TTT, TTT.initial_state()) == TTT.parse_move("b2")
    assert len(written) == 1  # the refused move, with its reason
    with pytest.raises(PlayerSpecError, match="human: unknown option 'colour'; known options: none"):
        make_player("human:colour=x", TTT)


# ---- net ---------------------------------------------------------------------------------------
def test_net_from_a_run_directory_or_a_checkpoint_file_takes_its_options(run_dir):
    player = make_player(f"net:{run_dir},sims=7,c=2.5,temp=0.5,seed=3,device=cpu", C4)
    assert isinstance(player, MCTSPlayer) and player.temperature == 0.5
    c = player.config
    assert (c.num_simulations, c.c_puct, c.seed, c.gumbel) == (7, 2.5, 3, False)
    assert player.name == "net(c4@5,sims=7)"
    assert C4.legal_mask(C4.initial_state())[player.select_move(C4, C4.initial_state())]
    checkpoint = run_dir / "checkpoints" / "step-00000005.pt"
    for spec in (f"net:{checkpoint}", f"net:path={checkpoint}"):
        assert make_player(spec, C4).name == "net(step-00000005.pt@5,sims=200)"


def test_net_searches_with_the_discount_its_network_was_trained_with(tmp_path, run_dir, capsys):
    assert main(["train", str(ROOT / "configs" / "smoke.yaml"), "total_steps=3", "checkpoint_every=3",
                 "eval.every_steps=0", "network.value_discount=0.95", "--runs", str(tmp_path), "--name", "d"]) == 0
    assert make_player(f"net:{tmp_path / 'd'},sims=4", C4).config.value_discount == 0.95
    assert make_player(f"net:{run_dir},sims=4", C4).config.value_discount == 1.0
    for bad, words in ((["network.value_discount=1.5"], "value_discount must be in (0, 1]"),
                       (["network.value_discount=0.9", "network.value_head=wdl"], "needs value_head: scalar")):
        assert main(["train", str(ROOT / "configs" / "smoke.yaml"), *bad, "--runs", str(tmp_path)]) == 2
        assert words in capsys.readouterr().err


def test_net_bad_values_and_another_game_are_named(run_dir):
    with pytest.raises(PlayerSpecError, match="net: option sims='many' is not a valid int"):
        make_player(f"net:{run_dir},sims=many", C4)
    with pytest.raises(PlayerSpecError, match="net: option gumbel='maybe' is not a valid bool"):
        make_player(f"net:{run_dir},gumbel=maybe", C4)
    with pytest.raises(PlayerSpecError, match="was trained for connect4 .* not for this tictactoe game"):
        make_player(f"net:{run_dir}", TTT)
    with pytest.raises(PlayerSpecError, match=r"net: score must be 0 \(none\) to 1"):
        make_player(f"net:{run_dir},score=1.5", C4)
    with pytest.raises(PlayerSpecError, match="score=0.2 needs a network with the score head"):
        make_player(f"net:{run_dir},score=0.2", C4)


def test_net_with_a_score_head_searches_on_the_score_utility():
    go7 = make_game("go", size=7, komi=9)
    player = make_player("net:go7,sims=8,score=0.25,precision=bf16,device=cpu", go7)
    assert player.name.endswith(",score=0.25)") and player.evaluator.score_utility == 0.25
    assert go7.legal_mask(go7.initial_state())[player.select_move(go7, go7.initial_state())]


def test_net_without_a_readable_checkpoint_names_the_path(tmp_path):
    with pytest.raises(PlayerSpecError, match="net: name a checkpoint or run directory"):
        make_player("net", C4)
    missing = tmp_path / "no-such-run" / "step-00000010.pt"
    with pytest.raises(UserError, match=f"{missing} does not exist"):
        make_player(f"net:{missing}", C4)
    with pytest.raises(UserError, match=f"{tmp_path} holds no readable checkpoint"):
        make_player(f"net:{tmp_path}", C4)


# ---- expert ------------------------------------------------------------------------------------
def test_expert_is_for_connect4_and_go_only():
    with pytest.raises(PlayerSpecError, match="expert: there is an expert for connect4 and go, not for tictactoe"):
        make_player("expert", TTT)


def test_go_expert_options_are_checked_before_gnugo_starts():
    with pytest.raises(PlayerSpecError, match="expert: GNU Go's level=11 must be from 0 to 10"):
        make_player("expert:level=11", GO)
    with pytest.raises(PlayerSpecError, match="expert: option level='high' is not a valid int"):
        make_player("expert:level=high", GO)


def test_go_expert_without_gnugo_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("selfplay.gtp.client.KNOWN_LOCATIONS", {})
    with pytest.raises(EngineNotFoundError, match="gnugo not found; apt-get install gnugo"):
        make_player("expert", GO)


# ---- gtp ---------------------------------------------------------------------------------------
def test_gtp_builds_on_a_working_engine_and_checks_its_timeout():
    with make_player(f'gtp:"{FAKE_ENGINE} --moves c3",timeout=7.5', GO) as player:
        assert player.timeout == 7.5
        assert GO.format_move(player.select_move(GO, GO.initial_state())) == "C3"
    for timeout, message in (("0", "timeout=0 must be a positive number of seconds"),
                             ("soon", "option timeout='soon' is not a valid float")):
        with pytest.raises(PlayerSpecError, match=f"gtp: {message}"):
            make_player(f'gtp:"{FAKE_ENGINE}",timeout={timeout}', GO)


def test_gtp_with_a_missing_engine_names_it():
    with pytest.raises(EngineNotFoundError, match="no-such-engine not found"):
        make_player('gtp:"no-such-engine --mode gtp"', GO)
    with pytest.raises(PlayerSpecError, match="gtp: a GTP engine plays go only, not connect4"):
        make_player(f'gtp:"{FAKE_ENGINE}"', C4)
