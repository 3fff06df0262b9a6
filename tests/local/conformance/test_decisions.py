"""The 13 decisions: the events of each happy path, and every ``*Failed`` cause that can
happen on a local service (cross-execution ones are in test_children.py)."""

from __future__ import annotations

import datetime

import pytest

START = 1_767_225_600.0


def _ts(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)


def _failed(swf, execution: dict, event_type: str) -> dict:
    """The attributes of the one ``event_type`` event, which must be followed by a new
    decision task (a decision failure is a state change the decider must see)."""
    attributes = swf.one(execution, event_type)
    types = swf.types(execution)
    assert "DecisionTaskScheduled" in types[types.index(event_type):], types
    swf.decision_task(execution)
    return attributes


# -- ScheduleActivityTask -----------------------------------------------------------------

def test_schedule_activity_task_happy_path(swf, client):
    execution = swf.start()
    swf.advance(1)
    swf.decide(execution, [swf.schedule("a1", input="in", control="ctl", taskPriority="7")])
    events = swf.history(execution)
    assert [e["eventType"] for e in events] == [
        "WorkflowExecutionStarted", "DecisionTaskScheduled", "DecisionTaskStarted",
        "DecisionTaskCompleted", "ActivityTaskScheduled"]
    completed = events[3]["decisionTaskCompletedEventAttributes"]
    assert (completed["scheduledEventId"], completed["startedEventId"]) == (2, 3)
    scheduled = events[4]["activityTaskScheduledEventAttributes"]
    assert scheduled["activityId"] == "a1"
    assert scheduled["activityType"] == swf.activity_type
    assert scheduled["input"] == "in"
    assert scheduled["control"] == "ctl"
    assert scheduled["taskPriority"] == "7"
    assert scheduled["taskList"] == {"name": swf.activity_list}
    assert scheduled["decisionTaskCompletedEventId"] == 4
    for timeout in ("scheduleToStartTimeout", "scheduleToCloseTimeout", "startToCloseTimeout",
                    "heartbeatTimeout"):
        assert scheduled[timeout] == "NONE", timeout  # the activity type's defaults
    assert swf.pending_decisions() == 0, "scheduling an activity must not schedule a decision"

    swf.advance(1)
    task = swf.activity_task(identity="worker-1")
    assert task["activityId"] == "a1"
    assert task["activityType"] == swf.activity_type
    assert task["workflowExecution"] == execution
    assert task["input"] == "in"
    assert task["startedEventId"] == 6
    started = swf.history(execution)[5]
    assert started["eventType"] == "ActivityTaskStarted"
    assert started["activityTaskStartedEventAttributes"]["scheduledEventId"] == 5
    assert started["activityTaskStartedEventAttributes"]["identity"] == "worker-1"
    assert swf.pending_decisions() == 0, "a started activity must not schedule a decision"

    client.respond_activity_task_completed(taskToken=task["taskToken"], result="out")
    events = swf.history(execution)
    assert [e["eventType"] for e in events[6:]] == ["ActivityTaskCompleted", "DecisionTaskScheduled"]
    done = events[6]["activityTaskCompletedEventAttributes"]
    assert (done["result"], done["scheduledEventId"], done["startedEventId"]) == ("out", 5, 6)
    decision = swf.decision_task(execution)
    assert decision["previousStartedEventId"] == 3
    assert decision["startedEventId"] == 9


def test_schedule_activity_with_explicit_task_list_and_timeouts(swf):
    execution = swf.start()
    swf.decide(execution, [swf.schedule("a1", taskList={"name": "custom"}, scheduleToStartTimeout="10",
                                        scheduleToCloseTimeout="30", startToCloseTimeout="20",
                                        heartbeatTimeout="5")])
    scheduled = swf.one(execution, "ActivityTaskScheduled")
    assert scheduled["taskList"] == {"name": "custom"}
    assert (scheduled["scheduleToStartTimeout"], scheduled["scheduleToCloseTimeout"],
            scheduled["startToCloseTimeout"], scheduled["heartbeatTimeout"]) == ("10", "30", "20", "5")
    assert swf.pending_activities("custom") == 1
    assert swf.poll_activity()["taskToken"] == ""


