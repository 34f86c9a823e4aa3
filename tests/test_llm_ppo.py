import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scripted_generation import every_other_finishes

from selfplay.cli import main
from selfplay.configio import ConfigError, load_config
from selfplay.llm.config import LLMConfig, PPOConfig
from selfplay.llm.ppo import (
    AdaptiveKLController,
    PPOTrainer,
    explained_variance,
    gae,
    ppo_loss,
    shaped_rewards,
    whiten,
)
from selfplay.llm.run import Setting, base_payload
from selfplay.llm.sft import SFTTrainer
from selfplay.run.checkpoint import save_checkpoint
from selfplay.run.directory import RunDir, read_rows

ROOT = Path(__file__).resolve().parents[1]
SMOKE = str(ROOT / "configs" / "llm_ppo_smoke.yaml")
TINY = ["task.min_digits=2", "task.max_digits=2", "model.layers=1", "model.heads=2", "model.dim=32",
        "model.context=20", "eval.problems=20", "eval.samples=0", "ppo.rollout_batch=8", "ppo.minibatches=2"]


def quiet(message):
    pass


# ---- GAE --------------------------------------------------------------------------------------
def test_gae_by_hand_with_padding():
    # row 0: a one-token prompt position then three response tokens; row 1: two response tokens
    # then padding. Values and rewards outside the mask (9, 5, 7, 3) must not leak in.
    rewards = torch.tensor([[5.0, 0.1, -0.2, 1.0], [0.0, 1.0, 3.0, 3.0]], dtype=torch.float64)
    values = torch.tensor([[9.0, 0.5, 0.2, -0.1], [0.3, 0.4, 7.0, 7.0]], dtype=torch.float64)
    mask = torch.tensor([[False, True, True, True], [True, True, False, False]])
    advantages, returns = gae(rewards, values, mask, gamma=0.9, lam=0.8)
    # row 0, backwards; gamma * lambda = 0.72, V after the last token = 0:
    #   delta_3 = 1.0 - (-0.1) = 1.1                     A_3 = 1.1
    #   delta_2 = -0.2 + 0.9 * (-0.1) - 0.2 = -0.49       A_2 = -0.49 + 0.72 * 1.1 = 0.302
    #   delta_1 = 0.1 + 0.9 * 0.2 - 0.5 = -0.22           A_1 = -0.22 + 0.72 * 0.302 = -0.00256
    # row 1: delta_1 = 1 - 0.4 = 0.6, A_1 = 0.6; delta_0 = 0.9 * 0.4 - 0.3 = 0.06, A_0 = 0.06 + 0.72 * 0.6
    expected = [[0.0, -0.00256, 0.302, 1.1], [0.492, 0.6, 0.0, 0.0]]
    assert advantages.tolist()[0] == pytest.approx(expected[0], abs=1e-12)
    assert advantages.tolist()[1] == pytest.approx(expected[1], abs=1e-12)
    assert returns.tolist()[0] == pytest.approx([0.0, 0.49744, 0.502, 1.0], abs=1e-12)
    assert returns.tolist()[1] == pytest.approx([0.792, 1.0, 0.0, 0.0], abs=1e-12)


def test_gae_with_gamma_and_lambda_one_is_the_return_minus_the_value():
    rewards = torch.tensor([[0.0, -0.1, 0.2, 1.0]])
    values = torch.tensor([[0.3, -0.2, 0.7, 0.1]])
    mask = torch.ones(1, 4, dtype=torch.bool)
    advantages, returns = gae(rewards, values, mask, gamma=1.0, lam=1.0)
    assert returns.tolist()[0] == pytest.approx([1.1, 1.1, 1.2, 1.0])  # sum of the rewards to come
    assert advantages.tolist()[0] == pytest.approx([0.8, 1.3, 0.5, 0.9])


