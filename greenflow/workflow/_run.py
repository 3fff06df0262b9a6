"""One workflow run: its instance, hub and commands, and the history state machine.

History is fed in event order (all of it on a full replay, only the new tail for a cached
run) and cut into the batches the workflow originally saw:

* events that happen before a ``DecisionTaskStarted`` (activity results, signals, timers
  firing...) wait in ``self.events``;
* at the ``DecisionTaskCompleted`` that closes that decision task (or at the trailing
  ``DecisionTaskStarted`` of the task being decided now) the waiting events *before* the
  ``DecisionTaskStarted`` are applied in order and the hub runs until quiescent, with
  ``now()`` = that ``DecisionTaskStarted``'s timestamp. Events that arrived while the
  decision task was running belong to the next batch, as they did originally;
* the events a decision created (they follow its ``DecisionTaskCompleted``: ``ActivityTask
  Scheduled``, ``TimerStarted``...) are matched to the commands the code made, by key
  ``(kind, id)`` and then by type and name. A mismatch, an event no command explains, or a
  command no event confirms raises :class:`NonDeterministicWorkflowError`.

The commands still unmatched after the last batch are the new decisions.
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime
import hashlib
import inspect
import logging
import math
import random as _random
import uuid
from typing import Any, Callable

from greenlet import error as greenlet_error
from greenlet import getcurrent

from greenflow import errors
from greenflow._payload import decode_args, encode_args, encode_value
from greenflow._swf_rules import FORBIDDEN_NAME_CHARS, MAX_DURATION_SECONDS
from greenflow._swf_rules import event_attributes as attrs_of
from greenflow.converter import exception_from_failure, failure_from_exception, known_exceptions, register_pending
from greenflow.errors import CancelledError, NonDeterministicWorkflowError, WorkflowError

from . import _commands as C
from ._cancel import track
from ._guards import allow_unsafe_calls
from ._hub import Future, Hub, RunEvicted, StopWorkflow, WorkflowGreenlet, caller_location
from ._known import known_exception_classes
from ._options import current_activity_options, current_workflow_options
from ._stack import STACK_TRACE_QUERY, StackTrace
from ._stack import collect as collect_stack
from ._watchdog import DEFAULT_STEP_TIMEOUT

log = logging.getLogger("greenflow.workflow")

#: executionContext of a decision that held some commands back (see ``_split.py``).
SPLIT_CONTEXT = "greenflow:split"
#: timerId prefix of the zero-second timers that ask SWF for another decision task after a
#: split; replay ignores their events.
CONTINUE_TIMER_PREFIX = "greenflow-continue-"
#: What ``version()`` returns where history shows the code ran before the change existed.
DEFAULT_VERSION = -1

SIDE_EFFECT_MARKER = "greenflow.side_effect."
VERSION_MARKER = "greenflow.version."


@dataclasses.dataclass(frozen=True)
class WorkflowInfo:
    """Facts about the current execution, from its ``WorkflowExecutionStarted`` event."""

    workflow_id: str
    run_id: str
    workflow_type: tuple[str, str]
    task_list: str
    task_priority: int | None
    child_policy: str | None
    execution_start_to_close_timeout: int | None
    task_start_to_close_timeout: int | None
    tags: tuple[str, ...]
    parent_workflow_id: str | None
    parent_run_id: str | None
    continued_execution_run_id: str | None
    start_time: datetime.datetime | None


def to_datetime(value: Any) -> datetime.datetime | None:
    """An event timestamp (datetime from botocore, epoch float from JSON) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    if isinstance(value, str):
        try:
            return datetime.datetime.fromtimestamp(float(value), datetime.timezone.utc)
        except ValueError:
            return to_datetime(datetime.datetime.fromisoformat(value.replace("Z", "+00:00")))
    raise TypeError(f"unrecognised event timestamp {value!r}")


def describe_event(event: dict) -> str:
    """A short human description of a history event, for error messages."""
    t = event.get("eventType", "?")
    a = attrs_of(event)
    if "activityType" in a:
        kind = a["activityType"]
        return f"{t} {kind.get('name')} version {kind.get('version')} id={a.get('activityId')}"
    if "workflowType" in a and "workflowId" in a:
        kind = a["workflowType"]
        return f"{t} {kind.get('name')} version {kind.get('version')} workflowId={a['workflowId']}"
    if "timerId" in a:
        return f"{t} id={a['timerId']}"
    if "markerName" in a:
        return f"{t} {a['markerName']}"
    if "signalName" in a:
        return f"{t} {a['signalName']} to {a.get('workflowId')}"
    if "activityId" in a:
        return f"{t} id={a['activityId']}"
    if "workflowId" in a:
        return f"{t} {a['workflowId']}"
    return t


