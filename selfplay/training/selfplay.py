"""Self-play: many games in lock-step through one batched MCTS, emitting training positions.

Every move of every running game is searched together, so the network sees the leaves of all
games in one forward. Per move, KataGo's playout cap randomisation: with probability
``full_search_prob`` a full search whose visit distribution becomes a policy target, otherwise
a cheap search that only picks the move (and is not recorded). The first
``temperature_moves`` moves of a game are sampled from the visits for variety; later ones take
the most visited move. Resignation ends hopeless games early, except in a share of games where
it is disabled to measure how often resigning would have been wrong. In territory games every
recorded position also gets its game's final ownership and score margin (KataGo's auxiliary
targets; none for a resigned game). A share of games can start from a few uniformly random moves
(``random_opening_share``, ``random_opening_plies``; not searched, not recorded), so that the
network also learns positions its own policy never plays into, such as those an arena's random
openings hand it. A value target can mix the full search's root value q into the result z,
``(1 - value_q_weight) z + value_q_weight q``: z is one noisy game, q what a search of that position
expects, so the mix trades z's variance for q's bias (0: AlphaZero's target, z alone).
KataGo's policy surprise weighting (``policy_surprise_weight``) writes a game's positions into
its chunk as often as they surprised the search: that share of the game's weight goes in
proportion to the KL divergence from each search's root priors (noise included, as KataGo's) to
its policy target, the rest evenly, and each position is written floor(weight) times and once
more with the fraction's probability. The copies are drawn from a generator of their own, so the
games played from one seed are the same with the weighting on or off.

A share of games can be played against a fixed opponent instead of itself (``opponent``, a player
spec such as ``expert:level=10``, in ``opponent_share`` of games, on a colour drawn per game):
AlphaStar's exploiters, training the network on the positions and results of its games against
the engine it is measured against. Only the network's moves are searched (each a full search) and
recorded, so the policy never imitates the opponent, and every value target is the game's real
result against it: a position lost by perfect play that the opponent tends to give back is worth
what it scores.
These games are always played to the end, and the opponent thinks on its own threads while the
network searches the other games.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from games import Game
from selfplay.arena.schedule import random_opening
from selfplay.configio import require
from selfplay.mcts import MCTS, Evaluator, MCTSConfig
from selfplay.mcts.eval_cache import MAX_ENTRIES as MAX_EVAL_CACHE
from selfplay.network import PRECISIONS
from selfplay.players import Player, Resignation, make_player
from selfplay.training.replay import GameChunk


@dataclass
class SelfPlayConfig:
    parallel_games: int = 64
    simulations: int = 200            # a full search, whose visits are recorded
    cheap_simulations: int = 50       # a cheap search (not recorded); = simulations disables the cap
    full_search_prob: float = 0.25
    c_puct: float = 1.25
    dirichlet_alpha: float = 1.0
    dirichlet_fraction: float = 0.25
    leaves_per_round: int = 1
    gumbel: bool = False
    forced_playouts: float = 0.0      # KataGo's k (2): forced root visits, pruned from the target; 0 = off
    temperature: float = 1.0
    temperature_moves: int = 8
    resign_threshold: float = -0.95   # resign when the root value stays below this; -1 = never
    resign_moves: int = 2             # ... for this many consecutive own moves
    resign_disabled_share: float = 0.2
    workers: int = 0                  # 0 = self-play in the learner's process
    inference_precision: str = "auto"  # the network's forward: auto (int8 with VNNI, else bf16 where native, else fp32), fp32, bf16, int8
    eval_cache: int = 65536           # positions in the network-evaluation cache (a bounded table); 0 = none
    eval_cache_fold: bool = False     # mirror-image positions share an entry (evaluated on one orientation)
    score_utility: float = 0.0        # KataGo's score utility's weight in the search's value (score head); 0 = off
    random_opening_share: float = 0.0  # share of games that start from random_opening_plies uniformly random moves
    random_opening_plies: int = 2
    value_q_weight: float = 0.0       # the full search's root value's weight in each value target; 0 = z alone
    policy_surprise_weight: float = 0.0  # share of a game's weight given by policy surprise (KataGo 0.5); 0 = off
    opponent: str = ""                # a player spec the network plays in opponent_share of games (expert:level=10)
    opponent_share: float = 0.0       # share of games against opponent instead of itself; 0 = self-play only

    def validate(self):
        require(self.parallel_games >= 1, "parallel_games must be positive")
        require(1 <= self.cheap_simulations <= self.simulations, "need 1 <= cheap_simulations <= simulations")
        require(0 < self.full_search_prob <= 1, "full_search_prob must be in (0, 1]")
        require(self.temperature > 0 and self.temperature_moves >= 0, "temperature must be > 0, temperature_moves >= 0")
        require(-1 <= self.resign_threshold <= 0, "resign_threshold must be in [-1, 0]")
        require(self.resign_moves >= 1, "resign_moves must be positive")
        require(0 <= self.resign_disabled_share <= 1, "resign_disabled_share must be in [0, 1]")
        require(self.workers >= 0, "workers must be 0 or more")
        require(self.forced_playouts >= 0, "forced_playouts must be 0 (off) or positive")
        require(not (self.gumbel and self.forced_playouts), "forced_playouts is for PUCT search, not gumbel")
        require(self.inference_precision in PRECISIONS,
                f"inference_precision must be one of {', '.join(PRECISIONS)}, got {self.inference_precision!r}")
        require(0 <= self.eval_cache <= MAX_EVAL_CACHE, f"eval_cache must be 0 (none) to {MAX_EVAL_CACHE:,} positions")
        require(0 <= self.score_utility <= 1, f"score_utility must be 0 (off) to 1, got {self.score_utility}")
        require(0 <= self.random_opening_share <= 1,
                f"random_opening_share must be 0 (off) to 1, got {self.random_opening_share}")
        require(0 <= self.value_q_weight <= 1, f"value_q_weight must be 0 (z alone) to 1, got {self.value_q_weight}")
        require(0 <= self.policy_surprise_weight <= 1,
                f"policy_surprise_weight must be 0 (off) to 1, got {self.policy_surprise_weight}")
        require(self.random_opening_plies >= 1, f"random_opening_plies must be positive, got {self.random_opening_plies}")
        require(not self.gumbel or self.cheap_simulations == self.simulations,
                "gumbel search records its improved policy on every move: set cheap_simulations = simulations")
        require(0 <= self.opponent_share <= 1, f"opponent_share must be 0 (off) to 1, got {self.opponent_share}")
        require(not self.opponent_share or self.opponent.strip(),
                "opponent_share needs an opponent: a player spec such as expert:level=10")
        require(not (self.opponent_share and self.gumbel), "games against an opponent need PUCT search, not gumbel")

    def mcts_config(self, seed: int | None, value_discount: float = 1.0) -> MCTSConfig:
        return MCTSConfig(num_simulations=self.simulations, c_puct=self.c_puct, dirichlet_alpha=self.dirichlet_alpha,
                          dirichlet_fraction=self.dirichlet_fraction, leaves_per_round=self.leaves_per_round,
                          gumbel=self.gumbel, forced_playouts=self.forced_playouts, value_discount=value_discount,
                          seed=seed)


@dataclass
class _Slot:
    """One running game: its recorded positions and resignation bookkeeping."""
    planes: list = field(default_factory=list)
    policies: list = field(default_factory=list)
    players: list = field(default_factory=list)
    plies: list = field(default_factory=list)  # moves played before each recorded position
    root_values: list = field(default_factory=list)  # each recorded position's search value, its mover's view
    surprises: list = field(default_factory=list)  # KL(policy target || the search's root priors) of each
    moves: int = 0
    resign_allowed: bool = True
    low_streak: list = field(default_factory=lambda: [0, 0])  # consecutive low values per player
    would_resign: int = -1  # player who would have resigned first (resignation disabled), -1 none
    opponent: int = -1      # the player (0 first, 1 second) the opponent plays; -1: self-play


@dataclass
class SelfPlayStats:
    games: int = 0
    positions: int = 0
    moves: int = 0
    simulations: int = 0
    seconds: float = 0.0
    resigned: int = 0
    resign_checks: int = 0   # games with resignation disabled where someone would have resigned
    false_resigns: int = 0   # ... and that player did not lose
    outcomes: list = field(default_factory=lambda: [0, 0, 0])  # first player wins, draws, second wins
    cache_lookups: int = 0   # leaves asked of the evaluation cache (0 without one)
    cache_hits: int = 0      # ... answered without a network forward of their own
    opponent_games: int = 0  # games against the opponent (counted in games too)
    opponent_points: float = 0.0  # ... the network's score in them: a win 1, a draw 1/2

    def merge(self, other: "SelfPlayStats") -> None:
        for name in ("games", "positions", "moves", "simulations", "seconds", "resigned", "resign_checks",
                     "false_resigns", "cache_lookups", "cache_hits", "opponent_games", "opponent_points"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.outcomes = [a + b for a, b in zip(self.outcomes, other.outcomes)]


class SelfPlay:
    """Keeps ``parallel_games`` games running; ``play(n)`` returns once n more have finished.
    ``value_discount`` is the network's (NetworkConfig.value_discount): the search backs values
    up with it and each position's value target is the result times it per ply to the end."""

    def __init__(self, game: Game, evaluator: Evaluator, config: SelfPlayConfig, seed: int | None = None,
                 value_discount: float = 1.0):
        self.game = game
        self.config = config
        self.value_discount = value_discount
        self.rng = np.random.default_rng(seed)
        self.copy_rng = np.random.default_rng(None if seed is None else [seed, 1])  # surprise copies only
        self.mcts = MCTS(game, evaluator, config.mcts_config(int(self.rng.integers(2**31)), value_discount),
                         config.parallel_games)
        self.opponents: list[Player | None] = [None] * config.parallel_games  # one per slot, kept across games
        self.pool: ThreadPoolExecutor | None = None  # the opponents' moves, made while the network searches
        self.slots = [self._new_game(b) for b in range(config.parallel_games)]
        self.territory = game.final_ownership(game.initial_state()) is not None  # ownership targets to record

    def _new_game(self, b: int) -> _Slot:
        c = self.config
        slot = _Slot(resign_allowed=bool(self.rng.random() >= c.resign_disabled_share))
        state = self.game.initial_state()
        opening = ()
        if c.random_opening_share and self.rng.random() < c.random_opening_share:
            opening = random_opening(self.game, c.random_opening_plies, self.rng)
            for action in opening:
                state = self.game.step(state, action)
            slot.moves = c.random_opening_plies  # the game's ply count: temperature and discount read it
        if c.opponent_share and self.rng.random() < c.opponent_share:
            slot.opponent, slot.resign_allowed = int(self.rng.integers(2)), False
            self._start_opponent(b, opening)
        self.mcts.set_root(b, state)
        return slot

    def _start_opponent(self, b: int, opening) -> None:
        """Slot ``b``'s opponent, made on first use, told of a new game and its opening moves."""
        if self.opponents[b] is None:
            self.opponents[b] = make_player(self.config.opponent, self.game)
        opponent, state = self.opponents[b], self.game.initial_state()
        opponent.reset(self.game)
        for action in opening:
            opponent.observe(self.game, state, action)
            state = self.game.step(state, action)

    def _opponents_turn(self) -> np.ndarray:
        """Which games the opponent is to move in (none without opponents: self-play pays nothing)."""
        if not self.config.opponent_share:
            return np.zeros(self.config.parallel_games, dtype=np.bool_)
        return np.array([slot.opponent == self.game.to_play(self.mcts.root_states[b])
                         for b, slot in enumerate(self.slots)])

    def _ask_opponents(self, theirs: np.ndarray) -> dict:
        """Start the opponents' moves in the games where it is their turn (futures by slot)."""
        if not theirs.any():
            return {}
        if self.pool is None:
            self.pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="opponent")
        return {b: self.pool.submit(self.opponents[b].select_move, self.game, self.mcts.root_states[b].copy())
                for b in np.flatnonzero(theirs)}

    def play(self, num_games: int, max_rounds: int | None = None) -> tuple[GameChunk, SelfPlayStats]:
        """Play until ``num_games`` games finish (other games keep running for the next call), or
        sooner after ``max_rounds`` rounds of one move in every game (a benchmark's time slice:
        a thousand 9x9 games take minutes to finish one)."""
        stats = SelfPlayStats()
        rounds = 0
        finished: list[tuple[_Slot, tuple]] = []
        evaluator = self.mcts.evaluator
        lookups_before, hits_before = getattr(evaluator, "cache_lookups", 0), getattr(evaluator, "cache_hits", 0)
        t0 = time.perf_counter()
        while len(finished) < num_games and (max_rounds is None or rounds < max_rounds):
            rounds += 1
            theirs = self._opponents_turn()
            asked = self._ask_opponents(theirs)
            full, targets, priors, root_value, actions = self._search(stats, ~theirs)
            resigned = self._record_and_check(targets, priors, root_value, full, ~theirs)
            for b, move in asked.items():
                try:
                    actions[b] = move.result()
                except Resignation:
                    resigned[b] = True
            self._tell_opponents(np.where(resigned, -1, actions))
            self.mcts.advance(np.where(resigned, -1, actions))
            for b, slot in enumerate(self.slots):
                state = self.mcts.root_states[b]
                final = None
                if resigned[b]:
                    returns = (-1.0, 1.0) if self.game.to_play(state) == 0 else (1.0, -1.0)
                else:
                    slot.moves += 1
                    stats.moves += 1
                    if not self.game.is_terminal(state):
                        continue
                    returns = self.game.returns(state)
                    final = self.game.final_ownership(state)
                finished.append((slot, returns, final))
                stats.resigned += int(resigned[b])
                self._count_outcome(slot, returns, stats)
                self.slots[b] = self._new_game(b)
        stats.seconds = time.perf_counter() - t0
        stats.cache_lookups = getattr(evaluator, "cache_lookups", 0) - lookups_before
        stats.cache_hits = getattr(evaluator, "cache_hits", 0) - hits_before
        return self._chunk(finished, stats), stats

    def _tell_opponents(self, actions: np.ndarray) -> None:
        """Every move of an opponent's game, either side's, is shown to the opponent."""
        if not self.config.opponent_share:
            return
        for b, slot in enumerate(self.slots):
            if slot.opponent >= 0 and actions[b] >= 0:
                self.opponents[b].observe(self.game, self.mcts.root_states[b], int(actions[b]))

    def close(self) -> None:
        """Stop the opponents' engines and threads (also done when the process exits)."""
        for opponent in self.opponents:
            if opponent is not None and hasattr(opponent, "close"):
                opponent.close()
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None

    def _search(self, stats: SelfPlayStats, mine: np.ndarray):
        """Search the games where the network is to move (``mine``); returns (full-search flags,
        policy targets, the root priors the targets' searches used, root values, moves: -1 in
        the others)."""
        c = self.config
        full = self.rng.random(c.parallel_games) < c.full_search_prob
        if c.cheap_simulations == c.simulations:
            full[:] = True
        if c.opponent_share:  # the opponent's thinking costs more than a full search of every move
            full |= np.array([slot.opponent >= 0 for slot in self.slots])
        full &= mine
        if not mine.any():
            empty = np.zeros((c.parallel_games, self.game.num_actions), dtype=np.float32)
            return full, empty, empty.copy(), np.zeros(c.parallel_games), np.full(c.parallel_games, -1)
        result = self.mcts.search(c.cheap_simulations, active=None if mine.all() else mine)
        stats.simulations += c.cheap_simulations * int(mine.sum())
        targets, priors, root_value = result.policy(), result.priors.copy(), result.root_value.copy()
        if c.cheap_simulations < c.simulations and full.any():
            extra = c.simulations - c.cheap_simulations
            deep = self.mcts.search(extra, active=full)
            stats.simulations += extra * int(full.sum())
            targets[full], priors[full] = deep.policy()[full], deep.priors[full]
            root_value[full] = deep.root_value[full]
            result.visit_counts[full] = deep.visit_counts[full]
        if c.gumbel:
            actions = result.select_actions(0.0, self.rng)
        else:
            actions = np.array([_choose(result.visit_counts[b], c.temperature if slot.moves < c.temperature_moves
                                        else 0.0, self.rng) if mine[b] else -1 for b, slot in enumerate(self.slots)])
        return full, targets, priors, root_value, actions

    def _record_and_check(self, targets, priors, root_value, full, mine) -> np.ndarray:
        """Record the full-search positions; return which games the player to move resigns (in
        self-play games, where the network searched)."""
        c = self.config
        resigned = np.zeros(c.parallel_games, dtype=np.bool_)
        for b, slot in enumerate(self.slots):
            if not mine[b]:
                continue
            state = self.mcts.root_states[b]
            player = self.game.to_play(state)
            if full[b] and targets[b].sum() > 0:
                slot.planes.append(self.game.encode(state).astype(np.uint8))
                target = targets[b] / targets[b].sum()
                slot.policies.append(target)
                slot.players.append(player)
                slot.plies.append(slot.moves)
                slot.root_values.append(float(root_value[b]))
                if c.policy_surprise_weight:  # off: no KL per recorded position
                    slot.surprises.append(policy_surprise(target, priors[b]))
            if c.resign_threshold <= -1 or slot.opponent >= 0:
                continue
            low = root_value[b] < c.resign_threshold
            slot.low_streak[player] = slot.low_streak[player] + 1 if low else 0
            if slot.low_streak[player] >= c.resign_moves:
                if slot.resign_allowed:
                    resigned[b] = True
                elif slot.would_resign < 0:
                    slot.would_resign = player
        return resigned

    @staticmethod
    def _count_outcome(slot: _Slot, returns, stats: SelfPlayStats) -> None:
        stats.games += 1
        stats.outcomes[0 if returns[0] > 0 else 2 if returns[0] < 0 else 1] += 1
        if slot.would_resign >= 0:
            stats.resign_checks += 1
            stats.false_resigns += int(returns[slot.would_resign] >= 0)
        if slot.opponent >= 0:
            stats.opponent_games += 1
            stats.opponent_points += (returns[1 - slot.opponent] + 1) / 2

    def _chunk(self, finished, stats: SelfPlayStats) -> GameChunk:
        planes, policies, values, owners, scores, copies = [], [], [], [], [], []
        c, h, w = self.game.obs_shape
        q_weight, surprise_share = self.config.value_q_weight, self.config.policy_surprise_weight
        for slot, returns, final in finished:
            if surprise_share:
                weights = surprise_weights(np.array(slot.surprises), surprise_share)
                copies.append(weights.astype(np.int64) + (self.copy_rng.random(len(weights)) < weights % 1))
            planes += slot.planes
            policies += slot.policies
            # the result z, discounted per ply from the position to the end (a resigned game ends
            # at the resignation), mixed with the search's root value q; a discount of 1 and a
            # weight of 0 leave AlphaZero's targets exactly as they were
            values += [(1 - q_weight) * returns[p] * self.value_discount ** (slot.moves - t) + q_weight * q
                       for p, t, q in zip(slot.players, slot.plies, slot.root_values)]
            signs = [1 - 2 * p for p in slot.players]  # the first player's view -> the mover's
            if final is None:
                owners += [np.zeros((h, w), np.int8)] * len(signs)
                scores += [np.nan] * len(signs)
            else:
                owners += [(sign * final[0]).astype(np.int8) for sign in signs]
                scores += [sign * final[1] for sign in signs]
        chunk = GameChunk(
            planes=np.array(planes, dtype=np.uint8).reshape(-1, c, h, w),
            policy=np.array(policies, dtype=np.float32).reshape(-1, self.game.num_actions),
            value=np.array(values, dtype=np.float32), games=len(finished), model_step=-1,
            ownership=np.array(owners, dtype=np.int8).reshape(-1, h, w) if self.territory else None,
            score=np.array(scores, dtype=np.float32) if self.territory else None)
        if surprise_share and finished:
            chunk = chunk.repeated(np.concatenate(copies))
        stats.positions = len(chunk)
        return chunk


def policy_surprise(target: np.ndarray, priors: np.ndarray) -> float:
    """KL(target || priors) in nats: how much the search moved the network's policy here."""
    support = target > 0
    return max(0.0, float(np.sum(target[support] * (np.log(target[support]) -
                                                     np.log(np.maximum(priors[support], 1e-12))))))


def surprise_weights(surprises: np.ndarray, share: float) -> np.ndarray:
    """One game's frequency weights (they sum to its number of positions): ``1 - share`` each,
    and ``share`` of the total in proportion to each position's surprise (evenly if none is)."""
    n, total = len(surprises), float(np.sum(surprises))
    if n == 0 or total <= 0:
        return np.ones(n)
    return (1 - share) + share * n * surprises / total


def _choose(visits: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    if temperature == 0:
        best = np.flatnonzero(visits == visits.max())
        return int(rng.choice(best))
    weights = visits.astype(np.float64) ** (1.0 / temperature)
    return int(rng.choice(len(visits), p=weights / weights.sum()))
