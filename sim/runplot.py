"""The figure of one run (indicators.png), drawn from its weekly table."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sim.indicators import LABELS  # noqa: E402


def plot_run(ts, path, title: str, demography=None, baseline=None) -> None:
    """Each indicator over the weeks of one run (and the paired baseline, dashed), plus the population's moves."""
    names = list(LABELS)
    extra = demography is not None
    n_panels = len(names) + 1  # every indicator, then the population's moves
    cols = 3
    rows = -(-n_panels // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(13, 3.3 * rows))
    # fixed margins: a constrained layout would take half the time of the figure (about 1 s), for like panels
    fig.subplots_adjust(left=0.06, right=0.985, bottom=0.05, top=0.94, wspace=0.28, hspace=0.42)
    for ax, name in zip(axes.flat, names):
        label, unit = LABELS[name]
        ax.plot(ts["week"], ts[name], color="C0", label="scenario" if baseline is not None else None)
        if baseline is not None:
            ax.plot(baseline["week"], baseline[name], color="0.4", ls="--", label="baseline (same seed)")
            if name == names[0]:
                ax.legend(fontsize=7)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("week")
        ax.set_ylabel(unit, fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(names) + 1:]:
        ax.axis("off")
    ax = axes.flat[len(names)]
    if extra and len(demography):
        for col, c in (("births", "C2"), ("deaths", "C3"), ("moved_in", "C0"), ("moved_out", "C1"),
                       ("international_arrivals", "C4")):
            ax.plot(demography["week"], demography[col].cumsum(), label=col.replace("_", " "), color=c)
        ax.set_title("Population change (cumulative residents)", fontsize=10)
        ax.set_xlabel("week")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    else:
        ax.axis("off")
    fig.suptitle(title, fontsize=12)
    fig.text(0.01, 0.002, "Source: integration-sim synthetic population from ONS Census 2021; see docs/parameters.md",
             fontsize=7, color="0.4")
    fig.savefig(path, dpi=110)
    plt.close(fig)
