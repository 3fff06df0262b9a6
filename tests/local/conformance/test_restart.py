"""Durability across a clean restart: a new service on the same database file finds the
execution, its history, its scheduled activity and its pending timer, which still fires."""

from __future__ import annotations

START = 1_767_225_600.0


def test_restart_keeps_execution_history_activity_and_timer(tmp_path, service_factory, new_swf):
    db = str(tmp_path / "swf.db")
    with service_factory(db, start=START) as first:
        swf = new_swf(first)
        execution = swf.start(input="durable")
        swf.decide(execution, [swf.timer("t1", 60), swf.schedule("a1", input="work")])
        history = swf.history(execution)
        detail = swf.describe(execution)
        assert detail["openCounts"]["openTimers"] == 1
    # The first service is stopped: everything must come back from the file.
    with service_factory(db, start=START + 10) as second:
        again = swf.on(second)
        assert again.history(execution) == history
        restored = again.describe(execution)
        assert restored["executionInfo"] == detail["executionInfo"]
        assert restored["openCounts"] == detail["openCounts"]
        assert again.client.describe_domain(name=again.domain)["domainInfo"]["status"] == "REGISTERED"
        assert again.pending_activities() == 1
        task = again.activity_task()
        assert (task["activityId"], task["input"]) == ("a1", "work")
        again.advance(49)
        assert again.events(execution, "TimerFired") == []
        again.advance(1)
        fired = again.events(execution, "TimerFired")
        assert len(fired) == 1
        assert fired[0]["eventTimestamp"].timestamp() == START + 60
        again.client.respond_activity_task_completed(taskToken=task["taskToken"], result="done")
        decision = again.decision_task(execution)
        assert decision["previousStartedEventId"] == 3
        again.respond(decision, [again.complete("ok")])
        assert again.info(execution)["closeStatus"] == "COMPLETED"


def test_restart_keeps_pending_decision_task_and_timeouts(tmp_path, service_factory, new_swf):
    db = str(tmp_path / "swf.db")
    with service_factory(db, start=START) as first:
        swf = new_swf(first)
        execution = swf.start(taskStartToCloseTimeout="30")
        swf.decision_task(execution)  # started, never answered: its timeout must survive
    with service_factory(db, start=START + 5) as second:
        again = swf.on(second)
        again.advance(24)
        assert again.events(execution, "DecisionTaskTimedOut") == []
        again.advance(1)
        assert again.one(execution, "DecisionTaskTimedOut")["timeoutType"] == "START_TO_CLOSE"
        again.decision_task(execution)


def test_restart_with_a_time_jump_fires_what_is_overdue(tmp_path, service_factory, new_swf):
    db = str(tmp_path / "swf.db")
    with service_factory(db, start=START) as first:
        swf = new_swf(first)
        execution = swf.start()
        swf.decide(execution, [swf.timer("t1", 60)])
    with service_factory(db, start=START + 600) as second:
        again = swf.on(second)
        again.advance(0)
        assert len(again.events(execution, "TimerFired")) == 1
        assert again.pending_decisions() == 1


def test_restart_keeps_handed_out_tasks_usable(tmp_path, service_factory, new_swf):
    """Tasks handed out before the restart were acknowledged: their tokens still work, and
    their timeouts run from the stored deadlines."""
    db = str(tmp_path / "swf.db")
    with service_factory(db, start=START) as first:
        swf = new_swf(first)
        execution = swf.start()
        swf.decide(execution, [swf.schedule("slow", heartbeatTimeout="20"), swf.schedule("fast")])
        slow = swf.activity_task()
        fast = swf.activity_task()
        swf.signal(execution)
        decision = swf.decision_task(execution)
    with service_factory(db, start=START + 5) as second:
        again = swf.on(second)
        again.client.respond_activity_task_completed(taskToken=fast["taskToken"], result="ok")
        assert again.client.record_activity_task_heartbeat(taskToken=slow["taskToken"])["cancelRequested"] is False
        again.respond(decision, [again.timer("t1", 100)])
        again.advance(19)  # 20 s after the heartbeat at START + 5
        assert again.events(execution, "ActivityTaskTimedOut") == []
        again.advance(1)
        assert again.one(execution, "ActivityTaskTimedOut")["timeoutType"] == "HEARTBEAT"
        assert again.one(execution, "ActivityTaskCompleted")["result"] == "ok"
        assert again.decision_task(execution)["previousStartedEventId"] > 0


def test_restart_of_an_in_memory_service_starts_empty(service_factory, new_swf, fault):
    with service_factory() as first:
        swf = new_swf(first)
    with service_factory() as second:
        again = swf.on(second)
        with fault("UnknownResourceFault"):
            again.client.describe_domain(name=again.domain)
