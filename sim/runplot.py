"""The figure of one run (indicators.png), drawn from its weekly table.

Drawn straight on an Agg canvas (no pyplot, no global backend), and matplotlib is imported only when a figure is
drawn: whatever imports this module does not wait for it.
"""

from __future__ import annotations

import numpy as np

from sim.indicators import LABELS

DPI = 100  # 1300 x 1320 pixels: every label readable at 100%
MOVES = (("births", "C2"), ("deaths", "C3"), ("moved_in", "C0"), ("moved_out", "C1"), ("international_arrivals", "C4"))


def plot_run(ts, path, title: str, demography=None, baseline=None) -> None:
    """Each indicator over the weeks of one run (and the paired baseline, dashed), plus the population's moves."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = list(LABELS)
    extra = demography is not None
    n_panels = len(names) + 1  # every indicator, then the population's moves
    cols = 3
    rows = -(-n_panels // cols)
    fig = Figure(figsize=(13, 3.3 * rows))
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(rows, cols)
    axes = [fig.add_subplot(grid[i // cols, i % cols]) for i in range(n_panels)]  # only the panels drawn
    # fixed margins: a constrained layout would take half the time of the figure (about 1 s), for like panels
    fig.subplots_adjust(left=0.06, right=0.985, bottom=0.05, top=0.94, wspace=0.28, hspace=0.42)
    # titles at a fixed height above each panel (y=1.0: where they would be placed anyway, as no panel has tick
    # labels on top), which spares measuring every axis to place them
    for ax, name in zip(axes, names):
        label, unit = LABELS[name]
        ax.plot(_col(ts, "week"), _col(ts, name), color="C0", label="scenario" if baseline is not None else None)
        if baseline is not None:
            ax.plot(_col(baseline, "week"), _col(baseline, name), color="0.4", ls="--", label="baseline (same seed)")
            if name == names[0]:
                ax.legend(fontsize=7)
        ax.set_title(label, fontsize=10, y=1.0)
        ax.set_xlabel("week")
        ax.set_ylabel(unit, fontsize=8)
        ax.grid(alpha=0.3)
    ax = axes[len(names)]
    if extra and len(_col(demography, "week")):
        for col, c in MOVES:
            ax.plot(_col(demography, "week"), _col(demography, col).cumsum(), label=col.replace("_", " "), color=c)
        ax.set_title("Population change (cumulative residents)", fontsize=10, y=1.0)
        ax.set_xlabel("week")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    else:
        ax.axis("off")
    fig.suptitle(title, fontsize=12)
    fig.text(0.01, 0.002, "Source: integration-sim synthetic population from ONS Census 2021; see docs/parameters.md",
             fontsize=7, color="0.4")
    fig.savefig(path, dpi=DPI, pil_kwargs={"compress_level": 1})  # zlib's fastest: 5% larger, 40% less time


def _col(table, name) -> np.ndarray:
    return np.asarray(table[name])
