"""A study's parameter space: dotted parameter keys, their plausible ranges from the parameter table, and how a
sampled point becomes the ``model`` and ``interventions`` mappings of a run (shared by sensitivity, calibration and
the uncertainty of studies).

A key is ``model.<group>.<name>`` or ``interventions.<programme>.<name>``, with ``.<entry>`` for one entry of a
mapping, or ``.*`` for a multiplier on a whole set-up shape (a per-group mapping or a list). ``DUMMY`` is a
parameter that nothing reads: its sensitivity index is the noise floor.
"""

from __future__ import annotations

import dataclasses

from sim.params import ConfigError

DUMMY = "dummy"


def uncertain_keys() -> list[tuple[str, tuple[float, float]]]:
    """Every uncertain parameter of the model and the programmes with its plausible range (the parameter table)."""
    from sim.config import PARAM_GROUPS
    from sim.interventions import REGISTRY
    from sim.params import uncertain_entries

    out = []
    for group, cls in PARAM_GROUPS.items():
        out += uncertain_entries(cls, f"model.{group}")
    for name, intervention in REGISTRY.items():
        out += uncertain_entries(intervention.Params, f"interventions.{name}")
    return out


def _field(key: str):
    """(dataclass field metadata, default value) of a dotted parameter key; for ``.*`` the default container."""
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
    if sub == ["*"]:
        if not isinstance(default, (dict, list)):
            raise ConfigError(f"'{key}': '.*' (a multiplier on a whole mapping or list) needs a mapping or list")
        return f.metadata, default
    for s in sub:
        if not isinstance(default, dict) or s not in default:
            raise ConfigError(f"unknown parameter '{key}' in 'study.parameters'")
        default = default[s]
    if isinstance(default, bool) or not isinstance(default, (int, float)):
        raise ConfigError(f"'{key}' is not a number and cannot be varied")
    return f.metadata, float(default)


def _declared(key: str):
    """The declared default of a dotted key, in its own type (an int stays an int)."""
    from sim.config import PARAM_GROUPS
    from sim.interventions import REGISTRY

    parts = key.split(".")
    cls = PARAM_GROUPS[parts[1]] if parts[0] == "model" else REGISTRY[parts[1]].Params
    value = {f.name: f for f in dataclasses.fields(cls)}[parts[2]]
    value = value.default if value.default is not dataclasses.MISSING else value.default_factory()
    for s in parts[3:]:
        value = value[s]
    return value


def problem(parameters: list | str, range_factor: float | None = None, dummy: bool = False) -> dict:
    """SALib problem from parameter keys (or {key: [low, high]} entries, or "all" for every uncertain parameter).

    A bare key varies over its plausible range from the parameter table, or, given ``range_factor``, over its
    default x (1 -/+ range_factor) within the allowed range. ``dummy`` adds a parameter nothing reads.
    """
    from sim.params import plausible_range

    if parameters == "all":
        parameters = [{k: list(r)} for k, r in uncertain_keys()]
    elif isinstance(parameters, str):
        raise ConfigError(f"'study.parameters' must be 'all', null or a list of keys, got {parameters!r}")
    names, bounds = [], []
    for p in parameters:
        if isinstance(p, dict):
            (key, rng), = p.items()
            _field(key)
            lo, hi = float(rng[0]), float(rng[1])
        else:
            key = p
            meta, default = _field(key)
            if key.endswith(".*"):
                lo, hi = 1 - (range_factor or 0.5), 1 + (range_factor or 0.5)
            elif range_factor is not None:
                lo, hi = default * (1 - range_factor), default * (1 + range_factor)
                if meta.get("low") is not None:
                    lo = max(lo, meta["low"])
                if meta.get("high") is not None:
                    hi = min(hi, meta["high"])
            else:
                rng = plausible_range(meta, default, key.split(".")[3] if key.count(".") == 3 else None)
                if rng is None:
                    why = meta.get("design") or "its default is a structural zero"
                    raise ConfigError(f"'study.parameters': '{key}' has no plausible range to vary over ({why}); "
                                      f"give one as {{{key}: [low, high]}}")
                lo, hi = rng
        if not lo < hi:
            raise ConfigError(f"empty range for '{key}': [{lo}, {hi}]")
        if key in names:
            raise ConfigError(f"'{key}' is listed twice in 'study.parameters'")
        names.append(key)
        bounds.append([lo, hi])
    if dummy:
        names.append(DUMMY)
        bounds.append([0.0, 1.0])
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def label(key: str) -> str:
    """A readable name for a parameter key: the short name and its group, e.g. 'meet: neighbourhood (ties)'."""
    if key == DUMMY:
        return "dummy (noise floor)"
    parts = key.split(".")
    if len(parts) < 3:
        return key
    group, name, rest = parts[1], parts[2], parts[3:]
    name = name.replace("_", " ")
    if rest == ["*"]:
        name += " (shape)"
    elif rest:
        name += ": " + rest[0].replace("_", " ")
    return f"{name} ({group.replace('_', ' ')})"


def _nest(key: str, value: float, model: dict, interventions: dict) -> None:
    """Write a sampled value into the run's mappings (a ``.*`` multiplier scales the whole default container)."""
    if key == DUMMY:
        return
    parts = key.split(".")
    if parts[-1] == "*":
        meta, default = _field(key)
        lo, hi = meta.get("low"), meta.get("high")
        clip = lambda v: min(max(v * value, lo if lo is not None else -1e300), hi if hi is not None else 1e300)
        scaled = {k: clip(v) for k, v in default.items()} if isinstance(default, dict) else [clip(v) for v in default]
        parts = parts[:-1]
        node = model if parts[0] == "model" else interventions
        for p in parts[1:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = scaled
        return
    target = model if parts[0] == "model" else interventions
    node = target
    for p in parts[1:-1]:
        node = node.setdefault(p, {})
    whole = isinstance(_declared(key), int) and not isinstance(_declared(key), bool)
    node[parts[-1]] = int(round(value)) if whole else float(value)


def _merge(base: dict, extra: dict) -> dict:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in (base or {}).items()}
    for k, v in extra.items():
        out[k] = _merge(out.get(k, {}), v) if isinstance(v, dict) else v
    return out