# ---- reward shaping ---------------------------------------------------------------------------
def test_reward_is_the_kl_penalty_per_token_plus_the_score_on_the_last_token():
    logp = torch.tensor([[-1.0, -2.0, -0.5, 0.0], [-0.3, -0.4, -0.6, -0.1]])
    ref = torch.tensor([[-1.5, -1.0, -0.7, -3.0], [-0.3, -0.9, -0.1, -0.2]])
    mask = torch.tensor([[False, True, True, False], [True, True, True, True]])
    rewards = shaped_rewards(logp, ref, mask, torch.tensor([1.0, 0.5]), kl_coef=0.1)
    # row 0: -0.1 * (-2 + 1) = 0.1, then -0.1 * (-0.5 + 0.7) + 1 (its last response token)
    assert rewards.tolist()[0] == pytest.approx([0.0, 0.1, -0.02 + 1.0, 0.0])
    # row 1: log-ratios 0, 0.5, -0.5, 0.1, and the score on the last column
    assert rewards.tolist()[1] == pytest.approx([0.0, -0.05, 0.05, -0.01 + 0.5])
    assert shaped_rewards(logp, ref, mask, torch.zeros(2), 0.0).abs().sum() == 0


def test_a_response_without_eos_gets_the_fixed_penalty_whatever_it_says(tmp_path, monkeypatch):
    setting, init = tiny_checkpoint(tmp_path, ["ppo.no_eos_score=-0.7"])
    trainer = PPOTrainer(setting, tmp_path / "run", init, log=quiet,
                         scorer=lambda problems, texts: torch.ones(len(problems)))
    monkeypatch.setattr("selfplay.llm.ppo.generate", every_other_finishes(setting))  # even rows finish
    width = setting.task.max_response_tokens()
    batch = trainer.collect()
    assert batch.has_eos.tolist() == [i % 2 == 0 for i in range(8)]
    assert batch.scores.tolist() == pytest.approx([1.0 if i % 2 == 0 else -0.7 for i in range(8)])
    assert batch.lengths.tolist() == [3.0 if i % 2 == 0 else float(width) for i in range(8)]
    assert batch.mask.sum(1).tolist() == batch.lengths.tolist()


# ---- whitening --------------------------------------------------------------------------------
def test_whitening_by_hand_ignores_masked_positions():
    x = torch.tensor([[1.0, 2.0, 100.0], [3.0, 4.0, -50.0]], dtype=torch.float64)
    mask = torch.tensor([[True, True, False], [True, True, False]])
    # mean 2.5, unbiased variance (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5 / 3
    s = math.sqrt(5 / 3 + 1e-8)
    assert whiten(x, mask).flatten().tolist() == pytest.approx([-1.5 / s, -0.5 / s, 0.0, 0.5 / s, 1.5 / s, 0.0])


# ---- the losses -------------------------------------------------------------------------------
def test_clipped_objective_and_clipped_value_loss_by_hand():
    logp = torch.log(torch.tensor([[0.5, 0.9], [0.5, 0.9], [0.1, 0.9], [0.1, 0.9]]))
    old = torch.log(torch.tensor([[0.25, 0.1], [0.25, 0.1], [0.2, 0.1], [0.2, 0.1]]))  # ratios 2, 2, .5, .5
    adv = torch.tensor([[1.0, 50], [-1.0, 50], [1.0, 50], [-1.0, 50]])
    values = torch.tensor([[0.5, 9], [0.1, 9], [0.5, 9], [1.0, 9]])
    old_values = torch.tensor([[0.0, 0], [0.0, 0], [1.0, 0], [1.0, 0]])
    returns = torch.tensor([[1.0, 0], [-1.0, 0], [0.0, 0], [1.0, 0]])
    mask = torch.tensor([[True, False]] * 4)  # the second column is padding
    config = PPOConfig(clip_range=0.2, clip_range_value=0.2, value_coef=0.1)
    loss, m = ppo_loss(logp, old, values, old_values, adv, returns, mask, config)
    # max(-A r, -A clip(r)): max(-2, -1.2) = -1.2; max(2, 1.2) = 2; max(-0.5, -0.8) = -0.5; max(0.5, 0.8) = 0.8
    assert m["losses/policy_loss"] == pytest.approx((-1.2 + 2 - 0.5 + 0.8) / 4, rel=1e-6)
    assert m["losses/clipfrac"] == pytest.approx(0.5)  # rows 1 and 4 take the clipped term
    # V_clip = 0.2, 0.1, 0.8, 1.0; max of squared errors: 0.64, 1.21, 0.64, 0
    assert m["losses/value_loss"] == pytest.approx(0.5 * (0.64 + 1.21 + 0.64) / 4, rel=1e-6)
    assert m["losses/value_clipfrac"] == pytest.approx(0.5)  # rows 1 and 3
    assert m["losses/ratio_mean"] == pytest.approx(1.25, rel=1e-6)
    assert loss.item() == pytest.approx(m["losses/policy_loss"] + 0.1 * m["losses/value_loss"], rel=1e-6)


