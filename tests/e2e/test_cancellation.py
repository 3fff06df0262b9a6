"""Cancellation (issue 8, section 2): delivered once, to the whole scope, with ``shield()``.

Local service over HTTP, real workers. The ``work`` activity heartbeats until SWF tells it
it was cancelled (or its workflow closed); ``cleanup`` and ``charge`` wait for the test.
"""

from __future__ import annotations

import gevent
import gevent.event
import pytest

from greenflow import errors
from greenflow.activity import activities, activity, heartbeat
from greenflow.testing import wait_until as wait_for
from greenflow.workflow import WorkflowDefinition, execute, shield, spawn, wait_all

TIMEOUTS = dict(schedule_to_start_timeout=300, start_to_close_timeout=300, heartbeat_timeout=300)


@activities(**TIMEOUTS)
class Jobs:
    """Activities whose ends the tests control."""

    def __init__(self):
        self.release = gevent.event.Event()
        self.cancelled: list[str] = []

    @activity(version="1.0")
    def work(self, name: str) -> str:
        for _ in range(1000):  # at most ~20 s
            try:
                heartbeat()
            except errors.CancelledError:
                self.cancelled.append(name)
                raise
            gevent.sleep(0.02)
        return name

    @activity(version="1.0")
    def cleanup(self) -> str:
        self.release.wait(20)
        return "cleaned"

    @activity(version="1.0")
    def charge(self) -> str:
        self.release.wait(20)
        return "charged"


def _events(handle):
    return [(e["eventType"], e) for e in handle.history()]


def _count(handle, event_type):
    return sum(1 for kind, _ in _events(handle) if kind == event_type)


def _started(handle, activity_name, started=1):
    """Wait until ``activity_name`` was scheduled and ``started`` activities in all have started."""
    wait_for(lambda: any(kind == "ActivityTaskScheduled"
                         and e["activityTaskScheduledEventAttributes"]["activityType"]["name"] == activity_name
                         for kind, e in _events(handle))
             and _count(handle, "ActivityTaskStarted") >= started, timeout=20, what=f"{activity_name} to start")


def _decided(handle):
    wait_for(lambda: handle.describe()["openCounts"]["openDecisionTasks"] == 0, timeout=20, what="decisions")


def _cancelled_result(handle):
    with pytest.raises(errors.WorkflowCanceledError):
        handle.result(timeout=20)
    assert handle.history()[-1]["eventType"] == "WorkflowExecutionCanceled"


class CleansUp(WorkflowDefinition):
    """Runs a cleanup activity when cancelled."""

    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self) -> str:
        try:
            return Jobs.work("main")
        except errors.CancelledError:
            self.cleaned = Jobs.cleanup()
            raise


def test_a_second_cancel_request_does_not_abort_the_cleanup(env):
    jobs = Jobs()
    env.workflow_worker(CleansUp)
    env.activity_worker(jobs)
    handle = env.client().start(CleansUp.run)
    _started(handle, "Jobs.work")
    handle.cancel()
    _started(handle, "Jobs.cleanup", started=2)
    handle.cancel()  # while the cleanup runs
    wait_for(lambda: _count(handle, "WorkflowExecutionCancelRequested") == 2, what="the second request")
    _decided(handle)
    jobs.release.set()
    _cancelled_result(handle)
    kinds = [kind for kind, _ in _events(handle)]
    assert kinds.count("ActivityTaskCancelRequested") == 1  # only `work`'s, never the cleanup's
    assert "ActivityTaskCompleted" in kinds  # the cleanup finished before the workflow closed


class FansOut(WorkflowDefinition):
    """Three activities in spawned greenlets; main waits in wait_all or in one future's result()."""

    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self, how: str) -> list:
        futures = [spawn(Jobs.work, name) for name in ("a", "b", "c")]
        if how == "wait_all":
            return wait_all(futures)
        return [futures[0].result()]


@pytest.mark.parametrize("how", ["wait_all", "result"])
def test_a_workflow_cancel_reaches_every_activity_of_its_scope(env, how):
    jobs = Jobs()
    env.workflow_worker(FansOut)
    env.activity_worker(jobs)
    handle = env.client().start(FansOut.run, how)
    _started(handle, "Jobs.work", started=3)
    handle.cancel()
    _cancelled_result(handle)
    assert _count(handle, "ActivityTaskCancelRequested") == 3
    wait_for(lambda: sorted(jobs.cancelled) == ["a", "b", "c"], what="the activities to learn they were cancelled")


class Shielded(WorkflowDefinition):
    """A charge that must not be abandoned half-way: the cancel waits for it."""

    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self) -> str:
        ticker = spawn(Jobs.work, "ticker")
        with shield():
            self.charged = Jobs.charge()
        ticker.result()
        return "not reached"


def test_shield_keeps_cancellation_from_interrupting_its_block(env):
    jobs = Jobs()
    env.workflow_worker(Shielded)
    env.activity_worker(jobs)
    handle = env.client().start(Shielded.run)
    _started(handle, "Jobs.charge", started=2)
    handle.cancel()
    _decided(handle)
    assert handle.describe()["executionInfo"]["executionStatus"] == "OPEN"
    history = _events(handle)
    cancelled_ids = [e["activityTaskCancelRequestedEventAttributes"]["activityId"] for kind, e in history
                     if kind == "ActivityTaskCancelRequested"]
    ticker_id = next(e["activityTaskScheduledEventAttributes"]["activityId"] for kind, e in history
                     if kind == "ActivityTaskScheduled"
                     and e["activityTaskScheduledEventAttributes"]["activityType"]["name"] == "Jobs.work")
    assert cancelled_ids == [ticker_id]  # the unshielded sibling only
    jobs.release.set()
    _cancelled_result(handle)  # delivered when the shielded block ended
    assert [kind for kind, _ in _events(handle)].count("ActivityTaskCompleted") == 1
