"""SWFClient against a real server (registration, calls) and botocore's Stubber (paging)."""

from __future__ import annotations

import dataclasses
import logging
import uuid

import pytest
from botocore.stub import Stubber

from greenflow import errors
from greenflow.swf import connect


@dataclasses.dataclass(frozen=True)
class ActivitySpec:
    """Duck-typed stand-in for greenflow.activity's ActivityType."""

    name: str
    version: str = "1.0"
    task_list: str | None = None
    schedule_to_start_timeout: int | None = None
    start_to_close_timeout: int | None = 30
    schedule_to_close_timeout: int | None = None
    heartbeat_timeout: int | None = None
    task_priority: int | None = None
    description: str | None = None


@dataclasses.dataclass(frozen=True)
class WorkflowSpec:
    """Duck-typed stand-in for greenflow.workflow's WorkflowType."""

    name: str
    version: str = "1.0"
    execution_start_to_close_timeout: int | None = 3600
    task_start_to_close_timeout: int | None = 30
    task_list: str | None = None
    task_priority: int | None = None
    child_policy: str | None = "TERMINATE"
    description: str | None = None


def test_ensure_domain_is_idempotent(swf, swf_endpoint):
    name = f"d-{uuid.uuid4().hex[:10]}"
    assert swf.ensure_domain(name, retention_days=2, description="test") is True
    assert swf.ensure_domain(name) is False
    assert connect(swf_endpoint).ensure_domain(name) is False  # a fresh client hits DomainAlreadyExists
    info = swf.call("DescribeDomain", name=name)
    assert info["configuration"]["workflowExecutionRetentionPeriodInDays"] == "2"


def test_ensure_activity_type(swf, swf_endpoint, domain, caplog):
    spec = ActivitySpec("Orders.ship", heartbeat_timeout=10, task_priority=3, description="ships")
    assert swf.ensure_activity_type(domain, spec, task_list="worker-list") is True
    assert swf.ensure_activity_type(domain, spec, task_list="worker-list") is False
    described = swf.call("DescribeActivityType", domain=domain,
                         activityType={"name": "Orders.ship", "version": "1.0"})
    config = described["configuration"]
    assert config["defaultTaskStartToCloseTimeout"] == "30"
    assert config["defaultTaskHeartbeatTimeout"] == "10"
    assert config["defaultTaskList"] == {"name": "worker-list"}
    assert described["typeInfo"]["description"] == "ships"
    with caplog.at_level(logging.WARNING, logger="greenflow.swf"):
        changed = dataclasses.replace(spec, start_to_close_timeout=99)
        assert connect(swf_endpoint).ensure_activity_type(domain, changed, task_list="worker-list") is False
    assert "defaultTaskStartToCloseTimeout" in caplog.text


def test_ensure_workflow_type(swf, domain):
    spec = WorkflowSpec("Hello.run", task_list="wf-list")
    assert swf.ensure_workflow_type(domain, spec) is True
    assert swf.ensure_workflow_type(domain, spec) is False
    described = swf.call("DescribeWorkflowType", domain=domain, workflowType={"name": "Hello.run", "version": "1.0"})
    assert described["configuration"]["defaultExecutionStartToCloseTimeout"] == "3600"
    assert described["configuration"]["defaultTaskList"] == {"name": "wf-list"}


def test_ensure_type_in_unknown_domain_raises(swf):
    with pytest.raises(errors.UnknownResourceError):
        swf.ensure_activity_type("no-such-domain-q", ActivitySpec("A.b"))


def test_bad_timeout_in_spec_is_a_clear_error(swf, domain):
    with pytest.raises(ValueError, match="timeout"):
        swf.ensure_activity_type(domain, ActivitySpec("A.c", start_to_close_timeout=-1))


def test_start_and_history(swf, domain):
    swf.ensure_workflow_type(domain, WorkflowSpec("Hist.run", task_list="h"))
    workflow_id = uuid.uuid4().hex
    run_id = swf.call("StartWorkflowExecution", domain=domain, workflowId=workflow_id,
                      workflowType={"name": "Hist.run", "version": "1.0"}, input='"x"')["runId"]
    events = list(swf.history(domain, workflow_id, run_id))
    assert events[0]["eventType"] == "WorkflowExecutionStarted"
    assert events[0]["workflowExecutionStartedEventAttributes"]["input"] == '"x"'
    reverse = list(swf.history(domain, workflow_id, run_id, reverse=True))
    assert [e["eventId"] for e in reverse] == [e["eventId"] for e in reversed(events)]


