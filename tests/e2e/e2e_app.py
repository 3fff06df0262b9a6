"""Workflows and activities run by real worker *processes* in the e2e tests.

Loaded by ``python -m greenflow worker tests/e2e/app.py ...``. Activities append a line
per run to the file named by ``GREENFLOW_TEST_LOG`` (O_APPEND: whole lines, any process).
"""

from __future__ import annotations

import os

import gevent
import gevent.event

from greenflow import errors
from greenflow.activity import activities, activity
from greenflow.workflow import WorkflowDefinition, execute, spawn, wait_all


def _log(line: str) -> None:
    path = os.environ.get("GREENFLOW_TEST_LOG")
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)


@activities(schedule_to_start_timeout=600, start_to_close_timeout=20)
class Steps:
    @activity(version="1.0")
    def step(self, workflow: str, index: int, seconds: float) -> int:
        _log(f"start {workflow} {index} {os.getpid()}")
        gevent.sleep(seconds)
        _log(f"end {workflow} {index} {os.getpid()}")
        return index


class ChainWorkflow(WorkflowDefinition):
    """``steps`` sequential activities; an activity lost with its worker is tried again."""

    @execute(version="1.0", execution_start_to_close_timeout=3600, task_start_to_close_timeout=10)
    def run(self, name: str, steps: int, seconds: float) -> int:
        total = 0
        for index in range(steps):
            for _attempt in range(10):
                try:
                    total += Steps.step(name, index, seconds)
                    break
                except errors.ActivityTaskTimedOutError:
                    continue  # its worker died: run the step again
        return total


#: Rendezvous of this worker process: group name -> [activities present, most present at
#: once, all-present event].
_RENDEZVOUS: dict[str, list] = {}


@activities(schedule_to_start_timeout=600, start_to_close_timeout=300)
class Meeting:
    @activity(version="1.0")
    def meet(self, group: str, size: int, patience: float) -> list:
        """Wait until ``size`` activities of ``group`` are running at once in this process.

        Returns ``[whether all met, the most present at once, pid]``. Only a worker that runs
        ``size`` activities concurrently can make them all meet: a pool of k < size slots
        holds k waiting activities, which give up after ``patience`` seconds and leave. How
        fast the machine is changes how long the meeting takes, not whether it happens.
        """
        state = _RENDEZVOUS.setdefault(group, [0, 0, gevent.event.Event()])
        state[0] += 1
        state[1] = max(state[1], state[0])
        if state[0] >= size:
            state[2].set()
        met = state[2].wait(patience)
        if not met:
            state[0] -= 1
        return [met, state[1], os.getpid()]


class MeetingWorkflow(WorkflowDefinition):
    """``n`` activities scheduled at once that each wait until all ``n`` run together."""

    @execute(version="1.0", execution_start_to_close_timeout=3600, task_start_to_close_timeout=30)
    def run(self, group: str, n: int, patience: float) -> list:
        return wait_all([spawn(Meeting.meet, group, n, patience) for _ in range(n)])
