"""greenflow.testing: the pytest fixtures, virtual time and background workers."""

from __future__ import annotations

import pytest

from greenflow.testing import LocalTestEnvironment, TimeSkipper
from greenflow.testing.pytest_plugin import greenflow_env, shared_env, swf_client, swf_service  # noqa: F401
from greenflow.workflow import WorkflowDefinition, execute, sleep


class NapWorkflow(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=30 * 86400)
    def run(self, days: int) -> str:
        sleep(days * 86400)
        return "rested"


def test_fixture_env_with_time_skipping(greenflow_env):
    greenflow_env.workflow_worker(NapWorkflow)
    handle = greenflow_env.client().start(NapWorkflow.run, 7)
    before = greenflow_env.now()
    with greenflow_env.auto_time_skipping() as skipper:
        assert handle.result(timeout=20) == "rested"
    assert skipper.jumps >= 1
    assert greenflow_env.now() - before >= 7 * 86400


def test_next_deadline_and_manual_advance(greenflow_env):
    greenflow_env.workflow_worker(NapWorkflow)
    handle = greenflow_env.client().start(NapWorkflow.run, 1)
    from greenflow.testing import wait_until
    wait_until(lambda: handle.describe()["openCounts"]["openTimers"] == 1, what="the timer")
    assert greenflow_env.next_deadline() <= greenflow_env.now() + 86400
    greenflow_env.advance_time(86400 + 1)
    assert handle.result(timeout=20) == "rested"


def test_shared_service_gives_each_test_its_own_domain(shared_env, swf_client, swf_service):
    assert shared_env.service is swf_service
    shared_env.workflow_worker(NapWorkflow)
    domains = {info["name"] for info in swf_client.call("ListDomains", registrationStatus="REGISTERED")["domainInfos"]}
    assert shared_env.domain in domains


def test_environment_stops_its_workers():
    with LocalTestEnvironment() as env:
        worker = env.workflow_worker(NapWorkflow)
        assert worker.running
    assert not worker.running


def test_time_skipper_needs_a_running_service():
    env = LocalTestEnvironment().start()
    service = env.service
    env.close()
    skipper = TimeSkipper(service, idle=0.01).start()
    skipper.stop()  # exits quietly once the service is gone
    with pytest.raises(RuntimeError):
        service.advance_time(1)
