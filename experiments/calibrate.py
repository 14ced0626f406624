"""Calibration by history matching with Gaussian-process emulators (Andrianakis et al. 2015; McCulloch et al. 2022).

The model is stochastic and slow next to an emulator, so instead of searching for one best parameter set we rule
out the parameter sets that cannot match the targets and keep everything that can:

1. wave 1 runs the model at a Latin hypercube of points over the prior box (scipy.stats.qmc), each with its own
   seed; every ``role: calibrate`` target is computed by its observation function (``experiments.targets``);
2. for each target a Gaussian process (scikit-learn; ARD RBF kernel plus a white-noise term for the model's own
   randomness) is fitted to the outputs of all runs so far;
3. a point is implausible if, for some target, |observed - emulator mean| is more than ``cutoff`` (3) times
   sqrt(observation variance + model discrepancy variance + emulator variance + run-to-run variance);
4. the next wave's points are drawn from what no wave has ruled out; after the last wave, ``ensemble_size`` or more
   members are run from the remaining space, and the ensemble is those whose *simulated* outputs are all within
   the cut-off (an accept step on real runs, not on emulators).

Every evaluation is cached (one small JSON file per point, keyed by the settings, the targets and the code), so a
stopped calibration resumes where it stopped. The validate targets are never read: targets come from
``targets.load("calibrate")`` only. The emulators, the implausibility and the screening of the box are in
:mod:`experiments.emulator`; this module runs the waves and writes the ensemble.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pathlib
import sys

import numpy as np
import pandas as pd

from experiments import checks as C
from experiments import emulator as E
from experiments import targets as T
from experiments.kind import StudyKind
from experiments.space import problem
from sim.checks import check_choice, check_int, check_number
from sim.params import ConfigError

RUN_KEYS = ("area", "seed", "scale", "weeks", "model", "interventions", "replicates")
# what the calibration fits by default: the parameters behind the calibration targets, the 15 that the sensitivity
# analysis ranks highest, the programme effect parameters, and the observation parameters; every other uncertain
# parameter is drawn with each run from its plausible range (study.others)
DEFAULT_PARAMETERS = [
    # language: the learning rates behind the trend in poor English and the ESOL Fund's progression
    "model.language.base", "model.language.work", "model.language.contact", "model.language.class_hour",
    "model.language.age_scale", "model.language.school",
    # ties: how often people meet and where they mix (monthly mixing, neighbourly contact)
    "model.ties.meet.neighbourhood", "model.ties.meet.work", "model.ties.meet.venue",
    "model.ties.form.neighbourhood", "model.ties.form.venue", "model.ties.homophily.neighbourhood",
    "model.ties.homophily_language", "model.population.venue_mixed_share", "model.population.work_sorting",
    "model.ties.time_budget", "model.ties.displacement",
    # work: job loss, and how much of the English gap is caused by English
    "model.employment.separation", "model.employment.english_effect", "model.employment.english_effect_women",
    "model.attitude.contact_correlation",
    # programmes: take-up, drop-out and effects (ranges where no evaluation pins them down)
    "interventions.esol.uptake", "interventions.esol.weekly_dropout", "interventions.employment_support.job_boost",
    "interventions.ncs.ties_per_participant", "interventions.school_linking.ties_per_participant",
    "interventions.community_spaces.user_share", "interventions.conversation_clubs.practice_efficiency",
    # the rest of the 15 parameters that move the scenarios' effects most (experiment=sensitivity, Walsall, every
    # uncertain parameter, ranked by Morris mu* over the noise floor; docs/odd.md): those no target informs (unit
    # costs) keep their prior, which the ensemble then carries
    "interventions.esol.unit_cost_gbp", "model.population.attitude_sd", "model.population.employment_good_english",
    "model.ties.fade.programme", "model.ties.quality.programme", "model.population.older_group_shift.*",
    "model.population.attitude_mean", "interventions.community_spaces.unit_cost_gbp",
    "interventions.esol.ties_per_participant", "interventions.conversation_clubs.unit_cost_gbp",
    "model.demography.fertility", "model.population.english_female_gap",
    # drawn parameters that a first calibration found moving the targets (a linear fit of every run's targets on all
    # its parameters: neighbourly contact and mixing on tie fading and work ties, the ESOL Fund on the age and
    # residence gradients of English): inputs the emulators must see, not noise
    "model.ties.fade.neighbourhood", "model.ties.fade.work", "model.ties.form.work", "model.population.venue_share",
    "model.population.english_age", "model.population.english_years_in_uk",
    # observation: how a Census proficiency maps onto ESOL levels; the ESOL Fund's hours
    "observation.esol_level_width", "observation.esol_fund_hours",
]
DEFAULTS = {
    "waves": 4, "points": 150, "ensemble_size": 100, "max_ensemble_runs": 400, "cutoff": 3.0,
    "discrepancy": 0.5, "candidates": 20000, "max_candidates": 2_000_000, "trial_scale": 0.03, "range_factor": None,
    "workers": 0, "launcher": "local", "slurm": None, "ray": None,
    "parameters": None, "publish": None, "others": "drawn",
}


def _observation_field(key: str) -> tuple[float, float, float]:
    name = key.split(".", 1)[1]
    if name not in T.OBSERVATION_PARAMS:
        raise ConfigError(f"unknown parameter '{key}' in 'study.parameters'; observation parameters: "
                          f"{', '.join('observation.' + k for k in T.OBSERVATION_PARAMS)}")
    return T.OBSERVATION_PARAMS[name]


def prior(parameters: list, range_factor: float | None = None) -> dict:
    """The prior box: mechanism and programme parameters over their plausible ranges from the parameter table (or
    default +- range_factor within the allowed range, or an explicit [low, high]); observation parameters over
    their stated ranges."""
    model_like = [p for p in parameters if not (next(iter(p)) if isinstance(p, dict) else p).startswith("observation.")]
    box = problem(model_like, range_factor) if model_like else {"names": [], "bounds": []}
    names, bounds = list(box["names"]), [list(b) for b in box["bounds"]]
    for p in parameters:
        key = next(iter(p)) if isinstance(p, dict) else p
        if not key.startswith("observation."):
            continue
        _, lo, hi = _observation_field(key)
        if isinstance(p, dict):
            lo, hi = float(p[key][0]), float(p[key][1])
            if not lo < hi:
                raise ConfigError(f"empty range for '{key}': [{lo}, {hi}]")
        names.append(key)
        bounds.append([lo, hi])
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def check(study: dict) -> dict:
    """Validate a calibration before any work: its keys, area, sizes, parameters and ranges, and the targets."""
    from experiments.kind import check_area_study
    from sim.config import available_areas, check_scale

    s, _ = check_area_study(KIND, study, RUN_KEYS, DEFAULTS)
    for area in available_areas():  # state targets run every area
        check_scale(float(s["scale"]), area)
    for area in ("bradford",):  # the virtual trials
        check_scale(float(s["trial_scale"]), area, key="study.trial_scale")
    if s.get("parameters") == "all":
        raise ConfigError("'study.parameters' of a calibration must be a list of keys (or null for the default "
                          "list); 'all' is for a sensitivity analysis")
    rf = s["range_factor"]
    s["prior"] = prior(s.get("parameters") or DEFAULT_PARAMETERS, None if rf is None else float(rf))
    if s["ensemble_size"] > s["max_ensemble_runs"]:
        raise ConfigError(f"'study.ensemble_size' ({s['ensemble_size']}) must not exceed 'study.max_ensemble_runs' "
                          f"({s['max_ensemble_runs']})")
    if not T.load("calibrate"):
        raise ConfigError("no calibration targets in data/targets/targets.yaml")
    return s


# --- one evaluation ------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Point:
    """One parameter set (``x``, in the prior's units) and the seed it runs with, in a wave."""

    wave: int
    index: int
    x: tuple
    seed: int


def others(study: dict, names: list[str]) -> list[tuple[str, tuple[float, float]]]:
    """The uncertain parameters that are not calibrated, with their plausible ranges: with ``study.others: drawn``
    each run draws them afresh (so the emulators see their effect as noise and every ensemble member is a whole
    parameter set consistent with the targets); a parameter the study sets in its model or interventions is held."""
    from experiments.space import uncertain_keys
    from experiments.uncertainty import held

    if study.get("others", "drawn") != "drawn":
        return []
    taken = set(names)
    return [(key, rng) for key, rng in uncertain_keys()
            if key not in taken and not held(key, study.get("model"), study.get("interventions"))]


def drawn_values(seed: int, bounds: list) -> list[float]:
    """The values of the parameters drawn with a run, from its seed (so a cached or published run repeats)."""
    if not bounds:
        return []
    b = np.asarray(bounds, float)
    u = np.random.default_rng(np.random.SeedSequence([int(seed), 7919])).random(len(b))
    return (b[:, 0] + u * (b[:, 1] - b[:, 0])).round(12).tolist()


def evaluate(job: tuple) -> dict:
    """Run one point (in a worker process): the calibration targets' observations, cached in ``path``."""
    from sim.files import atomic_write

    study, names, point, path, drawn = job
    path = pathlib.Path(path)
    cached = _read(path)
    if cached is not None and cached.get("x") == list(point.x) and cached.get("seed") == point.seed:
        return cached  # the same point and seed (a stopped calibration resuming)
    if path.exists():
        print(f"warning: cached evaluation {path.name} is damaged or of another point: recomputing it",
              file=sys.stderr)
    targets = T.load("calibrate")
    z = drawn_values(point.seed, [b for _, b in drawn])
    out = T.simulate(targets, T.context_for(study, names + [k for k, _ in drawn], list(point.x) + z, point.seed))
    row = {"wave": point.wave, "index": point.index, "seed": point.seed, "x": list(point.x), "z": z, "y": out}
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps({**row, "sha256": _seal(row)})))
    return row


