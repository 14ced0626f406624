"""What the explorer page does, without the page: turn a user's choices into the command line's own overrides, run
them through the command line's composition and checks and the study runner, and read finished studies back.

The page adds no model logic: a scenario built in the page is a ``study.scenarios`` entry written out in full, run
by :func:`experiments.compare.run_study` exactly as ``python -m sim <overrides>`` runs it (:func:`command` is that
command), and everything shown is read from the study's own files (tables as the CSVs hold them, figures as the
report draws them).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pathlib
import shlex

import pandas as pd

from sim.config import available_areas
from sim.costs import OUTCOMES
from sim.interventions import NAMES, POLICIES
from sim.params import ConfigError
from sim.scenario import available_scenarios
from sim.scenario import check as check_scenario

USER = "your_scenario"  # the label of the scenario built in the page
RESULTS = pathlib.Path("results")
OUTCOME_NAMES = {"residents_lifted_out_of_poor_english": "residents lifted out of poor English",
                 "extra_people_in_work": "extra people in work (16-64)",
                 "extra_bridging_ties": "extra bridging ties meeting at least monthly"}
assert set(OUTCOME_NAMES) == {g for g, _, _ in OUTCOMES}, "every outcome needs a name in the page"
PROGRAMME_NAMES = {n: {"esol": "ESOL (English classes)", "ncs": "National Citizen Service"}.get(
    n, n.replace("_", " ").capitalize()) for n in NAMES}
POLICY_NAMES = {"mixed_intakes": "Mixed school intakes (admissions by lottery for a share of new pupils)",
                "citizenship_english": "Stronger English requirement for citizenship"}
POLICY_NAMES = {n: POLICY_NAMES.get(n, n.replace("_", " ").capitalize()) for n in POLICIES}


def areas() -> list[str]:
    return available_areas()


def area_name(area: str) -> str:
    return area.replace("_", " ").title().replace(" With ", " with ")


def provided() -> list[str]:
    """The provided funded scenarios (``configs/scenario/``)."""
    return [s for s in available_scenarios() if s != "baseline"]


@dataclasses.dataclass
class Choice:
    """A scenario as the page builds it, and how to run it against the baseline."""

    area: str = "walsall"
    budget_gbp: float = 2_000_000.0
    shares: dict = dataclasses.field(default_factory=lambda: {n: 0.0 for n in NAMES})
    policies: tuple = ()  # the policies switched on
    start_week: int = 0
    end_week: int = 104
    weeks: int = 104
    scale: float = 0.02
    replicates: int = 4
    seed: int = 1
    compare_with: tuple = ()
    parameters: str = "ensemble"
    where: dict = dataclasses.field(default_factory=dict)  # programme or policy -> its MSOA codes (absent: everywhere)

    @property
    def allocated(self) -> float:
        return float(sum(self.shares.values()))

    @property
    def unallocated_gbp(self) -> float:
        return self.budget_gbp * (1.0 - self.allocated)


def from_provided(name: str, area: str, weeks: int = 104) -> dict:
    """A provided scenario's budget (for ``area``), shares and weeks: where the page starts when a user picks it."""
    sc = check_scenario(name, area, weeks)
    return {"budget_gbp": float(sc.budget_gbp), "shares": {n: float(sc.allocation.get(n, 0.0)) for n in NAMES},
            "policies": tuple(sc.policies), "start_week": int(sc.start_week), "end_week": int(sc.end_week),
            "where": {n: tuple(codes) for n, codes in sc.where.items()}}


def msoas(area: str):
    """The area's MSOAs (:class:`sim.places.Places`: codes, names, residents): what a programme can be placed in."""
    from sim.config import load_area
    from sim.places import places

    return places(load_area(area)["ons_code"])


def _value(v) -> str:
    if isinstance(v, float):
        return repr(round(v, 6)) if not v.is_integer() else str(int(v))
    return str(v)


