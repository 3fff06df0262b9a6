"""Every timeout type and timers, on virtual time: nothing fires early, everything fires
at its deadline, and late answers are refused."""

from __future__ import annotations

import datetime

START = 1_767_225_600.0


def _ts(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)


def _scheduled(swf, **timeouts) -> dict:
    execution = swf.start()
    swf.decide(execution, [swf.schedule("a1", **timeouts)])
    return execution


# -- activity timeouts --------------------------------------------------------------------

def test_activity_schedule_to_start_timeout(swf):
    execution = _scheduled(swf, scheduleToStartTimeout="10")
    swf.advance(9)
    assert swf.events(execution, "ActivityTaskTimedOut") == []
    swf.advance(1)
    timed_out = swf.one(execution, "ActivityTaskTimedOut")
    assert timed_out["timeoutType"] == "SCHEDULE_TO_START"
    assert timed_out["scheduledEventId"] == 5
    event = swf.events(execution, "ActivityTaskTimedOut")[0]
    assert event["eventTimestamp"] == _ts(START + 10)
    assert swf.types(execution)[-2:] == ["ActivityTaskTimedOut", "DecisionTaskScheduled"]
    assert swf.poll_activity()["taskToken"] == "", "a timed-out task was handed out"
    assert swf.pending_activities() == 0
    assert swf.open_counts(execution)["openActivityTasks"] == 0


def test_activity_schedule_to_start_does_not_fire_once_started(swf):
    execution = _scheduled(swf, scheduleToStartTimeout="10")
    swf.activity_task()
    swf.advance(100)
    assert swf.events(execution, "ActivityTaskTimedOut") == []


def test_activity_schedule_to_close_timeout(swf, client, fault):
    execution = _scheduled(swf, scheduleToCloseTimeout="20")
    swf.advance(5)
    task = swf.activity_task()
    swf.advance(14)
    assert swf.events(execution, "ActivityTaskTimedOut") == []
    swf.advance(1)
    timed_out = swf.one(execution, "ActivityTaskTimedOut")
    assert timed_out["timeoutType"] == "SCHEDULE_TO_CLOSE"
    assert (timed_out["scheduledEventId"], timed_out["startedEventId"]) == (5, 6)
    assert swf.events(execution, "ActivityTaskTimedOut")[0]["eventTimestamp"] == _ts(START + 20)
    assert swf.types(execution)[-1] == "DecisionTaskScheduled"
    with fault("UnknownResourceFault"):
        client.respond_activity_task_completed(taskToken=task["taskToken"], result="late")
    assert swf.events(execution, "ActivityTaskCompleted") == []


def test_activity_schedule_to_close_timeout_before_start(swf):
    execution = _scheduled(swf, scheduleToCloseTimeout="20")
    swf.advance(20)
    assert swf.one(execution, "ActivityTaskTimedOut")["timeoutType"] == "SCHEDULE_TO_CLOSE"
    assert swf.poll_activity()["taskToken"] == ""


def test_activity_start_to_close_timeout(swf, client, fault):
    execution = _scheduled(swf, startToCloseTimeout="10")
    swf.advance(50)  # waiting in the queue does not count
    task = swf.activity_task()
    swf.advance(9)
    assert swf.events(execution, "ActivityTaskTimedOut") == []
    swf.advance(1)
    timed_out = swf.one(execution, "ActivityTaskTimedOut")
    assert timed_out["timeoutType"] == "START_TO_CLOSE"
    assert (timed_out["scheduledEventId"], timed_out["startedEventId"]) == (5, 6)
    assert swf.events(execution, "ActivityTaskTimedOut")[0]["eventTimestamp"] == _ts(START + 60)
    assert swf.types(execution)[-2:] == ["ActivityTaskTimedOut", "DecisionTaskScheduled"]
    with fault("UnknownResourceFault"):
        client.respond_activity_task_failed(taskToken=task["taskToken"], reason="late")
    with fault("UnknownResourceFault"):
        client.record_activity_task_heartbeat(taskToken=task["taskToken"])


