"""Activity tasks: poll, heartbeat, complete/fail/cancel responses, cancellation requests,
stale tokens and task priorities."""

from __future__ import annotations

import pytest


def _started_activity(swf, activity_id: str = "a1", **attributes) -> tuple[dict, dict]:
    """An execution with one started activity; returns (execution, activity task)."""
    execution = swf.start()
    swf.decide(execution, [swf.schedule(activity_id, input="in", **attributes)])
    return execution, swf.activity_task()


def test_poll_for_activity_task_empty(swf):
    assert swf.poll_activity()["taskToken"] == ""


def test_activity_task_goes_to_one_worker_only(swf):
    execution, task = _started_activity(swf)
    assert swf.poll_activity()["taskToken"] == ""
    assert swf.open_counts(execution)["openActivityTasks"] == 1


def test_respond_activity_task_failed(swf, client):
    execution, task = _started_activity(swf)
    client.respond_activity_task_failed(taskToken=task["taskToken"], reason="Boom", details="trace")
    failed = swf.one(execution, "ActivityTaskFailed")
    assert failed == {"reason": "Boom", "details": "trace", "scheduledEventId": 5, "startedEventId": 6}
    assert swf.types(execution)[-2:] == ["ActivityTaskFailed", "DecisionTaskScheduled"]
    assert swf.open_counts(execution)["openActivityTasks"] == 0


def test_respond_activity_task_completed_without_result(swf, client):
    execution, task = _started_activity(swf)
    client.respond_activity_task_completed(taskToken=task["taskToken"])
    assert "result" not in swf.one(execution, "ActivityTaskCompleted")


@pytest.mark.parametrize("first, second", [
    ("completed", "completed"), ("completed", "failed"), ("failed", "canceled"),
    ("failed", "heartbeat"), ("completed", "heartbeat"),
])
def test_answers_after_the_task_closed_are_unknown_resource(swf, client, fault, first, second):
    execution, task = _started_activity(swf)
    token = task["taskToken"]
    calls = {
        "completed": lambda: client.respond_activity_task_completed(taskToken=token, result="r"),
        "failed": lambda: client.respond_activity_task_failed(taskToken=token, reason="r"),
        "canceled": lambda: client.respond_activity_task_canceled(taskToken=token, details="d"),
        "heartbeat": lambda: client.record_activity_task_heartbeat(taskToken=token, details="d"),
    }
    calls[first]()
    before = swf.history(execution)
    with fault("UnknownResourceFault"):
        calls[second]()
    assert swf.history(execution) == before


def test_heartbeat_of_a_running_task(swf, client):
    execution, task = _started_activity(swf)
    answer = client.record_activity_task_heartbeat(taskToken=task["taskToken"], details="50%")
    assert answer["cancelRequested"] is False
    # A heartbeat is not an event and does not wake the decider.
    assert swf.types(execution)[-1] == "ActivityTaskStarted"
    assert swf.pending_decisions() == 0


def test_activity_of_a_closed_execution_is_unknown_resource(swf, client, fault):
    execution, task = _started_activity(swf)
    client.terminate_workflow_execution(domain=swf.domain, workflowId=execution["workflowId"])
    with fault("UnknownResourceFault"):
        client.record_activity_task_heartbeat(taskToken=task["taskToken"])
    with fault("UnknownResourceFault"):
        client.respond_activity_task_completed(taskToken=task["taskToken"], result="late")


def test_scheduled_activities_of_a_closed_execution_are_not_handed_out(swf):
    execution = swf.start()
    swf.decide(execution, [swf.schedule("a1"), swf.complete()])
    assert swf.poll_activity()["taskToken"] == ""
    assert swf.pending_activities() == 0


# -- cancellation -------------------------------------------------------------------------

def test_cancel_unstarted_activity_cancels_it_at_once(swf):
    execution = swf.start()
    swf.decide(execution, [swf.schedule("a1")])
    swf.nudge(execution, [swf.decision("RequestCancelActivityTask", activityId="a1")])
    types = swf.types(execution)
    assert "ActivityTaskCancelRequested" in types
    canceled = swf.one(execution, "ActivityTaskCanceled")
    assert canceled["scheduledEventId"] == 5
    requested_id = swf.events(execution, "ActivityTaskCancelRequested")[0]["eventId"]
    assert canceled.get("latestCancelRequestedEventId") in (None, requested_id)
    assert types.index("ActivityTaskCanceled") > types.index("ActivityTaskCancelRequested")
    assert "DecisionTaskScheduled" in types[types.index("ActivityTaskCanceled"):]
    assert swf.poll_activity()["taskToken"] == "", "a canceled task was handed out"
    assert swf.open_counts(execution)["openActivityTasks"] == 0


def test_cancel_started_activity_via_heartbeat(swf, client):
    execution, task = _started_activity(swf)
    swf.nudge(execution, [swf.decision("RequestCancelActivityTask", activityId="a1")])
    requested = swf.events(execution, "ActivityTaskCancelRequested")[0]
    assert swf.events(execution, "ActivityTaskCanceled") == [], "a started task is not canceled until it says so"
    assert swf.pending_decisions() == 0
    assert client.record_activity_task_heartbeat(taskToken=task["taskToken"])["cancelRequested"] is True
    client.respond_activity_task_canceled(taskToken=task["taskToken"], details="stopped")
    canceled = swf.one(execution, "ActivityTaskCanceled")
    assert canceled == {"details": "stopped", "scheduledEventId": 5, "startedEventId": 6,
                        "latestCancelRequestedEventId": requested["eventId"]}
    assert swf.types(execution)[-2:] == ["ActivityTaskCanceled", "DecisionTaskScheduled"]
    assert swf.open_counts(execution)["openActivityTasks"] == 0