def test_equal_policies_give_ratio_one_and_no_kl():
    logp = torch.log(torch.tensor([[0.3, 0.6], [0.2, 0.9]]))
    values = torch.tensor([[0.1, 0.2], [0.3, 0.4]])
    mask = torch.tensor([[True, True], [True, False]])
    _, m = ppo_loss(logp, logp.clone(), values, values.clone(), torch.ones(2, 2), torch.zeros(2, 2), mask, PPOConfig())
    assert m["losses/ratio_mean"] == 1.0 and m["losses/approx_kl"] == 0.0
    assert m["losses/clipfrac"] == 0.0 and m["losses/value_clipfrac"] == 0.0


def test_explained_variance():
    returns = torch.tensor([[1.0, 2.0, 3.0, 99.0]])
    mask = torch.tensor([[True, True, True, False]])
    assert explained_variance(returns.clone(), returns, mask) == pytest.approx(1.0)
    assert explained_variance(torch.full((1, 4), 2.0), returns, mask) == pytest.approx(0.0)


# ---- the adaptive KL controller ---------------------------------------------------------------
def test_adaptive_kl_moves_the_coefficient_towards_the_target():
    controller = AdaptiveKLController(0.1, target=6.0, horizon=10000)
    controller.update(12.0, samples=64)  # twice the target: the error is clipped to +0.2
    assert controller.value == pytest.approx(0.1 * (1 + 0.2 * 64 / 10000))
    before = controller.value
    controller.update(5.7, samples=100)  # 5% under the target
    assert controller.value == pytest.approx(before * (1 - 0.05 * 100 / 10000))
    before = controller.value
    controller.update(6.0, samples=100)
    assert controller.value == pytest.approx(before)


# ---- configs and checkpoints ------------------------------------------------------------------
@pytest.mark.parametrize("override, message", [
    ("ppo.gae_lambda=0", "gae_lambda must be in (0, 1]"),
    ("ppo.gae_lambda=1.5", "gae_lambda must be in (0, 1]"),
    ("ppo.gamma=1.1", "gamma must be between 0 and 1"),
    ("ppo.epochs=0", "epochs must be positive"),
    ("ppo.minibatches=65", "minibatches must be between 1 and rollout_batch"),
    ("ppo.clip_range=0", "clip_range must be between 0 and 1"),
    ("ppo.clip_range_value=0", "clip_range_value must be positive"),
    ("ppo.value_coef=0", "value_coef must be positive"),
    ("ppo.kl_coef=-1", "kl_coef must be 0 or more"),
    ("ppo.no_eos_score=0.5", "no_eos_score must be 0 or negative"),
    ("ppo.critic=none", "ppo.critic"),
    ("ppo.critic_init=runs/rm/x.pt", "critic_init needs critic: separate"),
    ("ppo.temperature=0", "temperature must be positive"),
    ("ppo.reward=gold", "reward must be 'verifier' or 'model:RUN_DIR'"),
])
def test_bad_configs_are_clear_errors(override, message):
    with pytest.raises(ConfigError, match="ppo") as info:
        load_config(LLMConfig, SMOKE, [override])
    assert message in str(info.value)