def test_schedule_activity_type_does_not_exist(swf):
    execution = swf.start()
    swf.decide(execution, [swf.schedule("a1", activity_type={"name": "Missing", "version": "1"})])
    failed = _failed(swf, execution, "ScheduleActivityTaskFailed")
    assert failed["cause"] == "ACTIVITY_TYPE_DOES_NOT_EXIST"
    assert failed["activityId"] == "a1"
    assert failed["activityType"] == {"name": "Missing", "version": "1"}
    assert failed["decisionTaskCompletedEventId"] == 4
    assert swf.open_counts(execution)["openActivityTasks"] == 0


def test_schedule_activity_type_deprecated(swf, client):
    execution = swf.start()
    client.deprecate_activity_type(domain=swf.domain, activityType=swf.activity_type)
    swf.decide(execution, [swf.schedule("a1")])
    assert _failed(swf, execution, "ScheduleActivityTaskFailed")["cause"] == "ACTIVITY_TYPE_DEPRECATED"


def test_schedule_activity_id_already_in_use(swf):
    execution = swf.start()
    swf.decide(execution, [swf.schedule("dup")])
    swf.nudge(execution, [swf.schedule("dup")])
    failed = _failed(swf, execution, "ScheduleActivityTaskFailed")
    assert failed["cause"] == "ACTIVITY_ID_ALREADY_IN_USE"
    assert failed["activityId"] == "dup"
    assert len(swf.events(execution, "ActivityTaskScheduled")) == 1
    assert swf.open_counts(execution)["openActivityTasks"] == 1


ALL_ACTIVITY_ARGUMENTS = {
    "taskList": ("DEFAULT_TASK_LIST_UNDEFINED", {"name": "somewhere"}),
    "scheduleToStartTimeout": ("DEFAULT_SCHEDULE_TO_START_TIMEOUT_UNDEFINED", "10"),
    "scheduleToCloseTimeout": ("DEFAULT_SCHEDULE_TO_CLOSE_TIMEOUT_UNDEFINED", "30"),
    "startToCloseTimeout": ("DEFAULT_START_TO_CLOSE_TIMEOUT_UNDEFINED", "20"),
    "heartbeatTimeout": ("DEFAULT_HEARTBEAT_TIMEOUT_UNDEFINED", "5"),
}


@pytest.mark.parametrize("missing", sorted(ALL_ACTIVITY_ARGUMENTS))
def test_schedule_activity_default_undefined(swf, missing):
    bare = swf.register_activity_type("Bare", defaults=False)
    arguments = {name: value for name, (_, value) in ALL_ACTIVITY_ARGUMENTS.items() if name != missing}
    execution = swf.start()
    swf.decide(execution, [swf.schedule("a1", activity_type=bare, **arguments)])
    if missing == "heartbeatTimeout" and not swf.events(execution, "ScheduleActivityTaskFailed"):
        # Not settled: the enum has DEFAULT_HEARTBEAT_TIMEOUT_UNDEFINED, but SWF's docs say
        # "must be specified" for the other four only. Scheduling with no heartbeat
        # timeout at all is the other faithful reading.
        scheduled = swf.one(execution, "ActivityTaskScheduled")
        assert scheduled.get("heartbeatTimeout", "NONE") == "NONE"
        return
    failed = _failed(swf, execution, "ScheduleActivityTaskFailed")
    assert failed["cause"] == ALL_ACTIVITY_ARGUMENTS[missing][0]


def test_schedule_activity_with_all_arguments_needs_no_defaults(swf):
    bare = swf.register_activity_type("Bare", defaults=False)
    arguments = {name: value for name, (_, value) in ALL_ACTIVITY_ARGUMENTS.items()}
    execution = swf.start()
    swf.decide(execution, [swf.schedule("a1", activity_type=bare, **arguments)])
    assert swf.one(execution, "ActivityTaskScheduled")["taskList"] == {"name": "somewhere"}


