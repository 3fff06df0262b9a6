"""Execution operations: Start, Signal, RequestCancel, Terminate, Describe,
GetWorkflowExecutionHistory and the pending-task counts, with their faults."""

from __future__ import annotations

import datetime

import pytest
from botocore.exceptions import ClientError

START = 1_767_225_600.0


def _ts(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)


# -- StartWorkflowExecution ---------------------------------------------------------------

def test_start_records_started_and_schedules_a_decision_task(swf):
    execution = swf.start(input="in", tagList=["a", "b"], taskPriority="3")
    events = swf.history(execution)
    assert [e["eventType"] for e in events] == ["WorkflowExecutionStarted", "DecisionTaskScheduled"]
    started = events[0]["workflowExecutionStartedEventAttributes"]
    assert started["workflowType"] == swf.workflow_type
    assert started["input"] == "in"
    assert started["taskList"] == {"name": swf.task_list}
    assert started["childPolicy"] == "TERMINATE"
    assert started["executionStartToCloseTimeout"] == "3600"
    assert started["taskStartToCloseTimeout"] == "300"
    assert started["tagList"] == ["a", "b"]
    assert started["taskPriority"] == "3"
    assert events[0]["eventTimestamp"] == _ts(START)
    scheduled = events[1]["decisionTaskScheduledEventAttributes"]
    assert scheduled["taskList"] == {"name": swf.task_list}
    assert scheduled["startToCloseTimeout"] == "300"
    assert swf.pending_decisions() == 1


def test_start_arguments_override_type_defaults(swf):
    execution = swf.start(taskList={"name": "other"}, executionStartToCloseTimeout="100",
                          taskStartToCloseTimeout="NONE", childPolicy="ABANDON")
    started = swf.one(execution, "WorkflowExecutionStarted")
    assert started["taskList"] == {"name": "other"}
    assert started["executionStartToCloseTimeout"] == "100"
    assert started["taskStartToCloseTimeout"] == "NONE"
    assert started["childPolicy"] == "ABANDON"
    config = swf.describe(execution)["executionConfiguration"]
    assert config["taskList"] == {"name": "other"}
    assert config["executionStartToCloseTimeout"] == "100"
    assert config["taskStartToCloseTimeout"] == "NONE"
    assert config["childPolicy"] == "ABANDON"
    assert swf.pending_decisions("other") == 1
    assert swf.pending_decisions() == 0


def test_start_unknown_domain_is_unknown_resource(client, swf, fault):
    with fault("UnknownResourceFault"):
        client.start_workflow_execution(domain="no-such-domain", workflowId="w",
                                        workflowType=swf.workflow_type)


def test_start_unknown_type_is_unknown_resource(swf, fault):
    with fault("UnknownResourceFault"):
        swf.start(workflow_type={"name": "NoSuchType", "version": "1"})


def test_start_deprecated_type_is_type_deprecated(swf, client, fault):
    client.deprecate_workflow_type(domain=swf.domain, workflowType=swf.workflow_type)
    with fault("TypeDeprecatedFault"):
        swf.start()


@pytest.mark.parametrize("missing", ["taskList", "executionStartToCloseTimeout",
                                     "taskStartToCloseTimeout", "childPolicy"])
def test_start_without_argument_or_type_default_is_default_undefined(swf, fault, missing):
    bare = swf.register_workflow_type("Bare", defaults=False)
    params = {"taskList": {"name": swf.task_list}, "executionStartToCloseTimeout": "60",
              "taskStartToCloseTimeout": "10", "childPolicy": "TERMINATE"}
    del params[missing]
    with fault("DefaultUndefinedFault"):
        swf.start(workflow_type=bare, **params)


def test_start_with_all_arguments_needs_no_type_defaults(swf):
    bare = swf.register_workflow_type("Bare", defaults=False)
    execution = swf.start(workflow_type=bare, taskList={"name": swf.task_list},
                          executionStartToCloseTimeout="60", taskStartToCloseTimeout="10",
                          childPolicy="TERMINATE")
    assert swf.info(execution)["executionStatus"] == "OPEN"


def test_workflow_id_of_an_open_execution_cannot_be_started_again(swf, fault):
    execution = swf.start("same-id")
    with fault("WorkflowExecutionAlreadyStartedFault"):
        swf.start("same-id")
    assert swf.info(execution)["executionStatus"] == "OPEN"


