"""The standard workloads (issue 4's W1-W4): trivial activities, so that what is measured is
the engine's cost per workflow and per activity, not the work.

Each :class:`Workload` names its workflow method, input, default size, the unit its rate is
counted in, and the result every execution must return (checked by the runner).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..activity import activities, activity
from ..workflow import WorkflowDefinition, execute, sleep, spawn, wait_all

__all__ = ["BenchActivities", "OneActivity", "Sequential", "Parallel", "Sleeper", "Workload",
           "WORKLOADS", "WORKFLOW_CLASSES", "TASK_LIST", "DOMAIN"]

#: Where the standard workloads run unless told otherwise.
DOMAIN = "greenflow-bench"
TASK_LIST = "greenflow-bench"


@activities(schedule_to_start_timeout=600, start_to_close_timeout=600)
class BenchActivities:
    """The one trivial activity every workload calls."""

    @activity(version="1.0")
    def noop(self, i: int) -> int:
        """Return ``i``."""
        return i


class OneActivity(WorkflowDefinition):
    """W1: one activity."""

    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self) -> int:
        """Call the activity once; returns 1."""
        return int(BenchActivities.noop(1))


class Sequential(WorkflowDefinition):
    """W2: ``n`` activities one after the other."""

    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self, n: int) -> int:
        """Call the activity ``n`` times in a row; returns the sum of 0..n-1."""
        return sum(BenchActivities.noop(i) for i in range(n))


class Parallel(WorkflowDefinition):
    """W3: ``n`` activities at once."""

    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self, n: int) -> int:
        """Call the activity ``n`` times in parallel; returns the sum of 0..n-1."""
        return sum(wait_all([spawn(BenchActivities.noop, i) for i in range(n)]))


class Sleeper(WorkflowDefinition):
    """W4: one durable timer."""

    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self, seconds: int) -> int:
        """Sleep ``seconds`` of workflow time; returns ``seconds``."""
        sleep(seconds)
        return seconds


#: The workflow classes a worker must know to run every standard workload.
WORKFLOW_CLASSES = (OneActivity, Sequential, Parallel, Sleeper)


@dataclass(frozen=True)
class Workload:
    """One standard workload.

    Attributes:
        key: ``"W1"`` .. ``"W4"`` (``"W1-alone"`` is W1 one at a time, for latency).
        title: what it is, for people.
        method: the workflow's ``@execute`` method.
        args: its input.
        count: how many workflows by default (the issue's sizes).
        concurrency: how many open at once by default (``None``: all).
        units: how many units one workflow counts for (activities, or 1 workflow).
        unit: the unit of its rate (``"activities"`` or ``"workflows"``).
        expected: the result every execution must return.
    """

    key: str
    title: str
    method: Any
    args: tuple[Any, ...]
    count: int
    concurrency: int | None
    units: int
    unit: str
    expected: Any


WORKLOADS: dict[str, Workload] = {w.key: w for w in (
    Workload("W1-alone", "one-activity workflows, one at a time (latency)", OneActivity.run, (), 30, 1,
             1, "workflows", 1),
    Workload("W1", "one-activity workflows, all at once", OneActivity.run, (), 500, None, 1, "workflows", 1),
    Workload("W2", "workflows of 10 sequential activities", Sequential.run, (10,), 200, None, 10,
             "activities", 45),
    Workload("W3", "workflows of 100 parallel activities", Parallel.run, (100,), 10, None, 100,
             "activities", 4950),
    Workload("W4", "workflows sleeping a 1 s durable timer", Sleeper.run, (1,), 200, None, 1, "workflows", 1),
)}
