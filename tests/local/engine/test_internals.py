"""Engine internals that keep a long-running service small: queue and deadline compaction."""

from __future__ import annotations

from greenflow.local.engine._queues import TaskQueue

from .harness import DOMAIN, schedule, timer


def test_task_queue_priority_fifo_and_compaction():
    queue = TaskQueue()
    for index in range(3000):
        queue.push(("w", "r", index), priority=index % 3)
    for index in range(3000):
        if index not in (7, 8):
            queue.discard(("w", "r", index))
    assert len(queue) == 2
    assert len(queue._heap) < 1100
    assert queue.pop() == ("w", "r", 8)  # priority 2 beats priority 1
    assert queue.pop() == ("w", "r", 7)
    assert queue.pop() is None


def test_task_queue_peek_answers_what_pop_would_and_leaves_it():
    queue = TaskQueue()
    assert queue.peek() is None
    queue.push("old", priority=0)
    queue.push("urgent", priority=5)
    queue.push("withdrawn", priority=9)
    queue.discard("withdrawn")  # only its heap entry is left: peek skips it
    assert queue.peek() == "urgent"
    assert queue.peek() == "urgent" and len(queue) == 2  # still there
    queue.discard("urgent")  # a claim in a unit of work withdraws it once committed
    assert queue.peek() == "old" == queue.pop()
    assert queue.peek() is None


def test_deadline_heap_drops_stale_entries(h):
    core = h.swf.engine.core
    core.compact_deadlines_at = core._compact_at = 12
    run_id = h.start("w1")
    h.decide(timer("late", 500))
    for index in range(20):
        h("SignalWorkflowExecution", domain=DOMAIN, workflowId="w1", signalName="s")
        h.decide(schedule(f"a{index}"))
        task = h.activity_task()
        h("RespondActivityTaskCompleted", taskToken=task["taskToken"])
    # 20 finished activities left 3 deadlines each; compaction keeps only live ones.
    assert len(core.deadlines) < 20
    h.advance(500)
    assert h.last("w1", run_id, "TimerFired")["timerId"] == "late"


def test_history_cache_keeps_recent_runs_only(h):
    core = h.swf.engine.core
    core.open.capacity = 10
    core.history_cache_size = 3
    runs = [h.start(f"w{index}") for index in range(6)]
    cached = [key for key, ex in core._histories.items() if ex.events is not None]
    assert [key[1] for key in cached] == ["w3", "w4", "w5"]
    assert core.open_run(DOMAIN, "w0").events is None
    # An evicted history is read back from the database when a decider needs it.
    tasks = [h.decision_task() for _ in range(6)]
    assert all([e["eventType"] for e in t["events"]] == [
        "WorkflowExecutionStarted", "DecisionTaskScheduled", "DecisionTaskStarted"] for t in tasks)
    assert {t["workflowExecution"]["runId"] for t in tasks} == set(runs)
    assert len(core._histories) == 3


def test_stored_state_matches_memory_after_activity_changes(h):
    import json

    from .harness import decision

    run_id = h.start("w1")
    h.decide(schedule("a"), schedule("b"), schedule("c", heartbeatTimeout="50"))
    first = h.activity_task()
    h("RecordActivityTaskHeartbeat", taskToken=first["taskToken"], details="d1")
    h("SignalWorkflowExecution", domain=DOMAIN, workflowId="w1", signalName="s")
    h.decide(decision("RequestCancelActivityTask", activityId="a"),
             decision("RequestCancelActivityTask", activityId="b"))
    h.activity_task()
    ex = h.swf.engine.core.open_run(DOMAIN, "w1")
    stored = h.store.connection.execute(
        "SELECT state FROM executions WHERE run_id = ?", (run_id,)).fetchone()[0]
    assert json.loads(stored)["activities"] == json.loads(json.dumps(ex.activities))
    assert set(ex.activities) == {"a", "c"} and ex.activities["a"]["details"] == "d1"
    assert ex.activities["a"]["cancel_requested"] and ex.activities["c"]["started"]
