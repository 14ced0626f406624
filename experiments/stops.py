"""Stop signals: what a Ctrl-C or a SIGTERM does, in the command's process and in its workers.

SIGTERM (what ``timeout``, SLURM and container runtimes send) is turned into the same ``KeyboardInterrupt`` as
Ctrl-C, so one code path handles both: finished work is kept, workers are terminated (none is left running and
writing), half-written files never appear (everything is written atomically), and the command line prints one line
saying what was kept (a stop that lands inside a finaliser, where Python would print it and carry on, is
delivered again a moment later; a second signal while the stop is under way, a double Ctrl-C, is not raised into
its clean-up). Workers end at once on SIGTERM, without raising anything into what they were doing, ignore SIGINT
(the parent decides) and ask the kernel to end them if their parent dies (``PR_SET_PDEATHSIG``), so even a
SIGKILLed parent leaves no orphan still writing (:func:`worker_init`). Where the work itself runs (local processes,
Ray, submitit) is :mod:`experiments.executors`.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import logging
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


def children(pid: int) -> list[int]:
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


RAY_KIDS: set = set()  # the processes of a Ray this process started (start_ray), which a stop leaves to stop_ray


def stopchildren(grace: float = 3.0) -> None:
    """SIGTERM every direct child (launcher workers, pool workers, local job processes), give them ``grace``
    seconds to clean up after themselves, then SIGKILL what is left (their own workers follow by
    PR_SET_PDEATHSIG)."""
    kids = [k for k in children(os.getpid()) if k not in RAY_KIDS]  # (a Ray started here: stop_ray ends it)
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
        stopchildren()
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


def leave_now(signum, frame):
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
        signal.signal(signal.SIGTERM, leave_now)
    sys.unraisablehook = _unraisable
    _die_with_parent()
    if exit_at_once:
        atexit.register(_exit_at_once)
    logging.getLogger("MESA").setLevel(logging.WARNING)
