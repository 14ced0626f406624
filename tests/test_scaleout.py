"""Studies on other executors give the same runs, byte for byte: a real Ray cluster (a head node and a worker on
loopback, in a private network namespace so nothing leaves this machine), Hydra's Ray launcher on that cluster, and
the SLURM path through submitit's local mode. An interrupted study resumes on another executor."""

from __future__ import annotations

import contextlib
import filecmp
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
OPTIMISE = ["experiment=optimise_budget", "area=walsall", "scale=0.004", "weeks=8", "study.trials=3",
            "study.replicates=1", "study.check_replicates=2", "study.compare_with=[english_first]", "progress=false"]
STUDY = ["experiment=compare_scenarios", "study.areas=[walsall]", "study.scenarios=[baseline,balanced]", "scale=0.005",
         "replicates=3", "weeks=16", "progress=false"]


def _sim(args, cwd=ROOT, timeout=900, **kw):
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, **kw)


def _runs(folder: pathlib.Path) -> dict:
    return {p.name: p for p in folder.glob("runs/*/*.parquet")}


def _same_runs(a: pathlib.Path, b: pathlib.Path) -> None:
    ra, rb = _runs(a), _runs(b)
    assert ra and set(ra) == set(rb)
    for name in ra:
        assert filecmp.cmp(ra[name], rb[name], shallow=False), f"{name} differs between executors"
    for table in ("summary.csv", "head_to_head.csv", "cost_per_outcome.csv"):
        assert filecmp.cmp(a / table, b / table, shallow=False), table


@pytest.fixture(scope="module")
def local_study(tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "study"
    r = _sim([*STUDY, f"hydra.run.dir={out}"])
    assert r.returncode == 0, r.stderr[-2000:]
    return out


CLUSTER = r"""
set -eu
ip link set lo up
export RAY_AUTH_MODE=disabled RAY_USAGE_STATS_ENABLED=0
BIN="$(dirname "$PY")"
# (a Ray folder of its own: 'ray start' records its cluster there, not where another Ray of this machine looks)
"$BIN/ray" start --head --node-ip-address=127.0.0.1 --port=6399 --num-cpus=1 --include-dashboard=false \
  --disable-usage-stats --temp-dir="$RAY_DIR" > "$OUT/head.log" 2>&1
"$BIN/ray" start --address=127.0.0.1:6399 --node-ip-address=127.0.0.1 --num-cpus=1 --disable-usage-stats \
  > "$OUT/worker.log" 2>&1
# at the end, this test's own Ray only (its processes carry the marker): 'ray stop' would end every Ray here
END="import sys; sys.path.insert(0, '$TESTS'); import test_scaleout as t; t.end_marked('$SIM_TEST_MARKER')"
trap '"$PY" -c "$END"' EXIT
read -r -a OPT <<< "$OPTIMISE"
"$PY" -c "import ray; ray.init(address='127.0.0.1:6399'); print('nodes', len(ray.nodes()), \
  sorted({n['NodeManagerAddress'] for n in ray.nodes()}))"
"$PY" -m sim "$@" study.launcher=ray 'study.ray={address: "127.0.0.1:6399"}' "hydra.run.dir=$OUT/study"
"$PY" -m sim "${OPT[@]}" study.launcher=ray 'study.ray={address: "127.0.0.1:6399"}' "hydra.run.dir=$OUT/opt"
"$PY" -m sim -m hydra/launcher=ray_cluster hydra.launcher.ray.init.address=127.0.0.1:6399 area=walsall \
  scenario=balanced scenario.budget_gbp=1e6,4e6 scale=0.004 weeks=6 progress=false "hydra.sweep.dir=$OUT/sweep"
"""


@pytest.mark.slow
def test_a_ray_cluster_on_loopback_gives_the_same_runs_and_resumes_a_study_begun_locally(local_study, tmp_path,
                                                                                          ray_alone):
    if shutil.which("unshare") is None:
        pytest.fail("the Ray cluster test needs unshare (util-linux) for a private network namespace")
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.fail(f"cannot make a private network namespace here (unshare -rn: {probe.stderr.strip()}); the Ray "
                    "cluster test runs Ray there so that it binds loopback only")
    # a study begun locally and stopped: two runs missing
    shutil.copytree(local_study, tmp_path / "study")
    gone = sorted(_runs(tmp_path / "study"))[:2]
    for name in gone:
        _runs(tmp_path / "study")[name].unlink()
    kept = {n: p.stat().st_mtime_ns for n, p in _runs(tmp_path / "study").items()}
    import tempfile
    import uuid

    marker = uuid.uuid4().hex
    env = {**os.environ, "PY": sys.executable, "OUT": str(tmp_path), "OPTIMISE": " ".join(OPTIMISE),
           "SIM_TEST_MARKER": marker, "TESTS": str(ROOT / "tests"),
           "RAY_DIR": tempfile.mkdtemp(prefix="ray-")}  # (short: Ray's socket paths must fit in 107 characters)
    try:
        r = subprocess.run(["unshare", "-rn", "bash", "-c", CLUSTER, "cluster", *STUDY], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=900)
    finally:
        shutil.rmtree(env["RAY_DIR"], ignore_errors=True)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-3000:])
    assert "nodes 2 ['127.0.0.1']" in r.stdout  # a head and a worker, both on loopback
    _same_runs(local_study, tmp_path / "study")
    for n, t in kept.items():  # the finished runs were reused, not rerun
        assert _runs(tmp_path / "study")[n].stat().st_mtime_ns == t
    # the optimiser's trials ran on the cluster and found what they find locally
    local = _sim([*OPTIMISE, f"hydra.run.dir={tmp_path / 'opt_local'}"])
    assert local.returncode == 0, local.stderr[-2000:]
    for table in ("trials.csv", "candidates.csv"):
        assert filecmp.cmp(tmp_path / "opt" / table, tmp_path / "opt_local" / table, shallow=False), table
    # Hydra's own Ray launcher ran both jobs of the sweep on the cluster and the sweep was gathered
    jobs = [p for p in (tmp_path / "sweep").iterdir() if (p / "summary.json").exists()]
    assert len(jobs) == 2 and (tmp_path / "sweep" / "gathered" / "report.html").exists()


