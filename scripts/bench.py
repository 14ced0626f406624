"""Speed and memory benchmark: ``make bench``. Prints figures; asserts nothing (speed is never a unit test).

1. Bradford at scale 1.0 (every resident, ~546k), 104 weeks, vectorised engine: setup seconds, run seconds,
   ns per resident-week, peak memory (each in a fresh process, so peak memory is the run's own); and the set-up
   of every area at 1:1.
2. The same run with the ``balanced`` funding scenario, and its time relative to the baseline run.
3. The same rules through engine=agents on a smaller population, and the ratio per resident-week.
   Then where a week goes: each part's wall time in the week's own thread (the contact pass on a second thread).
4. The command end to end, ``python -m sim area=bradford scale=1.0 weeks=104``, from the shell prompt to the last
   file written, by phase: imports, set-up, the weeks, writing (what is left).
5. The default `make run` job (every scenario x five areas x 16 replicates at scale 0.05), from scratch: wall time.
6. Throughput of a study at scale 0.05 (Walsall, 7 scenarios): runs per minute with local worker processes and
   through Ray (a Ray of this machine, ``study.launcher=ray``); and, from the 1:1 figures, the projected time of a
   researcher's full-scale study (every resident, 50 parameter sets x 7 scenarios x 5 areas) on N cores.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

CHILD = r"""
import json, resource, sys, time
from sim.speed import keep_freed_memory
keep_freed_memory()  # as python -m sim does
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


PARTS = r"""
import collections, dataclasses, functools, json, sys, threading, time
from sim import model as M, engines as E, network
from sim.speed import background
from sim.processes import contact, ties, demography, COLUMN_RULES
area, scale, weeks = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
T = collections.defaultdict(float)  # the week's own thread
S = collections.defaultdict(float)  # the second thread, meanwhile
def timed(label, f):
    @functools.wraps(f)
    def g(*a, **k):
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            (T if threading.current_thread() is threading.main_thread() else S)[label] += time.perf_counter() - t
    return g
# each part's wall time in the thread that ran it. The everyday contact pass runs its chunks and the drawing of new
# ties on both threads (whichever is free); 'waiting for the second thread' is what the week's thread waits once it
# has nothing left to take
contact.Pass.result = timed("waiting for the second thread (contact pass)", contact.Pass.result)
contact.Pass.side_results = timed("waiting for the second thread (contact pass)", contact.Pass.side_results)
contact.meet_chunk = timed("contact: a chunk of the everyday ties", contact.meet_chunk)
contact.Pass.__init__ = timed("contact: starting the pass", contact.Pass.__init__)
ties.new_ties = timed("ties: new ties drawn", ties.new_ties)
network.ContactNetwork.add = timed("ties: added and faded", network.ContactNetwork.add)
network.ContactNetwork.remove = timed("ties: added and faded", network.ContactNetwork.remove)
M.demography.step = timed("demography: births, deaths, moves (with their agents)", M.demography.step)
M.IntegrationModel._reindex = timed("re-indexing settings (every 4 weeks)", M.IntegrationModel._reindex)
M.IntegrationModel._collect = timed("indicators and the DataCollector", M.IntegrationModel._collect)
_run = background.Later._run
# (the contact pass's own job is not timed as a whole: its pieces are, above)
background.Later._run = lambda self, fn, args: (_run if getattr(fn, "__self__", None).__class__ is contact.Pass else
                                                timed(f"background: {getattr(fn, '__name__', 'a pass')}", _run))(
                                                    self, fn, args)
E.COLUMN_RULES = tuple(dataclasses.replace(r, step=timed(f"rule: {r.name}", r.step),
                                           draws=r.draws and timed(f"rule: {r.name}", r.draws),
                                           commit=r.commit and timed(f"rule: {r.name}", r.commit),
                                           prepare=r.prepare and timed(f"rule: {r.name}", r.prepare))
                       for r in COLUMN_RULES)
m = M.IntegrationModel(area=area, scale=scale, seed=1, weeks=weeks)
T.clear(); S.clear()  # (the first indicators are part of the set-up)
t = time.perf_counter()
m.run()
total = time.perf_counter() - t
# on the week's thread, the chunks and new ties it takes itself are inside the wait for the contact pass: counted
# as themselves, not as waiting (the network passes' waits are inside demography, re-indexing and the indicators)
main = dict(T)
inside = main.get("contact: a chunk of the everyday ties", 0.0) + main.get("ties: new ties drawn", 0.0)
main["waiting for the second thread (contact pass)"] -= inside
main["the rest (week set-up, ageing, other)"] = total - sum(v for k, v in main.items())
print(json.dumps({"total_ms": total / weeks * 1e3, "parts_ms": {k: v / weeks * 1e3 for k, v in main.items()},
                  "second_ms": {k: v / weeks * 1e3 for k, v in S.items()}}))
"""


