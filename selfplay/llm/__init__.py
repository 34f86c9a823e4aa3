"""The LLM mode: the policy/value machinery on tokens (the state is the prompt plus the tokens
so far, the action the next token, the reward the verifier's at the end).

    tasks.py      problems with verifiable rewards (column addition, multiplication), scratchpad
    tokenizer.py  characters plus <pad> <bos> <eos> <sep> <ans>
    teacher.py    the imperfect teacher: forgets every carry on most multi-carry problems
    model.py      TokenPolicyValueModel: tokens -> (next-token logits, value per position), KV cache
    sampling.py   batched sampling: left padding, the cache, temperature, top-k
    env.py        TokenEnv, the token game as a Gymnasium env (selfplay/Tokens-v0)
    evaluation.py held-out greedy accuracy, pass@k, maj@k
    sft.py        imitation of the teacher
    grpo.py       GRPO (DeepSeekMath), Dr. GRPO, DAPO's clip-higher and dynamic sampling
    curve.py      SFT then GRPO, and the accuracy curve against the teacher
    config.py     the typed config of a run; run.py the run directory and a phase's bookkeeping

    selfplay llm curve configs/llm_addition.yaml
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
