"""The 13 decisions, their *Failed events and causes, batching and UNHANDLED_DECISION."""

from __future__ import annotations

import pytest

from greenflow.local.engine import _decisions

from .harness import ACT, DOMAIN, WF, complete, decision, schedule, timer


def started_run(h, workflow_id="w1"):
    run_id = h.start(workflow_id)
    return run_id


def test_schedule_activity_resolves_defaults(h):
    run_id = started_run(h)
    task = h.decide(schedule("a1", input="in", control="c", heartbeatTimeout="10", taskPriority="3"))
    attrs = h.last("w1", run_id, "ActivityTaskScheduled")
    assert attrs == {
        "activityType": ACT, "activityId": "a1", "input": "in", "control": "c",
        "scheduleToStartTimeout": "100", "scheduleToCloseTimeout": "300", "startToCloseTimeout": "200",
        "taskList": {"name": "workers"}, "taskPriority": "3", "heartbeatTimeout": "10",
        "decisionTaskCompletedEventId": task["startedEventId"] + 1}
    assert h.pending_activities() == 1
    # Scheduling is not a trigger: no new decision task.
    assert h.pending_decisions() == 0


@pytest.mark.parametrize("setup, attrs, cause", [
    (None, {"activityType": {"name": "missing", "version": "1"}}, "ACTIVITY_TYPE_DOES_NOT_EXIST"),
    ("deprecate", {}, "ACTIVITY_TYPE_DEPRECATED"),
    ("bare", {"activityType": {"name": "bare", "version": "1"}}, "DEFAULT_TASK_LIST_UNDEFINED"),
    ("bare", {"activityType": {"name": "bare", "version": "1"}, "taskList": {"name": "x"}},
     "DEFAULT_SCHEDULE_TO_START_TIMEOUT_UNDEFINED"),
    ("bare", {"activityType": {"name": "bare", "version": "1"}, "taskList": {"name": "x"},
              "scheduleToStartTimeout": "1"}, "DEFAULT_SCHEDULE_TO_CLOSE_TIMEOUT_UNDEFINED"),
    ("bare", {"activityType": {"name": "bare", "version": "1"}, "taskList": {"name": "x"},
              "scheduleToStartTimeout": "1", "scheduleToCloseTimeout": "1"},
     "DEFAULT_START_TO_CLOSE_TIMEOUT_UNDEFINED"),
])
def test_schedule_activity_failures(h, setup, attrs, cause):
    if setup == "deprecate":
        h("DeprecateActivityType", domain=DOMAIN, activityType=ACT)
    if setup == "bare":
        h("RegisterActivityType", domain=DOMAIN, name="bare", version="1")
    run_id = started_run(h)
    task = h.decide(schedule("a1", **attrs))
    failed = h.last("w1", run_id, "ScheduleActivityTaskFailed")
    assert failed == {"activityType": attrs.get("activityType", ACT), "activityId": "a1", "cause": cause,
                      "decisionTaskCompletedEventId": task["startedEventId"] + 1}
    # A *Failed event makes another decision task follow.
    assert h.types("w1", run_id)[-1] == "DecisionTaskScheduled"
    assert h.pending_activities() == 0


def test_schedule_activity_id_in_use_and_bare_type_with_all_timeouts(h):
    h("RegisterActivityType", domain=DOMAIN, name="bare", version="1")
    run_id = started_run(h)
    h.decide(schedule("a1", activityType={"name": "bare", "version": "1"}, taskList={"name": "x"},
                      scheduleToStartTimeout="1", scheduleToCloseTimeout="NONE", startToCloseTimeout="5"),
             schedule("a1"))
    assert h.last("w1", run_id, "ScheduleActivityTaskFailed")["cause"] == "ACTIVITY_ID_ALREADY_IN_USE"
    assert "heartbeatTimeout" not in h.last("w1", run_id, "ActivityTaskScheduled")


