"""Cancellation scopes with many greenlets: the bookkeeping forgets what finished, never what is open."""

from __future__ import annotations

import greenflow.workflow as wf

from .history import kinds, make


class Rounds(wf.WorkflowDefinition):
    @wf.execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self, rounds: int) -> None:
        for _ in range(rounds):
            short = wf.spawn(wf.sleep, 1)  # finishes: forgotten by the scope bookkeeping
            wf.spawn(wf.sleep, 1000)  # stays open: must still be cancelled
            short.result()


def test_a_cancel_reaches_every_open_timer_after_many_spawns_finished():
    decider, history, sim = make(Rounds, 1000)
    rounds = 150
    assert kinds(sim.step()) == ["StartTimer", "StartTimer"]
    for done in range(rounds):
        history.fire_timer(str(2 * done + 1))
        assert kinds(sim.step()) == ["StartTimer", "StartTimer"]
    spawned = decider.cached_run("wf-1", "run-1").main.spawned
    assert rounds + 1 <= len(spawned) < 2 * rounds  # finished short naps were forgotten
    history.cancel_request()
    decisions = sim.step().decisions
    cancelled = sorted(int(d["cancelTimerDecisionAttributes"]["timerId"]) for d in decisions
                       if d["decisionType"] == "CancelTimer")
    # every long nap, and the short nap of the round in progress
    assert cancelled == sorted([*range(2, 2 * rounds + 3, 2), 2 * rounds + 1])
    assert decisions[-1]["decisionType"] == "CancelWorkflowExecution"