def _loads(converter, text):
    return None if text is None else converter.loads(text)


class WorkflowRun:
    """The live state of one workflow run; see the module docstring.

    Not thread-safe: a run (its greenlets) belongs to the thread that created it.
    """

    def __init__(self, registry: dict, workflow_id: str, run_id: str, converter):
        self.registry = registry
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.default_converter = converter
        self.converter = converter
        self.hub = Hub(self)
        self.counter = 0
        self.command_seq = 0
        self.pending: dict[tuple[str, str], C.Command] = {}
        self.by_event: dict[int, Any] = {}  # initiating event id -> its command (of any kind)
        self.timers: dict[str, C.Command] = {}
        self.cancelling: set[tuple[str, str]] = set()
        self.events: list[dict] = []  # applied at the next batch
        self.cut: int | None = None
        self.cut_event: dict | None = None
        self.last_event_id = 0
        self.flushed_started = 0
        self.last_dtc_id = 0
        self.last_dtc_split = False
        self.batch = 0
        self.replaying = True
        self.now: datetime.datetime | None = None
        self.markers: dict[str, str | None] = {}
        self.versions: dict[str, int] = {}
        self.skipped_markers: set[str] = set()  # version markers replay passed with no version() call
        self.close: C.Close | None = None
        self.closed = False
        self.cancel_requested = False
        self.main: WorkflowGreenlet | None = None
        self.instance: Any = None
        self.definition: Any = None
        self.info: WorkflowInfo | None = None
        #: The only exception classes history may rebuild in this run (see ``_known``).
        self.known_exceptions: dict[str, type] = {}
        self.fatal_error: BaseException | None = None
        #: The longest one step of this run's workflow code may run (see ``_watchdog``).
        self.step_timeout: float | None = DEFAULT_STEP_TIMEOUT
        self.open = {"activity": 0, "timer": 0, "child": 0}
        self.events_handled = 0
        self.query_mode = False
        # SWF run IDs are base64 ("...a/b+c="): '/' is not allowed in a workflow ID, so child
        # IDs use '_' instead (injective on base64). random()/uuid4() are seeded from the same
        # text, so a replayer that only recovered it from a child ID still seeds identically.
        self.id_prefix = FORBIDDEN_NAME_CHARS.sub("_", run_id)
        self.random = _random.Random(int.from_bytes(hashlib.sha256(self.id_prefix.encode()).digest()[:8], "big"))

    # ================================================================ feeding history
    def feed(self, events: list[dict], final_started_id: int | None = None) -> None:
        """Process ``events`` (in order; events already seen are skipped).

        With ``final_started_id`` (a decision task), the last event must be that
        ``DecisionTaskStarted``; its batch is run live (not replaying) and the unmatched
        commands become the decisions. Without it (queries, the replayer), a trailing
        ``DecisionTaskStarted`` is run live too, and trailing events not yet seen by a
        decision are left unapplied.
        """
        last = self.last_event_id
        if events and last and events[0]["eventId"] <= last:
            # Skip what this run has seen without looking at it: histories are contiguous, so
            # a decision costs O(new events) even when the task holds the whole history.
            start = last + 1 - events[0]["eventId"]
            if start < len(events) and events[start]["eventId"] == last + 1:
                events = events[start:]
            elif start >= len(events) and events[-1]["eventId"] == last:
                events = []
        for event in events:
            if event["eventType"] == "MarkerRecorded" and event["eventId"] > last:
                a = event["markerRecordedEventAttributes"]
                self.markers[a["markerName"]] = a.get("details")
        handlers = _HANDLERS
        for event in events:
            event_id = event["eventId"]
            if event_id <= self.last_event_id:
                continue
            if event_id != self.last_event_id + 1:
                raise NonDeterministicWorkflowError(
                    f"GF-HISTORY-GAP: history jumps from event {self.last_event_id} to {event_id}",
                    event_id=event_id, event=describe_event(event))
            self.last_event_id = event_id
            self.events_handled += 1
            handler = handlers.get(event["eventType"])
            if handler is None:
                self.events.append(event)
            else:
                handler(self, event)
        if final_started_id is not None:
            if not events or self.cut_event is None or self.cut_event["eventId"] != final_started_id \
                    or self.last_event_id != final_started_id:
                raise NonDeterministicWorkflowError(
                    f"GF-HISTORY-END: the decision task's history does not end with its DecisionTaskStarted "
                    f"event {final_started_id}", event_id=final_started_id)
        if self.cut_event is not None and self.cut_event["eventId"] == self.last_event_id \
                and self.flushed_started != self.last_event_id:
            self._flush(live=True)
        elif self.closed and not self.last_dtc_split:
            # No batch follows the last decision of a closed history: check it here.
            for command in self.pending.values():
                raise self._nondeterministic_missing(command)

    # ---------------------------------------------------------------- decision events
    def _on_decision_started(self, event: dict) -> None:
        self.cut = len(self.events)
        self.cut_event = event

    def _on_decision_completed(self, event: dict) -> None:
        a = event["decisionTaskCompletedEventAttributes"]
        started = a["startedEventId"]
        if started != self.flushed_started:
            if self.cut_event is None or self.cut_event["eventId"] != started:
                raise NonDeterministicWorkflowError(
                    f"GF-HISTORY: DecisionTaskCompleted event {event['eventId']} names DecisionTaskStarted "
                    f"{started}, which this history does not hold", event_id=event["eventId"],
                    event=describe_event(event))
            self._flush(live=False)
        self.cut = None
        self.cut_event = None
        self.last_dtc_id = event["eventId"]
        self.last_dtc_split = a.get("executionContext") == SPLIT_CONTEXT

    def _on_decision_timed_out(self, event: dict) -> None:
        a = event["decisionTaskTimedOutEventAttributes"]
        if self.flushed_started and a.get("startedEventId") == self.flushed_started:
            # The decisions of our last (live) batch were never applied; this run's state
            # assumes they were. Only a full replay rebuilds the truth.
            raise NonDeterministicWorkflowError(
                f"GF-STALE: decision task {self.flushed_started} timed out after this run decided it",
                event_id=event["eventId"], event=describe_event(event))
        self.cut = None
        self.cut_event = None

    def _flush(self, live: bool) -> None:
        """Apply the events of one batch and run the workflow code until quiescent."""
        self.batch += 1
        if not self.last_dtc_split and self.batch > 1:
            self._check_all_matched()
        cut = self.cut if self.cut is not None else len(self.events)
        batch_events = self.events[:cut]
        del self.events[:cut]
        self.cut = 0
        cut_event = self.cut_event
        assert cut_event is not None  # a batch is flushed at its DecisionTaskStarted
        self.now = to_datetime(cut_event["eventTimestamp"])
        self.replaying = not live
        self.flushed_started = cut_event["eventId"]
        apply = _APPLY
        for event in batch_events:
            handler = apply.get(event["eventType"])
            if handler is not None:
                with known_exceptions(self.known_exceptions):
                    handler(self, event)
        self.hub.run_until_quiescent()
        if self.fatal_error is not None:
            raise self.fatal_error

    def _check_all_matched(self) -> None:
        for command in self.pending.values():
            raise self._nondeterministic_missing(command)
        close = self.close
        if close is not None and not close.event_id and not close.resend and close.batch < self.batch:
            raise self._nondeterministic_missing(close)

    def _nondeterministic_missing(self, command: C.Command) -> NonDeterministicWorkflowError:
        return NonDeterministicWorkflowError(
            f"GF-NONDETERMINISM: the workflow code made {command.describe()}, but the decision completed at "
            f"history event {self.last_dtc_id} recorded no such command (workflow code changed?)",
            event_id=self.last_dtc_id or None, event=None, command=command.describe())

    # ---------------------------------------------------------------- matching
    def _match(self, event: dict, key: tuple[str, str]) -> C.Command:
        command = self.pending.pop(key, None)
        if command is None:
            raise self._nondeterministic(event, key)
        problem = command.check(attrs_of(event))
        if problem:
            self.pending[key] = command
            raise NonDeterministicWorkflowError(
                f"GF-NONDETERMINISM: history event {event['eventId']} holds {describe_event(event)}, but the "
                f"workflow code made {command.describe()} ({problem}; workflow code changed?)",
                event_id=event["eventId"], event=describe_event(event), command=command.describe())
        command.event_id = event["eventId"]
        return command

    def _nondeterministic(self, event: dict, key: tuple[str, str]) -> NonDeterministicWorkflowError:
        candidate = None
        for command in self.pending.values():
            if command.id == key[1]:
                candidate = command
                break
        if candidate is None and self.pending:
            candidate = next(iter(self.pending.values()))
        made = f"made {candidate.describe()} instead" if candidate else "made no matching command"
        return NonDeterministicWorkflowError(
            f"GF-NONDETERMINISM: history event {event['eventId']} holds {describe_event(event)}, but the workflow "
            f"code {made} (workflow code changed?)",
            event_id=event["eventId"], event=describe_event(event),
            command=candidate.describe() if candidate else None)

    def _match_and_queue(self, event: dict, key: tuple[str, str]) -> None:
        command = self._match(event, key)
        self.by_event[event["eventId"]] = command
        self.events.append(event)

    # ---------------------------------------------------------------- command events
    def _on_activity_scheduled(self, event):
        command = self._match(event, ("activity", event["activityTaskScheduledEventAttributes"]["activityId"]))
        self.by_event[event["eventId"]] = command
        self.open["activity"] += 1

    def _on_schedule_activity_failed(self, event):
        self._match_and_queue(event, ("activity", event["scheduleActivityTaskFailedEventAttributes"]["activityId"]))

    def _on_timer_started(self, event):
        timer_id = event["timerStartedEventAttributes"]["timerId"]
        if timer_id.startswith(CONTINUE_TIMER_PREFIX):
            return
        self.timers[timer_id] = self._match(event, ("timer", timer_id))
        self.open["timer"] += 1

    def _on_start_timer_failed(self, event):
        timer_id = event["startTimerFailedEventAttributes"]["timerId"]
        if not timer_id.startswith(CONTINUE_TIMER_PREFIX):
            self._match_and_queue(event, ("timer", timer_id))

    def _on_timer_canceled(self, event):
        timer_id = event["timerCanceledEventAttributes"]["timerId"]
        self._match(event, ("cancel_timer", timer_id))
        if self.timers.pop(timer_id, None) is not None:
            self.open["timer"] -= 1

    def _on_child_initiated(self, event):
        a = event["startChildWorkflowExecutionInitiatedEventAttributes"]
        self.by_event[event["eventId"]] = self._match(event, ("child", a["workflowId"]))
        self.open["child"] += 1

    def _on_start_child_failed(self, event):
        a = event["startChildWorkflowExecutionFailedEventAttributes"]
        command = self.by_event.get(a.get("initiatedEventId") or 0)
        if command is None:
            command = self._match(event, ("child", a["workflowId"]))
        else:
            self.open["child"] -= 1
            del self.by_event[a["initiatedEventId"]]
        self.by_event[event["eventId"]] = command
        self.events.append(event)

    def _on_external_failed(self, event, kind: str):
        a = attrs_of(event)
        command = self.by_event.get(a.get("initiatedEventId") or 0)
        if command is None:
            command = self._match(event, (kind, a.get("control") or ""))
        else:
            del self.by_event[a["initiatedEventId"]]
        self.by_event[event["eventId"]] = command
        self.events.append(event)

    def _on_signal_initiated(self, event):
        a = event["signalExternalWorkflowExecutionInitiatedEventAttributes"]
        self.by_event[event["eventId"]] = self._match(event, ("signal", a.get("control") or ""))

    def _on_cancel_external_initiated(self, event):
        a = event["requestCancelExternalWorkflowExecutionInitiatedEventAttributes"]
        self.by_event[event["eventId"]] = self._match(event, ("cancel_external", a.get("control") or ""))

    def _on_close(self, event):
        close = self.close
        expected = C.CLOSE_EVENTS.get(event["eventType"]) or C.CLOSE_FAILED_EVENTS[event["eventType"]]
        if close is None or close.decision_type != expected:
            made = f"made {close.describe()} instead" if close else "has not closed the workflow"
            raise NonDeterministicWorkflowError(
                f"GF-NONDETERMINISM: history event {event['eventId']} holds {event['eventType']}, but the workflow "
                f"code {made} (workflow code changed?)", event_id=event["eventId"], event=event["eventType"],
                command=close.describe() if close else None)
        if event["eventType"] in C.CLOSE_EVENTS:
            close.event_id = event["eventId"]
            self.closed = True
            return
        cause = attrs_of(event).get("cause")
        close.event_id = 0
        close.resend = True
        close.batch = self.batch
        if cause != "UNHANDLED_DECISION" and close.decision_type == "ContinueAsNewWorkflowExecution":
            # SWF will never accept this continue-as-new: fail the execution instead.
            self.close = C.Close("FailWorkflowExecution", {
                "reason": "ContinueAsNewWorkflowExecutionFailed",
                "details": f"SWF refused ContinueAsNewWorkflowExecution: {cause}"})
            self.close.resend = True
            self.close.batch = self.batch

    def _on_marker(self, event):
        name = event["markerRecordedEventAttributes"]["markerName"]
        key = ("marker", name)
        if key not in self.pending and name.startswith(VERSION_MARKER):
            # No code asks for this change any more (its version() call was removed once
            # the runs that took the old branch had closed): skip it, as Temporal does.
            self.skipped_markers.add(name)
            return
        self._match(event, key)

    def _on_lambda(self, event):
        a = attrs_of(event)
        raise self._nondeterministic(event, ("lambda", a.get("id", "")))

    def _on_terminal(self, event):
        self.closed = True

    # ================================================================ applying results
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
            execution_start_to_close_timeout=_seconds(a.get("executionStartToCloseTimeout")),
            task_start_to_close_timeout=_seconds(a.get("taskStartToCloseTimeout")),
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

    def _fail(self, exc: BaseException) -> None:
        reason, details = failure_from_exception(exc, self.converter)
        self._set_close(C.Close("FailWorkflowExecution", {"reason": reason, "details": details}))

    def _set_close(self, close: C.Close) -> None:
        close.batch = self.batch
        self.close = close

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
            return _loads(command.converter, a.get("details"))
        except Exception:  # noqa: BLE001 - details are informative only
            return a.get("details")

    def _apply_completed(self, event, kind: str):
        command = self._settled(event, kind)
        try:
            value = _loads(command.converter, attrs_of(event).get("result"))
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

    # ================================================================ workflow API
    def fatal(self, exc: BaseException) -> None:
        """Record an error that must fail the decision task (not the execution)."""
        if self.fatal_error is None:
            self.fatal_error = exc

    def _check_may_command(self) -> None:
        """Raise unless workflow code may make a command now (not while evicted, not in a query)."""
        if self.hub._killing:
            raise RunEvicted()
        if self.query_mode:
            raise WorkflowError("GF-QUERY: queries must not make commands (activities, timers, side_effect, "
                                "markers...): a query only reads workflow state")

    def _add(self, command: C.Command) -> None:
        self._check_may_command()
        if command.key in self.pending:
            raise WorkflowError(f"{command.describe()} duplicates a command of this run that SWF has not "
                                "recorded yet (a child workflow ID used twice?)")
        command.batch = self.batch
        self.command_seq += 1
        command.seq = self.command_seq
        track(command)
        self.pending[command.key] = command

    def next_id(self) -> str:
        """The next command ID of this run ("1", "2"...): the order of calls is the order of IDs."""
        self.counter += 1
        return str(self.counter)

    def schedule_activity(self, activity_type, args: tuple, kwargs: dict, options: dict | None = None) -> Future:
        """Make a ``ScheduleActivityTask`` command; ``options`` (default: ``activity_options``) override the type's."""
        converter = activity_type.converter or self.converter
        text = encode_args(converter, args, kwargs, f"input of activity {activity_type.name}")
        merged = {
            "task_list": activity_type.task_list,
            "task_priority": activity_type.task_priority,
            "schedule_to_start_timeout": activity_type.schedule_to_start_timeout,
            "start_to_close_timeout": activity_type.start_to_close_timeout,
            "schedule_to_close_timeout": activity_type.schedule_to_close_timeout,
            "heartbeat_timeout": activity_type.heartbeat_timeout,
        }
        merged.update(options if options is not None else current_activity_options())
        activity_id = self.next_id()
        future: Future[Any] = Future(self, f"activity {activity_type.name} id={activity_id}")
        command = C.ScheduleActivity(activity_id, activity_type.name, merged.get("version") or activity_type.version,
                                     text, merged, converter, future, caller_location())
        future.source = command
        future._cancel_fn = lambda: self._cancel_activity(command)
        self._add(command)
        return future

    def _cancel_activity(self, command) -> bool:
        if command.key in self.pending:
            del self.pending[command.key]
            command.future._fail(CancelledError(f"activity {command.name} (id {command.id}) was cancelled"))
            return True
        key = ("cancel_activity", command.id)
        if key not in self.cancelling:
            self.cancelling.add(key)
            self._add(C.CancelActivity(command.id, location=caller_location()))
        return True

    def start_timer(self, seconds: float) -> Future:
        """Make a ``StartTimer`` command of ``seconds`` rounded up to whole seconds."""
        if isinstance(seconds, datetime.timedelta):
            seconds = seconds.total_seconds()
        # NaN and infinity fail the range check too (and would break math.ceil).
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
                or not 0 <= seconds <= MAX_DURATION_SECONDS:
            raise ValueError(f"a timer needs a duration of 0 to {MAX_DURATION_SECONDS} seconds, not {seconds!r}")
        whole = math.ceil(seconds)  # SWF timers count whole seconds; never fire early
        timer_id = self.next_id()
        future: Future[Any] = Future(self, f"timer {whole}s id={timer_id}")
        command = C.StartTimer(timer_id, whole, future, caller_location())
        future.source = command
        future._cancel_fn = lambda: self._cancel_timer(command)
        self._add(command)
        return future

    def _cancel_timer(self, command) -> bool:
        if command.future.done():
            return False
        if command.key in self.pending:
            del self.pending[command.key]
        else:
            self._add(C.CancelTimer(command.id, location=caller_location()))
        command.future._fail(CancelledError(f"timer {command.id} was cancelled"))
        return True

    def start_child(self, workflow_type, args: tuple, kwargs: dict, converter=None) -> Future:
        """Make a ``StartChildWorkflowExecution`` command (default ID ``<run id>-<command id>``)."""
        opts = current_workflow_options()
        converter = converter or self.converter
        n = self.next_id()
        workflow_id = opts.get("workflow_id") or f"{self.id_prefix}-{n}"
        options = {
            "execution_start_to_close_timeout": workflow_type.execution_start_to_close_timeout,
            "task_start_to_close_timeout": workflow_type.task_start_to_close_timeout,
            "task_list": workflow_type.task_list or (self.info.task_list if self.info else None),
            "task_priority": workflow_type.task_priority,
            "child_policy": workflow_type.child_policy,
        }
        options.update(opts)
        text = encode_args(converter, args, kwargs, f"input of child workflow {workflow_type.name}")
        future: Future[Any] = Future(self, f"child workflow {workflow_type.name} {workflow_id}")
        command = C.StartChild(workflow_id, workflow_type.name, opts.get("version") or workflow_type.version, text,
                               options, converter, future, caller_location())
        future.source = command
        future._cancel_fn = lambda: self._cancel_child(command)
        self._add(command)
        return future

    def call_child(self, workflow_type, args: tuple, kwargs: dict, converter=None) -> Any:
        """Start a child workflow and block for its result."""
        return self.start_child(workflow_type, args, kwargs, converter).result()

    def _cancel_child(self, command) -> bool:
        if command.key in self.pending:
            del self.pending[command.key]
            command.future._fail(CancelledError(f"child workflow {command.id} was cancelled before it started"))
            return True
        key = ("cancel_child", command.id)
        if key not in self.cancelling:
            self.cancelling.add(key)
            self._add(C.CancelExternal(self.next_id(), command.id, command.run_id or None, None, caller_location()))
        return True

    def signal_external(self, workflow_id: str, signal_name: str, args: tuple, kwargs: dict,
                        run_id: str | None = None) -> Future:
        """Make a ``SignalExternalWorkflowExecution`` command."""
        text = encode_args(self.converter, args, kwargs, f"input of signal {signal_name}")
        command_id = self.next_id()
        future: Future[Any] = Future(self, f"signal {signal_name} to {workflow_id}")
        future.source = C.SignalExternal(command_id, workflow_id, run_id, signal_name, text, future, caller_location())
        self._add(future.source)
        return future

    def request_cancel_external(self, workflow_id: str, run_id: str | None = None) -> Future:
        """Make a ``RequestCancelExternalWorkflowExecution`` command."""
        command_id = self.next_id()
        future: Future[Any] = Future(self, f"cancel request to {workflow_id}")
        future.source = C.CancelExternal(command_id, workflow_id, run_id, future, caller_location())
        self._add(future.source)
        return future

    def side_effect(self, function: Callable[[], Any]) -> Any:
        """Return the recorded value of the next side effect, running ``function`` when live."""
        # Checked before anything else: ``function`` must never run outside a live decision
        # (an evicted run unwinding its ``finally:`` blocks, or a query).
        self._check_may_command()
        name = f"{SIDE_EFFECT_MARKER}{self.next_id()}"
        location = caller_location()
        if name in self.markers:
            details = self.markers[name]
        elif self.replaying:
            error = NonDeterministicWorkflowError(
                f"GF-NONDETERMINISM: side_effect() at {location} has no marker {name} in history "
                "(workflow code changed?)", command=f"RecordMarker {name} (at {location})")
            self.fatal(error)
            raise error
        else:
            with allow_unsafe_calls():  # recording the value is what makes it safe
                value = function()
            details = encode_value(self.converter, value, "side_effect result")
        self._add(C.RecordMarker(name, details, location))
        return _loads(self.converter, details)

    def version(self, change_id: str, min_supported: int, max_supported: int) -> int:
        """Return this run's version of ``change_id``; see :func:`greenflow.workflow.version`."""
        if change_id in self.versions:
            value = self.versions[change_id]
        else:
            name = f"{VERSION_MARKER}{change_id}"
            if name in self.markers:
                value = int(str(self.markers[name]))
                if name not in self.skipped_markers:  # else its event has passed: nothing to match
                    self._add(C.RecordMarker(name, str(value), caller_location()))
            elif self.replaying:
                value = DEFAULT_VERSION
            else:
                value = max_supported
                self._add(C.RecordMarker(name, str(value), caller_location()))
            self.versions[change_id] = value
        if not min_supported <= value <= max_supported:
            error = NonDeterministicWorkflowError(
                f"GF-VERSION: this run took version {value} of change {change_id!r}, but the code supports only "
                f"{min_supported}..{max_supported} (keep the old branch until such runs have closed)",
                command=f"version({change_id!r}, {min_supported}, {max_supported})")
            self.fatal(error)
            raise error
        return value

    def continue_as_new(self, args: tuple, kwargs: dict) -> None:
        """Set the closing ``ContinueAsNewWorkflowExecution`` and unwind the caller."""
        opts = current_workflow_options()
        info = self.info
        if info is None:
            raise WorkflowError("continue_as_new(): the workflow has not started")
        text = encode_args(self.converter, args, kwargs, f"input of workflow {info.workflow_type[0]}")
        attrs: dict[str, Any] = {"input": text}
        timeout = opts.get("execution_start_to_close_timeout", info.execution_start_to_close_timeout)
        if timeout is not None:
            attrs["executionStartToCloseTimeout"] = str(timeout)
        task_timeout = opts.get("task_start_to_close_timeout", info.task_start_to_close_timeout)
        if task_timeout is not None:
            attrs["taskStartToCloseTimeout"] = str(task_timeout)
        attrs["taskList"] = {"name": opts.get("task_list") or info.task_list}
        priority = opts.get("task_priority", info.task_priority)
        if priority is not None:
            attrs["taskPriority"] = str(priority)
        if opts.get("child_policy") or info.child_policy:
            attrs["childPolicy"] = opts.get("child_policy") or info.child_policy
        tags = opts.get("tags", info.tags)
        if tags:
            attrs["tagList"] = list(tags)
        if opts.get("version"):
            attrs["workflowTypeVersion"] = opts["version"]
        if self.close is None:
            self._set_close(C.Close("ContinueAsNewWorkflowExecution", attrs, caller_location()))
        raise StopWorkflow()

    def uuid4(self) -> uuid.UUID:
        """Return a version-4 UUID from the run's seeded generator."""
        return uuid.UUID(int=self.random.getrandbits(128), version=4)

    def query(self, name: str, args: tuple) -> Any:
        """Evaluate ``@query`` ``name`` on the replayed instance, in a workflow greenlet.

        :data:`STACK_TRACE_QUERY` is built in: it needs no ``@query`` and returns
        :meth:`stack_trace` as a dict.
        """
        if name == STACK_TRACE_QUERY:
            if args:
                raise WorkflowError(f"GF-QUERY: the built-in query {name!r} takes no arguments")
            return self.stack_trace().to_dict()
        if self.definition is None or self.instance is None:
            raise WorkflowError("GF-QUERY: the history has not started the workflow (no instance to query)")
        method_name = self.definition.queries.get(name)
        if method_name is None:
            known = ", ".join(sorted(self.definition.queries)) or "none"
            raise WorkflowError(
                f"GF-QUERY: workflow {self.workflow_name} has no query {name!r} (known: {known})")
        self.query_mode = True
        self.replaying = True
        try:
            g = self.hub.spawn(getattr(self.instance, method_name), tuple(args), name=f"@query {name}", role="query")
            self.hub.run_until_quiescent()
            if not g.future.done():
                raise WorkflowError(f"GF-QUERY: query {name!r} blocked; queries must only read workflow state")
            return g.future.result()
        finally:
            self.query_mode = False

    @property
    def workflow_name(self) -> str:
        """The workflow type's name, once history started the workflow ("" before)."""
        return self.info.workflow_type[0] if self.info is not None else ""

    def stack_trace(self) -> StackTrace:
        """Where each live workflow greenlet of this run stands and what it awaits (see ``_stack``)."""
        return collect_stack(self)

    # ================================================================ decisions
    def kill(self) -> None:
        """Unwind every greenlet of this run (it leaves the cache).

        Greenlets belong to the thread that created them; from another thread they cannot
        be unwound, and are simply dropped (greenlet collects them in their own thread).
        """
        # Code unwinding now re-runs nothing live: the logger and is_replaying() say so.
        self.replaying = True
        try:
            self.hub.kill_all()
        except (greenlet_error, ValueError):  # ValueError: "parent cannot be on a different thread"
            log.debug("run %s/%s dropped from another thread without unwinding", self.workflow_id, self.run_id)


