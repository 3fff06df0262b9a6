"""Durability: restart on the same database, rollback of failed requests, limits, retention."""

from __future__ import annotations

import dataclasses
import json

import pytest

from greenflow._extensions import EAGER_DECISION_HEADER, EAGER_DECISION_TASK_MEMBER
from greenflow.local._clock import VirtualClock
from greenflow.local.engine import _decisions
from greenflow.local.storage._store import Store

from .harness import DOMAIN, T0, Harness, complete, decision, schedule, timer


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "swf.db")


def restart(harness: Harness, path: str) -> Harness:
    """Drop the service (as a crash would: nothing is flushed on the way) and open a new one."""
    clock = VirtualClock(harness.clock.now())
    harness.swf.engine.stop()
    harness.store.close()
    return Harness(Store(path), clock, register=False)


def test_timers_and_timeouts_resume_after_restart(db):
    h = Harness(Store(db), VirtualClock(T0))
    run_id = h.start("w1", executionStartToCloseTimeout="1000")
    h.decide(timer("t", 100), schedule("a", startToCloseTimeout="50", scheduleToCloseTimeout="NONE"),
             schedule("b", scheduleToStartTimeout="70"))
    task = h.activity_task()  # "a" is handed out before the crash
    h.advance(10)
    h = restart(h, db)
    assert h.pending_activities() == 1  # "b" is still queued
    h.advance(40)
    assert h.last("w1", run_id, "ActivityTaskTimedOut") == {
        "timeoutType": "START_TO_CLOSE", "scheduledEventId": 6, "startedEventId": task["startedEventId"]}
    assert h.fault("RespondActivityTaskCompleted", taskToken=task["taskToken"]).code == "UnknownResourceFault"
    h.advance(20)
    assert h.last("w1", run_id, "ActivityTaskTimedOut")["timeoutType"] == "SCHEDULE_TO_START"
    h.advance(30)
    assert h.last("w1", run_id, "TimerFired") == {"timerId": "t", "startedEventId": 5}
    h.advance(900)
    assert h.describe("w1", run_id)["executionInfo"]["closeStatus"] == "TIMED_OUT"
    h.swf.close()


