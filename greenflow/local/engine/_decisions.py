"""The 13 decisions of RespondDecisionTaskCompleted: a table from decision type to handler.

The request validator has checked each decision against the model (type, attributes,
names, durations, priorities); the batch is then checked as a whole (:func:`check_batch`):
a close decision that is not last is a ``ValidationException`` and nothing of the batch
is applied (the task stays open).
Then each decision is applied in order by its handler. A decision SWF cannot carry out
becomes its ``*Failed`` event with SWF's cause, which makes another decision task follow.

A decision holding a string that is not valid Unicode (a lone UTF-16 surrogate, which JSON
can escape but nothing can store) is one SWF cannot carry out: it becomes its ``*Failed``
event with cause ``OPERATION_NOT_PERMITTED`` instead of its handler (see :func:`check_batch`),
so the workflow hears of it, instead of the whole answer being refused and the decision
task retried with the same decisions for ever. The request validator finds such decisions
(:data:`greenflow.local.wire._validation.INVALID_TEXT_DECISIONS`).

Effects on *other* executions (signals, cancel requests, child starts) are deferred
until every decision of the batch was applied, as SWF carries them out asynchronously
after the decision task completed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from ..wire._faults import validation_error
from ._execution import Execution
from ._resolve import ACTIVITY_OPTIONS, WORKFLOW_OPTIONS, resolve
from ._state import OPEN_LIMIT, EngineState
from ._unit import Unit
from ._values import new_run_id, seconds

DEPRECATED = "DEPRECATED"


@dataclass
class Batch:
    """What the handlers of one batch share.

    Attributes:
        unhandled: new events arrived while the decision task ran, so a close decision
            fails with ``UNHANDLED_DECISION``.
        deferred: effects on other executions, run after the whole batch.
    """

    core: EngineState
    unit: Unit
    ex: Execution
    completed_id: int
    unhandled: bool
    deferred: list[Callable[[], None]] = field(default_factory=list)
    children_starting: int = 0

    def over_quota(self, decision_type: str) -> bool:
        """Whether SWF's decision quota for ``decision_type`` is spent (only when emulated)."""
        admit = self.core.admit_decision
        return admit is not None and not admit(decision_type)

    def event(self, event_type: str, attributes: dict[str, Any]) -> int:
        """Record an event in the deciding execution."""
        return self.unit.event(self.ex, event_type, attributes)

    def failed(self, event_type: str, attributes: dict[str, Any]) -> int:
        """Record a ``*Failed`` event (it carries this task's DecisionTaskCompleted ID) and
        make sure a decision task follows."""
        attributes["decisionTaskCompletedEventId"] = self.completed_id
        event_id = self.event(event_type, attributes)
        self.core.schedule_decision(self.unit, self.ex)
        return event_id


@dataclass(frozen=True)
class Spec:
    """How to check and apply one decision type."""

    attributes: str
    handler: Callable[[Batch, dict], None]
    closes: bool = False


# ---------------------------------------------------------------------------- activities