# -- RequestCancelActivityTask ------------------------------------------------------------

def test_request_cancel_activity_task_happy_path(swf):
    execution = swf.start()
    swf.decide(execution, [swf.schedule("a1")])
    swf.nudge(execution, [swf.decision("RequestCancelActivityTask", activityId="a1")])
    requested = swf.one(execution, "ActivityTaskCancelRequested")
    assert requested["activityId"] == "a1"
    completed_id = swf.events(execution, "DecisionTaskCompleted")[-1]["eventId"]
    assert requested["decisionTaskCompletedEventId"] == completed_id


def test_request_cancel_activity_id_unknown(swf):
    execution = swf.start()
    swf.decide(execution, [swf.decision("RequestCancelActivityTask", activityId="nope")])
    failed = _failed(swf, execution, "RequestCancelActivityTaskFailed")
    assert failed["cause"] == "ACTIVITY_ID_UNKNOWN"
    assert failed["activityId"] == "nope"
    assert failed["decisionTaskCompletedEventId"] == 4


# -- CompleteWorkflowExecution / FailWorkflowExecution / CancelWorkflowExecution ----------

def test_complete_workflow_execution(swf):
    execution = swf.start()
    swf.advance(2)
    swf.decide(execution, [swf.complete("result!")])
    completed = swf.one(execution, "WorkflowExecutionCompleted")
    assert completed == {"result": "result!", "decisionTaskCompletedEventId": 4}
    info = swf.info(execution)
    assert (info["executionStatus"], info["closeStatus"]) == ("CLOSED", "COMPLETED")
    assert info["closeTimestamp"] == _ts(START + 2)
    assert swf.pending_decisions() == 0


def test_fail_workflow_execution(swf):
    execution = swf.start()
    swf.decide(execution, [swf.decision("FailWorkflowExecution", reason="bad", details="trace")])
    failed = swf.one(execution, "WorkflowExecutionFailed")
    assert failed == {"reason": "bad", "details": "trace", "decisionTaskCompletedEventId": 4}
    assert swf.info(execution)["closeStatus"] == "FAILED"


def test_cancel_workflow_execution(swf, client):
    execution = swf.start()
    client.request_cancel_workflow_execution(domain=swf.domain, workflowId=execution["workflowId"])
    swf.decide(execution, [swf.decision("CancelWorkflowExecution", details="canceled")])
    canceled = swf.one(execution, "WorkflowExecutionCanceled")
    assert canceled["details"] == "canceled"
    assert canceled["decisionTaskCompletedEventId"] == swf.events(execution, "DecisionTaskCompleted")[-1]["eventId"]
    assert swf.info(execution)["closeStatus"] == "CANCELED"


def test_closed_execution_has_no_more_decision_tasks(swf, fault):
    execution = swf.start()
    swf.decide(execution, [swf.complete()])
    with fault("UnknownResourceFault"):
        swf.signal(execution)
    assert swf.poll_decision()["taskToken"] == ""


CLOSE_DECISIONS = {
    "CompleteWorkflowExecution": ({"result": "r"}, "CompleteWorkflowExecutionFailed"),
    "FailWorkflowExecution": ({"reason": "r"}, "FailWorkflowExecutionFailed"),
    "CancelWorkflowExecution": ({"details": "d"}, "CancelWorkflowExecutionFailed"),
    "ContinueAsNewWorkflowExecution": ({"input": "i"}, "ContinueAsNewWorkflowExecutionFailed"),
}


