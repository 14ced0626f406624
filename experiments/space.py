"""A study's parameter space: dotted parameter keys, their ranges from the parameter table, and how a sampled
point becomes the ``model`` and ``interventions`` mappings of a run (shared by sensitivity and calibration)."""

from __future__ import annotations

import dataclasses

from sim.params import ConfigError


def _field(key: str):
    """(dataclass field metadata, default value) of a dotted parameter key."""
    from sim.config import PARAM_GROUPS
    from sim.interventions import REGISTRY

    parts = key.split(".")
    if parts[0] == "model" and len(parts) >= 3 and parts[1] in PARAM_GROUPS:
        cls, name, sub = PARAM_GROUPS[parts[1]], parts[2], parts[3:]
    elif parts[0] == "interventions" and len(parts) >= 3 and parts[1] in REGISTRY:
        cls, name, sub = REGISTRY[parts[1]].Params, parts[2], parts[3:]
    else:
        raise ConfigError(f"unknown parameter '{key}' in 'study.parameters'; use model.<group>.<name> or "
                          "interventions.<programme>.<name> (see docs/parameters.md)")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if name not in fields:
        raise ConfigError(f"unknown parameter '{key}' in 'study.parameters'; allowed in '{'.'.join(parts[:2])}': "
                          f"{', '.join(sorted(fields))}")
    f = fields[name]
    default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
    for s in sub:
        if not isinstance(default, dict) or s not in default:
            raise ConfigError(f"unknown parameter '{key}' in 'study.parameters'")
        default = default[s]
    if isinstance(default, bool) or not isinstance(default, (int, float)):
        raise ConfigError(f"'{key}' is not a number and cannot be varied")
    return f.metadata, float(default)


def problem(parameters: list, range_factor: float) -> dict:
    """SALib problem from parameter keys (or {key: [low, high]} entries)."""
    names, bounds = [], []
    for p in parameters:
        if isinstance(p, dict):
            (key, rng), = p.items()
            _field(key)
            lo, hi = float(rng[0]), float(rng[1])
        else:
            key = p
            meta, default = _field(key)
            lo, hi = default * (1 - range_factor), default * (1 + range_factor)
            if meta.get("low") is not None:
                lo = max(lo, meta["low"])
            if meta.get("high") is not None:
                hi = min(hi, meta["high"])
        if not lo < hi:
            raise ConfigError(f"empty range for '{key}': [{lo}, {hi}]")
        names.append(key)
        bounds.append([lo, hi])
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def _nest(key: str, value: float, model: dict, interventions: dict) -> None:
    parts = key.split(".")
    target = model if parts[0] == "model" else interventions
    node = target
    for p in parts[1:-1]:
        node = node.setdefault(p, {})
    whole_int = key.endswith(("duration_weeks", "cohort_every_weeks", "group_size", "reindex_weeks",
                              "work_team_size"))
    node[parts[-1]] = int(round(value)) if whole_int else float(value)


def _merge(base: dict, extra: dict) -> dict:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in (base or {}).items()}
    for k, v in extra.items():
        out[k] = _merge(out.get(k, {}), v) if isinstance(v, dict) else v
    return out
