"""Decisions that reach other executions: child workflows (all parent-side events and child
policies), SignalExternalWorkflowExecution and RequestCancelExternalWorkflowExecution."""

from __future__ import annotations

import pytest

CHILD_LIST = "children"


def _start_child(swf, eventually, parent_params: dict | None = None, **child_attributes) -> tuple[dict, dict]:
    """A parent whose first decision starts one child on CHILD_LIST; returns (parent, child)."""
    parent = swf.start(**(parent_params or {}))
    attributes = {"workflowId": f"{parent['workflowId']}-child", "workflowType": swf.workflow_type,
                  "taskList": {"name": CHILD_LIST}}
    attributes.update(child_attributes)
    swf.decide(parent, [swf.decision("StartChildWorkflowExecution", **attributes)])
    started = eventually(lambda: swf.events(parent, "ChildWorkflowExecutionStarted"),
                         what="ChildWorkflowExecutionStarted")
    child = started[0]["childWorkflowExecutionStartedEventAttributes"]["workflowExecution"]
    return parent, child


def test_start_child_workflow_execution_happy_path(swf, eventually):
    parent, child = _start_child(swf, eventually, workflowId="kid", input="child-in", control="ctl",
                                 tagList=["c"])
    initiated = swf.events(parent, "StartChildWorkflowExecutionInitiated")[0]
    attributes = initiated["startChildWorkflowExecutionInitiatedEventAttributes"]
    assert attributes["workflowId"] == "kid"
    assert attributes["workflowType"] == swf.workflow_type
    assert attributes["input"] == "child-in"
    assert attributes["control"] == "ctl"
    assert attributes["taskList"] == {"name": CHILD_LIST}
    assert attributes["childPolicy"] == "TERMINATE"  # the type's default
    assert attributes["tagList"] == ["c"]
    assert attributes["decisionTaskCompletedEventId"] == 4
    started = swf.one(parent, "ChildWorkflowExecutionStarted")
    assert started["initiatedEventId"] == initiated["eventId"]
    assert started["workflowType"] == swf.workflow_type
    assert child["workflowId"] == "kid"
    types = swf.types(parent)
    assert "DecisionTaskScheduled" in types[types.index("ChildWorkflowExecutionStarted"):]
    assert swf.open_counts(parent)["openChildWorkflowExecutions"] == 1

    child_started = swf.one(child, "WorkflowExecutionStarted")
    assert child_started["parentWorkflowExecution"] == parent
    assert child_started["parentInitiatedEventId"] == initiated["eventId"]
    assert child_started["input"] == "child-in"
    assert child_started["taskList"] == {"name": CHILD_LIST}
    assert swf.info(child)["parent"] == parent
    assert swf.types(child) == ["WorkflowExecutionStarted", "DecisionTaskScheduled"]
    task = swf.decision_task(child, task_list=CHILD_LIST)
    assert task["workflowType"] == swf.workflow_type


def _complete(swf, child, eventually):
    swf.decide(child, [swf.complete("child-result")], task_list=CHILD_LIST)
    return {"result": "child-result"}


def _fail(swf, child, eventually):
    swf.decide(child, [swf.decision("FailWorkflowExecution", reason="r", details="d")], task_list=CHILD_LIST)
    return {"reason": "r", "details": "d"}


def _time_out(swf, child, eventually):
    swf.advance(3600)
    return {"timeoutType": "START_TO_CLOSE"}


def _cancel(swf, child, eventually):
    swf.client.request_cancel_workflow_execution(domain=swf.domain, workflowId=child["workflowId"])
    swf.decide(child, [swf.decision("CancelWorkflowExecution", details="gone")], task_list=CHILD_LIST)
    return {"details": "gone"}


def _terminate(swf, child, eventually):
    swf.client.terminate_workflow_execution(domain=swf.domain, workflowId=child["workflowId"],
                                            runId=child["runId"])
    return {}


CHILD_ENDINGS = {
    "ChildWorkflowExecutionCompleted": (_complete, "COMPLETED"),
    "ChildWorkflowExecutionFailed": (_fail, "FAILED"),
    "ChildWorkflowExecutionTimedOut": (_time_out, "TIMED_OUT"),
    "ChildWorkflowExecutionCanceled": (_cancel, "CANCELED"),
    "ChildWorkflowExecutionTerminated": (_terminate, "TERMINATED"),
}


