"""Starting, signalling, cancelling, terminating and describing executions."""

from __future__ import annotations

from .harness import ACT, DOMAIN, T0, WF, complete, decision


def test_start_records_started_event_and_first_decision_task(h):
    run_id = h.start("w1", input="in", tagList=["a", "b"], taskPriority="5")
    events = h.history("w1", run_id)
    assert [e["eventType"] for e in events] == ["WorkflowExecutionStarted", "DecisionTaskScheduled"]
    started = events[0]["workflowExecutionStartedEventAttributes"]
    assert started == {
        "input": "in", "executionStartToCloseTimeout": "3600", "taskStartToCloseTimeout": "30",
        "childPolicy": "TERMINATE", "taskList": {"name": "deciders"}, "taskPriority": "5",
        "workflowType": WF, "tagList": ["a", "b"]}
    assert events[0]["eventTimestamp"] == T0 and events[0]["eventId"] == 1
    scheduled = events[1]["decisionTaskScheduledEventAttributes"]
    assert scheduled == {"taskList": {"name": "deciders"}, "taskPriority": "5", "startToCloseTimeout": "30"}
    assert h.pending_decisions() == 1


def test_start_overrides_type_defaults(h):
    run_id = h.start("w1", taskList={"name": "other"}, executionStartToCloseTimeout="60",
                     taskStartToCloseTimeout="NONE", childPolicy="ABANDON")
    config = h.describe("w1", run_id)["executionConfiguration"]
    assert config == {"taskStartToCloseTimeout": "NONE", "executionStartToCloseTimeout": "60",
                      "taskList": {"name": "other"}, "childPolicy": "ABANDON"}
    assert h.pending_decisions("other") == 1 and h.pending_decisions() == 0


def test_start_without_defaults_is_default_undefined(h):
    h("RegisterWorkflowType", domain=DOMAIN, name="bare", version="1")
    bare = {"name": "bare", "version": "1"}
    fault = h.fault("StartWorkflowExecution", domain=DOMAIN, workflowId="w", workflowType=bare)
    assert fault.code == "DefaultUndefinedFault" and "taskList" in fault.message
    fault = h.fault("StartWorkflowExecution", domain=DOMAIN, workflowId="w", workflowType=bare,
                    taskList={"name": "x"}, executionStartToCloseTimeout="10", taskStartToCloseTimeout="10")
    assert fault.code == "DefaultUndefinedFault" and "childPolicy" in fault.message
    h.start("w", workflowType=bare, taskList={"name": "x"}, executionStartToCloseTimeout="10",
            taskStartToCloseTimeout="10", childPolicy="TERMINATE")


def test_start_faults(h):
    assert h.fault("StartWorkflowExecution", domain="nope", workflowId="w", workflowType=WF).code == \
        "UnknownResourceFault"
    assert h.fault("StartWorkflowExecution", domain=DOMAIN, workflowId="w",
                   workflowType={"name": "wf", "version": "9"}).code == "UnknownResourceFault"
    assert h.fault("StartWorkflowExecution", domain=DOMAIN, workflowId="w", workflowType=WF,
                   executionStartToCloseTimeout="NONE").code == "ValidationException"
    assert h.fault("StartWorkflowExecution", domain=DOMAIN, workflowId="w", workflowType=WF,
                   taskStartToCloseTimeout="soon").code == "ValidationException"
    assert h.fault("StartWorkflowExecution", domain=DOMAIN, workflowId="w", workflowType=WF,
                   taskPriority="high").code == "ValidationException"
    h("DeprecateWorkflowType", domain=DOMAIN, workflowType=WF)
    assert h.fault("StartWorkflowExecution", domain=DOMAIN, workflowId="w", workflowType=WF).code == \
        "TypeDeprecatedFault"
    h("RegisterWorkflowType", domain=DOMAIN, name="wf", version="2", defaultTaskList={"name": "d"},
      defaultExecutionStartToCloseTimeout="10", defaultTaskStartToCloseTimeout="10", defaultChildPolicy="TERMINATE")
    h("DeprecateDomain", name=DOMAIN)
    assert h.fault("StartWorkflowExecution", domain=DOMAIN, workflowId="w",
                   workflowType={"name": "wf", "version": "2"}).code == "OperationNotPermittedFault"


def test_workflow_id_reuse(h):
    run_id = h.start("w1")
    fault = h.fault("StartWorkflowExecution", domain=DOMAIN, workflowId="w1", workflowType=WF)
    assert fault.code == "WorkflowExecutionAlreadyStartedFault"
    h.decide(complete("r"))
    assert h.describe("w1", run_id)["executionInfo"]["closeStatus"] == "COMPLETED"
    second = h.start("w1")
    assert second != run_id
    assert h.describe("w1", second)["executionInfo"]["executionStatus"] == "OPEN"


