"""Funding scenarios: how much money an area gets and how it is shared across programmes.

A scenario is a total budget ``budget_gbp`` (area-equivalent pounds over the run; a number, or a mapping from area
name to number), an ``allocation`` of shares of that budget to programmes (0 to 1 each, summing to at most 1),
the ``policies`` it switches on (rule changes that are not bought: true or false each), and when programmes run
(``start_week``, ``end_week``, and per-intervention ``start_weeks``; a policy acts from its start week to the
end), and ``where`` each programme or policy reaches: a list of the area's MSOA codes per name
(``where.esol: [E02002110, E02002111]``; ``python -m sim.places <area>`` lists them), whose residents alone are
eligible; a name not given reaches the whole area. Everything is checked before a run starts; every error names
the key and what is allowed.
"""

from __future__ import annotations

import dataclasses
import pathlib

import yaml

from sim.checks import check_name
from sim.interventions import NAMES, POLICIES, REGISTRY
from sim.params import ConfigError, build, mapping

CONFIG_DIR = pathlib.Path(__file__).resolve().parent.parent / "configs"
SCENARIO_KEYS = ("name", "description", "budget_gbp", "allocation", "policies", "start_week", "end_week",
                 "start_weeks", "where")
# the most one area may be given (area-equivalent GBP over the run): 20 times the national Integrated Communities
# programme (GBP 50m) and more than a pilot council's whole yearly budget (Bradford's net budget is about
# GBP 0.4bn). Beyond it no programme is short of money, so a larger figure is a slip (1e300 bought 3.3e293 places)
MAX_BUDGET_GBP = 1e9


@dataclasses.dataclass
class Scenario:
    name: str
    budget_gbp: float
    allocation: dict  # intervention -> share
    start_week: int
    end_week: int
    start_weeks: dict
    description: str = ""
    policies: tuple = ()  # the policies switched on, in name order
    where: dict = dataclasses.field(default_factory=dict)  # programme or policy -> its MSOA codes (absent: everywhere)

    def budget_of(self, intervention: str) -> float:
        return self.budget_gbp * self.allocation.get(intervention, 0.0)

    @property
    def unallocated_gbp(self) -> float:
        """Budget not given to any programme (management and evaluation in the provided scenarios)."""
        return self.budget_gbp - self.allocated_gbp

    @property
    def allocated_gbp(self) -> float:
        return self.budget_gbp * sum(self.allocation.values())


def available_scenarios() -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / "scenario").glob("*.yaml") if not p.stem.startswith("_"))


def schema() -> dict:
    """What every scenario has unless it says otherwise: each registered programme at share 0, no start week of its
    own and no places of its own (``where``: null, the whole area). Scenario files inherit it (``defaults:
    [_schema, _self_]``), so a new programme can be funded from the command line in any scenario without editing
    the files."""
    return {"name": "custom", "description": "", "budget_gbp": 0, "allocation": {n: 0.0 for n in NAMES},
            "policies": {n: False for n in POLICIES},
            "start_week": 0, "end_week": None, "start_weeks": {n: None for n in sorted(REGISTRY)},
            "where": {n: None for n in sorted(REGISTRY)}}


def load_scenario(name: str) -> dict:
    """A scenario file as Hydra composes it: the schema, then the file's own values."""
    if name not in available_scenarios():
        raise ConfigError(f"unknown scenario '{name}' for key 'scenario'; allowed: {', '.join(available_scenarios())}")
    own = yaml.safe_load((CONFIG_DIR / "scenario" / f"{name}.yaml").read_text()) or {}
    own.pop("defaults", None)
    out = schema()
    for k, v in own.items():
        out[k] = {**out[k], **(v or {})} if k in ("allocation", "policies", "start_weeks", "where") else v
    return out


def intervention_defaults() -> dict:
    """Every intervention's parameter file in configs/intervention/ (what Hydra composes under 'interventions')."""
    out = {}
    for p in sorted((CONFIG_DIR / "intervention").glob("*.yaml")):
        out[p.stem] = yaml.safe_load(p.read_text()) or {}
    return out


def _number(v, key, low=None, high=None):
    """A number (not text that reads as one, nor true/false: 'budget_gbp: true' was a budget of GBP 1), in range;
    -0.0 read as 0."""
    import numbers

    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise ConfigError(f"'{key}' must be a number, got {v!r}")
    if v != v or (low is not None and v < low) or (high is not None and v > high):
        raise ConfigError(f"'{key}' must be a number{f' from {low:g}' if low is not None else ''}"
                          f"{f' to {high:g}' if high is not None else ''}, got {v!r}")
    return v + 0 if isinstance(v, numbers.Integral) else float(v) + 0.0


