"""Worker processes that stop when asked, and the stop signals themselves.

SIGTERM (what ``timeout``, SLURM and container runtimes send) is turned into the same ``KeyboardInterrupt`` as
Ctrl-C, so one code path handles both: finished work is kept, workers are terminated (none is left running and
writing), half-written files never appear (everything is written atomically), and the command line prints one line
saying what was kept (a stop that lands inside a finaliser, where Python would print it and carry on, is
delivered again a moment later; a second signal while the stop is under way, a double Ctrl-C, is not raised into
its clean-up). Workers end at once on SIGTERM, without raising anything into what they were doing, ignore SIGINT
(the parent decides) and ask the kernel to end them if their parent dies (``PR_SET_PDEATHSIG``), so even a
SIGKILLed parent leaves no orphan still writing. Local workers are kept,
idle and warm (imports done, compiled kernels loaded), for the process's next call (:func:`take_pool`), and leave
without tearing down their interpreter when they are done.
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.util
import os
import pathlib
import signal
import sys
import threading
import time

_STOP = {"signal": None, "raised": None}  # the first stop signal; when a stop was last raised
INSIST_S = 10.0  # a stop signal this long after the last one raised is raised again (a stop something swallowed)
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class Interrupted(Exception):
    """Work stopped by a signal; the message says what was kept."""


MAIN_PID_ENV = "SIM_MAIN_PID"


def _children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (Linux /proc; empty elsewhere)."""
    out = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 1 and fields[1] == str(pid):
            with contextlib.suppress(OSError):
                if b"resource_tracker" in (stat.parent / "cmdline").read_bytes():
                    continue  # the trackers clean up shared memory after everything else has gone
            out.append(int(stat.parent.name))
    return out


_RAY_KIDS: set = set()  # the processes of a Ray this process started (start_ray), which a stop leaves to stop_ray


