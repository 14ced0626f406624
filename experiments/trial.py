"""Virtual randomised trials of one programme, reported the way the published evaluations report them.

Eligible residents (recruited by the programme's own targeting) are randomised to an offer of a place or to a
wait-list; those offered take it up at the programme's uptake rate. After the follow-up, the arms are compared on
the share who moved up at least one English level, the change in employment and the change in bridging contact,
as intention-to-treat differences with 95% confidence intervals; the same figures are given for the learners who
took part (the ESOL for Integration Fund reports its 24% among learners).

    python -m sim.trial esol area=bradford scale=0.05 seed=1 recruit=1000 follow_up=11

(``sim/trial.py`` is only the launcher of that command; the trials, their command line and the calibration's and
validation's virtual trials are this module.)
"""

from __future__ import annotations

import dataclasses
import math
import sys

import numpy as np

from sim import observe
from sim.interventions import NAMES, REGISTRY
from sim.params import ConfigError
from sim.population import EMPLOYED

OUTCOMES = ("moved_up_a_level", "employed_change", "bridging_ties_change", "english_gain", "attitude_change",
            "distress_lifted")


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


def _compare(x_offer: np.ndarray, x_control: np.ndarray) -> dict:
    d = float(x_offer.mean() - x_control.mean())
    se = math.sqrt(x_offer.var(ddof=1) / len(x_offer) + x_control.var(ddof=1) / len(x_control))
    z = d / se if se > 0 else 0.0
    p = math.erfc(abs(z) / math.sqrt(2))
    return {"offer": float(x_offer.mean()), "control": float(x_control.mean()), "difference": d,
            "ci_low": d - 1.96 * se, "ci_high": d + 1.96 * se, "p_value": p}


def compare(x: np.ndarray, offer: np.ndarray, control: np.ndarray) -> dict:
    """Offered minus wait-list on ``x`` (a per-resident outcome), with its 95% CI and two-sided p."""
    return _compare(np.asarray(x, dtype=float)[offer], np.asarray(x, dtype=float)[control])


@dataclasses.dataclass
class Trial:
    """A randomised trial set up in a model, before follow-up: who was offered, who was wait-listed, who took a
    place, and the state at randomisation (``start``)."""

    model: object
    programme: object
    offer: np.ndarray
    control: np.ndarray
    took: np.ndarray
    follow_up: int
    start: dict

    def followed(self, rows: np.ndarray) -> np.ndarray:
        """Those of ``rows`` still living in the area (those who died or left drop out of the analysis)."""
        return rows[self.model.pop.alive[rows]]


def set_up_trial(intervention: str, area: str = "bradford", scale: float = 0.05, seed: int = 1, recruit: int = 1000,
                 follow_up: int | None = None, params: dict | None = None, programme: dict | None = None,
                 model_kwargs: dict | None = None, intervention_overrides: dict | None = None,
                 eligible=None) -> Trial:
    """Recruit up to ``recruit`` eligible residents by the programme's targeting (``eligible(model)``, a mask,
    narrows eligibility further: a trial's own recruitment), randomise half to an offer, enrol those who take it.
    Run ``trial.model.run()`` for the follow-up, then compare the arms."""
    from sim.model import IntegrationModel
    from sim.scenario import intervention_params

    if intervention not in REGISTRY:
        raise ConfigError(f"unknown intervention '{intervention}'; known: {', '.join(NAMES)}")
    if REGISTRY[intervention].policy:
        raise ConfigError(f"'{intervention}' is a policy (a rule for everyone it reaches), not a programme that "
                          "offers places to randomise; compare scenarios with it on and off "
                          f"(scenario.policies.{intervention}=true); programmes: {', '.join(NAMES)}")
    _check_triallable(intervention)
    ip = intervention_params({**(intervention_overrides or {}), intervention: programme or {}})[intervention]
    follow = int(follow_up if follow_up is not None else ip.duration_weeks)
    model = IntegrationModel(area=area, scale=scale, seed=seed, weeks=follow, params=params,
                             **(model_kwargs or {}))
    rng = model.rng_for(f"trial:{intervention}")
    cls = REGISTRY[intervention]
    prog = cls(ip, budget_gbp=1e12, start_week=follow, end_week=follow, scale=scale,
               rng=model.rng_for(f"intervention:{intervention}"))
    prog.prepare(model)
    mask = prog.eligible(model) & model.pop.alive
    if eligible is not None:
        mask &= eligible(model)
    candidates = np.flatnonzero(mask)
    if len(candidates) < 20:
        model.release()
        raise ConfigError(f"only {len(candidates)} residents are eligible for '{intervention}' at scale {scale}; "
                          "use a larger scale")
    w = np.maximum(prog.priority(model, candidates), 1e-12)
    recruited = candidates[np.argsort(-(np.log(w) + rng.gumbel(size=len(candidates))))][: min(recruit, len(candidates))]
    arm = rng.permutation(len(recruited)) < len(recruited) // 2
    offer, control = recruited[arm], recruited[~arm]
    took = offer[rng.random(len(offer)) < prog.uptake(model, offer)]
    pop = model.pop
    start = {"level": np.where(pop.main_english, 4, np.floor(pop.english)).astype(int),
             "english": pop.english.copy(), "employed": (pop.status == EMPLOYED).astype(float),
             "bridging_ties": observe.ties_of(model, bridging_only=True), "ties": observe.ties_of(model),
             "attitude": pop.attitude.copy(), "distress": pop.distress.copy()}
    prog.enrol(model, took)
    model.interventions.append(prog)
    return Trial(model, prog, offer, control, took, follow, start)


