"""Fixtures of the end-to-end SWF conformance suite of the local service.

Every test talks to a real :class:`greenflow.local.LocalService` over HTTP through an
unmodified botocore ``swf`` client, exactly as an application would. The suite is written
from the SWF reference (``swf-api.md``, botocore's service model), not from the service's
code: when a test fails, the service is wrong, not the test.

Time is virtual: ``service.advance_time(seconds)`` moves the service's clock and fires every
timer and timeout then due, so no test sleeps to wait for SWF time. Long polls still wait in
real time, hence the short ``POLL_TIMEOUT``.

Helpers live on the :class:`SWF` object of the ``swf`` fixture (tests must not import
``conftest``): a fresh domain, workflow type and activity type per test (uuid names),
shortcuts for start/poll/respond, decision builders, and a history reader that also checks
every event it reads against the model (ids 1..n, one attributes member named
``<lowerCamelEventType>EventAttributes``, its required members present).
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any, Callable, Iterator

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from greenflow.local import LocalService
from greenflow.local._clock import VirtualClock
from greenflow.testing import wait_until

#: The virtual epoch every test service starts at (2026-01-01T00:00:00Z).
START = 1_767_225_600.0
#: How long an empty long poll waits, in real seconds.
POLL_TIMEOUT = 0.5

# One botocore session for the whole suite: it caches the loaded service model, so building
# a client per test costs little.
_SESSION = botocore.session.get_session()
MODEL = _SESSION.get_service_model("swf")


def lower_camel(name: str) -> str:
    """``TimerFired`` → ``timerFired``."""
    return name[0].lower() + name[1:]


def attributes_key(event_type: str) -> str:
    """The HistoryEvent member that holds an event type's attributes."""
    return f"{lower_camel(event_type)}EventAttributes"


def make_client(endpoint: str, *, validate: bool = True, **config: Any):
    """A botocore ``swf`` client on ``endpoint``: no retries, a long-poll-proof read timeout.

    ``validate=False`` turns off botocore's client-side parameter validation, so a test can
    send what botocore itself would refuse and see what the *service* answers.
    """
    options = {"read_timeout": 70, "connect_timeout": 10, "retries": {"max_attempts": 0},
               "parameter_validation": validate}
    options.update(config)
    client = _SESSION.create_client(
        "swf", region_name="us-east-1", endpoint_url=endpoint,
        aws_access_key_id="x", aws_secret_access_key="y", config=Config(**options))
    client.meta.events.register("after-call.swf", check_response)
    return client


#: Faults any operation may answer besides the ones its model lists (request validation).
COMMON_FAULTS = {"ValidationException"}


def check_response(http_response: Any, parsed: dict, model: Any, **_: Any) -> None:
    """Check every answer of the service against the model, whatever the test: a fault must
    be one the operation models (or ValidationException) and never a 5xx; a result must
    have every required member of its output shape, at every depth.

    The empty answer of a long poll (``taskToken == ""``) is exempt: SWF does not document
    its other members.
    """
    status = http_response.status_code
    assert status < 500, f"{model.name}: HTTP {status}: {parsed.get('Error')}"
    if "Error" in parsed and status >= 400:
        code = parsed["Error"].get("Code")
        allowed = {shape.name for shape in model.error_shapes} | COMMON_FAULTS
        assert code in allowed, f"{model.name} answered {code}, which its model does not list"
        return
    if model.name.startswith("PollFor") and parsed.get("taskToken") == "":
        return
    if model.output_shape is not None:
        problems = _missing_members(model.output_shape, parsed, model.output_shape.name)
        assert not problems, f"{model.name}: output misses required members {problems}"
    for event in parsed.get("events", ()):
        check_event(event)


def _missing_members(shape: Any, value: Any, path: str) -> list[str]:
    if shape.type_name == "structure" and isinstance(value, dict):
        problems = [f"{path}.{name}" for name in shape.required_members if name not in value]
        for name, member in shape.members.items():
            if name in value:
                problems += _missing_members(member, value[name], f"{path}.{name}")
        return problems
    if shape.type_name == "list" and isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _missing_members(shape.member, item, f"{path}[{i}]")]
    return []


@contextlib.contextmanager
def running_service(db_path: str = ":memory:", *, start: float = START,
                    poll_timeout: float = POLL_TIMEOUT) -> Iterator[LocalService]:
    """A started LocalService on a virtual clock; stopped when the block ends."""
    service = LocalService(db_path=db_path, clock=VirtualClock(start=start), poll_timeout=poll_timeout)
    service.start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def service() -> Iterator[LocalService]:
    """A fresh in-memory local service (per test: nothing leaks between tests)."""
    with running_service() as svc:
        yield svc


