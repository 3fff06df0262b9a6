"""The engine tests' harness: a Operations on a store with virtual time, plus shortcuts.

Tests call ``Operations.handle`` directly (no HTTP), after validating each request as the
HTTP layer does, and move time with ``advance``; long polls wait 10 ms of real time when
there is nothing to hand out.
"""

from __future__ import annotations

from typing import Any

import pytest

from greenflow.local._clock import VirtualClock
from greenflow.local._operations import Operations
from greenflow.local.storage._store import Store
from greenflow.local.wire._faults import Fault

from ..validated import handle

T0 = 1_700_000_000.0
DOMAIN = "dom"
WF = {"name": "wf", "version": "1"}
ACT = {"name": "act", "version": "1"}


class Harness:
    """A Operations with a registered domain, workflow type and activity type, plus shortcuts."""

    def __init__(self, store: Store, clock: VirtualClock, *, register: bool = True):
        self.store = store
        self.clock = clock
        self.swf = Operations(store, clock, poll_timeout=0.01)
        if register:
            self("RegisterDomain", name=DOMAIN, workflowExecutionRetentionPeriodInDays="1")
            self("RegisterWorkflowType", domain=DOMAIN, **WF, defaultTaskList={"name": "deciders"},
                 defaultExecutionStartToCloseTimeout="3600", defaultTaskStartToCloseTimeout="30",
                 defaultChildPolicy="TERMINATE")
            self("RegisterActivityType", domain=DOMAIN, **ACT, defaultTaskList={"name": "workers"},
                 defaultTaskScheduleToStartTimeout="100", defaultTaskScheduleToCloseTimeout="300",
                 defaultTaskStartToCloseTimeout="200")

    def __call__(self, operation: str, **params: Any) -> dict:
        return handle(self.swf, operation, params)

    def fault(self, operation: str, **params: Any) -> Fault:
        with pytest.raises(Fault) as info:
            handle(self.swf, operation, params)
        return info.value

    def fault_or_error(self, operation: str, **params: Any) -> BaseException:
        """The exception a request raises (it must raise)."""
        try:
            handle(self.swf, operation, params)
        except Exception as error:  # noqa: BLE001 - the test inspects it
            return error
        raise AssertionError(f"{operation} did not fail")

    def tighten(self) -> Harness:
        """Make the engine's memory as small as it goes: one open run in memory, one run's
        deadlines per window, the deadline heap rebuilt from the database from 4 entries.
        Every behaviour must stay the same (the ``tight`` runs of the engine tests)."""
        core = self.swf.engine.core
        core.open.capacity = 1
        core.deadline_window = 1
        core.compact_deadlines_at = core._compact_at = 4
        core.compact_deadlines()
        return self

    def advance(self, seconds: float) -> None:
        self.swf.advance_time(seconds)

    # -------------------------------------------------------------- executions

    def start(self, workflow_id: str = "w1", **params: Any) -> str:
        params.setdefault("workflowType", WF)
        return self("StartWorkflowExecution", domain=DOMAIN, workflowId=workflow_id, **params)["runId"]

    def execution(self, workflow_id: str, run_id: str) -> dict:
        return {"workflowId": workflow_id, "runId": run_id}

    def history(self, workflow_id: str, run_id: str) -> list[dict]:
        return self("GetWorkflowExecutionHistory", domain=DOMAIN,
                    execution=self.execution(workflow_id, run_id))["events"]

    def types(self, workflow_id: str, run_id: str) -> list[str]:
        return [e["eventType"] for e in self.history(workflow_id, run_id)]

    def last(self, workflow_id: str, run_id: str, event_type: str) -> dict:
        """The attributes of the last event of a type."""
        for event in reversed(self.history(workflow_id, run_id)):
            if event["eventType"] == event_type:
                return event[event_type[0].lower() + event_type[1:] + "EventAttributes"]
        raise AssertionError(f"no {event_type} in {self.types(workflow_id, run_id)}")

    def describe(self, workflow_id: str, run_id: str) -> dict:
        return self("DescribeWorkflowExecution", domain=DOMAIN, execution=self.execution(workflow_id, run_id))

    # -------------------------------------------------------------- tasks

    def decision_task(self, task_list: str = "deciders", **params: Any) -> dict:
        return self("PollForDecisionTask", domain=DOMAIN, taskList={"name": task_list}, **params)

    def decide(self, *decisions: dict, task_list: str = "deciders", **params: Any) -> dict:
        """Poll a decision task (it must exist) and answer it with ``decisions``."""
        task = self.decision_task(task_list)
        assert task["taskToken"], "expected a decision task"
        self("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=list(decisions), **params)
        return task

    def activity_task(self, task_list: str = "workers", **params: Any) -> dict:
        return self("PollForActivityTask", domain=DOMAIN, taskList={"name": task_list}, **params)

    def pending_decisions(self, task_list: str = "deciders") -> int:
        return self("CountPendingDecisionTasks", domain=DOMAIN, taskList={"name": task_list})["count"]

    def pending_activities(self, task_list: str = "workers") -> int:
        return self("CountPendingActivityTasks", domain=DOMAIN, taskList={"name": task_list})["count"]


# ------------------------------------------------------------------ decision builders


def decision(decision_type: str, **attributes: Any) -> dict:
    """A decision of ``decision_type`` with the given attributes."""
    key = decision_type[0].lower() + decision_type[1:] + "DecisionAttributes"
    return {"decisionType": decision_type, key: attributes}


def schedule(activity_id: str, **attributes: Any) -> dict:
    attributes.setdefault("activityType", ACT)
    return decision("ScheduleActivityTask", activityId=activity_id, **attributes)


def complete(result: str | None = None) -> dict:
    return decision("CompleteWorkflowExecution", **({"result": result} if result is not None else {}))


def timer(timer_id: str, seconds: int) -> dict:
    return decision("StartTimer", timerId=timer_id, startToFireTimeout=str(seconds))