def _seconds(text: Any) -> int | None:
    if text in (None, "", "NONE"):
        return None
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def decided_events(events: list[dict]) -> list[dict]:
    """``events`` without a trailing ``DecisionTaskStarted``: only what decisions have seen.

    A history that ends in ``DecisionTaskStarted`` has a decision in flight; replaying that
    last batch would run workflow code live (speculative state, real side effects) in a
    process that is not deciding. Queries and stack traces replay decided history only.
    """
    if events and events[-1].get("eventType") == "DecisionTaskStarted":
        return events[:-1]
    return events


def infer_run_id(events: list[dict]) -> str:
    """Best guess of a history's run ID when the caller does not know it (saved histories).

    The run ID seeds ``random()``/``uuid4()`` and names children (``<runId>-<n>``), so a
    replay needs it; a default child ID in history reveals it. Returns "" when unknown.
    """
    for event in events:
        if event.get("eventType") == "StartChildWorkflowExecutionInitiated":
            workflow_id = event["startChildWorkflowExecutionInitiatedEventAttributes"].get("workflowId", "")
            prefix, _, number = workflow_id.rpartition("-")
            if prefix and number.isdigit():
                return prefix
    return ""


def current_run() -> WorkflowRun:
    """The run whose workflow code is executing (raises outside workflow code)."""
    run = getattr(getcurrent(), "gf_run", None)
    if run is None:
        raise WorkflowError("this greenflow.workflow function works only inside workflow code "
                            "(an @execute method, a signal handler or a function it spawned)")
    return run