@pytest.mark.parametrize("event_type", sorted(CHILD_ENDINGS))
def test_parent_sees_how_the_child_closed(swf, eventually, event_type):
    end, close_status = CHILD_ENDINGS[event_type]
    # The parent outlives the child: its own timeout is longer than the child's 3600 s.
    parent, child = _start_child(swf, eventually, parent_params={"executionStartToCloseTimeout": "7200"},
                                 executionStartToCloseTimeout="3600")
    swf.decide(parent)  # the ChildWorkflowExecutionStarted decision task
    expected = end(swf, child, eventually)
    assert swf.info(child)["closeStatus"] == close_status
    events = eventually(lambda: swf.events(parent, event_type), what=event_type)
    assert len(events) == 1
    attributes = events[0][f"{event_type[0].lower()}{event_type[1:]}EventAttributes"]
    assert attributes["workflowExecution"] == child
    assert attributes["workflowType"] == swf.workflow_type
    assert attributes["initiatedEventId"] == swf.events(parent, "StartChildWorkflowExecutionInitiated")[0]["eventId"]
    assert attributes["startedEventId"] == swf.events(parent, "ChildWorkflowExecutionStarted")[0]["eventId"]
    for key, value in expected.items():
        assert attributes[key] == value, key
    types = swf.types(parent)
    assert types[-1] == "DecisionTaskScheduled" or "DecisionTaskScheduled" in types[types.index(event_type):]
    assert swf.info(parent)["executionStatus"] == "OPEN"
    assert swf.open_counts(parent)["openChildWorkflowExecutions"] == 0
    swf.decision_task(parent)


def test_start_child_type_does_not_exist(swf):
    parent = swf.start()
    swf.decide(parent, [swf.decision("StartChildWorkflowExecution", workflowId="kid",
                                     workflowType={"name": "Missing", "version": "1"})])
    failed = swf.one(parent, "StartChildWorkflowExecutionFailed")
    assert failed["cause"] == "WORKFLOW_TYPE_DOES_NOT_EXIST"
    assert failed["workflowId"] == "kid"
    assert failed["workflowType"] == {"name": "Missing", "version": "1"}
    assert failed["initiatedEventId"] == 0
    assert failed["decisionTaskCompletedEventId"] == 4
    swf.decision_task(parent)


def test_start_child_type_deprecated(swf, client):
    parent = swf.start()
    client.deprecate_workflow_type(domain=swf.domain, workflowType=swf.workflow_type)
    swf.decide(parent, [swf.decision("StartChildWorkflowExecution", workflowId="kid",
                                     workflowType=swf.workflow_type)])
    assert swf.one(parent, "StartChildWorkflowExecutionFailed")["cause"] == "WORKFLOW_TYPE_DEPRECATED"


def test_start_child_workflow_already_running(swf, eventually):
    parent = swf.start()
    other = swf.start("busy-id", taskList={"name": "elsewhere"})
    swf.decide(parent, [swf.decision("StartChildWorkflowExecution", workflowId="busy-id",
                                     workflowType=swf.workflow_type, control="c")])
    failed = eventually(lambda: swf.events(parent, "StartChildWorkflowExecutionFailed"),
                        what="StartChildWorkflowExecutionFailed")[0]
    attributes = failed["startChildWorkflowExecutionFailedEventAttributes"]
    assert attributes["cause"] == "WORKFLOW_ALREADY_RUNNING"
    assert attributes["workflowId"] == "busy-id"
    assert attributes["control"] == "c"
    initiated = swf.events(parent, "StartChildWorkflowExecutionInitiated")
    assert attributes["initiatedEventId"] == initiated[0]["eventId"]
    assert swf.info(other)["executionStatus"] == "OPEN"
    assert "parent" not in swf.info(other)
    swf.decision_task(parent)


ALL_WORKFLOW_ARGUMENTS = {
    "taskList": ("DEFAULT_TASK_LIST_UNDEFINED", {"name": CHILD_LIST}),
    "executionStartToCloseTimeout": ("DEFAULT_EXECUTION_START_TO_CLOSE_TIMEOUT_UNDEFINED", "600"),
    "taskStartToCloseTimeout": ("DEFAULT_TASK_START_TO_CLOSE_TIMEOUT_UNDEFINED", "60"),
    "childPolicy": ("DEFAULT_CHILD_POLICY_UNDEFINED", "TERMINATE"),
}


