"""Typed, validated run configuration from plain mappings (what Hydra composes, or a user's dict).

Nothing here imports Hydra: ``cli.main`` turns the composed config into a plain dict and passes it here.
Every error names the key and the allowed values, and is raised before any work starts.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import pathlib

import yaml

from sim.params import ConfigError, build, describe, mapping
from sim.processes import PARAM_GROUPS

CONFIG_DIR = pathlib.Path(__file__).resolve().parent.parent / "configs"
ENGINES = ("vectorised", "agents")

# every mechanism parameter: one field per parameter group, in the order the rules declare them
# (``sim.processes.PARAM_GROUPS``); ``params.language.class_hour`` and so on
ModelParams = dataclasses.make_dataclass(
    "ModelParams", [(k, cls, dataclasses.field(default_factory=cls)) for k, cls in PARAM_GROUPS.items()])
ModelParams.__module__ = __name__  # so that it pickles (spawned workers receive it)
ModelParams.__doc__ = "The mechanism parameters of one model, by group (see ``sim.processes.PARAM_GROUPS``)."


def model_params(values: dict | None) -> ModelParams:
    values = mapping(values, "model")
    unknown = sorted(set(values) - set(PARAM_GROUPS))
    if unknown:
        raise ConfigError(f"unknown parameter group 'model.{unknown[0]}'; allowed: {', '.join(PARAM_GROUPS)}")
    return ModelParams(**{k: build(cls, values.get(k), f"model.{k}") for k, cls in PARAM_GROUPS.items()})


def available_areas() -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / "area").glob("*.yaml"))


def load_area(area) -> dict:
    """An area config: a name of a file in configs/area/, or an already-loaded mapping."""
    if isinstance(area, dict):
        return area
    names = available_areas()
    if area not in names:
        raise ConfigError(f"unknown area '{area}' for key 'area'; allowed: {', '.join(names)}")
    path = CONFIG_DIR / "area" / f"{area}.yaml"
    return copy.deepcopy(_parsed(str(path), path.stat().st_mtime_ns))


@functools.lru_cache(maxsize=32)
def _parsed(path: str, mtime_ns: int) -> dict:
    """An area file parsed once per version of the file (a model, its checks and its scenario each ask for it)."""
    with open(path) as f:
        return yaml.safe_load(f)


MAX_WEEKS = 5200  # 100 years: 'weeks=1e6' would run for days
MAX_SEED = 2**32 - 1  # numpy's classic seed range; replicate and job numbers are derived from it in 64 bits
# seeds per configuration: 10,000 replicates of the main job are 450,000 runs (weeks on 2 cores); 'replicates=1e8'
# spent minutes preparing its runs before the first one started
MAX_REPLICATES = 10_000


def check_run(scale, weeks, seed, engine) -> tuple[float, int, int, str]:
    """Validate the top-level run keys; returns them typed. Numbers must be numbers (the Python API takes no
    text for them: scale='0.01' was read while weeks='2' was refused)."""
    import numbers

    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):  # (float(True) is 1.0: every resident)
        raise ConfigError(f"'scale' must be a number in (0, 1], got {scale!r}")
    scale = float(scale)
    if not 0 < scale <= 1:
        raise ConfigError(f"'scale' must be in (0, 1] (1.0 = every resident), got {scale!r}")
    if isinstance(weeks, float) and weeks.is_integer():
        weeks = int(weeks)
    if isinstance(weeks, bool) or not isinstance(weeks, numbers.Integral) or not 0 <= weeks <= MAX_WEEKS:
        raise ConfigError(f"'weeks' must be a whole number from 0 to {MAX_WEEKS} (100 years), got {weeks!r}")
    weeks = int(weeks)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"'seed' must be a whole number from 0 to {MAX_SEED}, got {seed!r}")
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine '{engine}' for key 'engine'; allowed: {', '.join(ENGINES)}")
    return scale, weeks, seed, engine


MIN_RESIDENTS = 50  # below this a synthetic population cannot fill its households, schools and workplaces


def check_scale(scale: float, area, key: str = "scale") -> None:
    """Refuse a scale that leaves an area with too few residents to simulate (before any work)."""
    cfg = load_area(area)
    population = float(cfg["census"]["population"])
    if scale * population < MIN_RESIDENTS:
        raise ConfigError(f"'{key}' {scale!r} gives {scale * population:.0f} residents in {cfg['name']}; at least "
                          f"{MIN_RESIDENTS} are needed: {key} >= {MIN_RESIDENTS / population:.2g}")


def parameter_table() -> list[dict]:
    rows = []
    for key, cls in PARAM_GROUPS.items():
        rows += describe(cls, f"model.{key}")
    return rows


def all_parameters() -> list[dict]:
    """Every mechanism and programme parameter with its value, unit, range and source (the parameter table)."""
    from sim.interventions import REGISTRY

    rows = parameter_table()
    for name, cls in REGISTRY.items():
        rows += describe(cls.Params, f"interventions.{name}")
    return rows


def evidence_counts() -> dict:
    """How many parameters are assumptions (not read from a source): what a report states as a caveat."""
    rows = all_parameters()
    assumed = [r for r in rows if str(r["source"]).lower().startswith("assumption")]
    return {"parameters": len(rows), "assumptions": len(assumed)}
