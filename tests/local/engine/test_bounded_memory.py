"""The engine's memory stays bounded as open executions grow (issue 12).

Open runs are read from the database when needed and only the recently used ones stay in
memory; deadlines are held a window at a time (the rest are in ``executions.next_deadline``);
start-up reads neither every open run nor every deadline. These tests hold the bounds small
and check that nothing is lost: timers fire exactly when due, also after a restart.
"""

from __future__ import annotations

import sqlite3

from greenflow.local._clock import VirtualClock
from greenflow.local.engine import _execution, _state
from greenflow.local.storage._store import Store

from .harness import DOMAIN, T0, Harness, timer

#: Timer durations (seconds) of the runs below: 10 distinct times, three runs on each.
DURATIONS = [100 + (index % 10) * 50 for index in range(30)]


def _start_timers(h: Harness, durations: list[int]) -> dict[str, tuple[str, float]]:
    """One run per duration, each waiting on a timer of that duration; workflowId → (runId, fire time)."""
    runs = {}
    for index, duration in enumerate(durations):
        workflow_id = f"w{index}"
        run_id = h.start(workflow_id)
        h.decide(timer("t", duration))
        runs[workflow_id] = (run_id, h.clock.now() + duration)
    return runs


def _fired(h: Harness, runs: dict[str, tuple[str, float]]) -> dict[str, float]:
    """workflowId → when its timer fired, for the runs whose timer fired."""
    fired = {}
    for workflow_id, (run_id, _) in runs.items():
        for event in h.history(workflow_id, run_id):
            if event["eventType"] == "TimerFired":
                fired[workflow_id] = event["eventTimestamp"]
    return fired


def _step_through(h: Harness, runs: dict[str, tuple[str, float]]) -> None:
    """Move the clock to just before, then to each fire time: each timer fires at its time, not before."""
    for due in sorted({fire_at for _, fire_at in runs.values()}):
        h.advance(due - 1 - h.clock.now())
        assert set(_fired(h, runs)) == {w for w, (_, fire_at) in runs.items() if fire_at < due}
        h.advance(1)
        assert set(_fired(h, runs)) == {w for w, (_, fire_at) in runs.items() if fire_at <= due}
    assert _fired(h, runs) == {workflow_id: fire_at for workflow_id, (_, fire_at) in runs.items()}


def test_open_runs_in_memory_stay_under_the_bound(h):
    core = h.swf.engine.core
    core.open.capacity = 5
    runs = _start_timers(h, DURATIONS)
    assert core.open_count() == len(runs) == 30
    assert len(core.open) <= 5
    # A run no longer in memory is read back and still works.
    run_id, _ = runs["w0"]
    h("SignalWorkflowExecution", domain=DOMAIN, workflowId="w0", signalName="hello")
    assert h.last("w0", run_id, "WorkflowExecutionSignaled")["signalName"] == "hello"
    assert h.describe("w0", run_id)["openCounts"]["openTimers"] == 1
    assert len(core.open) <= 5


def test_timers_beyond_the_deadline_window_fire_exactly_when_due(h):
    core = h.swf.engine.core
    core.deadline_window = 3
    core.compact_deadlines_at = core._compact_at = 5
    runs = _start_timers(h, DURATIONS)
    # 30 runs hold 60 live deadlines (a timer and the execution's timeout each).
    assert len(core.deadlines) < 30
    assert h.swf.engine.next_deadline() <= min(fire_at for _, fire_at in runs.values())  # maybe a stale one
    _step_through(h, runs)


def test_restart_reads_only_the_first_window_and_the_runs_with_tasks(tmp_path, monkeypatch):
    path = str(tmp_path / "swf.sqlite")
    clock = VirtualClock(T0)
    h = Harness(Store(path), clock)
    runs = _start_timers(h, DURATIONS)
    busy = [h.start(f"busy{index}") for index in range(3)]  # decision tasks waiting for a decider
    h.swf.close()

    monkeypatch.setattr(_state, "DEADLINE_WINDOW", 4)
    reads = []
    load_row = _execution.load_row
    monkeypatch.setattr(_execution, "load_row", lambda row: reads.append(row[2]) or load_row(row))
    h = Harness(Store(path), clock, register=False)
    core = h.swf.engine.core
    try:
        # The three busy runs (their tasks go back on the task list) and one window of four.
        assert len(reads) == 3 + 4
        assert len(core.open) == 0 and core.open.loads == 0
        assert len(core.deadlines) <= 4 * 2 + 1  # a timer and a timeout each, and the retention sweep
        assert core.open_count() == 33
        assert h.swf.engine.progress() == (33, 0, True)
        assert h.pending_decisions() == 3
        _step_through(h, runs)
        assert {h.decision_task()["workflowExecution"]["runId"] for _ in busy} == set(busy)
    finally:
        h.swf.close()


def test_a_database_of_schema_version_2_is_migrated_and_its_timers_fire(tmp_path):
    path = str(tmp_path / "swf.sqlite")
    clock = VirtualClock(T0)
    h = Harness(Store(path), clock)
    runs = _start_timers(h, [300, 600])
    h.swf.close()
    # The same database as version 2 wrote it: no next_deadline column, no index of it.
    old = sqlite3.connect(path)
    old.execute("DROP INDEX executions_open_by_deadline")
    old.execute("ALTER TABLE executions DROP COLUMN next_deadline")
    old.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    old.commit()
    old.close()

    h = Harness(Store(path), clock, register=False)
    try:
        stored = dict(h.store.connection.execute(
            "SELECT workflow_id, next_deadline FROM executions WHERE status = 'OPEN'").fetchall())
        assert stored == {workflow_id: fire_at for workflow_id, (_, fire_at) in runs.items()}
        _step_through(h, runs)
    finally:
        h.swf.close()


def test_a_closing_parent_is_not_read_back_as_open_by_its_children(h):
    # Terminating a parent terminates its child in the same unit of work; the child's close
    # must not find the parent open (its row is rewritten only when the unit commits).
    from .harness import WF, decision

    parent_run = h.start("parent")
    h.decide(decision("StartChildWorkflowExecution", workflowId="child", workflowType=WF))
    child_run = h.describe("parent", parent_run)["openCounts"]["openChildWorkflowExecutions"] and \
        h("ListOpenWorkflowExecutions", domain=DOMAIN, startTimeFilter={"oldestDate": 0},
          executionFilter={"workflowId": "child"})["executionInfos"][0]["execution"]["runId"]
    h("TerminateWorkflowExecution", domain=DOMAIN, workflowId="parent")
    assert h.describe("parent", parent_run)["executionInfo"]["closeStatus"] == "TERMINATED"
    assert h.describe("child", child_run)["executionInfo"]["closeStatus"] == "TERMINATED"
    assert h.types("parent", parent_run)[-1] == "WorkflowExecutionTerminated"
    assert h.swf.engine.core.open_count() == 0
