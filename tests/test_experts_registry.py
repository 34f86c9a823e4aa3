"""The expert table (selfplay.experts.registry): every expert plays a game of the games
registry, and the files of games it makes read back through that game's ``read_records``."""

import json
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from games import make_game
from games.registry import game_entry
from selfplay.cli import main
from selfplay.experts.connect4_expert import DEFAULT_DEPTH
from selfplay.experts.games import expert_settings, generate
from selfplay.experts.registry import EXPERTS
from selfplay.experts.settings import Settings

FAKE = f"{sys.executable} {Path(__file__).parent / 'fake_gtp_engine.py'}"
#: Per expert: small games made quickly (Go through the fake engine) and the game that reads them.
SMALL = {
    "connect4": ({"depth": 1}, make_game("connect4")),
    "go": ({"size": 5, "komi": 0.5, "engine": FAKE}, make_game("go", size=5, komi=0.5)),
}


def test_every_expert_plays_a_game_of_the_registry_and_reads_only_settings_fields():
    assert set(SMALL) == set(EXPERTS), "a new expert needs its small games here"
    settable = {f.name for f in fields(Settings)} - {"game", "random_plies"}
    for name, expert in EXPERTS.items():
        assert game_entry(name).name == name
        assert set(expert.options) <= settable, name
        assert set(expert.settings_at(3)) <= set(expert.options), name
        assert expert.batch >= 1 and expert.random_plies >= 0


@pytest.mark.parametrize("name", sorted(EXPERTS))
def test_expert_games_read_back_through_the_games_reader(tmp_path, name):
    options, game = SMALL[name]
    settings = expert_settings(name, 2, **options)
    assert generate(settings, tmp_path, 6, seed=1) == 6
    records, skipped = game.read_records(tmp_path)
    assert len(records) == 6 and skipped == []
    assert len({tuple(r.actions) for r in records}) == 6
    for record in records:
        state = game.initial_state() if record.start is None else record.start
        for action in record.actions:
            state = game.step(state, action)
        assert record.returns is None or record.returns == game.returns(state)


def test_the_command_line_gives_each_expert_only_its_own_options(tmp_path):
    c4, go = tmp_path / "c4", tmp_path / "go"
    assert main(["expert-games", "connect4", "--games", "2", "--out", str(c4), "--seed", "1"]) == 0
    assert json.loads((c4 / "meta.json").read_text()) == {
        "game": "connect4", "random_plies": 4, "depth": DEFAULT_DEPTH, "size": 0, "komi": 0.0, "engine": ""}
    assert main(["expert-games", "go", "--games", "2", "--out", str(go), "--size", "5", "--komi", "0.5",
                 "--engine", FAKE, "--seed", "1", "--depth", "5"]) == 0
    assert json.loads((go / "meta.json").read_text()) == {
        "game": "go", "random_plies": 2, "depth": 0, "size": 5, "komi": 0.5, "engine": FAKE}
