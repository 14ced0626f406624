"""Compile the model's kernels into numba's on-disk cache, once, so that no later run waits for the compiler
(``make`` runs this when it installs: about 7 s; a run that finds a kernel missing compiles it itself).

The cache lives beside the code (``__pycache__``) and is keyed by numba to each kernel's source and argument
types: an edited kernel is compiled afresh when it is next called. Small runs suffice, as the types do not depend
on the size; the contact pass is taken through both its paths (small networks, and the chunked pass of large ones,
here at a small size).
"""

from __future__ import annotations

import logging
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))


def main() -> None:
    t = time.perf_counter()
    from sim.model import IntegrationModel
    from sim.processes import contact

    logging.getLogger("MESA").setLevel(logging.WARNING)
    chunked = contact.CHUNKED
    # small networks take one path, large ones another (the chunked pass): both, with and without programmes
    for contact.CHUNKED in (chunked, 0):
        for engine, scale, weeks in (("vectorised", 0.01, 9), ("agents", 0.002, 2)):
            for scenario in ("baseline", "balanced"):
                m = IntegrationModel(area="walsall", scale=scale, seed=1, weeks=weeks, scenario=scenario,
                                     engine=engine)
                m.run()
                m.release()
    contact.CHUNKED = chunked
    # a scenario started from another run's week-0 state takes that run's draws, kept read-only (numba compiles a
    # kernel apart for read-only arrays)
    first = IntegrationModel(area="walsall", scale=0.01, seed=1, weeks=9, scenario="baseline")
    start = first.week_zero()
    first.run()
    IntegrationModel(area="walsall", scale=0.01, seed=1, weeks=9, scenario="balanced", start=start).run()
    print(f"the model's compiled kernels are in numba's cache ({time.perf_counter() - t:.1f} s)")


if __name__ == "__main__":
    main()