def test_activity_heartbeat_timeout(swf, client, fault):
    execution = _scheduled(swf, heartbeatTimeout="10")
    task = swf.activity_task()
    token = task["taskToken"]
    swf.advance(6)
    assert client.record_activity_task_heartbeat(taskToken=token, details="d1")["cancelRequested"] is False
    swf.advance(6)  # 12 s after start, 6 s after the heartbeat
    assert swf.events(execution, "ActivityTaskTimedOut") == [], "a heartbeat must reset the clock"
    client.record_activity_task_heartbeat(taskToken=token, details="d2")
    swf.advance(9)
    assert swf.events(execution, "ActivityTaskTimedOut") == []
    swf.advance(1)
    timed_out = swf.one(execution, "ActivityTaskTimedOut")
    assert timed_out["timeoutType"] == "HEARTBEAT"
    assert timed_out["details"] == "d2", "details are the last heartbeat's"
    assert (timed_out["scheduledEventId"], timed_out["startedEventId"]) == (5, 6)
    assert swf.events(execution, "ActivityTaskTimedOut")[0]["eventTimestamp"] == _ts(START + 22)
    assert swf.types(execution)[-2:] == ["ActivityTaskTimedOut", "DecisionTaskScheduled"]
    with fault("UnknownResourceFault"):
        client.record_activity_task_heartbeat(taskToken=token, details="d3")
    with fault("UnknownResourceFault"):
        client.respond_activity_task_completed(taskToken=token)


def test_activity_heartbeat_timeout_without_any_heartbeat(swf):
    execution = _scheduled(swf, heartbeatTimeout="10")
    swf.activity_task()
    swf.advance(10)
    timed_out = swf.one(execution, "ActivityTaskTimedOut")
    assert timed_out["timeoutType"] == "HEARTBEAT"
    assert "details" not in timed_out


def test_activity_heartbeat_timeout_does_not_run_before_start(swf):
    execution = _scheduled(swf, heartbeatTimeout="10")
    swf.advance(30)
    assert swf.events(execution, "ActivityTaskTimedOut") == []
    swf.activity_task()
    swf.advance(9)
    assert swf.events(execution, "ActivityTaskTimedOut") == []


def test_activity_timeouts_use_type_defaults(swf):
    quick = swf.register_activity_type("Quick", defaults=False,
                                       defaultTaskList={"name": swf.activity_list},
                                       defaultTaskScheduleToStartTimeout="NONE",
                                       defaultTaskScheduleToCloseTimeout="NONE",
                                       defaultTaskStartToCloseTimeout="15",
                                       defaultTaskHeartbeatTimeout="NONE")
    execution = swf.start()
    swf.decide(execution, [swf.schedule("a1", activity_type=quick)])
    swf.activity_task()
    swf.advance(15)
    assert swf.one(execution, "ActivityTaskTimedOut")["timeoutType"] == "START_TO_CLOSE"


def test_activity_completed_in_time_does_not_time_out(swf, client):
    execution = _scheduled(swf, startToCloseTimeout="10", scheduleToCloseTimeout="20",
                           heartbeatTimeout="5")
    task = swf.activity_task()
    swf.advance(4)
    client.respond_activity_task_completed(taskToken=task["taskToken"], result="ok")
    swf.advance(100)
    assert swf.events(execution, "ActivityTaskTimedOut") == []


# -- decision task timeout ----------------------------------------------------------------

def test_decision_task_start_to_close_timeout(swf, fault):
    execution = swf.start(taskStartToCloseTimeout="10")
    task = swf.decision_task(execution)
    swf.advance(9)
    assert swf.events(execution, "DecisionTaskTimedOut") == []
    swf.advance(1)
    timed_out = swf.one(execution, "DecisionTaskTimedOut")
    assert timed_out == {"timeoutType": "START_TO_CLOSE", "scheduledEventId": 2, "startedEventId": 3}
    assert swf.events(execution, "DecisionTaskTimedOut")[0]["eventTimestamp"] == _ts(START + 10)
    assert swf.types(execution)[-2:] == ["DecisionTaskTimedOut", "DecisionTaskScheduled"]
    with fault("UnknownResourceFault"):
        swf.respond(task, [swf.complete("late")])
    retry = swf.decision_task(execution)
    assert retry["previousStartedEventId"] in (0, 3)
    swf.respond(retry, [swf.complete("in time")])
    assert swf.info(execution)["closeStatus"] == "COMPLETED"


def test_decision_task_timeout_only_runs_once_started(swf):
    execution = swf.start(taskStartToCloseTimeout="10")
    swf.advance(100)
    assert swf.events(execution, "DecisionTaskTimedOut") == []
    assert swf.pending_decisions() == 1