def schedule_activity_task(b: Batch, a: dict) -> None:
    activity_type = {"name": a["activityType"]["name"], "version": a["activityType"]["version"]}
    activity_id = a["activityId"]

    def fail(cause: str) -> None:
        b.failed("ScheduleActivityTaskFailed",
                 {"activityType": activity_type, "activityId": activity_id, "cause": cause})

    record = b.core.registry.activity_type(b.ex.domain, activity_type["name"], activity_type["version"])
    if record is None:
        return fail("ACTIVITY_TYPE_DOES_NOT_EXIST")
    if record.status == DEPRECATED:
        return fail("ACTIVITY_TYPE_DEPRECATED")
    if activity_id in b.ex.activities:
        return fail("ACTIVITY_ID_ALREADY_IN_USE")
    if len(b.ex.activities) >= OPEN_LIMIT:
        return fail("OPEN_ACTIVITIES_LIMIT_EXCEEDED")
    if b.over_quota("ScheduleActivityTask"):
        return fail("ACTIVITY_CREATION_RATE_EXCEEDED")
    options, missing = resolve(ACTIVITY_OPTIONS, a, record.configuration)
    if missing:
        return fail(f"DEFAULT_{missing}_UNDEFINED")
    unit, ex = b.unit, b.ex
    scheduled = b.event("ActivityTaskScheduled", {
        "activityType": activity_type, "activityId": activity_id, "input": a.get("input"),
        "control": a.get("control"), "scheduleToStartTimeout": options["scheduleToStartTimeout"],
        "scheduleToCloseTimeout": options["scheduleToCloseTimeout"],
        "startToCloseTimeout": options["startToCloseTimeout"], "taskList": options["taskList"],
        "taskPriority": options["taskPriority"], "decisionTaskCompletedEventId": b.completed_id,
        "heartbeatTimeout": options["heartbeatTimeout"],
    })
    activity = {
        "activityId": activity_id, "type": activity_type, "scheduled": scheduled, "started": 0,
        "list": options["taskList"]["name"], "priority": options["taskPriority"],
        "s2s": options["scheduleToStartTimeout"], "s2c": options["scheduleToCloseTimeout"],
        "st2c": options["startToCloseTimeout"], "hb": options["heartbeatTimeout"],
        "scheduled_ts": unit.now, "started_ts": None, "last_hb": None, "details": None,
        "cancel_requested": 0, "nonce": None,
    }
    ex.add_activity(activity)
    ex.latest_activity_ts = unit.now
    b.core.queue_activity(unit, ex, activity)
    for kind, member in (("activity_s2s", "s2s"), ("activity_s2c", "s2c")):
        timeout = seconds(activity[member])
        if timeout is not None:
            b.core.deadline(unit, unit.now + timeout, kind, ex.key, scheduled, 0)


def request_cancel_activity_task(b: Batch, a: dict) -> None:
    activity_id = a["activityId"]
    activity = b.ex.activities.get(activity_id)
    if activity is None:
        b.failed("RequestCancelActivityTaskFailed", {"activityId": activity_id, "cause": "ACTIVITY_ID_UNKNOWN"})
        return
    requested = b.event("ActivityTaskCancelRequested",
                        {"decisionTaskCompletedEventId": b.completed_id, "activityId": activity_id})
    activity["cancel_requested"] = requested
    b.ex.activity_changed(activity_id)
    if not activity["started"]:
        # Not handed to a worker yet: SWF cancels it at once.
        b.core.unqueue_activity(b.unit, b.ex, activity)
        b.ex.pop_activity(activity_id)
        b.event("ActivityTaskCanceled", {"scheduledEventId": activity["scheduled"], "startedEventId": 0,
                                         "latestCancelRequestedEventId": requested})
        b.core.schedule_decision(b.unit, b.ex)


# ---------------------------------------------------------------------------- closing the run


def _close(b: Batch, failed_event: str, close_status: str, event_type: str, attributes: dict) -> bool:
    if b.unhandled:
        b.failed(failed_event, {"cause": "UNHANDLED_DECISION"})
        return False
    attributes["decisionTaskCompletedEventId"] = b.completed_id
    b.core.close_run(b.unit, b.ex, close_status, event_type, attributes)
    return True


def complete_workflow_execution(b: Batch, a: dict) -> None:
    _close(b, "CompleteWorkflowExecutionFailed", "COMPLETED", "WorkflowExecutionCompleted",
           {"result": a.get("result")})


def fail_workflow_execution(b: Batch, a: dict) -> None:
    _close(b, "FailWorkflowExecutionFailed", "FAILED", "WorkflowExecutionFailed",
           {"reason": a.get("reason"), "details": a.get("details")})


def cancel_workflow_execution(b: Batch, a: dict) -> None:
    _close(b, "CancelWorkflowExecutionFailed", "CANCELED", "WorkflowExecutionCanceled",
           {"details": a.get("details")})