def overrides(c: Choice, results: pathlib.Path | str = RESULTS) -> list[str]:
    """The command line's overrides for this choice (the output folder last: one per distinct choice, so running
    the same choice again reuses its finished runs)."""
    alloc = ", ".join(f"{n}: {_value(float(s))}" for n, s in c.shares.items() if s != 0)  # a bad one is checked
    on = ", ".join(f"{n}: true" for n in sorted(c.policies))
    policies = f", policies: {{{on}}}" if on else ""
    placed = ", ".join(f"{n}: [{','.join(sorted(codes))}]" for n, codes in sorted(c.where.items()) if codes)
    where = f", where: {{{placed}}}" if placed else ""  # (scenario.where, written out in study.scenarios)
    scenario = (f"{{name: {USER}, budget_gbp: {_value(float(c.budget_gbp))}, allocation: {{{alloc}}}{policies}, "
                f"start_week: {int(c.start_week)}, end_week: {int(c.end_week)}{where}}}")
    others = "".join(f",{s}" for s in c.compare_with)
    ov = ["experiment=compare_scenarios", f"study.areas=[{c.area}]", f"study.scenarios=[baseline,{scenario}{others}]",
          f"scale={_value(float(c.scale))}", f"replicates={int(c.replicates)}", f"weeks={int(c.weeks)}",
          f"seed={int(c.seed)}", f"parameters={c.parameters}"]
    key = hashlib.sha256(json.dumps(ov).encode()).hexdigest()[:10]
    return ov + [f"hydra.run.dir={pathlib.Path(results) / 'explorer' / f'{c.area}-{key}'}"]


def command(ov: list[str]) -> str:
    """The command that runs ``ov`` (what a user pastes into a terminal in the project's folder)."""
    return "python -m sim " + " ".join(shlex.quote(o) for o in ov)


def check(c: Choice, results: pathlib.Path | str = RESULTS):
    """Compose and check the choice as the command line would (raises :class:`ConfigError` with its message)."""
    from cli.preflight import prepare_study

    for key, value, allowed in (("area", c.area, areas()), ("parameters", c.parameters, ("ensemble", "fixed"))):
        if value not in allowed:
            raise ConfigError(f"unknown {key} {value!r}; allowed: {', '.join(allowed)}")
    unknown = sorted(set(c.compare_with) - set(provided()))
    if unknown:
        raise ConfigError(f"unknown scenario '{unknown[0]}' to compare with; allowed: {', '.join(provided())}")
    codes = set(msoas(c.area).codes)  # (before the codes are written into an override: nothing else gets in)
    for name, given in c.where.items():
        if name not in NAMES + POLICIES:
            raise ConfigError(f"unknown programme or policy 'scenario.where.{name}'; known: "
                              f"{', '.join(NAMES + POLICIES)}")
        bad = [g for g in given if g not in codes]
        if bad:
            raise ConfigError(f"unknown MSOA {bad[0]!r} in 'scenario.where.{name}'; allowed: {c.area}'s "
                              f"{len(codes)} MSOA codes (python -m sim.places {c.area})")
    ov = overrides(c, results)
    study, folder, extra = prepare_study(ov)
    return study, folder, {**extra, "command.txt": command(ov) + "\n"}


def run(c: Choice, results: pathlib.Path | str = RESULTS, progress=None, should_stop=None,
        workers: int = 0) -> pathlib.Path:
    """Run the choice against the baseline (and the scenarios it is compared with) through the study runner:
    ``workers`` processes (0: the study's own setting), finished runs cached, ``progress(done, total)`` after each
    run, stopped when ``should_stop()`` turns true. Returns the study's folder."""
    from experiments.compare import run_study

    study, folder, extra = check(c, results)
    study = {**study, "name": "explorer", **({"workers": int(workers)} if workers else {})}
    return run_study(study, folder, progress=progress or False, option="hydra.run.dir", extra_files=extra,
                     should_stop=should_stop)


# --- finished studies --------------------------------------------------------------------------------------------

def studies(results: pathlib.Path | str = RESULTS) -> list[pathlib.Path]:
    """Every finished study under ``results`` (a folder with a study.json and a report.html: the main job, a
    gathered sweep, the explorer's own runs), newest first."""
    root = pathlib.Path(results)
    if not root.is_dir():
        return []
    from experiments.studies import DEFAULT, KINDS

    report = KINDS[DEFAULT].outputs[0]  # (report.html: what a compare study writes last)
    found = [p.parent for p in root.glob("**/study.json") if (p.parent / report).exists()
             and "runs" not in p.relative_to(root).parts[:-1]]
    return sorted(found, key=lambda p: -(p / "study.json").stat().st_mtime)


@dataclasses.dataclass
class Study:
    """A finished study as its files hold it."""

    folder: pathlib.Path
    meta: dict
    tables: dict  # name -> DataFrame (every CSV of the folder)
    figures: list  # (png file, svg file or None)
    command: str | None

    @property
    def areas(self) -> list[str]:
        s = self.tables.get("summary")
        return list(dict.fromkeys(s["area"])) if s is not None else []

    @property
    def scenarios(self) -> list[str]:
        s = self.tables.get("summary")
        return list(dict.fromkeys(s["scenario"])) if s is not None else []