def test_open_limits(h, monkeypatch):
    # The limits are SWF's 1,000; patch them down to test the causes cheaply.
    monkeypatch.setattr(_decisions, "OPEN_LIMIT", 2)
    run_id = started_run(h)
    child = {"workflowType": WF}
    h.decide(schedule("a"), schedule("b"), schedule("c"), timer("t1", 5), timer("t2", 5), timer("t3", 5),
             decision("StartChildWorkflowExecution", workflowId="c1", **child),
             decision("StartChildWorkflowExecution", workflowId="c2", **child),
             decision("StartChildWorkflowExecution", workflowId="c3", **child))
    failures = [e for e in h.history("w1", run_id) if e["eventType"].endswith("Failed")]
    causes = [(e["eventType"], list(e.values())[-1]["cause"]) for e in failures]
    assert causes == [("ScheduleActivityTaskFailed", "OPEN_ACTIVITIES_LIMIT_EXCEEDED"),
                      ("StartTimerFailed", "OPEN_TIMERS_LIMIT_EXCEEDED"),
                      ("StartChildWorkflowExecutionFailed", "OPEN_CHILDREN_LIMIT_EXCEEDED")]
    assert h.describe("w1", run_id)["openCounts"]["openChildWorkflowExecutions"] == 2


def test_request_cancel_activity(h):
    run_id = started_run(h)
    h.decide(schedule("started"), schedule("queued"))
    worker = h.activity_task()
    assert worker["activityId"] == "started"  # same priority: first scheduled, first served
    h("SignalWorkflowExecution", domain=DOMAIN, workflowId="w1", signalName="s")
    task = h.decide(decision("RequestCancelActivityTask", activityId="started"),
                    decision("RequestCancelActivityTask", activityId="queued"),
                    decision("RequestCancelActivityTask", activityId="nope"))
    done = task["startedEventId"] + 1
    tail = [(e["eventType"], e[next(k for k in e if k.endswith("Attributes"))])
            for e in h.history("w1", run_id)[done:]]
    queued_scheduled = h.history("w1", run_id)[5]
    assert queued_scheduled["activityTaskScheduledEventAttributes"]["activityId"] == "queued"
    assert tail[:4] == [
        ("ActivityTaskCancelRequested", {"decisionTaskCompletedEventId": done, "activityId": "started"}),
        ("ActivityTaskCancelRequested", {"decisionTaskCompletedEventId": done, "activityId": "queued"}),
        # Not handed to a worker yet: cancelled at once.
        ("ActivityTaskCanceled", {"scheduledEventId": queued_scheduled["eventId"], "startedEventId": 0,
                                  "latestCancelRequestedEventId": done + 2}),
        ("RequestCancelActivityTaskFailed", {"activityId": "nope", "cause": "ACTIVITY_ID_UNKNOWN",
                                             "decisionTaskCompletedEventId": done}),
    ]
    assert tail[4][0] == "DecisionTaskScheduled" and len(tail) == 5
    assert h.pending_activities() == 0
    # The started one learns of the request through its heartbeat.
    assert h("RecordActivityTaskHeartbeat", taskToken=worker["taskToken"])["cancelRequested"] is True
    h.decide()
    h("RespondActivityTaskCanceled", taskToken=worker["taskToken"], details="undone")
    assert h.last("w1", run_id, "ActivityTaskCanceled") == {
        "details": "undone", "scheduledEventId": 5, "startedEventId": worker["startedEventId"],
        "latestCancelRequestedEventId": done + 1}
    assert h.types("w1", run_id)[-1] == "DecisionTaskScheduled"


def test_complete_fail_cancel_close_the_run(h):
    for workflow_id, closing, status, event_type, attrs in [
        ("c", complete("r"), "COMPLETED", "WorkflowExecutionCompleted", {"result": "r"}),
        ("f", decision("FailWorkflowExecution", reason="why", details="how"), "FAILED",
         "WorkflowExecutionFailed", {"reason": "why", "details": "how"}),
        ("x", decision("CancelWorkflowExecution", details="d"), "CANCELED", "WorkflowExecutionCanceled",
         {"details": "d"}),
    ]:
        run_id = h.start(workflow_id)
        task = h.decide(closing)
        assert h.describe(workflow_id, run_id)["executionInfo"]["closeStatus"] == status
        assert h.last(workflow_id, run_id, event_type) == {
            **attrs, "decisionTaskCompletedEventId": task["startedEventId"] + 1}
        assert h.types(workflow_id, run_id)[-1] == event_type


