"""One lock-step game loop: many games at once, each game in flight getting one move per tick.

A searching player (an MCTSPlayer: mcts, net) moves in all its games with one batched search,
one tree per game, so a network evaluates the leaves of all those games in one forward pass;
any other player has an instance per game in flight. The arena (and so rating), evaluation
during training and Connect Four expert games play through ``play_games``; an executor
(selfplay.distributed) decides where each share of a schedule is played. Players are seeded from (seed, share, player[, slot]), so a
share's games are a function of the seed, the share's index and ``batch``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

import numpy as np

from games import Game, IllegalMoveError
from selfplay.arena.schedule import Contestant, ScheduledGame
from selfplay.mcts import MCTS, MCTSPlayer
from selfplay.mcts.passing import apply_pass_rule_to_roots
from selfplay.players import Player, PlayerSpecError, Resignation, make_player, parse_spec


class Lineup(Protocol):
    """The players of a schedule: contestant ``i`` is called ``names[i]``; ``build(i, seed)``
    makes a fresh player of it (one per game in flight unless it searches batched)."""

    names: Sequence[str]

    def build(self, index: int, seed: int) -> Player: ...


def seeded_spec(spec: str, seed: int) -> str:
    """``spec`` with ``seed=N`` added unless it names a seed already."""
    kind, options = parse_spec(spec)
    if "seed" in options:
        return spec
    return f"{spec},seed={seed}" if options else f"{spec.split(':')[0]}:seed={seed}"


def build_player(spec: str, game: Game, seed: int | None, context: dict | None = None) -> Player:
    """The player of ``spec``, seeded when its kind takes a seed option."""
    context = context or {}
    if seed is not None:
        try:
            return make_player(seeded_spec(spec, seed), game, **context)
        except PlayerSpecError as e:
            if "'seed'" not in str(e):
                raise
    return make_player(spec, game, **context)


def player_seed(*keys: int) -> int:
    return int(np.random.SeedSequence(list(keys)).generate_state(1)[0] % 2**31)


@dataclass(frozen=True)
class SpecLineup:
    """Contestants built from their specs. ``context`` carries what a human needs (read_line,
    write) and ``wrap_human`` may adapt a human player; neither travels to another process."""

    game: Game
    contestants: tuple[Contestant, ...]
    context: dict | None = None
    wrap_human: Callable[[Player], Player] | None = None

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.contestants]

    def build(self, index: int, seed: int) -> Player:
        player = build_player(self.contestants[index].spec, self.game, seed, self.context)
        if self.wrap_human is not None and player.name == "human":
            return self.wrap_human(player)
        return player


@dataclass
class Outcome:
    """A finished game as a share reports it."""

    index: int
    actions: list[int]
    result: float  # for the first player
    final_state: np.ndarray
    resigned: bool = False  # the player to move in final_state resigned


class BatchedSearch:
    """One contestant that searches (MCTS or net) in every game in flight: one tree per slot,
    searched together, so a network evaluates the leaves of all those games in one forward."""

    def __init__(self, player: MCTSPlayer, game: Game, slots: int):
        self.name = player.name
        self.temperature = player.temperature
        self.mcts = MCTS(game, player.evaluator, player.config, batch_size=slots)

    def start(self, slot: int, state: np.ndarray) -> None:
        self.mcts.set_root(slot, state)

    def moves(self, slots: list[int]) -> list[int]:
        active = np.zeros(self.mcts.batch_size, dtype=np.bool_)
        active[slots] = True
        result = self.mcts.search(active=active).rows(active)
        actions = [int(a) for a in result.select_actions(self.temperature, self.mcts.rng)]
        if self.mcts.config.pass_rule:
            actions = apply_pass_rule_to_roots(self.mcts.game, self.mcts.root_states[slots], result, actions)
        return actions

    def observe(self, slot: int, action: int) -> None:
        actions = np.full(self.mcts.batch_size, -1, dtype=np.int64)
        actions[slot] = action
        self.mcts.advance(actions)


def _close(player) -> None:
    close = getattr(player, "close", None)
    if callable(close):
        close()


def play_games(game: Game, lineup: Lineup, games: Sequence[ScheduledGame], share: int,
               report: Callable[[Outcome], bool], *, seed: int, batch: int = 1) -> None:
    """Play ``games`` (share number ``share`` of a schedule), up to ``batch`` at once in
    lock-step: at every tick each game in flight gets one move. Games start in schedule order;
    ``report`` hears of each finished game and returns False to stop early."""
    slots = max(1, min(batch, len(games)))
    prototypes = {i: lineup.build(i, player_seed(seed, share, i))
                  for i in sorted({g.first for g in games} | {g.second for g in games})}
    batched = {i: BatchedSearch(p, game, slots) for i, p in prototypes.items()
               if isinstance(p, MCTSPlayer) and slots > 1}
    per_slot: dict[tuple[int, int], Player] = {}

    def player(i: int, slot: int) -> Player:
        if (i, slot) not in per_slot:
            per_slot[i, slot] = prototypes[i] if slot == 0 else lineup.build(i, player_seed(seed, share, i, slot))
        return per_slot[i, slot]

    pending = list(reversed(games))
    flight: dict[int, tuple[ScheduledGame, list]] = {}  # slot -> (game, [state, actions])

    def start(slot: int) -> None:
        g = pending.pop()
        state = game.initial_state()
        own = [player(i, slot) for i in (g.first, g.second) if i not in batched]
        for p in own:
            p.reset(game)
        for action in g.opening:  # players with their own state see the opening move by move
            for p in own:
                p.observe(game, state, action)
            state = game.step(state, action)
        for i in (g.first, g.second):
            if i in batched:  # a batched search starts from the position after the opening
                batched[i].start(slot, state)
        flight[slot] = (g, [state, list(g.opening)])

    try:
        for slot in range(slots):
            if pending:
                start(slot)
        while flight:
            mover = {slot: (g.first, g.second)[game.to_play(st[0])] for slot, (g, st) in flight.items()}
            moves: dict[int, int] = {}
            for i, search in batched.items():
                mine = sorted(slot for slot, m in mover.items() if m == i)  # the search's row order
                if mine:
                    moves.update(zip(mine, search.moves(mine)))
            resigned = []
            for slot, i in mover.items():
                if i not in batched:
                    try:
                        moves[slot] = int(player(i, slot).select_move(game, flight[slot][1][0]))
                    except Resignation:
                        resigned.append(slot)
            for slot in resigned:
                g, st = flight.pop(slot)
                if not report(Outcome(g.index, st[1], 0.0 if mover[slot] == g.first else 1.0, st[0], resigned=True)):
                    return
                if pending:
                    start(slot)
            for slot in sorted(moves):
                g, st = flight[slot]
                state, action = st[0], moves[slot]
                try:
                    next_state = game.step(state, action)
                except IllegalMoveError as e:
                    raise IllegalMoveError(f"player {lineup.names[mover[slot]]!r} chose an illegal move: "
                                           f"{e}") from None
                for i in (g.first, g.second):
                    if i in batched:
                        batched[i].observe(slot, action)
                    else:
                        player(i, slot).observe(game, state, action)
                st[0] = next_state
                st[1].append(action)
                if game.is_terminal(next_state):
                    del flight[slot]
                    result = (game.returns(next_state)[0] + 1) / 2
                    if not report(Outcome(g.index, st[1], result, next_state)):
                        return
                    if pending:
                        start(slot)
    finally:
        for p in {id(p): p for p in [*prototypes.values(), *per_slot.values()]}.values():
            _close(p)
