"""Code changes users make (issue 8, section 5): removing a version() call, and signals
anyone can send. Local service over HTTP, real workers."""

from __future__ import annotations

import logging

import pytest

from greenflow import errors
from greenflow.testing import wait_until as wait_for
from greenflow.workflow import DEFAULT_VERSION, WorkflowDefinition, execute, signal, version, wait_until, workflow


@workflow(name="Shipping")
class ShippingBefore(WorkflowDefinition):
    """The code as deployed first: a change guarded by version()."""

    def __init__(self):
        self.done = False

    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self) -> str:
        mode = "express" if version("express", DEFAULT_VERSION, 1) == 1 else "standard"
        wait_until(lambda: self.done)
        return mode

    @signal()
    def finish(self) -> None:
        self.done = True


@workflow(name="Shipping")
class ShippingAfter(WorkflowDefinition):
    """The same workflow once every run that took the old branch had closed: version() removed."""

    def __init__(self):
        self.done = False

    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self) -> str:
        mode = "express"
        wait_until(lambda: self.done)
        return mode

    @signal()
    def finish(self) -> None:
        self.done = True


def test_a_removed_version_call_does_not_break_runs_that_recorded_it(env):
    before = env.workflow_worker(ShippingBefore)
    handle = env.client().start(ShippingBefore.run)
    wait_for(lambda: any(e["eventType"] == "MarkerRecorded" for e in handle.history()), what="the version marker")
    before.stop(timeout=10)
    env.workflow_worker(ShippingAfter)  # the new deployment replays the run from its history
    handle.signal("finish")
    assert handle.result(timeout=10) == "express"


class Orders(WorkflowDefinition):
    """Takes items by signal; ``strict_item`` opts into failing on bad input."""

    def __init__(self):
        self.items: list = []

    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self) -> list:
        wait_until(lambda: "done" in self.items)
        return self.items

    @signal()
    def item(self, name: str, quantity: int = 1) -> None:
        self.items.append(name)

    @signal(strict=True)
    def strict_item(self, name: str) -> None:
        self.items.append(name)


def test_a_bad_signal_is_rejected_with_an_error_naming_it_and_the_workflow_goes_on(env, caplog):
    caplog.set_level(logging.ERROR, logger="greenflow.workflow")
    env.workflow_worker(Orders)
    handle = env.client().start(Orders.run)
    handle.signal("item", "a", 1, "too", "many")  # wrong number of arguments
    handle.swf.call("SignalWorkflowExecution", domain=env.domain, workflowId=handle.workflow_id,
                    signalName="item", input="{not json")  # a malformed payload
    handle.signal("item", "done")
    assert handle.result(timeout=10) == ["done"]
    rejected = [r.getMessage() for r in caplog.records if "GF-SIGNAL-REJECTED" in r.getMessage()]
    assert len(rejected) == 2 and all("'item'" in message for message in rejected)


def test_a_strict_signal_handler_fails_the_execution_on_bad_input(env):
    env.workflow_worker(Orders)
    handle = env.client().start(Orders.run)
    handle.signal("strict_item")  # missing its argument
    with pytest.raises(errors.WorkflowFailedError, match="TypeError"):
        handle.result(timeout=10)