def test_signal_targets_current_open_run(h):
    run_id = h.start("w1")
    h("SignalWorkflowExecution", domain=DOMAIN, workflowId="w1", signalName="go", input="data")
    assert h.last("w1", run_id, "WorkflowExecutionSignaled") == {"signalName": "go", "input": "data"}
    # Still one decision task: the scheduled one will see the signal.
    assert h.types("w1", run_id).count("DecisionTaskScheduled") == 1
    h("SignalWorkflowExecution", domain=DOMAIN, workflowId="w1", runId=run_id, signalName="again")
    assert h.fault("SignalWorkflowExecution", domain=DOMAIN, workflowId="w1", runId="other",
                   signalName="x").code == "UnknownResourceFault"
    assert h.fault("SignalWorkflowExecution", domain=DOMAIN, workflowId="nobody",
                   signalName="x").code == "UnknownResourceFault"
    h.decide(complete())
    assert h.fault("SignalWorkflowExecution", domain=DOMAIN, workflowId="w1",
                   signalName="x").code == "UnknownResourceFault"


def test_request_cancel_then_cancel_decision(h):
    run_id = h.start("w1")
    h.decide()
    h("RequestCancelWorkflowExecution", domain=DOMAIN, workflowId="w1")
    assert h.describe("w1", run_id)["executionInfo"]["cancelRequested"] is True
    assert h.last("w1", run_id, "WorkflowExecutionCancelRequested") == {}
    h.decide(decision("CancelWorkflowExecution", details="bye"))
    info = h.describe("w1", run_id)["executionInfo"]
    assert info["closeStatus"] == "CANCELED"
    assert h.last("w1", run_id, "WorkflowExecutionCanceled")["details"] == "bye"
    assert h.fault("RequestCancelWorkflowExecution", domain=DOMAIN, workflowId="w1").code == \
        "UnknownResourceFault"


def test_terminate_closes_at_once(h):
    run_id = h.start("w1")
    task = h.decision_task()
    h("TerminateWorkflowExecution", domain=DOMAIN, workflowId="w1", reason="r", details="d")
    attrs = h.last("w1", run_id, "WorkflowExecutionTerminated")
    assert attrs == {"reason": "r", "details": "d", "childPolicy": "TERMINATE", "cause": "OPERATOR_INITIATED"}
    info = h.describe("w1", run_id)
    assert info["executionInfo"]["closeStatus"] == "TERMINATED"
    assert info["executionInfo"]["closeTimestamp"] == T0
    assert info["openCounts"]["openDecisionTasks"] == 0
    # The decider's task died with the run.
    fault = h.fault("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=[])
    assert fault.code == "UnknownResourceFault"
    assert h.pending_decisions() == 0


def test_describe_open_counts_and_latest_values(h):
    run_id = h.start("w1", tagList=["t"])
    h.decide(decision("ScheduleActivityTask", activityId="a", activityType=ACT),
             decision("StartTimer", timerId="t", startToFireTimeout="50"), executionContext="ctx")
    detail = h.describe("w1", run_id)
    assert detail["openCounts"] == {"openActivityTasks": 1, "openDecisionTasks": 0, "openTimers": 1,
                                    "openChildWorkflowExecutions": 0, "openLambdaFunctions": 0}
    assert detail["latestExecutionContext"] == "ctx"
    assert detail["latestActivityTaskTimestamp"] == T0
    assert detail["executionInfo"]["tagList"] == ["t"]
    assert h.fault("DescribeWorkflowExecution", domain=DOMAIN,
                   execution={"workflowId": "w1", "runId": "nope"}).code == "UnknownResourceFault"


def test_visibility_sees_engine_columns(h):
    run_id = h.start("w1", tagList=["blue"])
    listed = h("ListOpenWorkflowExecutions", domain=DOMAIN, startTimeFilter={"oldestDate": 0},
               tagFilter={"tag": "blue"})["executionInfos"]
    assert [i["execution"]["runId"] for i in listed] == [run_id]
    h("RequestCancelWorkflowExecution", domain=DOMAIN, workflowId="w1")
    h.decide(complete())
    closed = h("ListClosedWorkflowExecutions", domain=DOMAIN, startTimeFilter={"oldestDate": 0})
    assert closed["executionInfos"][0]["closeStatus"] == "COMPLETED"
    assert closed["executionInfos"][0]["cancelRequested"] is True


def test_open_executions_limit_per_domain(h):
    h.swf.engine.core.open_executions_limit = 2
    h.start("a")
    h.start("b")
    assert h.fault("StartWorkflowExecution", domain=DOMAIN, workflowId="c", workflowType=WF).code == \
        "LimitExceededFault"
    task = h.decision_task()
    h("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=[
        decision("StartChildWorkflowExecution", workflowType=WF, workflowId="child")])
    workflow_id = task["workflowExecution"]["workflowId"]
    failed = h.last(workflow_id, task["workflowExecution"]["runId"], "StartChildWorkflowExecutionFailed")
    assert failed["cause"] == "OPEN_WORKFLOWS_LIMIT_EXCEEDED"
    h("TerminateWorkflowExecution", domain=DOMAIN, workflowId="a")
    h.start("c")
