"""Regenerate the stored regression baseline (tests/baseline.json) on purpose: ``make baseline``.

Runs fixed, small configurations on fixed seeds and stores their summary figures. The regression test reruns them
and compares within tolerances; regenerate only when a change in behaviour is intended (and say so in the commit).
"""

from __future__ import annotations

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.indicators import EXTRA, INDICATORS  # noqa: E402
from sim.model import IntegrationModel  # noqa: E402

CASES = [
    {"area": "blackburn_with_darwen", "scale": 0.02, "seed": 11, "weeks": 52},
    {"area": "bradford", "scale": 0.01, "seed": 12, "weeks": 52},
    {"area": "peterborough", "scale": 0.02, "seed": 13, "weeks": 52},
    {"area": "walsall", "scale": 0.02, "seed": 14, "weeks": 52},
    {"area": "waltham_forest", "scale": 0.02, "seed": 15, "weeks": 52},
]
KEYS = tuple(k for k in INDICATORS + EXTRA if k != "spend_gbp")


def figures(case: dict) -> dict:
    m = IntegrationModel(**case)
    start = {k: float(m.current[k]) for k in KEYS}
    m.run()
    end = {k: float(m.current[k]) for k in KEYS}
    m.release()
    return {"case": case, "initial": start, "final": end}


def main() -> None:
    out = [figures(c) for c in CASES]
    path = ROOT / "tests" / "baseline.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path.relative_to(ROOT)} ({len(out)} cases)")


if __name__ == "__main__":
    main()
