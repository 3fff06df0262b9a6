"""Fixtures for the worker tests: a local service with a virtual clock."""

from __future__ import annotations

import pytest

from greenflow.testing import LocalTestEnvironment


@pytest.fixture
def env():
    with LocalTestEnvironment() as environment:
        yield environment
