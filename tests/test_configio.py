"""Typed configs: defaults, YAML, overrides, and clear errors naming the bad field."""

from dataclasses import dataclass, field
from typing import Literal

import pytest

from selfplay.configio import ConfigError, load_config, require


@dataclass
class Inner:
    rate: float = 0.1
    steps: int = 10
    mode: Literal["fast", "slow"] = "fast"

    def validate(self):
        require(self.steps > 0, "steps must be positive")


@dataclass
class Outer:
    name: str = "run"
    flag: bool = False
    limit: int | None = None
    inner: Inner = field(default_factory=Inner)


def test_defaults_yaml_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: x\ninner:\n  rate: 1\n")
    cfg = load_config(Outer, path, ["inner.steps=5", "flag=true", "limit=3", "inner.mode=slow"])
    assert cfg == Outer(name="x", flag=True, limit=3, inner=Inner(rate=1.0, steps=5, mode="slow"))
    assert load_config(Outer, path, ["inner.rate=1e-4"]).inner.rate == 1e-4  # YAML 1.1 reads it as a string
    assert isinstance(cfg.inner.rate, float)
    assert load_config(Outer) == Outer()


@pytest.mark.parametrize("text, overrides, message", [
    ("inner:\n  rat: 1\n", [], "c.yaml.inner: unknown key 'rat'; did you mean 'rate'?"),
    ("", ["inner.steps=many"], "c.yaml.inner.steps: expected an integer, got 'many'"),
    ("", ["inner.steps=0"], "c.yaml.inner: steps must be positive"),
    ("", ["flag=1"], "c.yaml.flag: expected true or false"),
    ("", ["inner.mode=medium"], "'medium' is not one of 'fast', 'slow'"),
    ("inner: 3\n", [], "expected a mapping for section Inner"),
    ("[1, 2]\n", [], "expected a mapping of sections"),
    ("a: [\n", [], "not valid YAML"),
    ("", ["nonsense"], "is not key.sub=value"),
])
def test_errors_name_the_field(tmp_path, text, overrides, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(Outer, path, overrides)
    assert message in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(Outer, tmp_path / "nope.yaml")