def test_an_adaptive_controller_needs_a_coefficient_to_scale():
    with pytest.raises(ConfigError, match="adaptive_kl needs a positive kl_coef"):
        load_config(LLMConfig, SMOKE, ["ppo.adaptive_kl=true", "ppo.kl_coef=0"])


def tiny_checkpoint(tmp_path, overrides=(), drop_value_head=False, name="init.pt", extra=None):
    config = load_config(LLMConfig, None, [*TINY, *overrides])
    setting = Setting.build(config)
    model = setting.new_model()
    payload = base_payload(setting, model, torch.optim.AdamW(model.parameters()), 7, np.random.default_rng(0))
    payload.update(extra or {})
    if drop_value_head:
        payload["model"] = {k: v for k, v in payload["model"].items() if not k.startswith("value_head.")}
    path = tmp_path / name
    save_checkpoint(path, payload)
    return setting, path


@pytest.mark.parametrize("critic", ["shared", "separate"])
def test_a_critic_with_no_value_head_is_a_clear_error(tmp_path, critic):
    setting, init = tiny_checkpoint(tmp_path, [f"ppo.critic={critic}"], drop_value_head=True)
    with pytest.raises(ConfigError, match="no value head, so it cannot be PPO's critic"):
        PPOTrainer(setting, tmp_path / "run", init, log=quiet)

def test_a_separate_critic_starts_from_a_reward_model_only(tmp_path):
    _, policy = tiny_checkpoint(tmp_path, name="policy.pt")
    setting, init = tiny_checkpoint(tmp_path, ["ppo.critic=separate", f"ppo.critic_init={policy}"])
    with pytest.raises(ConfigError, match="ppo.critic_init: .*policy.pt is not a reward model checkpoint"):
        PPOTrainer(setting, tmp_path / "run", init, log=quiet)
    _, reward_model = tiny_checkpoint(tmp_path, ["model.value_activation=none"], name="rm.pt",
                                      extra={"phase": "reward_model", "reward_mean": 0.0, "reward_std": 1.0})
    setting, init = tiny_checkpoint(tmp_path, ["ppo.critic=separate", f"ppo.critic_init={reward_model}"])
    trainer = PPOTrainer(setting, tmp_path / "run2", init, log=quiet)
    assert trainer.critic.config.value_activation == "none"  # the reward model's, not the policy's tanh
    assert all(p.requires_grad for p in trainer.critic.parameters())
    head = torch.load(reward_model, weights_only=True)["model"]["value_head.weight"]
    assert torch.equal(trainer.critic.value_head.weight, head)


def test_the_first_update_of_a_batch_has_ratio_one_and_no_kl_to_the_old_policy(tmp_path):
    setting, init = tiny_checkpoint(tmp_path)
    trainer = PPOTrainer(setting, tmp_path / "run", init, log=quiet)
    batch = trainer.collect()
    target = trainer.targets(batch)
    rows = torch.tensor_split(torch.from_numpy(np.random.default_rng(0).permutation(8)), 2)[0]
    logp, _, values = trainer.forward(batch.tokens[rows], batch.mask[rows])
    _, m = ppo_loss(logp, target["old_logp"][rows], values, target["old_values"][rows], target["advantages"][rows],
                    target["returns"][rows], batch.mask[rows], trainer.config)
    assert m["losses/ratio_mean"] == pytest.approx(1.0, abs=1e-6)
    assert abs(m["losses/approx_kl"]) < 1e-10 and m["losses/clipfrac"] == 0 and m["losses/value_clipfrac"] == 0
    # the reference is the starting policy: no KL to it before the first update either
    assert torch.allclose(target["old_logp"], target["ref_logp"], atol=1e-6)