def test_decision_task_timeout_none(swf):
    execution = swf.start(taskStartToCloseTimeout="NONE")
    task = swf.decision_task(execution)
    swf.advance(3000)
    assert swf.events(execution, "DecisionTaskTimedOut") == []
    swf.respond(task, [swf.complete()])


# -- workflow execution timeout -----------------------------------------------------------

def test_workflow_execution_start_to_close_timeout(swf, client, fault):
    execution = swf.start(executionStartToCloseTimeout="100", childPolicy="ABANDON")
    task = swf.decision_task(execution)
    swf.advance(99)
    assert swf.info(execution)["executionStatus"] == "OPEN"
    swf.advance(1)
    timed_out = swf.one(execution, "WorkflowExecutionTimedOut")
    assert timed_out == {"timeoutType": "START_TO_CLOSE", "childPolicy": "ABANDON"}
    assert swf.types(execution)[-1] == "WorkflowExecutionTimedOut"
    info = swf.info(execution)
    assert (info["executionStatus"], info["closeStatus"]) == ("CLOSED", "TIMED_OUT")
    assert info["closeTimestamp"] == _ts(START + 100)
    with fault("UnknownResourceFault"):
        swf.respond(task, [swf.complete()])
    with fault("UnknownResourceFault"):
        swf.signal(execution)
    assert swf.poll_decision()["taskToken"] == ""


def test_workflow_timeout_closes_open_activities_and_timers(swf, client, fault):
    execution = swf.start(executionStartToCloseTimeout="100")
    swf.decide(execution, [swf.schedule("a1"), swf.schedule("a2"), swf.timer("t1", 500)])
    task = swf.activity_task()
    swf.advance(100)
    assert swf.info(execution)["closeStatus"] == "TIMED_OUT"
    assert swf.poll_activity()["taskToken"] == ""
    with fault("UnknownResourceFault"):
        client.respond_activity_task_completed(taskToken=task["taskToken"])
    swf.advance(500)
    assert swf.events(execution, "TimerFired") == []


# -- timers -------------------------------------------------------------------------------

def test_timer_fires_at_its_virtual_time_not_before(swf):
    execution = swf.start()
    swf.advance(3)
    swf.decide(execution, [swf.timer("t1", 30)])
    swf.advance(29.5)
    assert swf.events(execution, "TimerFired") == []
    assert swf.pending_decisions() == 0
    swf.advance(0.5)
    fired = swf.events(execution, "TimerFired")
    assert len(fired) == 1
    assert fired[0]["eventTimestamp"] == _ts(START + 33)
    assert swf.pending_decisions() == 1


def test_timers_fire_in_deadline_order(swf):
    execution = swf.start()
    swf.decide(execution, [swf.timer("late", 20), swf.timer("early", 10), swf.timer("mid", 15)])
    swf.advance(60)
    fired = [e["timerFiredEventAttributes"]["timerId"] for e in swf.events(execution, "TimerFired")]
    assert fired == ["early", "mid", "late"]
    types = swf.types(execution)
    assert types[types.index("TimerFired"):].count("DecisionTaskScheduled") == 1


def test_zero_second_timer(swf):
    execution = swf.start()
    swf.decide(execution, [swf.timer("now", 0)])
    swf.advance(0)
    assert len(swf.events(execution, "TimerFired")) == 1


def test_timer_fired_while_decision_task_open_queues_one_task(swf):
    execution = swf.start()
    swf.decide(execution, [swf.timer("t1", 10)])
    swf.signal(execution)
    task = swf.decision_task(execution)
    swf.advance(10)
    assert swf.pending_decisions() == 0
    swf.respond(task)
    assert swf.pending_decisions() == 1


def test_heartbeats_do_not_extend_start_to_close(swf, client):
    execution = _scheduled(swf, startToCloseTimeout="10", heartbeatTimeout="5")
    task = swf.activity_task()
    for _ in range(2):
        swf.advance(4)
        client.record_activity_task_heartbeat(taskToken=task["taskToken"])
    swf.advance(1)
    assert swf.events(execution, "ActivityTaskTimedOut") == []
    swf.advance(1)
    assert swf.one(execution, "ActivityTaskTimedOut")["timeoutType"] == "START_TO_CLOSE"