def stop_children(grace: float = 3.0) -> None:
    """SIGTERM every direct child (launcher workers, pool workers, local job processes), give them ``grace``
    seconds to clean up after themselves, then SIGKILL what is left (their own workers follow by
    PR_SET_PDEATHSIG)."""
    kids = [k for k in _children(os.getpid()) if k not in _RAY_KIDS]  # (a Ray started here: stop_ray ends it)
    for k in kids:
        with contextlib.suppress(OSError):
            os.kill(k, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while kids and time.monotonic() < deadline:
        kids = [k for k in kids if _alive(k)]
        time.sleep(0.05)
    for k in kids:
        with contextlib.suppress(OSError):
            os.kill(k, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return False
        os.kill(pid, 0)
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return False


def _on_signal(signum, frame):
    first = _STOP["signal"] is None
    _STOP["signal"] = _STOP["signal"] or signum
    raised = _STOP["raised"]
    if raised is not None and time.monotonic() - raised < INSIST_S:
        return  # the stop is under way: a second interrupt would only cut its clean-up short (a double Ctrl-C)
    _STOP["raised"] = time.monotonic()  # (before the children are stopped: a signal meanwhile does not cut it short)
    if first and str(os.getpid()) == os.environ.get(MAIN_PID_ENV):
        stop_children()
    _RAISED["signal"] = signum
    raise KeyboardInterrupt


def end_stopped() -> None:
    """End a stopped command's process now, with the status its signal chose (143 or 130), once it has said what it
    kept: without tearing down the interpreter, whose finalisers would free objects the stop left half handed over to
    a C library (llvmlite's compiled modules: freed twice at exit, "double free detected"), and deaf to any later
    signal (which would replace the status with an escaping ``KeyboardInterrupt``)."""
    quiet_from_now()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(exit_code())


def stopped(how: str) -> None:
    """Say in one line what the stop left (``stopped by SIGTERM<how>``) and end the process (:func:`end_stopped`),
    deaf to any later signal from before the line is written."""
    quiet_from_now()
    sys.stderr.write(f"stopped by {signal_name()}{how}\n")
    end_stopped()


def quiet_from_now() -> None:
    """The stop has been dealt with and reported: any later stop signal is ignored, so that the process ends
    with the one line and the exit status it has chosen (a second signal would replace them with a
    ``KeyboardInterrupt`` escaping on the way out)."""
    with contextlib.suppress(ValueError):  # (only in a process's main thread)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)


_RAISED = {"signal": None}  # the signal whose handler raised last (for _unraisable)
_python_hook = sys.unraisablehook


def _unraisable(info) -> None:
    """``sys.unraisablehook``. A handler's stop that lands in a finaliser (a ``__del__``, or a weak reference's
    callback: llvmlite's and importlib's run whenever numba loads or compiles a kernel) cannot be passed on:
    Python would print it as an ignored exception with a traceback and carry on, and the stop would be lost. The
    same signal is sent again a moment later instead (from a timer thread), for its handler to raise outside the
    finaliser. Once a stop is under way, any other error in a finaliser is a consequence of it and is dropped:
    the stop's unwinding frees objects that later callbacks still reach for (llvmlite's object-cache callbacks
    then raise ``ReferenceError: weakly-referenced object no longer exists`` when the stop came while numba was
    loading a kernel), and the user asked for the process to end. Anything else, or when no thread can be started
    (at interpreter shutdown), is Python's own report."""
    signum = _RAISED["signal"]
    if signum is not None and isinstance(info.exc_value, (KeyboardInterrupt, SystemExit)):
        _RAISED["signal"] = None
        _STOP["raised"] = None  # (not raised where it counts: the signal sent again raises)
        timer = threading.Timer(0.005, os.kill, (os.getpid(), signum))
        timer.daemon = True
        try:
            timer.start()
            return
        except RuntimeError:
            pass
    if _stopping():
        return
    _python_hook(info)


def _stopping() -> bool:
    """Whether this process has been told to stop (the command's handler, or a worker's)."""
    return _STOP["signal"] is not None or _EXIT["code"] != 0


def install_handlers(main: bool = False) -> None:
    """SIGTERM and SIGINT both raise KeyboardInterrupt (and are remembered). In the command's main process
    (``main=True``) the first signal is also passed on to every child before the interrupt is raised."""
    if main:
        os.environ[MAIN_PID_ENV] = str(os.getpid())
        # a killed launcher worker leaves semaphores its tracker reports at exit: not the user's concern
        # (and joblib's own tracker, of a stopped joblib sweep's workers: 'leaked semlock objects')
        os.environ.setdefault("PYTHONWARNINGS", "ignore::UserWarning:multiprocessing.resource_tracker,"
                              "ignore::UserWarning:joblib.externals.loky.backend.resource_tracker")
    with contextlib.suppress(ValueError):  # not the main thread (e.g. inside a launcher's worker thread)
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
    sys.unraisablehook = _unraisable


def in_main_process() -> bool:
    return str(os.getpid()) == os.environ.get(MAIN_PID_ENV, str(os.getpid()))


def stop_requested() -> bool:
    return _STOP["signal"] is not None


def is_stop(exc: BaseException) -> bool:
    """Whether an exception is (or was caused by) a stop signal: the interrupt can surface as another error,
    e.g. a SystemError when it lands inside a compiled (numba) function, or a broken process pool."""
    return isinstance(exc, (KeyboardInterrupt, Interrupted)) or stop_requested()


def exit_code() -> int:
    return EXIT_CODES.get(_STOP["signal"] or signal.SIGINT, 130)


def signal_name() -> str:
    return signal.Signals(_STOP["signal"] or signal.SIGINT).name


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


_EXIT = {"code": 0}


def _leave(signum, frame):
    """A worker told to stop ends at once, running none of what it was doing any further. An exception raised
    into it instead lands at an arbitrary point of library code: between llvmlite handing a compiled module to
    its engine and noting that it did (``ExecutionEngine.add_module``), both then free the module ("free(): double
    free detected", seen in CI), and a process pool's worker catches the exception, reports it and takes the next
    run. A file it was writing keeps its temporary name, which the study's process (it holds the folder's lock)
    removes (``experiments.runner``)."""
    _EXIT["code"] = EXIT_CODES[signal.SIGTERM]
    _exit_at_once()


def _exit_at_once() -> None:
    """A worker's last step (the first exit handler it registered, so the last to run): end the process without
    tearing down the interpreter, which frees the model's objects and compiled kernels one by one and takes 0.5-3 s
    while the parent waits for it. Everything the worker wrote is closed by then (files are written atomically,
    multiprocessing has finished its own exit); only the standard streams are flushed."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(_EXIT["code"])


def worker_init(on_sigint=signal.SIG_IGN, exit_at_once: bool = True) -> None:
    """A worker's set-up: SIGTERM leaves at once, SIGINT as ``on_sigint`` (ignored: the parent decides), and the
    kernel ends it if its parent dies."""
    with contextlib.suppress(ValueError):  # (only in a process's main thread)
        signal.signal(signal.SIGINT, on_sigint)
        signal.signal(signal.SIGTERM, _leave)
    sys.unraisablehook = _unraisable
    _die_with_parent()
    if exit_at_once:
        atexit.register(_exit_at_once)
    logging.getLogger("MESA").setLevel(logging.WARNING)


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
    worker_init(on_sigint=_leave, exit_at_once=False)
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
    before = set(_children(os.getpid()))
    # (None: a Ray of this machine, started now; Ray itself would join the cluster last started here with
    # 'ray start', or wait for ever on one that has since gone)
    ray.init(address=address or "local", include_dashboard=False, log_to_driver=False, configure_logging=False)
    for s, h in handlers.items():
        if callable(h) or h in (signal.SIG_IGN, signal.SIG_DFL):
            with contextlib.suppress(ValueError):
                signal.signal(s, h)
    _RAY_KIDS.update(set(_children(os.getpid())) - before)  # (none when it joined a cluster)


def stop_ray() -> None:
    """``ray.shutdown()``, then this process's stop handlers put back: the shutdown leaves SIGTERM at the system's
    default while Python still reports the handler (a stop while the tables were written killed the process by the
    signal, with no line and a staging folder left)."""
    import ray

    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    ray.shutdown()
    _RAY_KIDS.clear()
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
        for ref in [] if _RAY_KIDS else pending:
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
