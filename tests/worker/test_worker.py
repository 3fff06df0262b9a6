"""``Worker``: one workflow worker and one activity worker per declared task list, run as one."""

from __future__ import annotations

import os
import signal

import gevent
import pytest

from greenflow.activity import activities, activity
from greenflow.client import WorkflowClient
from greenflow.testing import wait_until
from greenflow.worker import ActivityWorker, Worker, WorkflowWorker
from greenflow.workflow import WorkflowDefinition, execute


@activities(task_list="worker-test-greetings", start_to_close_timeout=30, schedule_to_start_timeout=60)
class Greetings:
    @activity(version="1")
    def greet(self, name):
        return f"hello {name}"


@activities(task_list="worker-test-shouts", start_to_close_timeout=30, schedule_to_start_timeout=60)
class Shouts:
    @activity(version="1")
    def shout(self, text):
        return text.upper() + "!"


class Greeter(WorkflowDefinition):
    @execute(version="1", execution_start_to_close_timeout=120, task_list="worker-test-decisions")
    def run(self, name):
        return Shouts.shout(Greetings.greet(name))


def test_groups_by_declared_task_list_and_runs_them_together(env):
    worker = Worker(env.swf, env.domain, workflows=[Greeter], activities=[Greetings(), Shouts()],
                    shutdown_timeout=5, activity_options={"pool_size": 3})
    kinds = sorted((type(w).__name__, w.task_list) for w in worker.workers)
    assert kinds == [("ActivityWorker", "worker-test-greetings"), ("ActivityWorker", "worker-test-shouts"),
                     ("WorkflowWorker", "worker-test-decisions")]
    assert all(w.pool_size == 3 for w in worker.workers if isinstance(w, ActivityWorker))
    with worker:
        assert worker.running
        handle = WorkflowClient(env.swf, env.domain).start(Greeter.run, "ada")  # on the type's task list
        assert handle.result(timeout=30) == "HELLO ADA!"
    assert not worker.running


def test_one_task_list_overrides_what_classes_declare(env):
    worker = Worker(env.swf, env.domain, workflows=[Greeter], activities=[Greetings(), Shouts()],
                    task_list="everything")
    assert sorted(type(w).__name__ for w in worker.workers) == ["ActivityWorker", "WorkflowWorker"]
    assert {w.task_list for w in worker.workers} == {"everything"}


def test_needs_something_to_run(env):
    with pytest.raises(ValueError, match="workflows, activities or both"):
        Worker(env.swf, env.domain)


def test_run_stops_gracefully_on_sigterm(env):
    worker = Worker(env.swf, env.domain, activities=[Greetings()], shutdown_timeout=5)
    runner = gevent.spawn(worker.run)
    wait_until(lambda: worker.running, what="the worker to start")
    os.kill(os.getpid(), signal.SIGTERM)
    runner.get(timeout=10)
    assert not worker.running


def test_both_workers_share_names_and_defaults(env):
    workflow_worker = WorkflowWorker(env.swf, env.domain, "a", Greeter)
    activity_worker = ActivityWorker(env.swf, env.domain, "a", Greetings())
    for each in (workflow_worker, activity_worker):
        assert each.swf is env.swf
        assert each.register is True and callable(each.register_types)
        assert each.shutdown_timeout == 70.0
    for cls in (WorkflowWorker, ActivityWorker):
        assert cls(env.swf, env.domain, "a", Greeter if cls is WorkflowWorker else Greetings(),
                   shutdown_timeout=None).shutdown_timeout is None
        for bad in (-1, "5", float("nan")):
            with pytest.raises(ValueError, match="shutdown_timeout"):
                cls(env.swf, env.domain, "a", Greeter if cls is WorkflowWorker else Greetings(), shutdown_timeout=bad)
