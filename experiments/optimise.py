"""Budget optimisation: the allocation of a fixed budget across programmes that does the most, under noise.

Optuna searches the shares of the funded programmes (weights normalised to the scenario's allocated share of the
budget). Each candidate is run on the same replicate seeds as the baseline (common random numbers), so candidates
are compared on paired gains, not noise. The objective is one outcome, a weighted sum of outcomes, or (with two
objectives) the Pareto front (NSGA-II). The best allocations are then re-run on fresh seeds, beside the provided
scenarios of ``study.compare_with`` (null: every funded one; []: none), and reported with 10-90% intervals; a
warning says when a provided scenario beats them. Provided scenarios that are points of the search space are its
first trials.

    python -m sim experiment=optimise_budget area=walsall
    python -m sim experiment=optimise_budget \
        'study.objectives=[residents_lifted_out_of_poor_english,extra_people_in_work]'
"""

from __future__ import annotations

import json
import pathlib
import sys

import numpy as np
import pandas as pd

from experiments import checks as C
from experiments.gains import GAINS, Evaluator
from experiments.kind import StudyKind
from sim.checks import check_choice, check_int, check_number
from sim.params import ConfigError
from sim.scenario import MAX_BUDGET_GBP


def allocation_from(weights: dict, allocated_share: float) -> dict:
    total = sum(weights.values())
    if total <= 0:
        return {k: 0.0 for k in weights}
    return {k: round(allocated_share * v / total, 6) for k, v in weights.items()}


RUN_KEYS = ("area", "seed", "scale", "weeks", "model", "interventions", "uncertainty")  # beside the study's own
DEFAULTS = {"objectives": ["residents_lifted_out_of_poor_english"], "weights": None, "budget_gbp": 1e7,
            "allocated_share": 0.85, "trials": 40, "replicates": 3, "check_replicates": 10, "compare_with": None,
            "workers": 0, "name": "optimise_budget"}


def check(study: dict) -> dict:
    """Validate an optimisation study before any work; returns it with defaults filled in."""
    from experiments.kind import check_area_study
    from experiments.uncertainty import check_uncertainty
    from sim.scenario import available_scenarios
    from sim.scenario import check as check_scenario

    given = study.get("compare_with")  # (read before the shared check, which gives null as [])
    s, weeks = check_area_study(KIND, study, RUN_KEYS, DEFAULTS)
    s["objectives"] = list(s["objectives"] or DEFAULTS["objectives"])
    # null (the default): every provided funded scenario; an explicit [] compares with none
    s["compare_with"] = (list(dict.fromkeys(s["compare_with"] or [])) if given is not None
                         else [n for n in available_scenarios() if n != "baseline"])
    s["uncertainty"] = check_uncertainty(s.get("uncertainty") or {"parameters": "fixed"})
    for c in s["compare_with"]:
        check_scenario(c, s["area"], weeks)
    return s


def search_settings(study: dict) -> dict:
    """What a search is a search of: everything that changes the value of a trial (not how many trials)."""
    import hashlib

    keys = ("objectives", "weights", "budget_gbp", "allocated_share", "replicates", "area", "scale", "weeks",
            "seed", "model", "interventions", "uncertainty")
    out = {k: study.get(k) for k in keys}
    # how a trial's value is computed lives here and in experiments/gains.py (the runs' own code is in the cache
    # key's fingerprint)
    here = pathlib.Path(__file__).resolve().parent
    out["objective_code"] = hashlib.sha256(b"".join((here / f).read_bytes()
                                                    for f in ("optimise.py", "gains.py"))).hexdigest()[:16]
    return out


def run(study: dict, out_dir, progress: bool = True, extra_files: dict | None = None) -> pathlib.Path:
    """Check ``study`` (:func:`check`) and run it (:func:`run_checked`)."""
    return run_checked(check(study), out_dir, progress, extra_files)


