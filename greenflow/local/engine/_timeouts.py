"""What happens when a deadline comes: one handler per deadline kind.

Each handler gets the unit it runs in and the deadline's arguments, checks that the
timeout still applies (the task may have completed, the timer may have been cancelled,
the run may have closed: deadline entries are never removed, only ignored), and records
the timeout. Every timeout except the workflow's schedules a decision task.
"""

from __future__ import annotations

from typing import Callable

from ._deadlines import activity_deadlines
from ._state import EngineState
from ._unit import Unit
from ._values import seconds


def workflow(core: EngineState, unit: Unit, key: tuple) -> None:
    """The execution's start-to-close timeout: the run closes as TIMED_OUT."""
    ex = core.open_run(*key)
    if ex is None:
        return
    timeout = seconds(ex.config["executionStartToCloseTimeout"])
    if timeout is None or ex.start_ts + timeout > unit.now:
        return
    policy = ex.config["childPolicy"]
    children = list(ex.children.values())
    core.close_run(unit, ex, "TIMED_OUT", "WorkflowExecutionTimedOut",
                   {"timeoutType": "START_TO_CLOSE", "childPolicy": policy})
    core.apply_child_policy(unit, ex, policy, children)


def _decision_timed_out(core: EngineState, unit: Unit, ex, timeout_type: str) -> None:
    d = ex.decision
    unit.event(ex, "DecisionTaskTimedOut", {"timeoutType": timeout_type, "scheduledEventId": d["scheduled"],
                                            "startedEventId": d["started"]})
    if d["started"] == 0:
        queue = core.decision_queues.get(ex.domain, d["list"])
        item = (ex.workflow_id, ex.run_id, d["scheduled"])
        unit.after(lambda: queue.discard(item))
    ex.decision = None
    if ex.list_override and ex.list_override.get("timeout") is not None:
        # A temporary task list override ends when a task on it times out.
        ex.list_override = None
    core.schedule_decision(unit, ex)


def decision_s2s(core: EngineState, unit: Unit, key: tuple, scheduled: int) -> None:
    """A decision task on an overriding task list was not started in time."""
    ex = core.open_run(*key)
    d = ex.decision if ex else None
    if d is None or d["scheduled"] != scheduled or d["started"]:
        return
    _decision_timed_out(core, unit, ex, "SCHEDULE_TO_START")


def decision_s2c(core: EngineState, unit: Unit, key: tuple, scheduled: int, started: int) -> None:
    """A decider did not answer its decision task in time."""
    ex = core.open_run(*key)
    d = ex.decision if ex else None
    if d is None or d["scheduled"] != scheduled or d["started"] != started:
        return
    _decision_timed_out(core, unit, ex, "START_TO_CLOSE")


def _activity(kind: str, timeout_type: str) -> Callable[..., None]:
    def fire(core: EngineState, unit: Unit, key: tuple, scheduled: int, started: int) -> None:
        ex = core.open_run(*key)
        activity = ex.activity_by_scheduled(scheduled) if ex else None
        if ex is None or activity is None:
            return
        if kind in ("activity_st2c", "activity_hb") and activity["started"] != started:
            return
        due = dict(activity_deadlines(activity)).get(kind)
        if due is None:
            return  # e.g. schedule-to-start after the task started
        if due > unit.now:
            # A heartbeat moved the deadline: wait for the new one.
            core.deadline(unit, due, kind, key, scheduled, started)
            return
        unit.touch(ex)  # before any change, so a failure reloads it
        core.unqueue_activity(unit, ex, activity)
        ex.pop_activity(activity["activityId"])
        unit.event(ex, "ActivityTaskTimedOut", {
            "timeoutType": timeout_type, "scheduledEventId": scheduled,
            "startedEventId": activity["started"], "details": activity["details"]})
        core.schedule_decision(unit, ex)
    fire.__name__ = kind
    fire.__doc__ = f"An activity task's {timeout_type} timeout."
    return fire


def timer(core: EngineState, unit: Unit, key: tuple, timer_id: str, started: int) -> None:
    """A timer fires: TimerFired and a decision task."""
    ex = core.open_run(*key)
    t = ex.timers.get(timer_id) if ex else None
    if ex is None or t is None or t["started"] != started:
        return
    unit.touch(ex)
    del ex.timers[timer_id]
    unit.event(ex, "TimerFired", {"timerId": timer_id, "startedEventId": started})
    core.schedule_decision(unit, ex)


#: Deadline kind → handler ``(core, unit, *args)``.
HANDLERS: dict[str, Callable[..., None]] = {
    "workflow": workflow,
    "decision_s2s": decision_s2s,
    "decision_s2c": decision_s2c,
    "activity_s2s": _activity("activity_s2s", "SCHEDULE_TO_START"),
    "activity_s2c": _activity("activity_s2c", "SCHEDULE_TO_CLOSE"),
    "activity_st2c": _activity("activity_st2c", "START_TO_CLOSE"),
    "activity_hb": _activity("activity_hb", "HEARTBEAT"),
    "timer": timer,
}
