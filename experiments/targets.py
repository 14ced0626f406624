"""The targets the model is held to (``data/targets/targets.yaml``) and how each is computed from simulations.

Every target names an observation: a function here that runs what the published figure measured (a baseline
run of the area, or a virtual trial with the evaluation's own recruits, dose and follow-up) and returns the same
measure. ``load(role="calibrate")`` is the only way the calibration reads targets, so the held-out ones
(``role: validate``) never reach it.
"""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np
import yaml

from sim.config import available_areas
from sim.params import ConfigError

TARGETS_FILE = pathlib.Path(__file__).resolve().parent.parent / "data" / "targets" / "targets.yaml"
ROLES = ("calibrate", "validate")
DOMAINS = ("language", "employment", "mixing", "programme")
FIELDS = ("id", "role", "domain", "value", "low", "high", "interval", "population", "measure", "observation", "area",
          "source", "checked", "note")

# observation parameters: how a model quantity maps onto a published measure, where the mapping is uncertain.
# They are fitted with the mechanism parameters (prior ranges below) and carried in the ensemble.
OBSERVATION_PARAMS = {
    # Census units (0-4 scale) per ESOL level: pre-entry to Level 2 spans 'cannot speak' to 'very well', about
    # 1.5-2 ESOL levels per Census category; taken wide
    "esol_level_width": (0.5, 0.35, 1.0),
    # guided hours in the ESOL for Integration Fund's year of provision (not read in the evaluation): a few hours
    # a week over an academic year
    "esol_fund_hours": (100.0, 60.0, 200.0),
}
SIGNIFICANCE = 0.05


@dataclasses.dataclass(frozen=True)
class Target:
    id: str
    role: str
    domain: str
    value: float
    low: float
    high: float
    interval: str
    population: str
    measure: str
    observation: str
    area: str
    source: str
    checked: str
    note: str

    @property
    def sd(self) -> float:
        """The observation's uncertainty as a standard deviation: the interval read as +-2 sd."""
        return (self.high - self.low) / 4.0

    def hit(self, x: float) -> bool:
        return bool(np.isfinite(x) and self.low <= x <= self.high)


def load(role: str | None = None, path=TARGETS_FILE) -> list[Target]:
    """The targets, checked (every field present, role and domain known, low <= value <= high, observation known,
    ids unique); ``role`` keeps only 'calibrate' or 'validate' ones."""
    if role is not None and role not in ROLES:
        raise ConfigError(f"unknown target role '{role}'; allowed: {', '.join(ROLES)}")
    path = pathlib.Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"cannot read the targets file {path}: {e}") from None
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{path}: expected a list of targets")
    out, seen = [], set()
    for i, entry in enumerate(raw):
        where = f"{path.name}, target {i + 1}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping with keys {', '.join(FIELDS)}")
        missing = [f for f in FIELDS if f not in entry]
        extra = sorted(set(entry) - set(FIELDS))
        if missing or extra:
            raise ConfigError(f"{where} ({entry.get('id', '?')}): missing {missing or 'nothing'}, unknown "
                              f"{extra or 'nothing'}; keys are {', '.join(FIELDS)}")
        t = Target(**{f: entry[f] for f in FIELDS})
        where = f"{path.name}, target '{t.id}'"
        if t.id in seen:
            raise ConfigError(f"{where}: the id is used twice")
        seen.add(t.id)
        for key, allowed in (("role", ROLES), ("domain", DOMAINS), ("observation", tuple(OBSERVATIONS)),
                             ("area", ("all", *available_areas()))):
            if getattr(t, key) not in allowed:
                raise ConfigError(f"{where}: unknown {key} '{getattr(t, key)}'; allowed: {', '.join(allowed)}")
        for key in ("value", "low", "high"):
            v = getattr(t, key)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
                raise ConfigError(f"{where}: '{key}' must be a finite number, got {v!r}")
        if not t.low <= t.value <= t.high or t.low == t.high:
            raise ConfigError(f"{where}: need low <= value <= high and low < high, got {t.low}, {t.value}, {t.high}")
        out.append(t)
    return [t for t in out if role is None or t.role == role]


# --- observations -------------------------------------------------------------------------------------------------
# Three kinds. "state": a function of a baseline model of the area after its run (the end state); "run": a
# function of the baseline run's weekly indicators; "trial": a virtual trial of its own. For area "all" a state
# or run observation is the mean over the five areas.


def _state(fn):
    return ("state", fn)


def _mixing_all(m):
    from sim import observe
    return observe.mixing_monthly(m)