@pytest.mark.slow
def test_the_slurm_path_through_submitit_gives_the_same_runs(local_study, tmp_path):
    r = _sim([*STUDY, "study.launcher=submitit_local", "study.workers=2", f"hydra.run.dir={tmp_path / 'study'}"])
    assert r.returncode == 0, r.stderr[-2000:]
    _same_runs(local_study, tmp_path / "study")


@pytest.mark.parametrize("override, message", [
    ("study.launcher=kubernetes", "unknown launcher 'kubernetes' for 'study.launcher'; allowed: local, ray"),
    ("study.ray={host: x}", "unknown key 'study.ray.host'; allowed: address"),
    ("study.slurm={partition: 5}", "'study.slurm.partition' must be a name"),
    ("study.slurm={setup: 'source x'}", "'study.slurm.setup' must be a list of shell lines"),
])
def test_bad_executor_settings_are_refused_before_any_work(override, message, tmp_path):
    r = _sim([*STUDY, override, f"hydra.run.dir={tmp_path / 'x'}"])
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr[-1000:]
    assert not (tmp_path / "x").exists()


@pytest.fixture
def ray_alone():
    """One Ray test at a time on this machine (the test processes of one run, or of two): a Ray that another test
    is starting or stopping meanwhile can take this one's down with it."""
    import fcntl
    import tempfile

    with open(pathlib.Path(tempfile.gettempdir()) / "integration-sim-ray-tests.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def end_marked(marker: str) -> None:
    """SIGTERM the processes carrying ``marker``, then SIGKILL those left after 5 s (a test's own Ray)."""
    import signal
    import time

    me = {os.getpid(), os.getppid()}  # (the shell that asks carries the marker too)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in set(_with_marker(marker)) - me:
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
        end = time.monotonic() + 5
        while set(_with_marker(marker)) - me and time.monotonic() < end:
            time.sleep(0.1)


def _with_marker(marker: str) -> list[int]:
    """Live processes whose environment carries ``marker`` (a study's driver, its Ray and Ray's workers)."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in pathlib.Path(f"/proc/{pid}/environ").read_bytes():
                if pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    out.append(int(pid))
        except OSError:
            continue
    return out


@pytest.mark.slow
def test_a_stop_during_a_study_on_ray_is_clean_and_leaves_no_ray_behind(tmp_path, ray_alone):
    """SIGTERM to a study running on a Ray it started (inside a private network namespace, as above): Ray's own
    handler would print a stack and exit 1; the study instead says in one line what it kept, exits 143 within
    seconds, and nothing of Ray is left running; the study then resumes."""
    import signal
    import time
    import uuid

    if shutil.which("unshare") is None:
        pytest.fail("the Ray tests need unshare (util-linux) for a private network namespace")
    marker = uuid.uuid4().hex
    out = tmp_path / "study"
    args = [*STUDY, "replicates=8", "weeks=52", "study.launcher=ray", f"hydra.run.dir={out}"]
    env = {**os.environ, "PY": sys.executable, "SIM_TEST_MARKER": marker, "RAY_AUTH_MODE": "disabled",
           "RAY_USAGE_STATS_ENABLED": "0"}
    inside = 'ip link set lo up; exec "$PY" -m sim "$@"'
    p = subprocess.Popen(["unshare", "-rn", "bash", "-c", inside, "sim", *args], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    end = time.monotonic() + 300
    while len(_runs(out)) < 2 and time.monotonic() < end and p.poll() is None:
        time.sleep(0.1)
    assert p.poll() is None and len(_runs(out)) >= 2, "no run finished"
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 143 and time.monotonic() - t0 < 15, err[-2000:]
    # (in a namespace without a network, Ray's core logs that it found no outside address: its line, not ours)
    lines = [x for x in err.splitlines() if x.strip() and "network_util.cc" not in x]
    assert len(lines) == 1 and lines[0].startswith("stopped by SIGTERM") and "kept" in lines[0], err[-2000:]
    end = time.monotonic() + 10
    while _with_marker(marker) and time.monotonic() < end:
        time.sleep(0.1)
    assert not _with_marker(marker), "a Ray process outlived the study"
    kept = len(_runs(out))
    assert kept < 2 * 8
    r = subprocess.run(["unshare", "-rn", "bash", "-c", inside, "sim", *args], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert len(_runs(out)) == 2 * 8


AFTER_RAY = r"""
import os, signal, time
from experiments import executors, stops
stops.install_handlers()
executors.start_ray(None)
executors.stop_ray()
try:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)
    print("not stopped")
