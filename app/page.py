"""The explorer's pages (Solara): build a scenario and run it against the baseline, open a finished study, look
inside one run. Everything is done through :mod:`app.explorer` (the command line's composition and checks, the
study runner, the study's own tables and figures); the page adds no model logic."""

from __future__ import annotations

import io
import os
import pathlib

import solara
import solara.lab

from app import explorer as ex
from sim.interventions import NAMES
from sim.params import ConfigError

RESULTS = pathlib.Path(os.environ.get("SIM_RESULTS", "results"))
OWN = "(your own)"
WEEK_CHOICES = [52, 104, 156, 208]
SCALE_CHOICES = [0.005, 0.01, 0.02, 0.05, 0.1]

# --- state (one copy per browser tab) ------------------------------------------------------------------------------
area = solara.reactive("walsall")
start_from = solara.reactive(OWN)
budget = solara.reactive(2_000_000.0)
shares = {n: solara.reactive(0.0) for n in NAMES}
policies = {n: solara.reactive(False) for n in ex.POLICIES}
start_week = solara.reactive(0)
end_week = solara.reactive(104)
weeks = solara.reactive(104)
scale = solara.reactive(0.02)
replicates = solara.reactive(4)
seed = solara.reactive(1)
parameters = solara.reactive("ensemble")
compare_with = solara.reactive([])
last_study = solara.reactive(None)  # folder of the last finished run
opened = solara.reactive(None)  # folder of the study opened in the second tab
opened_area = solara.reactive(None)
opened_scenarios = solara.reactive([])


def choice() -> ex.Choice:
    return ex.Choice(area=area.value, budget_gbp=float(budget.value), shares={n: float(shares[n].value) for n in NAMES},
                     policies=tuple(n for n in ex.POLICIES if policies[n].value),
                     start_week=int(start_week.value), end_week=int(end_week.value), weeks=int(weeks.value),
                     scale=float(scale.value), replicates=int(replicates.value), seed=int(seed.value),
                     compare_with=tuple(compare_with.value), parameters=parameters.value)


@solara.lab.task
def run_task(c: ex.Choice):
    def report(done, total):
        run_task.progress = 100.0 * done / max(total, 1)

    folder = ex.run(c, RESULTS, progress=report, should_stop=lambda: not run_task.is_current())
    return str(folder)


def _pick_scenario(name: str) -> None:
    start_from.set(name)
    if name == OWN:
        return
    values = ex.from_provided(name, area.value, int(weeks.value))
    budget.set(values["budget_gbp"])
    for n in NAMES:
        shares[n].set(round(values["shares"][n], 4))
    for n in ex.POLICIES:
        policies[n].set(n in values["policies"])
    start_week.set(values["start_week"])
    end_week.set(min(values["end_week"], int(weeks.value)))


def _set_weeks(value: int) -> None:
    """A shorter run keeps the funding weeks inside it (the sliders cannot show a week past the end)."""
    weeks.set(int(value))
    end_week.set(min(int(end_week.value), int(value)) if end_week.value else int(value))
    start_week.set(min(int(start_week.value), max(int(end_week.value) - 1, 0)))


def _set_share(name: str, value: float) -> None:
    """A share can use only what the others leave: the shares never add up to more than the budget."""
    others = sum(shares[n].value for n in NAMES if n != name)
    shares[name].set(round(max(0.0, min(float(value), 1.0 - others)), 4))
    start_from.set(OWN)


# --- pieces ------------------------------------------------------------------------------------------------------

def _table(df, table_id: str) -> None:
    if df is None or len(df) == 0:
        solara.Text("(nothing to show)")
        return
    shown = df.copy()
    for col in shown.columns:
        shown[col] = [ex.fmt(v) for v in shown[col]]
    html = shown.to_html(index=False, table_id=table_id, classes="sim-table", border=0, escape=True)
    solara.HTML(tag="div", unsafe_innerHTML=html, style="overflow-x: auto; font-size: 13px")


def _csv(df) -> bytes:
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return buf.getvalue().encode()


@solara.component
def StudyView(folder: str, area_name: str, scenarios: list, focus: str | None = None):
    """A finished study's figures and tables for one area and the chosen scenarios, with downloads."""
    study = solara.use_memo(lambda: ex.load(folder), [folder])
    chosen = [s for s in scenarios if s in study.scenarios]
    solara.Markdown(f"**Study** `{study.folder}`: {ex.area_name(area_name)}; scenarios: {', '.join(chosen)}")
    numbers = ex.key_numbers(study, area_name, chosen)
    with solara.Card("Gain against no funding at the end, cost per outcome, chance of doing the most"):
        solara.Markdown("Gains are area-equivalent counts (median and 10-90% range over paired replicates: each "
                        "replicate is one seed and, with `parameters=ensemble`, one parameter set of the calibrated "
                        "ensemble, shared by every scenario). GBP per unit is the spend divided by the gain.")
        _table(numbers, "key-numbers")
        if len(numbers):
            solara.FileDownload(_csv(numbers), filename=f"key_numbers_{area_name}.csv", label="Download table (CSV)")
    if focus and focus in study.scenarios:
        pairs = ex.beats(study, area_name, focus)
        with solara.Card(f"Chance that {focus} gives a larger gain than each other option"):
            _table(pairs, "beats")
            if len(pairs):
                solara.FileDownload(_csv(pairs), filename=f"head_to_head_{area_name}.csv",
                                    label="Download table (CSV)")
    with solara.Card("Figures (as the report draws them)"):
        for png, svg in ex.figures_for(study, area_name):
            solara.Markdown(f"**{png[:-4].replace('_', ' ')}**")
            data = (study.folder / png).read_bytes()
            solara.Image(data, format="png", width="100%")
            with solara.Row():
                solara.FileDownload(data, filename=png, label="PNG")
                if svg:
                    solara.FileDownload(lambda svg=svg: (study.folder / svg).read_bytes(), filename=svg, label="SVG")
    with solara.Card("Tables of the whole study (CSV)"):
        with solara.Row(style="flex-wrap: wrap"):
            for name, table in study.tables.items():
                solara.FileDownload(_csv(table), filename=f"{name}.csv", label=f"{name}.csv")
    with solara.Card("The command that reproduces this study"):
        if study.command:
            solara.HTML(tag="pre", unsafe_innerHTML=_escape(study.command), classes=["sim-command"],
                        style="white-space: pre-wrap; font-size: 12px")
            solara.FileDownload(study.command + "\n", filename="command.txt", label="Download command")
        else:
            solara.Text("This study does not record its command.")