@pytest.fixture
def service_factory() -> Callable[..., Any]:
    """:func:`running_service`, for tests that start their own services (restarts)."""
    return running_service


@pytest.fixture
def slow_swf() -> Iterator["SWF"]:
    """An SWF world on its own service whose empty polls wait 30 s, for long-poll tests:
    a poll that returns well before that was woken, not timed out."""
    with running_service(poll_timeout=30) as svc:
        yield SWF(svc, make_client(svc.endpoint))


@pytest.fixture
def client(service):
    """A botocore swf client on the test's service."""
    return make_client(service.endpoint)


@pytest.fixture
def raw_client(service):
    """A botocore swf client that skips client-side validation (bad-input tests)."""
    return make_client(service.endpoint, validate=False)


@pytest.fixture
def new_swf() -> Callable[[LocalService], "SWF"]:
    """Build a registered SWF world on a given service."""
    return lambda svc: SWF(svc, make_client(svc.endpoint))


@pytest.fixture
def swf(service, client) -> "SWF":
    """A registered domain + workflow type + activity type on the test's service, with helpers."""
    return SWF(service, client)


@contextlib.contextmanager
def fault(code: str) -> Iterator[list]:
    """Expect the block to raise botocore's ``ClientError`` with ``Error.Code == code``.

    Yields a list that receives the error, for tests that look at the message.
    """
    caught: list = []
    with pytest.raises(ClientError) as info:
        yield caught
    caught.append(info.value)
    error = info.value.response.get("Error", {})
    assert error.get("Code") == code, (
        f"expected {code}, got {error.get('Code')}: {error.get('Message')} "
        f"(HTTP {info.value.response.get('ResponseMetadata', {}).get('HTTPStatusCode')})")


@pytest.fixture(name="fault")
def fault_fixture() -> Callable[[str], Any]:
    """The :func:`fault` context manager, for tests (they must not import conftest)."""
    return fault


@pytest.fixture(name="eventually")
def eventually_fixture() -> Callable[..., Any]:
    """:func:`greenflow.testing.wait_until`: wait (real time, bounded) until ``check()`` is truthy, return it.

    Only for effects the spec lets happen asynchronously (e.g. on another execution); never
    a timing assertion: the bound is generous.
    """
    return wait_until


#: Event types seen in any answer during the run (summarized at the end of the session).
SEEN_EVENT_TYPES: set[str] = set()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say which of the model's 54 event types the suite saw the service produce."""
    if len(SEEN_EVENT_TYPES) < 40:
        return  # a partial run (-k, one file): the summary would only be noise
    unseen = [t for t in MODEL.shape_for("EventType").enum if t not in SEEN_EVENT_TYPES]
    terminalreporter.write_line(
        f"conformance: the service produced {len(SEEN_EVENT_TYPES)} of 54 event types; "
        f"never seen: {', '.join(unseen) or 'none'}")


def check_event(event: dict) -> dict:
    """Check one HistoryEvent against the model; return its attributes."""
    event_type = event["eventType"]
    SEEN_EVENT_TYPES.add(event_type)
    assert event_type in MODEL.shape_for("EventType").enum, event_type
    keys = [key for key in event if key.endswith("EventAttributes")]
    expected = attributes_key(event_type)
    assert keys == [expected], f"event {event['eventId']} {event_type}: attribute members {keys}"
    shape = MODEL.shape_for("HistoryEvent").members[expected]
    missing = [m for m in shape.required_members if m not in event[expected]]
    assert not missing, f"event {event['eventId']} {event_type}: required members missing: {missing}"
    return event[expected]


def check_history(events: list[dict]) -> list[dict]:
    """Check a full ascending history: ids 1..n, time never goes back, every event valid."""
    assert [e["eventId"] for e in events] == list(range(1, len(events) + 1)), \
        [e["eventId"] for e in events]
    for before, after in zip(events, events[1:]):
        assert before["eventTimestamp"] <= after["eventTimestamp"], (before, after)
    for event in events:
        check_event(event)
    return events


