import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scripted_generation import every_other_finishes

from selfplay.configio import load_config
from selfplay.llm.config import GRPOConfig, LLMConfig
from selfplay.llm.grpo import (
    STD_EPSILON,
    GRPOTrainer,
    group_advantages,
    grpo_loss,
    k3_kl,
)
from selfplay.llm.run import Setting, base_payload
from selfplay.run.checkpoint import save_checkpoint

TINY = ["task.min_digits=2", "task.max_digits=2", "model.layers=1", "model.heads=2", "model.dim=32",
        "model.context=20", "eval.problems=20", "eval.samples=0", "grpo.prompts_per_step=4", "grpo.group_size=4"]


# ---- advantages -------------------------------------------------------------------------------
def test_group_advantages_by_hand():
    rewards = torch.tensor([1.0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1])
    advantages, std = group_advantages(rewards, 4, scale=True)
    # group 1: mean 1/4, sample std sqrt((0.75^2 + 3 * 0.25^2) / 3) = 0.5
    # group 2: mean 1/2, sample std sqrt(4 * 0.25 / 3) = 0.57735; group 3: all equal, no signal
    s2 = math.sqrt(1 / 3)
    expected = [0.75 / (0.5 + STD_EPSILON)] + [-0.25 / (0.5 + STD_EPSILON)] * 3 + \
               [0.5 / (s2 + STD_EPSILON)] * 2 + [-0.5 / (s2 + STD_EPSILON)] * 2 + [0.0] * 4
    assert advantages.tolist() == pytest.approx(expected, rel=1e-5)
    assert std.tolist() == pytest.approx([0.5, s2, 0.0], rel=1e-5)
    unscaled, _ = group_advantages(rewards, 4, scale=False)  # Dr. GRPO: reward minus the group mean
    assert unscaled.tolist() == pytest.approx([0.75, -0.25, -0.25, -0.25, 0.5, 0.5, -0.5, -0.5, 0, 0, 0, 0])


def test_groups_are_consecutive_rows_and_nothing_else():
    """Changing one group's rewards changes that group's advantages only; a strided grouping
    (samples of a prompt spread over the batch) would mix them."""
    rewards = torch.tensor([1.0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0, 1])
    before, _ = group_advantages(rewards, 4, scale=True)
    changed = rewards.clone()
    changed[4:8] = torch.tensor([1.0, 1, 1, 0])
    after, _ = group_advantages(changed, 4, scale=True)
    assert torch.equal(before[:4], after[:4]) and torch.equal(before[8:], after[8:])
    assert not torch.equal(before[4:8], after[4:8])
    for g in range(3):  # every group's advantages sum to zero on their own
        assert before[4 * g:4 * g + 4].sum().abs() < 1e-5


# ---- the KL estimator -------------------------------------------------------------------------
@given(st.lists(st.floats(-20, 0), min_size=1, max_size=20), st.lists(st.floats(-20, 0), min_size=1, max_size=20))
def test_k3_is_non_negative_and_zero_when_equal(a, b):
    n = min(len(a), len(b))
    logp, ref = torch.tensor(a[:n], dtype=torch.float64), torch.tensor(b[:n], dtype=torch.float64)
    assert (k3_kl(logp, ref) >= -1e-12).all()
    assert torch.equal(k3_kl(logp, logp), torch.zeros(n, dtype=torch.float64))


def test_k3_is_an_unbiased_estimate_of_the_kl():
    """E_{x ~ p}[k3] = KL(p || q) exactly, taking the expectation over the whole support."""
    p = torch.softmax(torch.tensor([1.0, 0.2, -1.0, 2.0], dtype=torch.float64), 0)
    q = torch.softmax(torch.tensor([0.0, 0.5, 0.3, 1.0], dtype=torch.float64), 0)
    expectation = (p * k3_kl(p.log(), q.log())).sum()
    assert expectation.item() == pytest.approx((p * (p / q).log()).sum().item(), rel=1e-12)


# ---- the loss ---------------------------------------------------------------------------------
def reference_loss(logp, old, ref, adv, mask, config: GRPOConfig, max_len):
    """The DeepSeekMath objective token by token in plain Python floats."""
    high = config.epsilon_high or config.epsilon
    per_response, tokens_all = [], []
    for i in range(len(logp)):
        tokens = []
        for t in range(len(logp[i])):
            if not mask[i][t]:
                continue
            ratio = math.exp(logp[i][t] - old[i][t])
            clipped = min(max(ratio, 1 - config.epsilon), 1 + high)
            surrogate = min(ratio * adv[i], clipped * adv[i])
            d = ref[i][t] - logp[i][t]
            tokens.append(-surrogate + config.beta * (math.exp(d) - d - 1))
        per_response.append(sum(tokens) / max(len(tokens), 1))
        tokens_all += tokens
    if config.loss_type == "grpo":
        return sum(per_response) / len(per_response)
    if config.loss_type == "dapo":
        return sum(tokens_all) / len(tokens_all)
    return sum(tokens_all) / (len(logp) * max_len)


