"""Cost per outcome of a scenario against the baseline run on the same seed (a paired comparison).

Counts are area-equivalent (simulated counts / scale) and spend is area-equivalent pounds, so the ratios read
the same at any scale. A single run's ratio is reported only when the scenario did better than the baseline on that
outcome (otherwise the entry is None, with the difference shown); a study's, only for a gain that is there
(:func:`why_no_cost`).
"""

from __future__ import annotations

from sim.indicators import INDICATORS

OUTCOMES = (
    # (name of the gain, count column, sign: +1 if more is better)
    ("residents_lifted_out_of_poor_english", "n_poor_english", -1),
    ("extra_people_in_work", "n_employed_16_64", +1),
    ("extra_bridging_ties", "n_bridging_ties", +1),
)
RATIO_NAMES = {
    "residents_lifted_out_of_poor_english": "gbp_per_resident_lifted_out_of_poor_english",
    "extra_people_in_work": "gbp_per_extra_person_in_work",
    "extra_bridging_ties": "gbp_per_extra_bridging_tie",
}


NO_GAIN = "no gain over baseline"
ONE_REPLICATE = "one replicate, so no interval to tell the gain from chance"
INCLUDES_ZERO = "gain's 10-90% interval includes zero"
BELOW_ONE = "gain below one simulated person"
LOW_BELOW_ONE = "gain's 10-90% interval reaches below one simulated person"
SURE = 0.9  # the share of paired replicates whose gain must be above zero: the 10-90% band, counted, not interpolated


def why_no_cost(gains, scale: float, spend: float, p10: float | None = None) -> str | None:
    """Why a gain (area-equivalent, one value per paired replicate) has no cost per outcome, or None if it has one.
    Dividing the spend by a gain that chance alone could give, or by less than one simulated person scaled up,
    showed costs on gains that are not there. Whether the gain is above zero is counted over the replicates (at
    least 90% of them), not read off an interpolated 10th percentile: with four replicates gains of 1, 3, 1 and 0
    simulated people interpolate to a 10th percentile above zero. ``p10``: the interval's low end as shown (the
    cost's high end divides by it), which must be at least one simulated person."""
    import numpy as np

    g = np.asarray(gains, dtype=float)
    g = g[np.isfinite(g)]
    if not spend > 0:
        return "nothing spent"
    if not len(g) or not np.median(g) > 0:
        return NO_GAIN
    if len(g) < 2:
        return ONE_REPLICATE
    one = 1 / scale - 1e-9  # one simulated person, area-equivalent
    if np.median(g) < one:
        return BELOW_ONE
    if (g > 0).mean() < SURE - 1e-9:
        return INCLUDES_ZERO
    if p10 is not None and p10 < one:
        return LOW_BELOW_ONE
    return None


def compare(scenario_final: dict, baseline_final: dict, spend_gbp: float, scale: float) -> dict:
    out = {"spend_gbp": float(spend_gbp)}
    for gain, col, sign in OUTCOMES:
        g = sign * (scenario_final[col] - baseline_final[col]) / scale
        out[gain] = float(g)
        out[RATIO_NAMES[gain]] = float(spend_gbp / g) if g > 0 and spend_gbp > 0 else None
    return out


def differences(scenario_final: dict, baseline_final: dict) -> dict:
    """Scenario minus baseline for every indicator at the end of the run."""
    return {k: float(scenario_final[k] - baseline_final[k]) for k in INDICATORS}
