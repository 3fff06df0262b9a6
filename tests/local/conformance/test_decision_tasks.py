"""Decision-task rules: one open task per execution, batching of events into one task,
all-or-nothing validation of a response, tokens, previousStartedEventId, paging."""

from __future__ import annotations

import pytest


# -- one open decision task ---------------------------------------------------------------

def test_three_signals_before_the_first_poll_make_one_decision_task(swf):
    execution = swf.start()
    for name in ("s1", "s2", "s3"):
        swf.signal(execution, name)
    types = swf.types(execution)
    assert types.count("DecisionTaskScheduled") == 1, types
    assert types.count("WorkflowExecutionSignaled") == 3
    assert swf.pending_decisions() == 1
    assert swf.open_counts(execution)["openDecisionTasks"] == 1
    task = swf.decision_task(execution)
    assert [e["eventType"] for e in task["events"]].count("WorkflowExecutionSignaled") == 3
    assert swf.poll_decision()["taskToken"] == "", "a second task for the same events"


def test_only_one_decision_task_is_open_per_execution(swf):
    execution = swf.start()
    task = swf.decision_task(execution)
    swf.signal(execution, "during")
    assert swf.pending_decisions() == 0
    assert swf.open_counts(execution)["openDecisionTasks"] == 1
    assert swf.poll_decision()["taskToken"] == "", "a second open decision task"
    swf.respond(task)
    assert swf.pending_decisions() == 1


def test_events_during_a_task_queue_exactly_one_more_task(swf):
    execution = swf.start()
    task = swf.decision_task(execution)
    for name in ("s1", "s2", "s3"):
        swf.signal(execution, name)
    types = swf.types(execution)
    assert types.count("DecisionTaskScheduled") == 1, "scheduled before the task completed"
    swf.respond(task)
    types = swf.types(execution)
    completed_at = types.index("DecisionTaskCompleted")
    assert types[completed_at + 1:].count("DecisionTaskScheduled") == 1, types
    assert types.count("WorkflowExecutionSignaled") == 3
    assert swf.pending_decisions() == 1
    second = swf.decision_task(execution)
    signals = [e for e in second["events"] if e["eventType"] == "WorkflowExecutionSignaled"]
    assert [e["workflowExecutionSignaledEventAttributes"]["signalName"] for e in signals] == ["s1", "s2", "s3"]
    assert all(e["eventId"] > second["previousStartedEventId"] for e in signals)
    swf.respond(second)
    assert swf.pending_decisions() == 0


def test_different_executions_have_their_own_decision_tasks(swf):
    first, second = swf.start(), swf.start()
    tasks = [swf.decision_task(), swf.decision_task()]
    assert {t["workflowExecution"]["runId"] for t in tasks} == {first["runId"], second["runId"]}


# -- validation of a response: all or nothing ---------------------------------------------

def test_close_decision_not_last_is_rejected_and_nothing_applied(swf, fault):
    execution = swf.start()
    task = swf.decision_task(execution)
    before = swf.history(execution)
    with fault("ValidationException"):
        swf.respond(task, [swf.timer("t1"), swf.complete("early"), swf.decision("RecordMarker", markerName="m")])
    assert swf.history(execution) == before
    assert swf.info(execution)["executionStatus"] == "OPEN"


@pytest.mark.parametrize("malformed", [
    {"decisionType": "ScheduleActivityTask"},  # attributes missing
    {"decisionType": "StartTimer", "scheduleActivityTaskDecisionAttributes": {
        "activityId": "a", "activityType": {"name": "n", "version": "1"}}},  # wrong attributes
    {"decisionType": "StartTimer", "startTimerDecisionAttributes": {"timerId": "t"}},  # required member
    {"decisionType": "LaunchRocket"},  # unknown decision type
], ids=["no-attributes", "wrong-attributes", "missing-required-member", "unknown-type"])
def test_malformed_decision_is_rejected_nothing_applied_token_still_usable(swf, raw_client, fault, malformed):
    execution = swf.start()
    task = swf.decision_task(execution)
    before = swf.history(execution)
    with fault("ValidationException"):
        raw_client.respond_decision_task_completed(
            taskToken=task["taskToken"], decisions=[swf.timer("t1"), malformed])
    assert swf.history(execution) == before, "a rejected response changed the history"
    swf.respond(task, [swf.timer("t2")])
    assert swf.one(execution, "TimerStarted")["timerId"] == "t2"


def test_stale_decision_token_is_unknown_resource(swf, fault):
    execution = swf.start()
    task = swf.decision_task(execution)
    swf.respond(task)
    with fault("UnknownResourceFault"):
        swf.respond(task, [swf.complete()])
    assert swf.info(execution)["executionStatus"] == "OPEN"


