"""The second thread's jobs (sim.speed.background.Later): run elsewhere, waited for, errors re-raised; threads are kept
for the next job, yet a job never waits behind another, and a forked child starts its own."""

import os
import signal
import threading

import pytest

from sim.speed import background
from sim.speed.background import Later


def test_a_large_job_runs_on_another_thread_and_a_small_one_here():
    assert Later(True, threading.get_ident).result() != threading.get_ident()
    assert Later(False, threading.get_ident).result() == threading.get_ident()
    assert Later(True, lambda a, b: a + b, 2, 3).result() == 5


def test_with_threads_off_a_large_job_runs_here_too():
    """(a model with the speed machinery off: sim.speed.fast.Plain.on)"""
    token = background.THREADS.set(False)
    try:
        assert Later(True, threading.get_ident).result() == threading.get_ident()
    finally:
        background.THREADS.reset(token)
    assert Later(True, threading.get_ident).result() != threading.get_ident()


def test_an_error_is_raised_where_the_result_is_waited_for():
    def boom():
        raise ValueError("in the job")

    later = Later(True, boom)
    with pytest.raises(ValueError, match="in the job"):
        later.result()
    assert Later(True, lambda: "after").result() == "after"  # the thread goes on to the next job


def test_the_thread_is_kept_for_the_next_job():
    first = Later(True, threading.get_ident).result()
    assert Later(True, threading.get_ident).result() == first
    assert first in {w.ident for w in background._idle}


def test_jobs_at_once_each_have_a_thread_of_their_own():
    # the first waits for the second: were the second queued behind it on a kept thread, this would never end
    go = threading.Event()
    waiting = Later(True, go.wait, 10)
    setter = Later(True, go.set)
    assert setter.result() is None
    assert waiting.result() is True


def test_a_job_can_start_and_wait_for_another():
    def outer():
        return threading.get_ident(), Later(True, threading.get_ident).result()

    here = threading.get_ident()
    outer_thread, inner_thread = Later(True, outer).result()
    assert len({here, outer_thread, inner_thread}) == 3  # each on a thread of its own, none waiting behind another


def test_a_job_runs_once_and_its_result_can_be_asked_for_again():
    calls = []
    later = Later(True, lambda: calls.append(1) or len(calls))
    assert later.result() == 1
    again = threading.Thread(target=later.result)  # a second ask neither runs the job again nor waits forever
    again.start()
    again.join(5)
    assert not again.is_alive() and later.result() == 1 and calls == [1]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_starts_threads_of_its_own():
    Later(True, lambda: None).result()  # a kept thread here, which the child will not have
    assert background._idle
    pid = os.fork()
    if pid == 0:  # the child: a job must still run (not go to a thread of the parent's that does not exist here)
        signal.alarm(10)
        try:
            ok = Later(True, lambda: 7).result() == 7
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
