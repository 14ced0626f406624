"""The page's values, checked before anything draws or runs them.

A browser sends whatever its websocket carries: a budget of ``nan`` (which never equals itself, so Solara drew the
page again and again until it gave up with a traceback), a share of -0.5 or a string, a million replicates, a
scenario named ``../x``. So every value a widget sends is first stored as something that equals itself
(:func:`keep`), drawn only through :func:`number` (a bad value draws as the default), and turned into a
:class:`~app.explorer.Choice` only by :func:`read`, which names the first bad value in one line, as the command line
does; the command line's own checks follow when the study is composed (:func:`app.explorer.check`).
"""

from __future__ import annotations

import math

from app import explorer as ex
from sim import scenario
from sim.interventions import NAMES
from sim.params import ConfigError

OWN = "(your own)"
WEEK_CHOICES = [52, 104, 156, 208]
SCALE_CHOICES = [0.005, 0.01, 0.02, 0.05, 0.1]
REPLICATES = (2, 32)  # the page's slider: the command line takes more, a shared server should not
MAX_BUDGET = getattr(scenario, "MAX_BUDGET_GBP", 1e9)  # the command line's ceiling (GBP 1bn, area-equivalent)
MAX_SEED = 2**32 - 1


class NotFinite(str):
    """A NaN or infinity a widget sent, kept as its name (a string equals itself; NaN does not)."""

    def __repr__(self) -> str:
        return str(self)


def keep(x):
    """What a widget sent, in a form that equals itself and is cheap to hold: NaN and infinities become their
    names, other odd things a short description (they are refused later, by :func:`read`)."""
    if x is None or isinstance(x, (bool, str)):
        return x if not isinstance(x, str) else x[:200]
    if isinstance(x, int):
        return x if abs(x) < 10**30 else "a number of %d digits" % len(str(abs(x)))
    if isinstance(x, float):
        return x if math.isfinite(x) else NotFinite(repr(x))
    if isinstance(x, (list, tuple)):
        return tuple(keep(v) for v in x[:20])
    return f"a {type(x).__name__}"


