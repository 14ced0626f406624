"""Checks shared by every entry point: numbers that must be finite, whole numbers in range, lists of names, a
choice from a list; and :func:`fail`, the one way an entry point reports bad input.

Every check raises :class:`sim.params.ConfigError` with one line that names the key and what is allowed; the
command line prints it and exits with status 2 before any work starts.
"""

from __future__ import annotations

import math
import sys

from sim.params import ConfigError

EXIT_BAD_INPUT = 2  # every entry point exits with this status on bad input (after one line on stderr)


def fail(message: str):
    """Print one line, ``error: ...``, to stderr and exit with :data:`EXIT_BAD_INPUT`."""
    sys.stderr.write(f"error: {' '.join(str(message).split())}\n")
    sys.stderr.flush()
    raise SystemExit(EXIT_BAD_INPUT)


def check_finite(obj, prefix: str) -> None:
    """Refuse NaN and infinity anywhere in a (nested) config."""
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ConfigError(f"'{prefix}' must be a finite number, got {obj!r}")
    if isinstance(obj, str) and obj.strip().lower() in ("nan", "inf", "+inf", "-inf", "infinity", "-infinity"):
        raise ConfigError(f"'{prefix}' must be a finite number, got {obj!r}")
    if isinstance(obj, dict):
        for k, v in obj.items():
            check_finite(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            check_finite(v, f"{prefix}[{i}]")


def check_int(v, key: str, low: int | None = None, high: int | None = None) -> int:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"'{key}' must be a whole number{_range(low, high)}, got {v!r}")
    if (low is not None and v < low) or (high is not None and v > high):
        raise ConfigError(f"'{key}' must be a whole number{_range(low, high)}, got {v!r}")
    return v


def check_number(v, key: str, low: float | None = None, high: float | None = None, *, low_open=False,
                 high_open=False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ConfigError(f"'{key}' must be a finite number{_range(low, high, low_open, high_open)}, got {v!r}")
    bad_low = low is not None and (v <= low if low_open else v < low)
    bad_high = high is not None and (v >= high if high_open else v > high)
    if bad_low or bad_high:
        raise ConfigError(f"'{key}' must be a number{_range(low, high, low_open, high_open)}, got {v!r}")
    return float(v)


def _range(low, high, low_open=False, high_open=False) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high}"
    return ""


def check_list(v, key: str, allowed=None, *, min_len: int = 1, max_len: int | None = None) -> list:
    """A list of names: a list (not a bare string), of ``min_len`` to ``max_len`` entries, each once, each one of
    ``allowed`` when given."""
    if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple)):
        raise ConfigError(f"'{key}' must be a list (e.g. {key}=[a,b]), got {v!r}")
    if len(v) < min_len:
        extra = f"; allowed: {', '.join(allowed)}" if allowed else ""
        raise ConfigError(f"'{key}' is empty: give at least {min_len}{extra}")
    if max_len is not None and len(v) > max_len:
        raise ConfigError(f"'{key}' takes at most {max_len} entries, got {len(v)}")
    seen = set()
    for x in v:
        if not isinstance(x, str):
            raise ConfigError(f"'{key}' must list names, got {x!r}")
        if allowed is not None and x not in allowed:
            raise ConfigError(f"unknown '{x}' in '{key}'; allowed: {', '.join(allowed)}")
        if x in seen:
            raise ConfigError(f"'{key}' lists '{x}' twice; give each once")
        seen.add(x)
    return list(v)


def check_choice(v, key: str, allowed) -> str:
    if v not in allowed:
        raise ConfigError(f"unknown {key.rsplit('.', 1)[-1]} {v!r} for '{key}'; allowed: {', '.join(allowed)}")
    return v