@pytest.mark.parametrize("missing", sorted(ALL_WORKFLOW_ARGUMENTS))
def test_start_child_default_undefined(swf, missing):
    bare = swf.register_workflow_type("Bare", defaults=False)
    arguments = {name: value for name, (_, value) in ALL_WORKFLOW_ARGUMENTS.items() if name != missing}
    parent = swf.start()
    swf.decide(parent, [swf.decision("StartChildWorkflowExecution", workflowId="kid",
                                     workflowType=bare, **arguments)])
    failed = swf.one(parent, "StartChildWorkflowExecutionFailed")
    assert failed["cause"] == ALL_WORKFLOW_ARGUMENTS[missing][0]
    assert failed["initiatedEventId"] == 0
    swf.decision_task(parent)


def test_start_child_with_all_arguments_needs_no_defaults(swf, eventually):
    bare = swf.register_workflow_type("Bare", defaults=False)
    arguments = {name: value for name, (_, value) in ALL_WORKFLOW_ARGUMENTS.items()}
    parent = swf.start()
    swf.decide(parent, [swf.decision("StartChildWorkflowExecution", workflowId="kid",
                                     workflowType=bare, **arguments)])
    eventually(lambda: swf.events(parent, "ChildWorkflowExecutionStarted"), what="child started")


# -- child policies -----------------------------------------------------------------------

def test_terminate_parent_child_policy_terminate(swf, client, eventually):
    parent, child = _start_child(swf, eventually)
    client.terminate_workflow_execution(domain=swf.domain, workflowId=parent["workflowId"],
                                        childPolicy="TERMINATE")
    terminated = eventually(lambda: swf.events(child, "WorkflowExecutionTerminated"), what="child terminated")
    assert terminated[0]["workflowExecutionTerminatedEventAttributes"]["cause"] == "CHILD_POLICY_APPLIED"
    assert swf.info(child)["closeStatus"] == "TERMINATED"
    assert swf.types(parent)[-1] == "WorkflowExecutionTerminated", "a closed parent gets no more events"


def test_terminate_parent_child_policy_request_cancel(swf, client, eventually):
    parent, child = _start_child(swf, eventually)
    client.terminate_workflow_execution(domain=swf.domain, workflowId=parent["workflowId"],
                                        childPolicy="REQUEST_CANCEL")
    requested = eventually(lambda: swf.events(child, "WorkflowExecutionCancelRequested"),
                           what="child cancel requested")
    assert requested[0]["workflowExecutionCancelRequestedEventAttributes"]["cause"] == "CHILD_POLICY_APPLIED"
    info = swf.info(child)
    assert info["executionStatus"] == "OPEN"
    assert info["cancelRequested"] is True
    # The child decides: cancel itself. The closed parent records nothing more.
    swf.decide(child, [swf.decision("CancelWorkflowExecution")], task_list=CHILD_LIST)
    assert swf.info(child)["closeStatus"] == "CANCELED"
    assert swf.types(parent)[-1] == "WorkflowExecutionTerminated"


def test_terminate_parent_child_policy_abandon(swf, client, eventually):
    parent, child = _start_child(swf, eventually)
    client.terminate_workflow_execution(domain=swf.domain, workflowId=parent["workflowId"],
                                        childPolicy="ABANDON")
    assert swf.info(child)["executionStatus"] == "OPEN"
    assert swf.types(child) == ["WorkflowExecutionStarted", "DecisionTaskScheduled"]
    swf.decide(child, [swf.complete()], task_list=CHILD_LIST)
    assert swf.info(child)["closeStatus"] == "COMPLETED"
    assert swf.types(parent)[-1] == "WorkflowExecutionTerminated"


def test_terminate_parent_uses_its_own_child_policy_by_default(swf, client, eventually):
    parent, child = _start_child(swf, eventually, parent_params={"childPolicy": "ABANDON"})
    client.terminate_workflow_execution(domain=swf.domain, workflowId=parent["workflowId"])
    assert swf.one(parent, "WorkflowExecutionTerminated")["childPolicy"] == "ABANDON"
    assert swf.info(child)["executionStatus"] == "OPEN"


def test_parent_timeout_applies_child_policy(swf, eventually):
    parent, child = _start_child(swf, eventually, parent_params={"executionStartToCloseTimeout": "100"},
                                 executionStartToCloseTimeout="1000")
    swf.advance(100)
    assert swf.info(parent)["closeStatus"] == "TIMED_OUT"
    terminated = eventually(lambda: swf.events(child, "WorkflowExecutionTerminated"), what="child terminated")
    assert terminated[0]["workflowExecutionTerminatedEventAttributes"]["cause"] == "CHILD_POLICY_APPLIED"


