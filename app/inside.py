"""Inside one run, in Mesa's own SolaraViz page: residents of one neighbourhood with their ties, week by week.

The residents drawn are Mesa agents (``model.agent_of(row)``: their English level and work status are read through
the agent); ties are drawn from the model's own network, bonding (same ethnic group) as solid grey lines and
bridging (across groups) as dashed orange ones. Nothing here changes the model.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import solara  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from mesa.visualization import SolaraViz, make_plot_component  # noqa: E402
from mesa.visualization.utils import update_counter  # noqa: E402

from app import widgets as w  # noqa: E402
from app.inputs import keep, number  # noqa: E402
from sim.agents import LEVELS  # noqa: E402
from sim.config import available_areas  # noqa: E402
from sim.model import IntegrationModel  # noqa: E402
from sim.scenario import available_scenarios  # noqa: E402

SAMPLE = 60  # residents drawn: enough to see ties, few enough to read
LEVEL_COLOURS = ("#b2182b", "#ef8a62", "#67a9cf", "#2166ac")  # cannot speak English ... very well

MODEL_PARAMS = {
    "area": {"type": "Select", "value": "walsall", "values": available_areas(), "label": "Area"},
    "scenario": {"type": "Select", "value": "english_first", "values": available_scenarios(), "label": "Scenario"},
    "scale": {"type": "SliderFloat", "value": 0.01, "min": 0.005, "max": 0.05, "step": 0.005,
              "label": "Scale (share of residents simulated)"},
    "seed": {"type": "SliderInt", "value": 1, "min": 1, "max": 100, "step": 1, "label": "Seed"},
    "weeks": 104,
}


class CheckedModel(IntegrationModel):
    """The model as this page makes it: Mesa's controls make a new one from what the browser sent (an area, a
    scale, a seed), so anything outside what the controls offer (a scale of a million, an area ``../x``, NaN) is
    replaced by the default and named in one line (``input_error``) instead of building it or raising."""

    def __init__(self, area="walsall", scenario="english_first", scale=0.01, seed=1, weeks=104):
        problems = []
        p = MODEL_PARAMS
        if not isinstance(area, str) or area not in p["area"]["values"]:
            problems.append(f"unknown area {keep(area)!r}")
            area = p["area"]["value"]
        if not isinstance(scenario, str) or scenario not in p["scenario"]["values"]:
            problems.append(f"unknown scenario {keep(scenario)!r}")
            scenario = p["scenario"]["value"]
        if not p["scale"]["min"] <= number(scale, -1.0) <= p["scale"]["max"]:
            problems.append(f"'scale' must be from {p['scale']['min']} to {p['scale']['max']}, got {keep(scale)!r}")
            scale = p["scale"]["value"]
        if isinstance(seed, bool) or not p["seed"]["min"] <= number(seed, -1.0) <= p["seed"]["max"] \
                or number(seed, 0.5) != int(number(seed, 0.5)):
            problems.append(f"'seed' must be a whole number from {p['seed']['min']} to {p['seed']['max']}, "
                            f"got {keep(seed)!r}")
            seed = p["seed"]["value"]
        super().__init__(area=area, scenario=scenario, scale=float(scale), seed=int(seed), weeks=104)
        self.input_error = f"error: {problems[0]}; the default is shown" if problems else None
        self.steps = self.week_no  # Mesa's "Step:" beside the page's "Week": the model counts weeks recorded

    def step(self):
        super().step()
        self.steps = self.week_no


def sample(model, neighbourhood: int, size: int = SAMPLE) -> np.ndarray:
    """Rows of up to ``size`` residents of one neighbourhood aged 16 or over (the same people week to week while they
    live there: the lowest rows)."""
    pop = model.pop
    rows = np.flatnonzero(pop.alive & (pop.neighbourhood == neighbourhood) & (pop.age >= 16))
    return rows[:size]


def most_mixed(model) -> int:
    """The neighbourhood where the most adults speak little English: where the model has most to show."""
    pop = model.pop
    adults = pop.alive & (pop.age >= 16)
    poor = np.bincount(pop.neighbourhood[adults & (pop.english < 2)], minlength=pop.n_neighbourhoods)
    return int(np.argmax(poor))


def ties_among(model, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, bridging) of the live ties (everyday and programme) with both ends among ``rows``."""
    inside = np.zeros(model.pop.capacity, dtype=bool)
    inside[rows] = True
    parts = []
    for net in model.networks:
        live = np.flatnonzero(net.alive)
        k = live[inside[net.a[live]] & inside[net.b[live]]]
        parts.append((net.a[k], net.b[k], net.bridging[k]))
    return tuple(np.concatenate(x) for x in zip(*parts))