def run_trial(intervention: str, area: str = "bradford", scale: float = 0.05, seed: int = 1, recruit: int = 1000,
              follow_up: int | None = None, params: dict | None = None, programme: dict | None = None,
              model_kwargs: dict | None = None, intervention_overrides: dict | None = None) -> TrialResult:
    """Randomise ``recruit`` eligible residents (half offered) and follow them for ``follow_up`` weeks.
    ``programme`` overrides the trialled programme's parameters; ``intervention_overrides`` any programme's."""
    t = set_up_trial(intervention, area, scale, seed, recruit, follow_up, params, programme, model_kwargs,
                     intervention_overrides)
    model, pop = t.model, t.model.pop
    effect = observe.fluency_employment_effect(model)
    model.run()
    end_level = np.where(pop.main_english, 4, np.floor(pop.english)).astype(int)
    outcomes = {
        "moved_up_a_level": (end_level > t.start["level"]).astype(float),
        "employed_change": (pop.status == EMPLOYED).astype(float) - t.start["employed"],
        "bridging_ties_change": observe.ties_of(model, bridging_only=True) - t.start["bridging_ties"],
        "english_gain": (pop.english - t.start["english"]).astype(float),
        "attitude_change": (pop.attitude - t.start["attitude"]).astype(float),
        "distress_lifted": (t.start["distress"] & ~pop.distress).astype(float),
    }
    offer_, control_, took_ = t.followed(t.offer), t.followed(t.control), t.followed(t.took)
    itt = {k: _compare(v[offer_], v[control_]) for k, v in outcomes.items()}
    part = {k: float(v[took_].mean()) if len(took_) else float("nan") for k, v in outcomes.items()}
    model.release()
    return TrialResult(intervention, area, len(offer_), len(control_), len(took_), t.follow_up, itt, part, effect)


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


USAGE = """usage: python -m sim.trial <programme> [key=value ...]

A virtual randomised trial of one programme: eligible residents are randomised to an offer or a wait-list and
followed up; the table (offered minus wait-list, 95% CI, p) is printed and written to trial.csv and trial.json.

programmes: {names}
keys:
  area=bradford          one of {areas}
  scale=0.05             fraction of residents simulated, in (0, 1]
  seed=1                 whole number >= 0
  recruit=1000           residents randomised (whole number from {min_recruit} to 1000000); half are offered a place
  follow_up=<weeks>      weeks of follow-up (whole number >= 1; default: the programme's duration)
  out=<folder>           where trial.csv and trial.json go (default results/trials/<programme>_<area>_...)
  replicates=1           trials to run; with more than one, each runs with its own seed and (parameters=ensemble)
                         its own member of the calibrated ensemble, and trial.csv gives the median effect with
                         its 10-90% range across them and the share of trials that find it significant
  parameters=ensemble    ensemble or fixed (the defaults); a single trial always uses the defaults
  ensemble=data/calibration/default      the published ensemble replicates draw from
  model.<group>.<name>=<value>           any mechanism parameter (docs/parameters.md)
  interventions.<programme>.<name>=<value>   any programme parameter"""
MIN_RECRUIT = 10
MAX_RECRUIT = 1_000_000  # more residents than any pilot area has (Bradford: about 550,000)
TRIAL_KEYS = ("area", "scale", "seed", "recruit", "follow_up", "out", "replicates", "parameters", "ensemble")


def _value(text: str):
    """A command-line value read as YAML reads it (numbers, true/false, lists), as Hydra does."""
    import yaml

    try:
        return yaml.safe_load(text) if text.strip() else text
    except yaml.YAMLError:
        return text


def _nest(target: dict, parts: list[str], value) -> None:
    for p in parts[:-1]:
        node = target.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"'{'.'.join(parts)}' is given twice")
        target = node
    target[parts[-1]] = value


