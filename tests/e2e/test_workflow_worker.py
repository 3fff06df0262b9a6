"""The workflow worker's own contract: arguments, registration, the starter it installs."""

from __future__ import annotations

import gevent
import pytest

from greenflow import errors
from greenflow.testing import wait_until
from greenflow.workflow import WorkflowDefinition, execute
from greenflow.workflow._starter import current_starter
from greenflow.worker import WorkflowWorker


class Echo(WorkflowDefinition):
    @execute(version="3", execution_start_to_close_timeout=120, task_start_to_close_timeout=15)
    def run(self, value):
        return value


def test_bad_arguments_are_clear_errors(env):
    with pytest.raises(ValueError, match="at least one"):
        WorkflowWorker(env.swf, env.domain, env.task_list)
    with pytest.raises(ValueError, match="task_list"):
        WorkflowWorker(env.swf, env.domain, "", Echo)
    with pytest.raises(ValueError, match="pollers"):
        WorkflowWorker(env.swf, env.domain, env.task_list, Echo, pollers=0)
    with pytest.raises(errors.DefinitionError):
        WorkflowWorker(env.swf, env.domain, env.task_list, object)
    with pytest.raises(TypeError):
        WorkflowWorker("not a client", env.domain, env.task_list, Echo)


def test_registers_types_with_decorator_defaults_and_its_task_list(env):
    worker = env.workflow_worker(Echo)
    described = env.swf.call("DescribeWorkflowType", domain=env.domain, workflowType={"name": "Echo", "version": "3"})
    config = described["configuration"]
    assert config["defaultExecutionStartToCloseTimeout"] == "120"
    assert config["defaultTaskStartToCloseTimeout"] == "15"
    assert config["defaultTaskList"] == {"name": env.task_list}
    assert worker.running


def test_register_false_registers_nothing(env):
    worker = WorkflowWorker(env.swf, env.domain, "other-list", Echo, register=False)
    worker.start()
    try:
        with pytest.raises(errors.UnknownResourceError):
            env.swf.call("DescribeWorkflowType", domain=env.domain, workflowType={"name": "Echo", "version": "3"})
    finally:
        worker.stop(0)


def test_calling_execute_outside_a_starter_says_what_to_do():
    with pytest.raises(errors.WorkflowError, match="client.start"):
        Echo.run(1)


def test_with_worker_installs_and_removes_its_starter(env):
    assert current_starter() is None
    with WorkflowWorker(env.swf, env.domain, env.task_list, Echo) as worker:
        starter = current_starter()
        assert (starter.domain, starter.task_list) == (env.domain, env.task_list)
        handle = Echo.run({"n": 1})
        assert handle.result(timeout=20) == {"n": 1}
        assert handle.query is not None and handle.workflow_class is Echo
    assert current_starter() is None
    assert not worker.running


class Waits(WorkflowDefinition):
    @execute(version="1", execution_start_to_close_timeout=600)
    def run(self):
        from greenflow.workflow import sleep
        sleep(300)  # stays open, suspended in the worker's live-run cache


def test_stop_unwinds_the_cached_runs(env):
    worker = env.workflow_worker(Waits)
    handle = env.client().start(Waits.run)
    wait_until(lambda: any(e["eventType"] == "TimerStarted" for e in handle.history()), what="the timer started")
    assert len(worker.decider) == 1
    worker.stop(0)
    assert len(worker.decider) == 0


def test_graceful_stop_on_the_local_service_does_not_wait_out_long_polls():
    from greenflow.testing import LocalTestEnvironment

    with LocalTestEnvironment(poll_timeout=60.0) as env:
        worker = env.workflow_worker(Echo)
        wait_until(lambda: worker._in_poll, what="a long poll to be open")
        assert env.swf.cancels_polls_safely
        with gevent.Timeout(30, AssertionError("stop() waited for the 60 s long polls")):
            worker.stop(None)  # no bound of its own: only the service withdrawing polls ends it soon
        assert not worker.running


class Spins(WorkflowDefinition):
    @execute(version="1", execution_start_to_close_timeout=600, task_start_to_close_timeout=30)
    def run(self):
        import time
        until = time.monotonic() + 30  # a CPU loop; the worker's step watchdog stops it
        while time.monotonic() < until:
            pass


def test_a_looping_workflow_leaves_its_task_unanswered_and_the_worker_going(env):
    worker = env.workflow_worker(Spins, Echo, step_timeout=0.3)
    client = env.client()
    stuck = client.start(Spins.run)
    wait_until(lambda: worker.blocked_tasks == 1, what="the looping step to be stopped")
    assert [e["eventType"] for e in stuck.history()][-1] == "DecisionTaskStarted"  # not answered
    assert client.start(Echo.run, "still deciding").result(timeout=20) == "still deciding"