def test_workflow_id_of_a_closed_execution_is_reusable(swf, client):
    first = swf.start("same-id")
    client.terminate_workflow_execution(domain=swf.domain, workflowId="same-id")
    second = swf.start("same-id")
    assert second["runId"] != first["runId"]
    assert swf.info(first)["executionStatus"] == "CLOSED"
    assert swf.info(second)["executionStatus"] == "OPEN"


def test_same_workflow_id_in_two_domains_is_allowed(swf, client):
    swf.start("shared-id")
    client.register_domain(name=swf.domain + "-2", workflowExecutionRetentionPeriodInDays="1")
    client.register_workflow_type(domain=swf.domain + "-2", name="W", version="1",
                                  defaultTaskList={"name": "x"}, defaultChildPolicy="TERMINATE",
                                  defaultExecutionStartToCloseTimeout="60",
                                  defaultTaskStartToCloseTimeout="10")
    run = client.start_workflow_execution(domain=swf.domain + "-2", workflowId="shared-id",
                                          workflowType={"name": "W", "version": "1"})
    assert run["runId"]


# -- DescribeWorkflowExecution ------------------------------------------------------------

def test_describe_open_execution(swf):
    execution = swf.start(tagList=["t1"], input="x")
    detail = swf.describe(execution)
    info = detail["executionInfo"]
    assert info["execution"] == execution
    assert info["workflowType"] == swf.workflow_type
    assert info["executionStatus"] == "OPEN"
    assert "closeStatus" not in info and "closeTimestamp" not in info
    assert info["startTimestamp"] == _ts(START)
    assert info["tagList"] == ["t1"]
    assert info.get("cancelRequested", False) is False
    assert "parent" not in info
    config = detail["executionConfiguration"]
    assert config["taskList"] == {"name": swf.task_list}
    assert config["childPolicy"] == "TERMINATE"
    assert config["executionStartToCloseTimeout"] == "3600"
    assert config["taskStartToCloseTimeout"] == "300"
    counts = detail["openCounts"]
    assert (counts["openActivityTasks"], counts["openDecisionTasks"], counts["openTimers"],
            counts["openChildWorkflowExecutions"]) == (0, 1, 0, 0)


def test_describe_counts_follow_the_execution(swf):
    execution = swf.start()
    swf.advance(7)
    swf.decide(execution, [swf.schedule("a1"), swf.schedule("a2"), swf.timer("t1")],
               executionContext="ctx-1")
    detail = swf.describe(execution)
    assert detail["openCounts"]["openActivityTasks"] == 2
    assert detail["openCounts"]["openTimers"] == 1
    assert detail["openCounts"]["openDecisionTasks"] == 0
    assert detail["latestExecutionContext"] == "ctx-1"
    assert detail["latestActivityTaskTimestamp"] == _ts(START + 7)


def test_describe_unknown_execution_is_unknown_resource(swf, fault):
    execution = swf.start()
    with fault("UnknownResourceFault"):
        swf.describe({"workflowId": execution["workflowId"], "runId": "0" * 40})
    with fault("UnknownResourceFault"):
        swf.describe({"workflowId": "nope", "runId": execution["runId"]})


def test_describe_closed_execution(swf):
    execution = swf.start()
    swf.advance(5)
    swf.decide(execution, [swf.complete("done")])
    info = swf.info(execution)
    assert info["executionStatus"] == "CLOSED"
    assert info["closeStatus"] == "COMPLETED"
    assert info["closeTimestamp"] == _ts(START + 5)
    assert swf.describe(execution)["openCounts"]["openDecisionTasks"] == 0


# -- SignalWorkflowExecution --------------------------------------------------------------

def test_signal_records_signaled_and_schedules_a_decision(swf):
    execution = swf.start()
    swf.decide(execution)
    swf.signal(execution, "go", input="payload")
    signaled = swf.one(execution, "WorkflowExecutionSignaled")
    assert signaled["signalName"] == "go"
    assert signaled["input"] == "payload"
    assert "externalWorkflowExecution" not in signaled
    assert swf.types(execution)[-2:] == ["WorkflowExecutionSignaled", "DecisionTaskScheduled"]
    task = swf.decision_task(execution)
    assert task["events"][-3]["eventType"] == "WorkflowExecutionSignaled"


