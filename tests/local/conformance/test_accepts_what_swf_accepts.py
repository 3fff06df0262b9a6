"""Where Amazon SWF accepts more than its documentation says, the local service does too.

AWS's own Flow frameworks (Java Flow, botoflow) run against Amazon SWF and name a child
workflow ``"<parent runId>:<n>"``; an Amazon SWF runId is base64, so such an id holds
``:``, ``/``, ``+`` and ``=``, which the documented name rule forbids. Everything else about
names keeps the documented rule (see ``greenflow/local/wire/_rules.py`` for the evidence).
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

CHILD_LIST = "children"
#: A runId as Amazon SWF hands them out (base64: '/', '+' and '=').
SWF_RUN_ID = "22uQnpuSxdW6zrOjdWUnd2xu/Ra7Ccm+lwRhn08+JsLM4="


def _start_child(swf, eventually, name_child) -> tuple[dict, dict]:
    """A parent whose first decision starts a child named ``name_child(parent)``."""
    parent = swf.start()
    swf.decide(parent, [swf.decision("StartChildWorkflowExecution", workflowId=name_child(parent),
                                     workflowType=swf.workflow_type, taskList={"name": CHILD_LIST})])
    started = eventually(lambda: swf.events(parent, "ChildWorkflowExecutionStarted"),
                         what="ChildWorkflowExecutionStarted")
    return parent, started[0]["childWorkflowExecutionStartedEventAttributes"]["workflowExecution"]


@pytest.mark.parametrize("parent_run_id", [
    lambda parent: SWF_RUN_ID,  # an Amazon SWF runId
    lambda parent: parent["runId"],  # exactly what the frameworks send here
], ids=["swf-run-id", "own-run-id"])
def test_child_named_like_aws_flow_frameworks_runs_to_completion(swf, eventually, parent_run_id):
    parent, child = _start_child(swf, eventually, lambda parent: f"{parent_run_id(parent)}:1")
    assert child["workflowId"] == f"{parent_run_id(parent)}:1"
    # The child is an ordinary execution under that id: signalled, described, decided, closed.
    swf.signal(child, "hello")
    assert swf.info(child)["execution"] == child
    swf.decide(child, [swf.complete("done")], task_list=CHILD_LIST)
    completed = eventually(lambda: swf.events(parent, "ChildWorkflowExecutionCompleted"),
                           what="ChildWorkflowExecutionCompleted")
    assert completed[0]["childWorkflowExecutionCompletedEventAttributes"]["result"] == "done"


def test_external_decisions_reach_a_child_named_with_a_run_id(swf, eventually):
    parent, child = _start_child(swf, eventually, lambda parent: f"{SWF_RUN_ID}:2")
    swf.nudge(parent, [swf.decision("SignalExternalWorkflowExecution", workflowId=child["workflowId"],
                                    signalName="poke"),
                       swf.decision("RequestCancelExternalWorkflowExecution", workflowId=child["workflowId"])])
    eventually(lambda: swf.events(parent, "ExternalWorkflowExecutionSignaled"), what="the signal delivered")
    eventually(lambda: swf.events(parent, "ExternalWorkflowExecutionCancelRequested"), what="the cancel delivered")
    assert swf.info(child)["cancelRequested"] is True


@pytest.mark.parametrize("workflow_id", ["a|b", "a\u0001b", "arn"])
def test_child_workflow_id_keeps_the_rest_of_the_documented_rule(swf, workflow_id):
    # Nothing shows Amazon SWF accepting these: the documented rule stands.
    parent = swf.start()
    task = swf.decision_task(parent)
    with pytest.raises(ClientError) as raised:
        swf.respond(task, [swf.decision("StartChildWorkflowExecution", workflowId=workflow_id,
                                        workflowType=swf.workflow_type)])
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "workflowId" in raised.value.response["Error"]["Message"]


@pytest.mark.parametrize("workflow_id", ["a:b", "a/b"])
def test_start_workflow_execution_keeps_the_documented_rule(swf, workflow_id):
    # No evidence that Amazon SWF accepts these in a top-level start: the documented rule stands.
    with pytest.raises(ClientError) as raised:
        swf.start(workflow_id)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
