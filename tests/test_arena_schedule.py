"""Schedules (pairings, colours alternating, only the missing games) and random openings
(each played with both colours, never a pass)."""

from collections import Counter

import pytest

from games import make_game
from selfplay.arena.errors import ArenaError
from selfplay.arena.schedule import schedule, with_openings


def test_round_robin_and_gauntlet_pairings_with_alternating_colours():
    games = schedule(3, 4)
    pairs = Counter(frozenset((g.first, g.second)) for g in games)
    assert pairs == {frozenset((0, 1)): 4, frozenset((0, 2)): 4, frozenset((1, 2)): 4}
    for pair in pairs:
        starts = [g.first for g in games if {g.first, g.second} == pair]
        assert starts == [min(pair), max(pair)] * 2  # colours alternate within the pair
    gauntlet = schedule(4, 2, gauntlet=True)
    assert len(gauntlet) == 6 and all(0 in (g.first, g.second) for g in gauntlet)
    assert [g.index for g in gauntlet] == list(range(6))


def test_schedule_plays_only_the_missing_games_continuing_the_colours():
    games = schedule(2, 5, played={(0, 1): 3})
    assert [(g.first, g.second) for g in games] == [(1, 0), (0, 1)]  # games 4 and 5 of the pair


def test_each_opening_is_played_with_both_colours():
    game = make_game("connect4")
    games = with_openings(game, schedule(3, 6), 3, seed=7)
    openings: dict = {}
    for g in games:
        assert len(g.opening) == 3 and not game.is_terminal(_replay(game, g.opening))
        openings.setdefault((min(g.first, g.second), max(g.first, g.second), g.round // 2), []).append(g)
    for pair in openings.values():
        assert len(pair) == 2 and pair[0].opening == pair[1].opening and pair[0].first == pair[1].second
    assert len({g.opening for g in games}) > 5
    assert with_openings(game, schedule(3, 6), 3, seed=7) == games
    assert with_openings(game, schedule(3, 6), 3, seed=8) != games
    assert with_openings(game, schedule(3, 6), 0, seed=7) == schedule(3, 6)
    with pytest.raises(ArenaError, match="opening plies"):
        with_openings(game, schedule(2, 2), -1, seed=0)


def test_go_openings_never_pass():
    game = make_game("go", size=5, komi=0.5)
    for g in with_openings(game, schedule(2, 40), 4, seed=1):
        assert game.pass_action not in g.opening


def _replay(game, moves):
    state = game.initial_state()
    for a in moves:
        state = game.step(state, a)
    return state
