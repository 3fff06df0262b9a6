"""Stack traces from saved histories: signal handlers, child workflows, decisions in flight."""

from __future__ import annotations

from greenflow.workflow import STACK_TRACE_QUERY, Replayer, WorkflowDefinition, execute, signal, sleep, wait_until

from ..source_lines import line_of
from .history import History, make


def _line_of(marker: str) -> int:
    """The line of this file that holds ``marker`` (a comment next to a blocking call)."""
    return line_of(__file__, marker)


class Napper(WorkflowDefinition):
    def __init__(self):
        self.naps = 0

    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self) -> None:
        wait_until(lambda: self.naps > 1)

    @signal()
    def nap(self, seconds: int) -> None:
        sleep(seconds)  # HANDLER-WAIT
        self.naps += 1


def test_a_blocked_signal_handler_is_listed_with_its_timer():
    decider, history, sim = make(Napper)
    sim.step()
    history.signal("nap", 7)
    sim.step()
    trace = Replayer([Napper]).stack_trace(history.events, workflow_id="wf-1", run_id="run-1")
    roles = [g.role for g in trace.greenlets]
    assert roles == ["main", "signal"]
    handler = trace.greenlets[1]
    assert handler.name == "@signal nap" and handler.location.endswith(f"test_stack.py:{_line_of('HANDLER-WAIT')}")
    (timer,) = handler.awaiting
    assert (timer.kind, timer.seconds, timer.id) == ("timer", 7, "1")
    assert "awaits timer 7s id=1" in trace.format()


def test_a_decision_in_flight_is_not_run_by_a_stack_trace_or_query():
    decider, history, sim = make(Napper)
    sim.step()
    history.signal("nap", 7)
    history.task()  # DecisionTaskStarted: a worker is deciding the signal right now
    trace = decider.query(history.events, STACK_TRACE_QUERY, workflow_id="wf-1", run_id="run-1")
    # The signal is not decided yet: its handler has not run.
    assert [g["role"] for g in trace["greenlets"]] == ["main"]
    assert trace["last_event_id"] == history.events[-2]["eventId"]


def test_a_history_that_never_started_the_workflow_has_no_greenlets():
    history = History("Napper")
    trace = Replayer([Napper]).stack_trace(history.events[:1])
    assert trace.greenlets == () and trace.workflow_type is None