def _seal(row: dict) -> str:
    """The content hash an evaluation is stored with (a damaged digit in a cached output is caught, not fitted)."""
    return hashlib.sha256(json.dumps(row, sort_keys=True).encode()).hexdigest()


def _read(path: pathlib.Path) -> dict | None:
    """A cached evaluation whose content still has the hash it was written with, else None."""
    try:
        row = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(row, dict):
        return None
    sealed = row.pop("sha256", None)
    return row if sealed == _seal(row) else None


def run(study: dict, out_dir, progress: bool = True, extra_files: dict | None = None) -> pathlib.Path:
    """Check ``study`` (:func:`check`) and run it (:func:`run_checked`)."""
    return run_checked(check(study), out_dir, progress, extra_files)


def run_checked(study: dict, out_dir, progress: bool = True, extra_files: dict | None = None) -> pathlib.Path:
    from scipy.stats import qmc

    from experiments.executors import run_jobs, workers_for
    from sim.files import OutputFolder
    from sim.provenance import key_of

    study = dict(study)  # (checked by check: not again)
    box = study.pop("prior")
    names, bounds = box["names"], box["bounds"]
    drawn = others(study, names)
    targets = T.load("calibrate")
    settings = {k: study[k] for k in sorted(study)
                if k not in ("workers", "launcher", "slurm", "ray", "publish", "name", "kind")}
    # keyed by the settings, the targets and the code, but not by data/calibration/ (where it publishes)
    key = key_of({"settings": settings, "prior": box, "drawn": drawn,
                  "targets": [dataclasses.asdict(t) for t in targets],
                  "observation_code": T.observation_code()}, skip=("data/calibration",))
    seed = int(study["seed"])
    rng = np.random.default_rng(np.random.SeedSequence([seed, 20150415]))
    workers = int(study["workers"])
    say = print if progress else (lambda *a, **k: None)
    with OutputFolder(out_dir, "calibrate", key).session() as folder:
        cache = folder.path / "evaluations" / key
        cache.mkdir(parents=True, exist_ok=True)

        def evaluate_all(points):
            jobs = [(study, names, p, str(cache / f"w{p.wave}-{p.index:05d}.json"), drawn) for p in points]
            done = run_jobs(evaluate, jobs, workers_for(workers, len(jobs)), study["launcher"], folder.path,
                            study.get("slurm"), ray_address=(study.get("ray") or {}).get("address"))
            return sorted(done, key=lambda r: (r["wave"], r["index"]))

        rows, emulators, waves = [], [], []
        d, points_per_wave = len(names), int(study["points"])
        space_pool = np.zeros((0, d))
        for w in range(1, int(study["waves"]) + 1):
            if w == 1:
                U = qmc.LatinHypercube(d=d, seed=rng).random(points_per_wave)
            else:  # a spread-out subset of what no wave has ruled out (maximin from a random start)
                pool = space_pool
                if len(pool) < d + 2:
                    say(f"wave {w}: only {len(pool)} candidate points are left; stopping the waves")
                    break
                U = pool[E.spread(pool, min(points_per_wave, len(pool)), rng)]
            points = [Point(w, i, tuple(E.scaled(u[None], bounds)[0].round(12)), int(rng.integers(2**31)))
                      for i, u in enumerate(U)]
            say(f"wave {w}: {len(points)} runs")
            rows += evaluate_all(points)
            X = E.unit([r["x"] for r in rows], bounds)
            Y = np.array([[r["y"][t.id] for t in targets] for r in rows], float)
            emulators.append(E.Emulator(X, Y, seed + w))
            wanted = 5 * points_per_wave if w < int(study["waves"]) else int(study["max_ensemble_runs"])
            space_pool, share, alone = E.sample_not_ruled_out(emulators, targets, wanted, d, rng, study)
            waves.append({"wave": w, "runs": len(points), "not_ruled_out": share,
                          "kept_by_each_target": {t.id: float(a) for t, a in zip(targets, alone)}})
            say(f"  -> {share:.2%} of the prior box remains; kept by each target alone: "
                + ", ".join(f"{t.id} {a:.0%}" for t, a in zip(targets, alone)))
        # the ensemble: real runs from the remaining space, accepted on their own outputs (allowing the
        # run-to-run variance the last emulator estimates, as a single stochastic run varies about its mean)
        members, tried = [], 0
        pool = space_pool
        if len(pool) == 0:
            say("no part of the prior box is consistent with every calibration target (see kept_by_each_target in "
                "calibration.json): the ensemble is drawn from the whole box and will hold only runs that meet them")
            pool = qmc.LatinHypercube(d=d, seed=rng).random(int(study["max_ensemble_runs"]))
        order = rng.permutation(len(pool))
        batch = max(int(study["ensemble_size"]), 20)
        limit = min(len(pool), int(study["max_ensemble_runs"]))
        while len(members) < int(study["ensemble_size"]) and tried < limit:
            take = order[tried: tried + min(batch, limit - tried)]
            tried += len(take)
            pts = [Point(0, tried - len(take) + i, tuple(E.scaled(pool[j][None], bounds)[0].round(12)),
                         int(rng.integers(2**31))) for i, j in enumerate(take)]
            got = evaluate_all(pts)
            _, _, noise = emulators[-1].predict(E.unit([r["x"] for r in got], bounds))
            for r, nz in zip(got, noise):
                y = np.array([r["y"][t.id] for t in targets], float)
                imp = E.implausibility(targets, y[None], nz[None] ** 2, float(study["discrepancy"]))[0]
                r["implausibility"] = float(np.nanmax(imp)) if np.isfinite(imp).all() else float("inf")
                r["accepted"] = bool(r["implausibility"] <= float(study["cutoff"]))
            members += [r for r in got if r["accepted"]]
            rows += got
            say(f"ensemble: {len(members)} accepted of {tried} run")
        if len(members) < int(study["ensemble_size"]):
            say(f"note: {len(members)} members met every target, fewer than the {study['ensemble_size']} asked for; "
                "more waves (study.waves) or runs (study.max_ensemble_runs) would find more")
        _write(folder, study, names, bounds, drawn, targets, rows, members, waves, key, extra_files)
    if study.get("publish"):
        publish(folder.path, study["publish"])
    return folder.path