def triallable() -> list[str]:
    """The programmes a trial can test: those that offer places to residents one by one (a trial randomises
    residents; community spaces are offered to neighbourhoods)."""
    from sim.interventions.base import Intervention

    return [n for n in NAMES if REGISTRY[n].eligible is not Intervention.eligible]


def _check_triallable(name: str) -> None:
    if name in NAMES and name not in triallable():
        raise ConfigError(f"'{name}' offers its places to neighbourhoods, not to residents one by one, so a trial that "
                          "randomises residents cannot test it; compare scenarios with and without it instead "
                          f"(python -m sim experiment=compare_scenarios); programmes a trial can test: "
                          f"{', '.join(triallable())}")


def _parse(argv: list[str]) -> tuple[str, dict]:
    """(programme, keyword arguments of :func:`run_trial` plus 'out'), every value checked."""
    from sim.checks import check_finite, check_int
    from sim.config import available_areas, check_run, check_scale, load_area, model_params
    from sim.scenario import intervention_params

    if not argv or "=" in argv[0] or argv[0].startswith("-"):
        raise ConfigError(f"give the programme first: python -m sim.trial <programme> [key=value ...]; "
                          f"programmes: {', '.join(NAMES)}")
    name = argv[0]
    if name not in REGISTRY:
        raise ConfigError(f"unknown programme '{name}'; allowed: {', '.join(triallable())}")
    _check_triallable(name)
    kw: dict = {"params": {}, "interventions": {}}
    seen = set()
    for a in argv[1:]:
        k, eq, v = a.partition("=")
        if not eq or not k:
            raise ConfigError(f"'{a}' is not key=value; allowed keys: {', '.join(TRIAL_KEYS)}, model.<group>.<name>, "
                              "interventions.<programme>.<name>")
        if k in seen:
            raise ConfigError(f"'{k}' is given twice")
        seen.add(k)
        parts = k.split(".")
        if parts[0] == "model" and len(parts) >= 3:
            _nest(kw["params"], parts[1:], _value(v))
        elif parts[0] == "interventions" and len(parts) >= 3:
            _nest(kw["interventions"], parts[1:], _value(v))
        elif k in TRIAL_KEYS:
            kw[k] = v if k in ("area", "out", "parameters", "ensemble") else _value(v)
        else:
            raise ConfigError(f"unknown key '{k}'; allowed: {', '.join(TRIAL_KEYS)}, model.<group>.<name>, "
                              "interventions.<programme>.<name>")
    check_finite({k: v for k, v in kw.items()}, "")
    kw["scale"], _, kw["seed"], _ = check_run(kw.get("scale", 0.05), 0, kw.get("seed", 1), "vectorised")
    kw["recruit"] = check_int(kw.get("recruit", 1000), "recruit", low=MIN_RECRUIT, high=MAX_RECRUIT)
    if "out" in kw:  # (out= with nothing after it wrote to the default folder without a word)
        from sim.checks import check_output_path

        check_output_path(kw["out"], "out")
    if kw.get("follow_up") is not None:
        kw["follow_up"] = check_int(kw["follow_up"], "follow_up", low=1, high=520)
    area = kw.get("area", "bradford")
    if area not in available_areas():
        raise ConfigError(f"unknown area '{area}' for key 'area'; allowed: {', '.join(available_areas())}")
    check_scale(kw["scale"], load_area(area))
    model_params(kw["params"])
    intervention_params(kw["interventions"])
    from experiments.uncertainty import check_uncertainty

    kw["replicates"] = check_int(kw.get("replicates", 1), "replicates", low=1, high=10_000)
    u = check_uncertainty({"parameters": kw.pop("parameters", "ensemble"), "ensemble": kw.pop("ensemble", None)}
                          if kw["replicates"] > 1 else {"parameters": "fixed", "ensemble": kw.pop("ensemble", None)})
    kw.pop("parameters", None)
    kw["uncertainty"] = {k: u[k] for k in ("parameters", "ensemble")}
    return name, kw


def run_trials(name: str, replicates: int, uncertainty: dict, seed: int, params: dict, interventions: dict,
               **kw) -> tuple[list[TrialResult], list[int]]:
    """``replicates`` trials of one design: trial r with its own seed and (with an ensemble) parameter set."""
    from experiments.uncertainty import parameter_sets

    sets, _ = parameter_sets(uncertainty["parameters"], replicates, seed, params, interventions,
                             uncertainty["ensemble"])
    results = []
    for r, st in enumerate(sets):
        s = seed if replicates == 1 else int(np.random.SeedSequence([seed, r]).generate_state(1)[0])
        results.append(run_trial(name, seed=s, params=st["model"], programme=st["interventions"].get(name),
                                 intervention_overrides=st["interventions"], **kw))
    return results, [st["member"] for st in sets]


