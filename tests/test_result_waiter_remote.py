"""The result waiter on a service that is not greenflow's (Amazon SWF's behaviour): listings
at an interval, never held, reading back the visibility lag; closes that become visible
late are still found. A fake SWF client stands in for Amazon SWF here (no AWS in tests)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import gevent
import pytest

from greenflow import _result_waiter
from greenflow._result_waiter import ResultWaiter


class FakeSWF:
    """Answers ListClosedWorkflowExecutions and GetWorkflowExecutionHistory from dicts."""

    greenflow_service = None  # Amazon SWF names no greenflow service

    def __init__(self) -> None:
        self.closed: list[tuple[str, str, float]] = []   # visible closes: (workflow ID, run ID, close time)
        self.events: dict[tuple[str, str], dict] = {}
        self.calls: list[tuple[str, dict]] = []
        self.lock = threading.Lock()

    @property
    def botocore(self):  # pragma: no cover - the waiter must not touch it off greenflow
        raise AssertionError("the wait header hook was installed for a non-greenflow service")

    def close(self, workflow_id: str, run_id: str, when: float) -> None:
        self.events[(workflow_id, run_id)] = {"eventType": "WorkflowExecutionCompleted",
                                              "workflowExecutionCompletedEventAttributes": {"result": "1"}}
        self.closed.append((workflow_id, run_id, when))

    def call(self, operation: str, **params):
        self.calls.append((operation, params))
        if operation == "ListClosedWorkflowExecutions":
            oldest = params["closeTimeFilter"]["oldestDate"]
            rows = sorted((c for c in self.closed if c[2] >= oldest), key=lambda c: -c[2])
            limit = params.get("maximumPageSize", 1000)
            return {"executionInfos": [
                {"execution": {"workflowId": w, "runId": r},
                 "closeTimestamp": datetime.fromtimestamp(t, timezone.utc)} for w, r, t in rows[:limit]]}
        if operation == "GetWorkflowExecutionHistory":
            key = (params["execution"]["workflowId"], params["execution"]["runId"])
            event = self.events.get(key, {"eventType": "WorkflowExecutionStarted"})
            return {"events": [event]}
        raise AssertionError(operation)

    call_once = call  # no retries to leave out here


@pytest.fixture
def fast_intervals(monkeypatch):
    monkeypatch.setattr(_result_waiter, "LIST_INTERVAL_REMOTE", 0.05)
    monkeypatch.setattr(_result_waiter, "VISIBILITY_LAG_REMOTE", 10.0)


def test_lists_at_an_interval_and_finds_a_close_that_became_visible_late(fast_intervals):
    swf = FakeSWF()
    waiter = ResultWaiter(swf, "d")
    now = time.time()
    swf.close("old", "r0", now - 100)
    waiter.prime()
    started = time.monotonic()
    gevent.sleep(0.2)  # the watcher covers the domain now
    result = gevent.spawn(waiter.close_event, "wf", "r1", started_at=time.monotonic(),
                          deadline=time.monotonic() + 10)
    gevent.sleep(0.3)
    # Closed 5 s "ago" but only visible now (SWF's eventual consistency): within the lag read back.
    swf.close("wf", "r1", time.time() - 5)
    event = result.get(timeout=5)
    assert event["eventType"] == "WorkflowExecutionCompleted"
    listings = [params for op, params in swf.calls if op == "ListClosedWorkflowExecutions"]
    elapsed = time.monotonic() - started
    # One listing per interval at most (never a storm), none held (no header hook either).
    assert 2 <= len(listings) <= elapsed / 0.05 + 2
    # The first check was skipped (started while covered); one read of the close event.
    assert waiter.checks == 0 and waiter.reads == 1
    waiter.stop()


def test_many_waiters_on_one_run_read_its_close_event_once(fast_intervals):
    swf = FakeSWF()
    waiter = ResultWaiter(swf, "d")
    waiter.prime()
    gevent.sleep(0.1)
    now = time.monotonic()
    waiters = [gevent.spawn(waiter.close_event, "wf", "r", started_at=now, deadline=now + 10) for _ in range(50)]
    gevent.sleep(0.1)
    swf.close("wf", "r", time.time())
    gevent.joinall(waiters, timeout=5, raise_error=True)
    assert all(w.value["eventType"] == "WorkflowExecutionCompleted" for w in waiters)
    assert sum(1 for op, _ in swf.calls if op == "GetWorkflowExecutionHistory") == 1
    waiter.stop()


def test_a_deadline_returns_none_while_open(fast_intervals):
    swf = FakeSWF()
    waiter = ResultWaiter(swf, "d")
    assert waiter.close_event("wf", "r", deadline=time.monotonic() + 0.2) is None
    assert waiter.checks == 1  # not covered (no started_at): one first check
    waiter.stop()
