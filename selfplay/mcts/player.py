"""``MCTSPlayer``: a Player that searches before every move and keeps its tree between moves.

Spec: ``mcts:sims=800,c=3,eval=rollout,rollouts=1,temp=0,seed=-1,gumbel=0,reuse=1,solve=0,lcb=0,passrule=0``. The PUCT
constant defaults to 3 because uniform priors make PUCT explore far less than UCT does: over
100 Connect Four games at 1000 simulations against OpenSpiel's MCTSBot (UCT, c=2), c=2, 3 and
4 scored 0.59, 0.75 and 0.58.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from games import Game
from selfplay.mcts.config import MCTSConfig
from selfplay.mcts.errors import MCTSConfigError
from selfplay.mcts.evaluators import Evaluator, RolloutEvaluator, UniformEvaluator
from selfplay.mcts.passing import apply_pass_rule_to_roots
from selfplay.mcts.search import MCTS, SearchResult
from selfplay.players import Player, PlayerSpecError, read_options

EVALUATORS = {"rollout": RolloutEvaluator, "uniform": UniformEvaluator}


@dataclass
class MoveStat:
    action: int
    move: str
    visits: int
    share: float  # of the root's child visits
    q: float      # mean value for the player to move, NaN if unvisited
    prior: float


@dataclass
class SearchAnalysis:
    """What the last search thinks, for a human: value, best moves, expected line."""

    player: str
    value: float  # for the player to move, in [-1, 1]
    visits: int
    moves: list[MoveStat]
    pv: list[str]

    def lines(self) -> list[str]:
        out = [f"{self.player} to move: value {self.value:+.3f} after {self.visits} visits"]
        for m in self.moves:
            q = "   n/a" if np.isnan(m.q) else f"{m.q:+.3f}"
            out.append(f"  {m.move:>5}  {m.share:6.1%}  {m.visits:8d} visits  q {q}  prior {m.prior:.3f}")
        out.append("  pv: " + (" ".join(self.pv) or "-"))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


class MCTSPlayer(Player):
    """Searches ``config.num_simulations`` from each position it is asked to move in, plays the
    most visited move (or samples at ``temperature`` > 0, or the Gumbel choice), and hears of
    every move through ``observe`` so that the next search starts from the kept subtree."""

    def __init__(self, game: Game, evaluator: Evaluator | None = None, config: MCTSConfig | None = None,
                 temperature: float = 0.0, name: str = "mcts"):
        if temperature < 0:
            raise MCTSConfigError(f"temperature must be >= 0, got {temperature}")
        self.game = game
        self.evaluator = evaluator if evaluator is not None else RolloutEvaluator()
        self.config = config if config is not None else MCTSConfig()
        self.temperature = temperature
        self.name = name
        self.mcts = MCTS(game, self.evaluator, self.config, batch_size=1)
        self.last_result: SearchResult | None = None
        self._synced = False  # the tree's root is the position of the game being played

    def reset(self, game: Game) -> None:
        if game is not self.game:
            self.game = game
            self.mcts = MCTS(game, self.evaluator, self.config, batch_size=1)
        self._synced = False
        self.last_result = None

    def select_move(self, game: Game, state: np.ndarray) -> int:
        if game is not self.game:
            self.reset(game)
        if not self._synced or not np.array_equal(self.mcts.root_states[0], state):
            self.mcts.set_root(0, state)
        self._synced = True
        self.last_result = r = self.mcts.search()
        self._searched_for = game.player_name(game.to_play(state))
        actions = r.select_actions(self.temperature, self.mcts.rng)
        if self.config.pass_rule:
            actions = apply_pass_rule_to_roots(game, [state], r, actions)
        return int(actions[0])

    def select_moves(self, game: Game, states, batch_size: int = 256) -> np.ndarray:
        """``select_move`` in each of many fresh positions, searched ``batch_size`` trees at a
        time: the same search for each tree, one evaluator call per round for all of them
        (batched network forwards) instead of one per simulation. A kernel evaluator (rollouts)
        runs fused inside one tree's search and gains nothing from the batch: one at a time."""
        if self.evaluator.kernel_kind >= 0:
            return super().select_moves(game, states)
        self.reset(game)
        moves = np.empty(len(states), dtype=np.int64)
        mcts = None
        for start in range(0, len(states), batch_size):
            chunk = states[start:start + batch_size]
            if mcts is None or mcts.batch_size != len(chunk):
                mcts = MCTS(game, self.evaluator, self.config, batch_size=len(chunk))
            mcts.set_roots(chunk)
            r = mcts.search()
            chosen = r.select_actions(self.temperature, mcts.rng)
            if self.config.pass_rule:
                chosen = apply_pass_rule_to_roots(game, chunk, r, chosen)
            moves[start:start + len(chunk)] = chosen
        return moves

    def observe(self, game: Game, state: np.ndarray, action: int) -> None:
        if self._synced and np.array_equal(self.mcts.root_states[0], state):
            self.mcts.advance([action])
        else:
            self._synced = False

    def analysis(self, top: int = 5) -> SearchAnalysis | None:
        """The last search's root value, its ``top`` most visited moves and principal variation."""
        r = self.last_result
        if r is None:
            return None
        visits = r.visit_counts[0]
        total = int(visits.sum())
        order = np.argsort(-visits, kind="stable")[:top]
        moves = [MoveStat(int(a), self.game.format_move(int(a)), int(visits[a]), visits[a] / max(total, 1),
                          float(r.q_values[0, a]), float(r.priors[0, a]))
                 for a in order if r.legal_mask[0, a]]
        return SearchAnalysis(self._searched_for, float(r.root_value[0]), total, moves,
                              [self.game.format_move(int(a)) for a in r.pv(0)])