def replicate_table(results: list[TrialResult], members: list[int]):
    """Per outcome across replicate trials: the median intention-to-treat difference, its 10-90% range, and the
    share of trials whose own 95% interval excludes zero (in the direction of the median)."""
    import pandas as pd

    rows = [{"replicate": i, "parameter_set": m, "outcome": k, **r.itt[k]}
            for i, (r, m) in enumerate(zip(results, members)) for k in OUTCOMES]
    each = pd.DataFrame(rows)
    summary = []
    for k, d in each.groupby("outcome", sort=False):
        diff = d["difference"].to_numpy(float)
        sign = np.sign(np.median(diff)) or 1.0
        significant = (d["ci_low"] > 0) if sign > 0 else (d["ci_high"] < 0)
        summary.append({"programme": results[0].intervention, "area": results[0].area, "outcome": k,
                        "trials": len(d), "difference_median": float(np.median(diff)),
                        "difference_p10": float(np.quantile(diff, 0.1)),
                        "difference_p90": float(np.quantile(diff, 0.9)),
                        "share_significant": float(significant.mean()),
                        "n_offer_median": float(np.median([r.n_offer for r in results]))})
    return pd.DataFrame(summary), each


def result_table(r: TrialResult):
    """One row per outcome: offered, wait-list, difference with its 95% CI and p, and the mean among those who
    took part."""
    import pandas as pd

    return pd.DataFrame([{"programme": r.intervention, "area": r.area, "outcome": k, **r.itt[k],
                          "took_part_mean": r.participants[k], "n_offer": r.n_offer, "n_control": r.n_control,
                          "n_took_part": r.n_took_part, "follow_up_weeks": r.follow_up_weeks} for k in OUTCOMES])


def main(argv=None) -> None:
    import json
    import logging
    import os
    import time

    from experiments.stops import install_handlers, is_stop, stopped
    from sim.checks import disk_full, fail, is_disk_full
    from sim.files import OutputFolder
    from sim.provenance import key_of, provenance

    logging.getLogger("MESA").setLevel(logging.WARNING)
    install_handlers(main=True)
    args = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in args):
        from sim.config import available_areas

        print(USAGE.format(names=", ".join(triallable()), areas=", ".join(available_areas()), min_recruit=MIN_RECRUIT))
        return
    try:
        name, kw = _parse(args)
        out = kw.pop("out", None) or os.path.join(
            "results", "trials", f"{name}_{kw.get('area', 'bradford')}_seed{kw['seed']}_scale{kw['scale']}_"
            f"{time.strftime('%Y%m%d-%H%M%S')}")
        config = {"programme": name, **kw}
        folder = OutputFolder(out, "trial", key_of(config), option="out")
        folder.check()
        interventions = kw.pop("interventions")
        with folder.session():
            if kw["replicates"] == 1:
                kw.pop("replicates"), kw.pop("uncertainty")
                result = run_trial(name, programme=interventions.get(name), intervention_overrides=interventions,
                                   **kw)
                table, each, record = result_table(result), None, {"result": result.as_dict()}
            else:
                results, members = run_trials(name, interventions=interventions, **kw)
                table, each = replicate_table(results, members)
                record = {"results": [r.as_dict() for r in results], "parameter_sets": members}
            with folder.stage() as tmp:
                table.to_csv(tmp / "trial.csv", index=False, float_format="%.6g")
                if each is not None:
                    each.to_csv(tmp / "trials.csv", index=False, float_format="%.6g")
                (tmp / "trial.json").write_text(json.dumps({**record, "config": config, **provenance()}, indent=2,
                                                           default=str))
    except BaseException as e:
        if isinstance(e, ConfigError):
            fail(str(e))
        if is_disk_full(e):
            disk_full(e, "the trial had not finished, so nothing was written", needed=10e6)
        if not is_stop(e):
            raise
        stopped(": the trial had not finished, so nothing was written")
    if each is None:
        print(format_result(result))
        print(f"results: {folder.path / 'trial.csv'} and trial.json")
        if result.n_offer + result.n_control < kw["recruit"]:
            print(f"note: recruit={kw['recruit']} asked for, but only {result.n_offer + result.n_control} residents "
                  f"were eligible at scale {kw['scale']}: all of them were randomised", file=sys.stderr)
    else:
        print(f"{len(each) // len(OUTCOMES)} virtual trials of '{name}' (each its own seed and parameter set):")
        print(table[["outcome", "difference_median", "difference_p10", "difference_p90", "share_significant"]]
              .to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(f"results: {folder.path / 'trial.csv'} (summary), trials.csv (each trial) and trial.json")


if __name__ == "__main__":
    main()
