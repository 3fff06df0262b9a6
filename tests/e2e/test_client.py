"""The client against the real local service, with hand-written decisions (no workflow runtime).

Each test plays the decider itself with raw SWF decisions, so these pin the client's side
of the wire: start options, result()/errors for every close status, continue-as-new,
signals, cancel, terminate, describe, history, listing.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from greenflow import errors
from greenflow.client import WorkflowClient, workflow_starter
from greenflow.converter import DEFAULT_CONVERTER, failure_from_exception

WTYPE = SimpleNamespace(name="Raw", version="1", task_list=None, execution_start_to_close_timeout=600,
                        task_start_to_close_timeout=30, task_priority=None, child_policy="TERMINATE",
                        description=None)


@pytest.fixture
def client(env):
    env.swf.ensure_workflow_type(env.domain, WTYPE, task_list=env.task_list)
    return env.client()


def decide(env, *decisions, task_list=None):
    """Poll one decision task and answer it with ``decisions``; returns the task."""
    task = env.swf.poll_for_decision_task(domain=env.domain, taskList={"name": task_list or env.task_list},
                                          identity="test")
    assert task is not None, "no decision task"
    env.swf.call("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=list(decisions))
    return task


def close(kind, **attributes):
    return {"decisionType": kind, kind[0].lower() + kind[1:] + "DecisionAttributes": attributes}


def test_start_passes_arguments_and_options(env, client):
    handle = client.start(WTYPE, 1, "two", workflow_id="wf-1", tags=["a", "b"], task_priority=5, key=(3, 4))
    assert (handle.workflow_id, handle.domain) == ("wf-1", env.domain)
    task = decide(env, close("CompleteWorkflowExecution", result=DEFAULT_CONVERTER.dumps([1, 2])))
    started = task["events"][0]["workflowExecutionStartedEventAttributes"]
    assert DEFAULT_CONVERTER.loads(started["input"]) == {"args": [1, "two"], "kwargs": {"key": (3, 4)}}
    assert started["tagList"] == ["a", "b"]
    assert started["taskPriority"] == "5"
    assert started["executionStartToCloseTimeout"] == "600"
    assert handle.result(timeout=5) == [1, 2]


def test_workflow_options_apply_and_explicit_arguments_win(env, client):
    from greenflow.workflow._options import workflow_options
    with workflow_options(workflow_id="from-options", tags=["t"], execution_start_to_close_timeout=99):
        handle = client.start(WTYPE, execution_start_to_close_timeout=77)
    assert handle.workflow_id == "from-options"
    task = decide(env, close("CompleteWorkflowExecution"))
    started = task["events"][0]["workflowExecutionStartedEventAttributes"]
    assert started["tagList"] == ["t"]
    assert started["executionStartToCloseTimeout"] == "77"
    assert handle.result(timeout=5) is None


def test_failed_workflow_rebuilds_the_cause(env, client):
    handle = client.start(WTYPE)
    reason, details = failure_from_exception(ValueError("boom"), DEFAULT_CONVERTER)
    decide(env, close("FailWorkflowExecution", reason=reason, details=details))
    with pytest.raises(errors.WorkflowFailedError) as caught:
        handle.result(timeout=5)
    assert isinstance(caught.value.cause, ValueError)
    assert "boom" in str(caught.value.cause)
    assert caught.value.workflow_id == handle.workflow_id


def test_cancel_request_then_canceled(env, client):
    handle = client.start(WTYPE)
    decide(env)  # first task: nothing to do
    handle.cancel()
    task = decide(env, close("CancelWorkflowExecution", details="bye"))
    assert task["events"][-3]["eventType"] == "WorkflowExecutionCancelRequested" or any(
        e["eventType"] == "WorkflowExecutionCancelRequested" for e in task["events"])
    with pytest.raises(errors.WorkflowCanceledError):
        handle.result(timeout=5)


def test_terminate(env, client):
    handle = client.start(WTYPE)
    handle.terminate(reason="operator", details={"why": 1})
    with pytest.raises(errors.WorkflowTerminatedError) as caught:
        handle.result(timeout=5)
    assert caught.value.reason == "operator"
    assert caught.value.cause == "OPERATOR_INITIATED"


def test_timed_out_with_virtual_time(env, client):
    handle = client.start(WTYPE, execution_start_to_close_timeout=60)
    env.advance_time(61)
    with pytest.raises(errors.WorkflowTimedOutError):
        handle.result(timeout=5)


def test_result_timeout_while_open(client):
    handle = client.start(WTYPE)
    with pytest.raises(errors.ResultTimeoutError):
        handle.result(timeout=0.05)
    assert handle.is_open()


def test_result_follows_continue_as_new(env, client):
    handle = client.start(WTYPE)
    decide(env, close("ContinueAsNewWorkflowExecution", input='{"args":[2]}', taskList={"name": env.task_list}))
    second = decide(env, close("CompleteWorkflowExecution", result='"last"'))
    assert second["workflowExecution"]["runId"] != handle.run_id
    assert handle.result(timeout=5) == "last"


def test_signal_reaches_the_history(env, client):
    handle = client.start(WTYPE)
    decide(env)
    handle.signal("approve", "bob", level=2)
    task = decide(env, close("CompleteWorkflowExecution"))
    signaled = [e for e in task["events"] if e["eventType"] == "WorkflowExecutionSignaled"][0]
    attributes = signaled["workflowExecutionSignaledEventAttributes"]
    assert attributes["signalName"] == "approve"
    assert DEFAULT_CONVERTER.loads(attributes["input"]) == {"args": ["bob"], "kwargs": {"level": 2}}


def test_describe_history_and_get_handle(env, client):
    handle = client.start(WTYPE, workflow_id="wf-desc")
    assert handle.describe()["executionInfo"]["executionStatus"] == "OPEN"
    decide(env, close("CompleteWorkflowExecution", result='"x"'))
    again = client.get_handle("wf-desc")  # no run ID: resolved by listing
    assert again.result(timeout=5) == "x"
    assert again.run_id == handle.run_id
    types = [event["eventType"] for event in again.history()]
    assert types[0] == "WorkflowExecutionStarted" and types[-1] == "WorkflowExecutionCompleted"


def test_get_handle_of_unknown_workflow(client):
    with pytest.raises(errors.UnknownResourceError):
        client.get_handle("nope").result(timeout=1)


def test_listing_with_filters(env, client):
    a = client.start(WTYPE, workflow_id="list-a", tags=["red"])
    client.start(WTYPE, workflow_id="list-b")
    a.terminate()
    assert {info["execution"]["workflowId"] for info in client.list_open()} == {"list-b"}
    assert [info["execution"]["workflowId"] for info in client.list_closed()] == ["list-a"]
    assert [i["execution"]["workflowId"] for i in client.list_closed(close_status="TERMINATED")] == ["list-a"]
    assert list(client.list_closed(close_status="COMPLETED")) == []
    assert [i["execution"]["workflowId"] for i in client.list_open(workflow_id="list-b")] == ["list-b"]
    assert list(client.list_open(tag="red")) == []
    assert len(list(client.list_open(workflow_type=("Raw", "1")))) == 1
    assert client.count_open() == 1 and client.count_closed() == 1
    with pytest.raises(ValueError, match="one filter"):
        list(client.list_open(workflow_id="x", tag="y"))


def test_bad_input_is_a_clear_error(client):
    with pytest.raises(errors.PayloadTooLargeError, match="input of workflow Raw"):
        client.start(WTYPE, "x" * 40000)
    with pytest.raises(ValueError, match="child_policy"):
        client.start(WTYPE, child_policy="SOMETIMES")
    with pytest.raises(errors.WorkflowExecutionAlreadyStartedError):
        client.start(WTYPE, workflow_id="dup")
        client.start(WTYPE, workflow_id="dup")
    with pytest.raises(ValueError):
        WorkflowClient(client.swf, "")


def test_workflow_starter_installs_the_client(env):
    from greenflow.workflow._starter import current_starter
    with workflow_starter(env.swf, env.domain, env.task_list) as starter:
        assert current_starter() is starter
    assert current_starter() is None
