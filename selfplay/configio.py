"""Typed configuration: nested dataclasses loaded from YAML, every field checked, overridable
from the command line with ``key.sub=value``.

Any dataclass works as a schema: fields with defaults, annotated int, float, bool, str, a
``Literal[...]`` of allowed strings, ``X | None``, or a nested dataclass. Checks beyond types
live in each dataclass's ``validate()`` (raise ConfigError there).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

import yaml

from selfplay.atomic import atomic_write_text
from selfplay.errors import UserError

T = TypeVar("T")


class ConfigError(UserError):
    """A config file or override is unreadable, has an unknown key or a bad value."""


def load_config(cls: type[T], path: str | Path | None = None, overrides: list[str] = ()) -> T:
    """Build ``cls`` from a YAML file (or the defaults) with ``key.sub=value`` overrides applied."""
    data: dict = {}
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"cannot read config {path}: {e.strerror}") from None
        except UnicodeDecodeError as e:
            raise ConfigError(f"config {path} is not UTF-8 text (byte {e.object[e.start]:#04x} at offset {e.start})") \
                from None
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path} is not valid YAML: {_yaml_problem(e)}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    for item in overrides:
        apply_override(data, item)
    where = str(path) if path is not None else "config"
    return from_dict(cls, data, where)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's message on one line: what is wrong and where (its own spans several lines)."""
    mark = getattr(error, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return where + (getattr(error, "problem", None) or str(error).splitlines()[0])


def apply_override(data: dict, item: str) -> None:
    """Set ``a.b.c=value`` in a nested dict; the value is parsed as YAML (``3``, ``0.5``, ``true``)."""
    key, eq, text = item.partition("=")
    if not eq or not key.strip():
        raise ConfigError(f"override {item!r} is not key.sub=value")
    parts = key.strip().split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {item!r}: {part} is not a section")
    try:
        node[parts[-1]] = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        node[parts[-1]] = text


def from_dict(cls: type[T], data: Any, where: str) -> T:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping for section {cls.__name__}, got {data!r}")
    hints = get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in data if k not in names]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(str(key), names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(names)}"
        raise ConfigError(f"{where}: unknown key {key!r}{hint}")
    values = {name: _convert(hints[name], data[name], f"{where}.{name}") for name in names if name in data}
    obj = cls(**values)
    validate = getattr(obj, "validate", None)
    if validate is not None:
        try:
            validate()
        except ConfigError as e:
            raise ConfigError(f"{where}: {e}") from None
    return obj


def _convert(hint, value, where):
    origin = get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where)
    if origin in (typing.Union, types.UnionType):
        args = get_args(hint)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, where)
    if origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, allowed))}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, str):  # PyYAML reads 1e-4 (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        if not math.isfinite(value):  # .inf and .nan pass every `x > 0` check and then misbehave
            raise ConfigError(f"{where}: expected a finite number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported field type {hint}")


def to_dict(obj) -> dict:
    return dataclasses.asdict(obj)


def dump_config(obj, path: str | Path) -> None:
    """Write the resolved config as YAML (atomically), so a resumed run reads it back."""
    atomic_write_text(path, yaml.safe_dump(to_dict(obj), sort_keys=False))


def require(condition: bool, message: str) -> None:
    """For validate(): raise ConfigError(message) unless condition holds."""
    if not condition:
        raise ConfigError(message)
