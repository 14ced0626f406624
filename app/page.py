"""The explorer's pages (Solara): build a scenario and run it against the baseline, open a finished study, look
inside one run. Everything is done through :mod:`app.explorer` (the command line's composition and checks, the
study runner, the study's own tables and figures); the page adds no model logic."""

from __future__ import annotations

import io
import os
import pathlib

import solara
import solara.lab

from app import caps, inputs, places_map
from app import explorer as ex
from app import widgets as w
from sim.interventions import NAMES
from sim.params import ConfigError

RESULTS = pathlib.Path(os.environ.get("SIM_RESULTS", "results"))
OWN, WEEK_CHOICES, SCALE_CHOICES = inputs.OWN, inputs.WEEK_CHOICES, inputs.SCALE_CHOICES

# --- state (one copy per browser tab): what the widgets sent, kept raw (inputs.keep) and checked by inputs.read ---
area = solara.reactive("walsall")
start_from = solara.reactive(OWN)
budget = solara.reactive("2000000")  # as typed
shares = {n: solara.reactive(0.0) for n in NAMES}
policies = {n: solara.reactive(False) for n in ex.POLICIES}
start_week = solara.reactive(0)
end_week = solara.reactive(104)
weeks = solara.reactive(104)
scale = solara.reactive(0.02)
replicates = solara.reactive(4)
seed = solara.reactive("1")  # as typed
parameters = solara.reactive("ensemble")
compare_with = solara.reactive(())
queued = solara.reactive(0)  # place in the server's queue while the study waits for its turn
opened = solara.reactive(None)  # folder of the study opened in the second tab
opened_area = solara.reactive(None)
opened_scenarios = solara.reactive(())


def values() -> dict:
    """The page's values as the widgets sent them (for :func:`app.inputs.read`)."""
    return {"area": area.value, "start_from": start_from.value, "budget": budget.value,
            "shares": {n: shares[n].value for n in NAMES}, "policies": {n: policies[n].value for n in ex.POLICIES},
            "start_week": start_week.value, "end_week": end_week.value, "weeks": weeks.value, "scale": scale.value,
            "replicates": replicates.value, "seed": seed.value, "parameters": parameters.value,
            "compare_with": compare_with.value, "where": places_map.where.value}


def choice() -> ex.Choice:
    """The checked choice (:class:`ConfigError` naming the first bad value)."""
    return inputs.read(values())


def _owner():
    try:
        from solara.server.kernel_context import get_current_context

        return get_current_context()
    except Exception:  # not in a server (tests of the page's logic)
        return None


@solara.lab.task
def run_task(c: ex.Choice, owner=None):
    def report(done, total):
        queued.set(0)
        run_task.progress = 100.0 * done / max(total, 1)

    queued.set(0)
    try:
        folder = caps.run(c, RESULTS, owner=owner, progress=report, should_stop=lambda: not run_task.is_current(),
                          on_wait=queued.set)
    except ConfigError as e:  # the page's one line (returned, not raised: Solara would log a traceback)
        return {"line": f"error: {e}", "kind": "error"}
    except caps.Stopped as e:
        return {"line": str(e) if str(e).startswith("stopped") else f"stopped: {e}", "kind": "stopped"}
    except BaseException as e:
        if type(e).__name__ != "Interrupted":
            raise
        return {"line": "Stopped: finished runs are kept; running the same choice again resumes.", "kind": "stopped"}
    return {"folder": str(folder)}


def _run() -> None:
    """Run the page's choice, if every value passes the page's checks (else the page already says which not)."""
    if inputs.problem(values()) is None:
        run_task(choice(), _owner())


def _pick_scenario(name) -> None:
    start_from.set(name)
    if name == OWN or name not in ex.provided() or weeks.value not in WEEK_CHOICES:
        return  # a name not offered is named by the page's checks
    values_ = ex.from_provided(name, area.value if area.value in ex.areas() else "walsall", int(weeks.value))
    budget.set(ex._value(float(values_["budget_gbp"])))
    for n in NAMES:
        shares[n].set(round(values_["shares"][n], 4))
    for n in ex.POLICIES:
        policies[n].set(n in values_["policies"])
    start_week.set(values_["start_week"])
    end_week.set(min(values_["end_week"], int(weeks.value)))
    places_map.where.set(values_["where"])


def _set_area(value) -> None:
    """Another area has other MSOAs: the places picked on the last one's map go."""
    area.set(value)
    places_map.clear()


def _set_weeks(value) -> None:
    """A shorter run keeps the funding weeks inside it (the sliders cannot show a week past the end)."""
    weeks.set(value)
    if value not in WEEK_CHOICES:
        return
    end = int(inputs.number(end_week.value, value))
    end_week.set(min(end, int(value)) if end else int(value))
    start_week.set(min(int(inputs.number(start_week.value, 0)), max(int(end_week.value) - 1, 0)))


def _set_share(name: str, value) -> None:
    """A share can use only what the others leave: the shares never add up to more than the budget. A value no
    slider sends (not a number from 0 to 1) is kept as it came, for the page's checks to name."""
    if inputs.number(value, -1.0) < 0 or value > 1:
        shares[name].set(value)
        return
    others = sum(inputs.number(shares[n].value, 0.0) for n in NAMES if n != name)
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