@pytest.mark.parametrize("decision_type", sorted(CLOSE_DECISIONS))
def test_close_decision_fails_unhandled_decision_when_events_arrived(swf, decision_type):
    """A signal between poll and respond: the close decision fails, the run stays open and
    gets exactly one new decision task, which can then close it."""
    attributes, failed_type = CLOSE_DECISIONS[decision_type]
    execution = swf.start()
    task = swf.decision_task(execution)
    swf.signal(execution, "meanwhile")
    swf.respond(task, [swf.decision(decision_type, **attributes)])
    failed = swf.one(execution, failed_type)
    assert failed["cause"] == "UNHANDLED_DECISION"
    completed = swf.events(execution, "DecisionTaskCompleted")
    assert failed["decisionTaskCompletedEventId"] == completed[-1]["eventId"]
    assert swf.info(execution)["executionStatus"] == "OPEN"
    types = swf.types(execution)
    assert types.count("DecisionTaskScheduled") == 2
    assert "DecisionTaskScheduled" in types[types.index("DecisionTaskCompleted"):]
    swf.decide(execution, [swf.complete("now")])
    assert swf.info(execution)["closeStatus"] == "COMPLETED"


def test_unhandled_decision_leaves_earlier_decisions_of_the_batch(swf):
    """Only what is certain: the close decision fails and the run stays open."""
    execution = swf.start()
    task = swf.decision_task(execution)
    swf.signal(execution)
    swf.respond(task, [swf.decision("RecordMarker", markerName="m"), swf.complete()])
    assert swf.one(execution, "CompleteWorkflowExecutionFailed")["cause"] == "UNHANDLED_DECISION"
    assert swf.info(execution)["executionStatus"] == "OPEN"


# -- ContinueAsNewWorkflowExecution -------------------------------------------------------

def test_continue_as_new_happy_path(swf):
    execution = swf.start("can-id", input="first", tagList=["x"])
    swf.advance(4)
    swf.decide(execution, [swf.decision("ContinueAsNewWorkflowExecution", input="second",
                                        tagList=["y"], executionStartToCloseTimeout="500",
                                        taskStartToCloseTimeout="50", childPolicy="ABANDON",
                                        taskPriority="2")])
    continued = swf.one(execution, "WorkflowExecutionContinuedAsNew")
    new_run = continued["newExecutionRunId"]
    assert new_run and new_run != execution["runId"]
    assert continued["input"] == "second"
    assert continued["decisionTaskCompletedEventId"] == 4
    assert continued["workflowType"] == swf.workflow_type
    assert continued["taskList"] == {"name": swf.task_list}
    assert continued["childPolicy"] == "ABANDON"
    assert continued["executionStartToCloseTimeout"] == "500"
    assert continued["taskStartToCloseTimeout"] == "50"
    assert continued["tagList"] == ["y"]
    assert swf.types(execution)[-1] == "WorkflowExecutionContinuedAsNew"
    old = swf.info(execution)
    assert (old["executionStatus"], old["closeStatus"]) == ("CLOSED", "CONTINUED_AS_NEW")
    assert old["closeTimestamp"] == _ts(START + 4)

    successor = {"workflowId": "can-id", "runId": new_run}
    new = swf.info(successor)
    assert new["executionStatus"] == "OPEN"
    assert new["tagList"] == ["y"]
    assert new["startTimestamp"] == _ts(START + 4)
    started = swf.one(successor, "WorkflowExecutionStarted")
    assert started["continuedExecutionRunId"] == execution["runId"]
    assert started["input"] == "second"
    assert started["childPolicy"] == "ABANDON"
    assert started["executionStartToCloseTimeout"] == "500"
    assert started["taskStartToCloseTimeout"] == "50"
    assert swf.types(successor) == ["WorkflowExecutionStarted", "DecisionTaskScheduled"]
    task = swf.decision_task(successor)
    assert task["previousStartedEventId"] == 0
    # The workflow ID now names the new run.
    swf.signal("can-id", "to-current")
    assert "WorkflowExecutionSignaled" in swf.types(successor)


