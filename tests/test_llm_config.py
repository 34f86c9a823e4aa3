from pathlib import Path

import pytest

from selfplay.configio import ConfigError, load_config
from selfplay.llm.config import LLMConfig
from selfplay.llm.tasks import make_task

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("llm_*.yaml")), ids=lambda p: p.name)
def test_every_shipped_llm_config_loads(path):
    config = load_config(LLMConfig, path)
    task = make_task(config.task)
    assert config.model.context >= task.max_prompt_tokens() + task.max_response_tokens()


def test_defaults_are_the_headline_run():
    defaults = load_config(LLMConfig)
    shipped = load_config(LLMConfig, ROOT / "configs" / "llm_addition.yaml")
    assert (defaults.task, defaults.teacher, defaults.model) == (shipped.task, shipped.teacher, shipped.model)


@pytest.mark.parametrize("override, message", [
    ("grpo.group_size=1", "group_size must be at least 2"),
    ("grpo.epsilon=0", "epsilon must be between 0 and 1"),
    ("grpo.loss_type=ppo", "'ppo' is not one of"),
    ("grpo.beta=-0.1", "beta and weight_decay must be 0 or more"),
    ("grpo.temperature=0", "temperature must be positive"),
    ("eval.pass_k=9", "pass_k must be between 1 and samples (8)"),
    ("teacher.error_rate=1.5", "error_rate must be between 0 and 1"),
    ("teacher.min_carries=0", "min_carries must be at least 1"),
    ("sft.steps=0", "steps and batch_size must be positive"),
    ("grpo.betta=0.1", "did you mean 'beta'"),
])
def test_bad_values_name_the_field(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(LLMConfig, None, [override])