def test_cancel_requested_activity_may_still_complete(swf, client):
    execution, task = _started_activity(swf)
    swf.nudge(execution, [swf.decision("RequestCancelActivityTask", activityId="a1")])
    client.respond_activity_task_completed(taskToken=task["taskToken"], result="finished anyway")
    assert swf.one(execution, "ActivityTaskCompleted")["result"] == "finished anyway"


def test_respond_canceled_without_request(swf, client):
    """Only what is certain: the call does not crash the service and the history stays valid."""
    execution, task = _started_activity(swf)
    try:
        client.respond_activity_task_canceled(taskToken=task["taskToken"])
    except Exception as error:  # SWF does not document this case; a 4xx fault is fine
        assert getattr(error, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 400) < 500
    swf.history(execution)


# -- priorities ---------------------------------------------------------------------------

def test_activity_priority_higher_first_fifo_within(swf):
    execution = swf.start()
    priorities = {"p1": "1", "p5a": "5", "none": None, "p5b": "5", "neg": "-3", "p0": "0", "p5c": "5"}
    decisions = []
    for activity_id, priority in priorities.items():
        decisions.append(swf.schedule(activity_id, **({"taskPriority": priority} if priority else {})))
    swf.decide(execution, decisions)
    order = [swf.activity_task()["activityId"] for _ in priorities]
    assert order == ["p5a", "p5b", "p5c", "p1", "none", "p0", "neg"]


def test_activity_type_default_priority_applies(swf):
    urgent = swf.register_activity_type("Urgent", defaultTaskPriority="10",
                                        defaultTaskList={"name": swf.activity_list},
                                        defaultTaskScheduleToStartTimeout="NONE",
                                        defaultTaskScheduleToCloseTimeout="NONE",
                                        defaultTaskStartToCloseTimeout="NONE",
                                        defaultTaskHeartbeatTimeout="NONE", defaults=False)
    execution = swf.start()
    swf.decide(execution, [swf.schedule("plain"), swf.schedule("urgent", activity_type=urgent)])
    assert swf.activity_task()["activityId"] == "urgent"
    assert swf.activity_task()["activityId"] == "plain"


def test_decision_task_priority_higher_first_fifo_within(swf):
    ids = {}
    for name, priority in [("low", "1"), ("high-a", "9"), ("mid", "5"), ("high-b", "9"), ("neg", "-2")]:
        ids[swf.start(taskPriority=priority)["runId"]] = name
    order = [ids[swf.decision_task()["workflowExecution"]["runId"]] for _ in ids]
    assert order == ["high-a", "high-b", "mid", "low", "neg"]


def test_decision_tasks_fifo_without_priority(swf):
    runs = [swf.start()["runId"] for _ in range(5)]
    assert [swf.decision_task()["workflowExecution"]["runId"] for _ in runs] == runs


def test_request_cancel_of_a_closed_activity_is_unknown(swf, client):
    execution, task = _started_activity(swf)
    client.respond_activity_task_completed(taskToken=task["taskToken"])
    swf.decide(execution, [swf.decision("RequestCancelActivityTask", activityId="a1")])
    assert swf.one(execution, "RequestCancelActivityTaskFailed")["cause"] == "ACTIVITY_ID_UNKNOWN"


def test_cancel_requested_stays_true(swf, client):
    execution, task = _started_activity(swf)
    swf.nudge(execution, [swf.decision("RequestCancelActivityTask", activityId="a1")])
    for _ in range(2):
        assert client.record_activity_task_heartbeat(taskToken=task["taskToken"])["cancelRequested"] is True


def test_activities_of_a_completed_execution_cannot_answer(swf, client, fault):
    execution, task = _started_activity(swf)
    swf.nudge(execution, [swf.complete()])
    with fault("UnknownResourceFault"):
        client.respond_activity_task_completed(taskToken=task["taskToken"], result="late")
    assert swf.types(execution)[-1] == "WorkflowExecutionCompleted"


def test_activity_id_reusable_after_the_activity_closed(swf, client):
    execution, task = _started_activity(swf)
    client.respond_activity_task_completed(taskToken=task["taskToken"])
    swf.decide(execution, [swf.schedule("a1")])
    assert len(swf.events(execution, "ActivityTaskScheduled")) == 2
    assert swf.events(execution, "ScheduleActivityTaskFailed") == []


def test_concurrent_workers_complete_many_activities_one_decision_task(swf):
    import gevent

    execution = swf.start()
    swf.decide(execution, [swf.schedule(f"a{n}", input=str(n)) for n in range(50)])
    workers = swf.make_client(max_pool_connections=60)

    def work():
        task = workers.poll_for_activity_task(domain=swf.domain, taskList={"name": swf.activity_list})
        workers.respond_activity_task_completed(taskToken=task["taskToken"], result=task["input"])
        return task["activityId"]

    done = gevent.joinall([gevent.spawn(work) for _ in range(50)], timeout=60, raise_error=True)
    assert sorted(g.value for g in done) == sorted(f"a{n}" for n in range(50))
    types = swf.types(execution)
    assert types.count("ActivityTaskStarted") == 50
    assert types.count("ActivityTaskCompleted") == 50
    assert types.count("DecisionTaskScheduled") == 2
    assert swf.pending_decisions() == 1
    completions = swf.events(execution, "ActivityTaskCompleted")
    results = {e["activityTaskCompletedEventAttributes"]["result"] for e in completions}
    assert results == {str(n) for n in range(50)}
