"""AlphaZero on tokens (``selfplay llm alphazero``): expert iteration with the board games' search.

Each step the current model answers ``problems_per_step`` training problems by MCTS over the
token game (search.py: the LM head's priors, the value head at the leaves, the verifier at a
finished response), drawing each token from the search's visits (visits ** (1 / temperature),
as AlphaZero's self-play does for exploration). Every position of every searched response then
gives two targets, as a board position does in selfplay/training:

    policy   pi_t, the search's visit distribution at that token       cross-entropy
    value    z, the verifier's reward of the finished response          squared error

    loss = mean_t  -sum_a pi_t(a) log p(a | s_t)  +  value_weight (V(s_t) - z)^2

with p the LM head's distribution over the tokens legal in a response (as sampling reads it).
The policy learns what search found, the value head what came of it; the next step's search
starts from both (Anthony et al. 2017, Silver et al. 2017). Model calls are the search's (token
positions read, counted as with a KV cache: search.TokenEvaluator), logged cumulatively in
eval.csv as ``model_calls`` beside GRPO's sampled positions, so the two are compared at equal
inference compute and equal wall time (``minutes``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from games.tokens import TokenGame
from selfplay.llm.rl_phase import RLPhase
from selfplay.llm.rollouts import masked_mean
from selfplay.llm.sampling import mask_not_in_response, right_pad
from selfplay.llm.search import TokenEvaluator, mcts_decode, search_config
from selfplay.llm.tasks import Problem


def alphazero_loss(logits: torch.Tensor, values: torch.Tensor, policy_targets: torch.Tensor,
                   value_targets: torch.Tensor, mask: torch.Tensor, value_weight: float):
    """Cross-entropy to the visit distributions [N, T, V] and squared error to the outcomes
    [N], over the response positions ``mask`` [N, T]; and its metrics."""
    logp = F.log_softmax(mask_not_in_response(logits.float()), dim=-1)
    cross = -torch.where(policy_targets > 0, policy_targets * logp, torch.zeros_like(logp)).sum(-1)
    policy_loss = masked_mean(cross, mask)
    value_loss = masked_mean((values.float() - value_targets[:, None]) ** 2, mask)
    with torch.no_grad():
        target_entropy = masked_mean(torch.special.entr(policy_targets).sum(-1), mask)
    return policy_loss + value_weight * value_loss, {
        "losses/policy_loss": policy_loss.item(), "losses/value_loss": value_loss.item(),
        "losses/target_entropy": target_entropy.item()}


@dataclass
class Searched:
    """One step's searched responses: tokens [N, L] (prompt + response, right-padded), the
    response positions [N, L - 1], visit targets [N, L - 1, V], outcomes [N], texts."""
    problems: list[Problem]
    tokens: torch.Tensor
    mask: torch.Tensor
    policy_targets: torch.Tensor
    outcomes: torch.Tensor
    texts: list[str]
    lengths: torch.Tensor


class AlphaZeroTrainer(RLPhase):
    name, rng_stream = "alphazero", 7

    def __init__(self, setting, run_dir, init, log=print, show_progress=False):
        super().__init__(setting, run_dir, init, log, show_progress)
        task = setting.config.task
        self.game = TokenGame(task.name, task.max_digits, task.scratchpad)
        self.model_calls = 0
        self.make_optimizer(self.model.parameters())

    def optimizer_options(self) -> dict:
        return {"betas": (0.9, 0.99)}

    @property
    def updates_per_step(self) -> int:
        return self.config.epochs * self.config.minibatches

    def extra_state(self) -> dict:
        return {"model_calls": self.model_calls}

    def load_extra_state(self, payload: dict) -> None:
        self.model_calls = int(payload.get("model_calls", 0))

    def eval_extras(self) -> dict:
        return {"model_calls": float(self.model_calls)}

    # ---- search ---------------------------------------------------------------------------
    def search(self, problems: list[Problem]) -> Searched:
        c, game = self.config, self.game
        evaluator = TokenEvaluator(self.model, game, top_k=c.top_k, trees=len(problems))
        policies: list[list[np.ndarray]] = [[] for _ in problems]
        seed = int(self.rng.integers(2**31))
        finished = mcts_decode(game, [game.start(p) for p in problems], evaluator, c.simulations,
                               search_config(c.simulations, c_puct=c.c_puct, seed=seed), policies=policies,
                               temperature=c.temperature, rng=self.rng)
        self.model_calls += evaluator.model_calls
        rows = [game.tokens(state).tolist() for state in finished]
        starts = [len(rows[i]) - len(policies[i]) for i in range(len(rows))]
        tokens, mask = right_pad(rows, starts, self.setting.tokenizer.pad_id)
        targets = torch.zeros(*mask.shape, game.num_actions)
        for i, moves in enumerate(policies):
            first = starts[i] - 1  # column of the prediction of the response's first token
            targets[i, first:first + len(moves)] = torch.from_numpy(np.stack(moves))
        device = self.setting.device
        return Searched(problems, tokens.to(device), mask.to(device), targets.to(device),
                        torch.tensor([game.terminal_value(s) for s in finished], dtype=torch.float32, device=device),
                        [game.response(s) for s in finished], torch.tensor([len(m) for m in policies], dtype=torch.float32))

    # ---- one step ---------------------------------------------------------------------------
    def train_step(self) -> dict[str, float]:
        c, s = self.config, self.setting
        calls_before = self.model_calls
        batch = self.search(s.task.sample_many(c.problems_per_step, self.rng))
        self.model.train()
        sums: dict[str, float] = {}
        n = len(batch.problems)
        for _ in range(c.epochs):
            order = torch.from_numpy(self.rng.permutation(n)).to(batch.tokens.device)
            for rows in torch.tensor_split(order, c.minibatches):
                logits, values = self.model(batch.tokens[rows, :-1])
                loss, metrics = alphazero_loss(logits, values, batch.policy_targets[rows], batch.outcomes[rows],
                                               batch.mask[rows], c.value_weight)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                metrics["losses/grad_norm"] = torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.grad_clip).item()
                self.optimizer.step()
                for key, value in metrics.items():
                    sums[key] = sums.get(key, 0.0) + value / self.updates_per_step
        self.last_batch = batch
        return {**sums, "charts/search_accuracy": batch.outcomes.mean().item(),
                "charts/response_length": batch.lengths.mean().item(),
                "charts/model_calls_per_problem": (self.model_calls - calls_before) / n}

    # ---- the loop ---------------------------------------------------------------------------
    def start_message(self) -> str:
        c = self.config
        return (f"AlphaZero on tokens from {self.init} (SFT step {self.init_step}): {c.simulations} simulations a "
                f"token, {c.problems_per_step} problems a step, tokens drawn at temperature {c.temperature}")

    def progress(self, metrics: dict[str, float]) -> tuple[dict[str, float], str]:
        return metrics, (f"search acc {metrics['charts/search_accuracy']:.3f}  "
                         f"policy {metrics['losses/policy_loss']:.3f}  value {metrics['losses/value_loss']:.3f}  "
                         f"calls/problem {metrics['charts/model_calls_per_problem']:.1f}")

    def log_completions(self, count: int = 4) -> None:
        s, batch = self.setting, self.last_batch
        lines = [f"{s.task.prompt(p)} -> {text}  (outcome {z:.0f}, answer {s.task.answer(p)})"
                 for p, text, z in zip(batch.problems[:count], batch.texts, batch.outcomes.tolist())]
        self.write_completions(lines)