# ``python -m sim`` (sim/__main__.py, the same steps) with each phase timed in the process itself
PHASES = r"""
import json, sys, time
t0 = time.perf_counter()
import gc
gc.disable()
from sim.speed import keep_freed_memory
keep_freed_memory()
from cli.main import main
t_imp = time.perf_counter()
gc.freeze()
gc.enable()
import sim.model as SM, sim.results as SR, sim.runplot as RP
spans = {}
def wrap(obj, name, label):
    f = getattr(obj, name)
    def g(*a, **k):
        s = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            spans.setdefault(label, []).append((s - t0, time.perf_counter() - t0))
    setattr(obj, name, g)
for obj, name, label in ((SM.IntegrationModel, "__init__", "setup"), (SM.IntegrationModel, "run", "weeks"),
                         (SR, "write_run", "writing"), (RP.Drawer, "wait", "figure_wait")):
    wrap(obj, name, label)
out = sys.argv[1]
sys.argv = ["sim", *sys.argv[2:]]
main()
t_end = time.perf_counter() - t0
one = {k: v[0] for k, v in spans.items()}
with open(out, "w") as f:
    json.dump({"imports": t_imp - t0, "config": one["setup"][0] - (t_imp - t0),
               "setup": one["setup"][1] - one["setup"][0], "weeks": one["weeks"][1] - one["weeks"][0],
               "writing": one["writing"][1] - one["writing"][0],
               "figure_wait": one["figure_wait"][1] - one["figure_wait"][0],
               "after": t_end - one["writing"][1], "in_process": t_end}, f)
gc.freeze()
"""


def phases(overrides: list[str], out: str) -> dict:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", PHASES, out, *overrides], check=True, capture_output=True)
    wall = time.perf_counter() - t
    with open(out) as f:
        ph = json.load(f)
    ph["wall"] = wall
    ph["start_exit"] = wall - ph["in_process"]
    return ph


