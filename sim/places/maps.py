"""Choropleth maps of an area's MSOAs (matplotlib, from the boundaries in data/msoa2021: nothing fetched), used by
a run's figure (msoa_map.png) and a study's report."""

from __future__ import annotations

import numpy as np

from sim.places.geometry import shapes


def draw(ax, ons_code: str, values, title: str, label: str, diverging: bool = False, fmt: str = "{:.0%}",
         span: float | None = None, colorbar: bool = True):
    """One map on ``ax``: each MSOA filled by its value (NaN: hatched grey), with a colour bar (``colorbar``
    False: none, for maps that share one); returns the filled shapes. ``span``: a diverging map's colours run from
    -span to +span (maps to be compared share one); by default its own largest value sets them."""
    from matplotlib import colormaps
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import Normalize, TwoSlopeNorm

    sh = shapes(ons_code)
    values = np.asarray(values, dtype=float)
    polys, idx = [], []
    for i, rings in enumerate(sh.rings):
        for ring in rings:
            polys.append(sh.km(ring))
            idx.append(i)
    v = values[np.array(idx)]
    finite = v[np.isfinite(v)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    if diverging:
        m = span if span is not None and span > 0 else max(abs(lo), abs(hi), 1e-12)
        norm = TwoSlopeNorm(0.0, -m, m)
        cmap = "RdBu"
    else:
        norm, cmap = Normalize(lo, hi if hi > lo else lo + 1e-12), "viridis"
    coll = PolyCollection(polys, array=np.where(np.isfinite(v), v, np.nan),
                          cmap=colormaps[cmap].with_extremes(bad="#dddddd"), norm=norm, edgecolor="white",
                          linewidths=0.4)
    ax.add_collection(coll)
    allxy = np.concatenate(polys)
    ax.set_xlim(allxy[:, 0].min(), allxy[:, 0].max())
    ax.set_ylim(allxy[:, 1].min(), allxy[:, 1].max())
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    if colorbar:
        bar = ax.figure.colorbar(coll, ax=ax, shrink=0.7)
        bar.set_label(label, fontsize=8)
        bar.ax.yaxis.set_major_formatter(lambda x, _pos: fmt.format(x))
    return coll
