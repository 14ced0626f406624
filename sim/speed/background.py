"""A compiled pass over a large network started on a second thread while this one goes on with other work.

The passes given here release the GIL (numba ``nogil``), so they use the core the week otherwise leaves idle
after its contact pass. Each is started and waited for at fixed points of the week, and nothing done in between
reads what it writes: the numbers are the same as doing it at once. Small networks (a study's runs at a few per
cent of an area, which already fill every core with worker processes) do it at once, without a thread.

The threads are kept for the next job: a job goes to an idle one, and to a new thread only if none is idle, so
every job still has a thread of its own and none waits behind another. (``Thread.start`` makes the caller wait
until the new thread has run: on a busy machine about 3 ms a week at 1:1, from 3-4 starts a week, measured.)
"""

from __future__ import annotations

import _thread
import contextvars
import os
import queue
import threading

BIG = 200_000  # tie slots: below this a pass is done at once (a thread costs more than it saves)
# False while a model with the speed machinery switched off builds or steps (sim.speed.fast.Plain.on): every job
# is then done at once, on the thread that asks (a context variable: models stepped in other threads keep theirs)
THREADS: contextvars.ContextVar = contextvars.ContextVar("sim_threads", default=True)

_idle: list = []  # workers waiting for a job (list.append and list.pop are atomic)


class _Worker(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True, name="sim-background")
        self.jobs = queue.SimpleQueue()

    def run(self) -> None:
        while True:
            later, fn, args, done = self.jobs.get()
            later._run(fn, args)
            later = fn = args = None  # (nothing of a finished job is kept alive by an idle thread)
            _idle.append(self)  # idle before the job is seen done: the caller's next job can come here
            done.release()
            done = None


os.register_at_fork(after_in_child=_idle.clear)  # a forked child has none of its parent's threads


def _submit(later, fn, args, done) -> None:
    try:
        w = _idle.pop()
    except IndexError:
        w = _Worker()
        w.start()
    w.jobs.put((later, fn, args, done))


class Later:
    """``fn(*args)`` on a second thread if ``big`` (and threads are on: :data:`THREADS`), else at once;
    :meth:`result` waits for it (and re-raises)."""

    def __init__(self, big: bool, fn, *args):
        self._out, self._error, self._done = None, None, None
        if not (big and THREADS.get()):
            self._out = fn(*args)
            return
        self._done = _thread.allocate_lock()
        self._done.acquire()  # released by the thread when fn has returned or raised
        _submit(self, fn, args, self._done)

    def _run(self, fn, args) -> None:
        try:
            self._out = fn(*args)
        except BaseException as e:  # re-raised by result()
            self._error = e

    def result(self):
        if self._done is not None:
            self._done.acquire()
            self._done = None
            if self._error is not None:
                raise self._error
        return self._out