def test_record_marker_and_timers(h):
    run_id = started_run(h)
    task = h.decide(decision("RecordMarker", markerName="m", details="d"), timer("t1", 10), timer("t2", 20),
                    timer("t1", 5), decision("CancelTimer", timerId="t2"), decision("CancelTimer", timerId="zz"))
    done = task["startedEventId"] + 1
    events = h.history("w1", run_id)[done:]
    got = [(e["eventType"], e[next(k for k in e if k.endswith("Attributes"))]) for e in events]
    t1 = done + 2
    t2 = done + 3
    assert got == [
        ("MarkerRecorded", {"markerName": "m", "details": "d", "decisionTaskCompletedEventId": done}),
        ("TimerStarted", {"timerId": "t1", "startToFireTimeout": "10", "decisionTaskCompletedEventId": done}),
        ("TimerStarted", {"timerId": "t2", "startToFireTimeout": "20", "decisionTaskCompletedEventId": done}),
        ("StartTimerFailed", {"timerId": "t1", "cause": "TIMER_ID_ALREADY_IN_USE",
                              "decisionTaskCompletedEventId": done}),
        ("TimerCanceled", {"timerId": "t2", "startedEventId": t2, "decisionTaskCompletedEventId": done}),
        ("CancelTimerFailed", {"timerId": "zz", "cause": "TIMER_ID_UNKNOWN", "decisionTaskCompletedEventId": done}),
        ("DecisionTaskScheduled", events[-1]["decisionTaskScheduledEventAttributes"]),
    ]
    h.decide()
    h.advance(9)
    assert "TimerFired" not in h.types("w1", run_id)
    h.advance(1)
    assert h.last("w1", run_id, "TimerFired") == {"timerId": "t1", "startedEventId": t1}
    assert h.types("w1", run_id)[-1] == "DecisionTaskScheduled"
    h.advance(100)  # t2 was cancelled: it never fires
    assert h.types("w1", run_id).count("TimerFired") == 1


def test_schedule_lambda_is_not_available(h):
    run_id = started_run(h)
    task = h.decide(decision("ScheduleLambdaFunction", id="l1", name="fn"))
    assert h.last("w1", run_id, "ScheduleLambdaFunctionFailed") == {
        "id": "l1", "name": "fn", "cause": "LAMBDA_SERVICE_NOT_AVAILABLE_IN_REGION",
        "decisionTaskCompletedEventId": task["startedEventId"] + 1}