def continue_as_new_workflow_execution(b: Batch, a: dict) -> None:
    ex = b.ex
    if b.unhandled:
        b.failed("ContinueAsNewWorkflowExecutionFailed", {"cause": "UNHANDLED_DECISION"})
        return
    version = a.get("workflowTypeVersion") or ex.type_version
    record = b.core.registry.workflow_type(ex.domain, ex.type_name, version)
    cause = None
    config: dict = {}
    if record is None:
        cause = "WORKFLOW_TYPE_DOES_NOT_EXIST"
    elif record.status == DEPRECATED:
        cause = "WORKFLOW_TYPE_DEPRECATED"
    else:
        config, missing = resolve(WORKFLOW_OPTIONS, a, record.configuration)
        if missing:
            cause = f"DEFAULT_{missing}_UNDEFINED"
    if cause:
        b.failed("ContinueAsNewWorkflowExecutionFailed", {"cause": cause})
        return
    run_id = new_run_id()
    workflow_type = {"name": ex.type_name, "version": version}
    tag_list = a.get("tagList")
    b.core.close_run(b.unit, ex, "CONTINUED_AS_NEW", "WorkflowExecutionContinuedAsNew", {
        "input": a.get("input"), "decisionTaskCompletedEventId": b.completed_id,
        "newExecutionRunId": run_id, "executionStartToCloseTimeout": config["executionStartToCloseTimeout"],
        "taskList": config["taskList"], "taskPriority": config["taskPriority"],
        "taskStartToCloseTimeout": config["taskStartToCloseTimeout"], "childPolicy": config["childPolicy"],
        "tagList": tag_list, "workflowType": workflow_type, "lambdaRole": config["lambdaRole"],
    })
    # The new run keeps the old one's parent, which hears of the last run's close only.
    new = b.core.start_run(b.unit, ex.domain, ex.workflow_id, workflow_type, config,
                           input=a.get("input"), tag_list=tag_list, parent=ex.parent,
                           parent_initiated=ex.parent_initiated, continued_from=ex.run_id, run_id=run_id)
    if ex.parent:
        parent = b.core.open_run(ex.domain, ex.parent["workflowId"], ex.parent["runId"])
        child = parent.children.get(str(ex.parent_initiated)) if parent else None
        if parent is not None and child is not None:
            child["runId"] = new.run_id
            b.unit.touch(parent)


# ---------------------------------------------------------------------------- markers and timers


def record_marker(b: Batch, a: dict) -> None:
    b.event("MarkerRecorded", {"markerName": a["markerName"], "details": a.get("details"),
                               "decisionTaskCompletedEventId": b.completed_id})


def start_timer(b: Batch, a: dict) -> None:
    timer_id = a["timerId"]
    ex = b.ex
    if timer_id in ex.timers:
        b.failed("StartTimerFailed", {"timerId": timer_id, "cause": "TIMER_ID_ALREADY_IN_USE"})
        return
    if len(ex.timers) >= OPEN_LIMIT:
        b.failed("StartTimerFailed", {"timerId": timer_id, "cause": "OPEN_TIMERS_LIMIT_EXCEEDED"})
        return
    if b.over_quota("StartTimer"):
        b.failed("StartTimerFailed", {"timerId": timer_id, "cause": "TIMER_CREATION_RATE_EXCEEDED"})
        return
    started = b.event("TimerStarted", {"timerId": timer_id, "control": a.get("control"),
                                       "startToFireTimeout": a["startToFireTimeout"],
                                       "decisionTaskCompletedEventId": b.completed_id})
    fire_at = b.unit.now + int(a["startToFireTimeout"])
    ex.timers[timer_id] = {"started": started, "fire_at": fire_at, "control": a.get("control")}
    b.core.deadline(b.unit, fire_at, "timer", ex.key, timer_id, started)


def cancel_timer(b: Batch, a: dict) -> None:
    timer_id = a["timerId"]
    timer = b.ex.timers.pop(timer_id, None)
    if timer is None:
        b.failed("CancelTimerFailed", {"timerId": timer_id, "cause": "TIMER_ID_UNKNOWN"})
        return
    b.event("TimerCanceled", {"timerId": timer_id, "startedEventId": timer["started"],
                              "decisionTaskCompletedEventId": b.completed_id})


# ---------------------------------------------------------------------------- other executions


