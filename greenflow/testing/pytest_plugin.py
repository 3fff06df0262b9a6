"""Pytest fixtures for greenflow: an in-process local service with virtual time.

Enable them in a ``conftest.py``; tests that run activity workers also need gevent's
monkey-patching, first, before any other import (an ``ActivityWorker`` refuses to start
without it, naming these lines)::

    from greenflow.swf import patch_gevent
    patch_gevent()

    pytest_plugins = ["greenflow.testing.pytest_plugin"]

Fixtures:

``greenflow_env``
    A fresh :class:`~greenflow.testing.LocalTestEnvironment` per test (own service, virtual
    clock, unique domain and task list); every worker started through it stops after the
    test.
``swf_service``
    One :class:`~greenflow.local.LocalService` (virtual clock) for the whole session.
``swf_client``
    An :class:`~greenflow.swf.SWFClient` connected to ``swf_service``.
``shared_env``
    A :class:`LocalTestEnvironment` on ``swf_service`` with a unique domain and task list:
    cheaper than ``greenflow_env`` when tests do not move the clock.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from . import VIRTUAL_EPOCH, LocalTestEnvironment


@pytest.fixture
def greenflow_env() -> Iterator[LocalTestEnvironment]:
    """A private local service with a virtual clock, a domain and a task list for one test."""
    with LocalTestEnvironment() as env:
        yield env


@pytest.fixture(scope="session")
def swf_service():
    """A local service (virtual clock, short long polls) shared by the whole test session."""
    from greenflow.local import LocalService, VirtualClock
    service = LocalService(":memory:", clock=VirtualClock(VIRTUAL_EPOCH), poll_timeout=2.0)
    service.start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def swf_client(swf_service):
    """An SWFClient talking to ``swf_service`` over HTTP."""
    from greenflow.swf import connect
    client = connect(endpoint=swf_service.endpoint)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def shared_env(swf_service) -> Iterator[LocalTestEnvironment]:
    """A test environment on the session's service: unique domain and task list, own workers."""
    with LocalTestEnvironment(service=swf_service) as env:
        yield env
