"""The LLM mode: the policy/value machinery on tokens (the state is the prompt plus the tokens
so far, the action the next token, the reward the verifier's at the end).

    tasks.py      problems with verifiable rewards (column addition, multiplication), scratchpad
    tokenizer.py  characters plus <pad> <bos> <eos> <sep> <ans>
    teacher.py    the imperfect teacher: forgets every carry on multi-carry problems (random or systematic)
    model.py      TokenPolicyValueModel: tokens -> (next-token logits, value per position), KV cache
    sampling.py   batched sampling: left padding, the cache, temperature, top-k, no token illegal in a response
    env.py        TokenEnv, the token game as a Gymnasium env (selfplay/Tokens-v0)
    evaluation.py held-out greedy and sampled accuracy, pass@k, maj@k, with 95% intervals
    sft.py        imitation of the teacher
    rollouts.py   what GRPO and PPO share: log-probs as sampled, values, KL to the reference
    rl_phase.py   the RL loop GRPO and PPO subclass: start, reference, checkpoints, evaluations, observers
    grpo.py       GRPO (DeepSeekMath), Dr. GRPO, DAPO's clip-higher and dynamic sampling
    ppo.py        PPO with a critic (the RLHF recipe): KL-shaped reward, GAE, clipped ratio and value
    preferences.py a simulated labeller: Bradley-Terry preferences over a gold score
    reward_model.py a reward model (or an ensemble) from those preferences
    rewards.py    the scorer RL optimises: the verifier, or reward models (an ensemble combined)
    overoptimization.py  RL and best-of-n against a reward model, gold beside proxy (Gao et al. 2022)
    overoptimization_sweep.py  such runs side by side: where the gold peaks
    compare.py    PPO vs GRPO vs Dr. GRPO on one budget
    search.py     the board games' MCTS on the token game (games/tokens.py), the model as its evaluator
    solve.py      decoding strategies on held-out problems: accuracy, model calls, verifier checks
    alphazero.py  AlphaZero on tokens: MCTS writes, the policy learns the visits, the value the outcomes
    distill.py    SFT students of an RL policy, its scratchpad shown or hidden (why o1 hides it)
    curve.py      SFT then GRPO, and the accuracy curve against the teacher
    r1zero.py     R1-Zero: a base stage on answer-free texts, then GRPO from it (format reward, curriculum)
    config.py     the typed config of a run; run.py the run directory and a phase's bookkeeping

    selfplay llm curve configs/llm_addition.yaml
    selfplay llm ppo configs/llm_addition.yaml          (after the curve: from its SFT checkpoint)
    selfplay llm reward-model configs/llm_addition.yaml
"""

from selfplay.llm.config import EvalConfig, GRPOConfig, LLMConfig, SFTConfig
from selfplay.llm.model import KVCache, ModelConfig, TokenPolicyValueModel
from selfplay.llm.sampling import generate
from selfplay.llm.tasks import TASKS, TaskConfig, TaskError, make_task
from selfplay.llm.teacher import Teacher, TeacherConfig
from selfplay.llm.tokenizer import CharTokenizer, TokenizerError

__all__ = [
    "CharTokenizer", "EvalConfig", "GRPOConfig", "KVCache", "LLMConfig", "ModelConfig", "SFTConfig", "TASKS",
    "TaskConfig", "TaskError", "Teacher", "TeacherConfig", "TokenPolicyValueModel", "TokenizerError", "generate",
    "make_task",
]