def _external(b: Batch, a: dict, initiated_type: str, extra: dict,
              deliver: Callable[[Execution, int], None], done_type: str, failed_type: str) -> None:
    workflow_id, run_id = a["workflowId"], a.get("runId")
    initiated = _initiate(b, a, initiated_type, extra)

    def later() -> None:
        target = b.core.open_run(b.ex.domain, workflow_id, run_id or None)
        if target is None:
            b.failed(failed_type, {"workflowId": workflow_id, "runId": run_id,
                                   "cause": "UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION",
                                   "initiatedEventId": initiated, "control": a.get("control")})
            return
        deliver(target, initiated)
        if b.ex.is_open:
            b.event(done_type, {"workflowExecution": target.execution(), "initiatedEventId": initiated})
            b.core.schedule_decision(b.unit, b.ex)

    b.deferred.append(later)


def _initiate(b: Batch, a: dict, initiated_type: str, extra: dict) -> int:
    """Record the ``*Initiated`` event of a signal or cancel request to another execution."""
    return b.event(initiated_type, {"workflowId": a["workflowId"], "runId": a.get("runId"), **extra,
                                    "decisionTaskCompletedEventId": b.completed_id, "control": a.get("control")})


def _signal_extra(a: dict) -> dict:
    return {"signalName": a["signalName"], "input": a.get("input")}


def signal_external_workflow_execution(b: Batch, a: dict) -> None:
    def deliver(target: Execution, initiated: int) -> None:
        b.core.signal(b.unit, target, {"signalName": a["signalName"], "input": a.get("input"),
                                       "externalWorkflowExecution": b.ex.execution(),
                                       "externalInitiatedEventId": initiated})

    _external(b, a, "SignalExternalWorkflowExecutionInitiated", _signal_extra(a), deliver,
              "ExternalWorkflowExecutionSignaled", "SignalExternalWorkflowExecutionFailed")


def request_cancel_external_workflow_execution(b: Batch, a: dict) -> None:
    def deliver(target: Execution, initiated: int) -> None:
        b.core.request_cancel(b.unit, target, {"externalWorkflowExecution": b.ex.execution(),
                                               "externalInitiatedEventId": initiated})

    _external(b, a, "RequestCancelExternalWorkflowExecutionInitiated", {}, deliver,
              "ExternalWorkflowExecutionCancelRequested", "RequestCancelExternalWorkflowExecutionFailed")


def start_child_workflow_execution(b: Batch, a: dict) -> None:
    ex = b.ex
    workflow_type = {"name": a["workflowType"]["name"], "version": a["workflowType"]["version"]}
    workflow_id = a["workflowId"]

    def fail(cause: str, initiated: int = 0) -> None:
        b.failed("StartChildWorkflowExecutionFailed", {
            "workflowType": workflow_type, "cause": cause, "workflowId": workflow_id,
            "initiatedEventId": initiated, "control": a.get("control")})

    record = b.core.registry.workflow_type(ex.domain, workflow_type["name"], workflow_type["version"])
    if record is None:
        return fail("WORKFLOW_TYPE_DOES_NOT_EXIST")
    if record.status == DEPRECATED:
        return fail("WORKFLOW_TYPE_DEPRECATED")
    if len(ex.children) + b.children_starting >= OPEN_LIMIT:
        return fail("OPEN_CHILDREN_LIMIT_EXCEEDED")
    if b.over_quota("StartChildWorkflowExecution"):
        return fail("CHILD_CREATION_RATE_EXCEEDED")
    config, missing = resolve(WORKFLOW_OPTIONS, a, record.configuration)
    if missing:
        return fail(f"DEFAULT_{missing}_UNDEFINED")
    tag_list = a.get("tagList")
    initiated = b.event("StartChildWorkflowExecutionInitiated", {
        "workflowId": workflow_id, "workflowType": workflow_type, "control": a.get("control"),
        "input": a.get("input"), "executionStartToCloseTimeout": config["executionStartToCloseTimeout"],
        "taskList": config["taskList"], "taskPriority": config["taskPriority"],
        "decisionTaskCompletedEventId": b.completed_id, "childPolicy": config["childPolicy"],
        "taskStartToCloseTimeout": config["taskStartToCloseTimeout"], "tagList": tag_list,
        "lambdaRole": config["lambdaRole"],
    })
    b.children_starting += 1

    def later() -> None:
        b.children_starting -= 1
        if not ex.is_open:
            return
        if b.core.open_run(ex.domain, workflow_id) is not None:
            return fail("WORKFLOW_ALREADY_RUNNING", initiated)
        if b.core.open_domain_full(ex.domain):
            return fail("OPEN_WORKFLOWS_LIMIT_EXCEEDED", initiated)
        child = b.core.start_run(b.unit, ex.domain, workflow_id, workflow_type, config,
                                 input=a.get("input"), tag_list=tag_list, parent=ex.execution(),
                                 parent_initiated=initiated)
        started = b.event("ChildWorkflowExecutionStarted", {
            "workflowExecution": child.execution(), "workflowType": workflow_type,
            "initiatedEventId": initiated})
        ex.children[str(initiated)] = {"workflowId": workflow_id, "runId": child.run_id,
                                       "workflowType": workflow_type, "started": started}
        b.core.schedule_decision(b.unit, ex)

    b.deferred.append(later)


