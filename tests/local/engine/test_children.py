"""Child workflows, external signals and cancel requests, and child policies."""

from __future__ import annotations

import pytest

from .harness import DOMAIN, WF, complete, decision


def start_child(workflow_id="child", **attributes):
    return decision("StartChildWorkflowExecution", workflowType=WF, workflowId=workflow_id, **attributes)


def parent_with_child(h, policy="TERMINATE", **attributes):
    parent_run = h.start("parent", childPolicy=policy)
    task = h.decide(start_child(input="ci", control="ctl", **attributes))
    child_run = h.last("parent", parent_run, "ChildWorkflowExecutionStarted")["workflowExecution"]["runId"]
    return parent_run, child_run, task


def decide_for(h, workflow_id, *decisions):
    """Answer the pending decision task of ``workflow_id`` (other runs' tasks are answered empty)."""
    for _ in range(10):
        task = h.decision_task()
        assert task["taskToken"]
        mine = task["workflowExecution"]["workflowId"] == workflow_id
        h("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=list(decisions) if mine else [])
        if mine:
            return task
    raise AssertionError("no decision task for " + workflow_id)


def test_child_start_and_completion(h):
    parent_run, child_run, task = parent_with_child(h)
    done = task["startedEventId"] + 1
    initiated = h.last("parent", parent_run, "StartChildWorkflowExecutionInitiated")
    assert initiated == {"workflowId": "child", "workflowType": WF, "control": "ctl", "input": "ci",
                         "executionStartToCloseTimeout": "3600", "taskList": {"name": "deciders"},
                         "decisionTaskCompletedEventId": done, "childPolicy": "TERMINATE",
                         "taskStartToCloseTimeout": "30"}
    started_attrs = h.last("parent", parent_run, "ChildWorkflowExecutionStarted")
    assert started_attrs == {"workflowExecution": {"workflowId": "child", "runId": child_run},
                             "workflowType": WF, "initiatedEventId": done + 1}
    child_started = h.last("child", child_run, "WorkflowExecutionStarted")
    assert child_started["parentWorkflowExecution"] == {"workflowId": "parent", "runId": parent_run}
    assert child_started["parentInitiatedEventId"] == done + 1
    info = h.describe("child", child_run)["executionInfo"]
    assert info["parent"] == {"workflowId": "parent", "runId": parent_run}
    assert h.describe("parent", parent_run)["openCounts"]["openChildWorkflowExecutions"] == 1
    decide_for(h, "child", complete("child result"))
    assert h.last("parent", parent_run, "ChildWorkflowExecutionCompleted") == {
        "workflowExecution": {"workflowId": "child", "runId": child_run}, "workflowType": WF,
        "result": "child result", "initiatedEventId": done + 1, "startedEventId": done + 2}
    assert h.describe("parent", parent_run)["openCounts"]["openChildWorkflowExecutions"] == 0


@pytest.mark.parametrize("closing, event_type, attrs", [
    (decision("FailWorkflowExecution", reason="r", details="d"), "ChildWorkflowExecutionFailed",
     {"reason": "r", "details": "d"}),
    (decision("CancelWorkflowExecution", details="d"), "ChildWorkflowExecutionCanceled", {"details": "d"}),
])
def test_child_failure_and_cancel(h, closing, event_type, attrs):
    parent_run, child_run, _ = parent_with_child(h)
    decide_for(h, "child", closing)
    got = h.last("parent", parent_run, event_type)
    assert {k: got[k] for k in attrs} == attrs
    assert got["workflowExecution"]["runId"] == child_run


def test_child_timed_out_and_terminated(h):
    parent_run, child_run, _ = parent_with_child(h, executionStartToCloseTimeout="10")
    h.advance(10)
    got = h.last("parent", parent_run, "ChildWorkflowExecutionTimedOut")
    assert got["timeoutType"] == "START_TO_CLOSE" and got["workflowExecution"]["runId"] == child_run
    h.decide(start_child("child2"))
    child2 = h.last("parent", parent_run, "ChildWorkflowExecutionStarted")["workflowExecution"]["runId"]
    h("TerminateWorkflowExecution", domain=DOMAIN, workflowId="child2")
    got = h.last("parent", parent_run, "ChildWorkflowExecutionTerminated")
    assert got["workflowExecution"] == {"workflowId": "child2", "runId": child2}
    assert set(got) == {"workflowExecution", "workflowType", "initiatedEventId", "startedEventId"}


def test_start_child_failures(h):
    h("RegisterWorkflowType", domain=DOMAIN, name="bare", version="1")
    h("RegisterWorkflowType", domain=DOMAIN, name="old", version="1", defaultTaskList={"name": "x"})
    h("DeprecateWorkflowType", domain=DOMAIN, workflowType={"name": "old", "version": "1"})
    parent_run = h.start("parent")
    h.start("busy")
    task = h.decide(
        decision("StartChildWorkflowExecution", workflowType={"name": "nope", "version": "1"}, workflowId="c1"),
        decision("StartChildWorkflowExecution", workflowType={"name": "old", "version": "1"}, workflowId="c2"),
        decision("StartChildWorkflowExecution", workflowType={"name": "bare", "version": "1"}, workflowId="c3"),
        decision("StartChildWorkflowExecution", workflowType={"name": "bare", "version": "1"}, workflowId="c4",
                 taskList={"name": "x"}, executionStartToCloseTimeout="5", taskStartToCloseTimeout="5"),
        start_child("busy", control="c"),
    )
    done = task["startedEventId"] + 1
    failed = [e for e in h.history("parent", parent_run) if e["eventType"] == "StartChildWorkflowExecutionFailed"]
    got = [(e["startChildWorkflowExecutionFailedEventAttributes"]["workflowId"],
            e["startChildWorkflowExecutionFailedEventAttributes"]["cause"],
            e["startChildWorkflowExecutionFailedEventAttributes"]["initiatedEventId"]) for e in failed]
    initiated = [e for e in h.history("parent", parent_run)
                 if e["eventType"] == "StartChildWorkflowExecutionInitiated"]
    assert len(initiated) == 1
    assert got == [("c1", "WORKFLOW_TYPE_DOES_NOT_EXIST", 0), ("c2", "WORKFLOW_TYPE_DEPRECATED", 0),
                   ("c3", "DEFAULT_TASK_LIST_UNDEFINED", 0), ("c4", "DEFAULT_CHILD_POLICY_UNDEFINED", 0),
                   ("busy", "WORKFLOW_ALREADY_RUNNING", initiated[0]["eventId"])]
    assert failed[-1]["startChildWorkflowExecutionFailedEventAttributes"]["control"] == "c"
    assert all(e["startChildWorkflowExecutionFailedEventAttributes"]["decisionTaskCompletedEventId"] == done
               for e in failed)


def test_terminate_parent_terminates_children(h):
    parent_run, child_run, _ = parent_with_child(h, "TERMINATE")
    h("TerminateWorkflowExecution", domain=DOMAIN, workflowId="parent")
    info = h.describe("child", child_run)["executionInfo"]
    assert info["closeStatus"] == "TERMINATED"
    assert h.last("child", child_run, "WorkflowExecutionTerminated") == {
        "childPolicy": "TERMINATE", "cause": "CHILD_POLICY_APPLIED"}
    assert h.types("parent", parent_run)[-1] == "WorkflowExecutionTerminated"


def test_terminate_parent_request_cancels_children(h):
    parent_run, child_run, _ = parent_with_child(h)
    h("TerminateWorkflowExecution", domain=DOMAIN, workflowId="parent", childPolicy="REQUEST_CANCEL")
    assert h.last("parent", parent_run, "WorkflowExecutionTerminated")["childPolicy"] == "REQUEST_CANCEL"
    info = h.describe("child", child_run)["executionInfo"]
    assert info["executionStatus"] == "OPEN" and info["cancelRequested"] is True
    assert h.last("child", child_run, "WorkflowExecutionCancelRequested") == {"cause": "CHILD_POLICY_APPLIED"}


def test_terminate_parent_abandons_children(h):
    parent_run, child_run, _ = parent_with_child(h, "ABANDON")
    h("TerminateWorkflowExecution", domain=DOMAIN, workflowId="parent")
    info = h.describe("child", child_run)["executionInfo"]
    assert info["executionStatus"] == "OPEN" and info["cancelRequested"] is False
    decide_for(h, "child", complete())  # the closed parent hears nothing
    assert h.types("parent", parent_run)[-1] == "WorkflowExecutionTerminated"


def test_parent_timeout_applies_child_policy(h):
    parent_run = h.start("parent", executionStartToCloseTimeout="50")
    h.decide(start_child(executionStartToCloseTimeout="1000"))
    child_run = h.last("parent", parent_run, "ChildWorkflowExecutionStarted")["workflowExecution"]["runId"]
    h.advance(50)
    assert h.describe("parent", parent_run)["executionInfo"]["closeStatus"] == "TIMED_OUT"
    assert h.describe("child", child_run)["executionInfo"]["closeStatus"] == "TERMINATED"


def test_signal_and_cancel_external(h):
    target_run = h.start("target")
    source_run = h.start("source")
    decide_for(h, "target")
    task = decide_for(h, "source",
                      decision("SignalExternalWorkflowExecution", workflowId="target", signalName="hi",
                               input="x", control="c"),
                      decision("RequestCancelExternalWorkflowExecution", workflowId="target", runId=target_run),
                      decision("SignalExternalWorkflowExecution", workflowId="ghost", signalName="hi"),
                      decision("RequestCancelExternalWorkflowExecution", workflowId="ghost"))
    done = task["startedEventId"] + 1
    source = {"workflowId": "source", "runId": source_run}
    assert h.last("target", target_run, "WorkflowExecutionSignaled") == {
        "signalName": "hi", "input": "x", "externalWorkflowExecution": source,
        "externalInitiatedEventId": done + 1}
    assert h.last("target", target_run, "WorkflowExecutionCancelRequested") == {
        "externalWorkflowExecution": source, "externalInitiatedEventId": done + 2}
    assert h.describe("target", target_run)["executionInfo"]["cancelRequested"] is True
    events = h.history("source", source_run)[done:]
    types = [e["eventType"] for e in events]
    assert types == ["SignalExternalWorkflowExecutionInitiated", "RequestCancelExternalWorkflowExecutionInitiated",
                     "SignalExternalWorkflowExecutionInitiated", "RequestCancelExternalWorkflowExecutionInitiated",
                     "ExternalWorkflowExecutionSignaled",
                     "ExternalWorkflowExecutionCancelRequested", "SignalExternalWorkflowExecutionFailed",
                     "RequestCancelExternalWorkflowExecutionFailed", "DecisionTaskScheduled"]
    target = {"workflowId": "target", "runId": target_run}
    assert events[4]["externalWorkflowExecutionSignaledEventAttributes"] == {
        "workflowExecution": target, "initiatedEventId": done + 1}
    assert events[6]["signalExternalWorkflowExecutionFailedEventAttributes"] == {
        "workflowId": "ghost", "cause": "UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION", "initiatedEventId": done + 3,
        "decisionTaskCompletedEventId": done}
    assert events[7]["requestCancelExternalWorkflowExecutionFailedEventAttributes"]["initiatedEventId"] == done + 4


def test_continue_as_new_child_keeps_parent(h):
    parent_run, child_run, _ = parent_with_child(h)
    decide_for(h, "child", decision("ContinueAsNewWorkflowExecution", input="again"))
    new_child = h.last("child", child_run, "WorkflowExecutionContinuedAsNew")["newExecutionRunId"]
    started = h.last("child", new_child, "WorkflowExecutionStarted")
    assert started["parentWorkflowExecution"] == {"workflowId": "parent", "runId": parent_run}
    assert "ChildWorkflowExecutionCompleted" not in h.types("parent", parent_run)
    decide_for(h, "child", complete("final"))
    got = h.last("parent", parent_run, "ChildWorkflowExecutionCompleted")
    assert got["result"] == "final" and got["workflowExecution"]["runId"] == new_child


def test_completed_parent_leaves_children_running(h):
    parent_run, child_run, _ = parent_with_child(h)
    decide_for(h, "parent", complete())
    assert h.describe("parent", parent_run)["openCounts"]["openChildWorkflowExecutions"] == 0
    assert h.describe("child", child_run)["executionInfo"]["executionStatus"] == "OPEN"
    h("SignalWorkflowExecution", domain=DOMAIN, workflowId="child", signalName="s")
    decide_for(h, "child", complete())
    assert h.types("parent", parent_run)[-1] == "WorkflowExecutionCompleted"
