"""Replaying one run's history: cutting it into batches and matching events to commands.

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

The events of a batch are applied by ``_results``; this module owns the order and the
matching (the ``_HANDLERS`` table dispatches each event as it is fed).
"""

from __future__ import annotations

from typing import Any, Callable

from greenflow._swf_rules import event_attributes as attrs_of
from greenflow.converter import known_exceptions
from greenflow.errors import NonDeterministicWorkflowError

from . import _commands as C
from ._history import CONTINUE_TIMER_PREFIX, SPLIT_CONTEXT, VERSION_MARKER, describe_event, to_datetime
from ._results import _APPLY
from ._state import RunState


class HistoryReplay(RunState):
    """Feeding history to a run: the batch state machine and the handlers of events that confirm commands."""

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


def _confirms(kind: str, member: str) -> Callable[[HistoryReplay, dict], Any]:
    """The handler of an event that only confirms a command: match it by ``(kind, attrs[member])``."""
    return lambda run, event: run._match(event, (kind, attrs_of(event)[member]))


R = HistoryReplay
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
# Events not in _HANDLERS wait for their batch and are then applied by _results._APPLY (or ignored).
