"""Mistakes ``mypy --strict`` must report (CI checks it reports exactly these lines).

Each line marked ``# ERROR`` passes a wrong argument or uses a result as the wrong type.
"""

from __future__ import annotations

from greenflow.client import WorkflowClient
from greenflow.workflow import WorkflowDefinition, execute

from .typed_app import Basket, Pricing


class Wrong(WorkflowDefinition):
    """Calls the activity with the wrong argument types."""

    @execute(version="1.0")
    def run(self) -> str:
        price = Pricing.price(42)  # ERROR: the item is a str
        Pricing.price("tea", quantity="two")  # ERROR: quantity is an int
        return price  # ERROR: an int, not a str


def wrong_result(client: WorkflowClient) -> str:
    """``result()`` is the workflow's return type (an int)."""
    return client.start(Basket.total, ["tea"]).result()  # ERROR: an int, not a str
