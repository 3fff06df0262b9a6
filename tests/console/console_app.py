"""A workflow for the console tests: steps the test releases one by one, a signal, a child.

Each ``Steps.step(n)`` activity waits until the test opens its gate (:data:`GATES`), so a
test sees the execution at each point: which activity runs, where the code waits.
"""

from __future__ import annotations

import gevent.event

from greenflow.activity import activities, activity
from greenflow.workflow import WorkflowDefinition, execute, signal, wait_until

#: Gates of the ``step`` activities by index; a step without a gate runs at once.
GATES: dict[int, gevent.event.Event] = {}


@activities(schedule_to_start_timeout=60, start_to_close_timeout=60)
class Steps:
    @activity(version="1.0")
    def step(self, index: int) -> str:
        gate = GATES.get(index)
        if gate is not None:
            gate.wait(30)
        return f"step {index} done"


class Greeter(WorkflowDefinition):
    """A child workflow: greets at once."""

    @execute(version="1.0", execution_start_to_close_timeout=60)
    def greet(self, name: str) -> str:
        return f"hello {name}"


class ApprovalWorkflow(WorkflowDefinition):
    """Runs ``steps`` activities one after another, then waits for the ``approve`` signal."""

    def __init__(self) -> None:
        self.approved_by: str | None = None

    @execute(version="1.0", execution_start_to_close_timeout=600)
    def run(self, steps: int) -> dict:
        done = [Steps.step(index) for index in range(steps)]
        wait_until(lambda: self.approved_by is not None)  # the approval line
        greeting = Greeter.greet(self.approved_by)
        return {"steps": done, "approved_by": self.approved_by, "greeting": greeting}

    @signal()
    def approve(self, who: str) -> None:
        self.approved_by = who