def test_signal_without_run_id_targets_the_current_run(swf, client):
    first = swf.start("sig-id")
    client.terminate_workflow_execution(domain=swf.domain, workflowId="sig-id")
    second = swf.start("sig-id")
    client.signal_workflow_execution(domain=swf.domain, workflowId="sig-id", signalName="s")
    assert "WorkflowExecutionSignaled" in swf.types(second)
    assert "WorkflowExecutionSignaled" not in swf.types(first)


def test_signal_a_closed_run_is_unknown_resource(swf, client, fault):
    execution = swf.start()
    client.terminate_workflow_execution(domain=swf.domain, workflowId=execution["workflowId"])
    with fault("UnknownResourceFault"):
        swf.signal(execution, "late")
    with fault("UnknownResourceFault"):
        swf.signal(execution["workflowId"], "late")


def test_signal_unknown_workflow_is_unknown_resource(swf, fault):
    with fault("UnknownResourceFault"):
        swf.signal("no-such-workflow", "s")


def test_signal_without_input(swf):
    execution = swf.start()
    swf.signal(execution, "bare")
    assert "input" not in swf.one(execution, "WorkflowExecutionSignaled")


# -- RequestCancelWorkflowExecution -------------------------------------------------------

def test_request_cancel_sets_cancel_requested_and_schedules_a_decision(swf, client):
    execution = swf.start()
    swf.decide(execution)
    client.request_cancel_workflow_execution(domain=swf.domain, workflowId=execution["workflowId"])
    requested = swf.one(execution, "WorkflowExecutionCancelRequested")
    assert "cause" not in requested and "externalWorkflowExecution" not in requested
    assert swf.info(execution)["cancelRequested"] is True
    assert swf.types(execution)[-1] == "DecisionTaskScheduled"
    swf.decide(execution, [swf.decision("CancelWorkflowExecution", details="bye")])
    assert swf.one(execution, "WorkflowExecutionCanceled")["details"] == "bye"
    info = swf.info(execution)
    assert (info["executionStatus"], info["closeStatus"]) == ("CLOSED", "CANCELED")


def test_request_cancel_is_only_a_request(swf, client):
    execution = swf.start()
    client.request_cancel_workflow_execution(domain=swf.domain, workflowId=execution["workflowId"],
                                             runId=execution["runId"])
    swf.decide(execution, [swf.complete("ignored the request")])
    assert swf.info(execution)["closeStatus"] == "COMPLETED"


def test_request_cancel_closed_or_unknown_is_unknown_resource(swf, client, fault):
    execution = swf.start()
    with fault("UnknownResourceFault"):
        client.request_cancel_workflow_execution(domain=swf.domain, workflowId="nope")
    client.terminate_workflow_execution(domain=swf.domain, workflowId=execution["workflowId"])
    with fault("UnknownResourceFault"):
        client.request_cancel_workflow_execution(domain=swf.domain, workflowId=execution["workflowId"])


# -- TerminateWorkflowExecution -----------------------------------------------------------

def test_terminate_closes_at_once(swf, client, fault):
    execution = swf.start()
    task = swf.decision_task(execution)
    swf.advance(3)
    client.terminate_workflow_execution(domain=swf.domain, workflowId=execution["workflowId"],
                                        runId=execution["runId"], reason="why", details="more")
    terminated = swf.one(execution, "WorkflowExecutionTerminated")
    assert terminated["reason"] == "why"
    assert terminated["details"] == "more"
    assert terminated["childPolicy"] == "TERMINATE"
    assert terminated["cause"] == "OPERATOR_INITIATED"
    assert swf.types(execution)[-1] == "WorkflowExecutionTerminated"
    info = swf.info(execution)
    assert (info["executionStatus"], info["closeStatus"]) == ("CLOSED", "TERMINATED")
    assert info["closeTimestamp"] == _ts(START + 3)
    # The decision task handed out before is gone with the execution.
    with fault("UnknownResourceFault"):
        swf.respond(task, [swf.complete()])
    assert swf.pending_decisions() == 0


def test_terminate_unknown_or_closed_is_unknown_resource(swf, client, fault):
    with fault("UnknownResourceFault"):
        client.terminate_workflow_execution(domain=swf.domain, workflowId="nope")
    execution = swf.start()
    client.terminate_workflow_execution(domain=swf.domain, workflowId=execution["workflowId"])
    with fault("UnknownResourceFault"):
        client.terminate_workflow_execution(domain=swf.domain, workflowId=execution["workflowId"])


