"""Typed configuration: dataclasses built strictly from nested dicts, YAML and `key=value`
overrides.

Every model, dataset and the trainer has a dataclass config. A run's config is the nested dict
`{"model": {"name": ..., **model fields}, "data": {...}, "train": {...}}`, resolved in this
order: dataclass defaults < preset YAML < user config file < CLI flags < `--set key=value`.
Unknown keys, values of the wrong type and numbers outside their field's range are user errors
that name the key.

A numeric field declares its range in its type, `Annotated[int, Range(1)]`, or with one of the
aliases below (`PosInt`, `NonNegInt`, `PosFloat`, `NonNegFloat`, `UnitFloat`, `Dropout`,
`Beta`, `Real`); the check runs once, when the config is built, so that nothing out of range
ever reaches torch (a negative learning rate, a width of 0). Every int and float field of a
config must declare one; a test enforces it, so that a new field cannot forget.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union

import yaml

from gankit.errors import GankitError

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Range:
    """The interval a numeric config field accepts, declared in its type:
    `Annotated[float, Range(0, 1, high_open=True)]` is [0, 1). None leaves a side unbounded."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def contains(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (
            self.high is not None and (value >= self.high if self.high_open else value > self.high)
        )

    def describe(self) -> str:
        """`at least 1`, `positive`, `in [0, 1)`, `any number`: what follows "must be"."""
        low, high = self.low, self.high
        if low is not None and high is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"in {left}{low:g}, {high:g}{right}"
        if low is not None:
            if low == 0 and self.low_open:
                return "positive"
            return f"{'more than' if self.low_open else 'at least'} {low:g}"
        if high is not None:
            return f"{'less than' if self.high_open else 'at most'} {high:g}"
        return "any number"


PosInt = Annotated[int, Range(1)]
NonNegInt = Annotated[int, Range(0)]
PosFloat = Annotated[float, Range(0, low_open=True)]
NonNegFloat = Annotated[float, Range(0)]
UnitFloat = Annotated[float, Range(0, 1)]  # a probability, a fraction, a mixing weight
Dropout = Annotated[float, Range(0, 1, high_open=True)]  # 1 would zero every unit
Beta = Annotated[float, Range(0, 1, high_open=True)]  # Adam's moment decays
Real = Annotated[float, Range()]  # any finite number, said explicitly (LSGAN's a-b-c coding)


def from_dict(cls: type[T], values: Mapping[str, Any] | None, *, where: str = "") -> T:
    """Build dataclass `cls` from `values`, coercing and checking every field's type.

    Raises:
        GankitError: on an unknown key or a value that does not fit the field's type.
    """
    if values is not None and not isinstance(values, Mapping):
        section = where.rstrip(".") or cls.__name__
        raise GankitError(f"{section} must be a mapping of keys to values, got {values!r}")
    values = dict(values or {})
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(fields))
    if unknown:
        names = ", ".join(f"{where}{k}" for k in unknown)
        valid = ", ".join(sorted(fields))
        raise GankitError(f"unknown config key {names} (valid keys here: {valid})")
    for name, value in values.items():
        default = _default(fields[name])
        if isinstance(value, Mapping) and dataclasses.is_dataclass(default):
            # a partial mapping changes the field's own default (WGAN's RMSprop keeps its name
            # when only `g_opt.lr` is given), not the nested class's generic one
            values[name] = {**_init_values(default), **value}
    kwargs = {name: _coerce(hints[name], value, f"{where}{name}") for name, value in values.items()}
    return cls(**kwargs)


_HINTS: dict[type, dict[str, Any]] = {}  # a memo: resolving the annotations is slow


def _hints(cls: type) -> dict[str, Any]:
    """A config class's field types, ranges included (read once per class)."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls, include_extras=True)
    return _HINTS[cls]


def check_fields(obj: Any) -> None:
    """Check (and coerce in place) every field of config dataclass `obj` against its declared
    type and range. Config classes call it from `__post_init__`, so that a config built in Python
    (`OptimConfig(lr=-1)`) is refused as one built from YAML or `--set` is."""
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        if f.init:
            value = _coerce(hints[f.name], getattr(obj, f.name), f"{type(obj).__name__}.{f.name}")
            object.__setattr__(obj, f.name, value)


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


def _init_values(obj: Any) -> dict[str, Any]:
    """A dataclass instance's constructor arguments, one level deep."""
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.init}


def to_dict(obj: Any) -> dict[str, Any]:
    """A dataclass as plain nested dicts/lists (tuples become lists, ready for YAML and JSON)."""
    return _plain(dataclasses.asdict(obj))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _coerce(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Annotated:
        value = _coerce(args[0], value, key)
        for rule in args[1:]:
            if isinstance(rule, Range) and not rule.contains(value):
                raise GankitError(f"{key} must be {rule.describe()}, got {value!r}")
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, key)
            except GankitError as err:
                errors.append(str(err))
        raise GankitError(errors[0] if len(errors) == 1 else f"bad value {value!r} for {key}")
    if origin is Literal:
        # match the type too: True == 1 and 3.0 == 3, but `channels: true` is not a channel count
        if not any(value == a and type(value) is type(a) for a in args):
            choices = ", ".join(repr(a) for a in args)
            raise GankitError(f"bad value {value!r} for {key} (choose from {choices})")
        return value
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise GankitError(f"{key} must be a mapping, got {value!r}")
        return from_dict(tp, value, where=f"{key}.")
    if origin in (tuple, list):
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            raise GankitError(f"{key} must be a list, got {value!r}")
        items = list(value)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(items) != len(args):
                raise GankitError(f"{key} needs {len(args)} values, got {len(items)}")
            out = [_coerce(a, v, f"{key}[{i}]") for i, (a, v) in enumerate(zip(args, items))]
        else:
            item_tp = args[0] if args else Any
            out = [_coerce(item_tp, v, f"{key}[{i}]") for i, v in enumerate(items)]
        return tuple(out) if origin is tuple else out
    return _scalar(tp, value, key)


def _scalar(tp: Any, value: Any, key: str) -> Any:
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise GankitError(f"{key} must be true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise GankitError(f"{key} must be an integer, got {value!r}")
    if tp is float:
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):  # YAML 1.1 reads "1e-4" as a string
            with contextlib.suppress(ValueError):
                number = float(value)
        if number is None:
            raise GankitError(f"{key} must be a number, got {value!r}")
        if not math.isfinite(number):  # YAML's .nan and .inf are floats too
            raise GankitError(f"{key} must be a finite number, got {value!r}")
        return number
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise GankitError(f"{key} must be a string, got {value!r}")
    raise TypeError(f"unsupported config type {tp!r} for {key}")


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split `a.b.c=value` into (["a", "b", "c"], value parsed as YAML)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise GankitError(f"bad --set {text!r}: expected key=value, e.g. train.steps=1000")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.split("."), value


def set_path(tree: dict[str, Any], path: list[str], value: Any) -> None:
    node = tree
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise GankitError(f"cannot set {'.'.join(path)}: {part} is not a section")
        node = child
    node[path[-1]] = value


def merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge `update` into a copy of `base` (mappings merge, anything else replaces)."""
    out = copy.deepcopy(dict(base))
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path).expanduser()
    try:
        text = path.read_text()
    except OSError as err:
        raise GankitError(f"cannot read config {path}: {err.strerror or err}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise GankitError(f"{path} is not valid YAML: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise GankitError(f"{path} must hold a mapping at the top level")
    return data


def dump_yaml(data: Mapping[str, Any]) -> str:
    return yaml.safe_dump(_plain(dict(data)), sort_keys=False, default_flow_style=None)