def number(x, default: float) -> float:
    """``x`` as a finite number for drawing (a slider's position, a label), else ``default``."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        return default
    return float(x)


def shown_budget(x) -> float:
    """The budget as the page draws it (0 while it is not a number the page accepts)."""
    try:
        return _num("budget", x, -MAX_BUDGET, MAX_BUDGET, text=True)
    except ConfigError:
        return 0.0


def _num(key: str, x, low: float, high: float, whole: bool = False, text: bool = False):
    kind = "whole number" if whole else "number"
    if isinstance(x, NotFinite):
        raise ConfigError(f"'{key}' must be a finite number, got {x!r}")
    if isinstance(x, str) and text:
        try:
            x = float(x.strip().replace(",", "").replace("_", "")) if not whole else int(x.strip())
        except ValueError:
            raise ConfigError(f"'{key}' must be a {kind}, got {x!r}") from None
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ConfigError(f"'{key}' must be a {kind}, got {x!r}")
    if not math.isfinite(x):
        raise ConfigError(f"'{key}' must be a finite number, got {x!r}")
    if whole and x != int(x):
        raise ConfigError(f"'{key}' must be a whole number, got {x!r}")
    if not low <= x <= high:
        span = f"<= {_n(high)}" if low == -math.inf else f"from {_n(low)} to {_n(high)}"
        raise ConfigError(f"'{key}' must be a {kind} {span} in the explorer, got {x!r}")
    return int(x) if whole else float(x)


def _n(v: float) -> str:
    return f"{int(v):,}" if float(v).is_integer() else f"{v:g}"


def _one_of(what: str, x, allowed) -> None:
    if not isinstance(x, str) or x not in allowed:
        raise ConfigError(f"unknown {what} {x!r}; allowed: {', '.join(str(a) for a in allowed)}")


def read(v: dict) -> ex.Choice:
    """The choice the page's values make, or :class:`ConfigError` naming the first bad one. ``v`` holds the raw
    values: area, start_from, budget (text), shares, policies, start_week, end_week, weeks, scale, replicates,
    seed (text), parameters, compare_with, where (programme or policy -> the MSOA codes the map's clicks sent)."""
    _one_of("area", v["area"], ex.areas())
    _one_of("scenario to start from", v["start_from"], [OWN, *ex.provided()])
    budget = _num("scenario.budget_gbp", v["budget"], -math.inf, MAX_BUDGET, text=True)
    shares = {n: _num(f"scenario.allocation.{n}", v["shares"][n], 0.0, 1.0) for n in NAMES}
    policies = []
    for n in ex.POLICIES:
        if not isinstance(v["policies"][n], bool):
            raise ConfigError(f"'scenario.policies.{n}' must be true or false, got {v['policies'][n]!r}")
        if v["policies"][n]:
            policies.append(n)
    if v["weeks"] not in WEEK_CHOICES or isinstance(v["weeks"], bool):
        raise ConfigError(f"'weeks' must be one of {', '.join(map(str, WEEK_CHOICES))} in the explorer, "
                          f"got {v['weeks']!r}")
    weeks = int(v["weeks"])
    start = _num("scenario.start_week", v["start_week"], 0, weeks, whole=True)
    end = _num("scenario.end_week", v["end_week"], 0, weeks, whole=True)
    if v["scale"] not in SCALE_CHOICES or isinstance(v["scale"], bool):
        raise ConfigError(f"'scale' must be one of {', '.join(map(str, SCALE_CHOICES))} in the explorer, "
                          f"got {v['scale']!r}")
    replicates = _num("replicates", v["replicates"], *REPLICATES, whole=True)
    seed = _num("seed", v["seed"], 0, MAX_SEED, whole=True, text=True)
    _one_of("parameters", v["parameters"], ("ensemble", "fixed"))
    compare = v["compare_with"]
    if not isinstance(compare, (list, tuple)):
        raise ConfigError(f"'study.scenarios' to compare with must be a list of scenarios, got {compare!r}")
    for s in compare:
        _one_of("scenario to compare with", s, ex.provided())
    where = _where(v.get("where") or {}, v["area"], shares, policies)
    return ex.Choice(area=v["area"], budget_gbp=budget, shares=shares, policies=tuple(policies), start_week=start,
                     end_week=end, weeks=weeks, scale=float(v["scale"]), replicates=replicates, seed=seed,
                     compare_with=tuple(dict.fromkeys(compare)), parameters=v["parameters"], where=where)


def _where(where: dict, area: str, shares: dict, policies: list) -> dict:
    """The places picked on the map: only what runs can be placed, and only in the chosen area's MSOAs (a browser
    may send any code in a click: each is checked against the area's own list, never trusted)."""
    codes = ex.msoas(area).codes
    out = {}
    for name, picked in where.items():
        if not picked:
            continue
        key = f"scenario.where.{name}"
        if name not in NAMES + ex.POLICIES:
            raise ConfigError(f"unknown programme or policy {key!r}")
        if name in NAMES and not shares[name] > 0:
            raise ConfigError(f"'{key}': {ex.PROGRAMME_NAMES[name]} has no share of the budget; give it a share, or "
                              "clear its places on the map")
        if name in ex.POLICIES and name not in policies:
            raise ConfigError(f"'{key}': the policy '{name}' is not switched on; switch it on, or clear its places "
                              "on the map")
        if not isinstance(picked, tuple):
            raise ConfigError(f"'{key}' must be a list of MSOA codes, got {picked!r}")
        for code in picked:
            if not isinstance(code, str) or code not in codes:
                raise ConfigError(f"unknown MSOA {code!r} in '{key}'; allowed: {area}'s {len(codes)} MSOA codes "
                                  "(its map's)")
        out[name] = tuple(sorted(set(picked)))
    return out


def problem(v: dict) -> str | None:
    """The one line that says what is wrong with the page's values, or None."""
    try:
        read(v)
    except ConfigError as e:
        return f"error: {e}"
    return None
