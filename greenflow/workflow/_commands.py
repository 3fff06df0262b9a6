"""Commands: what workflow code asked SWF to do, before history confirms it.

A command has a *key* ``(kind, id)`` that its initiating history event carries back
(``ActivityTaskScheduled.activityId``, ``TimerStarted.timerId``, the child's ``workflowId``,
the ``control`` field of external signals/cancels, the marker name), a ``decision()`` in
SWF's wire form, ``describe()`` for error messages, and ``check(attrs)`` that says how the
initiating event differs (type or name), or None when it matches.
"""

from __future__ import annotations

from typing import Any

from ._validate import seconds_text


def _put(attrs: dict, key: str, value: Any) -> None:
    if value is not None:
        attrs[key] = value


def _put_task(attrs: dict, options: dict) -> None:
    """The task list and priority members shared by activities and child workflows."""
    if options.get("task_list"):
        attrs["taskList"] = {"name": options["task_list"]}
    if options.get("task_priority") is not None:
        attrs["taskPriority"] = str(options["task_priority"])


def _type_differs(attrs: dict, member: str, name: str, version: str) -> bool:
    kind = attrs.get(member) or {}
    return kind.get("name") != name or kind.get("version") != version


class Command:
    """Base of all commands; see the module docstring."""

    __slots__ = ("id", "future", "batch", "location", "event_id", "seq", "shielded")
    kind = ""
    decision_type = ""

    def __init__(self, id: str, future=None, location: str = ""):
        self.id = id
        self.future = future
        self.batch = 0
        self.location = location
        self.event_id = 0  # the initiating event, once history confirms the command
        self.seq = 0  # the order the run made its commands in
        self.shielded = False  # made inside shield(): no cancellation reaches it

    @property
    def key(self) -> tuple[str, str]:
        """``(kind, id)``: what the initiating history event carries back."""
        return (self.kind, self.id)

    def attributes(self) -> dict:  # pragma: no cover - every subclass overrides
        """The ``<decisionType>DecisionAttributes`` member of the decision."""
        raise NotImplementedError

    def decision(self) -> dict:
        """Return this command in wire form: one SWF decision."""
        attr_name = self.decision_type[0].lower() + self.decision_type[1:] + "DecisionAttributes"
        return {"decisionType": self.decision_type, attr_name: self.attributes()}

    def _at(self) -> str:
        return f" (at {self.location})" if self.location else ""

    def describe(self) -> str:
        """The command for error messages, with the user's call site."""
        return f"{self.decision_type} id={self.id}{self._at()}"

    def check(self, attrs: dict) -> str | None:
        """How the initiating event's ``attrs`` differ from this command (type, name), or None."""
        return None


class ScheduleActivity(Command):
    """``ScheduleActivityTask``: an activity call; its id is the ``activityId``."""

    __slots__ = ("name", "version", "input", "options", "converter")
    kind = "activity"
    decision_type = "ScheduleActivityTask"

    def __init__(self, id, name, version, input, options, converter, future=None, location=""):
        super().__init__(id, future, location)
        self.name, self.version, self.input, self.options, self.converter = name, version, input, options, converter

    def attributes(self) -> dict:
        o = self.options
        attrs = {"activityType": {"name": self.name, "version": self.version}, "activityId": self.id}
        _put(attrs, "input", self.input)
        _put_task(attrs, o)
        # An unset timeout is sent as "NONE" (unlimited) rather than left to a registered
        # default: greenflow registers types from the same definitions, and SWF fails a
        # schedule whose timeout is neither given nor registered.
        attrs["scheduleToStartTimeout"] = seconds_text(o.get("schedule_to_start_timeout")) or "NONE"
        attrs["startToCloseTimeout"] = seconds_text(o.get("start_to_close_timeout")) or "NONE"
        attrs["scheduleToCloseTimeout"] = seconds_text(o.get("schedule_to_close_timeout")) or "NONE"
        attrs["heartbeatTimeout"] = seconds_text(o.get("heartbeat_timeout")) or "NONE"
        return attrs

    def describe(self) -> str:
        return f"ScheduleActivityTask {self.name} version {self.version} id={self.id}{self._at()}"

    def check(self, attrs: dict) -> str | None:
        return "activity type differs" if _type_differs(attrs, "activityType", self.name, self.version) else None


class StartTimer(Command):
    """``StartTimer`` for ``sleep``/``start_timer``; its id is the ``timerId``."""

    __slots__ = ("seconds",)
    kind = "timer"
    decision_type = "StartTimer"

    def __init__(self, id, seconds: int, future=None, location=""):
        super().__init__(id, future, location)
        self.seconds = seconds

    def attributes(self) -> dict:
        return {"timerId": self.id, "startToFireTimeout": str(self.seconds)}

    def describe(self) -> str:
        return f"StartTimer {self.seconds}s id={self.id}{self._at()}"


