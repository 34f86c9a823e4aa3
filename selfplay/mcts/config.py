"""The typed configuration of a search, checked when it is built.

Only the search reads this object: the kernels receive its numbers as a small float array
(see ``params``), so no config object leaks into compiled code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from selfplay.mcts.errors import MCTSConfigError

# Slots of the parameter array the kernels read (see MCTSConfig.params).
(C_PUCT, C_BASE, FPU_VALUE, FPU_MODE, SIGN, VIRTUAL_LOSS, GUMBEL, VALUE_SCALE, MAXVISIT_INIT, FORCED_K,
 DISCOUNT, SOLVER, SQUARES, STDEV_SCALE, STDEV_PRIOR, STDEV_WEIGHT, CONTEMPT, OPPONENT_EXPLORE) = range(18)
NUM_PARAMS = 18

#: The FPU_MODE slot holds the mode's index here.
FPU_MODES = ("reduction", "absolute", "scaled")
FPU_REDUCTION, FPU_ABSOLUTE, FPU_SCALED = range(len(FPU_MODES))


@dataclass(frozen=True)
class MCTSConfig:
    """How to search. Values are in [-1, 1] from the point of view of the player to move."""

    #: Simulations per root and per call of ``MCTS.search`` (each adds one visit below the root).
    num_simulations: int = 800
    #: PUCT exploration constant: score = Q + c * prior * sqrt(N_parent) / (1 + N_child).
    c_puct: float = 1.25
    #: When > 0, c grows with the parent's visits as in AlphaZero: c_puct + log((N + c_base + 1) / c_base).
    c_base: float = 0.0
    #: KataGo's dynamic cPUCT: c scaled by 1 + cpuct_stdev_scale * (stdev / cpuct_stdev_prior - 1),
    #: stdev that of the values backed up through the node, blended with cpuct_stdev_prior at
    #: the weight of cpuct_stdev_prior_weight values (KataGo: 0.85, 0.4, 2; 0 = off). A settled
    #: node (every line lost, or won) explores less, so small differences in Q decide; a
    #: volatile one explores more. One walk per round only (virtual loss would skew the spread).
    cpuct_stdev_scale: float = 0.0
    cpuct_stdev_prior: float = 0.4
    cpuct_stdev_prior_weight: float = 2.0
    #: First-play urgency, the Q of an unvisited child: "reduction" = the parent's value minus
    #: fpu_value, "absolute" = fpu_value itself (1.0 tries every child once before revisiting one),
    #: "scaled" = the parent's value minus fpu_value * sqrt(the prior mass of its visited children)
    #: (Leela Zero, KataGo): a node with few moves tried looks wider before it narrows.
    fpu_mode: str = "reduction"
    fpu_value: float = 0.25
    #: Root Dirichlet noise: prior = (1 - fraction) * prior + fraction * Dir(alpha); 0 = off.
    dirichlet_alpha: float = 0.3
    dirichlet_fraction: float = 0.0
    #: Leaves selected per tree in one round of the batched path (virtual loss keeps them apart).
    leaves_per_round: int = 1
    #: Value counted against a node while a selected leaf below it waits for its evaluation.
    virtual_loss: float = 1.0
    #: Two players alternate (negamax backup); False = one agent, values backed up unchanged.
    two_player: bool = True
    #: A value backed up one ply is multiplied by this: the search then prefers the faster of
    #: two wins and the slower of two losses. It must be the discount the network's values were
    #: trained with (NetworkConfig.value_discount); 1 = AlphaZero's undiscounted result.
    value_discount: float = 1.0
    #: MCTS-Solver: prove nodes from the terminal positions the search reaches (a move that
    #: wins, or every move settled), search proven nodes no further, and play a proven win
    #: and never a proven loss while another move is open. Two-player games only.
    solver: bool = False
    #: The priors the search expands with are the network's softmax at this temperature (Leela
    #: Chess Zero's policy temperature; 1 = as trained): above 1 they spread over moves the
    #: policy underrates, so the search looks at them sooner.
    policy_temperature: float = 1.0
    #: Leela Zero's move choice at temperature 0: the child with the highest lower confidence
    #: bound, mean value - lcb * its standard error, among those with at least lcb_min_share of
    #: the most visited child's visits (0 = the most visited child, AlphaZero's choice). A move
    #: found late, with a clearly better value but fewer visits, is then played.
    lcb: float = 0.0
    lcb_min_share: float = 0.1
    #: Leela Zero's pass rule at play time (games that end on passes, mcts.passing): pass after
    #: the opponent's pass where the count wins, and never into a tied or lost count while another
    #: move is about as good. Players apply it to the move the search chose; self-play does not.
    pass_rule: bool = False
    #: Leela Chess Zero's contempt: a draw is worth -contempt to the player to move at the root
    #: and +contempt to its opponent (zero-sum, so the negamax backup holds), so the search plays
    #: for the win in a position its network calls drawn. Draws are read from the evaluator's
    #: win/draw/loss probabilities (``reports_draws``) and from terminal positions. A player's
    #: option against a weaker opponent; a tree shared by both sides (self-play) cannot use it.
    contempt: float = 0.0
    #: Exploration at the nodes where the root's opponent is to move is this many times the
    #: usual (1 = the same search for both sides). Above 1 the opponent's replies get visits
    #: closer to the network's priors, whatever their values, so a line is worth nearer the
    #: average over the replies the policy expects than the best reply's value: the opponent is
    #: modelled as a player of the policy's moves, weaker than the search (a search-time cousin
    #: of KataGo's playout doubling advantage for handicap games). A player's option against a
    #: weaker opponent, like contempt; PUCT in a two-player game only.
    opponent_explore: float = 1.0
    #: Keep the chosen child's subtree and statistics when the game advances.
    tree_reuse: bool = True
    #: Node slots per tree allocated up front; 0 = enough for one search from an empty tree.
    initial_nodes: int = 0
    #: Double the node budget when a tree fills it; False = raise NodeBudgetError instead.
    grow_nodes: bool = True
    #: Run the whole search in one kernel call when the evaluator is itself a kernel.
    fused: bool = True
    #: KataGo's forced playouts (Wu, 2019): a root child with prior P gets at least
    #: sqrt(k * P * N_root) visits, k this number (KataGo: 2; 0 = off), so that noise-boosted
    #: moves are really looked at; the policy target then prunes those visits back
    #: (SearchResult.policy), so the network is not taught the forced ones.
    forced_playouts: float = 0.0
    #: Gumbel root selection with sequential halving (Danihelka et al., 2022) instead of PUCT.
    gumbel: bool = False
    #: Actions sequential halving starts from (the top ones by Gumbel noise + prior logit).
    gumbel_considered: int = 16
    #: Scale of the Gumbel noise; 0 = deterministic (evaluation play).
    gumbel_scale: float = 1.0
    #: sigma(q) = (maxvisit_init + max child visits) * value_scale * q, q rescaled to [0, 1].
    value_scale: float = 0.1
    maxvisit_init: float = 50.0
    #: Longest principal variation reported.
    pv_length: int = 32
    #: Seed of the search's random draws; None = fresh entropy.
    seed: int | None = None

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Raise MCTSConfigError naming the first field with a value the search cannot use."""
        _typed(self)
        _at_least(self, "num_simulations", 0)
        _at_least(self, "leaves_per_round", 1)
        _at_least(self, "initial_nodes", 0)
        _at_least(self, "gumbel_considered", 1)
        _at_least(self, "pv_length", 0)
        for name in ("c_puct", "c_base", "dirichlet_alpha", "virtual_loss", "gumbel_scale", "value_scale",
                     "maxvisit_init", "forced_playouts", "lcb", "cpuct_stdev_scale", "cpuct_stdev_prior_weight"):
            _at_least(self, name, 0.0)
        if self.dirichlet_fraction > 0 and self.dirichlet_alpha <= 0:
            raise MCTSConfigError("mcts.dirichlet_alpha must be > 0 when dirichlet_fraction > 0")
        if not 0.0 <= self.dirichlet_fraction <= 1.0:
            raise MCTSConfigError(f"mcts.dirichlet_fraction must be in [0, 1], got {self.dirichlet_fraction}")
        if self.fpu_mode not in FPU_MODES:
            raise MCTSConfigError(f"mcts.fpu_mode must be one of {', '.join(FPU_MODES)}, got {self.fpu_mode!r}")
        if self.solver and not self.two_player:
            raise MCTSConfigError("mcts.solver needs a two-player game: one agent's returns have no win to prove")
        if self.cpuct_stdev_prior <= 0:
            raise MCTSConfigError(f"mcts.cpuct_stdev_prior must be > 0, got {self.cpuct_stdev_prior}")
        if self.cpuct_stdev_scale > 0 and self.leaves_per_round > 1:
            raise MCTSConfigError("mcts.cpuct_stdev_scale needs leaves_per_round = 1: the virtual loss of "
                                  "leaves in flight would count in the spread of the values")
        if self.policy_temperature <= 0:
            raise MCTSConfigError(f"mcts.policy_temperature must be > 0, got {self.policy_temperature}")
        if not 0.0 <= self.lcb_min_share <= 1.0:
            raise MCTSConfigError(f"mcts.lcb_min_share must be in [0, 1], got {self.lcb_min_share}")
        if self.lcb > 0 and self.gumbel:
            raise MCTSConfigError("mcts.lcb chooses among PUCT's visits; Gumbel search chooses its own move (set one)")
        if not 0.0 < self.value_discount <= 1.0:
            raise MCTSConfigError(f"mcts.value_discount must be in (0, 1], got {self.value_discount}")
        if not 0.0 <= self.contempt <= 1.0:
            raise MCTSConfigError(f"mcts.contempt must be in [0, 1], got {self.contempt}")
        if self.opponent_explore <= 0:
            raise MCTSConfigError(f"mcts.opponent_explore must be > 0, got {self.opponent_explore}")
        if self.opponent_explore != 1 and (self.gumbel or not self.two_player):
            raise MCTSConfigError("mcts.opponent_explore needs PUCT search in a two-player game (the Gumbel "
                                  "rules and one agent have no opponent's nodes to explore)")
        if self.contempt > 0 and (self.solver or not self.two_player):
            raise MCTSConfigError("mcts.contempt needs a two-player search without the solver (a proof's draw "
                                  "is worth exactly 0)")

    def params(self) -> np.ndarray:
        """The numbers the kernels read, indexed by the slot constants of this module."""
        p = np.zeros(NUM_PARAMS, dtype=np.float64)
        p[C_PUCT] = self.c_puct
        p[C_BASE] = self.c_base
        p[FPU_VALUE] = self.fpu_value
        p[FPU_MODE] = FPU_MODES.index(self.fpu_mode)
        p[SIGN] = -1.0 if self.two_player else 1.0
        # One walk per round has nothing to keep apart from: no loss, so it matches the fused path.
        p[VIRTUAL_LOSS] = self.virtual_loss if self.leaves_per_round > 1 else 0.0
        p[GUMBEL] = 1.0 if self.gumbel else 0.0
        p[VALUE_SCALE] = self.value_scale
        p[MAXVISIT_INIT] = self.maxvisit_init
        p[FORCED_K] = self.forced_playouts
        p[DISCOUNT] = self.value_discount
        p[SOLVER] = 1.0 if self.solver else 0.0
        # Only the lower confidence bound and the dynamic cPUCT read the squared values: without
        # them backup skips them.
        p[SQUARES] = 1.0 if self.lcb > 0 or self.cpuct_stdev_scale > 0 else 0.0
        p[STDEV_SCALE] = self.cpuct_stdev_scale
        p[STDEV_PRIOR] = self.cpuct_stdev_prior
        p[STDEV_WEIGHT] = self.cpuct_stdev_prior_weight
        p[CONTEMPT] = self.contempt
        p[OPPONENT_EXPLORE] = self.opponent_explore
        return p


def _typed(config: MCTSConfig) -> None:
    for f in fields(config):
        value = getattr(config, f.name)
        if f.name == "seed":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise MCTSConfigError(f"mcts.seed must be an integer or None, got {value!r}")
            continue
        kind = type(f.default)
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not ok:
            raise MCTSConfigError(f"mcts.{f.name} must be a finite {kind.__name__}, got {value!r}")


def _at_least(config: MCTSConfig, name: str, low) -> None:
    value = getattr(config, name)
    if value < low:
        raise MCTSConfigError(f"mcts.{name} must be >= {low}, got {value}")
