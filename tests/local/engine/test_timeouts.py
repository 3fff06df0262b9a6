"""Decision task and workflow execution timeouts (virtual time, no sleeping)."""

from __future__ import annotations

from .harness import DOMAIN, complete, timer


def test_decision_start_to_close_timeout(h):
    run_id = h.start("w1")
    task = h.decision_task()
    h.advance(29)
    assert "DecisionTaskTimedOut" not in h.types("w1", run_id)
    h.advance(1)
    assert h.last("w1", run_id, "DecisionTaskTimedOut") == {
        "timeoutType": "START_TO_CLOSE", "scheduledEventId": 2, "startedEventId": 3}
    assert h.types("w1", run_id)[-1] == "DecisionTaskScheduled"
    # The late answer is refused; the new task works.
    assert h.fault("RespondDecisionTaskCompleted", taskToken=task["taskToken"]).code == "UnknownResourceFault"
    again = h.decision_task()
    assert again["previousStartedEventId"] == 0  # the timed-out task was never processed
    h("RespondDecisionTaskCompleted", taskToken=again["taskToken"], decisions=[complete()])
    assert h.describe("w1", run_id)["executionInfo"]["closeStatus"] == "COMPLETED"


def test_no_decision_timeout_with_none(h):
    run_id = h.start("w1", taskStartToCloseTimeout="NONE")
    h.decision_task()
    h.advance(3000)
    assert "DecisionTaskTimedOut" not in h.types("w1", run_id)


def test_scheduled_decision_task_waits_without_timeout(h):
    run_id = h.start("w1")
    h.advance(1000)
    assert h.types("w1", run_id) == ["WorkflowExecutionStarted", "DecisionTaskScheduled"]


def test_task_list_override_schedule_to_start_timeout_reverts(h):
    run_id = h.start("w1")
    h.decide(timer("t", 1), taskList={"name": "sticky"}, taskListScheduleToStartTimeout="5")
    h.advance(1)
    assert h.last("w1", run_id, "DecisionTaskScheduled") == {
        "taskList": {"name": "sticky"}, "startToCloseTimeout": "30", "scheduleToStartTimeout": "5"}
    assert h.pending_decisions("sticky") == 1
    h.advance(5)
    assert h.last("w1", run_id, "DecisionTaskTimedOut") == {
        "timeoutType": "SCHEDULE_TO_START", "scheduledEventId": 7, "startedEventId": 0}
    assert h.last("w1", run_id, "DecisionTaskScheduled")["taskList"] == {"name": "deciders"}
    assert h.pending_decisions("sticky") == 0 and h.pending_decisions() == 1


def test_workflow_execution_timeout(h):
    run_id = h.start("w1", executionStartToCloseTimeout="100")
    task = h.decision_task()
    h.advance(100)
    assert h.types("w1", run_id)[-1] == "WorkflowExecutionTimedOut"
    assert h.last("w1", run_id, "WorkflowExecutionTimedOut") == {"timeoutType": "START_TO_CLOSE",
                                                                 "childPolicy": "TERMINATE"}
    info = h.describe("w1", run_id)["executionInfo"]
    assert info["closeStatus"] == "TIMED_OUT" and info["closeTimestamp"] == h.clock.now()
    assert h.fault("RespondDecisionTaskCompleted", taskToken=task["taskToken"]).code == "UnknownResourceFault"
    assert h.fault("SignalWorkflowExecution", domain=DOMAIN, workflowId="w1",
                   signalName="s").code == "UnknownResourceFault"


def test_timeouts_fire_on_requests_without_advance_time(h):
    # A clock moved by other means: the next request fires what is due.
    run_id = h.start("w1", executionStartToCloseTimeout="10")
    h.clock.advance(11)
    assert h.describe("w1", run_id)["executionInfo"]["closeStatus"] == "TIMED_OUT"


def test_zero_second_timer_fires_on_next_request(h):
    run_id = h.start("w1")
    h.decide(timer("now", 0))
    h.advance(0)
    assert h.last("w1", run_id, "TimerFired")["timerId"] == "now"


def test_next_deadline_for_time_jumping_tools(h):
    assert h.swf.engine.next_deadline() is None  # the retention sweep does not count
    h.start("w1", executionStartToCloseTimeout="500")
    assert h.swf.engine.next_deadline() == h.clock.now() + 500
    h.decide(timer("t", 20))
    assert h.swf.engine.next_deadline() == h.clock.now() + 20


def test_progress_for_time_jumping_tools(h):
    assert h.swf.engine.progress() == (0, 0, False)
    h.start("w1")  # WorkflowExecutionStarted, DecisionTaskScheduled
    assert h.swf.engine.progress() == (1, 2, True)
    h.decide(timer("t", 20))  # + DecisionTaskStarted, DecisionTaskCompleted, TimerStarted
    assert h.swf.engine.progress() == (1, 5, False)
    assert h.swf.engine.progress() == (1, 5, False)  # nothing happened: the same snapshot