def _mixing_minority(m):
    from sim import observe
    return observe.mixing_monthly(m, observe.minority_groups(m))


def _chat(low, high):
    def f(m):
        from sim import observe
        return observe.neighbour_chat_monthly(m, low, high)
    return f


def _opportunities(groups):
    def f(m):
        from sim import observe
        return observe.opportunities_taken(m, groups)
    return f


def _fluency(m):
    from sim import observe
    return observe.fluency_employment_effect(m)


def _trend(ts) -> float:
    """Change per year of the Census poor-English share over the run (least-squares slope)."""
    y = ts["poor_english_share"].to_numpy(float)
    w = ts["week"].to_numpy(float) / 52.0
    return float(np.polyfit(w, y, 1)[0]) if len(y) > 2 else float("nan")


def _poor_or_low(model, width):
    """Learners at pre-entry or Entry 1 (the lowest two ESOL levels on the model's scale)."""
    pop = model.pop
    return ~pop.main_english & (pop.english < 2 * width)


def _esol_fund(ctx) -> float:
    """ESOL for Integration Fund: learners at pre-entry or Entry 1 take a year's provision; the share whose ESOL
    level (the model's proficiency in steps of ``esol_level_width``) rises by at least one."""
    from experiments.trial import set_up_trial

    width, hours = ctx.observation["esol_level_width"], ctx.observation["esol_fund_hours"]
    t = set_up_trial("esol", area="bradford", scale=ctx.trial_scale, seed=ctx.seed, recruit=600, follow_up=40,
                     params=ctx.params, intervention_overrides=ctx.interventions,
                     programme={**ctx.interventions.get("esol", {}), "duration_weeks": 40, "guided_hours": hours},
                     eligible=lambda m: _poor_or_low(m, width))
    start = np.floor(t.model.pop.english / width)
    t.model.run()
    took = t.followed(t.took)
    up = np.floor(t.model.pop.english / width) > start
    t.model.release()
    return float(up[took].mean()) if len(took) else float("nan")


def _cbel(outcome: str):
    def f(ctx) -> float:
        """The community English trial: women with little or no English of the trial's communities, 66 guided
        hours over 11 weeks, 249 offered and 278 wait-listed (as many as the simulated area has), about 60% with
        data at the end; 1.0 if the offered arm's gain is larger and significant at 5%, else 0.0."""
        from experiments.trial import compare, set_up_trial
        from sim import observe

        def recruits(m):
            pop = m.pop
            communities = [i for i, g in enumerate(pop.groups) if g in ("asian_pakistani", "asian_bangladeshi",
                                                                         "black_african")]
            return pop.female & (pop.english < 2.0) & np.isin(pop.group, communities)

        t = set_up_trial("esol", area="bradford", scale=ctx.trial_scale, seed=ctx.seed, recruit=527, follow_up=11,
                         params=ctx.params, intervention_overrides=ctx.interventions,
                         programme={**ctx.interventions.get("esol", {}), "duration_weeks": 11, "guided_hours": 66.0},
                         eligible=recruits)
        t.model.run()
        pop = t.model.pop
        x = (pop.english - t.start["english"]) if outcome == "english" else observe.ties_of(t.model) - t.start["ties"]
        rng = t.model.rng_for("trial:cbel-data")
        offer, control = t.followed(t.offer), t.followed(t.control)
        offer = offer[rng.random(len(offer)) < 0.6]  # about 60% gave data at every stage
        control = control[rng.random(len(control)) < 0.6]
        t.model.release()
        if len(offer) < 5 or len(control) < 5:
            return float("nan")
        c = compare(x, offer, control)
        return float(c["difference"] > 0 and c["p_value"] < SIGNIFICANCE)
    return f


def _ncs(ctx) -> float:
    """NCS: participants against controls of the same age, bridging ties 20 weeks after the programme ends."""
    from experiments.trial import compare, set_up_trial
    from sim import observe
    from sim.scenario import intervention_params

    duration = intervention_params(ctx.interventions)["ncs"].duration_weeks
    t = set_up_trial("ncs", area="bradford", scale=ctx.trial_scale, seed=ctx.seed, recruit=3317,
                     follow_up=duration + 20, params=ctx.params, intervention_overrides=ctx.interventions)
    t.model.run()
    x = observe.ties_of(t.model, bridging_only=True) - t.start["bridging_ties"]
    c = compare(x, t.followed(t.took), t.followed(t.control))
    t.model.release()
    return float(c["difference"] > 0 and c["p_value"] < SIGNIFICANCE)


