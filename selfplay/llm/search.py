"""The board games' search on tokens: selfplay/mcts, unchanged, over the token game
(games/tokens.py), with a TokenPolicyValueModel as its evaluator.

The evaluator reads a leaf's prompt and response so far and gives the LM head's next-token
distribution at the last position as the priors (softmax(logits / T) over the tokens the game
allows there, only the ``top_k`` most likely kept when top_k > 0, renormalised) and the value
head there as the leaf's value; the search is single-agent (``two_player: false``: values are
backed up unchanged). A finished response's value is the game's, the verifier's reward: MCTS
decoding with this game looks at the verifier during the search, as best-of-n ranked by the
verifier does, and is compared with that oracle, not with majority voting.

Decoding plays, for every problem at once, ``simulations`` simulations then the most visited
token, keeping the chosen subtree, until every response has ended.

Model calls are counted as ``solve`` counts them (as if the model kept a KV cache, each token
position it reads counts once): a problem's root costs its prompt, every other evaluated leaf
one position (its last token; its prefix is the parent's, evaluated before).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from games.tokens import PAD, PROMPT_LEN, RESPONSE_LEN, TokenGame
from selfplay.llm.model import TokenPolicyValueModel
from selfplay.mcts import MCTS, Evaluator, LeafBatch, MCTSConfig, select_actions, visit_policy
from selfplay.mcts.tree import TERMINAL


class TokenEvaluator(Evaluator):
    """Priors from the LM head and values from the value head of ``model`` (see the module)."""

    def __init__(self, model: TokenPolicyValueModel, game: TokenGame, temperature: float = 1.0, top_k: int = 0,
                 trees: int = 1):
        self.model, self.game, self.temperature, self.top_k = model, game, temperature, top_k
        self.device = next(model.parameters()).device
        self.calls = np.zeros(trees, dtype=np.int64)  # positions read per tree, as with a KV cache (the module)

    @property
    def model_calls(self) -> int:
        return int(self.calls.sum())

    @torch.no_grad()
    def evaluate(self, batch: LeafBatch) -> tuple[np.ndarray, np.ndarray]:
        rows = [self.game.tokens(state) for state in batch.states]
        width = max(len(r) for r in rows)
        tokens = torch.full((len(rows), width), PAD, dtype=torch.long)
        for i, row in enumerate(rows):
            tokens[i, :len(row)] = torch.from_numpy(row)
        last = torch.tensor([len(r) - 1 for r in rows])
        self.model.eval()
        logits, values = self.model(tokens.to(self.device))
        index = torch.arange(len(rows))
        logits = logits[index, last.to(self.device)].float().cpu() / self.temperature
        legal = torch.from_numpy(batch.legal_mask)
        logits = logits.masked_fill(~legal, float("-inf"))
        if self.top_k and self.top_k < logits.shape[1]:
            kth = logits.topk(self.top_k, dim=1).values[:, -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        priors = F.softmax(logits, dim=1).nan_to_num(0.0)
        leaf_values = values[index, last.to(self.device)].float().cpu().clamp(-1, 1)
        prompts = batch.states[:, PROMPT_LEN]  # a root is read whole
        responses = batch.states[:, RESPONSE_LEN]
        np.add.at(self.calls, batch.tree_index, np.where(responses == 0, prompts, 1))
        return priors.numpy(), leaf_values.numpy()


def search_config(simulations: int, c_puct: float = 1.25, seed: int = 0) -> MCTSConfig:
    """One agent, PUCT with the network's priors, no root noise: a decoder's search."""
    return MCTSConfig(num_simulations=simulations, c_puct=c_puct, two_player=False, dirichlet_fraction=0.0,
                      fpu_mode="reduction", fpu_value=0.25, tree_reuse=True, seed=seed)


def mcts_decode(game: TokenGame, states: list[np.ndarray], evaluator: Evaluator, simulations: int,
                config: MCTSConfig | None = None, checked: list[set[str]] | None = None,
                policies: list[list[np.ndarray]] | None = None, temperature: float = 0.0,
                rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """The finished state of each start state: search, play a token, repeat. The token is the
    most visited one (``temperature`` 0) or drawn with probability visits ** (1 / temperature)
    (self-play's exploration, with ``rng``). ``checked[b]``, when given, collects the finished
    responses tree b's search reached (each a verifier's verdict the search read);
    ``policies[b]``, the search's visit distribution [A] at each of tree b's moves."""
    config = config or search_config(simulations)
    mcts = MCTS(game, evaluator, config, batch_size=len(states))
    mcts.set_roots([np.asarray(s, dtype=np.int64) for s in states])
    rng = rng if rng is not None else mcts.rng
    active = np.array([not game.is_terminal(s) for s in states])
    while active.any():
        result = mcts.search(simulations, active=active)
        if checked is not None:
            for b in np.flatnonzero(active):
                checked[b].update(finished_responses(game, mcts, b))
        if policies is not None:
            visits = visit_policy(result.visit_counts, 1.0)
            for b in np.flatnonzero(active):
                policies[b].append(visits[b].astype(np.float32))
        actions = np.full(len(states), -1, dtype=np.int64)  # -1: a finished response stays as it is
        actions[active] = select_actions(result.visit_counts[active], temperature, rng,
                                         fallback=result.priors[active])
        mcts.advance(actions)
        active = np.array([not game.is_terminal(s) for s in mcts.root_states])
    return [s.copy() for s in mcts.root_states]


def finished_responses(game: TokenGame, mcts: MCTS, b: int) -> list[str]:
    """The response texts of tree b's visited terminal nodes: the root's response followed by
    the tokens down to the node."""
    tree, out = mcts.tree, []
    root = game.response(mcts.root_states[b])
    for node in np.flatnonzero((tree.first_child[b, :tree.num_nodes[b]] == TERMINAL) &
                               (tree.visits[b, :tree.num_nodes[b]] > 0)):
        actions = []
        while node > 0:
            actions.append(int(tree.action[b, node]))
            node = tree.parent[b, node]
        out.append(root + "".join(game.format_move(a) for a in reversed(actions)))
    return out
