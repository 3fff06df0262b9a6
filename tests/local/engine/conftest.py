"""Fixtures for the engine's tests (see :mod:`.harness`)."""

from __future__ import annotations

import pytest

from greenflow.local._clock import VirtualClock
from greenflow.local.storage._store import Store

from .harness import T0, Harness


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0)


@pytest.fixture
def h(clock: VirtualClock):
    store = Store(":memory:")
    harness = Harness(store, clock)
    yield harness
    harness.swf.close()