# --------------------------------------------------------------------------- paging (stubbed)

def _event(event_id):
    return {"eventId": event_id, "eventType": "MarkerRecorded", "eventTimestamp": 0,
            "markerRecordedEventAttributes": {"markerName": "m", "decisionTaskCompletedEventId": 1}}


def _task(events, token=None):
    task = {"taskToken": "tok", "startedEventId": 3, "previousStartedEventId": 0,
            "workflowExecution": {"workflowId": "w", "runId": "r"},
            "workflowType": {"name": "W", "version": "1"}, "events": events}
    if token:
        task["nextPageToken"] = token
    return task


@pytest.fixture
def stubbed():
    client = connect("http://127.0.0.1:9")  # never contacted: every answer is stubbed
    with Stubber(client.botocore) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_decision_task_pages_are_merged(stubbed):
    client, stub = stubbed
    params = {"domain": "d", "taskList": {"name": "t"}}
    stub.add_response("poll_for_decision_task", _task([_event(1), _event(2)], "p2"), params)
    stub.add_response("poll_for_decision_task", _task([_event(3)], "p3"), {**params, "nextPageToken": "p2"})
    stub.add_response("poll_for_decision_task", _task([_event(4)]), {**params, "nextPageToken": "p3"})
    task = client.poll_for_decision_task(**params)
    assert [e["eventId"] for e in task["events"]] == [1, 2, 3, 4]
    assert "nextPageToken" not in task and task["taskToken"] == "tok"


def test_empty_polls_give_none(stubbed, monkeypatch):
    client, stub = stubbed
    # An empty poll answers taskToken "" (botocore's Stubber can't: the model says min length 1).
    monkeypatch.setattr(client, "call", lambda operation, **params: {"taskToken": "", "events": []})
    assert client.poll_for_decision_task(domain="d", taskList={"name": "t"}) is None
    assert client.poll_for_activity_task(domain="d", taskList={"name": "t"}) is None


def test_invalid_parameters_raise_validation_error():
    client = connect("http://127.0.0.1:9")  # botocore refuses before sending anything
    with pytest.raises(errors.ValidationError, match="taskToken"):
        client.call("RespondActivityTaskCompleted", taskToken="")


def test_history_pages(stubbed):
    client, stub = stubbed
    execution = {"workflowId": "w", "runId": "r"}
    stub.add_response("get_workflow_execution_history", {"events": [_event(1)], "nextPageToken": "n"},
                      {"domain": "d", "execution": execution, "maximumPageSize": 1})
    stub.add_response("get_workflow_execution_history", {"events": [_event(2)]},
                      {"domain": "d", "execution": execution, "maximumPageSize": 1, "nextPageToken": "n"})
    assert [e["eventId"] for e in client.history("d", "w", "r", page_size=1)] == [1, 2]


def test_stubbed_fault_maps(stubbed):
    client, stub = stubbed
    stub.add_client_error("respond_activity_task_completed", service_error_code="UnknownResourceFault",
                          service_message="Unknown task", http_status_code=400)
    with pytest.raises(errors.UnknownResourceError):
        client.call("RespondActivityTaskCompleted", taskToken="t")


def test_embedded_default_is_a_working_local_service(monkeypatch):
    for name in ("GREENFLOW_ENDPOINT", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/greenflow-test-config")
    from greenflow.local import LocalService

    client = connect(db_path=":memory:", embedded="thread")
    try:
        assert isinstance(client.local_service, LocalService)
        assert client.endpoint == client.local_service.endpoint.rstrip("/")
        assert client.endpoint.startswith("http://127.0.0.1:")
        assert client.ensure_domain("embedded") is True
        names = [d["name"] for d in client.call("ListDomains", registrationStatus="REGISTERED")["domainInfos"]]
        assert names == ["embedded"]
    finally:
        client.close()
        client.local_service.stop()
