"""The figure of one run (indicators.png), drawn from its weekly table.

Drawn straight on an Agg canvas (no pyplot, no global backend), and matplotlib is imported only when a figure is
drawn: whatever imports this module does not wait for it. The command line draws it in a helper process
(:class:`Drawer`) started with the run, which imports matplotlib on the other core while the model is set up and
draws while this process writes the run's other files.
"""

from __future__ import annotations

import os
import pathlib
import pickle
import subprocess
import sys

import numpy as np

DPI = 100  # 1300 x 1320 pixels: every label readable at 100%
MOVES = (("births", "C2"), ("deaths", "C3"), ("moved_in", "C0"), ("moved_out", "C1"), ("international_arrivals", "C4"))


def plot_run(ts, path, title: str, demography=None, baseline=None, labels: dict | None = None) -> None:
    """Each indicator over the weeks of one run (and the paired baseline, dashed), plus the population's moves.
    The tables: data frames, or mappings of column name to values; ``labels``: ``indicators.LABELS``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if labels is None:
        from sim.indicators import LABELS as labels
    names = list(labels)
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
        label, unit = labels[name]
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


def plot_msoa_map(msoa, path, title: str, ons_code: str) -> None:
    """Where the outcomes are (msoa_map.png): per MSOA, poor English at week 0, and at the last week employment
    and bridging ties; for a funded run, the paired difference from the baseline at the last week instead."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from sim.places import maps

    week = _col(msoa, "week")
    first, last = week == week.min(), week == week.max()

    def share(num, den, at):
        n, d = _col(msoa, num)[at], _col(msoa, den)[at]
        return np.where(d > 0, n / np.where(d > 0, d, 1), np.nan)

    panels = [(share("poor_english", "aged_3plus", first), "Cannot speak English well or at all, week 0",
               "share of residents aged 3+", False, "{:.0%}")]
    if "residents_baseline" in _columns(msoa):
        for num, den, what, sign in (("poor_english", "aged_3plus", "Lifted out of poor English", -1),
                                     ("employed_16_64", "aged_16_64", "More in work (16-64)", 1)):
            d = sign * (share(num, den, last) - share(num + "_baseline", den + "_baseline", last))
            panels.append((1000 * d, f"{what} than the baseline, week {int(week.max())}", "per 1,000 residents",
                           True, "{:+.1f}"))
        d = (share("bridging_tie_ends", "tie_ends", last)
             - share("bridging_tie_ends_baseline", "tie_ends_baseline", last))
        panels.append((100 * d, f"Bridging ties: more than the baseline, week {int(week.max())}", "percentage points",
                       True, "{:+.2f}"))
    else:
        panels += [(share("employed_16_64", "aged_16_64", last), f"Employment rate, week {int(week.max())}",
                    "share of residents aged 16-64", False, "{:.0%}"),
                   (share("bridging_tie_ends", "tie_ends", last), f"Bridging ties, week {int(week.max())}",
                    "share of ties meeting monthly", False, "{:.0%}")]
    fig = Figure(figsize=(5.2 * len(panels), 5.2))
    FigureCanvasAgg(fig)
    for i, (values, name, label, diverging, fmt) in enumerate(panels):
        maps.draw(fig.add_subplot(1, len(panels), i + 1), ons_code, values, name, label, diverging, fmt)
    fig.suptitle(title + " (by MSOA)", fontsize=11)
    fig.text(0.01, 0.01, "Boundaries: ONS MSOA (December 2021), super generalised; outcomes: integration-sim",
             fontsize=7, color="0.4")
    fig.savefig(path, dpi=DPI, pil_kwargs={"compress_level": 1})


def _col(table, name) -> np.ndarray:
    return np.asarray(table[name])


def _columns(table) -> dict | None:
    return None if table is None else {str(c): np.asarray(table[c]) for c in table.columns}


class Drawer:
    """A helper process that draws one run's figure: started before the model is set up (it imports matplotlib
    meanwhile, on the other core), given the tables when the weeks are done (:meth:`draw`), and waited for
    (:meth:`wait`) before the run's files are moved into place. If it cannot be started or fails, the figure is
    drawn here instead: the same file either way."""

    def __init__(self):
        root = str(pathlib.Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
        try:
            self._proc = subprocess.Popen([sys.executable, "-c", "from sim.runplot import _serve; _serve()"],
                                          stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE, env=env)
        except OSError:
            self._proc = None
        self._job = None

    def draw(self, ts, path, title: str, demography=None, baseline=None, msoa_map=None) -> None:
        """Hand the figures to the helper (or remember them, to draw here if the helper is not there).
        ``msoa_map``: (the MSOA table, the map's path, the area's ONS code)."""
        from sim.indicators import LABELS

        self._job = (ts, pathlib.Path(path), title, demography, baseline, msoa_map)
        if self._proc is None:
            return
        payload = {"ts": _columns(ts), "path": str(path), "title": title, "demography": _columns(demography),
                   "baseline": _columns(baseline), "labels": dict(LABELS),
                   "map": None if msoa_map is None else (_columns(msoa_map[0]), str(msoa_map[1]), msoa_map[2])}
        try:
            self._proc.stdin.write(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
            self._proc.stdin.close()
        except OSError:  # the helper is gone: drawn here by wait()
            self.close()

    def wait(self) -> None:
        """The figure is written when this returns (by the helper, or here if it failed)."""
        if self._job is None:
            return
        ok = False
        if self._proc is not None:
            self._proc.stderr.read()  # (what it said, if it failed: the figure is drawn here instead)
            ok = self._proc.wait() == 0 and self._job[1].exists() and (
                self._job[5] is None or pathlib.Path(self._job[5][1]).exists())
            self._release()
        if not ok:
            ts, path, title, demography, baseline, msoa_map = self._job
            plot_run(ts, path, title, demography, baseline)
            if msoa_map is not None:
                plot_msoa_map(msoa_map[0], msoa_map[1], title, msoa_map[2])
        self._job = None

    def close(self) -> None:
        """Stop the helper if it is still there (a run that ends without a figure)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._release()

    def _release(self) -> None:
        for f in (self._proc.stdin, self._proc.stderr):
            if f is not None and not f.closed:
                f.close()
        self._proc = None


def _serve() -> None:
    """The helper process: import matplotlib at once, then draw the figure it is sent on stdin (nothing: exit)."""
    import matplotlib.backends.backend_agg  # noqa: F401  (the import this process is started early for)
    import matplotlib.figure  # noqa: F401

    data = sys.stdin.buffer.read()
    if not data:
        return
    job = pickle.loads(data)
    plot_run(job["ts"], job["path"], job["title"], job["demography"], job["baseline"], labels=job["labels"])
    if job["map"] is not None:
        plot_msoa_map(job["map"][0], job["map"][1], job["title"], job["map"][2])
    # the figure is written and closed: leave without tearing matplotlib's objects and modules down one by one
    # (about 0.1 s, which the run waits for)
    sys.stderr.flush()
    os._exit(0)