def _layout(rows: np.ndarray, a, b, seed: int) -> dict:
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(rows.tolist())
    g.add_edges_from(zip(a.tolist(), b.tolist()))
    return nx.spring_layout(g, seed=seed, k=1.6 / max(np.sqrt(len(rows)), 1))


@solara.component
def Neighbourhood(model):
    update_counter.get()  # redraw after every step
    neighbourhood, set_neighbourhood = solara.use_state(solara.use_memo(lambda: most_mixed(model), [model]))
    n = int(model.pop.n_neighbourhoods)
    if getattr(model, "input_error", None):
        solara.Error(model.input_error)

    def choose(value):  # only a neighbourhood that exists (a browser can send anything)
        x = number(value, -1.0)
        if x == int(x) and 0 <= x < n:
            set_neighbourhood(int(x))

    neighbourhood = min(neighbourhood, n - 1)
    w.Slider("Neighbourhood (MSOA)", neighbourhood, choose, 0, n - 1, 1)
    rows = sample(model, neighbourhood)
    a, b, bridging = ties_among(model, rows)
    pos = _layout(rows, a, b, seed=neighbourhood)
    fig = Figure(figsize=(7, 6), layout="constrained")
    ax = fig.subplots()
    for x, y, br in zip(a.tolist(), b.tolist(), bridging.tolist()):
        (x0, y0), (x1, y1) = pos[x], pos[y]
        ax.plot([x0, x1], [y0, y1], color="#e08214" if br else "0.6", ls="--" if br else "-", lw=1.3 if br else 0.8,
                zorder=1)
    agents = [model.agent_of(int(r)) for r in rows]
    for agent in agents:
        x, y = pos[agent.row]
        level = min(int(agent.english), 3)
        ax.scatter([x], [y], s=70, c=LEVEL_COLOURS[level], marker="s" if agent.status == "employed" else "o",
                   edgecolors="black", linewidths=0.5, zorder=2)
    handles = [Line2D([], [], color=c, marker="o", ls="", label=lab) for c, lab in zip(LEVEL_COLOURS, LEVELS)]
    handles += [Line2D([], [], color="0.3", marker="s", ls="", label="in work"),
                Line2D([], [], color="0.3", marker="o", ls="", label="not in work"),
                Line2D([], [], color="0.6", label="bonding tie (same group)"),
                Line2D([], [], color="#e08214", ls="--", label="bridging tie (across groups)")]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_axis_off()
    solara.Text(f"Week {model.week_no}: {len(rows)} residents (16+) of neighbourhood {neighbourhood}, {len(a)} ties "
                f"among them ({int(bridging.sum())} bridging)", classes=["sim-inside-caption"])
    solara.FigureMatplotlib(fig)


@solara.component
def Inside():
    model = solara.use_memo(lambda: CheckedModel(area="walsall", scale=0.01, seed=1, scenario="english_first"), [])
    SolaraViz(model, components=[(Neighbourhood, 0),
                                 make_plot_component(["poor_english_share", "employment_rate"]),
                                 make_plot_component(["bridging_tie_share", "isolation_share"])],
              model_params=MODEL_PARAMS, name="Inside one run", play_interval=300)
