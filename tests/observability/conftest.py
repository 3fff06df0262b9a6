"""Each test gets a :class:`greenflow.testing.LocalTestEnvironment` (real service over HTTP, real workers)."""

from __future__ import annotations

import pytest

from greenflow.testing import LocalTestEnvironment


@pytest.fixture
def env():
    with LocalTestEnvironment() as environment:
        yield environment