def schedule_lambda_function(b: Batch, a: dict) -> None:
    # The local service runs no AWS Lambda functions; SWF answers so in regions without it.
    b.failed("ScheduleLambdaFunctionFailed", {"id": a["id"], "name": a["name"],
                                              "cause": "LAMBDA_SERVICE_NOT_AVAILABLE_IN_REGION"})


# ---------------------------------------------------------------------------- invalid text

NOT_PERMITTED = "OPERATION_NOT_PERMITTED"


def _failed_with_ids(event_type: str, *ids: str) -> Callable[[Batch, dict], None]:
    """A refusal recording ``event_type`` with the decision's own ``ids``."""
    def refuse(b: Batch, a: dict) -> None:
        b.failed(event_type, {**{name: a.get(name) for name in ids}, "cause": NOT_PERMITTED})
    return refuse


def _refuse_activity(b: Batch, a: dict) -> None:
    b.failed("ScheduleActivityTaskFailed", {
        "activityType": {"name": a["activityType"]["name"], "version": a["activityType"]["version"]},
        "activityId": a["activityId"], "cause": NOT_PERMITTED})


def _refuse_external(initiated_type: str, failed_type: str,
                     extra: Callable[[dict], dict]) -> Callable[[Batch, dict], None]:
    """A refusal of a signal or cancel request: initiated, then failed, as SWF records them."""
    def refuse(b: Batch, a: dict) -> None:
        initiated = _initiate(b, a, initiated_type, extra(a))
        b.failed(failed_type, {"workflowId": a["workflowId"], "runId": a.get("runId"), "cause": NOT_PERMITTED,
                               "initiatedEventId": initiated, "control": a.get("control")})
    return refuse


def _refuse_child(b: Batch, a: dict) -> None:
    b.failed("StartChildWorkflowExecutionFailed", {
        "workflowType": {"name": a["workflowType"]["name"], "version": a["workflowType"]["version"]},
        "workflowId": a["workflowId"], "initiatedEventId": 0, "control": a.get("control"),
        "cause": NOT_PERMITTED})


#: How each decision type is failed when it holds invalid text (ScheduleLambdaFunction is
#: absent: its handler only records its failure, whose causes lack OPERATION_NOT_PERMITTED).
_REFUSALS: dict[str, Callable[[Batch, dict], None]] = {
    "ScheduleActivityTask": _refuse_activity,
    "RequestCancelActivityTask": _failed_with_ids("RequestCancelActivityTaskFailed", "activityId"),
    "CompleteWorkflowExecution": _failed_with_ids("CompleteWorkflowExecutionFailed"),
    "FailWorkflowExecution": _failed_with_ids("FailWorkflowExecutionFailed"),
    "CancelWorkflowExecution": _failed_with_ids("CancelWorkflowExecutionFailed"),
    "ContinueAsNewWorkflowExecution": _failed_with_ids("ContinueAsNewWorkflowExecutionFailed"),
    "RecordMarker": _failed_with_ids("RecordMarkerFailed", "markerName"),
    "StartTimer": _failed_with_ids("StartTimerFailed", "timerId"),
    "CancelTimer": _failed_with_ids("CancelTimerFailed", "timerId"),
    "SignalExternalWorkflowExecution": _refuse_external(
        "SignalExternalWorkflowExecutionInitiated", "SignalExternalWorkflowExecutionFailed", _signal_extra),
    "RequestCancelExternalWorkflowExecution": _refuse_external(
        "RequestCancelExternalWorkflowExecutionInitiated", "RequestCancelExternalWorkflowExecutionFailed",
        lambda a: {}),
    # Refused before anything is initiated, as a child start for an unknown type is.
    "StartChildWorkflowExecution": _refuse_child,
}


