"""The typed user module runs as well as it type-checks (mypy --strict runs on it in CI)."""

from __future__ import annotations

from .typed_app import Basket, Pricing, start_basket, unit_price


def test_the_typed_module_runs_end_to_end(env):
    env.workflow_worker(Basket)
    env.activity_worker(Pricing())  # on "typed-shop", the task list Pricing declares
    handle = start_basket(env.client(), ["tea", "milk", "jam"])
    from greenflow.testing import wait_until
    wait_until(lambda: any(e["eventType"] == "ActivityTaskCompleted" for e in handle.history()), timeout=20,
               what="the first price")
    handle.signal("confirm", "ann")
    assert handle.result(timeout=20) == 3 * 2 + 4 + 3
    assert handle.query("who") == "ann"
    assert unit_price("tea") == 3
