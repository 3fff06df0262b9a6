"""Applying one batch's events to a run: start, signals, cancellation, and results to futures.

Events that settle something (``ActivityTaskCompleted``, ``TimerFired``, a signal...) wait
in history order until their batch is flushed (see ``_replay``); the ``_APPLY`` table then
starts the workflow, spawns signal handlers, or resolves and fails the futures workflow code
waits on, with the errors its calls document.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
from typing import Any, Callable

from greenflow import errors
from greenflow._payload import decode_args, encode_value
from greenflow._swf_rules import event_attributes as attrs_of
from greenflow.converter import exception_from_failure, known_exceptions, register_pending
from greenflow.errors import CancelledError, NonDeterministicWorkflowError, WorkflowError

from . import _commands as C
from ._history import CONTINUE_TIMER_PREFIX, describe_event, optional_seconds, to_datetime
from ._hub import Future, RunEvicted, StopWorkflow
from ._known import known_exception_classes
from ._state import RunState, WorkflowInfo, load_optional

log = logging.getLogger("greenflow.workflow")


class ResultApplier(RunState):
    """The handlers of the events a batch applies (see ``_APPLY``)."""

    def _apply_started(self, event):
        a = event["workflowExecutionStartedEventAttributes"]
        wtype = a["workflowType"]
        entry = self.registry.get((wtype["name"], wtype["version"]))
        if entry is None:
            known = ", ".join(f"{n} {v}" for n, v in sorted(self.registry)) or "none"
            error = WorkflowError(
                f"GF-UNKNOWN-TYPE: this worker has no workflow type {wtype['name']} version {wtype['version']} "
                f"(registered: {known})")
            self.fatal(error)
            return
        cls, method_name = entry
        register_pending()  # dataclasses named by signatures defined further down their module
        self.known_exceptions = known_exception_classes(cls)
        self.definition = cls._gf_definition
        self.converter = self.definition.converter or self.default_converter
        parent = a.get("parentWorkflowExecution") or {}
        self.info = WorkflowInfo(
            workflow_id=self.workflow_id, run_id=self.run_id, workflow_type=(wtype["name"], wtype["version"]),
            task_list=(a.get("taskList") or {}).get("name", ""),
            task_priority=int(a["taskPriority"]) if a.get("taskPriority") not in (None, "") else None,
            child_policy=a.get("childPolicy"),
            execution_start_to_close_timeout=optional_seconds(a.get("executionStartToCloseTimeout")),
            task_start_to_close_timeout=optional_seconds(a.get("taskStartToCloseTimeout")),
            tags=tuple(a.get("tagList") or ()), parent_workflow_id=parent.get("workflowId"),
            parent_run_id=parent.get("runId"), continued_execution_run_id=a.get("continuedExecutionRunId"),
            start_time=to_datetime(event.get("eventTimestamp")))
        function = getattr(cls, method_name).method.fn
        text = a.get("input")

        def main():
            self.instance = cls()
            with known_exceptions(self.known_exceptions):
                args, kwargs = decode_args(self.converter, text)
            return function(self.instance, *args, **kwargs)

        main_greenlet = self.hub.spawn(main, name=f"@execute {cls.__qualname__}.{method_name}",
                                       context=contextvars.Context(), role="main")
        main_greenlet.future._on_done(self._on_main_done)
        self.main = main_greenlet

    def _on_main_done(self, future: Future) -> None:
        if self.close is not None:
            return
        exc = future._exc
        if exc is None:
            try:
                result = encode_value(self.converter, future._value, f"result of workflow {self.workflow_name}")
            except Exception as error:  # noqa: BLE001 - a result SWF cannot take fails the execution
                self._fail(error)
            else:
                self._set_close(C.Close("CompleteWorkflowExecution", {"result": result}))
        elif isinstance(exc, (StopWorkflow, RunEvicted)) or self.fatal_error is not None:
            return
        elif isinstance(exc, CancelledError) and self.cancel_requested:
            details = None if exc.details is None else self.converter.dumps(exc.details)
            self._set_close(C.Close("CancelWorkflowExecution", {"details": details} if details else {}))
        elif isinstance(exc, errors.DECISION_TASK_ERRORS):
            self.fatal(exc)
        elif isinstance(exc, Exception):
            self._fail(exc)

    def _apply_cancel_requested(self, event):
        # Delivered once: later requests are recorded in history but change nothing.
        if self.cancel_requested:
            return
        self.cancel_requested = True
        if self.main is None or self.main.future.done():
            return
        # The whole workflow is the scope: main, signal handlers, all they spawned and started.
        roots = sorted((g for g in self.hub.live if g.role in ("main", "signal")), key=lambda g: g.serial)
        self.hub.cancel_scope(roots, "the workflow execution was asked to cancel")

    def _apply_signaled(self, event):
        a = event["workflowExecutionSignaledEventAttributes"]
        name = a["signalName"]
        method_name = self.definition.signals.get(name) if self.definition else None
        if method_name is None:
            if not self.replaying:
                log.warning("workflow %s run %s: no @signal handler for signal %r; ignored",
                            self.workflow_id, self.run_id, name)
            return
        text = a.get("input")

        def handler():
            if self.instance is None:
                return None
            method = getattr(self.instance, method_name)
            try:
                with known_exceptions(self.known_exceptions):
                    args, kwargs = decode_args(self.converter, text)
                inspect.signature(method).bind(*args, **kwargs)
            except Exception as error:  # noqa: BLE001 - any sender's bad payload, whatever the converter
                if getattr(getattr(type(self.instance), method_name), "_gf_signal_strict", False):
                    raise
                if not self.replaying:
                    log.error("GF-SIGNAL-REJECTED: workflow %s run %s rejected signal %r (event %s): its input does "
                              "not fit handler %s: %s", self.workflow_id, self.run_id, name, event["eventId"],
                              method_name, error)
                return None
            return method(*args, **kwargs)

        g = self.hub.spawn(handler, name=f"@signal {name}", context=contextvars.Context(), role="signal")
        g.future._on_done(self._on_signal_done)

    def _on_signal_done(self, future: Future) -> None:
        exc = future._exc
        if isinstance(exc, CancelledError) and self.cancel_requested:
            return  # the workflow's cancellation reached the handler; main decides the outcome
        if exc is not None and isinstance(exc, Exception) and self.close is None and self.fatal_error is None:
            if isinstance(exc, errors.DECISION_TASK_ERRORS):
                self.fatal(exc)
            else:
                self._fail(exc)

    def _result_command(self, event, key: str) -> Any:
        a = attrs_of(event)
        command = self.by_event.pop(a[key], None)
        if command is None:
            raise NonDeterministicWorkflowError(
                f"GF-HISTORY: event {event['eventId']} ({event['eventType']}) refers to event {a[key]}, which "
                "started nothing this run knows of", event_id=event["eventId"], event=describe_event(event))
        return command

    # Activities and children close alike: a result, a failure, a cancellation, a timeout.
    _REF = {"activity": "scheduledEventId", "child": "initiatedEventId"}

    def _settled(self, event, kind: str) -> Any:
        """The activity or child command a closing event settles (it is open no more)."""
        command = self._result_command(event, self._REF[kind])
        self.open[kind] -= 1
        return command

    @staticmethod
    def _label(command: C.ScheduleActivity | C.StartChild) -> str:
        if command.kind == "activity":
            return f"activity {command.name} (id {command.id})"
        return f"child workflow {command.name} ({command.id})"

    def _error_kwargs(self, command, event) -> dict:
        if command.kind == "activity":
            return dict(activity_id=command.id, activity_type=(command.name, command.version),
                        scheduled_event_id=command.event_id)
        execution = attrs_of(event).get("workflowExecution") or {}
        return dict(workflow_id=command.id, run_id=execution.get("runId") or command.run_id,
                    workflow_type=(command.name, command.version))

    @staticmethod
    def _details(command, a: dict) -> Any:
        """Converted ``details`` of a timeout or cancellation (best effort: the raw text if they do not load)."""
        try:
            return load_optional(command.converter, a.get("details"))
        except Exception:  # noqa: BLE001 - details are informative only
            return a.get("details")

    def _apply_completed(self, event, kind: str):
        command = self._settled(event, kind)
        try:
            value = load_optional(command.converter, attrs_of(event).get("result"))
        except Exception as error:  # noqa: BLE001 - surfaced at the call
            command.future._fail(error)
        else:
            command.future._resolve(value)

    def _apply_failed(self, event, kind: str):
        command = self._settled(event, kind)
        a = attrs_of(event)
        reason = a.get("reason") or ""
        cause = exception_from_failure(reason, a.get("details"), command.converter)
        error_class = errors.ActivityTaskFailedError if kind == "activity" else errors.ChildWorkflowFailedError
        command.future._fail(error_class(f"{self._label(command)} failed: {reason}: {cause}", reason=reason,
                                         cause=cause, **self._error_kwargs(command, event)))

    def _apply_canceled(self, event, kind: str):
        command = self._settled(event, kind)
        command.future._fail(CancelledError(f"{self._label(command)} was cancelled",
                                            details=self._details(command, attrs_of(event))))

    def _apply_activity_timed_out(self, event):
        command = self._settled(event, "activity")
        a = event["activityTaskTimedOutEventAttributes"]
        command.future._fail(errors.ActivityTaskTimedOutError(
            f"{self._label(command)} timed out ({a.get('timeoutType')})", timeout_type=a.get("timeoutType", ""),
            details=self._details(command, a), **self._error_kwargs(command, event)))

    def _apply_schedule_activity_failed(self, event):
        command = self.by_event.pop(event["eventId"])
        cause = event["scheduleActivityTaskFailedEventAttributes"]["cause"]
        command.future._fail(errors.ScheduleActivityTaskFailedError(
            f"SWF could not schedule activity {command.name} version {command.version} (id {command.id}): {cause}",
            cause=cause, activity_id=command.id, activity_type=(command.name, command.version)))

    def _apply_timer_fired(self, event):
        timer_id = event["timerFiredEventAttributes"]["timerId"]
        if timer_id.startswith(CONTINUE_TIMER_PREFIX):
            return
        command = self.timers.pop(timer_id, None)
        if command is None:
            raise NonDeterministicWorkflowError(
                f"GF-HISTORY: TimerFired event {event['eventId']} names timer {timer_id}, which this run never started",
                event_id=event["eventId"], event=describe_event(event))
        self.open["timer"] -= 1
        command.future._resolve(None)

    def _apply_start_timer_failed(self, event):
        command = self.by_event.pop(event["eventId"])
        cause = event["startTimerFailedEventAttributes"]["cause"]
        command.future._fail(errors.TimerError(f"SWF could not start timer {command.id}: {cause}", cause=cause))

    def _apply_child_started(self, event):
        a = event["childWorkflowExecutionStartedEventAttributes"]
        command = self.by_event.get(a["initiatedEventId"])
        if command is not None:
            command.run_id = a["workflowExecution"]["runId"]

    def _apply_child_timed_out(self, event):
        command = self._settled(event, "child")
        command.future._fail(errors.ChildWorkflowTimedOutError(
            f"{self._label(command)} timed out", **self._error_kwargs(command, event)))

    def _apply_child_terminated(self, event):
        command = self._settled(event, "child")
        command.future._fail(errors.ChildWorkflowTerminatedError(
            f"{self._label(command)} was terminated", **self._error_kwargs(command, event)))

    def _apply_start_child_failed(self, event):
        command = self.by_event.pop(event["eventId"])
        cause = event["startChildWorkflowExecutionFailedEventAttributes"]["cause"]
        command.future._fail(errors.StartChildWorkflowFailedError(
            f"SWF could not start child workflow {command.name} version {command.version} ({command.id}): {cause}",
            cause=cause, workflow_id=command.id, workflow_type=(command.name, command.version)))

    def _apply_external_done(self, event):
        command = self._result_command(event, "initiatedEventId")
        if command.future is not None:
            command.future._resolve(None)

    def _apply_external_failed(self, event):
        command = self.by_event.pop(event["eventId"])
        a = attrs_of(event)
        cause = a.get("cause", "")
        what = "signal" if command.kind == "signal" else "cancel request"
        if command.future is not None:
            command.future._fail(errors.ExternalWorkflowError(
                f"SWF could not deliver the {what} to workflow {a.get('workflowId')}: {cause}", cause=cause,
                workflow_id=a.get("workflowId", ""), run_id=a.get("runId") or ""))


R = ResultApplier
_APPLY: dict[str, Callable] = {
    "WorkflowExecutionStarted": R._apply_started,
    "WorkflowExecutionCancelRequested": R._apply_cancel_requested,
    "WorkflowExecutionSignaled": R._apply_signaled,
    "ActivityTaskCompleted": lambda run, event: run._apply_completed(event, "activity"),
    "ActivityTaskFailed": lambda run, event: run._apply_failed(event, "activity"),
    "ActivityTaskTimedOut": R._apply_activity_timed_out,
    "ActivityTaskCanceled": lambda run, event: run._apply_canceled(event, "activity"),
    "ScheduleActivityTaskFailed": R._apply_schedule_activity_failed,
    "TimerFired": R._apply_timer_fired,
    "StartTimerFailed": R._apply_start_timer_failed,
    "ChildWorkflowExecutionStarted": R._apply_child_started,
    "ChildWorkflowExecutionCompleted": lambda run, event: run._apply_completed(event, "child"),
    "ChildWorkflowExecutionFailed": lambda run, event: run._apply_failed(event, "child"),
    "ChildWorkflowExecutionTimedOut": R._apply_child_timed_out,
    "ChildWorkflowExecutionCanceled": lambda run, event: run._apply_canceled(event, "child"),
    "ChildWorkflowExecutionTerminated": R._apply_child_terminated,
    "StartChildWorkflowExecutionFailed": R._apply_start_child_failed,
    "ExternalWorkflowExecutionSignaled": R._apply_external_done,
    "ExternalWorkflowExecutionCancelRequested": R._apply_external_done,
    "SignalExternalWorkflowExecutionFailed": R._apply_external_failed,
    "RequestCancelExternalWorkflowExecutionFailed": R._apply_external_failed,
}