# ---------------------------------------------------------------------------- the table

def _spec(decision_type: str, handler: Callable[[Batch, dict], None], closes: bool = False) -> Spec:
    attributes = decision_type[0].lower() + decision_type[1:] + "DecisionAttributes"
    return Spec(attributes, handler, closes)


DECISIONS: dict[str, Spec] = {
    "ScheduleActivityTask": _spec("ScheduleActivityTask", schedule_activity_task),
    "RequestCancelActivityTask": _spec("RequestCancelActivityTask", request_cancel_activity_task),
    "CompleteWorkflowExecution": _spec("CompleteWorkflowExecution", complete_workflow_execution, closes=True),
    "FailWorkflowExecution": _spec("FailWorkflowExecution", fail_workflow_execution, closes=True),
    "CancelWorkflowExecution": _spec("CancelWorkflowExecution", cancel_workflow_execution, closes=True),
    "ContinueAsNewWorkflowExecution": _spec("ContinueAsNewWorkflowExecution", continue_as_new_workflow_execution,
                                            closes=True),
    "RecordMarker": _spec("RecordMarker", record_marker),
    "StartTimer": _spec("StartTimer", start_timer),
    "CancelTimer": _spec("CancelTimer", cancel_timer),
    "SignalExternalWorkflowExecution": _spec("SignalExternalWorkflowExecution", signal_external_workflow_execution),
    "RequestCancelExternalWorkflowExecution": _spec("RequestCancelExternalWorkflowExecution",
                                                    request_cancel_external_workflow_execution),
    "StartChildWorkflowExecution": _spec("StartChildWorkflowExecution", start_child_workflow_execution),
    "ScheduleLambdaFunction": _spec("ScheduleLambdaFunction", schedule_lambda_function),
}


def check_batch(decisions: list[dict] | None, invalid_text: Collection[int] = ()) -> list[tuple[Spec, dict]]:
    """Check a whole batch before anything is applied; returns ``(spec, attributes)`` pairs.

    The request validator already checked each decision against the model (its type, its
    attributes, their names, durations and priorities); what is left is the rule across
    the batch: a decision that closes the run must be the last one. The decisions at the
    indexes ``invalid_text`` (holding a lone surrogate) get a spec that fails them.

    Raises:
        Fault: ``ValidationException`` naming the first close decision that is not last.
    """
    if not decisions:
        return []
    checked = []
    last = len(decisions) - 1
    for index, decision in enumerate(decisions):
        spec = DECISIONS[decision["decisionType"]]
        if spec.closes and index != last:
            raise validation_error(f"decisions.{index + 1}: {decision['decisionType']} closes the workflow "
                                   f"execution, so it must be the last decision in the list")
        refuse = _REFUSALS.get(decision["decisionType"]) if index in invalid_text else None
        if refuse is not None:
            spec = replace(spec, handler=refuse)
        checked.append((spec, decision.get(spec.attributes) or {}))
    return checked


def apply_batch(core: EngineState, unit: Unit, ex: Execution, completed_id: int, unhandled: bool,
                checked: list[tuple[Spec, dict]]) -> None:
    """Apply a checked batch: the decisions in order, then their effects on other executions."""
    batch = Batch(core, unit, ex, completed_id, unhandled)
    closing = None
    for spec, attributes in checked:
        if spec.closes:
            closing = (spec, attributes)
            continue
        spec.handler(batch, attributes)
    for later in batch.deferred:
        later()
    if closing is not None:
        closing[0].handler(batch, closing[1])
