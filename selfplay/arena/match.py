"""Play one game between two players, recording every move."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from games import Game, IllegalMoveError
from selfplay.players import Player, Resignation


@dataclass
class GameRecord:
    """Moves of a finished (or abandoned) game and the position they lead to."""

    actions: list[int] = field(default_factory=list)
    final_state: np.ndarray | None = None
    returns: tuple[float, float] | None = None  # for players 0 and 1; None if unfinished
    resigned: bool = False  # the player to move in final_state resigned


def play_game(game: Game, players: Sequence[Player], state: np.ndarray | None = None,
              on_move: Callable[[np.ndarray, int, np.ndarray], None] | None = None) -> GameRecord:
    """Play ``players[0]`` (first to move) against ``players[1]`` to the end.

    ``on_move(state, action, next_state)`` is called after every move. A player that returns an
    illegal move raises IllegalMoveError naming it, rather than being silently corrected; one that
    resigns (raises Resignation) loses there.
    """
    state = game.initial_state() if state is None else state.copy()
    distinct = list({id(p): p for p in players}.values())  # a player may play both sides
    for p in distinct:
        p.reset(game)
    record = GameRecord()
    while not game.is_terminal(state):
        mover = players[game.to_play(state)]
        try:
            action = int(mover.select_move(game, state))
        except Resignation:
            record.final_state, record.resigned = state, True
            record.returns = (-1.0, 1.0) if game.to_play(state) == 0 else (1.0, -1.0)
            return record
        try:
            next_state = game.step(state, action)
        except IllegalMoveError as e:
            raise IllegalMoveError(f"player {mover.name!r} chose an illegal move: {e}") from None
        for p in distinct:
            p.observe(game, state, action)
        record.actions.append(action)
        if on_move is not None:
            on_move(state, action, next_state)
        state = next_state
    record.final_state = state
    record.returns = game.returns(state)
    return record