def _confirms(kind: str, member: str) -> Callable[[WorkflowRun, dict], Any]:
    """The handler of an event that only confirms a command: match it by ``(kind, attrs[member])``."""
    return lambda run, event: run._match(event, (kind, attrs_of(event)[member]))


R = WorkflowRun
_HANDLERS: dict[str, Callable] = {
    "DecisionTaskScheduled": lambda run, event: None,
    "DecisionTaskStarted": R._on_decision_started,
    "DecisionTaskCompleted": R._on_decision_completed,
    "DecisionTaskTimedOut": R._on_decision_timed_out,
    "ActivityTaskScheduled": R._on_activity_scheduled,
    "ScheduleActivityTaskFailed": R._on_schedule_activity_failed,
    "ActivityTaskCancelRequested": _confirms("cancel_activity", "activityId"),
    # The activity had already closed; its own result event settles the future.
    "RequestCancelActivityTaskFailed": _confirms("cancel_activity", "activityId"),
    "ActivityTaskStarted": lambda run, event: None,
    "TimerStarted": R._on_timer_started,
    "StartTimerFailed": R._on_start_timer_failed,
    "TimerCanceled": R._on_timer_canceled,
    "CancelTimerFailed": _confirms("cancel_timer", "timerId"),
    "MarkerRecorded": R._on_marker,
    "RecordMarkerFailed": _confirms("marker", "markerName"),
    "StartChildWorkflowExecutionInitiated": R._on_child_initiated,
    "StartChildWorkflowExecutionFailed": R._on_start_child_failed,
    "SignalExternalWorkflowExecutionInitiated": R._on_signal_initiated,
    "SignalExternalWorkflowExecutionFailed": lambda run, event: run._on_external_failed(event, "signal"),
    "RequestCancelExternalWorkflowExecutionInitiated": R._on_cancel_external_initiated,
    "RequestCancelExternalWorkflowExecutionFailed":
        lambda run, event: run._on_external_failed(event, "cancel_external"),
    "LambdaFunctionScheduled": R._on_lambda,
    "ScheduleLambdaFunctionFailed": R._on_lambda,
    "LambdaFunctionStarted": lambda run, event: None,
    "LambdaFunctionCompleted": lambda run, event: None,
    "LambdaFunctionFailed": lambda run, event: None,
    "LambdaFunctionTimedOut": lambda run, event: None,
    "StartLambdaFunctionFailed": lambda run, event: None,
    "WorkflowExecutionTimedOut": R._on_terminal,
    "WorkflowExecutionTerminated": R._on_terminal,
    **{t: R._on_close for t in C.CLOSE_EVENTS},
    **{t: R._on_close for t in C.CLOSE_FAILED_EVENTS},
}
# Events not in _HANDLERS wait for their batch and are then applied by _APPLY (or ignored).
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