def test_continue_as_new_with_another_type_version(swf):
    swf.register_workflow_type(swf.workflow_type["name"], version="2")
    execution = swf.start()
    swf.decide(execution, [swf.decision("ContinueAsNewWorkflowExecution", workflowTypeVersion="2")])
    continued = swf.one(execution, "WorkflowExecutionContinuedAsNew")
    assert continued["workflowType"] == {"name": swf.workflow_type["name"], "version": "2"}
    successor = {"workflowId": execution["workflowId"], "runId": continued["newExecutionRunId"]}
    assert swf.info(successor)["workflowType"]["version"] == "2"


def test_continue_as_new_type_does_not_exist(swf):
    execution = swf.start()
    swf.decide(execution, [swf.decision("ContinueAsNewWorkflowExecution", workflowTypeVersion="404")])
    failed = _failed(swf, execution, "ContinueAsNewWorkflowExecutionFailed")
    assert failed["cause"] == "WORKFLOW_TYPE_DOES_NOT_EXIST"
    assert failed["decisionTaskCompletedEventId"] == 4
    assert swf.info(execution)["executionStatus"] == "OPEN"


def test_continue_as_new_type_deprecated(swf, client):
    execution = swf.start()
    client.deprecate_workflow_type(domain=swf.domain, workflowType=swf.workflow_type)
    swf.decide(execution, [swf.decision("ContinueAsNewWorkflowExecution")])
    assert _failed(swf, execution, "ContinueAsNewWorkflowExecutionFailed")["cause"] == "WORKFLOW_TYPE_DEPRECATED"


ALL_WORKFLOW_ARGUMENTS = {
    "taskList": ("DEFAULT_TASK_LIST_UNDEFINED", {"name": "child-decisions"}),
    "executionStartToCloseTimeout": ("DEFAULT_EXECUTION_START_TO_CLOSE_TIMEOUT_UNDEFINED", "600"),
    "taskStartToCloseTimeout": ("DEFAULT_TASK_START_TO_CLOSE_TIMEOUT_UNDEFINED", "60"),
    "childPolicy": ("DEFAULT_CHILD_POLICY_UNDEFINED", "TERMINATE"),
}


@pytest.mark.parametrize("missing", sorted(ALL_WORKFLOW_ARGUMENTS))
def test_continue_as_new_default_undefined(swf, missing):
    bare = swf.register_workflow_type("Bare", defaults=False)
    arguments = {name: value for name, (_, value) in ALL_WORKFLOW_ARGUMENTS.items()}
    execution = swf.start(workflow_type=bare, **arguments)
    del arguments[missing]
    swf.decide(execution, [swf.decision("ContinueAsNewWorkflowExecution", **arguments)],
               task_list="child-decisions")
    failed = swf.one(execution, "ContinueAsNewWorkflowExecutionFailed")
    assert failed["cause"] == ALL_WORKFLOW_ARGUMENTS[missing][0]
    assert swf.info(execution)["executionStatus"] == "OPEN"


# -- RecordMarker -------------------------------------------------------------------------

def test_record_marker(swf):
    execution = swf.start()
    swf.decide(execution, [swf.decision("RecordMarker", markerName="m1", details="d1"),
                           swf.decision("RecordMarker", markerName="m2")])
    markers = swf.events(execution, "MarkerRecorded")
    assert [m["markerRecordedEventAttributes"] for m in markers] == [
        {"markerName": "m1", "details": "d1", "decisionTaskCompletedEventId": 4},
        {"markerName": "m2", "decisionTaskCompletedEventId": 4}]
    assert [m["eventId"] for m in markers] == [5, 6]
    assert swf.pending_decisions() == 0, "a marker must not schedule a decision task"
    assert swf.open_counts(execution)["openDecisionTasks"] == 0


# -- StartTimer / CancelTimer -------------------------------------------------------------

