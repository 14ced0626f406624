"""Budget optimisation: the allocation of a fixed budget across programmes that does the most, under noise.

Optuna searches the shares of the seven programmes (weights normalised to the scenario's allocated share of the
budget). Each candidate is run on the same replicate seeds as the baseline (common random numbers), so candidates
are compared on paired gains, not noise. The objective is one outcome, a weighted sum of outcomes, or (with two
objectives) the Pareto front (NSGA-II). The best allocations are then re-run on fresh seeds, beside the provided
scenarios, and reported with 10-90% intervals.

    python -m sim experiment=optimise_budget area=walsall
    python -m sim experiment=optimise_budget \
        'study.objectives=[residents_lifted_out_of_poor_english,extra_people_in_work]'
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing
import os
import pathlib

import numpy as np
import pandas as pd

from sim.costs import OUTCOMES
from sim.params import ConfigError

GAINS = {gain: (col, sign) for gain, col, sign in OUTCOMES}


def _gain_of(spec_result: tuple, base_result: tuple, scale: float) -> dict:
    fin, base = spec_result, base_result
    return {g: sign * (fin[col] - base[col]) / scale for g, (col, sign) in GAINS.items()}


def _final(spec) -> dict:
    from sim.experiment import run_one

    ts, _ = run_one(spec)
    last = ts.iloc[-1]
    return {k: float(last[k]) for k in ("n_poor_english", "n_employed_16_64", "n_bridging_ties", "spend_gbp")}


class Evaluator:
    """Runs candidates on fixed replicate seeds in a pool of worker processes kept across trials."""

    def __init__(self, study: dict, workers: int):
        self.study = study
        self.scale = float(study["scale"])
        ctx = multiprocessing.get_context("spawn")
        self.pool = cf.ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1, mp_context=ctx)
        self._base: dict = {}

    def specs(self, label, scenario, replicates, offset=0):
        from sim.experiment import RunSpec

        s = self.study
        return [RunSpec(s["area"], label, scenario, r, int(s["seed"]) + offset, self.scale, int(s["weeks"]),
                        s.get("model") or {}, s.get("interventions") or {}, replicates)
                for r in range(replicates)]

    def gains(self, scenario: dict, replicates: int, offset: int = 0) -> list[dict]:
        key = (replicates, offset)
        if key not in self._base:
            self._base[key] = list(self.pool.map(_final, self.specs("baseline", "baseline", replicates, offset)))
        runs = list(self.pool.map(_final, self.specs(scenario.get("name", "x"), scenario, replicates, offset)))
        out = []
        for r, b in zip(runs, self._base[key]):
            g = _gain_of(r, b, self.scale)
            g["spend_gbp"] = r["spend_gbp"]
            out.append(g)
        return out

    def close(self):
        self.pool.shutdown()


def allocation_from(weights: dict, allocated_share: float) -> dict:
    total = sum(weights.values())
    if total <= 0:
        return {k: 0.0 for k in weights}
    return {k: round(allocated_share * v / total, 6) for k, v in weights.items()}


def run(study: dict, out_dir, progress: bool = True) -> pathlib.Path:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    from sim import plots
    from sim.experiment import _atomic_write
    from sim.interventions import NAMES
    from sim.scenario import check as check_scenario
    from sim.scenario import load_scenario

    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    objectives = list(study.get("objectives") or ["residents_lifted_out_of_poor_english"])
    weights = dict(study.get("weights") or {})
    for o in objectives + list(weights):
        if o != "weighted" and o not in GAINS:
            raise ConfigError(f"unknown objective '{o}' in 'study.objectives'; allowed: {', '.join(GAINS)}, "
                              "weighted (with study.weights)")
    if len(objectives) > 2:
        raise ConfigError("'study.objectives' takes one objective, or two for a Pareto front")
    budget = float(study.get("budget_gbp", 1e7))
    share = float(study.get("allocated_share", 0.85))
    if budget <= 0 or not 0 < share <= 1:
        raise ConfigError("'study.budget_gbp' must be > 0 and 'study.allocated_share' in (0, 1]")
    comparators = list(study.get("compare_with") or [])
    for c in comparators:
        check_scenario(c, study["area"], int(study["weeks"]))
    reps = int(study.get("replicates") or 3)
    ev = Evaluator(study, int(study.get("workers") or 0))
    log_rows = []

    def value(g: dict, name: str) -> float:
        if name == "weighted":
            return sum(float(w) * g[k] for k, w in weights.items())
        return g[name]

    def objective(trial):
        w = {n: trial.suggest_float(n, 0.0, 1.0) for n in NAMES}
        scen = {"name": f"trial{trial.number}", "budget_gbp": budget, "allocation": allocation_from(w, share)}
        gs = ev.gains(scen, reps)
        vals = [float(np.mean([value(g, o) for g in gs])) for o in objectives]
        log_rows.append({"trial": trial.number, **scen["allocation"], **{o: v for o, v in zip(objectives, vals)}})
        return vals if len(vals) > 1 else vals[0]

    sampler = (optuna.samplers.NSGAIISampler(seed=int(study["seed"])) if len(objectives) == 2
               else optuna.samplers.TPESampler(seed=int(study["seed"])))
    storage = JournalStorage(JournalFileBackend(str(out / "optuna.journal")))  # resumable
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    st = optuna.create_study(study_name=str(study.get("name", "optimise_budget")), storage=storage,
                             load_if_exists=True, sampler=sampler,
                             directions=["maximize"] * len(objectives))
    remaining = int(study.get("trials", 40)) - len([t for t in st.trials if t.state.is_finished()])
    if remaining > 0:
        st.optimize(objective, n_trials=remaining, show_progress_bar=progress)

    trials = [t for t in st.trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = st.best_trials if len(objectives) == 2 else sorted(trials, key=lambda t: -t.value)[:3]
    check_reps = int(study.get("check_replicates", 10))
    rows = []
    candidates = [(f"optimised #{i + 1} (trial {t.number})", {
        "name": f"best{t.number}", "budget_gbp": budget,
        "allocation": allocation_from({n: t.params[n] for n in NAMES}, share)}) for i, t in enumerate(best[:5])]
    for c in comparators:
        sc = load_scenario(c)
        candidates.append((c, {**sc, "budget_gbp": budget}))
    for label, scen in candidates:
        gs = ev.gains(scen, check_reps, offset=1000)  # fresh seeds: no winner's curse from the search
        row = {"candidate": label, **{f"share_{k}": scen["allocation"].get(k, 0.0) for k in NAMES}}
        for o in GAINS:
            v = np.array([g[o] for g in gs])
            row[o], row[f"{o}_p10"], row[f"{o}_p90"] = np.median(v), np.quantile(v, 0.1), np.quantile(v, 0.9)
        if weights:
            v = np.array([value(g, "weighted") for g in gs])
            row["weighted"], row["weighted_p10"], row["weighted_p90"] = (np.median(v), np.quantile(v, 0.1),
                                                                         np.quantile(v, 0.9))
        row["spend_gbp"] = float(np.median([g["spend_gbp"] for g in gs]))
        rows.append(row)
    ev.close()
    table = pd.DataFrame(rows)
    trials_df = pd.DataFrame([{"trial": t.number, **allocation_from({n: t.params[n] for n in NAMES}, share),
                               **({o: v for o, v in zip(objectives, t.values)})} for t in trials])
    _atomic_write(out / "candidates.csv", lambda p: table.to_csv(p, index=False, float_format="%.6g"))
    _atomic_write(out / "trials.csv", lambda p: trials_df.to_csv(p, index=False, float_format="%.6g"))
    fig = plots.optimisation_figure(table, trials_df, objectives, out, study)
    meta = {"study": study, "objectives": objectives, "trials": len(trials), "replicates_in_search": reps,
            "replicates_in_check": check_reps}
    _atomic_write(out / "study.json", lambda p: p.write_text(json.dumps(meta, indent=2, default=str)))
    _atomic_write(out / "optimisation.html", lambda p: p.write_text(_html(table, objectives, fig, meta, out)))
    return out


def _html(table, objectives, fig, meta, out) -> str:
    import base64
    import html

    img = base64.b64encode((out / fig).read_bytes()).decode()
    return "\n".join([
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Budget optimisation</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:3px 5px}</style>"
        "</head><body>",
        f"<h1>Budget optimisation in {html.escape(str(meta['study'].get('area')))}</h1>",
        f"<p>Objective: {html.escape(', '.join(objectives))}; {meta['trials']} candidate allocations searched with "
        f"Optuna on {meta['replicates_in_search']} common seeds; the best re-run on {meta['replicates_in_check']} "
        "fresh seeds beside the provided scenarios (median and 10-90% interval of the paired gain over the "
        "baseline, area-equivalent).</p>",
        f"<img style='max-width:100%' src='data:image/png;base64,{img}'>",
        table.to_html(index=False, float_format=lambda v: f"{v:,.3g}", border=0),
        "<h2>Configuration</h2><pre>", html.escape(json.dumps(meta["study"], indent=1, default=str)), "</pre>",
        "</body></html>"])
