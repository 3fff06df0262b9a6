"""One bad task never takes down the worker or waits for a timeout (issue 8, section 4).

Local service over HTTP, real workers in this process.
"""

from __future__ import annotations

import logging
import sys

import gevent
import pytest

from greenflow import errors
from greenflow.activity import activities, activity
from greenflow.testing import wait_until as wait_for
from greenflow.workflow import WorkflowDefinition, execute

TIMEOUTS = dict(schedule_to_start_timeout=300, start_to_close_timeout=300)


@activities(**TIMEOUTS)
class Impatient:
    """Gives up with gevent.Timeout, a BaseException that is not an Exception."""

    @activity(version="1.0")
    def fetch(self) -> str:
        with gevent.Timeout(0.05):
            gevent.sleep(10)
        return "fetched"


class Fetches(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self) -> str:
        try:
            return Impatient.fetch()
        except errors.ActivityTaskFailedError as error:
            return f"failed: {error.reason}"


def test_an_activity_raising_gevent_timeout_is_answered_at_once_as_failed(env):
    env.workflow_worker(Fetches)
    env.activity_worker(Impatient())
    handle = env.client().start(Fetches.run)
    # Virtual time does not move: only an immediate answer can close it.
    assert handle.result(timeout=10) == "failed: gevent.timeout.Timeout"


class Exits(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self, how: str) -> str:
        if how == "exit":
            sys.exit(3)  # EXIT-LINE
        raise KeyboardInterrupt()


class Healthy(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self) -> str:
        return "healthy"


@pytest.mark.parametrize("how", ["exit", "interrupt"])
def test_sys_exit_in_workflow_code_fails_only_its_task_and_the_worker_goes_on(env, caplog, how):
    caplog.set_level(logging.ERROR, logger="greenflow")
    worker = env.workflow_worker(Exits, Healthy)
    bad = env.client().start(Exits.run, how)
    wait_for(lambda: any("GF-ABORTED" in r.getMessage() for r in caplog.records), what="the aborted task")
    good = env.client().start(Healthy.run)
    assert good.result(timeout=10) == "healthy"
    assert worker.running
    assert bad.describe()["executionInfo"]["executionStatus"] == "OPEN"  # its task is left unanswered
    message = next(r.getMessage() for r in caplog.records if "GF-ABORTED" in r.getMessage())
    assert ("SystemExit" if how == "exit" else "KeyboardInterrupt") in message and "test_containment.py" in message