except KeyboardInterrupt:
    print("stopped by the handler")
"""


@pytest.mark.slow
def test_the_stop_handler_still_works_after_a_ray_this_process_started_is_shut_down(ray_alone):
    """ray.shutdown() left SIGTERM at the system's default while Python still reported the study's handler: a stop
    while the tables were being written killed the process by the signal (no line, a staging folder left)."""
    if shutil.which("unshare") is None:
        pytest.fail("the Ray tests need unshare (util-linux) for a private network namespace")
    env = {**os.environ, "PY": sys.executable, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    r = subprocess.run(["unshare", "-rn", "bash", "-c", 'ip link set lo up; exec "$PY" -c "$1"', "sh", AFTER_RAY],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.stdout.strip() == "stopped by the handler", (r.returncode, r.stdout, r.stderr[-2000:])


def _refused_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_launcher_that_cannot_be_reached_is_refused_before_any_work(tmp_path):
    """SLURM without srun, or a Ray head node that does not answer: one clear line at once (not a traceback after
    minutes of Ray retrying), for a study's launcher and for a sweep's Hydra launcher alike; nothing is made."""
    port = _refused_port()
    no_slurm = {**os.environ, "PATH": str(tmp_path / "empty")}  # (no srun on it)
    cases = [
        ([*STUDY, "study.launcher=slurm"], no_slurm, "'study.launcher' is slurm, but this machine has no SLURM"),
        ([*STUDY, "study.launcher=ray", f"+study.ray.address=127.0.0.1:{port}"], None,
         f"no Ray head node answers at 'study.ray.address' '127.0.0.1:{port}'"),
        ([*OPTIMISE, "study.launcher=ray", f"+study.ray.address=127.0.0.1:{port}"], None,
         "no Ray head node answers at 'study.ray.address'"),
        (["-m", "seed=1,2", "area=walsall", "scale=0.005", "weeks=2", "hydra/launcher=slurm"], no_slurm,
         "'hydra/launcher' is slurm, but this machine has no SLURM"),
        (["-m", "seed=1,2", "area=walsall", "scale=0.005", "weeks=2", "hydra/launcher=ray_cluster",
          f"hydra.launcher.ray.init.address=127.0.0.1:{port}"], None,
         "no Ray head node answers at 'hydra.launcher.ray.init.address'"),
        (["-m", "seed=1,2", "--cfg", "job"], None, "'-m' and '--cfg' cannot be given together"),
    ]
    for k, (args, env, message) in enumerate(cases):
        out = tmp_path / f"out{k}"
        key = "hydra.sweep.dir" if "-m" in args else "hydra.run.dir"
        r = _sim([*args, f"{key}={out}"], env=env, timeout=120)
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, (args, r.stderr[-1000:])
        assert not out.exists(), args


def test_workers_follow_the_cpus_this_process_may_use(monkeypatch):
    from experiments.executors import usable_cpus, workers_for

    mine = len(os.sched_getaffinity(0))
    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)
    assert usable_cpus() == mine
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "1")  # a SLURM allocation smaller than the node
    assert usable_cpus() == 1 and workers_for(0, 100) == 1
    assert workers_for(1000, 100) == 1  # (asking for more than the allocation: cut to it, never 1000 models)
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "512")
    assert usable_cpus() == mine and workers_for(1000, 100) == min(mine, 100)
