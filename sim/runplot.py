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
    fig, axes = plt.subplots(3, 3, figsize=(13, 10), constrained_layout=True)
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
    ax = axes.flat[-1]
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
