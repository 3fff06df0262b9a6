"""The step watchdog: workflow code that runs too long without yielding (a CPU loop, real
blocking I/O gevent does not patch) fails its decision task with a clear error, never hangs."""

from __future__ import annotations

import logging
import time

import pytest
from gevent import monkey

import greenflow.workflow as wf
from greenflow.worker import Decider
from greenflow import errors
from greenflow.workflow import _watchdog

from .history import History, Sim, kinds
from .workflows import Acts

#: How long the looping workflows below would run if nothing stopped them: a failing
#: watchdog makes the test fail after this long instead of hanging.
GIVE_UP = 30.0
real_sleep = monkey.get_original("time", "sleep")


class Spins(wf.WorkflowDefinition):
    @wf.execute(version="1.0")
    def run(self):
        spins = 0
        try:
            with wf.allow_unsafe_calls():  # reads the real clock to bound the loop
                until = time.monotonic() + GIVE_UP
                while time.monotonic() < until:  # a CPU-bound loop
                    spins += 1
        except Exception:  # noqa: BLE001 - the watchdog's exception must not be swallowable
            return "swallowed"
        return "ran to the end"


class SleepsForReal(wf.WorkflowDefinition):
    @wf.execute(version="1.0")
    def run(self):
        real_sleep(1.0)  # blocking I/O that gevent's monkey-patching does not cover
        return "slept"


class Quick(wf.WorkflowDefinition):
    @wf.execute(version="1.0")
    def run(self):
        return Acts.add(1, 2)


def decide(cls, **options):
    decider = Decider([cls], **options)
    return decider, Sim(decider, History(cls.__name__, "1.0"))


def test_a_cpu_loop_is_stopped_with_an_error_naming_the_line(caplog):
    decider, sim = decide(Spins, step_timeout=0.3)
    began = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="greenflow.workflow"):
        with pytest.raises(errors.WorkflowBlockingError, match=r"GF-STEP-TIMEOUT.*test_watchdog\.py:\d+ in run\(\)"):
            sim.step()
    assert time.monotonic() - began < GIVE_UP  # stopped, not run to its end
    assert len(decider) == 0  # the run is not cached: the task is retried from scratch
    assert any("GF-STEP-TIMEOUT" in record.getMessage() for record in caplog.records)


def test_real_blocking_io_is_reported_while_it_blocks_and_fails_the_task(caplog):
    decider, sim = decide(SleepsForReal, step_timeout=0.2)
    with caplog.at_level(logging.ERROR, logger="greenflow.workflow"):
        with pytest.raises(errors.WorkflowBlockingError, match="GF-STEP-TIMEOUT"):
            sim.step()
    assert any("test_watchdog.py" in record.getMessage() for record in caplog.records)


def test_the_decider_thread_is_usable_after_a_stopped_step():
    _, sim = decide(Spins, step_timeout=0.2)
    with pytest.raises(errors.WorkflowBlockingError):
        sim.step()
    # Same thread, next task: normal workflows run, and no stray exception is left pending.
    _, quick = decide(Quick, step_timeout=0.2)
    assert kinds(quick.step()) == ["ScheduleActivityTask"]
    time.sleep(3 * _watchdog.CHECK_INTERVAL)
    assert kinds(decide(Quick)[1].step()) == ["ScheduleActivityTask"]


def test_step_timeout_none_turns_the_check_off():
    class SpinsBriefly(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            with wf.allow_unsafe_calls():
                until = time.monotonic() + 0.5
                while time.monotonic() < until:
                    pass
            return "done"

    _, sim = decide(SpinsBriefly, step_timeout=None)
    assert kinds(sim.step()) == ["CompleteWorkflowExecution"]


def test_bad_step_timeout_is_refused():
    with pytest.raises(ValueError, match="step_timeout"):
        Decider([Quick], step_timeout=-1)
    with pytest.raises(ValueError, match="step_timeout"):
        Decider([Quick], step_timeout="2")


def test_time_spent_waiting_for_a_cpu_is_not_counted(monkeypatch):
    # A machine overloaded by other processes: every real second of the step is spent in
    # the run queue, as the kernel's schedstat reports it. The step's own work is short,
    # so the watchdog must not blame workflow code for the starvation.
    started = time.monotonic()
    monkeypatch.setattr(_watchdog, "runqueue_wait", lambda native_id: time.monotonic() - started)

    class StarvedBriefly(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            real_sleep(1.0)  # stands for a step that waits for a CPU (see runqueue_wait above)
            return "done"

    _, sim = decide(StarvedBriefly, step_timeout=0.3)
    assert kinds(sim.step()) == ["CompleteWorkflowExecution"]


def test_the_run_queue_wait_of_a_real_thread_is_read():
    import threading
    before = _watchdog.runqueue_wait(threading.get_native_id())
    assert before >= 0.0
    assert _watchdog.runqueue_wait(-1) == 0.0  # no such thread: nothing counted