def test_terminate_child_policy_override_is_recorded(swf, client):
    execution = swf.start()
    client.terminate_workflow_execution(domain=swf.domain, workflowId=execution["workflowId"],
                                        childPolicy="ABANDON")
    assert swf.one(execution, "WorkflowExecutionTerminated")["childPolicy"] == "ABANDON"


# -- GetWorkflowExecutionHistory ----------------------------------------------------------

def _long_history(swf, signals: int = 12) -> tuple[dict, list[dict]]:
    execution = swf.start()
    for number in range(signals):
        swf.signal(execution, f"s{number}")
    return execution, swf.history(execution)


def test_history_paging_with_the_paginator(swf, client):
    execution, full = _long_history(swf)
    assert len(full) == 14
    paginator = client.get_paginator("get_workflow_execution_history")
    pages = list(paginator.paginate(domain=swf.domain, execution=execution,
                                    PaginationConfig={"PageSize": 3}))
    assert len(pages) >= 5
    assert all(len(page["events"]) <= 3 for page in pages)
    assert [e["eventId"] for page in pages for e in page["events"]] == list(range(1, 15))
    assert "nextPageToken" not in pages[-1]


def test_history_paging_in_reverse_order(swf, client):
    execution, full = _long_history(swf)
    paginator = client.get_paginator("get_workflow_execution_history")
    pages = list(paginator.paginate(domain=swf.domain, execution=execution, reverseOrder=True,
                                    PaginationConfig={"PageSize": 4}))
    assert all(len(page["events"]) <= 4 for page in pages)
    events = [e for page in pages for e in page["events"]]
    assert [e["eventId"] for e in events] == list(range(14, 0, -1))
    assert events == list(reversed(full))


def test_history_manual_paging_with_next_page_token(swf, client):
    execution, full = _long_history(swf, signals=3)
    first = client.get_workflow_execution_history(domain=swf.domain, execution=execution,
                                                  maximumPageSize=2)
    assert [e["eventId"] for e in first["events"]] == [1, 2]
    second = client.get_workflow_execution_history(domain=swf.domain, execution=execution,
                                                   maximumPageSize=2, nextPageToken=first["nextPageToken"])
    assert [e["eventId"] for e in second["events"]] == [3, 4]


def test_history_of_unknown_execution_is_unknown_resource(swf, client, fault):
    with fault("UnknownResourceFault"):
        client.get_workflow_execution_history(domain=swf.domain,
                                              execution={"workflowId": "nope", "runId": "nope"})


def test_history_stays_readable_after_close(swf):
    execution = swf.start()
    swf.decide(execution, [swf.complete("r")])
    assert swf.types(execution) == ["WorkflowExecutionStarted", "DecisionTaskScheduled",
                                    "DecisionTaskStarted", "DecisionTaskCompleted",
                                    "WorkflowExecutionCompleted"]
    assert swf.one(execution, "WorkflowExecutionCompleted")["result"] == "r"


# -- CountPendingDecisionTasks / CountPendingActivityTasks --------------------------------

def test_count_pending_decision_tasks(swf):
    assert swf.pending_decisions() == 0
    assert swf.pending_decisions("never-used") == 0
    first, second = swf.start(), swf.start()
    assert swf.pending_decisions() == 2
    swf.decision_task()
    assert swf.pending_decisions() == 1
    swf.decision_task()
    assert swf.pending_decisions() == 0


def test_count_pending_activity_tasks(swf):
    execution = swf.start()
    assert swf.pending_activities() == 0
    swf.decide(execution, [swf.schedule("a1"), swf.schedule("a2"),
                           swf.schedule("a3", taskList={"name": "elsewhere"})])
    assert swf.pending_activities() == 2
    assert swf.pending_activities("elsewhere") == 1
    swf.activity_task()
    assert swf.pending_activities() == 1


def test_count_pending_unknown_domain_is_unknown_resource(client, swf, fault):
    with fault("UnknownResourceFault"):
        client.count_pending_decision_tasks(domain="nope", taskList={"name": "x"})
    with fault("UnknownResourceFault"):
        client.count_pending_activity_tasks(domain="nope", taskList={"name": "x"})