def load(folder: pathlib.Path | str) -> Study:
    folder = pathlib.Path(folder)
    if not (folder / "study.json").exists():
        raise ConfigError(f"'{folder}' is not a finished study (it has no study.json); choose one of the studies "
                          "listed")
    meta = json.loads((folder / "study.json").read_text())
    tables = {p.stem: pd.read_csv(p) for p in sorted(folder.glob("*.csv"))}
    figures = [(p.name, p.with_suffix(".svg").name if p.with_suffix(".svg").exists() else None)
               for p in sorted(folder.glob("*.png"))]
    cmd = None
    if (folder / "command.txt").exists():
        cmd = (folder / "command.txt").read_text().strip()
    elif (folder / ".hydra" / "overrides.yaml").exists():
        import yaml

        ov = yaml.safe_load((folder / ".hydra" / "overrides.yaml").read_text()) or []
        if not any(str(o).startswith("hydra.run.dir=") for o in ov):
            ov = [*ov, f"hydra.run.dir={folder}"]
        cmd = command([str(o) for o in ov])
    return Study(folder, meta, tables, figures, cmd)


FIGURE_ORDER = ("timeseries_", "difference_vs_baseline", "cost_per_outcome", "probability_best", "acceptability",
                "response_", "areas_compared")


def figures_for(study: Study, area: str) -> list[tuple[str, str | None]]:
    """The study's figures that show ``area`` (its own time series, and every figure over all areas; the areas side
    by side only when there are several), in the order a reader needs them."""
    out = []
    for png, svg in study.figures:
        if png.startswith("timeseries_") and png != f"timeseries_{area}.png":
            continue
        if png.startswith("areas_compared") and len(study.areas) < 2:
            continue
        out.append((png, svg))
    rank = {p: i for i, p in enumerate(FIGURE_ORDER)}
    return sorted(out, key=lambda f: min((i for p, i in rank.items() if f[0].startswith(p)), default=len(rank)))


def fmt(x) -> str:
    """How the page prints a number (the browser test formats the study's CSV values the same way)."""
    if isinstance(x, str):
        return x
    if x is None or pd.isna(x):
        return "-"
    x = float(x)
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def key_numbers(study: Study, area: str, scenarios: list[str]) -> pd.DataFrame:
    """For each outcome and scenario of ``area``: the gain against the baseline (median, 10% and 90%), the cost
    per unit with its range, and the chance it does the most (the study's cost_per_outcome.csv, decisions.csv)."""
    costs = study.tables.get("cost_per_outcome")
    if costs is None or costs.empty:
        return pd.DataFrame()
    from sim.costs import RATIO_NAMES

    c = costs[(costs["area"] == area) & costs["scenario"].isin(scenarios)]
    rows = []
    dec = study.tables.get("decisions")
    for gain, _, _ in OUTCOMES:
        for _, r in c.iterrows():
            p = None
            if dec is not None and len(dec):
                d = dec[(dec["area"] == area) & (dec["scenario"] == r["scenario"]) & (dec["outcome"] == gain)]
                p = float(d["p_best"].iloc[0]) if len(d) else None
            ratio = RATIO_NAMES[gain]
            rows.append({"outcome": OUTCOME_NAMES[gain], "scenario": r["scenario"], "spend GBP": r["spend_gbp"],
                         "gain (median)": r[gain], "gain 10%": r[f"{gain}_p10"], "gain 90%": r[f"{gain}_p90"],
                         "GBP per unit": r[ratio], "GBP per unit, low": r[f"{ratio}_low"],
                         "GBP per unit, high": r[f"{ratio}_high"], "chance it does the most": p})
    return pd.DataFrame(rows)


def beats(study: Study, area: str, scenario: str) -> pd.DataFrame:
    """The chance that ``scenario`` gives a larger gain than each other one (head_to_head.csv), per outcome."""
    h = study.tables.get("head_to_head")
    if h is None or h.empty:
        return pd.DataFrame()
    h = h[(h["area"] == area) & (h["scenario"] == scenario)]
    return pd.DataFrame({"outcome": h["outcome"].map(lambda o: OUTCOME_NAMES.get(o, o)), "against": h["against"],
                         "chance of a larger gain": h["p_larger_gain"]}).reset_index(drop=True)
