"""mesa.batch_run gives each run's final week and its seed (issue 32): the model records week 0 as well, so its
step count and DataCollector must agree for Mesa to read the last row as the final week."""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import mesa

from sim.model import IntegrationModel

PARAMS = {"area": "walsall", "scale": 0.003, "weeks": 3, "scenario": "english_first"}


def _final(seed):
    m = IntegrationModel(**PARAMS, seed=seed)
    m.run()
    ts = m.timeseries()
    m.release()
    return ts


def test_batch_run_ends_on_the_final_week_with_each_runs_seed():
    rows = mesa.batch_run(IntegrationModel, {**PARAMS, "seed": [4, 5]}, number_processes=1, display_progress=False)
    assert [(r["Step"], r["seed"]) for r in rows] == [(3, 4), (3, 5)]
    for r in rows:
        ts = _final(r["seed"])
        last, before = (ts.drop(columns="week").iloc[i].to_dict() for i in (-1, -2))
        assert last != before  # (so the week before the last would not pass)
        assert {k: r[k] for k in last} == last
    # fresh seeds: each row carries the seed drawn, which repeats the run
    fresh = mesa.batch_run(IntegrationModel, PARAMS, iterations=2, number_processes=1, display_progress=False)
    assert len({r["seed"] for r in fresh}) == 2 and all(r["Step"] == 3 for r in fresh)
    for r in fresh:
        last = _final(r["seed"]).drop(columns="week").iloc[-1].to_dict()
        assert {k: r[k] for k in last} == last


def test_every_collected_row_is_the_week_it_is_labelled():
    rows = mesa.batch_run(IntegrationModel, {**PARAMS, "seed": 7}, data_collection_period=1, number_processes=1,
                          display_progress=False)
    ts = _final(7)
    assert [r["Step"] for r in rows] == list(range(4))
    assert [{k: r[k] for k in ts.columns if k != "week"} for r in rows] == ts.drop(columns="week").to_dict("records")
    m = IntegrationModel(**PARAMS, seed=7)
    m.run()
    assert m.steps == m.week_no + 1 == 4 and "seed" not in m.timeseries()  # (the timeseries is as before)
    m.release()


def test_batch_run_in_two_processes_under_a_main_guard_finishes(tmp_path):
    script = tmp_path / "batch.py"
    script.write_text(textwrap.dedent(f"""
        import json
        import mesa
        from sim.model import IntegrationModel

        if __name__ == "__main__":  # Mesa starts its workers with 'spawn': each imports this file again
            rows = mesa.batch_run(IntegrationModel, {PARAMS!r}, iterations=2, number_processes=2,
                                  display_progress=False)
            print(json.dumps([[r["Step"], str(r["seed"])] for r in rows]))
        """))
    root = str(pathlib.Path(__file__).resolve().parent.parent)  # (this checkout's code, in the workers too)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(rows) == 2 and all(step == 3 for step, _ in rows) and len({s for _, s in rows}) == 2
