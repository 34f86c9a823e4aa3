"""Leela Zero's pass rule for games that end on passes (Go): pass only when passing wins.

A network trained by self-play values a settled position the same whether it passes or plays on,
so its search passes as soon as nothing is left to gain against a perfect opponent: into a draw,
or into a loss it has stopped resisting, and the game ends at the count. Against an opponent
that can still go wrong, a move the search values as well as the pass gives it that chance:
Leela Zero (without ``--dumbpass``) plays its best other move where passing would tie or lose the
game as it stands, and passes at once after the opponent's pass where that wins. The counting is
the game's own rules engine: the position after our pass and, where that did not end the game,
the opponent's pass back.
"""

from __future__ import annotations

import numpy as np

from games import Game

#: an other move is played in place of a losing pass only if its value is at most this much below
#: the pass's: a search that finds every other move clearly worse (filling one's own eye) passes.
TOLERANCE = 0.05


def pass_outcome(game: Game, state: np.ndarray) -> float | None:
    """The result, for the player to move (+1 win, 0 draw, -1 loss), of passing now and the
    opponent passing back where our pass alone does not end the game; None where the game has
    no pass or two passes do not end it."""
    pass_action = getattr(game, "pass_action", None)
    if pass_action is None or not game.legal_mask(state)[pass_action]:
        return None
    after = game.step(state, pass_action)
    if game.is_terminal(after):
        return -game.terminal_value(after)  # the value is for the opponent, to move there
    after = game.step(after, pass_action)
    if game.is_terminal(after):
        return game.terminal_value(after)
    return None


def apply_pass_rule(game: Game, state: np.ndarray, action: int, visits: np.ndarray, q_values: np.ndarray,
                    tolerance: float = TOLERANCE) -> int:
    """The move to play in place of the search's ``action`` at one root (its ``visits`` and
    ``q_values`` over the actions, for the player to move): the pass where it ends the game won,
    the most visited other move (at most ``tolerance`` below the pass's value) where the chosen
    pass would leave the game tied or lost, otherwise ``action``."""
    outcome = pass_outcome(game, state)
    if outcome is None:
        return action
    pass_action = game.pass_action
    if outcome > 0 and game.is_terminal(game.step(state, pass_action)):
        return pass_action  # the opponent passed and the count is ours: end it
    if action != pass_action or outcome > 0:
        return action
    floor = q_values[pass_action] - tolerance if visits[pass_action] > 0 else -np.inf
    for other in np.argsort(-visits, kind="stable"):
        if visits[other] == 0:
            break
        if other != pass_action and q_values[other] >= floor:
            return int(other)
    return action


def apply_pass_rule_to_roots(game: Game, states, result, actions) -> list[int]:
    """``apply_pass_rule`` at every root of a search ``result`` (a SearchResult whose rows are
    ``states``), to the ``actions`` chosen there."""
    return [apply_pass_rule(game, state, int(action), result.visit_counts[i], result.q_values[i])
            for i, (state, action) in enumerate(zip(states, actions))]
