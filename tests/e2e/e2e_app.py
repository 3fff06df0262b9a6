"""Workflows and activities run by real worker *processes* in the e2e tests.

Loaded by ``python -m greenflow worker tests/e2e/app.py ...``. Activities append a line
per run to the file named by ``GREENFLOW_TEST_LOG`` (O_APPEND: whole lines, any process).
"""

from __future__ import annotations

import os
import time

import gevent

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

    @activity(version="1.0")
    def nap(self, seconds: float) -> list:
        start = time.time()
        gevent.sleep(seconds)
        return [start, time.time(), os.getpid()]


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


class NapWorkflow(WorkflowDefinition):
    """``n`` activities at once, each sleeping ``seconds``; returns their (start, end, pid)."""

    @execute(version="1.0", execution_start_to_close_timeout=3600, task_start_to_close_timeout=30)
    def run(self, n: int, seconds: float) -> list:
        return wait_all([spawn(Steps.nap, seconds) for _ in range(n)])
