"""Where a study's runs go: local worker processes that stop when asked (:func:`run_each`), Ray tasks
(:func:`run_ray`), or a submitit job array (:func:`run_jobs` chooses). Local workers are kept, idle and warm
(imports done, compiled kernels loaded), for the process's next call (:func:`take_pool`), and leave without tearing
down their interpreter when they are done. What a stop signal does to them is :mod:`experiments.stops`.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import multiprocessing
import multiprocessing.util
import os
import pathlib
import signal
import sys
import threading

from experiments.stops import RAY_KIDS, children, is_stop, leave_now, stop_requested, worker_init


def usable_cpus() -> int:
    """The CPUs this process may use, not the machine's: its affinity mask (taskset, a container, a SLURM
    allocation bound to cores) and, inside a SLURM job, no more than ``SLURM_CPUS_PER_TASK``."""
    try:
        n = max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    slurm = os.environ.get("SLURM_CPUS_PER_TASK", "")
    return min(n, int(slurm)) if slurm.isdigit() and int(slurm) > 0 else n


def workers_for(requested: int, jobs: int) -> int:
    """Processes to start: ``requested`` (0 = every usable CPU), never more than the jobs nor the usable CPUs (each
    worker holds a model: a thousand on two cores would only fill the memory; ``capped`` says when this bites)."""
    return max(1, min(requested or usable_cpus(), usable_cpus(), max(jobs, 1)))


def capped(requested: int) -> str | None:
    """A note when ``requested`` workers are more than this process may use (they are cut to that), else None."""
    n = usable_cpus()
    return None if requested <= n else (f"note: {requested} workers asked for, but this process may use {n} CPUs: "
                                        f"running {n}")


def pool(workers: int) -> cf.ProcessPoolExecutor:
    if multiprocessing.get_start_method(allow_none=True) not in (None, "spawn", "fork", "forkserver"):
        # inside a joblib (loky) worker the global start method is 'loky', which a spawned child cannot set up
        multiprocessing.set_start_method("spawn", force=True)
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=worker_init)


# The local pool kept between calls in this process: its workers have imported the model and loaded its compiled
# kernels, so the next study, calibration wave or validation starts at once instead of spawning processes that import
# everything again. A call takes it (a call running meanwhile in another thread makes its own), and gives it back
# when all went well; a failure or a stop ends it. It is reused only by a call wanting as many workers, with the
# environment, working folder and import path it was started with (what a spawned worker inherits). Only a pool whose
# workers were all started by the main thread is kept: a worker is ended when the thread that started it ends
# (PR_SET_PDEATHSIG follows the thread), so one started by a page's run (a thread of its own) ends with that run.
_WARM: dict = {}
_WARM_LOCK = threading.Lock()


def _warm_key(workers: int) -> tuple:
    return (workers, os.getpid(), os.getcwd(), tuple(sys.path), tuple(sorted(os.environ.items())),
            sys.executable)


def _alive_pool(executor: cf.ProcessPoolExecutor) -> bool:
    procs = (getattr(executor, "_processes", None) or {}).values()
    return (not getattr(executor, "_broken", False) and not getattr(executor, "_shutdown_thread", False)
            and all(p.is_alive() for p in procs))


def _close(kept) -> None:
    key, executor = kept
    if key[1] == os.getpid():  # never a pool inherited from a parent process
        with contextlib.suppress(Exception):
            executor.shutdown(wait=True, cancel_futures=True)  # idle workers: they exit at once


def take_pool(workers: int) -> tuple[tuple, cf.ProcessPoolExecutor]:
    """A pool of ``workers`` processes for one call: the kept one when it fits, else a new one; hand it back with
    :func:`keep_pool` (or end it with :func:`stop_pool`)."""
    key = _warm_key(workers)
    with _WARM_LOCK:
        kept = _WARM.pop("pool", None)
    if kept is not None:
        if kept[0] == key and _alive_pool(kept[1]):
            return kept
        _close(kept)
    ex = pool(workers)
    ex.started_by_main_thread = threading.current_thread() is threading.main_thread()
    return key, ex


def _keepable(executor: cf.ProcessPoolExecutor) -> bool:
    """Whether a pool can serve later calls from any thread: every worker started, all by the main thread."""
    procs = getattr(executor, "_processes", None) or {}
    return (getattr(executor, "started_by_main_thread", False) and len(procs) == executor._max_workers
            and _alive_pool(executor))


def keep_pool(key: tuple, executor: cf.ProcessPoolExecutor) -> None:
    """Keep a pool (idle now) for this process's next call, in place of any kept meanwhile. It is ended when this
    process exits, first thing: a process that is itself a multiprocessing child (a joblib launcher's job) would
    otherwise wait at exit for the kept workers, which wait for work."""
    with _WARM_LOCK:
        old = _WARM.pop("pool", None)
        _WARM["pool"] = (key, executor)
        if _WARM.get("finalizer") != os.getpid():
            multiprocessing.util.Finalize(None, close_warm_pool, exitpriority=100)
            _WARM["finalizer"] = os.getpid()
    if old is not None and old[1] is not executor:
        _close(old)


def close_warm_pool() -> None:
    """End the kept pool (its workers are idle); the next call starts a new one. At exit this happens anyway."""
    with _WARM_LOCK:
        kept = _WARM.pop("pool", None)
    if kept is not None:
        _close(kept)


def stop_pool(executor: cf.ProcessPoolExecutor) -> None:
    """Terminate every worker now (their unfinished work is lost; finished work was already written)."""
    procs = list((getattr(executor, "_processes", None) or {}).values())
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    executor.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(timeout=5)


def run_each(fn, items: list, workers: int, on_done=None, should_stop=None) -> list:
    """``fn(item)`` for every item, in worker processes (or in this one with one worker), in completion order;
    ``on_done(result)`` after each; the workers are kept for this process's next call (:func:`take_pool`). A stop
    signal, or ``should_stop()`` turning true (polled a few times a second: a page's cancel button), terminates the
    workers and raises KeyboardInterrupt."""
    results = []
    ex = None
    try:
        if workers <= 1 or len(items) <= 1:
            for it in items:
                if should_stop and should_stop():
                    raise KeyboardInterrupt
                results.append(fn(it))
                on_done and on_done(results[-1])
            return results
        key, ex = take_pool(workers)
        pending = {ex.submit(fn, it) for it in items}
        while pending:
            finished, pending = cf.wait(pending, timeout=0.25, return_when=cf.FIRST_COMPLETED)
            for f in finished:
                results.append(f.result())
                on_done and on_done(results[-1])
            if pending and should_stop and should_stop():
                raise KeyboardInterrupt
    except BaseException as e:
        if ex is not None:
            stop_pool(ex)
        if is_stop(e) and not isinstance(e, KeyboardInterrupt):
            raise KeyboardInterrupt from None
        raise
    if _keepable(ex):
        keep_pool(key, ex)  # the workers stay, idle and warm, for this process's next call
    else:
        ex.shutdown()
    return results


def _each(fn, chunk: list) -> list:
    """A submitit job: ``fn`` over its chunk. Like a local worker, it leaves at once when told to stop (SIGTERM
    or SIGINT, which submitit's local controller forwards; submitit itself would let SIGTERM pass and the job run
    on) and when its parent dies, so a stopped study leaves no job still running and writing. (Its interpreter
    exits as submitit's own job does: submitit writes the job's result after this returns.)"""
    worker_init(on_sigint=leave_now, exit_at_once=False)
    return [fn(x) for x in chunk]


def _call(fn, item):
    """A Ray task: ``fn(item)`` with Mesa's per-step log quiet (Ray's workers start without worker_init)."""
    logging.getLogger("MESA").setLevel(logging.WARNING)
    return fn(item)


def start_ray(address: str | None) -> None:
    """``ray.init`` for a study: connect to the head node at ``address`` (None: start a Ray of this machine). Ray's
    core puts a handler of its own on SIGTERM (it prints a stack and exits 1): this process's stop (work cancelled,
    finished runs kept, one line) is put back. A stop also leaves the processes of a Ray started here to
    :func:`stop_ray`, which ends them in order (killed first, they would keep the shutdown waiting on them and leave
    some of Ray's agents behind)."""
    import ray

    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    before = set(children(os.getpid()))
    # (None: a Ray of this machine, started now; Ray itself would join the cluster last started here with
    # 'ray start', or wait for ever on one that has since gone)
    ray.init(address=address or "local", include_dashboard=False, log_to_driver=False, configure_logging=False)
    for s, h in handlers.items():
        if callable(h) or h in (signal.SIG_IGN, signal.SIG_DFL):
            with contextlib.suppress(ValueError):
                signal.signal(s, h)
    RAY_KIDS.update(set(children(os.getpid())) - before)  # (none when it joined a cluster)


def stop_ray() -> None:
    """``ray.shutdown()``, then this process's stop handlers put back: the shutdown leaves SIGTERM at the system's
    default while Python still reports the handler (a stop while the tables were written killed the process by the
    signal, with no line and a staging folder left)."""
    import ray

    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    ray.shutdown()
    RAY_KIDS.clear()
    for s, h in handlers.items():
        if callable(h) or h in (signal.SIG_IGN, signal.SIG_DFL):
            with contextlib.suppress(ValueError):
                signal.signal(s, h)


def run_ray(fn, items, address: str | None = None, on_done=None, should_stop=None) -> list:
    """``fn(item)`` for every item as Ray tasks (one CPU each) on the cluster at ``address`` (``host:port`` of a
    head node started with ``ray start --head``; None starts a Ray of this machine for the call). ``items`` is a
    list, or a function of the cluster's CPU count that makes it (a study sizes its tasks to the cluster, as it
    does to the local cores). Results come back to this process in completion order; a stop signal or
    ``should_stop()`` cancels the tasks not yet finished."""
    import ray

    started = not ray.is_initialized()
    if started:
        start_ray(address)
    results, pending = [], []
    try:
        if callable(items):
            items = items(max(1, int(ray.cluster_resources().get("CPU", 1))))
        remote = ray.remote(num_cpus=1, max_retries=0)(_call)
        fn_ref = ray.put(fn)
        pending = [remote.remote(fn_ref, it) for it in items]
        while pending:
            finished, pending = ray.wait(pending, num_returns=1, timeout=0.25)
            for ref in finished:
                results.append(ray.get(ref))
                on_done and on_done(results[-1])
            if pending and ((should_stop and should_stop()) or stop_requested()):
                raise KeyboardInterrupt
    except BaseException:
        # a Ray this process started ends with its tasks when it is shut down (below, or by the optimiser);
        # cancelling them first can crash Ray's core in this process (a reply arriving for a cancelled task). On a
        # cluster, they are cancelled
        for ref in [] if RAY_KIDS else pending:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
        raise
    finally:
        if started:
            stop_ray()
    return results


@contextlib.contextmanager
def _children_deaf_to_sigint():
    """Processes started in the block inherit SIGINT blocked, so a Ctrl-C in the terminal (sent to the whole
    process group) reaches only this process, which stops them itself (submitit's local controller printed
    ``KeyboardInterrupt`` tracebacks of its own). A Ctrl-C meanwhile is not lost: it waits for the block's end."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def run_jobs(fn, items: list, workers: int, launcher: str = "local", folder=None, slurm: dict | None = None,
             ray_address: str | None = None, on_done=None, should_stop=None) -> list:
    """``fn(item)`` for every item: in local worker processes (:func:`run_each`), as Ray tasks (:func:`run_ray`),
    or as a job array through
    submitit, the library behind Hydra's submitit launchers (``submitit_local``: the same path on this machine;
    ``slurm``: a SLURM cluster, with ``slurm`` giving partition, timeout_min, mem_gb, cpus_per_task and jobs, the
    number of array jobs the items are split across). Items are split into chunks, one job each: on one machine
    as many as ``workers`` (or the usable cores). A stop signal cancels the submitted jobs."""
    if launcher == "local":
        return run_each(fn, items, workers, on_done=on_done, should_stop=should_stop)
    if launcher == "ray":
        return run_ray(fn, items, ray_address, on_done=on_done, should_stop=should_stop)
    import submitit

    if not items:
        return []
    opts = dict(slurm or {})
    n_jobs = workers_for(workers, len(items)) if launcher == "submitit_local" else \
        max(1, min(len(items), int(opts.pop("jobs", 32))))  # fmt: skip
    chunks = [items[i::n_jobs] for i in range(n_jobs)]
    executor = submitit.AutoExecutor(folder=str(pathlib.Path(folder) / "submitit" / "%j"),
                                     cluster="local" if launcher == "submitit_local" else "slurm")
    params = {"timeout_min": int(opts.pop("timeout_min", 120)), "cpus_per_task": int(opts.pop("cpus_per_task", 1))}
    if launcher == "slurm":
        for key in ("partition", "account", "qos"):
            if opts.get(key):
                params[f"slurm_{key}"] = opts.pop(key)
        if opts.get("setup"):
            params["slurm_setup"] = list(opts.pop("setup"))
        params["mem_gb"] = float(opts.pop("mem_gb", 4))
    executor.update_parameters(**params)
    with _children_deaf_to_sigint():
        jobs = executor.map_array(_each, [fn] * len(chunks), chunks)
    try:
        return [r for j in jobs for r in j.result()]
    except BaseException:
        for j in jobs:
            with contextlib.suppress(Exception):
                j.cancel(check=False)
        raise
