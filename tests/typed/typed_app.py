"""A user module written like the examples, checked by ``mypy --strict`` in CI (.ci/run).

``assert_type`` lines are checked statically by mypy (and are no-ops at run time): what an
activity call, a spawned future and ``handle.result()`` return is the type the code
declares, not ``Any``. ``test_typed_app.py`` also runs this workflow end to end.
"""

from __future__ import annotations

from typing import assert_type

import greenflow
from greenflow.activity import activities, activity
from greenflow.client import WorkflowClient, WorkflowHandle
from greenflow.workflow import Future, WorkflowDefinition, execute, query, signal, spawn, wait_all, wait_until


@activities(task_list="typed-shop", schedule_to_start_timeout=60, start_to_close_timeout=60)
class Pricing:
    """Prices items."""

    @activity(version="1.0")
    def price(self, item: str, quantity: int = 1) -> int:
        return len(item) * quantity


class Basket(WorkflowDefinition):
    """Totals a basket once it is confirmed."""

    def __init__(self) -> None:
        self.confirmed_by: str | None = None

    @execute(version="1.0", execution_start_to_close_timeout=60)
    def total(self, items: list[str]) -> int:
        first = Pricing.price(items[0], quantity=2)
        assert_type(first, int)
        futures = [spawn(Pricing.price, item) for item in items[1:]]
        assert_type(futures, list[Future[int]])
        rest = wait_all(futures)
        assert_type(rest, list[int])
        wait_until(lambda: self.confirmed_by is not None)
        return first + sum(rest)

    @signal
    def confirm(self, who: str) -> None:
        self.confirmed_by = who

    @query
    def who(self) -> str | None:
        return self.confirmed_by


def start_basket(client: WorkflowClient, items: list[str]) -> WorkflowHandle[int]:
    """Start a basket; the handle's ``result()`` is an ``int``."""
    handle = client.start(Basket.total, items)
    assert_type(handle, WorkflowHandle[int])
    return handle


def unit_price(item: str) -> int:
    """Outside workflows an activity is a plain method of an instance."""
    return Pricing().price(item)


def backend() -> greenflow.SWFClient:
    """``greenflow.connect`` is an explicit export."""
    return greenflow.connect(endpoint="http://127.0.0.1:1")