def run_checked(study: dict, out_dir, progress: bool = True, extra_files: dict | None = None) -> pathlib.Path:
    """Search (or continue searching), re-run the best on fresh seeds, and write the tables and report.

    The Optuna journal is named by the key of :func:`search_settings` and the model's code, and records that key:
    a search with other settings (or after a code change) starts afresh beside the old journal, with a note, and a
    journal whose recorded key does not match is refused, so trials are never relabelled."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    from experiments.stops import Interrupted, is_stop
    from sim.files import OutputFolder
    from sim.provenance import key_of

    study = dict(study)  # (checked by check: not again)
    settings = search_settings(study)
    key = key_of(settings)
    with OutputFolder(out_dir, "optimise", key).session() as folder:
        out = folder.path
        journal = out / f"optuna-{key}.journal"
        others = sorted(p.name for p in out.glob("optuna-*.journal") if p != journal)
        if others and not journal.exists():
            print(f"note: {out} holds an earlier search with other settings or code ({', '.join(others)}, kept); "
                  "starting a new search", file=sys.stderr)
        storage = JournalStorage(JournalFileBackend(str(journal)))
        optuna.logging.set_verbosity(optuna.logging.ERROR)  # a stopped trial is reported by us, in one line
        objectives = study["objectives"]
        sampler = (optuna.samplers.NSGAIISampler(seed=int(study["seed"])) if len(objectives) == 2
                   else optuna.samplers.TPESampler(seed=int(study["seed"])))
        st = optuna.create_study(study_name=str(study["name"]), storage=storage, load_if_exists=True,
                                 sampler=sampler, directions=["maximize"] * len(objectives))
        recorded = st.user_attrs.get("settings_key")
        if recorded is None:
            st.set_user_attr("settings_key", key)
            st.set_user_attr("settings", json.loads(json.dumps(settings, default=str)))
        elif recorded != key:
            raise ConfigError(f"the journal {journal.name} records a search of other settings ({recorded}); move it "
                              "away or choose another folder")
        _enqueue_provided(st, study)  # (again on a resumed search: any not yet among its trials)
        ev = Evaluator(study, int(study["workers"]))
        try:
            _search(st, ev, study, progress)
            table, trials_df = _check_best(st, ev, study)
        except BaseException as e:
            ev.stop()
            if not is_stop(e):
                raise
            done = len([t for t in st.trials if t.state == optuna.trial.TrialState.COMPLETE])
            raise Interrupted(f"{done} finished trials are kept in {journal}; rerun the same command to continue "
                              "the search") from None
        ev.close()
        warning = _warning(table, study)
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
        _write(folder, table, trials_df, study, extra_files, warning)
    return out


def _value(g: dict, name: str, weights: dict) -> float:
    if name == "weighted":
        return sum(float(w) * g[k] for k, w in weights.items())
    return g[name]


def _provided(study: dict) -> list[tuple[str, dict]]:
    """The provided funded scenarios the search starts from and is compared with (``study.compare_with``)."""
    from sim.scenario import load_scenario

    return [(c, load_scenario(c)) for c in study["compare_with"]]


def fits_search(scen: dict, study: dict) -> bool:
    """Whether a provided scenario is a point of the search space: its shares add up to the study's allocated
    share, it switches no policy on and runs every programme for the whole run in the whole area (what a trial can
    express; its budget is the study's in the comparison anyway)."""
    alloc = {k: float(v) for k, v in (scen.get("allocation") or {}).items() if v}
    weeks = int(study["weeks"])
    return (bool(alloc) and abs(sum(alloc.values()) - float(study["allocated_share"])) <= 1e-4
            and not any((scen.get("policies") or {}).values()) and not scen.get("start_week")
            and (scen.get("end_week") is None or int(scen["end_week"]) >= weeks)
            and all(w is None for w in (scen.get("start_weeks") or {}).values())
            and not any((scen.get("where") or {}).values()))


def _enqueue_provided(st, study: dict) -> None:
    """The first trials are the provided scenarios that are points of the search space (:func:`fits_search`), so
    its best is never worse than theirs on the search's own seeds. Each is enqueued once (a resumed search adds
    only those missing) and tagged with its name."""
    from sim.interventions import NAMES

    for name, scen in _provided(study):
        alloc = scen.get("allocation") or {}
        if fits_search(scen, study):
            top = max(alloc.values())
            st.enqueue_trial({n: float(alloc.get(n, 0.0)) / top for n in NAMES}, user_attrs={"provided": name},
                             skip_if_exists=True)


def _search(st, ev: Evaluator, study: dict, progress: bool) -> None:
    from sim.interventions import NAMES

    objectives, weights = study["objectives"], dict(study["weights"] or {})
    budget, share, reps = float(study["budget_gbp"]), float(study["allocated_share"]), int(study["replicates"])

    def objective(trial):
        w = {n: trial.suggest_float(n, 0.0, 1.0) for n in NAMES}
        scen = {"name": f"trial{trial.number}", "budget_gbp": budget, "allocation": allocation_from(w, share)}
        gs = ev.gains(scen, reps)
        vals = [float(np.mean([_value(g, o, weights) for g in gs])) for o in objectives]
        return vals if len(vals) > 1 else vals[0]

    import optuna

    complete = optuna.trial.TrialState.COMPLETE  # a stopped (failed) trial is run again, not counted
    remaining = int(study["trials"]) - len([t for t in st.trials if t.state == complete])
    if remaining > 0:
        st.optimize(objective, n_trials=remaining, show_progress_bar=progress)


def _check_best(st, ev: Evaluator, study: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The best allocations and the provided scenarios, re-run on fresh seeds (no winner's curse)."""
    import optuna

    from sim.interventions import NAMES

    objectives, weights = study["objectives"], dict(study["weights"] or {})
    budget, share = float(study["budget_gbp"]), float(study["allocated_share"])
    trials = [t for t in st.trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = st.best_trials if len(objectives) == 2 else sorted(trials, key=lambda t: -t.value)[:3]
    check_reps = int(study["check_replicates"])
    candidates = [(_label(i, t), {
        "name": f"best{t.number}", "budget_gbp": budget,
        "allocation": allocation_from({n: t.params[n] for n in NAMES}, share)}, "") for i, t in enumerate(best[:5])]
    ran = {t.user_attrs["provided"]: t.number for t in trials if "provided" in t.user_attrs}
    for c, scen in _provided(study):  # at the study's budget, on the same fresh seeds
        candidates.append((c, {**scen, "budget_gbp": budget}, _note(scen, study, ran.get(c))))
    rows = []
    for label, scen, note in candidates:
        gs = ev.gains(scen, check_reps, offset=1000)
        row = {"candidate": label, "note": note, **{f"share_{k}": scen["allocation"].get(k, 0.0) for k in NAMES}}
        for o in GAINS:
            v = np.array([g[o] for g in gs])
            row[o], row[f"{o}_p10"], row[f"{o}_p90"] = np.median(v), np.quantile(v, 0.1), np.quantile(v, 0.9)
        if weights:
            v = np.array([_value(g, "weighted", weights) for g in gs])
            row["weighted"], row["weighted_p10"], row["weighted_p90"] = (np.median(v), np.quantile(v, 0.1),
                                                                         np.quantile(v, 0.9))
        row["spend_gbp"] = float(np.median([g["spend_gbp"] for g in gs]))
        rows.append(row)
    trials_df = pd.DataFrame([{"trial": t.number, **allocation_from({n: t.params[n] for n in NAMES}, share),
                               **({o: v for o, v in zip(objectives, t.values)})} for t in trials])
    return pd.DataFrame(rows), trials_df


def _label(i: int, t) -> str:
    provided = t.user_attrs.get("provided")
    return f"optimised #{i + 1} (trial {t.number}" + (f": {provided}'s allocation)" if provided else ")")


def _note(scen: dict, study: dict, trial: int | None) -> str:
    """How a provided scenario stands beside the search: one of its trials (``trial``), queued for it but not
    reached, or compared only (and why)."""
    own = scen.get("budget_gbp")
    own = own.get(study["area"]) if isinstance(own, dict) else own
    budget = (f"; own budget GBP {float(own):,.0f}, run at the study's" if own is not None
              and float(own) != float(study["budget_gbp"]) else "")
    if fits_search(scen, study):
        return ("provided; searched as trial " + str(trial) if trial is not None
                else "provided; queued for the search, not reached (raise study.trials)") + budget
    why = []
    if abs(sum((scen.get("allocation") or {}).values()) - float(study["allocated_share"])) > 1e-4:
        why.append(f"shares add up to {sum((scen.get('allocation') or {}).values()):.3g}")
    on = [k for k, v in (scen.get("policies") or {}).items() if v]
    if on:
        why.append("policies " + ", ".join(on))
    end = scen.get("end_week")
    if (scen.get("start_week") or (end is not None and int(end) < int(study["weeks"]))
            or any(w is not None for w in (scen.get("start_weeks") or {}).values())):
        why.append("its own weeks")
    if any((scen.get("where") or {}).values()):
        why.append("places of its own")
    return f"provided; compared only ({', '.join(why) or 'outside the search'}){budget}"


def _warning(table: pd.DataFrame, study: dict) -> str | None:
    """Say so when a provided scenario beats every optimised allocation on the fresh seeds: on the objective (or
    the weighted sum); with two objectives, on both at once. A tie (the optimum is a provided allocation) is not a
    loss."""
    objs = ["weighted"] if "weighted" in study["objectives"] else list(study["objectives"])
    optimised = table["candidate"].str.startswith("optimised")
    mine, theirs = table[optimised], table[~optimised]
    if not len(mine) or not len(theirs) or any(o not in table for o in objs):
        return None
    if len(objs) == 1:
        o = objs[0]
        best = mine[o].max()
        beaten = theirs[theirs[o] > best].sort_values(o, ascending=False)
        if not len(beaten):
            return None
        rival = beaten.iloc[0]
        more = f" (and {len(beaten) - 1} more provided scenario(s))" if len(beaten) > 1 else ""
        return (f"the best optimised allocation ({best:,.4g} {o}) does not beat the provided scenario "
                f"'{rival['candidate']}' ({rival[o]:,.4g}){more} on the fresh seeds: the search was too short or "
                "too noisy (raise study.trials or study.replicates); prefer the provided scenario")
    m, t = mine[objs].to_numpy(), theirs[objs].to_numpy()
    dominating = [theirs.iloc[j]["candidate"] for j in range(len(t))
                  if ((t[j] >= m).all(axis=1) & (t[j] > m).any(axis=1)).all()]
    if not dominating:
        return None
    return (f"the provided scenario(s) {', '.join(repr(d) for d in dominating)} beat every optimised allocation on "
            f"both {objs[0]} and {objs[1]} on the fresh seeds: the search was too short or too noisy (raise "
            "study.trials or study.replicates); prefer the provided scenario")


def _write(folder, table, trials_df, study, extra_files, warning=None) -> None:
    from experiments import analysis_figures
    from sim.files import write_texts
    from sim.provenance import provenance

    objectives = study["objectives"]
    with folder.stage() as tmp:
        table.to_csv(tmp / "candidates.csv", index=False, float_format="%.6g")
        trials_df.to_csv(tmp / "trials.csv", index=False, float_format="%.6g")
        fig = analysis_figures.optimisation_figure(table, trials_df, objectives, tmp, study)
        meta = {"study": study, "objectives": objectives, "trials": len(trials_df),
                "replicates_in_search": int(study["replicates"]),
                "replicates_in_check": int(study["check_replicates"]), **provenance()}
        (tmp / "study.json").write_text(json.dumps(meta, indent=2, default=str))
        (tmp / "optimisation.html").write_text(_html(table, objectives, fig, {**meta, "warning": warning}, tmp))
        write_texts(tmp, extra_files)


def _beside(study: dict) -> str:
    names = study.get("compare_with") or []
    if not names:
        return "and compared with no provided scenario (study.compare_with=[])"
    return (f"beside the provided scenarios {', '.join(names)}, each at the study's budget of GBP "
            f"{float(study['budget_gbp']):,.0f} (its note says whether it was also searched as a trial)")


def _html(table, objectives, fig, meta, out) -> str:
    import base64
    import html

    from experiments.report import validation_html

    img = base64.b64encode((out / fig).read_bytes()).decode()
    return "\n".join([
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Budget optimisation</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:3px 5px}</style>"
        "</head><body>",
        f"<h1>Budget optimisation in {html.escape(str(meta['study'].get('area')))}</h1>",
        f"<p>Objective: {html.escape(', '.join(objectives))}; {meta['trials']} candidate allocations searched with "
        f"Optuna on {meta['replicates_in_search']} common seeds; the best re-run on {meta['replicates_in_check']} "
        f"fresh seeds {html.escape(_beside(meta['study']))} (median and 10-90% interval of the paired gain over the "
        "baseline, area-equivalent).</p>",
        (f"<p style='color:#a00'><b>Warning:</b> {html.escape(meta['warning'])}</p>" if meta.get("warning") else ""),
        f"<img style='max-width:100%' src='data:image/png;base64,{img}'>",
        table.to_html(index=False, float_format=lambda v: f"{v:,.3g}", border=0),
        *validation_html(),
        "<h2>Configuration</h2><pre>", html.escape(json.dumps(meta["study"], indent=1, default=str)), "</pre>",
        "</body></html>"])


def _objectives_and_weights(keys: dict) -> None:
    objectives = keys.get("objectives") or ["residents_lifted_out_of_poor_english"]
    if "weighted" in objectives and not keys.get("weights"):
        raise ConfigError("'study.objectives' has 'weighted' but 'study.weights' is not set; give e.g. "
                          "'+study.weights={residents_lifted_out_of_poor_english: 1, extra_people_in_work: 2}'")
    if keys.get("weights") and "weighted" not in objectives:
        raise ConfigError("'study.weights' is set but 'study.objectives' has no 'weighted'; add it or drop the weights")


KEYS = {
    "name": C.name_key, "kind": C.kind_key,
    "objectives": C.objectives_key, "weights": C.weights_key,
    "budget_gbp": lambda v, k: check_number(v, k, 0, MAX_BUDGET_GBP, low_open=True),
    "allocated_share": lambda v, k: check_number(v, k, 0, 1, low_open=True),
    "trials": lambda v, k: check_int(v, k, low=1, high=100_000),
    "replicates": lambda v, k: check_int(v, k, low=1, high=10_000),
    "check_replicates": lambda v, k: check_int(v, k, low=2, high=10_000),
    "compare_with": C.compare_with_key,
    "workers": C.workers_key,
    # trials run one after another, each a handful of runs: local processes or a Ray cluster, not job arrays
    "launcher": lambda v, k: check_choice(v, k, ("local", "ray")),
    "ray": C.ray_key,
}
KIND = StudyKind(
    "optimise", __doc__.splitlines()[0], KEYS, check, run_checked, ("optimisation.html",), "report: {0}",
    folder="optimise", uses_ensemble=True, together=_objectives_and_weights,
    tiny=("area=walsall", "study.trials=2", "study.replicates=1", "study.check_replicates=2",
          "study.compare_with=[balanced]"),
)