def week_parts(area, scale, weeks) -> dict:
    out = subprocess.run([sys.executable, "-c", PARTS, area, str(scale), str(weeks)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(area, scale, weeks, engine, scenario="baseline") -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, area, str(scale), str(weeks), engine, scenario],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


AREAS = ("blackburn_with_darwen", "bradford", "peterborough", "walsall", "waltham_forest")


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
    areas = [measure(name, 1.0, 1, "vectorised") for name in AREAS]
    print("  set-up of every area at 1:1 (the MSOA synthesis and the schools' allocation included): "
          + ", ".join(f"{x['area']} {x['setup_s']:.2f} s ({x['n']:,})" for x in areas))
    w = week_parts(args.area, 1.0, 30)
    print(f"  where a week goes (30 weeks at 1:1, {w['total_ms']:.0f} ms a week; wall time in the week's thread):")
    for k, ms in sorted(w["parts_ms"].items(), key=lambda kv: -kv[1]):
        print(f"    {k:55s} {ms:6.1f} ms")
    print("  and meanwhile on the second thread:")
    for k, ms in sorted(w["second_ms"].items(), key=lambda kv: -kv[1]):
        print(f"    {k:55s} {ms:6.1f} ms")
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

    command = ["-m", "sim", f"area={args.area}", "scale=1.0", f"weeks={args.weeks}", "progress=false"]
    with tempfile.TemporaryDirectory() as tmp:
        e2e = [_wall([sys.executable, *command, f"hydra.run.dir={tmp}/one{k}"]) for k in range(2)]
        ph = phases(command[2:] + [f"hydra.run.dir={tmp}/phases"], f"{tmp}/phases.json")
    print(f"the command end to end (python -m sim area={args.area} scale=1.0 weeks={args.weeks}), from the prompt "
          f"to the last file: {e2e[0]:.1f} s and {e2e[1]:.1f} s")
    print(f"  by phase, in one more run of the same command (its wall time {ph['wall']:.1f} s): imports "
          f"{ph['imports']:.2f} s + the configuration composed and checked, and the model's modules imported "
          f"{ph['config']:.2f} s + set-up "
          f"{ph['setup']:.2f} s + weeks {ph['weeks']:.2f} s + writing {ph['writing']:.2f} s (of it, waiting for the "
          f"figure's helper {ph['figure_wait']:.2f} s) + letting the model go {ph['after']:.2f} s + interpreter "
          f"start and exit {ph['start_exit']:.2f} s")

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sim", "experiment=compare_scenarios", "progress=false",
                        f"hydra.run.dir={tmp}/main"], check=True, capture_output=True)
        wall = time.perf_counter() - t
        print(f"default job (make run: 9 scenarios x 5 areas x 16 replicates, 8 parameter sets, scale 0.05, 104 weeks; "
              f"720 runs) from "
              f"scratch: {wall:.0f} s ({wall / 60:.1f} min) on {os.cpu_count()} cores")
        sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
        from experiments.runner import build_specs, run_all

        specs = build_specs(["bradford"], {"baseline": "baseline", "balanced": "balanced"}, 4, 1, 0.1, 104, {}, {})
        timing = run_all(specs, __import__("pathlib").Path(tmp) / "throughput", progress=False)
        print(f"throughput, Bradford at scale 0.1 (~55k residents), 104 weeks: {len(specs)} runs in "
              f"{timing['wall_s']:.1f} s = {len(specs) / timing['wall_s'] * 60:.1f} runs per minute on "
              f"{timing['workers']} cores")
        scenarios = {n: n for n in ("baseline", "pilot_year_one", "equal_split", "english_first", "contact_first",
                                    "work_first", "balanced")}
        specs = build_specs(["walsall"], scenarios, 6, 2, 0.05, 104, {}, {})
        for launcher in ("local", "ray"):
            started = ""
            try:
                if launcher == "ray":  # started here, so its start-up (not the study's) is timed on its own
                    import ray

                    t = time.perf_counter()
                    ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
                    started = f", after {time.perf_counter() - t:.1f} s starting a Ray of this machine"
                timing = run_all(specs, __import__("pathlib").Path(tmp) / f"study_{launcher}", progress=False,
                                 launcher=launcher)
            except ImportError:
                print(f"study through {launcher}: not installed (pip install -e '.[ray]')")
                continue
            finally:
                if started:
                    ray.shutdown()
            print(f"a study at scale 0.05 (Walsall, 7 scenarios x 6 replicates, 104 weeks) through {launcher}: "
                  f"{len(specs)} runs in {timing['wall_s']:.1f} s = {len(specs) / timing['wall_s'] * 60:.0f} runs "
                  f"per minute on {os.cpu_count()} cores"
                  + (f"{started} (its workers import the model and load its kernels in the study's time)"
                     if started else ""))
    # every resident, 50 parameter sets x 7 scenarios x 5 areas: each area's run scaled from Bradford's by size
    sizes = {"bradford": 546, "waltham_forest": 278, "walsall": 284, "peterborough": 216, "blackburn_with_darwen": 155}
    per_bradford = v["setup_s"] + v["run_s"]
    core_s = 50 * 7 * sum(per_bradford * n / sizes["bradford"] for n in sizes.values())
    print(f"projected full-scale study (50 parameter sets x 7 scenarios x 5 areas at 1:1, {50 * 7 * 5} runs): "
          f"{core_s / 3600:.1f} core-hours; " + ", ".join(f"{_hours(core_s / n)} on {n} cores" for n in (2, 32, 256))
          + " (runs spread evenly; the largest single run sets a floor)")


def _hours(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _wall(cmd) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