def _pct(x) -> float:
    return 100 * inputs.number(x, 0.0)


def _at(x):
    """Where a slider stands: at the value the page holds, or nowhere (None) while that is not a number: a slider
    drawn at a stand-in value would take the same value sent back for its own echo, and drop it."""
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) and abs(x) < 1e6 else None


@solara.component
def Build():
    v = values()
    problem = inputs.problem(v)  # drawn from safe numbers below, whatever the widgets sent
    money = inputs.shown_budget(budget.value)
    allocated = sum(inputs.number(x, 0.0) for x in v["shares"].values())
    last = int(inputs.number(weeks.value, 104)) if weeks.value in WEEK_CHOICES else 104
    with solara.Columns([1, 2]):
        with solara.Column():
            w.Select("Area", ex.areas(), area.value, _set_area)
            w.Select("Start from", [OWN, *ex.provided()], start_from.value, _pick_scenario)
            w.Text("Total budget (GBP, area-equivalent)", budget.value, budget.set)
            for n in NAMES:
                w.Slider(f"{ex.PROGRAMME_NAMES[n]}: {_pct(shares[n].value):.0f}%", _at(shares[n].value),
                         lambda x, n=n: _set_share(n, x), 0.0, 1.0, 0.01)
            solara.Markdown(f"Allocated **{100 * allocated:.0f}%** (GBP {money * allocated:,.0f}); "
                            f"unallocated **{100 * (1 - allocated):.0f}%** (GBP {money * (1 - allocated):,.0f})",
                            style="font-size: 14px")
            solara.Markdown("**Policies** (rule changes, not bought from the budget; they act to the end of the run)",
                            style="font-size: 14px")
            for n in ex.POLICIES:
                w.Checkbox(ex.POLICY_NAMES[n], policies[n].value, policies[n].set)
            places_map.Places(area.value, v)
            for label, state in (("Funding starts", start_week), ("Funding ends", end_week)):
                w.Slider(f"{label}: week {int(inputs.number(_at(state.value), 0))}", _at(state.value), state.set, 0,
                         last, 1)
            w.Select("Run length (weeks)", WEEK_CHOICES, weeks.value, _set_weeks)
            w.Select("Scale (share of residents simulated)", SCALE_CHOICES, scale.value, scale.set)
            w.Slider(f"Replicates: {int(inputs.number(_at(replicates.value), 4))}", _at(replicates.value),
                     replicates.set, *inputs.REPLICATES, 1)
            w.Text("Seed", seed.value, seed.set)
            w.Select("Parameters", ["ensemble", "fixed"], parameters.value, parameters.set)
            chosen = compare_with.value if isinstance(compare_with.value, tuple) else ()
            w.Select("Compare with", ex.provided(), chosen, compare_with.set, multiple=True)
            if problem:
                solara.Error(problem, classes=["sim-input-error"])
            with solara.Row():
                solara.Button("Run against no funding", color="primary", on_click=_run,
                              disabled=run_task.pending or bool(problem))
                solara.Button("Cancel", on_click=run_task.cancel, disabled=not run_task.pending)
        with solara.Column():
            _status()
            if run_task.finished and run_task.value and run_task.value.get("folder"):
                folder = run_task.value["folder"]
                done = ex.load(folder)
                StudyView(folder, done.areas[0], done.scenarios, focus=ex.USER)


def _status() -> None:
    if run_task.pending:
        if queued.value:
            limits = caps.scheduler().limits
            solara.Warning(f"Queued: number {queued.value} in this server's queue (it runs {limits.max_studies} "
                           f"{'study' if limits.max_studies == 1 else 'studies'} at a time); yours starts when a "
                           "place is free. You can keep using the page, or cancel.", classes=["sim-queued"])
            return
        p = run_task.progress or 0.0
        solara.Text(f"Running: {p:.0f}% of the runs done (you can keep using the page, or cancel)")
        solara.ProgressLinear(value=p if p > 0 else True)
    elif run_task.finished and run_task.value and run_task.value.get("line"):
        outcome = run_task.value
        (solara.Error if outcome["kind"] == "error" else solara.Warning)(outcome["line"], classes=["sim-run-status"])
    elif run_task.error:  # the server's log has the traceback; the page gets one line and no server path
        solara.Error(f"stopped: the study failed ({type(run_task.exception).__name__}); the server's log says why")
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
        solara.Info("No finished study yet: run `make run`, or a scenario in the first tab.")
        return
    labels = [str(p) for p in found]
    folder = opened.value if opened.value in labels else labels[0]
    w.Select("Study", labels, folder, opened.set)
    study = ex.load(folder)
    a = opened_area.value if opened_area.value in study.areas else study.areas[0]
    w.Select("Area", study.areas, a, opened_area.set)
    picked = opened_scenarios.value if isinstance(opened_scenarios.value, tuple) else ()
    chosen = [s for s in picked if s in study.scenarios] or study.scenarios
    w.Select("Scenarios", study.scenarios, chosen, opened_scenarios.set, multiple=True)
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
