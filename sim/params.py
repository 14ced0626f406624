"""Parameters with their provenance.

Every mechanism parameter is a dataclass field made with :func:`param`, which records its source (or the word
"assumption"), its unit and a plausible range. That one record feeds validation (bad values are refused before a
run starts), the parameter table in ``docs/parameters.md`` and the ranges of a sensitivity analysis.
"""

from __future__ import annotations

import dataclasses
from typing import Any


class ConfigError(ValueError):
    """A bad configuration value; the message names the key and what is allowed."""


def param(value: Any, source: str, *, low: float | None = None, high: float | None = None, unit: str = ""):
    """A dataclass field carrying its default, source, unit and allowed range."""
    meta = {"source": source, "low": low, "high": high, "unit": unit}
    if isinstance(value, (list, dict)):
        return dataclasses.field(default_factory=lambda v=value: type(v)(v), metadata=meta)
    return dataclasses.field(default=value, metadata=meta)


def build(cls, values: dict | None, prefix: str):
    """Make ``cls`` from a plain mapping, refusing unknown keys, wrong types and values out of range."""
    values = dict(values or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown parameter '{prefix}.{unknown[0]}'; allowed keys in '{prefix}': {', '.join(sorted(fields))}"
        )
    out = {}
    for name, f in fields.items():
        key = f"{prefix}.{name}"
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        if name not in values:
            out[name] = default
            continue
        out[name] = _coerce(values[name], default, key, f.metadata)
    return cls(**out)


def _coerce(value, default, key, meta):
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise ConfigError(f"'{key}' must be true or false, got {value!r}")
    if isinstance(default, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ConfigError(f"'{key}' must be a number, got {value!r}") from None
        if isinstance(default, int) and float(value) != int(value):
            raise ConfigError(f"'{key}' must be a whole number, got {value!r}")
        value = type(default)(value)
        low, high = meta.get("low"), meta.get("high")
        if (low is not None and value < low) or (high is not None and value > high) or value != value:
            raise ConfigError(f"'{key}' must be between {low} and {high}, got {value!r}")
        return value
    if isinstance(default, (list, tuple)):
        if not isinstance(value, (list, tuple)) or len(value) != len(default):
            raise ConfigError(f"'{key}' must be a list of {len(default)} numbers, got {value!r}")
        return type(default)(_coerce(v, d, key, meta) for v, d in zip(value, default))
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise ConfigError(f"'{key}' must be a mapping, got {value!r}")
        bad = sorted(set(value) - set(default))
        if bad:
            raise ConfigError(f"unknown key '{key}.{bad[0]}'; allowed: {', '.join(sorted(default))}")
        return {k: _coerce(value.get(k, d), d, f"{key}.{k}", meta) for k, d in default.items()}
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"'{key}' must be text, got {value!r}")
        return value
    return value


def describe(cls, prefix: str) -> list[dict]:
    """Rows of the parameter table for one dataclass: key, value, unit, range, source."""
    rows = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        rows.append(
            {
                "key": f"{prefix}.{f.name}",
                "value": default,
                "unit": f.metadata.get("unit", ""),
                "low": f.metadata.get("low"),
                "high": f.metadata.get("high"),
                "source": f.metadata.get("source", "assumption"),
            }
        )
    return rows
