"""An execution's history, grouped into what a person reads: activities, timers, children, signals.

SWF history is a flat list of events that refer to each other by event ID
(``ActivityTaskCompleted.scheduledEventId`` → its ``ActivityTaskScheduled``). This module
folds them into :class:`Group` rows, one per activity attempt, timer, child workflow,
signal, marker or decision task, each with its state, times and decoded payloads, and
derives what is still open (pending activities, open timers, open children) and how the
run links to others (parent, children, continued runs).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from typing import Any, Callable, Iterable

from greenflow._swf_rules import event_attributes
from greenflow.converter import DataConverter

from ._decode import Decoded, decode_failure, decode_input, decode_value

__all__ = ["Group", "Timeline", "build_timeline"]

#: What each closing event makes of its group: (state shown, whether it is a failure).
_ACTIVITY_ENDS = {"ActivityTaskCompleted": ("completed", False), "ActivityTaskFailed": ("failed", True),
                  "ActivityTaskTimedOut": ("timed out", True), "ActivityTaskCanceled": ("canceled", True)}
_CHILD_ENDS = {"ChildWorkflowExecutionCompleted": ("completed", False),
               "ChildWorkflowExecutionFailed": ("failed", True),
               "ChildWorkflowExecutionTimedOut": ("timed out", True),
               "ChildWorkflowExecutionCanceled": ("canceled", True),
               "ChildWorkflowExecutionTerminated": ("terminated", True)}
_WORKFLOW_ENDS = {"WorkflowExecutionCompleted": "completed", "WorkflowExecutionFailed": "failed",
                  "WorkflowExecutionTimedOut": "timed out", "WorkflowExecutionCanceled": "canceled",
                  "WorkflowExecutionTerminated": "terminated", "WorkflowExecutionContinuedAsNew": "continued as new"}
#: States of a group that has not finished yet.
OPEN_STATES = frozenset({"scheduled", "started", "initiated", "cancel requested", "open"})


@dataclasses.dataclass
class Group:
    """One row of the timeline: the events of one activity, timer, child, signal, marker or decision.

    Attributes:
        kind: ``activity``, ``timer``, ``child``, ``signal``, ``marker``, ``external``,
            ``decision`` or ``workflow``.
        title: what it is (``Orders.ship 1.0``, ``timer 3``, ``signal approve``).
        ident: its SWF identifier (activity ID, timer ID, child workflow ID), if any.
        state: ``scheduled``, ``started``, ``completed``, ``failed``, ``timed out``, ...
        start: the time of its first event; ``end`` the time of its closing event.
        event_ids: the history events folded into it.
        input: its decoded input; ``outcome`` its decoded result or failure.
        failed: whether ``outcome`` is a failure.
        link: for a child, its ``{"workflowId", "runId"}`` once started.
    """

    kind: str
    title: str
    ident: str = ""
    state: str = "open"
    start: _dt.datetime | None = None
    end: _dt.datetime | None = None
    event_ids: list[int] = dataclasses.field(default_factory=list)
    input: Decoded | None = None
    outcome: Decoded | None = None
    failed: bool = False
    link: dict | None = None
    started: _dt.datetime | None = None

    @property
    def is_open(self) -> bool:
        """Whether it has not finished (a pending activity, an open timer or child)."""
        return self.state in OPEN_STATES

    def duration(self, now: _dt.datetime | None) -> float | None:
        """Seconds from its first event to its end (or to ``now`` while it is open)."""
        end = self.end or (now if self.is_open else None)
        if self.start is None or end is None:
            return None
        return max(0.0, (end - self.start).total_seconds())

    def waited(self) -> float | None:
        """For an activity: seconds from scheduled to started (schedule-to-start)."""
        if self.start is None or self.started is None:
            return None
        return max(0.0, (self.started - self.start).total_seconds())


@dataclasses.dataclass
class Timeline:
    """An execution's history, folded.

    Attributes:
        groups: rows in the order their first event happened.
        workflow: the row of the execution itself (start to close).
        first, last: the times of the first and newest events.
        parent: the parent execution (``{"workflowId", "runId"}``) if a workflow started it.
        continued_from: the run this one continued (continue-as-new), if any.
        continued_to: the run that continued this one, if any.
        input: the execution's decoded input; ``outcome`` its result or failure.
        events: the number of events.
    """

    groups: list[Group]
    workflow: Group
    first: _dt.datetime | None
    last: _dt.datetime | None
    parent: dict | None = None
    continued_from: str | None = None
    continued_to: str | None = None
    events: int = 0

    def of_kind(self, kind: str, *, open_only: bool = False) -> list[Group]:
        """The rows of one kind (only those still open with ``open_only``)."""
        return [group for group in self.groups if group.kind == kind and (group.is_open or not open_only)]

    @property
    def children(self) -> list[Group]:
        """Child workflow rows."""
        return self.of_kind("child")

    def position(self, group: Group, now: _dt.datetime | None) -> tuple[float, float]:
        """Where a row's bar sits on the run's time span: (left %, width %)."""
        if self.first is None or group.start is None:
            return 0.0, 0.0
        end_of_span = max(filter(None, [self.last, now if self.workflow.is_open else None, self.first]))
        span = (end_of_span - self.first).total_seconds() or 1.0
        left = (group.start - self.first).total_seconds() / span * 100
        duration = group.duration(now if self.workflow.is_open else self.last) or 0.0
        return min(100.0, max(0.0, left)), min(100.0 - min(100.0, left), max(0.6, duration / span * 100))


def build_timeline(events: Iterable[dict], converter_for: Callable[[str], DataConverter]) -> Timeline:
    """Fold history ``events`` (oldest first) into a :class:`Timeline`.

    ``converter_for(what)`` gives the converter for ``"workflow"`` payloads (the workflow's
    own converter when its code is loaded) and for ``"activity"``/``"child"``/``"signal"``
    payloads (the default unless the workflow's code says otherwise).
    """
    builder = _Builder(converter_for)
    for event in events:
        builder.add(event)
    return builder.finish()


class _Builder:
    def __init__(self, converter_for: Callable[[str], DataConverter]):
        self.converter_for = converter_for
        self.groups: list[Group] = []
        self.by_event: dict[int, Group] = {}  # the event that opened a group → the group
        self.workflow = Group("workflow", "workflow execution", state="open")
        self.first: _dt.datetime | None = None
        self.last: _dt.datetime | None = None
        self.parent: dict | None = None
        self.continued_from: str | None = None
        self.continued_to: str | None = None
        self.count = 0

    def add(self, event: dict) -> None:
        self.count += 1
        kind = str(event.get("eventType", ""))
        when = event.get("eventTimestamp")
        when = when if isinstance(when, _dt.datetime) else None
        event_id = int(event.get("eventId") or 0)
        attributes = event_attributes(event) if kind else {}
        self.first = self.first or when
        self.last = when or self.last
        handler = getattr(self, "_" + kind, None)
        if handler is not None:
            handler(event_id, when, attributes)
        elif kind in _ACTIVITY_ENDS:
            self._close(attributes.get("scheduledEventId"), event_id, when, *_ACTIVITY_ENDS[kind], attributes,
                        "activity")
        elif kind in _CHILD_ENDS:
            self._close(attributes.get("initiatedEventId"), event_id, when, *_CHILD_ENDS[kind], attributes, "child")
        elif kind in _WORKFLOW_ENDS:
            self._workflow_end(kind, event_id, when, attributes)
        else:
            self._other(kind, event_id, when, attributes)

    def finish(self) -> Timeline:
        return Timeline(self.groups, self.workflow, self.first, self.last, self.parent, self.continued_from,
                        self.continued_to, self.count)

    # ------------------------------------------------------------ helpers

    def _open(self, event_id: int, when: Any, group: Group) -> Group:
        group.start = when
        group.event_ids.append(event_id)
        self.groups.append(group)
        self.by_event[event_id] = group
        return group

    def _follow(self, opener: Any, event_id: int) -> Group | None:
        group = self.by_event.get(int(opener or 0))
        if group is not None:
            group.event_ids.append(event_id)
        return group

    def _outcome(self, attributes: dict, failed: bool, what: str) -> Decoded | None:
        converter = self.converter_for(what)
        if "result" in attributes:
            return decode_value(attributes.get("result"), converter)
        if failed and ("reason" in attributes or "details" in attributes):
            return decode_failure(attributes.get("reason"), attributes.get("details"), converter)
        if "timeoutType" in attributes:
            return Decoded(str(attributes["timeoutType"]), str(attributes["timeoutType"]))
        if "details" in attributes:
            return decode_value(attributes.get("details"), converter)
        return None

    def _close(self, opener: Any, event_id: int, when: Any, state: str, failed: bool, attributes: dict,
               what: str) -> None:
        group = self._follow(opener, event_id)
        if group is None:
            return
        group.state, group.end, group.failed = state, when, failed
        group.outcome = self._outcome(attributes, failed, what)

    def _other(self, kind: str, event_id: int, when: Any, attributes: dict) -> None:
        # Failures of decisions (ScheduleActivityTaskFailed, StartTimerFailed, ...) and any
        # event type this module does not fold: a row of their own, so nothing is hidden.
        failed = kind.endswith("Failed")
        group = self._open(event_id, when, Group("event", kind, state="failed" if failed else "recorded",
                                                 failed=failed))
        group.end = when
        cause = attributes.get("cause")
        if cause:
            group.outcome = Decoded(str(cause), str(cause))

    # ------------------------------------------------------------ the workflow itself

    def _WorkflowExecutionStarted(self, event_id: int, when: Any, attributes: dict) -> None:
        kind = attributes.get("workflowType") or {}
        self.workflow.title = f"{kind.get('name', '?')} {kind.get('version', '')}".strip()
        self.workflow.start = when
        self.workflow.event_ids.append(event_id)
        self.workflow.input = decode_input(attributes.get("input"), self.converter_for("workflow"))
        self.parent = attributes.get("parentWorkflowExecution")
        self.continued_from = attributes.get("continuedExecutionRunId")

    def _WorkflowExecutionCancelRequested(self, event_id: int, when: Any, attributes: dict) -> None:
        self.workflow.event_ids.append(event_id)
        if self.workflow.is_open:
            self.workflow.state = "cancel requested"
        group = self._open(event_id, when, Group("signal", "cancel requested", state="recorded"))
        group.end = when
        cause = attributes.get("cause") or ""
        source = attributes.get("externalWorkflowExecution")
        if source:
            group.outcome = Decoded(f"by workflow {source.get('workflowId')}", f"by {source.get('workflowId')}")
        elif cause:
            group.outcome = Decoded(str(cause), str(cause))

    def _workflow_end(self, kind: str, event_id: int, when: Any, attributes: dict) -> None:
        self.workflow.event_ids.append(event_id)
        self.workflow.state, self.workflow.end = _WORKFLOW_ENDS[kind], when
        self.workflow.failed = kind in ("WorkflowExecutionFailed", "WorkflowExecutionTimedOut",
                                        "WorkflowExecutionTerminated")
        if kind == "WorkflowExecutionContinuedAsNew":
            self.continued_to = attributes.get("newExecutionRunId")
            self.workflow.outcome = decode_input(attributes.get("input"), self.converter_for("workflow"))
        elif kind == "WorkflowExecutionTerminated":
            reason = attributes.get("reason") or attributes.get("cause") or "terminated"
            self.workflow.outcome = Decoded(str(reason), str(reason))
        else:
            self.workflow.outcome = self._outcome(attributes, self.workflow.failed, "workflow")

    # ------------------------------------------------------------ activities

    def _ActivityTaskScheduled(self, event_id: int, when: Any, attributes: dict) -> None:
        kind = attributes.get("activityType") or {}
        title = f"{kind.get('name', '?')} {kind.get('version', '')}".strip()
        group = self._open(event_id, when, Group("activity", title, str(attributes.get("activityId", "")),
                                                 state="scheduled"))
        group.input = decode_input(attributes.get("input"), self.converter_for("activity"))

    def _ActivityTaskStarted(self, event_id: int, when: Any, attributes: dict) -> None:
        group = self._follow(attributes.get("scheduledEventId"), event_id)
        if group is not None and group.state == "scheduled":
            group.state, group.started = "started", when

    def _ActivityTaskCancelRequested(self, event_id: int, when: Any, attributes: dict) -> None:
        for group in reversed(self.groups):
            if group.kind == "activity" and group.ident == attributes.get("activityId") and group.is_open:
                group.event_ids.append(event_id)
                group.state = "cancel requested"
                return

    # ------------------------------------------------------------ timers

    def _TimerStarted(self, event_id: int, when: Any, attributes: dict) -> None:
        seconds = attributes.get("startToFireTimeout", "?")
        group = self._open(event_id, when, Group("timer", f"timer {seconds} s", str(attributes.get("timerId", "")),
                                                 state="started"))
        group.input = Decoded(f"fires after {seconds} s", f"{seconds} s")

    def _TimerFired(self, event_id: int, when: Any, attributes: dict) -> None:
        group = self._follow(attributes.get("startedEventId"), event_id)
        if group is not None:
            group.state, group.end = "fired", when

    def _TimerCanceled(self, event_id: int, when: Any, attributes: dict) -> None:
        group = self._follow(attributes.get("startedEventId"), event_id)
        if group is not None:
            group.state, group.end = "canceled", when

    # ------------------------------------------------------------ children

    def _StartChildWorkflowExecutionInitiated(self, event_id: int, when: Any, attributes: dict) -> None:
        kind = attributes.get("workflowType") or {}
        group = self._open(event_id, when, Group("child", f"{kind.get('name', '?')} {kind.get('version', '')}".strip(),
                                                 str(attributes.get("workflowId", "")), state="initiated"))
        group.input = decode_input(attributes.get("input"), self.converter_for("child"))

    def _ChildWorkflowExecutionStarted(self, event_id: int, when: Any, attributes: dict) -> None:
        group = self._follow(attributes.get("initiatedEventId"), event_id)
        if group is not None:
            group.state, group.started = "started", when
            group.link = attributes.get("workflowExecution")

    def _StartChildWorkflowExecutionFailed(self, event_id: int, when: Any, attributes: dict) -> None:
        group = self._follow(attributes.get("initiatedEventId"), event_id)
        if group is not None:
            group.state, group.end, group.failed = "failed", when, True
            group.outcome = Decoded(str(attributes.get("cause", "")), str(attributes.get("cause", "")))

    # ------------------------------------------------------------ signals and markers

    def _WorkflowExecutionSignaled(self, event_id: int, when: Any, attributes: dict) -> None:
        group = self._open(event_id, when, Group("signal", f"signal {attributes.get('signalName', '?')}",
                                                 state="received"))
        group.end = when
        group.input = decode_input(attributes.get("input"), self.converter_for("signal"))

    def _MarkerRecorded(self, event_id: int, when: Any, attributes: dict) -> None:
        group = self._open(event_id, when, Group("marker", f"marker {attributes.get('markerName', '?')}",
                                                 state="recorded"))
        group.end = when
        group.outcome = decode_value(attributes.get("details"), self.converter_for("workflow"))

    def _SignalExternalWorkflowExecutionInitiated(self, event_id: int, when: Any, attributes: dict) -> None:
        group = self._open(event_id, when, Group("external", f"signal {attributes.get('signalName', '?')} out",
                                                 str(attributes.get("workflowId", "")), state="initiated"))
        group.input = decode_input(attributes.get("input"), self.converter_for("signal"))

    def _ExternalWorkflowExecutionSignaled(self, event_id: int, when: Any, attributes: dict) -> None:
        self._close(attributes.get("initiatedEventId"), event_id, when, "delivered", False, {}, "signal")

    def _SignalExternalWorkflowExecutionFailed(self, event_id: int, when: Any, attributes: dict) -> None:
        self._close(attributes.get("initiatedEventId"), event_id, when, "failed", True,
                    {"reason": attributes.get("cause")}, "signal")

    def _RequestCancelExternalWorkflowExecutionInitiated(self, event_id: int, when: Any, attributes: dict) -> None:
        self._open(event_id, when, Group("external", "cancel request out", str(attributes.get("workflowId", "")),
                                         state="initiated"))

    def _ExternalWorkflowExecutionCancelRequested(self, event_id: int, when: Any, attributes: dict) -> None:
        self._close(attributes.get("initiatedEventId"), event_id, when, "delivered", False, {}, "signal")

    def _RequestCancelExternalWorkflowExecutionFailed(self, event_id: int, when: Any, attributes: dict) -> None:
        self._close(attributes.get("initiatedEventId"), event_id, when, "failed", True,
                    {"reason": attributes.get("cause")}, "signal")

    # ------------------------------------------------------------ decision tasks

    def _DecisionTaskScheduled(self, event_id: int, when: Any, attributes: dict) -> None:
        self._open(event_id, when, Group("decision", "decision task", state="scheduled"))

    def _DecisionTaskStarted(self, event_id: int, when: Any, attributes: dict) -> None:
        group = self._follow(attributes.get("scheduledEventId"), event_id)
        if group is not None:
            group.state, group.started = "started", when
            group.ident = str(attributes.get("identity") or "")

    def _DecisionTaskCompleted(self, event_id: int, when: Any, attributes: dict) -> None:
        group = self._follow(attributes.get("scheduledEventId"), event_id)
        if group is not None:
            group.state, group.end = "completed", when

    def _DecisionTaskTimedOut(self, event_id: int, when: Any, attributes: dict) -> None:
        group = self._follow(attributes.get("scheduledEventId"), event_id)
        if group is not None:
            group.state, group.end, group.failed = "timed out", when, True
            group.outcome = Decoded(str(attributes.get("timeoutType", "")), str(attributes.get("timeoutType", "")))