def test_tokens_survive_restart(db):
    h = Harness(Store(db), VirtualClock(T0))
    run_id = h.start("w1")
    task = h.decision_task()
    h = restart(h, db)
    h("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=[schedule("a")])
    activity = h.activity_task()
    h = restart(h, db)
    assert h("RecordActivityTaskHeartbeat", taskToken=activity["taskToken"]) == {"cancelRequested": False}
    h("RespondActivityTaskCompleted", taskToken=activity["taskToken"], result="r")
    h = restart(h, db)
    second = h.decision_task()
    assert second["previousStartedEventId"] == task["startedEventId"]
    h("RespondDecisionTaskCompleted", taskToken=second["taskToken"], decisions=[complete("ok")])
    h = restart(h, db)
    assert h.describe("w1", run_id)["executionInfo"]["closeStatus"] == "COMPLETED"
    assert h.types("w1", run_id)[-1] == "WorkflowExecutionCompleted"
    h.swf.close()


def test_decision_timeout_of_task_handed_out_before_restart(db):
    h = Harness(Store(db), VirtualClock(T0))
    run_id = h.start("w1")
    h.decision_task()
    h = restart(h, db)
    h.advance(30)
    assert h.last("w1", run_id, "DecisionTaskTimedOut")["timeoutType"] == "START_TO_CLOSE"
    assert h.pending_decisions() == 1
    h.swf.close()


def test_failure_mid_request_rolls_back_memory_and_database(h, monkeypatch):
    run_id = h.start("w1")
    task = h.decision_task()
    before = h.types("w1", run_id)

    def explode(batch, attributes):
        raise RuntimeError("boom")

    spec = _decisions.DECISIONS["RecordMarker"]
    monkeypatch.setitem(_decisions.DECISIONS, "RecordMarker",
                        dataclasses.replace(spec, handler=explode))
    with pytest.raises(RuntimeError):
        h("RespondDecisionTaskCompleted", taskToken=task["taskToken"],
          decisions=[schedule("a"), timer("t", 5), decision("RecordMarker", markerName="m"), complete()])
    monkeypatch.undo()
    assert h.types("w1", run_id) == before
    detail = h.describe("w1", run_id)
    assert detail["openCounts"] == {"openActivityTasks": 0, "openDecisionTasks": 1, "openTimers": 0,
                                    "openChildWorkflowExecutions": 0, "openLambdaFunctions": 0}
    assert h.pending_activities() == 0
    h.advance(10)
    assert "TimerFired" not in h.types("w1", run_id)
    # The task is still the decider's to answer.
    h("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=[complete()])
    assert h.describe("w1", run_id)["executionInfo"]["closeStatus"] == "COMPLETED"


def test_failed_continue_as_new_rolls_back_both_runs(h, monkeypatch):
    run_id = h.start("w1")
    task = h.decision_task()
    core = h.swf.engine.core
    real = core.start_run

    def start_then_fail(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(core, "start_run", start_then_fail)
    with pytest.raises(RuntimeError):
        h("RespondDecisionTaskCompleted", taskToken=task["taskToken"],
          decisions=[decision("ContinueAsNewWorkflowExecution")])
    monkeypatch.undo()
    assert h.describe("w1", run_id)["executionInfo"]["executionStatus"] == "OPEN"
    listed = h("ListOpenWorkflowExecutions", domain=DOMAIN, startTimeFilter={"oldestDate": 0})["executionInfos"]
    assert [i["execution"]["runId"] for i in listed] == [run_id]
    h("SignalWorkflowExecution", domain=DOMAIN, workflowId="w1", signalName="still here")
    assert h.last("w1", run_id, "WorkflowExecutionSignaled")["signalName"] == "still here"


def test_event_limit_terminates(h):
    h.swf.engine.core.event_limit = 12
    run_id = h.start("w1")
    for index in range(9):
        h("SignalWorkflowExecution", domain=DOMAIN, workflowId="w1", signalName=str(index))
    # Events 1..11 are written; a 12th ordinary event would reach the limit, so SWF
    # terminates the run instead and the request that would have crossed it is refused.
    fault = h.fault("SignalWorkflowExecution", domain=DOMAIN, workflowId="w1", signalName="one too many")
    assert fault.code == "UnknownResourceFault" and "limit" in fault.message
    history = h.history("w1", run_id)
    assert len(history) == 12
    assert history[-1]["workflowExecutionTerminatedEventAttributes"] == {
        "childPolicy": "TERMINATE", "cause": "EVENT_LIMIT_EXCEEDED"}
    assert h.describe("w1", run_id)["executionInfo"]["closeStatus"] == "TERMINATED"


def test_event_limit_reached_by_a_decision_batch(h):
    h.swf.engine.core.event_limit = 10
    run_id = h.start("w1")
    task = h.decision_task()
    fault = h.fault("RespondDecisionTaskCompleted", taskToken=task["taskToken"],
                    decisions=[decision("RecordMarker", markerName=str(i)) for i in range(10)])
    assert fault.code == "UnknownResourceFault"
    types = h.types("w1", run_id)
    assert types == ["WorkflowExecutionStarted", "DecisionTaskScheduled", "DecisionTaskStarted",
                     "WorkflowExecutionTerminated"]


def test_a_decision_answer_hands_over_no_waiting_task_of_a_run_at_the_event_limit(h):
    # The deciding run's answer must not fail because a task it would pick up for its
    # caller belongs to another run with no room for a DecisionTaskStarted: that task is
    # left for a poll (which then terminates that run, as for any claim at the limit).
    h.swf.engine.core.event_limit = 12
    deciding_run = h.start("deciding")
    full_run = h.start("full")
    task = h.decision_task()
    assert task["workflowExecution"]["workflowId"] == "deciding"
    for index in range(9):  # events 1..11 of "full": a 12th ordinary event would reach the limit
        h("SignalWorkflowExecution", domain=DOMAIN, workflowId="full", signalName=str(index))
    answer = h.swf.answer("RespondDecisionTaskCompleted", {"taskToken": task["taskToken"], "decisions": []},
                          {EAGER_DECISION_HEADER: json.dumps({"taskList": "deciders", "identity": "me"})})
    assert EAGER_DECISION_TASK_MEMBER not in answer
    assert h.types("deciding", deciding_run)[-1] == "DecisionTaskCompleted"
    assert h.types("full", full_run)[-1] == "WorkflowExecutionSignaled"
    assert h.pending_decisions() == 1


def test_retention_purges_old_closed_runs(h):
    run_id = h.start("w1")
    h.decide(complete())
    h.advance(3600)  # a sweep runs, but the domain keeps closed runs for a day
    assert h.describe("w1", run_id)["executionInfo"]["closeStatus"] == "COMPLETED"
    h.advance(86400)
    assert h.fault("DescribeWorkflowExecution", domain=DOMAIN,
                   execution={"workflowId": "w1", "runId": run_id}).code == "UnknownResourceFault"
    assert h.fault("GetWorkflowExecutionHistory", domain=DOMAIN,
                   execution={"workflowId": "w1", "runId": run_id}).code == "UnknownResourceFault"


def test_event_limit_reached_by_an_activity_answer(h):
    h.swf.engine.core.event_limit = 7
    run_id = h.start("w1")
    h.decide(schedule("a"))
    task = h.activity_task()  # event 6; the completion would be the 7th
    assert h.fault("RespondActivityTaskCompleted", taskToken=task["taskToken"]).code == "UnknownResourceFault"
    assert h.types("w1", run_id)[-1] == "WorkflowExecutionTerminated"
    assert len(h.history("w1", run_id)) == 7
    assert h.describe("w1", run_id)["executionInfo"]["closeStatus"] == "TERMINATED"