# -- previousStartedEventId / startAtPreviousStartedEvent ---------------------------------

def test_previous_started_event_id(swf):
    execution = swf.start()
    first = swf.decision_task(execution)
    assert first["previousStartedEventId"] == 0
    assert first["startedEventId"] == 3
    assert first["events"][-1]["eventType"] == "DecisionTaskStarted"
    assert first["events"][-1]["eventId"] == 3
    assert first["events"][-1]["decisionTaskStartedEventAttributes"]["scheduledEventId"] == 2
    swf.respond(first)
    swf.signal(execution)
    second = swf.decision_task(execution)
    assert second["previousStartedEventId"] == 3
    assert second["startedEventId"] == 7  # 4 completed, 5 signaled, 6 scheduled, 7 started
    swf.respond(second)
    swf.signal(execution)
    assert swf.decision_task(execution)["previousStartedEventId"] == 7


def test_decision_task_started_records_identity(swf):
    execution = swf.start()
    swf.decision_task(execution, identity="decider-7")
    assert swf.one(execution, "DecisionTaskStarted")["identity"] == "decider-7"


def test_decision_task_returns_the_whole_history(swf):
    execution = swf.start(input="x")
    swf.decide(execution, [swf.timer("t1", 5)])
    swf.advance(5)
    task = swf.decision_task(execution)
    assert task["events"] == swf.history(execution)
    assert task["workflowType"] == swf.workflow_type


def test_start_at_previous_started_event(swf):
    execution = swf.start()
    swf.advance(5)
    first = swf.decision_task(execution)  # DecisionTaskStarted (3) is later than events 1, 2
    swf.respond(first, [swf.timer("t1", 10)])
    swf.advance(10)
    task = swf.decision_task(execution, startAtPreviousStartedEvent=True)
    full = swf.history(execution)
    events = task["events"]
    ids = [e["eventId"] for e in events]
    assert ids == list(range(ids[0], ids[-1] + 1)), "not a contiguous run of events"
    assert ids[-1] == full[-1]["eventId"] == task["startedEventId"]
    assert ids[0] >= 3, "events older than the previous DecisionTaskStarted were returned"
    assert ids[0] <= 4, "new events after the previous DecisionTaskStarted are missing"
    assert events == full[ids[0] - 1:]


def test_start_at_previous_started_event_on_first_task_returns_everything(swf):
    execution = swf.start()
    task = swf.decision_task(execution, startAtPreviousStartedEvent=True)
    assert [e["eventId"] for e in task["events"]] == [1, 2, 3]


# -- paging of PollForDecisionTask --------------------------------------------------------

def _signaled(swf, count: int) -> dict:
    execution = swf.start()
    for number in range(count):
        swf.signal(execution, f"s{number}")
    return execution


def test_poll_for_decision_task_pages(swf, client):
    execution = _signaled(swf, 20)  # 1 started + 1 scheduled + 20 signals + 1 started = 23
    request = {"domain": swf.domain, "taskList": {"name": swf.task_list}, "maximumPageSize": 5}
    page = client.poll_for_decision_task(**request)
    token = page["taskToken"]
    assert token and page["workflowExecution"] == execution
    pages = [page]
    while page.get("nextPageToken"):
        page = client.poll_for_decision_task(**request, nextPageToken=page["nextPageToken"])
        assert page["taskToken"] == token, "a page must belong to the same task"
        assert page["startedEventId"] == pages[0]["startedEventId"]
        pages.append(page)
    assert all(len(p["events"]) <= 5 for p in pages)
    events = [e for p in pages for e in p["events"]]
    assert [e["eventId"] for e in events] == list(range(1, 24))
    assert events == swf.history(execution)
    # Paging handed out no new task: still one DecisionTaskStarted, and the token works.
    assert swf.types(execution).count("DecisionTaskStarted") == 1
    swf.respond(token, [swf.complete()])
    assert swf.info(execution)["closeStatus"] == "COMPLETED"


def test_poll_for_decision_task_pages_in_reverse(swf, client):
    execution = _signaled(swf, 8)  # 11 events
    paginator = client.get_paginator("poll_for_decision_task")
    pages = list(paginator.paginate(domain=swf.domain, taskList={"name": swf.task_list},
                                    reverseOrder=True, PaginationConfig={"PageSize": 3}))
    assert len({p["taskToken"] for p in pages}) == 1
    assert all(len(p["events"]) <= 3 for p in pages)
    assert [e["eventId"] for p in pages for e in p["events"]] == list(range(11, 0, -1))
    assert pages[0]["workflowExecution"] == execution