# -- SignalExternalWorkflowExecution ------------------------------------------------------

def test_signal_external_workflow_execution(swf, eventually):
    target = swf.start("target", taskList={"name": "target-list"})
    source = swf.start()
    swf.decide(source, [swf.decision("SignalExternalWorkflowExecution", workflowId="target",
                                     runId=target["runId"], signalName="hello", input="hi", control="c")])
    initiated = swf.events(source, "SignalExternalWorkflowExecutionInitiated")[0]
    attributes = initiated["signalExternalWorkflowExecutionInitiatedEventAttributes"]
    assert attributes == {"workflowId": "target", "runId": target["runId"], "signalName": "hello",
                          "input": "hi", "control": "c", "decisionTaskCompletedEventId": 4}
    signaled = eventually(lambda: swf.events(target, "WorkflowExecutionSignaled"), what="target signaled")
    target_attributes = signaled[0]["workflowExecutionSignaledEventAttributes"]
    assert target_attributes["signalName"] == "hello"
    assert target_attributes["input"] == "hi"
    assert target_attributes["externalWorkflowExecution"] == source
    assert target_attributes["externalInitiatedEventId"] == initiated["eventId"]
    done = eventually(lambda: swf.events(source, "ExternalWorkflowExecutionSignaled"), what="source told")
    done_attributes = done[0]["externalWorkflowExecutionSignaledEventAttributes"]
    assert done_attributes["initiatedEventId"] == initiated["eventId"]
    assert done_attributes["workflowExecution"] == target
    types = swf.types(source)
    assert "DecisionTaskScheduled" in types[types.index("ExternalWorkflowExecutionSignaled"):]


def test_signal_external_without_run_id_targets_the_current_run(swf, eventually):
    target = swf.start("target", taskList={"name": "target-list"})
    source = swf.start()
    swf.decide(source, [swf.decision("SignalExternalWorkflowExecution", workflowId="target",
                                     signalName="hello")])
    eventually(lambda: swf.events(target, "WorkflowExecutionSignaled"), what="target signaled")
    done = eventually(lambda: swf.events(source, "ExternalWorkflowExecutionSignaled"), what="source told")
    assert done[0]["externalWorkflowExecutionSignaledEventAttributes"]["workflowExecution"] == target


def test_signal_external_unknown_execution(swf, eventually):
    source = swf.start()
    swf.decide(source, [swf.decision("SignalExternalWorkflowExecution", workflowId="nobody",
                                     signalName="hello", control="c")])
    failed = eventually(lambda: swf.events(source, "SignalExternalWorkflowExecutionFailed"), what="failure")
    attributes = failed[0]["signalExternalWorkflowExecutionFailedEventAttributes"]
    assert attributes["cause"] == "UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION"
    assert attributes["workflowId"] == "nobody"
    assert attributes["control"] == "c"
    initiated = swf.events(source, "SignalExternalWorkflowExecutionInitiated")[0]
    assert attributes["initiatedEventId"] == initiated["eventId"]
    assert attributes["decisionTaskCompletedEventId"] == 4
    swf.decision_task(source)


def test_signal_external_closed_execution(swf, client, eventually):
    target = swf.start("target")
    client.terminate_workflow_execution(domain=swf.domain, workflowId="target")
    source = swf.start()
    swf.decide(source, [swf.decision("SignalExternalWorkflowExecution", workflowId="target",
                                     runId=target["runId"], signalName="hello")])
    failed = eventually(lambda: swf.events(source, "SignalExternalWorkflowExecutionFailed"), what="failure")
    assert failed[0]["signalExternalWorkflowExecutionFailedEventAttributes"]["cause"] == \
        "UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION"


def test_signal_external_to_itself(swf, eventually):
    source = swf.start()
    swf.decide(source, [swf.decision("SignalExternalWorkflowExecution", workflowId=source["workflowId"],
                                     signalName="me")])
    eventually(lambda: swf.events(source, "ExternalWorkflowExecutionSignaled"), what="self signal")
    assert swf.one(source, "WorkflowExecutionSignaled")["externalWorkflowExecution"] == source


# -- RequestCancelExternalWorkflowExecution -----------------------------------------------

