"""Speed and memory benchmark: ``make bench``. Prints figures; asserts nothing (speed is never a unit test).

1. Bradford at scale 1.0 (every resident, ~546k), 104 weeks, vectorised engine: setup seconds, run seconds,
   ns per resident-week, peak memory (each in a fresh process, so peak memory is the run's own).
2. The same run with the ``balanced`` funding scenario, and its time relative to the baseline run.
3. The same rules through engine=agents on a smaller population, and the ratio per resident-week.
4. The default `make run` job (every scenario x five areas x 10 seeds at scale 0.05), from scratch: wall time.
5. Throughput: runs per minute on all cores for Bradford at scale 0.1 (104 weeks, baseline and balanced).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

CHILD = r"""
import json, resource, sys, time
from sim.model import IntegrationModel
area, scale, weeks, engine, scenario = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
t0 = time.perf_counter()
m = IntegrationModel(area=area, scale=scale, seed=1, weeks=weeks, engine=engine, scenario=scenario)
t1 = time.perf_counter()
m.run()
t2 = time.perf_counter()
rw = sum(m.timeseries()["n_residents"].iloc[1:])
print(json.dumps({"area": area, "scale": scale, "weeks": weeks, "engine": engine, "n": m.pop.n, "spend": m.spend_gbp,
                  "setup_s": t1 - t0, "run_s": t2 - t1, "resident_weeks": int(rw),
                  "ns_per_resident_week": (t2 - t1) / max(rw, 1) * 1e9,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(area, scale, weeks, engine, scenario="baseline") -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, area, str(scale), str(weeks), engine, scenario],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--area", default="bradford")
    ap.add_argument("--weeks", type=int, default=104)
    ap.add_argument("--agents-scale", type=float, default=0.01)
    ap.add_argument("--agents-weeks", type=int, default=8)
    ap.add_argument("--quick", action="store_true", help="only the single-run figures (1-3)")
    args = ap.parse_args()
    measure(args.area, 0.002, 9, "vectorised")  # warm the compiled kernels' cache (every kernel runs by week 8)
    t = time.perf_counter()
    v = measure(args.area, 1.0, args.weeks, "vectorised")
    wall = time.perf_counter() - t
    print(f"vectorised engine, {args.area} scale 1.0 ({v['n']:,} residents), {args.weeks} weeks")
    print(f"  setup            {v['setup_s']:8.2f} s")
    print(f"  run              {v['run_s']:8.2f} s   ({v['run_s'] / args.weeks * 1000:.0f} ms a week)")
    print(f"  setup + run      {v['setup_s'] + v['run_s']:8.2f} s   (process wall time incl. imports {wall:.2f} s)")
    print(f"  per resident-week {v['ns_per_resident_week']:7.0f} ns")
    print(f"  peak memory      {v['peak_mb']:8.0f} MB")
    s = measure(args.area, 1.0, args.weeks, "vectorised", "balanced")
    print(f"scenario=balanced (GBP {s['spend'] / 1e6:.1f}m spent), same run: setup {s['setup_s']:.2f} s, "
          f"run {s['run_s']:.2f} s, in all {s['setup_s'] + s['run_s']:.2f} s = "
          f"{(s['setup_s'] + s['run_s']) / (v['setup_s'] + v['run_s']):.2f}x the baseline's; "
          f"peak {s['peak_mb']:.0f} MB")
    a = measure(args.area, args.agents_scale, args.agents_weeks, "agents")
    print(f"agents engine (Resident.step), {args.area} scale {args.agents_scale} ({a['n']:,} residents), "
          f"{args.agents_weeks} weeks")
    print(f"  setup {a['setup_s']:.2f} s, run {a['run_s']:.2f} s, per resident-week {a['ns_per_resident_week']:.0f} ns")
    print(f"speed-up of the vectorised engine per resident-week: "
          f"{a['ns_per_resident_week'] / v['ns_per_resident_week']:.0f}x")
    if args.quick:
        return
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sim", "experiment=compare_scenarios", "progress=false",
                        f"hydra.run.dir={tmp}/main"], check=True, capture_output=True)
        wall = time.perf_counter() - t
        print(f"default job (make run: 7 scenarios x 5 areas x 16 replicates, 8 parameter sets, scale 0.05, 104 weeks; "
              f"560 runs) from "
              f"scratch: {wall:.0f} s ({wall / 60:.1f} min) on {os.cpu_count()} cores")
        sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
        from experiments.runner import build_specs, run_all

        specs = build_specs(["bradford"], {"baseline": "baseline", "balanced": "balanced"}, 4, 1, 0.1, 104, {}, {})
        timing = run_all(specs, __import__("pathlib").Path(tmp) / "throughput", progress=False)
        print(f"throughput, Bradford at scale 0.1 (~55k residents), 104 weeks: {len(specs)} runs in "
              f"{timing['wall_s']:.1f} s = {len(specs) / timing['wall_s'] * 60:.1f} runs per minute on "
              f"{timing['workers']} cores")


if __name__ == "__main__":
    main()
