"""Where a programme runs: the chosen area's map of its MSOAs, on which a user clicks the ones a funded programme
(or a policy switched on) is confined to: ``scenario.where.<name>``, as the command line takes it.

The map is SVG drawn by a small Vue template (``places_map.vue``) from the boundaries in ``data/msoa2021/``, so
nothing is fetched (an Altair chart would load Vega from a CDN). A click sends the MSOA's code; the page keeps what
was sent (:func:`app.inputs.keep`) and :func:`app.inputs.read` checks it against the area's own codes, as every
other value a browser sends.
"""

from __future__ import annotations

import functools

import numpy as np
import solara

from app import explorer as ex
from app import inputs
from app import widgets as w

# --- state (one copy per browser tab) -----------------------------------------------------------------------------
where = solara.reactive({})  # programme or policy -> the MSOA codes picked (as the clicks sent them)
placing = solara.reactive(None)  # the programme or policy the map places now (as the select sent it)

LABELS = {**ex.PROGRAMME_NAMES, **{n: f"{ex.POLICY_NAMES[n].split(' (')[0]} (policy)" for n in ex.POLICIES}}
WIDTH = 400.0  # the map's longer side, in the SVG's own units


@functools.lru_cache(maxsize=8)
def outlines(area: str) -> tuple[tuple[dict, ...], str]:
    """The area's MSOAs as SVG paths (north up, the longer side ``WIDTH``), each with its code, name and
    residents; and the SVG's viewBox."""
    from sim.config import load_area
    from sim.places.geometry import shapes

    p = ex.msoas(area)
    sh = shapes(load_area(area)["ons_code"])
    rings = [[sh.km(r) for r in rs] for rs in sh.rings]
    allxy = np.concatenate([r for rs in rings for r in rs])
    lo, hi = allxy.min(axis=0), allxy.max(axis=0)
    k = WIDTH / float((hi - lo).max())
    out = []
    for code, name, residents, rs in zip(p.codes, p.names, p.residents, rings, strict=True):
        d = " ".join("M" + " ".join(f"{(x - lo[0]) * k:.1f},{(hi[1] - y) * k:.1f}" for x, y in r) + "Z"
                     for r in rs)
        out.append({"code": code, "name": name, "residents": f"{int(residents):,}", "d": d})
    return tuple(out), f"0 0 {(hi[0] - lo[0]) * k:.1f} {(hi[1] - lo[1]) * k:.1f}"


def offered(values: dict) -> list[str]:
    """What can be placed: the programmes with a share and the policies switched on (as the page holds them)."""
    funded = [n for n in ex.NAMES if inputs.number(values["shares"][n], 0.0) > 0]
    return funded + [n for n in ex.POLICIES if values["policies"][n] is True]


def toggle(area: str, name: str, code) -> None:
    """A click: the MSOA in or out of ``name``'s places. Kept as sent (a code not of the area is named by the page's
    checks), and never more of them than the area has MSOAs, so a browser cannot make the page hold more."""
    picked = tuple(where.value.get(name, ()))
    if code in picked:
        picked = tuple(c for c in picked if c != code)
    elif len(picked) < len(ex.msoas(area).codes):
        picked = (*picked, code)
    where.set({**where.value, name: picked})


def clear(name: str | None = None) -> None:
    """Every programme's places (a new area: its MSOAs are others), or ``name``'s."""
    where.set({} if name is None else {k: v for k, v in where.value.items() if k != name})


@solara.component_vue("places_map.vue")
def _Map(label: str, msoas: list, view: str, picked: list, others: list, event_toggle=None):
    pass


@solara.component
def Places(area: str, values: dict):
    """The select of what to place, the map, and the places picked so far, by name (drawn always, empty for an
    area not offered: the page's widgets after it keep their places, and are not made anew)."""
    if area not in ex.areas():
        return
    solara.Markdown("**Where** (click the MSOAs a programme runs in; none picked: the whole area)",
                    style="font-size: 14px")
    can = offered(values)
    if can:
        name = placing.value if placing.value in can else can[0]
        w.Select("Programme to place on the map", can, name, placing.set, labels=LABELS)
        paths, view = outlines(area)
        mine = [c for c in where.value.get(name, ()) if isinstance(c, str)]
        others = [c for n, cs in where.value.items() if n != name for c in cs if isinstance(c, str)]
        _Map(label=f"Map of {ex.area_name(area)}'s MSOAs", msoas=list(paths), view=view, picked=mine,
             others=others, event_toggle=w.safe(lambda code: toggle(area, name, code)))
    else:
        solara.Text("Give a programme a share (or switch a policy on) to choose where it runs.",
                    style="font-size: 13px")
    named = dict(zip(ex.msoas(area).codes, ex.msoas(area).names, strict=True))
    for n, picked in where.value.items():
        if not picked:
            continue
        shown = ", ".join(named.get(c, "(not an MSOA of this area)") for c in sorted(picked, key=str))
        with solara.Row(style="align-items: center"):
            solara.Text(f"Where {LABELS.get(n, n)} runs: {shown} ({len(picked)} of {len(named)} MSOAs)",
                        classes=["sim-places"], style="font-size: 13px")
            solara.Button(f"Clear {LABELS.get(n, n)}", on_click=lambda n=n: clear(n), text=True, small=True)
