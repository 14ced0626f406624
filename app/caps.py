"""What the explorer's studies may take of the machine, shared by every session of one server.

Each browser session could otherwise start its own study with a worker per core (six sessions started eight
worker processes on two cores), leave it running after the tab closed, and fill the disk one seed at a time. So:
at most ``max_studies`` studies run at once, with ``max_workers`` worker processes between them, the others wait in
a queue (first come, first served); no study starts while the explorer's folder is over ``disk_quota_mb``; and a
study whose page has gone (tab closed, connection lost: Solara's page status, kept alive by the websocket's pings)
is stopped after ``idle_stop_s``, its finished runs kept as Cancel keeps them.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import sys
import threading
import time

from sim.params import ConfigError

ENV = {"max_studies": "SIM_APP_MAX_STUDIES", "max_workers": "SIM_APP_MAX_WORKERS",
       "disk_quota_mb": "SIM_APP_DISK_QUOTA_MB", "idle_stop_s": "SIM_APP_IDLE_STOP_S"}


def _cpus() -> int:
    from experiments.executors import usable_cpus

    return usable_cpus()


@dataclasses.dataclass(frozen=True)
class Limits:
    max_studies: int = 1
    max_workers: int = dataclasses.field(default_factory=_cpus)
    disk_quota_mb: float = 2000.0
    idle_stop_s: float = 60.0

    @property
    def workers_per_study(self) -> int:
        return max(1, self.max_workers // self.max_studies)

    @classmethod
    def from_env(cls) -> Limits:
        """The limits ``python -m app`` set for this server (environment: the page runs in the same process, but
        Solara may import it afresh)."""
        kinds = {"max_studies": int, "max_workers": int, "disk_quota_mb": float, "idle_stop_s": float}
        given = {k: kinds[k](os.environ[v]) for k, v in ENV.items() if os.environ.get(v)}
        return cls(**given)

    def to_env(self) -> dict:
        return {ENV[k]: str(v) for k, v in dataclasses.asdict(self).items()}


class Stopped(Exception):
    """A study stopped before it started (cancelled or left while in the queue)."""


def used_mb(folder: pathlib.Path) -> float:
    """Megabytes in the files under ``folder`` (links not followed)."""
    total, todo = 0, [pathlib.Path(folder)]
    while todo:
        try:
            entries = list(os.scandir(todo.pop()))
        except OSError:
            continue
        for e in entries:
            try:
                if e.is_dir(follow_symlinks=False):
                    todo.append(pathlib.Path(e.path))
                else:
                    total += e.stat(follow_symlinks=False).st_size
            except OSError:
                continue
    return total / 1e6


def check_quota(results: pathlib.Path, limits: Limits) -> None:
    """Refuse a new study while the explorer's own folder (``results/explorer/``) is over the quota."""
    used = used_mb(pathlib.Path(results) / "explorer")
    if used > limits.disk_quota_mb:
        raise ConfigError(f"the explorer's studies already use {used:,.0f} MB, more than this server's quota of "
                          f"{limits.disk_quota_mb:,.0f} MB (--disk-quota-mb): no new study until old ones are "
                          "deleted or the quota is raised")


def held_by_page(owner) -> bool:
    """Whether the Solara session that started a study still has a page connected to it."""
    if owner is None:
        return True
    from solara.server.kernel_context import PageStatus

    if owner.closed_event.is_set():
        return False
    with owner.lock:
        return PageStatus.CONNECTED in owner.page_status.values()


class Ticket:
    """One study's place: queued, then running, until released; ``stop`` is set when it must end."""

    def __init__(self, owner, workers: int):
        self.owner, self.workers = owner, workers
        self.stop = threading.Event()
        self.reason: str | None = None
        self.away_since: float | None = None


