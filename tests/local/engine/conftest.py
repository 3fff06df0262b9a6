"""Fixtures for the engine's tests (see :mod:`.harness`)."""

from __future__ import annotations

import pytest

from greenflow.local._clock import VirtualClock
from greenflow.local.storage._store import Store

from .harness import T0, Harness


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0)


@pytest.fixture(params=["roomy", "tight"])
def h(request: pytest.FixtureRequest, clock: VirtualClock):
    """A harness; each test runs twice: with the engine's default memory bounds, and with
    bounds so tight that every open run and deadline is read back from the database."""
    store = Store(":memory:")
    harness = Harness(store, clock)
    if request.param == "tight":
        harness.tighten()
    yield harness
    harness.swf.close()
