"""The library on the AWS-like mode: every workflow completes, nothing is lost or run twice
(beyond at-least-once activities), and clients back off when throttled.

The service runs with :class:`~greenflow.local.AWSEmulation`: a few milliseconds of latency
per call (kept small so the tests stay fast; the benchmark uses 30 ms), SigV4 required,
and seeded server errors or tight throttling quotas.
"""

from __future__ import annotations

import collections
import threading
import time

import botocore.session
import pytest
from botocore.exceptions import ClientError

from greenflow.activity import activities, activity
from greenflow.local import AWSEmulation, LocalService
from greenflow.testing import LocalTestEnvironment
from greenflow.workflow import WorkflowDefinition, execute

#: How many times each activity ran, by workflow (filled by the activity worker's threads).
RUNS: collections.Counter[str] = collections.Counter()
_runs_lock = threading.Lock()


@activities(schedule_to_start_timeout=600, start_to_close_timeout=60)
class Echo:
    @activity(version="1.0")
    def echo(self, name: str) -> str:
        with _runs_lock:
            RUNS[name] += 1
        return f"echo {name}"


class EchoWorkflow(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=3600, task_start_to_close_timeout=30)
    def run(self, name: str) -> str:
        return Echo.echo(name)


def _emulated(emulation: AWSEmulation) -> LocalService:
    return LocalService(poll_timeout=1.0, emulation=emulation)


def _run_all(env: LocalTestEnvironment, count: int, prefix: str) -> dict[str, str]:
    env.workflow_worker(EchoWorkflow, pollers=4)
    env.activity_worker(Echo(), pool_size=8)
    client = env.client()
    handles = {f"{prefix}-{i}": client.start(EchoWorkflow.run, f"{prefix}-{i}", workflow_id=f"{prefix}-{i}")
               for i in range(count)}
    return {name: handle.result(timeout=60) for name, handle in handles.items()}


def _closed(env: LocalTestEnvironment) -> collections.Counter[str]:
    """How many closed executions each workflow id has, by close status."""
    statuses: collections.Counter[str] = collections.Counter()
    for info in env.client().list_closed(started_after=0):
        statuses[info["closeStatus"]] += 1
    return statuses


def test_signed_calls_only():
    with _emulated(AWSEmulation(latency=(0.0, 0.0))) as service:
        session = botocore.session.get_session()
        unsigned = session.create_client("swf", region_name="us-east-1", endpoint_url=service.endpoint,
                                         aws_access_key_id="someone", aws_secret_access_key="else")
        with pytest.raises(ClientError) as refused:
            unsigned.list_domains(registrationStatus="REGISTERED")
        assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_every_workflow_completes_once_through_latency_and_server_errors():
    emulation = AWSEmulation(latency=(0.002, 0.006), fault_rate=0.1, seed=7)
    with _emulated(emulation) as service, LocalTestEnvironment(service=service) as env:
        results = _run_all(env, 20, "faults")
        assert results == {name: f"echo {name}" for name in results}
        assert _closed(env) == {"COMPLETED": 20}  # each workflow closed once, none failed
        assert all(RUNS[name] >= 1 for name in results)  # at least once
    failed = emulation.counts()["failed"]
    assert sum(failed.values()) >= 5, failed  # the errors did happen, and were retried through
    assert {"PollForDecisionTask", "RespondDecisionTaskCompleted"} & set(failed)


def test_throttled_clients_back_off_instead_of_looping():
    # Quotas tight enough that the workers and the starter are throttled all the time.
    quotas = {"StartWorkflowExecution": (2, 4.0), "RespondActivityTaskCompleted": (2, 4.0),
              "PollForActivityTask": (2, 4.0)}
    emulation = AWSEmulation(latency=(0.001, 0.001), quotas=quotas, seed=3)
    with _emulated(emulation) as service, LocalTestEnvironment(service=service) as env:
        began = time.monotonic()
        results = _run_all(env, 8, "throttled")
        elapsed = time.monotonic() - began
        assert results == {name: f"echo {name}" for name in results}
        assert _closed(env) == {"COMPLETED": 8}
    counts = emulation.counts()
    assert sum(counts["throttled"].values()) > 0, counts  # the quotas did bite
    for api in quotas:
        calls = counts["calls"].get(api, 0)
        # A client retrying at once would call ~1,000 times a second at 1 ms a call; one
        # that backs off (exponential, jittered) calls a few times a second at most.
        assert calls / elapsed < 50, (api, calls, elapsed, counts)
