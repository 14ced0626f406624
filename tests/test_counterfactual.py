"""The no-intervention baseline is a credible counterfactual: over two years nothing moves much on its own.

What does move is modelled and documented (docs/odd.md, "Baseline drift"): ageing of large teenage cohorts into
working age, new arrivals settling in without ties, international arrivals placed across neighbourhoods.
"""

import numpy as np
import pytest

from sim.model import IntegrationModel

LIMITS = {"poor_english_share": 0.005, "employment_rate": 0.015, "bridging_tie_share": 0.012,
          "isolation_share": 0.02, "intergroup_attitude": 0.005, "residential_dissimilarity": 0.035,
          "ties_per_resident": 0.4}


@pytest.mark.slow
@pytest.mark.parametrize("area", ["bradford", "waltham_forest"])
def test_baseline_holds_steady_over_two_years(area):
    deltas = []
    for seed in range(2):
        m = IntegrationModel(area=area, scale=0.05, seed=seed, weeks=104)
        m.run()
        ts = m.timeseries()
        deltas.append({k: ts[k].iloc[-1] - ts[k].iloc[0] for k in LIMITS})
        m.release()
    for k, lim in LIMITS.items():
        d = np.mean([x[k] for x in deltas])
        assert abs(d) < lim, (area, k, d)
