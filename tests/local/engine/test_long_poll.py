"""Long polls: waiting pollers are woken by new work, FIFO, and released on stop."""

from __future__ import annotations

import gevent

from greenflow.local._clock import VirtualClock
from greenflow.local.storage._store import Store

from .harness import T0, Harness, timer


def long_poll_harness(poll_timeout=5.0) -> Harness:
    h = Harness(Store(":memory:"), VirtualClock(T0))
    h.swf.engine.poll_timeout = poll_timeout
    return h


def test_new_work_wakes_a_waiting_poller():
    h = long_poll_harness()
    try:
        poller = gevent.spawn(h.decision_task)
        gevent.sleep(0.01)
        assert not poller.ready()
        h.start("w1")
        task = poller.get(timeout=2)
        assert task["taskToken"] and task["workflowExecution"]["workflowId"] == "w1"
    finally:
        h.swf.close()


def test_pollers_are_served_first_come_first_served():
    h = long_poll_harness()
    try:
        pollers = []
        for index in range(3):
            pollers.append(gevent.spawn(h.activity_task, identity=f"p{index}"))
            gevent.sleep(0.001)
        run_id = h.start("w1")
        h.decide(*[{"decisionType": "ScheduleActivityTask", "scheduleActivityTaskDecisionAttributes": {
            "activityId": f"a{index}", "activityType": {"name": "act", "version": "1"}}} for index in range(3)])
        got = {g.get(timeout=2)["activityId"] for g in pollers}
        assert got == {"a0", "a1", "a2"}
        started = [e["activityTaskStartedEventAttributes"]["identity"] for e in h.history("w1", run_id)
                   if e["eventType"] == "ActivityTaskStarted"]
        assert started == ["p0", "p1", "p2"]
    finally:
        h.swf.close()


def test_many_idle_pollers_and_stop_releases_them():
    h = long_poll_harness(poll_timeout=30)
    pollers = [gevent.spawn(h.decision_task, "idle") for _ in range(300)]
    gevent.sleep(0.01)
    assert not any(p.ready() for p in pollers)
    h.swf.engine.stop()
    answers = [p.get(timeout=2) for p in pollers]
    assert all(a == {"taskToken": "", "startedEventId": 0, "previousStartedEventId": 0, "events": []}
               for a in answers)
    h.swf.close()


def test_empty_poll_after_timeout():
    h = long_poll_harness(poll_timeout=0.01)
    try:
        assert h.decision_task() == {"taskToken": "", "startedEventId": 0, "previousStartedEventId": 0,
                                     "events": []}
        assert h.activity_task() == {"taskToken": "", "startedEventId": 0}
        assert h.fault("PollForDecisionTask", domain="nope", taskList={"name": "x"}).code == "UnknownResourceFault"
    finally:
        h.swf.close()


def test_scheduler_greenlet_fires_due_timers():
    h = long_poll_harness()
    try:
        h.swf.start()
        h.start("w1")
        h.decide(timer("t", 0))

        def fired() -> int:
            # Read the table directly: any request would fire due timers itself.
            return h.store.connection.execute(
                "SELECT COUNT(*) FROM events WHERE event LIKE '%\"TimerFired\"%'").fetchone()[0]

        assert fired() == 0
        for _ in range(200):
            if fired():
                break
            gevent.sleep(0.01)
        assert fired() == 1
    finally:
        h.swf.close()


def test_too_many_pollers_is_limit_exceeded(monkeypatch):
    from greenflow.local.engine import _queues

    monkeypatch.setattr(_queues, "MAX_POLLERS", 2)
    h = long_poll_harness()
    try:
        waiting = [gevent.spawn(h.decision_task, "busy") for _ in range(2)]
        gevent.sleep(0.01)
        assert h.fault("PollForDecisionTask", domain="dom", taskList={"name": "busy"}).code == "LimitExceededFault"
        h.swf.engine.stop()
        gevent.joinall(waiting, timeout=2)
    finally:
        h.swf.close()


def test_a_failed_claim_puts_the_task_back(monkeypatch):
    h = long_poll_harness(poll_timeout=0.01)
    try:
        run_id = h.start("w1")
        engine = h.swf.engine
        real = engine._claim_decision

        def broken(*args):
            raise OSError("disk full")

        monkeypatch.setattr(engine, "_claim_decision", broken)
        assert isinstance(h.fault_or_error("PollForDecisionTask", domain="dom", taskList={"name": "deciders"}),
                          OSError)
        monkeypatch.setattr(engine, "_claim_decision", real)
        assert h.pending_decisions() == 1
        task = h.decision_task()
        assert task["workflowExecution"]["runId"] == run_id
        assert h.types("w1", run_id) == ["WorkflowExecutionStarted", "DecisionTaskScheduled", "DecisionTaskStarted"]
    finally:
        h.swf.close()
