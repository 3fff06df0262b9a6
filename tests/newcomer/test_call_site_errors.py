"""Mistakes reported where the user made them, not later on a worker (README "Data", "Client")."""

from __future__ import annotations

import dataclasses

import pytest

from greenflow.activity import activities, activity
from greenflow.converter import register
from greenflow.errors import DataConversionError, WorkflowError
from greenflow.workflow import WorkflowDefinition, execute


@dataclasses.dataclass
class Unregistered:
    sku: str


@register
@dataclasses.dataclass
class Registered:
    sku: str


class Orders(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=60)
    def place(self, order, quantity=1):  # no type hints: nothing registers the order's class
        return order


@activities(task_list="acts", schedule_to_start_timeout=60, start_to_close_timeout=60)
class Acts:
    @activity(version="1.0")
    def greet(self, name: str) -> str:
        return f"hi {name}"


def test_start_rejects_an_unregistered_dataclass_at_the_call_site(env):
    client = env.client()
    with pytest.raises(DataConversionError, match="input of workflow Orders .* could not be read back by a "
                                                   "workflow worker: .*Unregistered.* not registered"):
        client.start(Orders.place, Unregistered("a"))
    assert list(client.list_open()) == []  # nothing was started
    env.workflow_worker(Orders)
    assert client.start(Orders.place, Registered("b")).result(timeout=10) == Registered("b")


def test_start_checks_arguments_against_the_execute_signature(env):
    client = env.client()
    with pytest.raises(TypeError, match=r"Orders.place\(self, order, quantity=1\) cannot take these arguments: "
                                        "missing a required argument: 'order'"):
        client.start(Orders.place)
    with pytest.raises(TypeError, match="got an unexpected keyword argument 'colour'"):
        client.start(Orders.place, 1, colour="red")
    assert list(client.list_open()) == []


def test_activity_called_on_its_class_outside_a_workflow_says_so():
    with pytest.raises(WorkflowError, match=r"Acts.greet\(\) was called outside a workflow run: .* call it on an "
                                            r"instance \(Acts\(...\).greet\(...\)\)"):
        Acts.greet("bob")
    assert Acts().greet("bob") == "hi bob"
    assert Acts.greet(Acts(), "bob") == "hi bob"  # the unbound-method form still works