class StartChild(Command):
    """``StartChildWorkflowExecution``; its id is the child's ``workflowId``."""

    __slots__ = ("name", "version", "input", "options", "converter", "run_id")
    kind = "child"
    decision_type = "StartChildWorkflowExecution"

    def __init__(self, workflow_id, name, version, input, options, converter, future=None, location=""):
        super().__init__(workflow_id, future, location)
        self.name, self.version, self.input, self.options, self.converter = name, version, input, options, converter
        self.run_id = ""

    def attributes(self) -> dict:
        o = self.options
        attrs = {"workflowType": {"name": self.name, "version": self.version}, "workflowId": self.id}
        _put(attrs, "input", self.input)
        _put(attrs, "executionStartToCloseTimeout", seconds_text(o.get("execution_start_to_close_timeout")))
        _put(attrs, "taskStartToCloseTimeout", seconds_text(o.get("task_start_to_close_timeout")))
        _put_task(attrs, o)
        _put(attrs, "childPolicy", o.get("child_policy"))
        if o.get("tags"):
            attrs["tagList"] = list(o["tags"])
        return attrs

    def describe(self) -> str:
        return f"StartChildWorkflowExecution {self.name} version {self.version} workflowId={self.id}{self._at()}"

    def check(self, attrs: dict) -> str | None:
        return "workflow type differs" if _type_differs(attrs, "workflowType", self.name, self.version) else None


class RecordMarker(Command):
    """A marker; its id is the marker name (``greenflow.side_effect.7``, ``greenflow.version.x``)."""

    __slots__ = ("details",)
    kind = "marker"
    decision_type = "RecordMarker"

    def __init__(self, name, details, location=""):
        super().__init__(name, None, location)
        self.details = details

    def attributes(self) -> dict:
        attrs = {"markerName": self.id}
        _put(attrs, "details", self.details)
        return attrs

    def describe(self) -> str:
        return f"RecordMarker {self.id}{self._at()}"


class SignalExternal(Command):
    """Its id travels in ``control`` (the decision has no ID field)."""

    __slots__ = ("workflow_id", "run_id", "signal_name", "input")
    kind = "signal"
    decision_type = "SignalExternalWorkflowExecution"

    def __init__(self, id, workflow_id, run_id, signal_name, input, future=None, location=""):
        super().__init__(id, future, location)
        self.workflow_id, self.run_id, self.signal_name, self.input = workflow_id, run_id, signal_name, input

    def attributes(self) -> dict:
        attrs = {"workflowId": self.workflow_id, "signalName": self.signal_name, "control": self.id}
        _put(attrs, "runId", self.run_id)
        _put(attrs, "input", self.input)
        return attrs

    def describe(self) -> str:
        return f"SignalExternalWorkflowExecution {self.signal_name} to {self.workflow_id} id={self.id}{self._at()}"

    def check(self, attrs: dict) -> str | None:
        if attrs.get("signalName") != self.signal_name or attrs.get("workflowId") != self.workflow_id:
            return "signal name or target differs"
        return None


class CancelExternal(Command):
    """Its id travels in ``control``."""

    __slots__ = ("workflow_id", "run_id")
    kind = "cancel_external"
    decision_type = "RequestCancelExternalWorkflowExecution"

    def __init__(self, id, workflow_id, run_id, future=None, location=""):
        super().__init__(id, future, location)
        self.workflow_id, self.run_id = workflow_id, run_id

    def attributes(self) -> dict:
        attrs = {"workflowId": self.workflow_id, "control": self.id}
        _put(attrs, "runId", self.run_id)
        return attrs

    def describe(self) -> str:
        return f"RequestCancelExternalWorkflowExecution {self.workflow_id} id={self.id}{self._at()}"

    def check(self, attrs: dict) -> str | None:
        if attrs.get("workflowId") != self.workflow_id:
            return "target workflow differs"
        return None


class CancelActivity(Command):
    """``RequestCancelActivityTask`` for a scheduled activity (same id as the activity)."""

    __slots__ = ()
    kind = "cancel_activity"
    decision_type = "RequestCancelActivityTask"

    def attributes(self) -> dict:
        return {"activityId": self.id}


class CancelTimer(Command):
    """``CancelTimer`` for a started timer (same id as the timer)."""

    __slots__ = ()
    kind = "cancel_timer"
    decision_type = "CancelTimer"

    def attributes(self) -> dict:
        return {"timerId": self.id}


class Close(Command):
    """A closing decision: always sent last, at most one per run."""

    __slots__ = ("attrs", "resend", "decision_type")
    kind = "close"

    def __init__(self, decision_type: str, attrs: dict, location=""):
        super().__init__("", None, location)
        self.decision_type = decision_type
        self.attrs = attrs
        self.resend = False  # set when SWF refused it (UNHANDLED_DECISION): send it again

    def attributes(self) -> dict:
        return dict(self.attrs)

    def describe(self) -> str:
        return f"{self.decision_type}{self._at()}"


#: initiating event type → (command kind, close decision it confirms, if any)
CLOSE_EVENTS = {
    "WorkflowExecutionCompleted": "CompleteWorkflowExecution",
    "WorkflowExecutionFailed": "FailWorkflowExecution",
    "WorkflowExecutionCanceled": "CancelWorkflowExecution",
    "WorkflowExecutionContinuedAsNew": "ContinueAsNewWorkflowExecution",
}
CLOSE_FAILED_EVENTS = {
    "CompleteWorkflowExecutionFailed": "CompleteWorkflowExecution",
    "FailWorkflowExecutionFailed": "FailWorkflowExecution",
    "CancelWorkflowExecutionFailed": "CancelWorkflowExecution",
    "ContinueAsNewWorkflowExecutionFailed": "ContinueAsNewWorkflowExecution",
}