def _table(rows, names, targets, drawn=()) -> pd.DataFrame:
    dnames = [k for k, _ in drawn]
    columns = ["wave", "index", "seed", *names, *dnames, *(t.id for t in targets), "implausibility", "accepted"]
    return pd.DataFrame([{"wave": r["wave"], "index": r["index"], "seed": r["seed"],
                          **dict(zip(names, r["x"])), **dict(zip(dnames, r.get("z") or [])),
                          **{t.id: r["y"][t.id] for t in targets},
                          "implausibility": r.get("implausibility", np.nan), "accepted": r.get("accepted", False)}
                         for r in rows], columns=columns)


def _write(folder, study, names, bounds, drawn, targets, rows, members, waves, key, extra_files) -> None:
    from experiments import analysis_figures
    from sim.files import write_texts
    from sim.provenance import provenance

    runs = _table(rows, names, targets, drawn)
    ensemble = _table(members, names, targets, drawn)
    before = runs[runs["wave"] == 1]
    fit = []
    for t in targets:
        for label, df in (("prior (wave 1)", before), ("ensemble", ensemble)):
            y = df[t.id].to_numpy(float) if len(df) else np.zeros(0)
            y = y[np.isfinite(y)]
            q = np.quantile(y, [0.05, 0.5, 0.95]) if len(y) else [np.nan] * 3
            fit.append({"target": t.id, "stage": label, "observed": t.value, "low": t.low, "high": t.high,
                        "runs": len(y), "median": float(q[1]), "q05": float(q[0]), "q95": float(q[2]),
                        "hit_share": float(np.mean([t.hit(v) for v in y])) if len(y) else np.nan})
    fitted = set(names)
    ranges = pd.DataFrame([{"parameter": n, "treatment": "calibrated" if n in fitted else "drawn from its range",
                            "prior_low": lo, "prior_high": hi,
                            "ensemble_low": float(ensemble[n].min()) if len(ensemble) else np.nan,
                            "ensemble_median": float(ensemble[n].median()) if len(ensemble) else np.nan,
                            "ensemble_high": float(ensemble[n].max()) if len(ensemble) else np.nan}
                           for n, (lo, hi) in [*zip(names, bounds), *drawn]])
    meta = {"method": "history matching with Gaussian-process emulators (Andrianakis et al. 2015), implausibility "
                      f"cut-off {study['cutoff']}, model discrepancy {study['discrepancy']} x the target's sd",
            "study": study, "parameters": names, "bounds": bounds,
            "drawn": [k for k, _ in drawn], "drawn_bounds": [list(b) for _, b in drawn], "waves": waves,
            "targets": [t.id for t in targets], "evaluations": len(rows), "ensemble_size": len(ensemble),
            "settings_key": key, "regenerate": "python -m sim experiment=calibrate", **provenance()}
    with folder.stage() as tmp:
        runs.to_csv(tmp / "runs.csv", index=False, float_format="%.17g")  # exact: members can be rerun
        ensemble.to_csv(tmp / "ensemble.csv", index=False, float_format="%.17g")
        pd.DataFrame(fit).to_csv(tmp / "fit.csv", index=False, float_format="%.6g")
        ranges.to_csv(tmp / "ranges.csv", index=False, float_format="%.6g")
        (tmp / "calibration.json").write_text(json.dumps(meta, indent=2, default=str))
        analysis_figures.calibration_figures(pd.DataFrame(fit), runs, ensemble, names, tmp)
        write_texts(tmp, extra_files)