def test_events_during_a_task_queue_exactly_one_more(h):
    run_id = started_run(h)
    task = h.decision_task()
    for name in ("a", "b", "c"):
        h("SignalWorkflowExecution", domain=DOMAIN, workflowId="w1", signalName=name)
    assert h.pending_decisions() == 0
    assert h.describe("w1", run_id)["openCounts"]["openDecisionTasks"] == 1
    h("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=[])
    types = h.types("w1", run_id)
    assert types[task["startedEventId"] - 1:] == ["DecisionTaskStarted"] + ["WorkflowExecutionSignaled"] * 3 + [
        "DecisionTaskCompleted", "DecisionTaskScheduled"]
    assert h.pending_decisions() == 1
    second = h.decision_task()
    assert second["previousStartedEventId"] == task["startedEventId"]


@pytest.mark.parametrize("closing, failed_type", [
    (complete("r"), "CompleteWorkflowExecutionFailed"),
    (decision("FailWorkflowExecution"), "FailWorkflowExecutionFailed"),
    (decision("CancelWorkflowExecution"), "CancelWorkflowExecutionFailed"),
    (decision("ContinueAsNewWorkflowExecution"), "ContinueAsNewWorkflowExecutionFailed"),
])
def test_close_after_new_events_is_unhandled_decision(h, closing, failed_type):
    run_id = started_run(h)
    task = h.decision_task()
    h("SignalWorkflowExecution", domain=DOMAIN, workflowId="w1", signalName="late")
    h("RespondDecisionTaskCompleted", taskToken=task["taskToken"],
      decisions=[decision("RecordMarker", markerName="kept"), closing])
    done = task["startedEventId"] + 2  # the signal came first
    assert h.last("w1", run_id, failed_type) == {"cause": "UNHANDLED_DECISION", "decisionTaskCompletedEventId": done}
    assert h.last("w1", run_id, "MarkerRecorded")["markerName"] == "kept"  # the rest of the batch applied
    assert h.describe("w1", run_id)["executionInfo"]["executionStatus"] == "OPEN"
    assert h.types("w1", run_id)[-1] == "DecisionTaskScheduled"
    assert h.types("w1", run_id).count("DecisionTaskScheduled") == 2
    h.decide(complete())
    assert h.describe("w1", run_id)["executionInfo"]["closeStatus"] == "COMPLETED"


@pytest.mark.parametrize("decisions", [
    [{"decisionType": "Explode"}],
    [{"decisionType": "StartTimer"}],
    [{"decisionType": "StartTimer", "startTimerDecisionAttributes": {"timerId": "t"}}],
    [{"decisionType": "StartTimer", "startTimerDecisionAttributes": {"timerId": "t", "startToFireTimeout": "NONE"}}],
    [{"decisionType": "ScheduleActivityTask",
      "scheduleActivityTaskDecisionAttributes": {"activityId": "a", "activityType": {"name": "act"}}}],
    [schedule("a", scheduleToStartTimeout="-1")],
    [complete(), schedule("a")],
    [schedule("a"), complete(), complete()],
])
def test_invalid_batch_applies_nothing_and_task_stays_open(h, decisions):
    run_id = started_run(h)
    task = h.decision_task()
    before = h.types("w1", run_id)
    fault = h.fault("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=decisions)
    assert fault.code == "ValidationException"
    assert h.types("w1", run_id) == before
    h("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=[complete()])
    assert h.describe("w1", run_id)["executionInfo"]["closeStatus"] == "COMPLETED"


def test_stale_and_bogus_decision_tokens(h):
    started_run(h)
    task = h.decision_task()
    h("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=[])
    for token in (task["taskToken"], "garbage", "W10", task["taskToken"][:-2]):
        assert h.fault("RespondDecisionTaskCompleted", taskToken=token).code == "UnknownResourceFault"


def test_task_list_override_is_used_for_next_decision_tasks(h):
    run_id = started_run(h)
    h.decide(timer("t", 1), taskList={"name": "sticky"})
    assert h.last("w1", run_id, "DecisionTaskCompleted")["taskList"] == {"name": "sticky"}
    h.advance(1)
    assert h.pending_decisions("sticky") == 1 and h.pending_decisions() == 0


def test_continue_as_new(h):
    run_id = h.start("w1", input="first", tagList=["t"])
    task = h.decide(decision("ContinueAsNewWorkflowExecution", input="second", tagList=["u"],
                             taskStartToCloseTimeout="12"))
    old = h.describe("w1", run_id)["executionInfo"]
    assert old["closeStatus"] == "CONTINUED_AS_NEW"
    attrs = h.last("w1", run_id, "WorkflowExecutionContinuedAsNew")
    new_run = attrs["newExecutionRunId"]
    assert attrs == {"input": "second", "decisionTaskCompletedEventId": task["startedEventId"] + 1,
                     "newExecutionRunId": new_run, "executionStartToCloseTimeout": "3600",
                     "taskList": {"name": "deciders"}, "taskStartToCloseTimeout": "12",
                     "childPolicy": "TERMINATE", "tagList": ["u"], "workflowType": WF}
    started = h.last("w1", new_run, "WorkflowExecutionStarted")
    assert started["continuedExecutionRunId"] == run_id and started["input"] == "second"
    assert h.describe("w1", new_run)["executionInfo"]["executionStatus"] == "OPEN"
    assert h.decision_task()["workflowExecution"] == {"workflowId": "w1", "runId": new_run}


def test_continue_as_new_failures(h):
    h("RegisterWorkflowType", domain=DOMAIN, name="wf", version="bare")
    run_id = h.start("w1")
    h.decide(decision("ContinueAsNewWorkflowExecution", workflowTypeVersion="nope"))
    assert h.last("w1", run_id, "ContinueAsNewWorkflowExecutionFailed")["cause"] == "WORKFLOW_TYPE_DOES_NOT_EXIST"
    h.decide(decision("ContinueAsNewWorkflowExecution", workflowTypeVersion="bare"))
    assert h.last("w1", run_id, "ContinueAsNewWorkflowExecutionFailed")["cause"] == "DEFAULT_TASK_LIST_UNDEFINED"
    h.decide(decision("ContinueAsNewWorkflowExecution", workflowTypeVersion="bare", taskList={"name": "d"}))
    assert h.last("w1", run_id, "ContinueAsNewWorkflowExecutionFailed")["cause"] == \
        "DEFAULT_EXECUTION_START_TO_CLOSE_TIMEOUT_UNDEFINED"
    h("DeprecateWorkflowType", domain=DOMAIN, workflowType=WF)
    h.decide(decision("ContinueAsNewWorkflowExecution"))
    assert h.last("w1", run_id, "ContinueAsNewWorkflowExecutionFailed")["cause"] == "WORKFLOW_TYPE_DEPRECATED"
    assert h.describe("w1", run_id)["executionInfo"]["executionStatus"] == "OPEN"


# ---------------------------------------------------------------------------- invalid text

BAD = "a\ud800b"  # a lone UTF-16 surrogate: JSON can escape it, nothing can store it


@pytest.mark.parametrize("bad_decision, failed_event, identity", [
    (schedule(BAD), "ScheduleActivityTaskFailed", {"activityId": BAD}),
    (schedule("a1", input=BAD), "ScheduleActivityTaskFailed", {"activityId": "a1"}),
    (decision("RequestCancelActivityTask", activityId=BAD), "RequestCancelActivityTaskFailed", {"activityId": BAD}),
    (decision("RecordMarker", markerName=BAD), "RecordMarkerFailed", {"markerName": BAD}),
    (decision("RecordMarker", markerName="m", details=BAD), "RecordMarkerFailed", {"markerName": "m"}),
    (timer(BAD, 5), "StartTimerFailed", {"timerId": BAD}),
    (decision("CancelTimer", timerId=BAD), "CancelTimerFailed", {"timerId": BAD}),
    (decision("SignalExternalWorkflowExecution", workflowId=BAD, signalName="s"),
     "SignalExternalWorkflowExecutionFailed", {"workflowId": BAD, "initiatedEventId": 6}),
    (decision("RequestCancelExternalWorkflowExecution", workflowId="w2", control=BAD),
     "RequestCancelExternalWorkflowExecutionFailed", {"workflowId": "w2", "control": BAD, "initiatedEventId": 6}),
    (decision("StartChildWorkflowExecution", workflowType=WF, workflowId=BAD),
     "StartChildWorkflowExecutionFailed", {"workflowId": BAD, "initiatedEventId": 0}),
    (complete(BAD), "CompleteWorkflowExecutionFailed", {}),
    (decision("FailWorkflowExecution", reason=BAD), "FailWorkflowExecutionFailed", {}),
    (decision("CancelWorkflowExecution", details=BAD), "CancelWorkflowExecutionFailed", {}),
    (decision("ContinueAsNewWorkflowExecution", input=BAD), "ContinueAsNewWorkflowExecutionFailed", {}),
])
def test_decision_holding_a_lone_surrogate_fails_with_its_failed_event(h, bad_decision, failed_event, identity):
    run_id = started_run(h)
    # The other decisions of the batch are carried out; the bad one is failed, not the batch.
    task = h.decide(timer("t-ok", 60), bad_decision)
    attrs = h.last("w1", run_id, failed_event)
    assert attrs["cause"] == "OPERATION_NOT_PERMITTED"
    assert attrs["decisionTaskCompletedEventId"] == task["startedEventId"] + 1
    assert {name: attrs.get(name) for name in identity} == identity
    assert "TimerStarted" in h.types("w1", run_id)
    assert h.describe("w1", run_id)["executionInfo"]["executionStatus"] == "OPEN"
    # As for any failed decision, a decision task follows, and the run goes on.
    h.decide(complete("done"))
    assert h.describe("w1", run_id)["executionInfo"]["closeStatus"] == "COMPLETED"


def test_lone_surrogate_outside_the_decisions_is_refused(h):
    started_run(h)
    task = h.decision_task()
    fault = h.fault("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=[],
                    executionContext=BAD)
    assert fault.code == "ValidationException"
    assert "executionContext" in fault.message and "lone UTF-16 surrogate" in fault.message
