"""Workflows and activities shared by the workflow unit tests."""

from __future__ import annotations

import greenflow.workflow as wf
from greenflow.activity import activities, activity


class Boom(Exception):
    pass


@activities(start_to_close_timeout=60, task_list="acts")
class Acts:
    @activity()
    def add(self, a, b):
        return a + b

    @activity(version="2.0", name="Multiply", heartbeat_timeout=10)
    def mul(self, a, b):
        return a * b

    @activity(retry=wf.RetryPolicy(max_attempts=3, initial_interval=2, backoff_coefficient=3))
    def flaky(self):
        return "ok"


class Sequential(wf.WorkflowDefinition):
    @wf.execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self, n):
        total = 0
        for i in range(n):
            total = Acts.add(total, i)
        return total


class Parallel(wf.WorkflowDefinition):
    @wf.execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self, n):
        futures = [wf.spawn(Acts.add, i, i) for i in range(n)]
        return sum(wf.wait_all(futures))


class Sleeper(wf.WorkflowDefinition):
    @wf.execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self, seconds):
        start = wf.now()
        wf.sleep(seconds)
        return (wf.now() - start).total_seconds()


class Signals(wf.WorkflowDefinition):
    def __init__(self):
        self.received = []

    @wf.execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self, count):
        wf.wait_until(lambda: len(self.received) >= count)
        return self.received

    @wf.signal()
    def add(self, value):
        self.received.append(value)

    @wf.signal(name="slow")
    def slow_add(self, value):
        wf.sleep(1)
        self.received.append(value)

    @wf.query()
    def count(self):
        return len(self.received)


class Child(wf.WorkflowDefinition):
    @wf.execute(version="1.0", execution_start_to_close_timeout=60)
    def run(self, x):
        return x * 2


class Parent(wf.WorkflowDefinition):
    @wf.execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self, x):
        return Child.run(x) + 1


class Failing(wf.WorkflowDefinition):
    @wf.execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self):
        raise Boom("no luck")


class Cancellable(wf.WorkflowDefinition):
    @wf.execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self):
        try:
            Acts.add(1, 2)
        except wf_errors().CancelledError:
            Acts.add(0, 0)  # cleanup
            raise


def wf_errors():
    from greenflow import errors

    return errors