def test_poll_unknown_domain_is_unknown_resource(client, swf, fault):
    with fault("UnknownResourceFault"):
        client.poll_for_decision_task(domain="nope", taskList={"name": "x"})
    with fault("UnknownResourceFault"):
        client.poll_for_activity_task(domain="nope", taskList={"name": "x"})


def test_start_in_a_deprecated_domain_is_refused(swf, client):
    client.deprecate_domain(name=swf.domain)
    with pytest.raises(ClientError) as info:
        swf.start()
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert client.count_open_workflow_executions(domain=swf.domain,
                                                 startTimeFilter={"oldestDate": 0})["count"] == 0


def test_running_execution_continues_in_a_deprecated_domain(swf, client):
    execution = swf.start()
    client.deprecate_domain(name=swf.domain)
    swf.decide(execution, [swf.complete("fine")])
    assert swf.info(execution)["closeStatus"] == "COMPLETED"


def test_closed_execution_has_no_open_counts(swf):
    execution = swf.start()
    swf.decide(execution, [swf.schedule("a1"), swf.timer("t1"), swf.complete()])
    counts = swf.describe(execution)["openCounts"]
    assert (counts["openActivityTasks"], counts["openDecisionTasks"], counts["openTimers"],
            counts["openChildWorkflowExecutions"]) == (0, 0, 0, 0)


def test_workflow_type_default_task_priority_applies(swf):
    urgent = swf.register_workflow_type("Urgent", defaultTaskPriority="10",
                                        defaultTaskList={"name": swf.task_list},
                                        defaultExecutionStartToCloseTimeout="3600",
                                        defaultTaskStartToCloseTimeout="300",
                                        defaultChildPolicy="TERMINATE", defaults=False)
    plain = swf.start()
    hurried = swf.start(workflow_type=urgent)
    assert swf.one(hurried, "WorkflowExecutionStarted")["taskPriority"] == "10"
    assert swf.decision_task()["workflowExecution"] == hurried
    assert swf.decision_task()["workflowExecution"] == plain


def test_terminate_a_closed_run_by_run_id_is_unknown_even_if_the_id_is_open(swf, client, fault):
    old = swf.start("reused")
    client.terminate_workflow_execution(domain=swf.domain, workflowId="reused")
    new = swf.start("reused")
    with fault("UnknownResourceFault"):
        client.terminate_workflow_execution(domain=swf.domain, workflowId="reused", runId=old["runId"])
    assert swf.info(new)["executionStatus"] == "OPEN"


def test_closed_history_is_dropped_after_the_retention_period(swf, client, fault):
    """The domain keeps closed executions 1 day; well past that they are gone, while an
    open execution of the same age is kept."""
    closed = swf.start()
    swf.decide(closed, [swf.complete()])
    open_run = swf.start(executionStartToCloseTimeout="31536000")
    swf.advance(3 * 86_400)
    with fault("UnknownResourceFault"):
        swf.describe(closed)
    with fault("UnknownResourceFault"):
        client.get_workflow_execution_history(domain=swf.domain, execution=closed)
    assert swf.info(open_run)["executionStatus"] == "OPEN"


def test_history_page_token_expires_after_24_hours(swf, client):
    execution = swf.start(executionStartToCloseTimeout="31536000")
    for number in range(3):
        swf.signal(execution, f"s{number}")
    first = client.get_workflow_execution_history(domain=swf.domain, execution=execution, maximumPageSize=2)
    swf.advance(25 * 3600)
    with pytest.raises(ClientError) as info:
        client.get_workflow_execution_history(domain=swf.domain, execution=execution, maximumPageSize=2,
                                              nextPageToken=first["nextPageToken"])
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_respond_without_a_decisions_member(swf, client):
    execution = swf.start()
    task = swf.decision_task(execution)
    client.respond_decision_task_completed(taskToken=task["taskToken"])
    assert swf.types(execution)[-1] == "DecisionTaskCompleted"


def test_scheduled_decision_task_of_a_terminated_execution_is_not_handed_out(swf, client):
    execution = swf.start()
    assert swf.pending_decisions() == 1
    client.terminate_workflow_execution(domain=swf.domain, workflowId=execution["workflowId"])
    assert swf.pending_decisions() == 0
    assert swf.poll_decision()["taskToken"] == ""