def test_poll_for_decision_task_paginator_merges(swf, client):
    execution = _signaled(swf, 6)
    paginator = client.get_paginator("poll_for_decision_task")
    merged = paginator.paginate(domain=swf.domain, taskList={"name": swf.task_list},
                                PaginationConfig={"PageSize": 2}).build_full_result()
    assert merged["taskToken"]
    assert merged["events"] == swf.history(execution)


# -- task list override in RespondDecisionTaskCompleted ----------------------------------

def test_respond_task_list_moves_the_next_decision_task(swf):
    execution = swf.start()
    swf.decide(execution, taskList={"name": "moved"})
    completed = swf.one(execution, "DecisionTaskCompleted")
    assert completed["taskList"] == {"name": "moved"}
    swf.signal(execution)
    assert swf.pending_decisions("moved") == 1
    assert swf.pending_decisions() == 0
    scheduled = swf.events(execution, "DecisionTaskScheduled")[-1]
    assert scheduled["decisionTaskScheduledEventAttributes"]["taskList"] == {"name": "moved"}
    swf.decide(execution, [swf.complete()], task_list="moved")


def test_respond_task_list_schedule_to_start_timeout_reverts_to_the_original_list(swf):
    execution = swf.start()
    swf.decide(execution, taskList={"name": "moved"}, taskListScheduleToStartTimeout="10")
    completed = swf.one(execution, "DecisionTaskCompleted")
    assert completed["taskListScheduleToStartTimeout"] == "10"
    swf.signal(execution)
    assert swf.pending_decisions("moved") == 1
    swf.advance(9)
    assert swf.events(execution, "DecisionTaskTimedOut") == []
    swf.advance(1)
    timed_out = swf.one(execution, "DecisionTaskTimedOut")
    assert timed_out["timeoutType"] == "SCHEDULE_TO_START"
    assert timed_out["scheduledEventId"] == swf.events(execution, "DecisionTaskScheduled")[-2]["eventId"]
    assert swf.pending_decisions("moved") == 0
    assert swf.pending_decisions() == 1
    swf.decide(execution, [swf.complete()])


def test_rejected_response_touches_no_other_execution(swf, raw_client, fault, eventually):
    target = swf.start("target", taskList={"name": "target-list"})
    execution = swf.start()
    task = swf.decision_task(execution)
    with fault("ValidationException"):
        raw_client.respond_decision_task_completed(taskToken=task["taskToken"], decisions=[
            swf.decision("SignalExternalWorkflowExecution", workflowId="target", signalName="s"),
            swf.decision("StartChildWorkflowExecution", workflowId="kid", workflowType=swf.workflow_type),
            swf.decision("RequestCancelExternalWorkflowExecution", workflowId="target"),
            {"decisionType": "StartTimer"},
        ])
    assert swf.types(target) == ["WorkflowExecutionStarted", "DecisionTaskScheduled"]
    assert swf.info(target)["cancelRequested"] is False
    with fault("UnknownResourceFault"):
        swf.describe({"workflowId": "kid", "runId": "x"})
    assert swf.client.count_open_workflow_executions(
        domain=swf.domain, startTimeFilter={"oldestDate": 0})["count"] == 2


def test_decision_attribute_too_long_is_rejected(swf, fault):
    execution = swf.start()
    task = swf.decision_task(execution)
    with fault("ValidationException") as caught:
        swf.respond(task, [swf.timer("t" * 300)])
    assert "timerId" in caught[0].response["Error"]["Message"]
    assert swf.events(execution, "TimerStarted") == []


def test_decision_task_timeout_from_the_type_default(swf):
    execution = swf.start()  # the type's defaultTaskStartToCloseTimeout is 300
    swf.decision_task(execution)
    swf.advance(299)
    assert swf.events(execution, "DecisionTaskTimedOut") == []
    swf.advance(1)
    assert swf.one(execution, "DecisionTaskTimedOut")["timeoutType"] == "START_TO_CLOSE"


def test_poll_page_token_cannot_be_used_with_get_history(swf, client):
    from botocore.exceptions import ClientError

    execution = _signaled(swf, 6)
    page = client.poll_for_decision_task(domain=swf.domain, taskList={"name": swf.task_list},
                                         maximumPageSize=2)
    with pytest.raises(ClientError) as info:
        client.get_workflow_execution_history(domain=swf.domain, execution=execution, maximumPageSize=2,
                                              nextPageToken=page["nextPageToken"])
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
