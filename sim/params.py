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


SPREAD = 0.5  # an uncertain parameter with no stated range is believed to lie within its default x (1 -/+ SPREAD)


def param(value: Any, source: str, *, low: float | None = None, high: float | None = None, unit: str = "",
          plausible: tuple | dict | None = None, design: str | None = None, shape: bool = False):
    """A dataclass field carrying its default, source, unit, allowed range and what is known about it.

    ``low``/``high`` bound what a user may set (bad values are refused). ``plausible`` is the range within which
    the true value is believed to lie (a (low, high) pair, or for a mapping a pair per entry); without one an
    uncertain parameter gets its default x (1 -/+ SPREAD), within the allowed range. ``design`` marks a choice
    (what a programme buys, a modelling switch, a statutory age) rather than an uncertain quantity, with the reason.
    ``shape`` marks a per-group mapping whose level is fitted to the Census at set-up: it is varied as a whole.
    """
    meta = {"source": source, "low": low, "high": high, "unit": unit, "plausible": plausible, "design": design,
            "shape": shape}
    if isinstance(value, (list, dict)):
        return dataclasses.field(default_factory=lambda v=value: type(v)(v), metadata=meta)
    return dataclasses.field(default=value, metadata=meta)


def mapping(values, key: str) -> dict:
    """``values`` as a dict (None: empty); anything else that is not a mapping is refused, naming ``key``."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"'{key}' must be a mapping of keys to values (set them as {key}.<key>=...), got {values!r}")
    return dict(values)


def build(cls, values: dict | None, prefix: str):
    """Make ``cls`` from a plain mapping, refusing unknown keys, wrong types and values out of range."""
    values = mapping(values, prefix)
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


def plausible_range(meta: dict, default: float, entry: str | None = None) -> tuple[float, float] | None:
    """The range an uncertain value is believed to lie in; None for a design choice or a structural zero.

    Explicit ranges come from the declaration; otherwise the default x (1 -/+ SPREAD) kept inside the allowed
    range. A default of exactly zero with no stated range is structural (the mechanism is off by construction).
    """
    if meta.get("design"):
        return None
    stated = meta.get("plausible")
    if isinstance(stated, dict):
        stated = stated.get(entry)
    if stated is not None:
        return float(stated[0]), float(stated[1])
    if isinstance(default, bool) or not isinstance(default, (int, float)) or default == 0:
        return None
    lo, hi = sorted((default * (1 - SPREAD), default * (1 + SPREAD)))
    if meta.get("low") is not None:
        lo = max(lo, meta["low"])
    if meta.get("high") is not None:
        hi = min(hi, meta["high"])
    return (lo, hi) if lo < hi else None


def uncertain_entries(cls, prefix: str) -> list[tuple[str, tuple[float, float]]]:
    """Every uncertain number of one parameter dataclass with its plausible range: scalars by key, mapping
    entries as ``key.entry``; lists are set-up shapes, varied as a whole by ``key.*`` (a multiplier, 0.5-1.5)."""
    out = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        key = f"{prefix}.{f.name}"
        if f.metadata.get("design"):
            continue
        if isinstance(default, dict):
            if f.metadata.get("shape"):
                out.append((key + ".*", (1 - SPREAD, 1 + SPREAD)))
                continue
            for entry, v in default.items():
                rng = plausible_range(f.metadata, v, entry)
                if rng:
                    out.append((f"{key}.{entry}", rng))
        elif isinstance(default, (list, tuple)):
            out.append((key + ".*", (1 - SPREAD, 1 + SPREAD)))
        else:
            rng = plausible_range(f.metadata, default)
            if rng:
                out.append((key, rng))
    return out


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
                "design": f.metadata.get("design"),
                "plausible": _plausible_text(f.metadata, default),
            }
        )
    return rows


def _plausible_text(meta: dict, default) -> str:
    """The plausible range as the parameter table shows it."""
    if meta.get("design"):
        return "design: " + meta["design"]
    if isinstance(default, bool):
        return ""
    if isinstance(default, (list, tuple)) or (isinstance(default, dict) and meta.get("shape")):
        return f"shape x {1 - SPREAD:g} to {1 + SPREAD:g}"
    stated = meta.get("plausible")
    if isinstance(default, dict):
        parts = []
        for k, v in default.items():
            rng = plausible_range(meta, v, k)
            generic = "" if isinstance(stated, dict) and k in stated else " (default +-50%)"
            parts.append(f"{k}: {_g(rng[0])}-{_g(rng[1])}{generic}" if rng else f"{k}: 0 (structural)")
        return "; ".join(parts)
    rng = plausible_range(meta, default)
    generic = "" if stated is not None else " (default +-50%)"
    return f"{_g(rng[0])} to {_g(rng[1])}{generic}" if rng else "0 (structural)"


def _g(v: float) -> str:
    return f"{v:.4g}"