def publish(done: pathlib.Path, where) -> pathlib.Path:
    """Copy a finished calibration's ensemble and provenance to ``where`` (under data/calibration/ to commit it)."""
    from sim.files import OutputFolder

    done = pathlib.Path(done)
    meta = json.loads((done / "calibration.json").read_text())
    with OutputFolder(where, "calibration-ensemble", meta["settings_key"], option="study.publish").session() as f:
        with f.stage() as tmp:
            for name in ("ensemble.csv", "fit.csv", "ranges.csv", "calibration.json"):
                (tmp / name).write_bytes((done / name).read_bytes())
    return f.path


KEYS = {
    "name": C.name_key, "kind": C.kind_key, **C.LAUNCH_KEYS,
    "parameters": C.parameters_key,
    "others": lambda v, k: check_choice(v, k, ("drawn", "defaults")),
    "range_factor": C.range_factor_key,
    "waves": lambda v, k: check_int(v, k, low=1, high=20),
    "points": lambda v, k: check_int(v, k, low=4, high=100_000),
    "ensemble_size": lambda v, k: check_int(v, k, low=1, high=100_000),
    "max_ensemble_runs": lambda v, k: check_int(v, k, low=1, high=1_000_000),
    "cutoff": lambda v, k: check_number(v, k, 0, 1000, low_open=True),  # (implausibility, in sds: 3 is usual)
    "discrepancy": lambda v, k: check_number(v, k, 0, 1000),  # (model discrepancy, in observation sds)
    "candidates": lambda v, k: check_int(v, k, low=100, high=10_000_000),
    "max_candidates": lambda v, k: check_int(v, k, low=100, high=1_000_000_000),
    # the virtual trials recruit from small groups (women with little English in three communities; 16-17 year
    # olds): below 1% of Bradford too few are eligible
    "trial_scale": lambda v, k: check_number(v, k, 0.01, 1),
    "publish": lambda v, k: v if v is None else C.folder_key(v, k),
}
KIND = StudyKind(
    "calibrate", __doc__.splitlines()[0], KEYS, check, run_checked, ("ensemble.csv", "fit.csv",
                                                                     "calibration_targets.png"),
    "calibration: {0}, {1} and {2}", folder="calibrate",
    tiny=("study.parameters=[model.language.class_hour,observation.esol_level_width]", "study.waves=1",
          "study.points=6", "study.ensemble_size=2", "study.max_ensemble_runs=4", "study.candidates=500",
          "study.max_candidates=1000", "study.trial_scale=0.02"),
)
