"""A small in-memory history builder that answers decisions the way SWF records them.

``History`` holds one execution's events. ``task()`` records ``DecisionTaskStarted`` and
returns a PollForDecisionTask-style dict; ``respond(result)`` records
``DecisionTaskCompleted`` plus one initiating event per decision (``ActivityTaskScheduled``,
``TimerStarted``...), as SWF does. Helpers then add what the outside world does
(``complete_activity``, ``fire_timer``, ``signal``...), each scheduling a decision task
when none is pending. ``Sim`` wires a History to a Decider.
"""

from __future__ import annotations

import copy
import json

from greenflow.converter import DEFAULT_CONVERTER as CONV, failure_from_exception
from greenflow.worker import Decider

START = 1_700_000_000.0


def args(*a, **kw) -> str:
    payload = {"args": list(a)}
    if kw:
        payload["kwargs"] = kw
    return CONV.dumps(payload)


def _lower(name: str) -> str:
    return name[0].lower() + name[1:]


class History:
    def __init__(self, name: str, version: str = "1.0", *wf_args, workflow_id: str = "wf-1", run_id: str = "run-1",
                 task_list: str = "tl", input: str | None = None, **extra):
        self.events: list[dict] = []
        self.time = START
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.workflow_type = {"name": name, "version": version}
        self.decision_pending = False
        self.previous_started = 0
        self.last_started = 0
        self.scheduled: dict[str, int] = {}  # activityId -> ActivityTaskScheduled id
        self.timers: dict[str, int] = {}
        self.children: dict[str, int] = {}
        self.external: dict[str, int] = {}  # control -> initiated id
        attrs = {"workflowType": self.workflow_type, "taskList": {"name": task_list}, "childPolicy": "TERMINATE",
                 "input": input if input is not None else args(*wf_args), "executionStartToCloseTimeout": "3600",
                 "taskStartToCloseTimeout": "30", **extra}
        self.add("WorkflowExecutionStarted", **attrs)
        self.schedule_decision()

    # ------------------------------------------------------------------ raw
    def add(self, event_type: str, **attrs) -> int:
        self.time += 1
        event = {"eventId": len(self.events) + 1, "eventTimestamp": self.time, "eventType": event_type,
                 _lower(event_type) + "EventAttributes": attrs}
        self.events.append(event)
        return event["eventId"]

    def schedule_decision(self) -> None:
        if not self.decision_pending:
            self.add("DecisionTaskScheduled", taskList={"name": "tl"}, startToCloseTimeout="30")
            self.decision_pending = True

    def task(self, tail: bool = False) -> dict:
        """Record DecisionTaskStarted; return the poll response (full history or the tail)."""
        assert self.decision_pending, "no decision task is scheduled"
        scheduled = max(e["eventId"] for e in self.events if e["eventType"] == "DecisionTaskScheduled")
        started = self.add("DecisionTaskStarted", scheduledEventId=scheduled)
        self.decision_pending = False
        self.previous_started, self.last_started = self.last_started, started
        events = self.events
        if tail and self.previous_started:
            events = [e for e in events if e["eventId"] >= self.previous_started]
        return {"taskToken": "t", "startedEventId": started, "previousStartedEventId": self.previous_started,
                "workflowExecution": {"workflowId": self.workflow_id, "runId": self.run_id},
                "workflowType": self.workflow_type, "events": copy.deepcopy(events)}

    def timeout_decision(self) -> None:
        self.add("DecisionTaskTimedOut", timeoutType="START_TO_CLOSE", scheduledEventId=self.last_started - 1,
                 startedEventId=self.last_started)
        self.schedule_decision()

    def respond(self, result, execution_context: str | None = None) -> None:
        decisions = result.decisions if hasattr(result, "decisions") else result
        if execution_context is None and hasattr(result, "execution_context"):
            execution_context = result.execution_context
        dtc_attrs = {"scheduledEventId": self.last_started - 1, "startedEventId": self.last_started}
        if execution_context is not None:
            dtc_attrs["executionContext"] = execution_context
        dtc = self.add("DecisionTaskCompleted", **dtc_attrs)
        for d in decisions:
            t = d["decisionType"]
            a = dict(d.get(_lower(t) + "DecisionAttributes") or {})
            a["decisionTaskCompletedEventId"] = dtc
            if t == "ScheduleActivityTask":
                a.setdefault("taskList", {"name": "tl"})
                self.scheduled[a["activityId"]] = self.add("ActivityTaskScheduled", **a)
            elif t == "RequestCancelActivityTask":
                if a["activityId"] in self.scheduled:
                    self.add("ActivityTaskCancelRequested", **a)
                else:  # it closed while the decision was made, as SWF answers
                    self.add("RequestCancelActivityTaskFailed", cause="ACTIVITY_ID_UNKNOWN", **a)
            elif t == "StartTimer":
                self.timers[a["timerId"]] = self.add("TimerStarted", **a)
                if a["startToFireTimeout"] == "0":
                    self.fire_timer(a["timerId"])
            elif t == "CancelTimer" and a["timerId"] not in self.timers:  # it fired meanwhile
                self.add("CancelTimerFailed", cause="TIMER_ID_UNKNOWN", **a)
            elif t == "CancelTimer":
                self.add("TimerCanceled", timerId=a["timerId"], startedEventId=self.timers.pop(a["timerId"]),
                         decisionTaskCompletedEventId=dtc)
            elif t == "RecordMarker":
                self.add("MarkerRecorded", **a)
            elif t == "StartChildWorkflowExecution":
                a.setdefault("taskList", {"name": "tl"})
                a.setdefault("childPolicy", "TERMINATE")
                self.children[a["workflowId"]] = self.add("StartChildWorkflowExecutionInitiated", **a)
            elif t == "SignalExternalWorkflowExecution":
                self.external[a["control"]] = self.add("SignalExternalWorkflowExecutionInitiated", **a)
            elif t == "RequestCancelExternalWorkflowExecution":
                self.external[a["control"]] = self.add("RequestCancelExternalWorkflowExecutionInitiated", **a)
            elif t == "CompleteWorkflowExecution":
                self.add("WorkflowExecutionCompleted", **a)
            elif t == "FailWorkflowExecution":
                self.add("WorkflowExecutionFailed", **a)
            elif t == "CancelWorkflowExecution":
                self.add("WorkflowExecutionCanceled", **a)
            elif t == "ContinueAsNewWorkflowExecution":
                a.setdefault("taskList", {"name": "tl"})
                a.setdefault("childPolicy", "TERMINATE")
                self.add("WorkflowExecutionContinuedAsNew", newExecutionRunId="run-2", workflowType=self.workflow_type,
                         **a)
            else:  # pragma: no cover
                raise AssertionError(f"unexpected decision {t}")

    # ------------------------------------------------------------------ the world
    def complete_activity(self, activity_id: str, result=None, *, raw: str | None = None) -> None:
        s = self.scheduled.pop(activity_id)
        started = self.add("ActivityTaskStarted", scheduledEventId=s, identity="w")
        self.add("ActivityTaskCompleted", scheduledEventId=s, startedEventId=started,
                 result=raw if raw is not None else CONV.dumps(result))
        self.schedule_decision()

    def fail_activity(self, activity_id: str, exc: BaseException) -> None:
        s = self.scheduled.pop(activity_id)
        started = self.add("ActivityTaskStarted", scheduledEventId=s, identity="w")
        reason, details = failure_from_exception(exc, CONV)
        self.add("ActivityTaskFailed", scheduledEventId=s, startedEventId=started, reason=reason, details=details)
        self.schedule_decision()

    def time_out_activity(self, activity_id: str, timeout_type: str = "START_TO_CLOSE", details=None) -> None:
        s = self.scheduled.pop(activity_id)
        a = {"scheduledEventId": s, "startedEventId": 0, "timeoutType": timeout_type}
        if details is not None:
            a["details"] = CONV.dumps(details)
        self.add("ActivityTaskTimedOut", **a)
        self.schedule_decision()

    def cancel_activity(self, activity_id: str) -> None:
        s = self.scheduled.pop(activity_id)
        self.add("ActivityTaskCanceled", scheduledEventId=s, startedEventId=0)
        self.schedule_decision()

    def schedule_activity_failed(self, dtc_activity_id: str, cause: str) -> None:
        """Rewrite the last ActivityTaskScheduled of ``dtc_activity_id`` into ScheduleActivityTaskFailed."""
        s = self.scheduled.pop(dtc_activity_id)
        event = self.events[s - 1]
        a = event.pop("activityTaskScheduledEventAttributes")
        event["eventType"] = "ScheduleActivityTaskFailed"
        event["scheduleActivityTaskFailedEventAttributes"] = {
            "activityType": a["activityType"], "activityId": a["activityId"], "cause": cause,
            "decisionTaskCompletedEventId": a["decisionTaskCompletedEventId"]}
        self.schedule_decision()

    def fire_timer(self, timer_id: str) -> None:
        self.add("TimerFired", timerId=timer_id, startedEventId=self.timers.pop(timer_id))
        self.schedule_decision()

    def signal(self, name: str, *a, **kw) -> None:
        self.add("WorkflowExecutionSignaled", signalName=name, input=args(*a, **kw))
        self.schedule_decision()

    def cancel_request(self) -> None:
        self.add("WorkflowExecutionCancelRequested")
        self.schedule_decision()

    def child_started(self, workflow_id: str, run_id: str = "child-run") -> None:
        i = self.children[workflow_id]
        wtype = self.events[i - 1]["startChildWorkflowExecutionInitiatedEventAttributes"]["workflowType"]
        self.add("ChildWorkflowExecutionStarted", workflowExecution={"workflowId": workflow_id, "runId": run_id},
                 workflowType=wtype, initiatedEventId=i)
        self.schedule_decision()

    def child_closed(self, workflow_id: str, event_type: str, run_id: str = "child-run", **attrs) -> None:
        i = self.children.pop(workflow_id)
        wtype = self.events[i - 1]["startChildWorkflowExecutionInitiatedEventAttributes"]["workflowType"]
        self.add(event_type, workflowExecution={"workflowId": workflow_id, "runId": run_id}, workflowType=wtype,
                 initiatedEventId=i, startedEventId=i + 1, **attrs)
        self.schedule_decision()

    def external_done(self, control: str, event_type: str = "ExternalWorkflowExecutionSignaled") -> None:
        i = self.external.pop(control)
        self.add(event_type, workflowExecution={"workflowId": "x", "runId": "y"}, initiatedEventId=i)
        self.schedule_decision()

    def last_close_failed(self, event_type: str, cause: str = "UNHANDLED_DECISION") -> None:
        """Rewrite the close event just recorded into its *Failed event."""
        event = self.events[-1]
        dtc = event[_lower(event["eventType"]) + "EventAttributes"]["decisionTaskCompletedEventId"]
        self.events.pop()
        self.add(event_type, cause=cause, decisionTaskCompletedEventId=dtc)
        self.schedule_decision()

    def dump(self, path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"workflowExecution": {"workflowId": self.workflow_id, "runId": self.run_id},
                       "events": self.events}, f, indent=1)


def kinds(result) -> list[str]:
    return [d["decisionType"] for d in (result.decisions if hasattr(result, "decisions") else result)]


def attrs(decision: dict) -> dict:
    t = decision["decisionType"]
    return decision[_lower(t) + "DecisionAttributes"]


class Sim:
    """A History driven by a Decider: ``step()`` = poll + decide + respond."""

    def __init__(self, decider, history: History, tail: bool = True):
        self.decider = decider
        self.history = history
        self.tail = tail
        self.results = []

    def step(self):
        task = self.history.task(tail=self.tail)
        result = self.decider.decide(task, lambda: copy.deepcopy(self.history.events))
        self.history.respond(result)
        self.results.append(result)
        return result


def make(cls, *wf_args, tail: bool = True, classes: tuple = (), **decider_options):
    """``(decider, history, sim)`` for a new execution of ``cls`` (``classes``: more workflows the decider knows)."""
    decider = Decider([cls, *classes], **decider_options)
    history = History(cls.__name__, "1.0", *wf_args)
    return decider, history, Sim(decider, history, tail=tail)


def result_of(decision: dict):
    """The converted result of a ``CompleteWorkflowExecution`` decision."""
    return CONV.loads(attrs(decision)["result"])
