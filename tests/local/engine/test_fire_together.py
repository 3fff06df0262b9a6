"""Deadlines due together fire in one committed unit of work; one that fails fires alone."""

from __future__ import annotations

from greenflow.local.engine import _scheduler, _timeouts

from .harness import DOMAIN, timer


def _runs_with_timers(h, count: int, seconds: int = 5) -> dict[str, str]:
    runs = {}
    for index in range(count):
        workflow_id = f"t{index}"
        runs[workflow_id] = h.start(workflow_id)
        task = h.decision_task()
        h("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=[timer("t", seconds)])
    return runs


def test_timers_due_together_fire_in_one_commit(h):
    runs = _runs_with_timers(h, 12)
    commits = h.store.commits
    h.advance(6)
    assert h.store.commits == commits + 1
    for workflow_id, run_id in runs.items():
        assert h.types(workflow_id, run_id)[-2:] == ["TimerFired", "DecisionTaskScheduled"]
    assert h.pending_decisions() == 12


def test_a_deadline_that_fails_fires_alone_and_the_others_still_fire(h, monkeypatch):
    runs = _runs_with_timers(h, 4)
    broken = runs["t2"]
    fire_timer = _timeouts.HANDLERS["timer"]

    def failing_for_one_run(core, unit, key, *args):
        if key[2] == broken:
            raise RuntimeError("a broken deadline")
        return fire_timer(core, unit, key, *args)

    monkeypatch.setitem(_scheduler.HANDLERS, "timer", failing_for_one_run)
    commits = h.store.commits
    h.advance(6)
    # The shared unit failed and was rolled back; each deadline then fired alone.
    assert h.store.commits == commits + 3
    for workflow_id, run_id in runs.items():
        fired = "TimerFired" in h.types(workflow_id, run_id)
        assert fired == (run_id != broken), workflow_id
    assert h.describe("t2", broken)["openCounts"]["openTimers"] == 1
    assert h.swf.engine.core.open_run(DOMAIN, "t2") is not None
