"""Fixtures of the typing tests: a test environment on the real local service."""

from __future__ import annotations

import pytest

from greenflow.testing import LocalTestEnvironment


@pytest.fixture
def env():
    with LocalTestEnvironment() as environment:
        yield environment
