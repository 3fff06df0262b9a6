"""Removing a ``version()`` call, as README.rst ("Determinism rules") describes it."""

from __future__ import annotations

import pytest

import greenflow.workflow as wf
from greenflow import errors

from .history import History, Sim, make
from .workflows import Acts


class Changed(wf.WorkflowDefinition):
    @wf.execute(version="1.0")
    def run(self) -> int:
        if wf.version("fix", wf.DEFAULT_VERSION, 1) == 1:
            first = Acts.add(1, 1)
        else:
            first = Acts.add(0, 0)
        return Acts.add(first, 1)


@wf.workflow(name="Changed")
class OldBranchDeleted(wf.WorkflowDefinition):
    """Step 1: the old branch is gone and min_supported is raised to the branch kept."""

    @wf.execute(version="1.0")
    def run(self) -> int:
        wf.version("fix", 1, 1)
        first = Acts.add(1, 1)
        return Acts.add(first, 1)


@wf.workflow(name="Changed")
class CallRemoved(wf.WorkflowDefinition):
    """Step 2: no run on the old branch is open; the call is gone, the kept branch stays."""

    @wf.execute(version="1.0")
    def run(self) -> int:
        first = Acts.add(1, 1)
        return Acts.add(first, 1)


def new_branch_history() -> History:
    """A run that took the new branch (its marker is in history) and completed its first activity."""
    _, history, sim = make(Changed)
    sim.step()
    history.complete_activity(next(iter(history.scheduled)), 2)
    sim.step()
    return history


def old_branch_history() -> History:
    """A run that passed the change point before the change existed: no marker."""
    @wf.workflow(name="Changed")
    class Before(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self) -> int:
            first = Acts.add(0, 0)
            return Acts.add(first, 1)

    history = History("Changed", "1.0")
    sim = Sim(wf.Decider([Before]), history)
    sim.step()
    history.complete_activity(next(iter(history.scheduled)), 0)
    sim.step()
    return history


@pytest.mark.parametrize("cls", [Changed, OldBranchDeleted, CallRemoved])
def test_runs_on_the_kept_branch_replay_at_every_step(cls):
    result = wf.Replayer([cls]).replay(new_branch_history().events, run_id="run-1")
    assert not result.closed


def test_step_one_stops_runs_still_on_the_old_branch_with_a_clear_error():
    assert not wf.Replayer([Changed]).replay(old_branch_history().events, run_id="run-1").closed
    with pytest.raises(errors.NonDeterministicWorkflowError):
        wf.Replayer([OldBranchDeleted]).replay(old_branch_history().events, run_id="run-1")