@pytest.mark.parametrize("loss_type", ["grpo", "dapo", "dr_grpo"])
@pytest.mark.parametrize("beta, epsilon_high", [(0.0, 0.0), (0.1, 0.0), (0.04, 0.28)])
def test_loss_matches_the_objective_token_by_token(loss_type, beta, epsilon_high):
    config = GRPOConfig(loss_type=loss_type, beta=beta, epsilon_high=epsilon_high)
    gen = torch.Generator().manual_seed(0)
    logp = -torch.rand(3, 5, generator=gen, dtype=torch.float64) * 3
    old = logp + torch.randn(3, 5, generator=gen, dtype=torch.float64) * 0.4
    ref = logp + torch.randn(3, 5, generator=gen, dtype=torch.float64) * 0.4
    adv = torch.tensor([1.2, -0.7, 0.3], dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 1, 1, 0, 0]], dtype=torch.bool)
    loss, metrics = grpo_loss(logp, old, ref, adv, mask, config, max_response_tokens=6)
    expected = reference_loss(logp.tolist(), old.tolist(), ref.tolist(), adv.tolist(), mask.tolist(), config, 6)
    assert loss.item() == pytest.approx(expected, rel=1e-9)
    assert metrics["kl"] >= 0


def test_clipping_by_hand():
    logp = torch.log(torch.tensor([[0.5], [0.5], [0.1], [0.1]]))
    old = torch.log(torch.tensor([[0.25], [0.25], [0.2], [0.2]]))  # ratios 2, 2, 0.5, 0.5
    adv = torch.tensor([1.0, -1.0, 1.0, -1.0])
    mask = torch.ones(4, 1, dtype=torch.bool)
    loss, m = grpo_loss(logp, old, None, adv, mask, GRPOConfig(epsilon=0.2, epsilon_high=0.3), 1)
    # per response: -min(2, 1.3) = -1.3; -min(-2, -1.3) = 2; -min(0.5, 0.8) = -0.5; -min(-0.5, -0.8) = 0.8
    assert loss.item() == pytest.approx((-1.3 + 2 - 0.5 + 0.8) / 4, rel=1e-6)
    assert m["clip_ratio/high_mean"] == pytest.approx(0.25)  # ratio 2 with A > 0 is clipped
    assert m["clip_ratio/low_mean"] == pytest.approx(0.25)   # ratio 0.5 with A < 0 is clipped
    assert m["clip_ratio/region_mean"] == pytest.approx(0.5)
    assert "kl" not in m


def test_equal_policies_give_the_plain_policy_gradient():
    logp = torch.log(torch.tensor([[0.3, 0.6], [0.2, 0.9]])).requires_grad_()
    adv = torch.tensor([2.0, -1.0])
    mask = torch.tensor([[True, True], [True, False]])
    loss, m = grpo_loss(logp, logp.detach(), logp.detach(), adv, mask, GRPOConfig(beta=0.5), 2)
    loss.backward()
    # ratio 1 everywhere, KL 0 with zero gradient: d loss / d logp = -A / |o| / N
    assert logp.grad.flatten().tolist() == pytest.approx([-0.5, -0.5, 0.5, 0.0])
    assert m["kl"] == 0 and m["clip_ratio/region_mean"] == 0


# ---- the trainer ------------------------------------------------------------------------------
def sft_checkpoint(tmp_path, overrides=()):
    config = load_config(LLMConfig, None, [*TINY, *overrides])
    setting = Setting.build(config)
    model = setting.new_model()
    path = tmp_path / "init.pt"
    save_checkpoint(path, base_payload(setting, model, torch.optim.AdamW(model.parameters()), 7,
                                       np.random.default_rng(0)))
    return setting, path


def test_no_reference_model_when_beta_is_zero(tmp_path):
    setting, init = sft_checkpoint(tmp_path, ["grpo.beta=0.0"])
    assert GRPOTrainer(setting, tmp_path / "a", init, log=lambda m: None).ref_model is None
    setting, init = sft_checkpoint(tmp_path, ["grpo.beta=0.04"])
    trainer = GRPOTrainer(setting, tmp_path / "b", init, log=lambda m: None)
    assert trainer.ref_model is not None and trainer.ref_model is not trainer.model
    assert not any(p.requires_grad for p in trainer.ref_model.parameters())


