"""Virtual randomised trials of one programme, reported the way the published evaluations report them.

Eligible residents (recruited by the programme's own targeting) are randomised to an offer of a place or to a
wait-list; those offered take it up at the programme's uptake rate. After the follow-up, the arms are compared on
the share who moved up at least one English level, the change in employment and the change in bridging contact,
as intention-to-treat differences with 95% confidence intervals; the same figures are given for the learners who
took part (the ESOL for Integration Fund reports its 24% among learners).

    python -m sim.trial esol area=bradford scale=0.05 seed=1 recruit=1000 follow_up=11
"""

from __future__ import annotations

import dataclasses
import math
import sys

import numpy as np

from sim.interventions import NAMES, REGISTRY
from sim.params import ConfigError
from sim.population import EMPLOYED

OUTCOMES = ("moved_up_a_level", "employed_change", "bridging_ties_change", "english_gain")


@dataclasses.dataclass
class TrialResult:
    intervention: str
    area: str
    n_offer: int
    n_control: int
    n_took_part: int
    follow_up_weeks: int
    itt: dict  # outcome -> {offer, control, difference, ci_low, ci_high, p_value}
    participants: dict  # outcome -> mean among those who took part
    fluency_employment_effect: float

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _bridging_ties(model) -> np.ndarray:
    n = model.pop.capacity
    out = np.zeros(n)
    for net in model.networks:
        m = net.alive & net.bridging
        out += np.bincount(net.a[m], minlength=n) + np.bincount(net.b[m], minlength=n)
    return out


def _compare(x_offer: np.ndarray, x_control: np.ndarray) -> dict:
    d = float(x_offer.mean() - x_control.mean())
    se = math.sqrt(x_offer.var(ddof=1) / len(x_offer) + x_control.var(ddof=1) / len(x_control))
    z = d / se if se > 0 else 0.0
    p = math.erfc(abs(z) / math.sqrt(2))
    return {"offer": float(x_offer.mean()), "control": float(x_control.mean()), "difference": d,
            "ci_low": d - 1.96 * se, "ci_high": d + 1.96 * se, "p_value": p}


def fluency_employment_effect(model) -> float:
    """Mean rise in the chance of work if residents aged 16-64 who cannot speak English well spoke it fluently
    (all else equal): the model's counterpart of Dustmann & Fabbri's ~22-point fluency effect."""
    from sim.processes import employment

    pop = model.pop
    rows = np.flatnonzero(pop.alive & ~pop.main_english & (pop.english < 2) & (pop.age >= 16) & (pop.age < 65))
    if len(rows) == 0:
        return float("nan")
    p = model.params
    now = employment.propensity(pop, p.population, model.employment_shift, rows=rows)
    saved = pop.english[rows].copy()
    pop.english[rows] = 3.5  # middle of "very well"
    fluent = employment.propensity(pop, p.population, model.employment_shift, rows=rows)
    pop.english[rows] = saved
    return float((fluent - now).mean())


