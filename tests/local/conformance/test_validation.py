"""Bad input over HTTP: every request is checked against the service model (lengths, enums,
durations, name rules, sizes) and refused with a ValidationException naming the field, with
no state changed; broken HTTP requests get a 4xx, never a 500."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

BIG = "x" * 32_769


def _message(caught: list) -> str:
    return caught[0].response["Error"]["Message"]


def _no_open_executions(swf) -> bool:
    answer = swf.client.count_open_workflow_executions(domain=swf.domain,
                                                       startTimeFilter={"oldestDate": 0})
    return answer["count"] == 0


# -- StartWorkflowExecution ---------------------------------------------------------------

@pytest.mark.parametrize("field, params", [
    ("input", {"input": BIG}),
    ("workflowId", {"workflowId": "w" * 300}),
    ("childPolicy", {"childPolicy": "KILL_THEM_ALL"}),
    ("executionStartToCloseTimeout", {"executionStartToCloseTimeout": "-5"}),
    ("executionStartToCloseTimeout", {"executionStartToCloseTimeout": "abc"}),
    ("executionStartToCloseTimeout", {"executionStartToCloseTimeout": "NONE"}),
    ("executionStartToCloseTimeout", {"executionStartToCloseTimeout": "123456789"}),
    ("taskStartToCloseTimeout", {"taskStartToCloseTimeout": "-1"}),
    ("taskStartToCloseTimeout", {"taskStartToCloseTimeout": "ten"}),
    ("workflowId", {"workflowId": "a:b"}),
    ("workflowId", {"workflowId": "a/b"}),
    ("workflowId", {"workflowId": "a|b"}),
    ("workflowId", {"workflowId": "arn"}),
    ("workflowId", {"workflowId": "tab\there"}),
    ("taskList", {"taskList": {"name": "list:1"}}),
    ("tagList", {"tagList": ["a", "b", "c", "d", "e", "f"]}),
    ("taskPriority", {"taskPriority": "high"}),
], ids=lambda value: value if isinstance(value, str) else "-".join(f"{k}={str(v)[:12]}" for k, v in value.items()))
def test_start_workflow_execution_bad_input(swf, fault, field, params):
    arguments = {"workflowId": "w1"}
    arguments.update(params)
    workflow_id = arguments.pop("workflowId")
    with fault("ValidationException") as caught:
        swf.start(workflow_id, **arguments)
    assert field in _message(caught), f"the message does not name {field}: {_message(caught)!r}"
    assert _no_open_executions(swf)


def test_largest_payload_is_accepted(swf):
    execution = swf.start(input="x" * 32_768)
    assert len(swf.one(execution, "WorkflowExecutionStarted")["input"]) == 32_768


def test_missing_required_member_names_it(swf, raw_client, fault):
    with fault("ValidationException") as caught:
        raw_client.start_workflow_execution(domain=swf.domain, workflowType=swf.workflow_type)
    assert "workflowId" in _message(caught)


def test_wrong_member_type_is_rejected(swf, raw_client, fault):
    with fault("ValidationException") as caught:
        raw_client.start_workflow_execution(domain=swf.domain, workflowId=12345,
                                            workflowType=swf.workflow_type)
    assert "workflowId" in _message(caught)


def test_empty_workflow_id_is_rejected(swf, raw_client, fault):
    with fault("ValidationException"):
        raw_client.start_workflow_execution(domain=swf.domain, workflowId="", workflowType=swf.workflow_type)


# -- other execution operations -----------------------------------------------------------

def test_signal_input_too_large(swf, fault):
    execution = swf.start()
    with fault("ValidationException") as caught:
        swf.signal(execution, "s", input=BIG)
    assert "input" in _message(caught)
    assert swf.events(execution, "WorkflowExecutionSignaled") == []


def test_terminate_reason_too_long(swf, client, fault):
    execution = swf.start()
    with fault("ValidationException") as caught:
        client.terminate_workflow_execution(domain=swf.domain, workflowId=execution["workflowId"],
                                            reason="r" * 257)
    assert "reason" in _message(caught)
    assert swf.info(execution)["executionStatus"] == "OPEN"


def test_history_page_size_out_of_range(swf, client, fault):
    execution = swf.start()
    with fault("ValidationException") as caught:
        client.get_workflow_execution_history(domain=swf.domain, execution=execution, maximumPageSize=1001)
    assert "maximumPageSize" in _message(caught)


def test_decision_result_too_large_applies_nothing(swf, fault):
    execution = swf.start()
    task = swf.decision_task(execution)
    before = swf.history(execution)
    with fault("ValidationException") as caught:
        swf.respond(task, [swf.timer("t1"), swf.complete(BIG)])
    assert "result" in _message(caught)
    assert swf.history(execution) == before
    swf.respond(task, [swf.complete("small")])
    assert swf.info(execution)["closeStatus"] == "COMPLETED"


def test_decision_with_bad_activity_id_is_rejected(swf, fault):
    execution = swf.start()
    task = swf.decision_task(execution)
    with fault("ValidationException") as caught:
        swf.respond(task, [swf.schedule("bad:id")])
    assert "activityId" in _message(caught)
    assert swf.events(execution, "ActivityTaskScheduled") == []


def test_execution_context_too_large(swf, fault):
    execution = swf.start()
    task = swf.decision_task(execution)
    with fault("ValidationException") as caught:
        swf.respond(task, [], executionContext=BIG)
    assert "executionContext" in _message(caught)


@pytest.mark.parametrize("call, field", [
    (lambda c, t: c.respond_activity_task_completed(taskToken=t, result=BIG), "result"),
    (lambda c, t: c.respond_activity_task_failed(taskToken=t, details=BIG), "details"),
    (lambda c, t: c.respond_activity_task_failed(taskToken=t, reason="r" * 257), "reason"),
    (lambda c, t: c.respond_activity_task_canceled(taskToken=t, details=BIG), "details"),
    (lambda c, t: c.record_activity_task_heartbeat(taskToken=t, details="d" * 2_049), "details"),
], ids=["completed-result", "failed-details", "failed-reason", "canceled-details", "heartbeat-details"])
def test_activity_answers_too_large(swf, client, fault, call, field):
    execution = swf.start()
    swf.decide(execution, [swf.schedule("a1")])
    task = swf.activity_task()
    before = swf.history(execution)
    with fault("ValidationException") as caught:
        call(client, task["taskToken"])
    assert field in _message(caught)
    assert swf.history(execution) == before
    client.respond_activity_task_completed(taskToken=task["taskToken"], result="ok")


def test_heartbeat_details_at_the_limit(swf, client):
    execution = swf.start()
    swf.decide(execution, [swf.schedule("a1")])
    task = swf.activity_task()
    assert client.record_activity_task_heartbeat(taskToken=task["taskToken"], details="d" * 2_048)[
        "cancelRequested"] is False


# -- broken HTTP requests -----------------------------------------------------------------

def _post(service, body: bytes, target: str | None = "SimpleWorkflowService.ListDomains"):
    headers = {"Content-Type": "application/x-amz-json-1.0"}
    if target:
        headers["X-Amz-Target"] = target
    request = urllib.request.Request(service.endpoint + "/", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_malformed_json_is_a_4xx(service):
    status, body = _post(service, b"{not json")
    assert 400 <= status < 500, (status, body)


def test_json_that_is_not_an_object_is_a_4xx(service):
    status, body = _post(service, b"[1, 2, 3]")
    assert 400 <= status < 500, (status, body)


def test_unknown_operation_is_a_4xx(service):
    status, body = _post(service, b"{}", target="SimpleWorkflowService.LaunchRocket")
    assert 400 <= status < 500, (status, body)
    assert json.loads(body)["__type"].endswith("#UnknownOperationException")


def test_missing_target_is_a_4xx(service):
    status, body = _post(service, b"{}", target=None)
    assert 400 <= status < 500, (status, body)


def test_body_over_one_megabyte_is_a_4xx(service):
    status, body = _post(service, json.dumps({"registrationStatus": "REGISTERED",
                                              "pad": "x" * 1_100_000}).encode())
    assert 400 <= status < 500, (status, body[:200])


def test_fault_wire_format(service):
    status, body = _post(service, json.dumps({"name": "no-such-domain"}).encode(),
                         target="SimpleWorkflowService.DescribeDomain")
    assert status == 400
    answer = json.loads(body)
    assert answer["__type"] == "com.amazonaws.swf.base.model#UnknownResourceFault"
    assert "no-such-domain" in answer["message"]


def test_service_survives_bad_input(swf):
    for body in (b"", b"\xff\xfe", b"null", b'{"registrationStatus": 5}'):
        status, _ = _post(swf.service, body)
        assert 400 <= status < 500
    assert swf.start()["runId"]


def test_priority_out_of_the_32_bit_range_is_rejected(swf, fault):
    with fault("ValidationException") as caught:
        swf.start(taskPriority="2147483648")
    assert "taskPriority" in _message(caught)
    assert swf.start(taskPriority="-2147483648")["runId"]


def test_execution_timeout_over_one_year_is_refused(swf):
    with pytest.raises(ClientError) as info:
        swf.start(executionStartToCloseTimeout="31536001")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert _no_open_executions(swf)
    assert swf.start(executionStartToCloseTimeout="31536000")["runId"]


def test_garbage_page_token_is_a_4xx(swf, client):
    execution = swf.start()
    with pytest.raises(ClientError) as info:
        client.get_workflow_execution_history(domain=swf.domain, execution=execution,
                                              nextPageToken="not-a-token")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_garbage_task_token_is_a_4xx(swf, client):
    with pytest.raises(ClientError) as info:
        client.respond_decision_task_completed(taskToken="not-a-token")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as info:
        client.record_activity_task_heartbeat(taskToken="not-a-token")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# -- wrong JSON types for every member of every operation ---------------------------------

def _wrong(shape):
    """A JSON value of the wrong type for ``shape``."""
    return {"string": 12345, "structure": "not-an-object", "list": {"not": "a list"},
            "integer": "NaN", "long": "NaN", "boolean": "yes", "timestamp": "yesterday",
            "map": ["not", "a", "map"]}.get(shape.type_name, None)


def _junk_payloads(operation: str):
    from botocore.session import get_session

    shape = get_session().get_service_model("swf").operation_model(operation).input_shape
    yield {name: _wrong(member) for name, member in shape.members.items()}
    yield {name: None for name in shape.members}
    for name, member in shape.members.items():
        if member.type_name == "structure":
            yield {name: {inner: _wrong(m) for inner, m in member.members.items()}}


@pytest.mark.parametrize("operation", [
    "StartWorkflowExecution", "SignalWorkflowExecution", "RequestCancelWorkflowExecution",
    "TerminateWorkflowExecution", "DescribeWorkflowExecution", "GetWorkflowExecutionHistory",
    "PollForDecisionTask", "RespondDecisionTaskCompleted", "PollForActivityTask",
    "RecordActivityTaskHeartbeat", "RespondActivityTaskCompleted", "RespondActivityTaskFailed",
    "RespondActivityTaskCanceled", "CountPendingActivityTasks", "CountPendingDecisionTasks",
])
def test_wrong_json_types_are_validation_errors(swf, operation):
    for payload in _junk_payloads(operation):
        status, body = _post(swf.service, json.dumps(payload).encode(),
                             target=f"SimpleWorkflowService.{operation}")
        assert status == 400, (operation, payload, status, body[:300])
        assert json.loads(body)["__type"].endswith("#ValidationException"), (operation, payload, body[:300])
    assert swf.start()["runId"], "the service stopped answering"


def test_junk_decisions_are_validation_errors(swf):
    execution = swf.start()
    task = swf.decision_task(execution)
    junk = [5, "x", None, [], {"decisionType": 7}, {"decisionType": "StartTimer",
                                                     "startTimerDecisionAttributes": "x"},
            {"decisionType": "StartTimer", "startTimerDecisionAttributes": {"timerId": 5,
                                                                           "startToFireTimeout": "5"}}]
    for decision in junk:
        status, body = _post(swf.service, json.dumps({"taskToken": task["taskToken"],
                                                      "decisions": [decision]}).encode(),
                             target="SimpleWorkflowService.RespondDecisionTaskCompleted")
        assert status == 400, (decision, status, body[:300])
    swf.respond(task, [swf.complete()])
    assert swf.info(execution)["closeStatus"] == "COMPLETED"


@pytest.mark.parametrize("field, decision", [
    ("startToFireTimeout", {"decisionType": "StartTimer", "startTimerDecisionAttributes": {
        "timerId": "t", "startToFireTimeout": "NONE"}}),
    ("startToFireTimeout", {"decisionType": "StartTimer", "startTimerDecisionAttributes": {
        "timerId": "t", "startToFireTimeout": "-1"}}),
    ("scheduleToStartTimeout", {"decisionType": "ScheduleActivityTask", "scheduleActivityTaskDecisionAttributes": {
        "activityId": "a", "activityType": {"name": "n", "version": "1"}, "scheduleToStartTimeout": "soon"}}),
    ("taskPriority", {"decisionType": "ScheduleActivityTask", "scheduleActivityTaskDecisionAttributes": {
        "activityId": "a", "activityType": {"name": "n", "version": "1"}, "taskPriority": "abc"}}),
    ("taskList", {"decisionType": "ScheduleActivityTask", "scheduleActivityTaskDecisionAttributes": {
        "activityId": "a", "activityType": {"name": "n", "version": "1"}, "taskList": {"name": "x:y"}}}),
    ("childPolicy", {"decisionType": "StartChildWorkflowExecution", "startChildWorkflowExecutionDecisionAttributes": {
        "workflowId": "kid", "workflowType": {"name": "n", "version": "1"}, "childPolicy": "ORPHAN"}}),
    ("workflowId", {"decisionType": "SignalExternalWorkflowExecution",
                    "signalExternalWorkflowExecutionDecisionAttributes": {"workflowId": "w" * 257,
                                                                          "signalName": "s"}}),
    ("input", {"decisionType": "ContinueAsNewWorkflowExecution",
               "continueAsNewWorkflowExecutionDecisionAttributes": {"input": BIG}}),
], ids=["timer-NONE", "timer-negative", "activity-duration", "activity-priority", "activity-task-list",
        "child-policy", "signal-workflow-id", "continue-input"])
def test_bad_decision_attribute_is_a_validation_error(swf, fault, field, decision):
    execution = swf.start()
    task = swf.decision_task(execution)
    before = swf.history(execution)
    with fault("ValidationException") as caught:
        swf.respond(task, [decision])
    assert field in _message(caught)
    assert swf.history(execution) == before
