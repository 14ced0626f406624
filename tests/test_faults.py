"""Faults a real user meets: a killed or signalled study, a corrupted or foreign cache file, changed code, changed
optimiser settings, two processes on one folder, and a user's own files in the output folder. Nothing is lost,
nothing stale is reused, nothing half-written looks finished."""

import contextlib
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pandas as pd
import pytest

from experiments.compare import run_study
from sim import files, manifest, provenance

SIM = [sys.executable, "-m", "sim"]
QUICK = ["experiment=quick", "scale=0.01", "weeks=52", "replicates=3", "progress=false"]
TINY = {"name": "tiny", "areas": ["walsall"], "scenarios": {"baseline": "baseline", "balanced": "balanced"},
        "replicates": 2, "seed": 3, "scale": 0.004, "weeks": 6, "model": {}, "interventions": {}, "workers": 1}


def _wait(cond, timeout=120.0, every=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(every)
    return False


def _cached(folder):
    return sorted(folder.glob("runs/*/*.parquet"))


def _marked(marker):
    """Processes still alive that carry the test's marker in their environment (workers included)."""
    out = []
    for env in os.listdir("/proc"):
        if not env.isdigit():
            continue
        try:
            with open(f"/proc/{env}/environ", "rb") as f:
                if marker.encode() in f.read():
                    with open(f"/proc/{env}/stat") as s:
                        if s.read().rsplit(")", 1)[1].split()[0] != "Z":
                            out.append(int(env))
        except OSError:
            continue
    return out


def _start(args, cwd, marker):
    env = {**os.environ, "SIM_TEST_MARKER": marker}
    return subprocess.Popen(SIM + args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _half_written(folder):
    return [p for p in folder.rglob("*") if p.name.startswith(".partial-") or p.name.endswith(".tmp")]


@pytest.mark.slow
@pytest.mark.parametrize("sig, to_group, launcher, times",
                         [(signal.SIGTERM, False, "local", 1), (signal.SIGINT, True, "local", 1),
                          (signal.SIGTERM, False, "submitit_local", 1), (signal.SIGINT, True, "local", 2),
                          (signal.SIGTERM, True, "local", 8), (signal.SIGINT, True, "submitit_local", 1)],
                         ids=["term", "int", "term-submitit", "int-twice", "term-burst", "int-submitit"])
def test_a_signal_stops_a_study_in_seconds_keeps_finished_runs_and_leaves_no_worker(tmp_path, sig, to_group,
                                                                                    launcher, times):
    """Local workers, or the SLURM path's job processes (submitit, whose jobs let SIGTERM pass by themselves): none
    is left running and writing once the study has said what it kept. A double Ctrl-C, or a burst of SIGTERMs to
    the whole group (as a container runtime or a session's end sends), ends it the same way: the later signals
    neither cut the clean-up short nor replace the status on the way out (it was killed by SIGTERM, -15)."""
    out = tmp_path / "study"
    marker = uuid.uuid4().hex
    # (the job processes' study is larger, so that what a job left running would still be at work after the stop)
    where = [] if launcher == "local" else [f"+study.launcher={launcher}", "weeks=104", "replicates=8"]
    runs = 18 if launcher == "local" else 48
    p = _start(QUICK + where + [f"hydra.run.dir={out}"], tmp_path, marker)
    assert _wait(lambda: len(_cached(out)) >= 2), "no run finished"
    t0 = time.monotonic()
    for _ in range(times):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, sig) if to_group else p.send_signal(sig)
        time.sleep(0.01 if sig == signal.SIGTERM else 0.05)
    _, err = p.communicate(timeout=30)
    assert time.monotonic() - t0 < 10
    assert p.returncode == {signal.SIGTERM: 143, signal.SIGINT: 130}[sig], err
    assert "Traceback" not in err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("stopped by") and "kept" in lines[0], err
    assert _wait(lambda: not _marked(marker), timeout=10 if launcher == "local" else 2), "a worker outlived the study"
    assert not _half_written(out)
    kept = len(_cached(out))
    assert 2 <= kept < runs  # (stopped midway: runs were left to do)
    time.sleep(1.0)
    assert len(_cached(out)) == kept  # nothing still writing
    r = subprocess.run(SIM + QUICK + where + [f"hydra.run.dir={out}"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    timing = json.loads((out / "study.json").read_text())["timing"]
    assert timing["reused"] == kept and timing["runs"] == runs


def _catches_sigterm(pid: int) -> bool:
    """Whether the process has a handler of its own for SIGTERM (Python's start-up sets none)."""
    try:
        status = pathlib.Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next((int(x.split()[1], 16) for x in status.splitlines() if x.startswith("SigCgt:")), 0)
    return bool(caught >> (signal.SIGTERM - 1) & 1)


def test_the_first_handler_ends_a_command_at_once_in_one_line():
    code = ("import os, signal, time\nfrom sim import early_stop\nearly_stop.install()\n"
            "os.kill(os.getpid(), signal.SIGTERM)\ntime.sleep(5)\nprint('not stopped')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (143, "", "stopped by SIGTERM before any work\n")


@pytest.mark.parametrize("delay", [0.0, 0.15, 0.3])
def test_a_stop_while_the_command_still_imports_ends_it_in_one_line(tmp_path, delay):
    """Before the command's own handlers are in place (its first few tenths of a second), a Ctrl-C met Python's
    default: a KeyboardInterrupt traceback from inside an import, or one swallowed by an import lock's finaliser,
    after which the study ran to the end and exited 0. (From the moment ``python -m sim`` has its first handler:
    before that it is Python's own start-up.)"""
    out = tmp_path / "study"
    p = _start(QUICK + [f"hydra.run.dir={out}"], tmp_path, uuid.uuid4().hex)
    assert _wait(lambda: _catches_sigterm(p.pid), timeout=30, every=0.002)
    time.sleep(delay)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    lines = [x for x in err.splitlines() if x.strip()]
    assert p.returncode == 130 and len(lines) == 1 and lines[0].startswith("stopped by SIGINT"), (p.returncode, err)
    assert not _cached(out)


@pytest.mark.slow
def test_a_killed_study_resumes_to_the_same_numbers_as_a_clean_one(tmp_path):
    out, clean = tmp_path / "killed", tmp_path / "clean"
    marker = uuid.uuid4().hex
    p = _start(QUICK + [f"hydra.run.dir={out}"], tmp_path, marker)
    assert _wait(lambda: len(_cached(out)) >= 1)
    os.killpg(p.pid, signal.SIGKILL)
    p.communicate(timeout=30)
    assert _wait(lambda: not _marked(marker), timeout=10), "a worker outlived its killed parent"
    # what a kill can leave: a staging folder (even with a summary in it) and a temporary cache file
    (out / ".partial-zzz").mkdir(exist_ok=True)
    (out / ".partial-zzz" / files.STAGED).touch()  # (a staging folder is marked as ours when it is made)
    (out / ".partial-zzz" / "summary.json").write_text("{}")
    cache = _cached(out)[0].parent
    (cache / ".walsall__baseline__rep000.parquet.abc.tmp").write_bytes(b"PAR1 half")
    assert manifest.finished(out) is None  # nothing looks finished
    for d in (out, clean):
        r = subprocess.run(SIM + QUICK + [f"hydra.run.dir={d}"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
    assert (out / "summary.csv").read_bytes() == (clean / "summary.csv").read_bytes()
    pd.testing.assert_frame_equal(pd.read_parquet(out / "tidy.parquet"), pd.read_parquet(clean / "tidy.parquet"))
    assert not (out / ".partial-zzz").exists() and not _half_written(out)


@pytest.mark.slow
def test_sigterm_stops_a_sweep_and_the_jobs_workers(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", "area=walsall,blackburn_with_darwen", "scenario=balanced", "replicates=3", "scale=0.02",
            "weeks=104", "progress=false", f"hydra.sweep.dir={sweep}"]
    marker = uuid.uuid4().hex
    p = _start(args, tmp_path, marker)
    assert _wait(lambda: len(list(sweep.glob("*/runs/*/*.parquet"))) >= 1, timeout=180)
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert time.monotonic() - t0 < 15
    assert p.returncode == 143, err[-2000:]
    lines = [x for x in err.splitlines() if x.strip()]  # (joblib's tracker warned of 'leaked semlock objects')
    assert len(lines) == 1 and lines[0].startswith("stopped by SIGTERM"), err[-2000:]
    assert _wait(lambda: not _marked(marker), timeout=10), "a job or worker outlived the sweep"
    assert not _half_written(sweep)
    r = subprocess.run(SIM + args, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (sweep / "gathered" / "report.html").exists()


FINALISER = r"""
import os, signal, sys
from experiments import stops
{setup}
class Held:  # an object whose finaliser is running when the stop signal comes (as llvmlite's do)
    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # the handler runs (and raises) here, inside the finaliser
            pass
try:
    Held()
    for _ in range(10**7):
        pass
    print("not stopped")
except {caught}:
    print("stopped outside the finaliser")
"""


def _stops_outside_the_finaliser(code: str) -> None:
    """Run ``code`` in a fresh interpreter: it must stop outside the finaliser and print no traceback."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items() if k != "SIM_MAIN_PID"})
    assert out.stdout.strip() == "stopped outside the finaliser", out.stdout + out.stderr
    assert "Traceback" not in out.stderr and "Exception ignored" not in out.stderr, out.stderr


def test_a_stop_signal_inside_a_finaliser_stops_without_a_traceback():
    """A stop that lands inside a finaliser (llvmlite's, while numba loads a kernel) is raised again outside it:
    it still stops the process, and prints nothing (Python would print it as an ignored exception and go on)."""
    _stops_outside_the_finaliser(FINALISER.format(setup="stops.install_handlers()", caught="KeyboardInterrupt"))


CALLBACK = r"""
import os, signal, sys, weakref
from experiments import stops
{setup}
class Thing:
    pass
def cb(ref):  # a weak reference's callback is running when the stop signal comes (as importlib's module locks' do)
    os.kill(os.getpid(), signal.SIGTERM)
    for _ in range(1000):  # the handler runs (and raises) here, inside the callback
        pass
thing = Thing()
ref = weakref.ref(thing, cb)
try:
    del thing
    for _ in range(10**7):
        pass
    print("not stopped")
except {caught}:
    print("stopped outside the finaliser")
"""


def test_a_stop_signal_inside_a_weak_reference_callback_stops_without_a_traceback():
    """The same for the other kind of finaliser, a weak reference's callback (the sweep's SIGTERM test once
    printed one from importlib, where a worker was loading a module)."""
    _stops_outside_the_finaliser(CALLBACK.format(setup="stops.install_handlers()", caught="KeyboardInterrupt"))


AFTER_STOP = r"""
import os, signal, sys, time, weakref
from experiments import stops
{setup}
class Library:
    pass
class Engine:  # holds a weak proxy to what a stop's unwinding frees (as llvmlite's engine does numba's library)
    def __init__(self, library):
        self.library = weakref.proxy(library)
    def __del__(self):
        self.library.enabled
lib = Library()
engine = Engine(lib)
if {stop}:
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    except {caught}:
        pass
del lib
del engine
print("finished")
"""


def test_a_finaliser_that_fails_because_of_a_stop_prints_nothing_but_one_without_a_stop_is_reported():
    """The sweep's SIGTERM test once printed llvmlite's ``ReferenceError`` tracebacks: the stop came while numba was
    loading a kernel and its unwinding freed what llvmlite's callbacks still reached for. After a stop such
    finaliser errors are dropped; without one they are reported as Python reports them."""
    env = {k: v for k, v in os.environ.items() if k != "SIM_MAIN_PID"}
    for stop in (True, False):
        code = AFTER_STOP.format(setup="stops.install_handlers()", caught="KeyboardInterrupt", stop=stop)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
        assert out.stdout.strip() == "finished", out.stdout + out.stderr
        if stop:
            assert out.stderr == "", out.stderr
        else:
            assert "Exception ignored" in out.stderr and "ReferenceError" in out.stderr, out.stderr


WORKER_STOP = r"""
import os, signal
from experiments import stops
stops.worker_init()
class Held:  # a library's object whose finaliser is running when the stop signal comes (as llvmlite's do)
    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):
            pass
        print("the finaliser went on")
try:
    {where}
    for _ in range(10**6):
        pass
    print("not stopped")
except BaseException:
    print("unwound")
finally:
    print("finally ran")
"""


@pytest.mark.parametrize("where", ["os.kill(os.getpid(), signal.SIGTERM)", "Held()"], ids=["anywhere", "finaliser"])
def test_a_worker_told_to_stop_ends_at_once_running_nothing_more(where):
    """A worker's stop raises nothing into what it was doing (an exception landing between llvmlite handing a
    module to its engine and noting it made both free the module: "double free detected", seen in CI): no handler,
    no finaliser, no ``finally`` runs after the signal; the status is 143 and nothing is printed."""
    out = subprocess.run([sys.executable, "-c", WORKER_STOP.format(where=where)], capture_output=True, text=True,
                         timeout=60, env={k: v for k, v in os.environ.items() if k != "SIM_MAIN_PID"})
    assert (out.returncode, out.stdout, out.stderr) == (143, "", "")


def test_a_pool_worker_told_to_stop_takes_no_further_work():
    """A process pool's worker catches whatever its call raises, reports it and takes the next call: a stop raised
    as an exception left it running the study's next run until the parent killed it. It ends at once instead."""
    from concurrent.futures.process import BrokenProcessPool

    from experiments import executors

    ex = executors.pool(1)
    try:
        first, second = ex.submit(time.sleep, 60), ex.submit(time.sleep, 60)
        (proc,) = ex._processes.values()
        assert _wait(lambda: first.running(), timeout=60)
        time.sleep(0.5)  # (the worker is inside its call)
        t0 = time.monotonic()
        os.kill(proc.pid, signal.SIGTERM)
        proc.join(timeout=10)
        assert proc.exitcode == 143 and time.monotonic() - t0 < 2
        for f in (first, second):
            with pytest.raises(BrokenProcessPool):
                f.result(timeout=10)
    finally:
        executors.stop_pool(ex)


def test_a_corrupted_or_foreign_cache_file_is_recomputed_with_a_warning(tmp_path, capsys):
    run_study(TINY, tmp_path, progress=False)
    first = pd.read_parquet(tmp_path / "tidy.parquet")
    runs = _cached(tmp_path)
    truncated = next(p for p in runs if "balanced__rep000" in p.name)
    truncated.write_bytes(truncated.read_bytes()[:200])
    rep0, rep1 = (next(p for p in runs if f"baseline__rep00{i}" in p.name) for i in (0, 1))
    shutil.copy(rep0, rep1)  # a valid file of another replicate, copied into place
    capsys.readouterr()
    run_study(TINY, tmp_path, progress=False)
    err = capsys.readouterr().err
    assert f"{truncated.name} is unreadable" in err
    assert f"{rep1.name} is made for another run" in err
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "tidy.parquet"), first)
    timing = json.loads((tmp_path / "study.json").read_text())["timing"]
    assert timing["ran"] == 2 and timing["reused"] == 2


@pytest.mark.slow
def test_changed_code_means_recompute_never_silent_reuse(tmp_path, monkeypatch, capsys):
    run_study(TINY, tmp_path, progress=False)
    assert json.loads((tmp_path / "study.json").read_text())["timing"]["ran"] == 4
    run_study(TINY, tmp_path, progress=False)
    assert json.loads((tmp_path / "study.json").read_text())["timing"]["ran"] == 0  # same code: reused
    monkeypatch.setattr(provenance, "fingerprint", lambda skip=(): "code-after-an-edit")
    capsys.readouterr()
    run_study(TINY, tmp_path, progress=False)
    assert "held a finished study of another configuration or code" in capsys.readouterr().err  # (said nothing)
    meta = json.loads((tmp_path / "study.json").read_text())
    assert meta["timing"]["ran"] == 4 and meta["code_fingerprint"] == "code-after-an-edit"
    assert len(list(tmp_path.glob("runs/*"))) == 2  # the old cache is kept, not used


def test_the_fingerprint_follows_the_code_and_data(tmp_path, monkeypatch):
    for d in ("sim", "configs", "data"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "x.py" if d == "sim" else tmp_path / d / "x.yaml").write_text("a = 1\n")
    monkeypatch.setattr(provenance, "REPO", tmp_path)
    monkeypatch.setattr(provenance, "CODE_DIRS", tuple(tmp_path / d for d in ("sim", "configs", "data")))
    seen = []
    for edit in (None, ("sim/x.py", "a = 2\n"), ("configs/x.yaml", "b: 1\n"), ("data/x.yaml", "c: 1\n")):
        if edit:
            (tmp_path / edit[0]).write_text(edit[1])
        provenance.fingerprint.cache_clear()
        seen.append(provenance.fingerprint())
    provenance.fingerprint.cache_clear()
    assert len(set(seen)) == 4


def test_an_optimiser_journal_is_never_continued_under_other_settings(tmp_path, capsys):
    from experiments import optimise

    base = {"area": "walsall", "seed": 2, "scale": 0.004, "weeks": 4, "model": {}, "interventions": {},
            "trials": 2, "replicates": 1, "check_replicates": 2, "compare_with": [], "workers": 1}
    optimise.run({**base, "objectives": ["extra_people_in_work"]}, tmp_path, progress=False)
    first = sorted(tmp_path.glob("optuna-*.journal"))
    capsys.readouterr()
    optimise.run({**base, "objectives": ["extra_bridging_ties"]}, tmp_path, progress=False)
    assert "starting a new search" in capsys.readouterr().err
    journals = sorted(tmp_path.glob("optuna-*.journal"))
    assert len(journals) == 2 and set(first) < set(journals)
    trials = pd.read_csv(tmp_path / "trials.csv")
    assert len(trials) == 2 and "extra_bridging_ties" in trials and "extra_people_in_work" not in trials
    # the same settings again continue their own search (more trials asked for: only the new ones run)
    optimise.run({**base, "objectives": ["extra_bridging_ties"], "trials": 3}, tmp_path, progress=False)
    assert len(pd.read_csv(tmp_path / "trials.csv")) == 3
    # a journal whose recorded settings do not match its name is refused, not relabelled
    new = next(j for j in journals if j not in first)
    shutil.copy(first[0], new)
    with pytest.raises(files.ConfigError, match="records a search of other settings"):
        optimise.run({**base, "objectives": ["extra_bridging_ties"], "trials": 3}, tmp_path, progress=False)


@pytest.mark.slow
def test_two_processes_never_share_a_study_folder(tmp_path):
    out = tmp_path / "study"
    first = _start(QUICK + [f"hydra.run.dir={out}"], tmp_path, uuid.uuid4().hex)
    assert _wait(lambda: (out / manifest.MANIFEST).exists())
    second = subprocess.run(SIM + QUICK + [f"hydra.run.dir={out}"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    assert second.returncode == 2 and "in use by another run" in second.stderr and "Traceback" not in second.stderr
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-2000:]
    assert (out / "report.html").exists()


def test_a_command_refused_a_folder_in_use_leaves_the_holders_work_alone(tmp_path):
    """The refused session used to remove every staging folder it found: the holder's, as it wrote its tables, so
    that one failed with a traceback and wrote no report (a second command started on a busy folder)."""
    with files.OutputFolder(tmp_path / "o", "study").session() as folder:
        with folder.stage() as tmp:
            (tmp / "summary.csv").write_text("1\n")
            with pytest.raises(files.ConfigError, match="in use by another run"):
                with files.OutputFolder(tmp_path / "o", "study").session():
                    pass
            assert (tmp / "summary.csv").exists()
    assert (tmp_path / "o" / "summary.csv").read_text() == "1\n"
    assert manifest.read_manifest(tmp_path / "o")["complete"]


def _single(cwd, out, *extra):
    return subprocess.run(SIM + ["area=walsall", "seed=4", "scale=0.004", "weeks=5", "progress=false",
                                 f"hydra.run.dir={out}", *extra], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
def test_a_users_files_survive_failures_and_reruns_in_the_folder(tmp_path):
    out = tmp_path / "mywork"
    assert _single(tmp_path, out, "scenario=balanced").returncode == 0
    assert (out / "interventions.csv").exists() and (out / "baseline_timeseries.csv").exists()
    (out / "notes.txt").write_text("my notes")
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    # a run that fails inside (not bad input): the earlier run and the notes are untouched
    code = ("import sys, sim.model as m\n"
            "def boom(self): raise RuntimeError('simulated failure')\n"
            "m.IntegrationModel.step = boom\n"
            "from cli.main import main\n"
            f"sys.argv = ['sim', 'area=walsall', 'scale=0.004', 'weeks=3', 'progress=false', 'hydra.run.dir={out}']\n"
            "main()\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert manifest.finished(out) is not None
    # another configuration in the same folder: the earlier run's files go (all of them), the notes stay
    r = _single(tmp_path, out)
    assert r.returncode == 0 and "its files are replaced" in r.stderr
    assert not (out / "interventions.csv").exists() and not (out / "baseline_timeseries.csv").exists()
    assert (out / "notes.txt").read_text() == "my notes"
    assert json.loads((out / "summary.json").read_text())["scenario"] == "baseline"
    # the same configuration again: reused, nothing rewritten
    stamp = (out / "summary.json").stat().st_mtime_ns
    r = _single(tmp_path, out)
    assert "skipped" in r.stdout and (out / "summary.json").stat().st_mtime_ns == stamp


def test_gather_never_reads_a_killed_runs_staging_folder(tmp_path):
    sweep = tmp_path / "sweep"
    r = subprocess.run(SIM + ["-m", "seed=1,2", "area=walsall", "scale=0.004", "weeks=4", "progress=false",
                              f"hydra.sweep.dir={sweep}"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    job = next(p for p in sweep.iterdir() if p.name.startswith("area="))
    staged = job / ".partial-killed"
    shutil.copytree(job, staged, ignore=shutil.ignore_patterns(".partial-*"))
    (staged / "summary.json").write_text(json.dumps({**json.loads((job / "summary.json").read_text()), "seed": 99}))
    unfinished = sweep / "seed=3"
    shutil.copytree(job, unfinished, ignore=shutil.ignore_patterns(".partial-*"))
    (unfinished / manifest.MANIFEST).write_text(json.dumps({"kind": "run", "key": None, "complete": False,
                                                            "files": []}))
    from experiments.gather import collect

    tidy, _, _ = collect(sweep)
    assert sorted(tidy["replicate"].unique()) == [10000, 20000]