def _escape(text: str) -> str:
    import html

    return html.escape(text)


@solara.component
def Build():
    c = choice()
    with solara.Columns([1, 2]):
        with solara.Column():
            solara.Select("Area", values=ex.areas(), value=area)
            solara.Select("Start from", values=[OWN, *ex.provided()], value=start_from.value,
                          on_value=_pick_scenario)
            solara.InputFloat("Total budget (GBP, area-equivalent)", value=budget)
            for n in NAMES:
                solara.SliderFloat(f"{ex.PROGRAMME_NAMES[n]}: {100 * shares[n].value:.0f}%", value=shares[n].value,
                                   min=0.0, max=1.0,
                                   step=0.01, on_value=lambda v, n=n: _set_share(n, v))
            solara.Markdown(f"Allocated **{100 * c.allocated:.0f}%** (GBP {c.budget_gbp * c.allocated:,.0f}); "
                            f"unallocated **{100 * (1 - c.allocated):.0f}%** (GBP {c.unallocated_gbp:,.0f})",
                            style="font-size: 14px")
            solara.Markdown("**Policies** (rule changes, not bought from the budget; they act to the end of the run)",
                            style="font-size: 14px")
            for n in ex.POLICIES:
                solara.Checkbox(label=ex.POLICY_NAMES[n], value=policies[n])
            solara.SliderInt(f"Funding starts: week {start_week.value}", value=start_week, min=0,
                             max=int(weeks.value))
            solara.SliderInt(f"Funding ends: week {end_week.value}", value=end_week, min=0, max=int(weeks.value))
            solara.Select("Run length (weeks)", values=WEEK_CHOICES, value=weeks.value, on_value=_set_weeks)
            solara.Select("Scale (share of residents simulated)", values=SCALE_CHOICES, value=scale)
            solara.SliderInt(f"Replicates: {replicates.value}", value=replicates, min=2, max=32)
            solara.InputInt("Seed", value=seed)
            solara.Select("Parameters", values=["ensemble", "fixed"], value=parameters)
            solara.SelectMultiple("Compare with", values=compare_with, all_values=ex.provided())
            with solara.Row():
                solara.Button("Run against no funding", color="primary", on_click=lambda: run_task(choice()),
                              disabled=run_task.pending)
                solara.Button("Cancel", on_click=run_task.cancel, disabled=not run_task.pending)
        with solara.Column():
            _status()
            if run_task.finished and run_task.value:
                done = ex.load(run_task.value)
                StudyView(run_task.value, done.areas[0], done.scenarios, focus=ex.USER)


def _status() -> None:
    if run_task.pending:
        p = run_task.progress or 0.0
        solara.Text(f"Running: {p:.0f}% of the runs done (you can keep using the page, or cancel)")
        solara.ProgressLinear(value=p if p > 0 else True)
    elif run_task.error:
        e = run_task.exception
        if isinstance(e, ConfigError):
            solara.Error(f"error: {e}")
        else:
            solara.Error(f"stopped: {e}")
    elif run_task.cancelled:
        solara.Warning("Cancelled: finished runs are kept; running the same choice again resumes.")
    elif run_task.not_called:
        solara.Info("Choose an area and a scenario (or build your own), then run it against no funding.")


@solara.component
def Open():
    # read here so the list is made again when a run of the first tab finishes (the tabs are drawn at once, and
    # this one would otherwise keep the list it found when the page opened)
    _ = run_task.finished, run_task.pending
    found = ex.studies(RESULTS)
    if not found:
        solara.Info(f"No finished study under {RESULTS}/ yet: run `make run`, or a scenario in the first tab.")
        return
    labels = [str(p) for p in found]
    folder = opened.value if opened.value in labels else labels[0]
    solara.Select("Study", values=labels, value=folder, on_value=opened.set)
    study = ex.load(folder)
    a = opened_area.value if opened_area.value in study.areas else study.areas[0]
    solara.Select("Area", values=study.areas, value=a, on_value=opened_area.set)
    chosen = [s for s in opened_scenarios.value if s in study.scenarios] or study.scenarios
    solara.SelectMultiple("Scenarios", values=chosen, all_values=study.scenarios, on_value=opened_scenarios.set)
    StudyView(folder, a, chosen, focus=ex.USER if ex.USER in chosen else None)


@solara.component
def Explorer():
    solara.Title("integration-sim explorer")
    with solara.lab.Tabs():
        with solara.lab.Tab("Build a scenario"):
            Build()
        with solara.lab.Tab("Open a study"):
            Open()


@solara.component
def Inside():
    from app.inside import Inside as _Inside

    _Inside()


routes = [solara.Route(path="/", component=Explorer, label="Scenarios"),
          solara.Route(path="inside-one-run", component=Inside, label="Inside one run")]
