"""SWF's per-execution limits: 25,000 history events, 1,000 open activities / timers / children."""

from __future__ import annotations

from botocore.exceptions import ClientError

EVENT_LIMIT = 25_000


def _markers(swf, count: int, prefix: str) -> list[dict]:
    return [swf.decision("RecordMarker", markerName=f"{prefix}{n}") for n in range(count)]


def test_event_limit_terminates_the_execution(swf, client):
    """Fill a history fast with batches of markers (markers schedule no decision task, so
    each batch needs a signal to get a task); the execution must end terminated with
    EVENT_LIMIT_EXCEEDED, close to 25,000 events and never past it (+ the closing event)."""
    execution = swf.start()
    for batch in range(12):
        if swf.info(execution)["executionStatus"] != "OPEN":
            break
        if batch:
            swf.signal(execution)
        # One event per page: we only need the token, not the growing history.
        task = swf.poll_decision(maximumPageSize=1, merge=False)
        assert task["taskToken"], f"no decision task in batch {batch}"
        try:
            swf.respond(task, _markers(swf, 2_500, f"b{batch}-"))
        except ClientError as error:  # crossing the limit may refuse the response itself
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] < 500, error
    info = swf.info(execution)
    assert (info["executionStatus"], info["closeStatus"]) == ("CLOSED", "TERMINATED")
    last = client.get_workflow_execution_history(domain=swf.domain, execution=execution,
                                                 reverseOrder=True, maximumPageSize=1)["events"][0]
    assert last["eventType"] == "WorkflowExecutionTerminated"
    assert last["workflowExecutionTerminatedEventAttributes"]["cause"] == "EVENT_LIMIT_EXCEEDED"
    assert EVENT_LIMIT - 3_000 < last["eventId"] <= EVENT_LIMIT + 1, last["eventId"]


def test_open_activities_limit(swf):
    execution = swf.start()
    swf.decide(execution, [swf.schedule(f"a{n}") for n in range(1_000)])
    assert swf.open_counts(execution)["openActivityTasks"] == 1_000
    swf.nudge(execution, [swf.schedule("one-too-many")])
    failed = swf.events(execution, "ScheduleActivityTaskFailed")
    assert len(failed) == 1
    attributes = failed[0]["scheduleActivityTaskFailedEventAttributes"]
    assert attributes["cause"] == "OPEN_ACTIVITIES_LIMIT_EXCEEDED"
    assert attributes["activityId"] == "one-too-many"
    assert swf.open_counts(execution)["openActivityTasks"] == 1_000
    # Closing one frees a slot.
    task = swf.activity_task()
    swf.client.respond_activity_task_completed(taskToken=task["taskToken"])
    swf.decide(execution, [swf.schedule("fits-now")])
    assert swf.open_counts(execution)["openActivityTasks"] == 1_000
    assert len(swf.events(execution, "ScheduleActivityTaskFailed")) == 1


def test_open_timers_limit(swf):
    execution = swf.start()
    swf.decide(execution, [swf.timer(f"t{n}", 1_000) for n in range(1_000)])
    assert swf.open_counts(execution)["openTimers"] == 1_000
    swf.nudge(execution, [swf.timer("one-too-many", 1_000)])
    failed = swf.one(execution, "StartTimerFailed")
    assert failed["cause"] == "OPEN_TIMERS_LIMIT_EXCEEDED"
    assert failed["timerId"] == "one-too-many"
    assert swf.open_counts(execution)["openTimers"] == 1_000


def test_open_children_limit(swf, eventually):
    parent = swf.start()
    swf.decide(parent, [swf.decision("StartChildWorkflowExecution", workflowId=f"kid-{n}",
                                     workflowType=swf.workflow_type, taskList={"name": "kids"})
                        for n in range(1_000)])
    eventually(lambda: swf.open_counts(parent)["openChildWorkflowExecutions"] == 1_000,
               what="1,000 open children")
    swf.nudge(parent, [swf.decision("StartChildWorkflowExecution", workflowId="one-too-many",
                                    workflowType=swf.workflow_type, taskList={"name": "kids"})])
    failed = swf.one(parent, "StartChildWorkflowExecutionFailed")
    assert failed["cause"] == "OPEN_CHILDREN_LIMIT_EXCEEDED"
    assert failed["workflowId"] == "one-too-many"
    assert swf.open_counts(parent)["openChildWorkflowExecutions"] == 1_000