def test_a_separate_critic_trains_apart_and_survives_a_resume(tmp_path):
    setting, init = tiny_checkpoint(tmp_path, ["ppo.critic=separate", "ppo.steps=1", "ppo.adaptive_kl=true"])
    trainer = PPOTrainer(setting, tmp_path / "run", init, log=quiet)
    assert trainer.critic is not None and trainer.critic is not trainer.model
    head = trainer.model.value_head.weight.detach().clone()
    critic_before = [p.detach().clone() for p in trainer.critic.parameters()]
    checkpoint = trainer.train()
    assert torch.equal(head, trainer.model.value_head.weight)  # the policy's own head is not the critic
    assert not torch.equal(critic_before[-1], list(trainer.critic.parameters())[-1])
    assert trainer.kl.value != setting.config.ppo.kl_coef  # the controller moved it
    again = PPOTrainer(setting, tmp_path / "run", init, log=quiet)
    again.restore()
    assert again.step == 1 and again.kl.value == trainer.kl.value and checkpoint.parent.name == "ppo"
    for a, b in zip(trainer.critic.state_dict().values(), again.critic.state_dict().values()):
        assert torch.equal(a, b)


def test_a_step_logs_what_cleanrl_users_expect(tmp_path):
    setting, init = tiny_checkpoint(tmp_path)
    trainer = PPOTrainer(setting, tmp_path / "run", init, log=quiet)
    metrics = trainer.train_step()
    for key in ("charts/reward", "charts/accuracy", "charts/response_length",
                "kl_ref/sequence", "kl_ref/exact", "kl_ref/k3", "charts/kl_coef",
                "losses/policy_loss", "losses/value_loss", "losses/approx_kl", "losses/clipfrac",
                "losses/value_clipfrac", "losses/ratio_mean", "losses/entropy"):
        assert key in metrics and np.isfinite(metrics[key]), key
    assert "losses/explained_variance" in metrics
    assert metrics["kl_ref/sequence"] == 0 and metrics["kl_ref/exact"] == 0  # it sampled as the reference
    assert trainer.curve_step() == 7


# ---- a reduced run: PPO from a briefly SFT-trained checkpoint ---------------------------------
@pytest.fixture(scope="module")
def sft_run(tmp_path_factory):
    """The smoke config's SFT (about 10 s): a student at about a quarter held-out accuracy."""
    run_dir = tmp_path_factory.mktemp("ppo") / "run"
    setting = Setting.build(load_config(LLMConfig, SMOKE, []))
    checkpoint = SFTTrainer(setting, run_dir, log=quiet).train()
    return setting, run_dir, checkpoint


def test_ppo_raises_held_out_accuracy_above_its_start(sft_run):
    setting, run_dir, checkpoint = sft_run
    PPOTrainer(setting, run_dir, checkpoint, log=quiet).train()
    rows = [r for r in read_rows(RunDir(run_dir).eval_csv) if r["phase"] == "ppo"]
    before, after = float(rows[0]["accuracy"]), float(rows[-1]["accuracy"])
    assert (int(rows[0]["step"]), int(rows[-1]["step"])) == (0, setting.config.ppo.steps)
    assert after >= before + 0.15, (before, after)  # 0.25 -> 0.77 on 200 held-out problems


def test_ppo_from_the_command_line(sft_run, tmp_path, capsys):
    _, _, checkpoint = sft_run
    args = ["ppo.steps=2", "ppo.rollout_batch=8", "ppo.eval_every=1", "eval.problems=8", "--runs", str(tmp_path)]
    assert main(["llm", "ppo", SMOKE, *args, "--init", str(checkpoint)]) == 0
    assert "ppo/step-00000002.pt" in capsys.readouterr().out
    log = (tmp_path / "llm_ppo_smoke" / "log.txt").read_text()
    assert "PPO from " in log and "critic: shared" in log
    assert (tmp_path / "llm_ppo_smoke" / "tb" / "ppo").is_dir()
    assert main(["llm", "ppo", "ppo.steps=3", "--resume", str(tmp_path / "llm_ppo_smoke")]) == 0
    assert "ppo/step-00000003.pt" in capsys.readouterr().out
    assert main(["llm", "ppo", SMOKE, "--runs", str(tmp_path / "empty")]) == 2
    assert "no SFT checkpoint" in capsys.readouterr().err