def _employment_support(ctx) -> float:
    from experiments.trial import run_trial

    r = run_trial("employment_support", area="bradford", scale=ctx.trial_scale, seed=ctx.seed, recruit=1000,
                  follow_up=26, params=ctx.params, programme=ctx.interventions.get("employment_support"),
                  intervention_overrides=ctx.interventions)
    return r.itt["employed_change"]["difference"]


OBSERVATIONS = {
    "mixing_monthly_all": _state(_mixing_all),
    "mixing_monthly_minority": _state(_mixing_minority),
    "neighbour_chat_all_adults": _state(_chat(16.0, np.inf)),
    "neighbour_chat_16_24": _state(_chat(16.0, 25.0)),
    "neighbour_chat_65_plus": _state(_chat(65.0, np.inf)),
    "opportunities_taken_all": _state(_opportunities(None)),
    "opportunities_taken_white_british": _state(_opportunities(["white_british"])),
    "fluency_employment_effect": _state(_fluency),
    "poor_english_trend": ("run", _trend),
    "esol_fund_cohort": ("trial", _esol_fund),
    "cbel_english_significant": ("trial", _cbel("english")),
    "cbel_social_significant": ("trial", _cbel("social")),
    "ncs_ties_significant": ("trial", _ncs),
    "employment_support_itt": ("trial", _employment_support),
}


@dataclasses.dataclass
class Context:
    """What one simulation of the targets is given: mechanism parameters (``model`` config mapping), programme
    parameters, observation parameters, one seed, and the scales of the area runs and of the trials."""

    params: dict
    interventions: dict
    observation: dict
    seed: int
    scale: float = 0.01
    trial_scale: float = 0.05
    weeks: int = 104


def simulate(targets: list[Target], ctx: Context) -> dict[str, float]:
    """Each target's observation from one seed: one baseline run per area needed (shared by every state and run
    observation), and each trial once."""
    from sim.model import IntegrationModel

    out: dict[str, float] = {}
    areas = set()
    for t in targets:
        kind = OBSERVATIONS[t.observation][0]
        if kind in ("state", "run"):
            areas |= set(available_areas()) if t.area == "all" else {t.area}
    per_area: dict[str, dict] = {}
    for area in sorted(areas):
        m = IntegrationModel(area=area, scale=ctx.scale, seed=ctx.seed, weeks=ctx.weeks, params=ctx.params)
        m.run()
        ts = m.timeseries()
        per_area[area] = {t.id: (OBSERVATIONS[t.observation][1](m) if OBSERVATIONS[t.observation][0] == "state"
                                 else OBSERVATIONS[t.observation][1](ts))
                          for t in targets if OBSERVATIONS[t.observation][0] in ("state", "run")
                          and (t.area == "all" or t.area == area)}
        m.release()
    for t in targets:
        kind, fn = OBSERVATIONS[t.observation]
        if kind == "trial":
            try:
                out[t.id] = float(fn(ctx))
            except ConfigError:  # too few eligible at this parameter set (e.g. a narrow ESOL level): no figure
                out[t.id] = float("nan")
        else:
            vals = [per_area[a][t.id] for a in (available_areas() if t.area == "all" else [t.area])]
            out[t.id] = float(np.nanmean(vals))
    return out


def context_for(study: dict, names: list[str], x, seed: int) -> Context:
    """The Context of one parameter set ``x`` (values of the dotted keys ``names``: model., interventions. and
    observation. parameters) over a study's base parameters and sizes."""
    from experiments.space import _merge, _nest

    model, inter, obs = {}, {}, {k: v[0] for k, v in OBSERVATION_PARAMS.items()}
    for key, v in zip(names, x):
        if key.startswith("observation."):
            obs[key.split(".", 1)[1]] = float(v)
        else:
            _nest(key, float(v), model, inter)
    return Context(params=_merge(study.get("model"), model), interventions=_merge(study.get("interventions"), inter),
                     observation=obs, seed=int(seed), scale=float(study["scale"]),
                     trial_scale=float(study["trial_scale"]), weeks=int(study["weeks"]))


def observation_code() -> str:
    """A hash of the study code that turns parameters into target values (this module, the virtual trials, the
    parameter spaces): outside ``sim.provenance.fingerprint``'s folders, so calibration and validation keys add it."""
    import hashlib

    here = pathlib.Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in ("targets.py", "trial.py", "space.py", "calibrate.py", "emulator.py", "heldout.py",
                 "uncertainty.py"):
        h.update(name.encode() + b"\0" + (here / name).read_bytes() + b"\0")
    return h.hexdigest()[:16]
