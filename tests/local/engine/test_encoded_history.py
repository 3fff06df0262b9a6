"""History events are encoded once, when recorded, and served as that text from then on.

Whether a history comes from the run's cached history, from its rows after the cache
dropped it, or from a closed run's rows, a client reads the same events; and each stored
text is exactly what encoding the event afresh gives.
"""

from __future__ import annotations

import json

from greenflow.local.wire._json import dumps

from .harness import DOMAIN, complete, decision, schedule, timer


def busy_run(h) -> str:
    """A run whose history holds many event types (signals, activities, timers, markers...)."""
    run_id = h.start("w1", input="in", tagList=["t"])
    h("SignalWorkflowExecution", domain=DOMAIN, workflowId="w1", signalName="s", input="\u00e9\U0001F600")
    h.decide(schedule("a1", input="x"), schedule("a2"), timer("t1", 5),
             decision("RecordMarker", markerName="m", details="d"),
             decision("ScheduleActivityTask", activityId="bad", activityType={"name": "nope", "version": "9"}))
    task = h.activity_task()
    h("RespondActivityTaskCompleted", taskToken=task["taskToken"], result="r")
    task = h.activity_task()
    h("RespondActivityTaskFailed", taskToken=task["taskToken"], reason="why", details="how")
    h.advance(6)
    h("RequestCancelWorkflowExecution", domain=DOMAIN, workflowId="w1")
    h.decide(timer("t2", 50), decision("CancelTimer", timerId="t2"))
    h("SignalWorkflowExecution", domain=DOMAIN, workflowId="w1", signalName="again")  # a decision task is due
    return run_id


def stored_texts(h, run_id: str) -> list[str]:
    rows = h.store.connection.execute(
        "SELECT event FROM events WHERE domain=? AND workflow_id='w1' AND run_id=? ORDER BY event_id",
        (DOMAIN, run_id)).fetchall()
    return [row[0] for row in rows]


def open_execution(h):
    return h.swf.engine.core.open_run(DOMAIN, "w1")


def test_cached_reloaded_and_closed_histories_read_the_same(h):
    run_id = busy_run(h)
    cached = h.history("w1", run_id)
    types = {event["eventType"] for event in cached}
    assert {"WorkflowExecutionSignaled", "ActivityTaskCompleted", "ActivityTaskFailed", "TimerFired",
            "MarkerRecorded", "ScheduleActivityTaskFailed", "WorkflowExecutionCancelRequested",
            "TimerCanceled"} <= types
    ex = open_execution(h)
    assert ex.events == stored_texts(h, run_id)  # the cache holds exactly the rows' texts
    ex.events = None  # dropped from the history cache: served from the rows again
    assert h.history("w1", run_id) == cached
    task = h.decision_task()  # reloads the history and appends DecisionTaskStarted to it
    assert task["events"] == h.history("w1", run_id)
    assert task["events"][:len(cached)] == cached
    h("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=[complete("done")])
    closed = h.history("w1", run_id)
    assert closed[:len(task["events"])] == task["events"]
    assert closed[-1]["eventType"] == "WorkflowExecutionCompleted"


def test_each_stored_event_is_its_fresh_encoding(h):
    run_id = busy_run(h)
    h.decide(complete("done"))
    assert h.describe("w1", run_id)["executionInfo"]["executionStatus"] == "CLOSED"
    texts = stored_texts(h, run_id)
    assert len({json.loads(text)["eventType"] for text in texts}) >= 15
    for text in texts:
        assert dumps(json.loads(text)) == text
