"""The stack-trace replay and its built-in query, end to end (local service, real workers)."""

from __future__ import annotations

import gevent.event

from greenflow.activity import activities, activity
from greenflow.testing import wait_until as wait_for
from greenflow.workflow import (STACK_TRACE_QUERY, Replayer, WorkflowDefinition, execute, signal, sleep, spawn,
                                wait_until)

from ..source_lines import line_of

TIMEOUTS = dict(schedule_to_start_timeout=300, start_to_close_timeout=300)


@activities(**TIMEOUTS)
class Slow:
    """Its activity runs until the test releases it."""

    def __init__(self):
        self.release = gevent.event.Event()

    @activity(version="1.0")
    def charge(self, amount: int) -> str:
        self.release.wait()
        return "charged"


def _line_of(marker: str) -> int:
    """The line of this file that holds ``marker`` (a comment next to a blocking call)."""
    return line_of(__file__, marker)


class ThreeWaits(WorkflowDefinition):
    """Main waits for a signal; one spawned greenlet waits for an activity, another for a timer."""

    def __init__(self):
        self.approved = False

    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self) -> str:
        spawn(self.pay)
        spawn(self.pause)
        wait_until(lambda: self.approved)  # MAIN-WAIT
        return "done"

    def pay(self) -> str:
        return Slow.charge(42)  # ACTIVITY-WAIT

    def pause(self) -> None:
        sleep(90)  # TIMER-WAIT

    @signal()
    def approve(self) -> None:
        self.approved = True


def test_stack_trace_query_names_each_greenlets_line_and_what_it_awaits(env):
    slow = Slow()
    env.workflow_worker(ThreeWaits)
    env.activity_worker(slow)
    handle = env.client().start(ThreeWaits.run)
    wait_for(lambda: any(e["eventType"] == "ActivityTaskStarted" for e in handle.history()), what="the activity")

    trace = handle.query(STACK_TRACE_QUERY)

    assert trace["workflow_id"] == handle.workflow_id and not trace["closed"]
    by_role = {}
    for g in trace["greenlets"]:
        by_role.setdefault(g["role"], []).append(g)
    assert sorted(by_role) == ["main", "spawn"] and len(by_role["spawn"]) == 2
    main, pay, pause = by_role["main"][0], *by_role["spawn"]
    assert main["location"] == f"{__file__}:{_line_of('MAIN-WAIT')}"
    assert pay["location"] == f"{__file__}:{_line_of('ACTIVITY-WAIT')}"
    assert pause["location"] == f"{__file__}:{_line_of('TIMER-WAIT')}"
    assert pay["function"] == "pay" and pay["name"] == "spawn(ThreeWaits.pay)"

    (condition,) = main["awaiting"]
    assert condition["kind"] == "condition"
    assert condition["location"] == f"{__file__}:{_line_of('MAIN-WAIT')}"
    (charge,) = pay["awaiting"]
    assert (charge["kind"], charge["type"], charge["id"]) == ("activity", "Slow.charge 1.0", "1")
    assert charge["location"] == f"{__file__}:{_line_of('ACTIVITY-WAIT')}"
    (timer,) = pause["awaiting"]
    assert (timer["kind"], timer["seconds"], timer["id"]) == ("timer", 90, "2")
    # The outermost user frame of a spawned greenlet is its function.
    assert pay["frames"][0].endswith(f":{_line_of('ACTIVITY-WAIT')} in pay")

    # The same data from a saved history, through the Replayer; a signal ends the main wait.
    history = handle.history()
    assert Replayer([ThreeWaits]).stack_trace(history, workflow_id=handle.workflow_id).to_dict()["greenlets"] \
        == trace["greenlets"]
    handle.signal("approve")
    wait_for(lambda: handle.describe()["executionInfo"].get("executionStatus") == "CLOSED"
             or not any(g["role"] == "main" for g in handle.query(STACK_TRACE_QUERY)["greenlets"]),
             what="the signal to be decided")
    after = handle.query(STACK_TRACE_QUERY)
    assert [g["role"] for g in after["greenlets"]] == ["spawn", "spawn"]
    slow.release.set()
    handle.result(timeout=10)  # the workflow closes without waiting for its spawned greenlets
    assert handle.query(STACK_TRACE_QUERY)["closed"]
