"""Value ranges, declared where the value is taken: `num_rollouts: PositiveInt = 16` in a constructor's signature.

`PositiveInt` is `Annotated[int, Range(1)]`: type checkers, `typing.get_type_hints` and
`textgan.config.validate` see a plain `int`; `check_arguments(fn, values, prefix)` reads the ranges of `fn`'s
signature and checks `values` against them. Constructors call it first thing (API users get the same one-line
error), and `textgan.config.checks` calls it on every `_target_` node of a composed config before any work.
`check_value` checks one command-line value (type and range) for `generate` and `textgan.cli.chat`.
"""

from __future__ import annotations

import inspect
import sys
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from textgan.errors import ConfigError, UserError


@dataclass(frozen=True)
class Range:
    """Numbers from `low` to `high` (None: unbounded); `low_open`/`high_open` exclude the bound itself."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def accepts(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (self.high is not None and (value >= self.high if self.high_open else value > self.high))

    def __str__(self) -> str:
        if self.low is not None and self.high is not None:
            return f"in {'(' if self.low_open else '['}{self.low}, {self.high}{')' if self.high_open else ']'}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low}"
        return f"{'<' if self.high_open else '<='} {self.high}"


PositiveInt = Annotated[int, Range(1)]
NonNegativeInt = Annotated[int, Range(0)]
PositiveFloat = Annotated[float, Range(0, low_open=True)]
NonNegativeFloat = Annotated[float, Range(0)]
UnitInterval = Annotated[float, Range(0, 1)]  # [0, 1]: decay rates, mixing weights
Probability = Annotated[float, Range(0, 1, low_open=True)]  # (0, 1]: nucleus (top-p) mass


def _parts(annotation: Any) -> tuple[type | None, Range | None]:
    """(base type, range) of `Annotated[base, Range]`, also inside `X | None`; (None, None) otherwise."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        found = [_parts(a) for a in typing.get_args(annotation) if a is not type(None)]
        return found[0] if len(found) == 1 else (None, None)
    if typing.get_origin(annotation) is Annotated:
        base, *extras = typing.get_args(annotation)
        return base, next((e for e in extras if isinstance(e, Range)), None)
    return (annotation, None) if isinstance(annotation, type) else (None, None)


def type_hints(fn: Callable) -> dict[str, Any]:
    """The annotations of `fn` (a class: its `__init__`) with their `Annotated` extras; `torch` names resolve in
    string annotations (`textgan.optim.OptimizerFactory` writes its types so) once torch is imported; {} for
    annotations that cannot be evaluated (another library's)."""
    fn = fn.__init__ if inspect.isclass(fn) else fn
    local = {"torch": sys.modules["torch"]} if "torch" in sys.modules else None
    try:
        return typing.get_type_hints(fn, localns=local, include_extras=True)
    except Exception:
        return {}


def argument_ranges(fn: Callable) -> dict[str, tuple[type | None, Range]]:
    """{parameter: (type, Range)} of the parameters of `fn` (a class: its `__init__`) that declare a range."""
    found = {name: _parts(hint) for name, hint in type_hints(fn).items()}
    return {name: (base, rng) for name, (base, rng) in found.items() if rng is not None}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_arguments(fn: Callable, values: Mapping[str, Any], prefix: str) -> None:
    """Raise `ConfigError` for the first value of `values` outside its parameter's declared range (`None` and
    non-numbers are left to the type checks); `prefix` names the config node, e.g. `method`."""
    for name, (base, rng) in argument_ranges(fn).items():
        value = values.get(name)
        if _is_number(value) and not rng.accepts(value):
            raise ConfigError(f"{prefix}.{name}={value!r} is out of range; give {_describe(base, rng)}")


def _describe(base: type | None, rng: Range | None) -> str:
    kind = {int: "an integer", float: "a number"}.get(base, f"a {base.__name__}" if base else "a value")
    return f"{kind} {rng}" if rng else kind


def check_value(name: str, value: Any, annotation: Any, error: type[UserError] = ConfigError,
                hint: str = "") -> None:
    """Raise `error` unless `value` has the type and range of `annotation` (e.g. `PositiveFloat`)."""
    base, rng = _parts(annotation)
    typed = _is_number(value) and (base is float or isinstance(value, int)) if base in (int, float) else \
        base is None or isinstance(value, base)
    if typed and (rng is None or rng.accepts(value)):
        return
    problem = "is out of range" if typed else f"is not {_describe(base, None)}"
    raise error(f"{name}={value!r} {problem}; give {_describe(base, rng)}{f' ({hint})' if hint else ''}")


def base_type(annotation: Any) -> type:
    """`int` for `PositiveInt`, `float` for `Probability`, the type itself for a plain type."""
    base, _ = _parts(annotation)
    return base or str