def run_trial(intervention: str, area: str = "bradford", scale: float = 0.05, seed: int = 1, recruit: int = 1000,
              follow_up: int | None = None, params: dict | None = None, programme: dict | None = None,
              model_kwargs: dict | None = None) -> TrialResult:
    """Randomise ``recruit`` eligible residents (half offered) and follow them for ``follow_up`` weeks."""
    from sim.model import IntegrationModel
    from sim.scenario import intervention_params

    if intervention not in REGISTRY:
        raise ConfigError(f"unknown intervention '{intervention}'; known: {', '.join(NAMES)}")
    ip = intervention_params({intervention: programme or {}})[intervention]
    follow = int(follow_up if follow_up is not None else ip.duration_weeks)
    model = IntegrationModel(area=area, scale=scale, seed=seed, weeks=follow, params=params,
                             **(model_kwargs or {}))
    rng = model.rng_for(f"trial:{intervention}")
    cls = REGISTRY[intervention]
    prog = cls(ip, budget_gbp=1e12, start_week=follow, end_week=follow, scale=scale,
               rng=model.rng_for(f"intervention:{intervention}"))
    prog.prepare(model)
    eligible = np.flatnonzero(prog.eligible(model) & model.pop.alive)
    if len(eligible) < 20:
        raise ConfigError(f"only {len(eligible)} residents are eligible for '{intervention}' at scale {scale}; "
                          "use a larger scale")
    w = np.maximum(prog.priority(model, eligible), 1e-12)
    recruited = eligible[np.argsort(-(np.log(w) + rng.gumbel(size=len(eligible))))][: min(recruit, len(eligible))]
    arm = rng.permutation(len(recruited)) < len(recruited) // 2
    offer, control = recruited[arm], recruited[~arm]
    took = offer[rng.random(len(offer)) < prog.uptake(model, offer)]
    pop = model.pop
    start_level = np.where(pop.main_english, 4, np.floor(pop.english)).astype(int)
    start_english = pop.english.copy()
    start_emp = (pop.status == EMPLOYED).astype(float)
    start_bridge = _bridging_ties(model)
    effect = fluency_employment_effect(model)
    prog.enrol(model, took)
    model.interventions.append(prog)
    model.run()
    end_level = np.where(pop.main_english, 4, np.floor(pop.english)).astype(int)
    outcomes = {
        "moved_up_a_level": (end_level > start_level).astype(float),
        "employed_change": (pop.status == EMPLOYED).astype(float) - start_emp,
        "bridging_ties_change": _bridging_ties(model) - start_bridge,
        "english_gain": (pop.english - start_english).astype(float),
    }
    # residents who died or left during follow-up drop out of the analysis
    offer_, control_ = offer[pop.alive[offer]], control[pop.alive[control]]
    took_ = took[pop.alive[took]]
    itt = {k: _compare(v[offer_], v[control_]) for k, v in outcomes.items()}
    part = {k: float(v[took_].mean()) if len(took_) else float("nan") for k, v in outcomes.items()}
    model.release()
    return TrialResult(intervention, area, len(offer_), len(control_), len(took_), follow, itt, part, effect)


def format_result(r: TrialResult) -> str:
    lines = [f"Virtual trial of '{r.intervention}' in {r.area}: {r.n_offer} offered a place ({r.n_took_part} took "
             f"part), {r.n_control} wait-listed; follow-up {r.follow_up_weeks} weeks.",
             f"{'outcome':24s} {'offered':>9s} {'wait-list':>9s} {'difference (95% CI)':>30s} {'p':>7s} "
             f"{'took part':>9s}"]
    for k in OUTCOMES:
        c = r.itt[k]
        lines.append(f"{k:24s} {c['offer']:9.4f} {c['control']:9.4f} {c['difference']:+10.4f} "
                     f"({c['ci_low']:+.4f} to {c['ci_high']:+.4f}) {c['p_value']:7.3g} {r.participants[k]:9.4f}")
    lines.append(f"Fluency effect on the chance of work (model; Dustmann & Fabbri 2003: about +0.22): "
                 f"{r.fluency_employment_effect:+.3f}")
    return "\n".join(lines)


def _parse(argv: list[str]) -> tuple[str, dict]:
    if not argv or "=" in argv[0] or argv[0] in ("-h", "--help"):
        raise ConfigError(f"usage: python -m sim.trial <intervention> [area=.. scale=.. seed=.. recruit=.. "
                          f"follow_up=..]; interventions: {', '.join(NAMES)}")
    kw = {}
    types = {"area": str, "scale": float, "seed": int, "recruit": int, "follow_up": int}
    for a in argv[1:]:
        k, _, v = a.partition("=")
        if k not in types:
            raise ConfigError(f"unknown key '{k}'; allowed: {', '.join(types)}")
        try:
            kw[k] = types[k](v)
        except ValueError:
            raise ConfigError(f"'{k}' must be {types[k].__name__}, got {v!r}") from None
    return argv[0], kw


def main(argv=None) -> None:
    import logging

    logging.getLogger("MESA").setLevel(logging.WARNING)
    try:
        name, kw = _parse(sys.argv[1:] if argv is None else argv)
        from sim.config import check_run, load_area

        check_run(kw.get("scale", 0.05), kw.get("follow_up", 0), kw.get("seed", 1), "vectorised")
        load_area(kw.get("area", "bradford"))
        result = run_trial(name, **kw)
    except ConfigError as e:
        sys.exit(f"error: {e}")
    print(format_result(result))


if __name__ == "__main__":
    main()