def test_request_cancel_external_workflow_execution(swf, eventually):
    target = swf.start("target", taskList={"name": "target-list"})
    source = swf.start()
    swf.decide(source, [swf.decision("RequestCancelExternalWorkflowExecution", workflowId="target",
                                     runId=target["runId"], control="c")])
    initiated = swf.events(source, "RequestCancelExternalWorkflowExecutionInitiated")[0]
    assert initiated["requestCancelExternalWorkflowExecutionInitiatedEventAttributes"] == {
        "workflowId": "target", "runId": target["runId"], "control": "c", "decisionTaskCompletedEventId": 4}
    requested = eventually(lambda: swf.events(target, "WorkflowExecutionCancelRequested"), what="request")
    attributes = requested[0]["workflowExecutionCancelRequestedEventAttributes"]
    assert attributes["externalWorkflowExecution"] == source
    assert attributes["externalInitiatedEventId"] == initiated["eventId"]
    assert swf.info(target)["cancelRequested"] is True
    done = eventually(lambda: swf.events(source, "ExternalWorkflowExecutionCancelRequested"), what="told")
    done_attributes = done[0]["externalWorkflowExecutionCancelRequestedEventAttributes"]
    assert done_attributes["initiatedEventId"] == initiated["eventId"]
    assert done_attributes["workflowExecution"] == target
    types = swf.types(source)
    assert "DecisionTaskScheduled" in types[types.index("ExternalWorkflowExecutionCancelRequested"):]


def test_request_cancel_external_unknown_execution(swf, eventually):
    source = swf.start()
    swf.decide(source, [swf.decision("RequestCancelExternalWorkflowExecution", workflowId="nobody",
                                     control="c")])
    failed = eventually(lambda: swf.events(source, "RequestCancelExternalWorkflowExecutionFailed"),
                        what="failure")
    attributes = failed[0]["requestCancelExternalWorkflowExecutionFailedEventAttributes"]
    assert attributes["cause"] == "UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION"
    assert attributes["workflowId"] == "nobody"
    assert attributes["control"] == "c"
    assert attributes["initiatedEventId"] == \
        swf.events(source, "RequestCancelExternalWorkflowExecutionInitiated")[0]["eventId"]
    swf.decision_task(source)


def test_cancel_child_via_request_cancel_external(swf, eventually):
    parent, child = _start_child(swf, eventually)
    swf.decide(parent, [swf.decision("RequestCancelExternalWorkflowExecution",
                                     workflowId=child["workflowId"], runId=child["runId"])])
    eventually(lambda: swf.events(child, "WorkflowExecutionCancelRequested"), what="child cancel request")
    swf.decide(child, [swf.decision("CancelWorkflowExecution")], task_list=CHILD_LIST)
    eventually(lambda: swf.events(parent, "ChildWorkflowExecutionCanceled"), what="parent told")


def test_parent_completion_leaves_children_running(swf, eventually):
    """Child policies apply on termination and timeout only; a parent that completes leaves
    its children alone, and their later closing records nothing in the closed parent."""
    parent, child = _start_child(swf, eventually)
    swf.decide(parent, [swf.complete("parent done")])
    assert swf.info(parent)["closeStatus"] == "COMPLETED"
    assert swf.info(child)["executionStatus"] == "OPEN"
    assert swf.types(child) == ["WorkflowExecutionStarted", "DecisionTaskScheduled"]
    swf.decide(child, [swf.complete("child done")], task_list=CHILD_LIST)
    assert swf.types(parent)[-1] == "WorkflowExecutionCompleted"


def test_parent_continue_as_new_leaves_children_running(swf, eventually):
    parent, child = _start_child(swf, eventually)
    swf.decide(parent, [swf.decision("ContinueAsNewWorkflowExecution")])
    assert swf.info(parent)["closeStatus"] == "CONTINUED_AS_NEW"
    assert swf.info(child)["executionStatus"] == "OPEN"
    assert swf.events(child, "WorkflowExecutionCancelRequested") == []


def test_child_workflow_id_reusable_after_child_closed(swf, eventually):
    parent, child = _start_child(swf, eventually, workflowId="kid")
    swf.decide(child, [swf.complete()], task_list=CHILD_LIST)
    eventually(lambda: swf.events(parent, "ChildWorkflowExecutionCompleted"), what="child completed")
    swf.decide(parent, [swf.decision("StartChildWorkflowExecution", workflowId="kid",
                                     workflowType=swf.workflow_type, taskList={"name": CHILD_LIST})])
    started = eventually(lambda: swf.events(parent, "ChildWorkflowExecutionStarted")[1:], what="second child")
    second = started[0]["childWorkflowExecutionStartedEventAttributes"]["workflowExecution"]
    assert second["workflowId"] == "kid" and second["runId"] != child["runId"]