def _week(v, key, weeks):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or float(v) != int(v):
        raise ConfigError(f"'{key}' must be a whole week number, got {v!r}")
    v = int(v)
    if not 0 <= v <= max(weeks - 1, 0):
        raise ConfigError(f"'{key}' must be a week of the run, 0 to {max(weeks - 1, 0)}, got {v}")
    return v


def check(values: dict | str | None, area: str, weeks: int) -> Scenario:
    """A validated Scenario from a mapping (or a scenario name), for one area and run length."""
    if values is None:
        values = "baseline"
    if isinstance(values, str):
        values = load_scenario(values)
    values = mapping(values, "scenario")
    unknown = sorted(set(values) - set(SCENARIO_KEYS))
    if unknown:
        raise ConfigError(f"unknown key 'scenario.{unknown[0]}'; allowed: {', '.join(SCENARIO_KEYS)}")
    budget = values.get("budget_gbp", 0)
    if isinstance(budget, dict):
        if area not in budget:
            raise ConfigError(f"'scenario.budget_gbp' gives no budget for area '{area}'; it has: "
                              f"{', '.join(sorted(budget))}")
        budget = budget[area]
        key = f"scenario.budget_gbp.{area}"
    else:
        key = "scenario.budget_gbp"
    budget = _number(budget, key, low=0, high=MAX_BUDGET_GBP)
    alloc = mapping(values.get("allocation"), "scenario.allocation")
    for name, share in alloc.items():
        if name in POLICIES:
            raise ConfigError(f"'scenario.allocation.{name}': '{name}' is a policy, not a programme to fund; switch "
                              f"it on with scenario.policies.{name}=true")
        if name not in REGISTRY:
            raise ConfigError(f"unknown programme 'scenario.allocation.{name}'; known: {', '.join(NAMES)}")
        share = _number(share, f"scenario.allocation.{name}")
        if not 0 <= share <= 1:
            raise ConfigError(f"'scenario.allocation.{name}' must be a share from 0 to 1, got {share}")
        alloc[name] = share
    policies = values.get("policies") or {}
    if not isinstance(policies, dict):
        raise ConfigError(f"'scenario.policies' must be a mapping of policy name to true or false, got {policies!r}; "
                          f"policies: {', '.join(POLICIES)}")
    on = []
    for name, v in policies.items():
        if name not in POLICIES:
            hint = (f" ('{name}' is a programme: fund it with scenario.allocation.{name})" if name in NAMES else "")
            raise ConfigError(f"unknown policy 'scenario.policies.{name}'{hint}; known: {', '.join(POLICIES)}")
        if not isinstance(v, bool):
            raise ConfigError(f"'scenario.policies.{name}' must be true or false, got {v!r}")
        if v:
            on.append(name)
    total = sum(alloc.values())
    if total > 1 + 1e-9:
        raise ConfigError(f"'scenario.allocation' shares add up to {total:.3f}: more than the budget (at most 1)")
    start = _week(values.get("start_week", 0), "scenario.start_week", weeks)
    end = values.get("end_week")
    end = weeks if end is None else _number(end, "scenario.end_week", low=0)
    if float(end) != int(end) or (weeks > 0 and end <= start):
        raise ConfigError(f"'scenario.end_week' must be a whole week after start_week ({start}), got {end}")
    end = min(int(end), weeks)  # a programme year longer than the run stops with the run
    starts = {}
    for name, w in mapping(values.get("start_weeks"), "scenario.start_weeks").items():
        if name not in REGISTRY:
            raise ConfigError(f"unknown intervention 'scenario.start_weeks.{name}'; known: "
                              f"{', '.join(sorted(REGISTRY))}")
        if w is not None:
            starts[name] = _week(w, f"scenario.start_weeks.{name}", weeks)
            if weeks > 0 and starts[name] >= end:
                raise ConfigError(f"'scenario.start_weeks.{name}' ({starts[name]}) must be before end_week ({end}): "
                                  "the programme would never take a cohort")
    funded = sorted([n for n, share in alloc.items() if share > 0] + on)  # (a budget of 0 too: swept to it)
    where = _where(values.get("where"), funded, area)
    name = check_name(values.get("name", "custom"), "scenario.name")  # (a folder and file name: sim.checks)
    if name == "baseline" and ((float(budget) > 0 and any(alloc.values())) or on):
        raise ConfigError("'scenario.name' 'baseline' is kept for no funding, against which every scenario is "
                          "compared; give a funded scenario a name of its own (scenario.name=<name>)")
    return Scenario(name=name, budget_gbp=float(budget),
                    allocation={k: alloc[k] for k in sorted(alloc)}, start_week=start, end_week=end,
                    start_weeks=starts, description=str(values.get("description", "")), policies=tuple(sorted(on)),
                    where=where)