class Scheduler:
    """The queue and the running studies of one server process, and the watchdog that stops the unheld ones."""

    def __init__(self, limits: Limits, held=held_by_page, clock=time.monotonic):
        self.limits, self.held, self.clock = limits, held, clock
        self.cond = threading.Condition()
        self.queue: list[Ticket] = []
        self.running: list[Ticket] = []
        self._watchdog: threading.Thread | None = None

    def submit(self, owner) -> Ticket:
        t = Ticket(owner, self.limits.workers_per_study)
        with self.cond:
            self.queue.append(t)
            if self._watchdog is None:
                self._watchdog = threading.Thread(target=self._watch, name="explorer-idle-stop", daemon=True)
                self._watchdog.start()
            self.cond.notify_all()
        return t

    def position(self, t: Ticket) -> int:
        """1 for the next study to start, 0 once it runs."""
        with self.cond:
            return self.queue.index(t) + 1 if t in self.queue else 0

    def _room(self, t: Ticket) -> bool:
        used = sum(r.workers for r in self.running)
        return len(self.running) < self.limits.max_studies and used + t.workers <= self.limits.max_workers

    def wait(self, t: Ticket, on_wait=None, should_stop=None) -> None:
        """Block until ``t`` may run (then it counts as running); raise :class:`Stopped` if it is stopped first.
        ``on_wait(position)`` is told the place in the queue whenever it changes."""
        shown = None
        while True:
            with self.cond:
                if t.stop.is_set() or (should_stop and should_stop()):
                    self._drop(t)
                    raise Stopped(t.reason or "cancelled while waiting for its turn")
                if self.queue and self.queue[0] is t and self._room(t):
                    self.queue.remove(t)
                    self.running.append(t)
                    return
                place = self.queue.index(t) + 1
            if place != shown and on_wait:
                on_wait(place)
            shown = place
            with self.cond:
                self.cond.wait(0.25)

    def _drop(self, t: Ticket) -> None:
        for where in (self.queue, self.running):
            if t in where:
                where.remove(t)
        self.cond.notify_all()

    def release(self, t: Ticket) -> None:
        with self.cond:
            self._drop(t)

    def sweep(self) -> None:
        """Stop every study (queued or running) whose page has been gone for ``idle_stop_s``."""
        now = self.clock()
        with self.cond:
            tickets = [*self.running, *self.queue]
        for t in tickets:
            if t.stop.is_set():
                continue
            if self.held(t.owner):
                t.away_since = None
                continue
            t.away_since = t.away_since if t.away_since is not None else now
            if now - t.away_since >= self.limits.idle_stop_s:
                t.reason = (f"stopped: its page was gone for {self.limits.idle_stop_s:g} s (--idle-stop-s); "
                            "finished runs are kept")
                t.stop.set()
                print(f"explorer: a study was {t.reason}", file=sys.stderr, flush=True)
                with self.cond:
                    if t in self.queue:
                        self._drop(t)
                    self.cond.notify_all()

    def _watch(self) -> None:
        while True:
            time.sleep(min(1.0, max(self.limits.idle_stop_s / 4, 0.1)))
            try:
                self.sweep()
            except Exception as e:  # the watchdog must outlive any one odd session
                print(f"explorer: idle check failed: {e}", file=sys.stderr, flush=True)


_LOCK = threading.Lock()
_SCHEDULER: Scheduler | None = None


def scheduler() -> Scheduler:
    """This server's scheduler (one per process, made with the limits ``python -m app`` was given)."""
    global _SCHEDULER
    with _LOCK:
        if _SCHEDULER is None:
            _SCHEDULER = Scheduler(Limits.from_env())
        return _SCHEDULER


def run(c, results: pathlib.Path, owner=None, progress=None, should_stop=None, on_wait=None,
        sched: Scheduler | None = None) -> pathlib.Path:
    """Run a checked choice when its turn comes: the command line's checks and the quota first (a refused study
    never waits), then the queue, then the study with this server's share of worker processes."""
    from app import explorer as ex

    sched = sched or scheduler()
    ex.check(c, results)
    check_quota(results, sched.limits)
    t = sched.submit(owner)
    try:
        sched.wait(t, on_wait, should_stop)
        check_quota(results, sched.limits)  # others may have filled it while this one waited
        stop = (lambda: t.stop.is_set() or bool(should_stop and should_stop()))
        return ex.run(c, results, progress=progress, should_stop=stop, workers=t.workers)
    except BaseException as e:
        if t.reason and not isinstance(e, Stopped):
            raise Stopped(t.reason) from None
        raise
    finally:
        sched.release(t)