def test_rollouts_keep_each_prompts_samples_together(tmp_path):
    setting, init = sft_checkpoint(tmp_path)
    trainer = GRPOTrainer(setting, tmp_path / "run", init, log=lambda m: None)
    batch = trainer.collect()
    g, tok = 4, setting.tokenizer
    assert len(batch.problems) == 4 and len(batch.rewards) == 16
    for row in range(16):
        problem = batch.problems[row // g]
        prompt = tok.prompt_ids(setting.task.prompt(problem))
        assert batch.tokens[row, :len(prompt)].tolist() == prompt
        assert batch.rewards[row].item() == setting.task.reward(problem, batch.texts[row])
        response = batch.tokens[row, len(prompt):][batch.mask[row, len(prompt) - 1:]]
        assert tok.response_text(response.tolist()) == batch.texts[row]
        assert not setting.task.is_heldout(problem)


def test_dynamic_sampling_replaces_zero_std_groups(tmp_path, monkeypatch):
    setting, init = sft_checkpoint(tmp_path, ["grpo.dynamic_sampling=true", "grpo.max_resample_rounds=3"])
    trainer = GRPOTrainer(setting, tmp_path / "run", init, log=lambda m: None)
    real = trainer.sample_groups
    calls = []

    def scripted(problems):  # first round: only the first prompt's group has mixed rewards
        prompts, responses, texts, rewards = real(problems)
        pattern = [1.0, 0, 0, 0] if not calls else [0.0, 1, 1, 1]
        rewards = torch.tensor([pattern if i == 0 else [0.0] * 4 for i in range(len(problems))]).reshape(-1)
        calls.append(len(problems))
        return prompts, responses, texts, rewards

    monkeypatch.setattr(trainer, "sample_groups", scripted)
    batch = trainer.collect()
    assert calls == [4, 3, 2, 1]            # each round asks for the prompts still missing
    assert batch.zero_std_share == 0.75     # three of the four first groups had no signal
    assert len(batch.problems) == 4 and batch.rounds == 4
    assert all(batch.rewards.view(-1, 4).std(dim=1) > 0)


def test_a_step_logs_what_trl_users_expect(tmp_path):
    setting, init = sft_checkpoint(tmp_path, ["grpo.num_iterations=2", "grpo.minibatches=2", "grpo.beta=0.04"])
    trainer = GRPOTrainer(setting, tmp_path / "run", init, log=lambda m: None)
    before = [p.detach().clone() for p in trainer.model.parameters()]
    metrics = trainer.train_step()
    for key in ("reward", "reward_std", "kl", "entropy", "clip_ratio/region_mean", "completions/mean_length",
                "frac_reward_zero_std", "losses/policy_loss", "losses/approx_kl"):
        assert key in metrics and np.isfinite(metrics[key]), key
    if metrics["frac_reward_zero_std"] < 1:
        assert any(not torch.equal(a, b) for a, b in zip(before, trainer.model.parameters()))
    assert trainer.curve_step() == 7  # the SFT step it started from; no GRPO step counted yet


# ---- KL to the reference, measured and logged always (issue 17) -------------------------------
def test_reference_kl_by_hand():
    """Two fixed next-token distributions over a 18-token vocabulary: the exact KL and k3."""
    from selfplay.llm.grpo import reference_kl

    def fixed(logits_row):
        def model(tokens):
            return torch.tensor(logits_row).repeat(tokens.shape[0], tokens.shape[1], 1), None
        return model

    vocab = 18
    p_row, q_row = [0.0] * vocab, [0.0] * vocab
    p_row[5], q_row[6] = math.log(3.0), math.log(3.0)  # PAD (0) gets weight too, but it is masked
    tokens = torch.tensor([[1, 5, 6]])
    mask = torch.tensor([[False, True]])                 # one response token: 6
    got = reference_kl(fixed(p_row), fixed(q_row), tokens, mask, temperature=1.0)
    legal = vocab - 3                                   # PAD, BOS, SEP masked
    z = legal - 1 + 3.0                                 # 14 tokens of weight 1, one of weight 3
    p = {5: 3 / z, 6: 1 / z}
    q = {5: 1 / z, 6: 3 / z}
    exact = p[5] * math.log(p[5] / q[5]) + p[6] * math.log(p[6] / q[6])  # the other 13 agree
    assert got["kl_ref/exact"] == pytest.approx(exact, rel=1e-5)
    d = math.log(q[6] / p[6])
    assert got["kl_ref/k3"] == pytest.approx(math.exp(d) - d - 1, rel=1e-5)


def test_kl_to_the_reference_is_logged_with_beta_zero(tmp_path, monkeypatch):
    setting, init = sft_checkpoint(tmp_path, ["grpo.beta=0.0", "grpo.learning_rate=0.01", "grpo.num_iterations=2"])
    trainer = GRPOTrainer(setting, tmp_path / "run", init, log=lambda m: None)
    collect = trainer.collect

    def half_right():  # an untrained model gets nothing right: give every group a signal
        batch = collect()
        batch.rewards = torch.arange(len(batch.rewards), device=batch.rewards.device).remainder(2).float()
        return batch

    monkeypatch.setattr(trainer, "collect", half_right)
    assert trainer.ref_model is None                    # not in the loss ...
    assert trainer.reference is not None                # ... but kept, frozen
    assert not any(p.requires_grad for p in trainer.reference.parameters())
    first = trainer.train_step()
    assert first["kl_ref/exact"] == 0.0 and first["kl_ref/k3"] == 0.0  # the sampler is the reference
    assert "losses/approx_kl" in first and "kl" not in first
    later = [trainer.train_step() for _ in range(3)]
    assert later[-1]["kl_ref/exact"] > 0 and later[-1]["kl_ref/k3"] > 0


def test_the_ratio_reads_the_distribution_that_was_sampled():
    """A model that prefers PAD, SEP and BOS: the sampler never draws them, and the log-probs the
    GRPO ratio recomputes are those of the same masked distribution: for a model whose logits
    are 16 * 0.2 = 3.2 on the digit '5' (id 10) and 0 on the 14 other legal tokens,
    log p('5') = 3.2 - log(e^3.2 + 14), by hand."""
    from selfplay.llm.grpo import token_logprobs
    from selfplay.llm.model import ModelConfig, TokenPolicyValueModel
    from selfplay.llm.sampling import generate, right_pad

    torch.manual_seed(0)
    model = TokenPolicyValueModel(18, ModelConfig(layers=1, heads=2, dim=16, context=24)).eval()
    with torch.no_grad():
        for p in model.blocks.parameters():
            p.zero_()
        model.norm.weight.zero_()
        model.norm.bias.fill_(1.0)
        model.lm_head.weight.zero_()
        model.lm_head.weight[0], model.lm_head.weight[3], model.lm_head.weight[1] = 3.0, 2.9, 2.8
        model.lm_head.weight[10] = 0.2
    prompt = [1, 6, 13, 7, 3]
    responses = generate(model, [prompt] * 64, 6, 0, 2, temperature=1.0, generator=torch.Generator().manual_seed(0))
    rows = [prompt + r[:r.index(2) + 1] if 2 in r else prompt + r for r in responses.tolist()]
    assert all(t not in (0, 1, 3) for row in rows for t in row[len(prompt):])
    tokens, mask = right_pad(rows, [len(prompt)] * len(rows), 0)
    logp, entropy = token_logprobs(model, tokens, mask, 1.0)
    assert torch.isfinite(logp).all() and torch.isfinite(entropy).all()
    five = (tokens[:, 1:] == 10) & mask
    other = ~(tokens[:, 1:] == 10) & mask
    assert five.any() and other.any()
    z = math.exp(3.2) + 14
    assert torch.allclose(logp[five], torch.tensor(3.2 - math.log(z)), atol=1e-5)
    assert torch.allclose(logp[other], torch.tensor(-math.log(z)), atol=1e-5)


def test_a_response_without_eos_scores_no_eos_score_when_set(tmp_path, monkeypatch):
    setting, init = sft_checkpoint(tmp_path, ["grpo.no_eos_score=-0.7"])
    trainer = GRPOTrainer(setting, tmp_path / "run", init, log=lambda m: None,
                          scorer=lambda problems, texts: torch.ones(len(problems)))
    monkeypatch.setattr("selfplay.llm.grpo.generate", every_other_finishes(setting))  # even rows finish
    batch = trainer.collect()
    assert batch.rewards.tolist() == pytest.approx([1.0 if i % 2 == 0 else -0.7 for i in range(16)])
    # unset (the default), the reward says what it says
    setting, init = sft_checkpoint(tmp_path)
    trainer = GRPOTrainer(setting, tmp_path / "run2", init, log=lambda m: None,
                          scorer=lambda problems, texts: torch.ones(len(problems)))
    assert trainer.collect().rewards.tolist() == [1.0] * 16


def test_observers_see_every_step_after_its_checkpoint(tmp_path):
    setting, init = sft_checkpoint(tmp_path, ["grpo.steps=3", "grpo.checkpoint_every=2"])
    trainer = GRPOTrainer(setting, tmp_path / "run", init, log=lambda m: None)
    seen = []
    trainer.after_step.append(lambda rl: seen.append((rl.step, sorted(p.name for p in rl.phase.directory.glob("*.pt")))))
    trainer.train()
    assert seen == [(1, []), (2, ["step-00000002.pt"]), (3, ["step-00000002.pt", "step-00000003.pt"])]