def _where(values, funded: list, area: str) -> dict:
    """``scenario.where``: each funded programme or policy switched on it names -> the MSOA codes (of ``area``)
    whose residents alone it reaches, in code order. A name set to null (the schema's) reaches the whole area."""
    values = mapping(values, "scenario.where")
    for name in values:
        if name not in REGISTRY:
            raise ConfigError(f"unknown programme or policy 'scenario.where.{name}'; known: "
                              f"{', '.join(sorted(REGISTRY))}")
    values = {k: v for k, v in values.items() if v is not None}
    if not values:
        return {}
    from sim.config import available_areas, load_area
    from sim.places import msoa_areas, places

    codes = places(load_area(area)["ons_code"]).codes
    allowed = (f"allowed: {area}'s {len(codes)} MSOA codes (listed with names and residents by "
               f"python -m sim.places {area})")
    out = {}
    for name, given in values.items():
        key = f"scenario.where.{name}"
        if name not in funded:
            why = (f"the policy '{name}' is not switched on (scenario.policies.{name}=true)" if name in POLICIES
                   else f"'{name}' is not funded in this scenario (no share: scenario.allocation.{name})")
            raise ConfigError(f"'{key}': {why}: only what runs can be placed; allowed: the funded programmes and "
                              f"the policies switched on: {', '.join(funded) or 'none'}")
        if isinstance(given, (str, bytes)) or not isinstance(given, (list, tuple)):
            raise ConfigError(f"'{key}' must be a list of MSOA codes (e.g. {key}=[{','.join(codes[:2])}]), got "
                              f"{given!r}; {allowed}")
        if not given:
            raise ConfigError(f"'{key}' is empty: give at least one MSOA code (or leave it out to reach the whole "
                              f"area); {allowed}")
        for code in given:
            if code in codes:
                if list(given).count(code) > 1:
                    raise ConfigError(f"'{key}' lists '{code}' twice; give each once")
                continue
            other = msoa_areas().get(code) if isinstance(code, str) else None
            if other is None:
                raise ConfigError(f"unknown MSOA {code!r} in '{key}'; {allowed}")
            owner = next((a for a in available_areas() if load_area(a)["ons_code"] == other[0]), other[1])
            raise ConfigError(f"MSOA '{code}' in '{key}' is in {owner}, not {area} (the area run); {allowed}")
        out[name] = tuple(sorted(given))
    return {k: out[k] for k in sorted(out)}


def intervention_params(values: dict | None) -> dict:
    """Validated parameters of every intervention: {name: Params instance}."""
    values = mapping(values, "interventions")
    unknown = sorted(set(values) - set(REGISTRY))
    if unknown:
        raise ConfigError(f"unknown intervention 'interventions.{unknown[0]}'; known: {', '.join(sorted(REGISTRY))}")
    return {name: build(cls.Params, values.get(name), f"interventions.{name}") for name, cls in REGISTRY.items()}


def check_extra(programmes) -> list:
    """Programme objects given to a model beside its scenario's (a trial's own): each with what the model calls,
    ``step``, ``forget``, ``report`` and ``spend_gbp``, checked before any work (5 was a TypeError and 'x' an
    AttributeError in the first week)."""
    import collections.abc

    if isinstance(programmes, (str, bytes, collections.abc.Mapping)) or not isinstance(programmes,
                                                                                      collections.abc.Iterable):
        raise ConfigError(f"'interventions' must be a list of programme objects, got {programmes!r}")
    out = list(programmes)
    for p in out:
        if not all(callable(getattr(p, m, None)) for m in ("step", "forget", "report")) or not hasattr(p, "spend_gbp"):
            raise ConfigError("'interventions' must list programme objects (step, forget, report and spend_gbp, as "
                              f"sim.interventions.base.Intervention has), got {p!r}")
    return out


def build_interventions(scenario: Scenario, params: dict, scale: float, rng_for) -> list:
    """The policies a scenario switches on, then its funded programmes, each in name order (so listing order never
    matters; policies first, as they change what programmes find in a week: who takes up a class place)."""
    out = []
    for name in scenario.policies:
        start = scenario.start_weeks.get(name, scenario.start_week)
        out.append(REGISTRY[name](params[name], 0.0, start, scenario.end_week, scale, rng_for(f"intervention:{name}"),
                                  where=scenario.where.get(name, ())))
    for name in sorted(scenario.allocation):
        budget = scenario.budget_of(name)
        if budget <= 0:
            continue
        cls = REGISTRY[name]
        start = scenario.start_weeks.get(name, scenario.start_week)
        out.append(cls(params[name], budget, start, scenario.end_week, scale, rng_for(f"intervention:{name}"),
                       where=scenario.where.get(name, ())))
    return out
