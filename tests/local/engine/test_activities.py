"""Activity tasks: polling, priorities, heartbeats, responses and all four timeouts."""

from __future__ import annotations

import pytest

from .harness import ACT, DOMAIN, decision, schedule


def with_activity(h, **attributes):
    run_id = h.start("w1")
    h.decide(schedule("a1", input="in", **attributes))
    return run_id


def test_poll_starts_the_task(h):
    run_id = with_activity(h)
    task = h.activity_task(identity="worker-1")
    assert task == {"taskToken": task["taskToken"], "activityId": "a1", "startedEventId": 6,
                    "workflowExecution": {"workflowId": "w1", "runId": run_id},
                    "activityType": ACT, "input": "in"}
    assert h.last("w1", run_id, "ActivityTaskStarted") == {"identity": "worker-1", "scheduledEventId": 5}
    assert h.pending_activities() == 0
    # Starting an activity is not a trigger for the decider.
    assert h.pending_decisions() == 0
    assert h.activity_task() == {"taskToken": "", "startedEventId": 0}


def test_priority_then_fifo(h):
    h.start("w1")
    h.decide(schedule("low", taskPriority="-1"), schedule("first"), schedule("high", taskPriority="10"),
             schedule("second", taskPriority="0"))
    assert h.pending_activities() == 4
    order = [h.activity_task()["activityId"] for _ in range(4)]
    assert order == ["high", "first", "second", "low"]


def test_decision_task_priority(h):
    h.start("a", taskPriority="1")
    h.start("b", taskPriority="7")
    h.start("c")
    order = [h.decision_task()["workflowExecution"]["workflowId"] for _ in range(3)]
    assert order == ["b", "a", "c"]


@pytest.mark.parametrize("operation, extra, event_type, attrs", [
    ("RespondActivityTaskCompleted", {"result": "r"}, "ActivityTaskCompleted", {"result": "r"}),
    ("RespondActivityTaskFailed", {"reason": "bad", "details": "d"}, "ActivityTaskFailed",
     {"reason": "bad", "details": "d"}),
    ("RespondActivityTaskCanceled", {"details": "d"}, "ActivityTaskCanceled", {"details": "d"}),
])
def test_responses(h, operation, extra, event_type, attrs):
    run_id = with_activity(h)
    task = h.activity_task()
    h(operation, taskToken=task["taskToken"], **extra)
    assert h.last("w1", run_id, event_type) == {**attrs, "scheduledEventId": 5, "startedEventId": 6}
    assert h.types("w1", run_id)[-1] == "DecisionTaskScheduled"
    # Late answers are refused.
    for op in ("RespondActivityTaskCompleted", "RespondActivityTaskFailed", "RespondActivityTaskCanceled",
               "RecordActivityTaskHeartbeat"):
        assert h.fault(op, taskToken=task["taskToken"]).code == "UnknownResourceFault"


def test_bogus_activity_tokens(h):
    with_activity(h)
    task = h.activity_task()
    h("SignalWorkflowExecution", domain=DOMAIN, workflowId="w1", signalName="s")
    dtoken = h.decision_task()["taskToken"]  # a decision token is not an activity token
    for token in ("x", dtoken, task["taskToken"] + "A"):
        assert h.fault("RespondActivityTaskCompleted", taskToken=token).code == "UnknownResourceFault"
    h("RespondActivityTaskCompleted", taskToken=task["taskToken"])


def test_schedule_to_start_timeout(h):
    run_id = with_activity(h, scheduleToStartTimeout="10")
    h.advance(9)
    assert "ActivityTaskTimedOut" not in h.types("w1", run_id)
    h.advance(1)
    assert h.last("w1", run_id, "ActivityTaskTimedOut") == {
        "timeoutType": "SCHEDULE_TO_START", "scheduledEventId": 5, "startedEventId": 0}
    assert h.types("w1", run_id)[-1] == "DecisionTaskScheduled"
    assert h.pending_activities() == 0
    assert h.activity_task()["taskToken"] == ""  # never handed out afterwards


def test_schedule_to_close_timeout(h):
    run_id = with_activity(h, scheduleToCloseTimeout="50", scheduleToStartTimeout="NONE",
                           startToCloseTimeout="NONE")
    h.advance(20)
    task = h.activity_task()
    h.advance(30)
    assert h.last("w1", run_id, "ActivityTaskTimedOut") == {
        "timeoutType": "SCHEDULE_TO_CLOSE", "scheduledEventId": 5, "startedEventId": task["startedEventId"]}
    assert h.fault("RespondActivityTaskCompleted", taskToken=task["taskToken"]).code == "UnknownResourceFault"


def test_start_to_close_timeout(h):
    run_id = with_activity(h, startToCloseTimeout="5", scheduleToCloseTimeout="NONE")
    h.advance(50)
    task = h.activity_task()
    h.advance(4)
    assert "ActivityTaskTimedOut" not in h.types("w1", run_id)
    h.advance(1)
    assert h.last("w1", run_id, "ActivityTaskTimedOut") == {
        "timeoutType": "START_TO_CLOSE", "scheduledEventId": 5, "startedEventId": task["startedEventId"]}
    assert h.fault("RespondActivityTaskFailed", taskToken=task["taskToken"]).code == "UnknownResourceFault"


def test_heartbeat_timeout_keeps_last_details(h):
    run_id = with_activity(h, heartbeatTimeout="10")
    task = h.activity_task()
    for step in range(3):
        h.advance(8)
        assert h("RecordActivityTaskHeartbeat", taskToken=task["taskToken"],
                 details=f"step {step}") == {"cancelRequested": False}
    assert "ActivityTaskTimedOut" not in h.types("w1", run_id)
    h.advance(10)
    assert h.last("w1", run_id, "ActivityTaskTimedOut") == {
        "timeoutType": "HEARTBEAT", "scheduledEventId": 5, "startedEventId": task["startedEventId"],
        "details": "step 2"}
    assert h.fault("RecordActivityTaskHeartbeat", taskToken=task["taskToken"]).code == "UnknownResourceFault"


def test_latest_activity_task_timestamp(h):
    run_id = h.start("w1")
    h.advance(7)
    h.decide(schedule("a"))
    assert h.describe("w1", run_id)["latestActivityTaskTimestamp"] == h.clock.now()


def test_activity_of_closed_run_is_gone(h):
    run_id = with_activity(h)
    task = h.activity_task()
    h("SignalWorkflowExecution", domain=DOMAIN, workflowId="w1", signalName="s")
    h.decide(schedule("a2"), decision("CompleteWorkflowExecution"))
    assert h.describe("w1", run_id)["executionInfo"]["closeStatus"] == "COMPLETED"
    assert h.pending_activities() == 0
    assert h.fault("RespondActivityTaskCompleted", taskToken=task["taskToken"]).code == "UnknownResourceFault"