class SWF:
    """One test's SWF world: fresh names, a registered domain and types, and shortcuts.

    Attributes:
        domain: the domain's name.
        task_list: the workflow type's default decision task list.
        activity_list: the activity type's default task list.
        workflow_type / activity_type: ``{"name", "version"}`` of the registered types.
    """

    def __init__(self, service: LocalService, client: Any, *, register: bool = True,
                 uid: str | None = None):
        self.service = service
        self.client = client
        self.uid = uid or uuid.uuid4().hex[:12]
        self.domain = f"conformance-{self.uid}"
        self.task_list = f"decisions-{self.uid}"
        self.activity_list = f"activities-{self.uid}"
        self.workflow_type = {"name": f"Workflow-{self.uid}", "version": "1"}
        self.activity_type = {"name": f"Activity-{self.uid}", "version": "1"}
        if not register:
            return
        client.register_domain(name=self.domain, workflowExecutionRetentionPeriodInDays="1")
        self.register_workflow_type(self.workflow_type["name"])
        self.register_activity_type(self.activity_type["name"])

    def on(self, service: LocalService) -> "SWF":
        """The same world (names) on another service, e.g. one restarted on the same file."""
        return SWF(service, make_client(service.endpoint), register=False, uid=self.uid)

    def make_client(self, **config: Any):
        """Another botocore client on the same service (e.g. with a bigger connection pool)."""
        return make_client(self.service.endpoint, **config)

    # -- registration --------------------------------------------------------------------
    def register_workflow_type(self, name: str, version: str = "1", *, defaults: bool = True,
                               **overrides: Any) -> dict:
        """Register a workflow type (with the suite's defaults unless ``defaults=False``)."""
        params: dict[str, Any] = {}
        if defaults:
            params = {"defaultTaskList": {"name": self.task_list},
                      "defaultExecutionStartToCloseTimeout": "3600",
                      "defaultTaskStartToCloseTimeout": "300",
                      "defaultChildPolicy": "TERMINATE"}
        params.update(overrides)
        self.client.register_workflow_type(domain=self.domain, name=name, version=version, **params)
        return {"name": name, "version": version}

    def register_activity_type(self, name: str, version: str = "1", *, defaults: bool = True,
                               **overrides: Any) -> dict:
        """Register an activity type; its default timeouts are all ``NONE`` (never time out)."""
        params: dict[str, Any] = {}
        if defaults:
            params = {"defaultTaskList": {"name": self.activity_list},
                      "defaultTaskScheduleToStartTimeout": "NONE",
                      "defaultTaskScheduleToCloseTimeout": "NONE",
                      "defaultTaskStartToCloseTimeout": "NONE",
                      "defaultTaskHeartbeatTimeout": "NONE"}
        params.update(overrides)
        self.client.register_activity_type(domain=self.domain, name=name, version=version, **params)
        return {"name": name, "version": version}

    # -- executions ----------------------------------------------------------------------
    def start(self, workflow_id: str | None = None, *, workflow_type: dict | None = None,
              **params: Any) -> dict:
        """Start an execution; returns ``{"workflowId", "runId"}``."""
        workflow_id = workflow_id or f"wf-{uuid.uuid4().hex[:12]}"
        response = self.client.start_workflow_execution(
            domain=self.domain, workflowId=workflow_id,
            workflowType=workflow_type or self.workflow_type, **params)
        assert response["runId"], response
        return {"workflowId": workflow_id, "runId": response["runId"]}

    def describe(self, execution: dict) -> dict:
        """DescribeWorkflowExecution."""
        return self.client.describe_workflow_execution(domain=self.domain, execution=execution)

    def info(self, execution: dict) -> dict:
        """The executionInfo of DescribeWorkflowExecution."""
        return self.describe(execution)["executionInfo"]

    def signal(self, execution: dict | str, name: str = "sig", **params: Any) -> None:
        """SignalWorkflowExecution (an execution dict targets its run; a str only the id)."""
        if isinstance(execution, dict):
            params.setdefault("runId", execution["runId"])
            execution = execution["workflowId"]
        self.client.signal_workflow_execution(domain=self.domain, workflowId=execution,
                                              signalName=name, **params)

    def history(self, execution: dict, **params: Any) -> list[dict]:
        """The full history, read with botocore's paginator and checked against the model."""
        paginator = self.client.get_paginator("get_workflow_execution_history")
        events = [event for page in paginator.paginate(domain=self.domain, execution=execution, **params)
                  for event in page["events"]]
        if not params.get("reverseOrder"):
            check_history(events)
        return events

    def types(self, execution: dict) -> list[str]:
        """The history's event types, in order."""
        return [e["eventType"] for e in self.history(execution)]

    def events(self, execution: dict, event_type: str) -> list[dict]:
        """The history's events of one type."""
        return [e for e in self.history(execution) if e["eventType"] == event_type]

    def one(self, execution: dict, event_type: str) -> dict:
        """The attributes of the one event of ``event_type`` (asserts there is exactly one)."""
        found = self.events(execution, event_type)
        assert len(found) == 1, f"{len(found)} {event_type} events in {self.types(execution)}"
        return found[0][attributes_key(event_type)]

    def open_counts(self, execution: dict) -> dict:
        """DescribeWorkflowExecution's openCounts."""
        return self.describe(execution)["openCounts"]

    def pending_decisions(self, task_list: str | None = None) -> int:
        """CountPendingDecisionTasks on a task list (the default one unless given)."""
        return self.client.count_pending_decision_tasks(
            domain=self.domain, taskList={"name": task_list or self.task_list})["count"]

    def pending_activities(self, task_list: str | None = None) -> int:
        """CountPendingActivityTasks on a task list (the activities' default one unless given)."""
        return self.client.count_pending_activity_tasks(
            domain=self.domain, taskList={"name": task_list or self.activity_list})["count"]

    # -- decision tasks ------------------------------------------------------------------
    def poll_decision(self, task_list: str | None = None, *, merge: bool = True,
                      **params: Any) -> dict:
        """PollForDecisionTask; with ``merge``, follows nextPageToken and merges all pages."""
        request = {"domain": self.domain, "taskList": {"name": task_list or self.task_list}, **params}
        task = self.client.poll_for_decision_task(**request)
        if merge and task.get("taskToken"):
            while task.get("nextPageToken"):
                page = self.client.poll_for_decision_task(**request, nextPageToken=task.pop("nextPageToken"))
                assert page["taskToken"] == task["taskToken"], "a page of another decision task"
                task["events"].extend(page["events"])
                if page.get("nextPageToken"):
                    task["nextPageToken"] = page["nextPageToken"]
        return task

    def decision_task(self, execution: dict | None = None, task_list: str | None = None,
                      **params: Any) -> dict:
        """Poll a decision task that must exist (for ``execution`` when given)."""
        task = self.poll_decision(task_list, **params)
        assert task.get("taskToken"), f"no decision task on {task_list or self.task_list}"
        if execution is not None:
            assert task["workflowExecution"] == execution, (task["workflowExecution"], execution)
        return task

    def respond(self, task: dict | str, decisions: list[dict] = (), **params: Any) -> None:
        """RespondDecisionTaskCompleted."""
        token = task if isinstance(task, str) else task["taskToken"]
        self.client.respond_decision_task_completed(taskToken=token, decisions=list(decisions), **params)

    def decide(self, execution: dict, decisions: list[dict] = (), task_list: str | None = None,
               **params: Any) -> dict:
        """Poll the execution's decision task and answer it with ``decisions``; returns the task."""
        task = self.decision_task(execution, task_list)
        self.respond(task, decisions, **params)
        return task

    def start_and_decide(self, decisions: list[dict] = (), **start: Any) -> dict:
        """Start an execution and answer its first decision task with ``decisions``."""
        execution = self.start(**start)
        self.decide(execution, decisions, task_list=start.get("taskList", {}).get("name"))
        return execution

    def nudge(self, execution: dict, decisions: list[dict] = ()) -> dict:
        """Get another decision task (via a signal) and answer it with ``decisions``."""
        self.signal(execution, "nudge")
        return self.decide(execution, decisions)

    # -- activity tasks ------------------------------------------------------------------
    def poll_activity(self, task_list: str | None = None, **params: Any) -> dict:
        """PollForActivityTask (may be empty: ``taskToken == ""``)."""
        return self.client.poll_for_activity_task(
            domain=self.domain, taskList={"name": task_list or self.activity_list}, **params)

    def activity_task(self, task_list: str | None = None, **params: Any) -> dict:
        """Poll an activity task that must exist."""
        task = self.poll_activity(task_list, **params)
        assert task.get("taskToken"), f"no activity task on {task_list or self.activity_list}"
        return task

    # -- decisions -----------------------------------------------------------------------
    @staticmethod
    def decision(decision_type: str, **attributes: Any) -> dict:
        """A decision of any type: ``decision("StartTimer", timerId="t", startToFireTimeout="5")``."""
        result: dict[str, Any] = {"decisionType": decision_type}
        if attributes:
            result[f"{lower_camel(decision_type)}DecisionAttributes"] = attributes
        return result

    def schedule(self, activity_id: str = "a1", activity_type: dict | None = None, **attributes: Any) -> dict:
        """A ScheduleActivityTask decision for the test's activity type (unless given)."""
        return self.decision("ScheduleActivityTask", activityId=activity_id,
                             activityType=activity_type or self.activity_type, **attributes)

    def timer(self, timer_id: str = "t1", seconds: int = 60, **attributes: Any) -> dict:
        """A StartTimer decision."""
        return self.decision("StartTimer", timerId=timer_id, startToFireTimeout=str(seconds), **attributes)

    def complete(self, result: str | None = None) -> dict:
        """A CompleteWorkflowExecution decision."""
        return self.decision("CompleteWorkflowExecution", **({"result": result} if result is not None else {}))

    def advance(self, seconds: float) -> None:
        """Advance the service's virtual clock (firing everything due)."""
        self.service.advance_time(seconds)
