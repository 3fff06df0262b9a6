"""Fixtures of the end-to-end suite: the real local service over HTTP, real workers.

Each test gets its own :class:`greenflow.testing.LocalTestEnvironment` (its own service on a
loopback port, a virtual clock, a fresh domain and task list); every worker it starts is
stopped afterwards.
"""

from __future__ import annotations

import os

import pytest

from greenflow.testing import LocalTestEnvironment

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def env():
    with LocalTestEnvironment() as environment:
        yield environment


@pytest.fixture
def subprocess_env(tmp_path):
    """Environment variables for child processes: this checkout importable, a private database."""
    variables = dict(os.environ)
    variables["PYTHONPATH"] = REPO + os.pathsep + variables.get("PYTHONPATH", "")
    variables["GREENFLOW_DB"] = str(tmp_path / "greenflow.db")
    variables["PYTHONUNBUFFERED"] = "1"
    for name in ("GREENFLOW_ENDPOINT", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        variables.pop(name, None)
    variables["AWS_CONFIG_FILE"] = os.devnull  # never Amazon SWF from a test
    return variables

