"""Maps of where a study's outcomes are (``msoa_<area>.png``), drawn from msoa.csv's table alone (never by running a
model), and the report's section that shows them: per area, where poor English (and work, and bridging ties) stand
at week 0, and where each funded scenario's gains land, per 1,000 residents of each MSOA."""

from __future__ import annotations

import base64
import html

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from experiments.figures import _label, _save  # noqa: E402
from sim.places import maps, places  # noqa: E402

# (share at week 0, its title), then (the gain, its title): the study's headline outcomes (sim.costs.OUTCOMES)
LEVELS = (("poor_english_share", "poor English (aged 3+)"), ("employment_rate", "in work (aged 16-64)"),
          ("bridging_tie_share", "bridging ties (met monthly)"))
GAINS = (("residents_lifted_out_of_poor_english", "lifted out of poor English"),
         ("extra_people_in_work", "extra people in work"), ("extra_bridging_ties", "extra bridging ties"))
MAP_SOURCE = ("Source: integration-sim (synthetic residents from ONS Census 2021; parameters and sources in "
              "docs/parameters.md). Boundaries: ONS MSOA (December 2021), super generalised. Medians across replicates "
              "(msoa.csv has the 10th-90th percentiles).")


def noise_note(scale: float) -> str:
    """What one simulated person stands for: why an MSOA's gain at a sample scale is noisy."""
    return (f"At scale {scale:g} one simulated person stands for {1 / scale:,.0f} residents, so a gain per MSOA "
            "is a few simulated people and noisy: read the pattern across MSOAs and the area's total, not one "
            "MSOA's number.")


def msoa_figures(table, out, study) -> list[tuple[str, str, str]]:
    """One map figure per area (PNG and SVG in ``out``): week 0's levels in the top row, then one row per funded
    scenario with its median gains per 1,000 residents (colours shared down each column, so scenarios compare);
    returns (title, png file, caption) per area for the report."""
    figs = []
    scale = float(study.get("scale") or 1.0)
    for area, a in table.groupby("area", sort=False):
        ons = str(a["ons_code"].iloc[0])
        codes = places(ons).codes
        scenarios = list(dict.fromkeys(a["scenario"]))
        funded = [s for s in scenarios if s != "baseline" and "residents_lifted_out_of_poor_english" in a
                  and a.loc[a["scenario"] == s, "residents_lifted_out_of_poor_english"].notna().any()]
        first = a[(a["week"] == a["week"].min()) & (a["scenario"] == scenarios[0])].set_index("msoa").reindex(codes)
        last = a[a["week"] == a["week"].max()]
        fig, axes = plt.subplots(1 + len(funded), 3, figsize=(13, 3.5 * (1 + len(funded)) + 0.7),
                                 constrained_layout=True, squeeze=False)
        foot = 0.45 / fig.get_figheight()  # (room for the source's two lines under the maps)
        fig.get_layout_engine().set(rect=(0, foot, 1, 1 - foot))
        for ax, (col, what) in zip(axes[0], LEVELS):
            maps.draw(ax, ons, first[col].to_numpy(float), f"Week 0: {what}", "share of residents" if col !=
                      "bridging_tie_share" else "share of ties", fmt="{:.0%}")
        per_1000 = {s: last[last["scenario"] == s].set_index("msoa").reindex(codes) for s in funded}
        per_1000 = {s: {g: 1000 * d[g].to_numpy(float) / np.where(d["residents"] > 0, d["residents"], np.nan)
                        for g, _ in GAINS} for s, d in per_1000.items()}
        for j, (gain, what) in enumerate(GAINS):
            values = [v[gain] for v in per_1000.values()]
            span = max((np.nanmax(np.abs(v)) for v in values if np.isfinite(v).any()), default=0.0) or 1.0
            for i, s in enumerate(funded, start=1):
                shapes = maps.draw(axes[i, j], ons, per_1000[s][gain], f"{s}: {what}, week {int(a['week'].max())}",
                                   "", diverging=True, span=span, colorbar=False)
            if funded:  # one colour bar a column: the scenarios share its scale
                bar = fig.colorbar(shapes, ax=list(axes[1:, j]), shrink=0.9 / len(funded) ** 0.5, aspect=25)
                bar.set_label("per 1,000 residents (vs baseline)", fontsize=8)
                bar.ax.yaxis.set_major_formatter(lambda x, _pos: f"{x:+.1f}")
        fig.suptitle(f"{_label(area)} by MSOA: where poor English is at week 0 and where each scenario's gains land "
                     f"(medians of {int(a['replicates'].max())} paired replicates, scale {scale:g})", fontsize=12)
        name = _save(fig, out, f"msoa_{area}", source=MAP_SOURCE + " " + noise_note(scale))
        _palette(out / name)
        figs.append((f"{_label(area)}: where the gains land", name,
                     "Top row: each MSOA's share at week 0 (median across replicates). Below, one row per funded "
                     "scenario: its median paired gain over the baseline per 1,000 of the MSOA's residents, residents "
                     "lifted out of poor English, extra people in work (16-64) and extra bridging ties; blue more, red "
                     "fewer, one colour scale down each column. msoa.csv has the numbers with their 10-90% intervals."))
    return figs


def _palette(path) -> None:
    """The map's PNG with 256 colours: flat fills, two colour ramps and text need no more, at 40% of the bytes (the
    report embeds every map)."""
    from PIL import Image

    with Image.open(path) as im:
        small = im.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def section_html(figs, study, out_dir) -> list[str]:
    """The report's sections on where the outcomes are: one per area, after the headline and findings."""
    if not figs:
        return []
    scale = float(study.get("scale") or 1.0)
    note = ("Each map shows the area's MSOAs (its real neighbourhoods, Census 2021): along the top, where poor "
            "English, work and bridging ties stand at week 0; below, for each funded scenario, where its gains over "
            "the baseline land by the end of the run (median of the paired gain per MSOA, per 1,000 residents). "
            "msoa.csv has every MSOA's levels and gains (area-equivalent counts, the same definitions as the "
            "headline's gains, so an area's MSOAs add up to its gain run by run) with their 10-90% intervals (10th "
            "to 90th percentile across the paired replicates, as everywhere in this report); msoa_runs.parquet has "
            f"every run's counts. {noise_note(scale)}")
    parts = []
    for title, png, caption in figs:
        data = base64.b64encode((out_dir / png).read_bytes()).decode()
        parts += [f"<h2>{html.escape(title)}</h2>", f"<p class='note'>{html.escape(note)}</p>",
                  f"<figure><img alt='{html.escape(title)}' src='data:image/png;base64,{data}'><figcaption>"
                  f"{html.escape(caption)} (also {html.escape(png.replace('.png', '.svg'))})</figcaption></figure>"]
    return parts