def test_start_timer_happy_path(swf):
    execution = swf.start()
    swf.decide(execution, [swf.timer("t1", 30, control="c")])
    started = swf.one(execution, "TimerStarted")
    assert started == {"timerId": "t1", "control": "c", "startToFireTimeout": "30",
                       "decisionTaskCompletedEventId": 4}
    assert swf.open_counts(execution)["openTimers"] == 1
    assert swf.pending_decisions() == 0
    swf.advance(30)
    fired = swf.one(execution, "TimerFired")
    assert fired == {"timerId": "t1", "startedEventId": 5}
    assert swf.types(execution)[-2:] == ["TimerFired", "DecisionTaskScheduled"]
    assert swf.open_counts(execution)["openTimers"] == 0


def test_start_timer_id_already_in_use(swf):
    execution = swf.start()
    swf.decide(execution, [swf.timer("t1", 100)])
    swf.nudge(execution, [swf.timer("t1", 100)])
    failed = _failed(swf, execution, "StartTimerFailed")
    assert failed["cause"] == "TIMER_ID_ALREADY_IN_USE"
    assert failed["timerId"] == "t1"
    assert swf.open_counts(execution)["openTimers"] == 1


def test_cancel_timer_happy_path(swf):
    execution = swf.start()
    swf.decide(execution, [swf.timer("t1", 100)])
    swf.nudge(execution, [swf.decision("CancelTimer", timerId="t1")])
    canceled = swf.one(execution, "TimerCanceled")
    assert canceled["timerId"] == "t1"
    assert canceled["startedEventId"] == 5
    assert canceled["decisionTaskCompletedEventId"] == swf.events(execution, "DecisionTaskCompleted")[-1]["eventId"]
    assert swf.open_counts(execution)["openTimers"] == 0
    assert swf.types(execution)[-1] == "TimerCanceled", "a canceled timer schedules no decision"
    swf.advance(200)
    assert swf.events(execution, "TimerFired") == []
    assert swf.pending_decisions() == 0


def test_cancel_timer_id_unknown(swf):
    execution = swf.start()
    swf.decide(execution, [swf.decision("CancelTimer", timerId="nope")])
    failed = _failed(swf, execution, "CancelTimerFailed")
    assert failed["cause"] == "TIMER_ID_UNKNOWN"
    assert failed["timerId"] == "nope"
    assert failed["decisionTaskCompletedEventId"] == 4


def test_cancel_fired_timer_is_unknown(swf):
    execution = swf.start()
    swf.decide(execution, [swf.timer("t1", 10)])
    swf.advance(10)
    swf.decide(execution, [swf.decision("CancelTimer", timerId="t1")])
    assert swf.one(execution, "CancelTimerFailed")["cause"] == "TIMER_ID_UNKNOWN"


# -- ScheduleLambdaFunction ---------------------------------------------------------------

def test_schedule_lambda_function_fails_locally(swf):
    execution = swf.start()
    swf.decide(execution, [swf.decision("ScheduleLambdaFunction", id="l1", name="fn", input="x")])
    failed = _failed(swf, execution, "ScheduleLambdaFunctionFailed")
    assert failed["id"] == "l1"
    assert failed["name"] == "fn"
    assert failed["cause"] == "LAMBDA_SERVICE_NOT_AVAILABLE_IN_REGION"
    assert failed["decisionTaskCompletedEventId"] == 4
    assert swf.events(execution, "LambdaFunctionScheduled") == []


# -- several decisions in one batch -------------------------------------------------------

def test_decisions_apply_in_order(swf):
    execution = swf.start()
    swf.decide(execution, [swf.decision("RecordMarker", markerName="m"), swf.timer("t1"),
                           swf.schedule("a1"), swf.complete("r")])
    assert swf.types(execution)[3:] == ["DecisionTaskCompleted", "MarkerRecorded", "TimerStarted",
                                        "ActivityTaskScheduled", "WorkflowExecutionCompleted"]


def test_execution_context_is_recorded(swf):
    execution = swf.start()
    swf.decide(execution, [], executionContext="state-1")
    assert swf.one(execution, "DecisionTaskCompleted")["executionContext"] == "state-1"
    assert swf.describe(execution)["latestExecutionContext"] == "state-1"