#: The config's field names as the spec's options name them, in the order they are replaced.
SPEC_NAMES = {"mcts.num_simulations": "sims", "mcts.c_puct": "c", "mcts.policy_temperature": "ptemp",
              "mcts.fpu_mode": "fpumode", "mcts.fpu_value": "fpu", "mcts.cpuct_stdev_scale": "cstdev",
              "mcts.opponent_explore": "oppc", "mcts.": ""}


def search_config(kind: str, o: dict, **extra) -> MCTSConfig:
    """The search of a ``mcts:`` or ``net:`` spec from its options (sims, c, gumbel, solve, lcb, seed, temp;
    ptemp, fpu, fpumode, cstdev, oppc and passrule where the spec has them), refused in the words of the
    spec rather than of the config's fields."""
    if o["temp"] < 0:
        raise PlayerSpecError(f"{kind}: temp={o['temp']:g} must be 0 (best move) or more")
    try:
        return MCTSConfig(num_simulations=o["sims"], c_puct=o["c"], gumbel=o["gumbel"], solver=o["solve"],
                          lcb=o["lcb"], policy_temperature=o.get("ptemp", 1.0),
                          fpu_mode=o.get("fpumode", "reduction"), fpu_value=o.get("fpu", 0.25),
                          cpuct_stdev_scale=o.get("cstdev", 0.0), opponent_explore=o.get("oppc", 1.0),
                          pass_rule=o.get("passrule", False),
                          seed=None if o["seed"] < 0 else o["seed"], **extra)
    except MCTSConfigError as e:
        message = str(e)
        for field, option in SPEC_NAMES.items():
            message = message.replace(field, option)
        raise PlayerSpecError(f"{kind}: {message}") from None


def make_mcts(game: Game, options: dict[str, str], context: dict) -> MCTSPlayer:
    """Factory for PLAYER_FACTORIES["mcts"]."""
    o = read_options("mcts", options, sims=800, c=3.0, eval="rollout", rollouts=1, temp=0.0, seed=-1,
                     gumbel=False, reuse=True, solve=False, lcb=0.0, passrule=False)
    if o["eval"] not in EVALUATORS:
        raise PlayerSpecError(f"mcts: eval={o['eval']!r} is not one of {', '.join(EVALUATORS)}")
    if o["rollouts"] != 1 and o["eval"] != "rollout":
        raise PlayerSpecError("mcts: rollouts only applies to eval=rollout")
    evaluator = RolloutEvaluator(o["rollouts"]) if o["eval"] == "rollout" else UniformEvaluator()
    config = search_config("mcts", o, tree_reuse=o["reuse"])
    flags = (",gumbel" if o["gumbel"] else "") + (",solve" if o["solve"] else "") + \
        (f",lcb={o['lcb']:g}" if o["lcb"] else "") + (",passrule" if o["passrule"] else "")
    name = f"mcts(sims={o['sims']},eval={o['eval']}{flags})"
    return MCTSPlayer(game, evaluator, config, temperature=o["temp"], name=name)
