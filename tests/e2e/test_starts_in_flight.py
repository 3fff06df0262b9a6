"""A burst of starts: on a greenflow local service a client sends at most
``LOCAL_STARTS_IN_FLIGHT`` at once (the rest wait in the client, so decisions of executions
already started are not queued behind them in the service); where the endpoint is not a
greenflow service, every start goes at once. Real local service over HTTP."""

from __future__ import annotations

import uuid

import gevent

from greenflow.client import LOCAL_STARTS_IN_FLIGHT, WorkflowClient
from greenflow.interceptors import Interceptor
from greenflow.swf import connect


class _Spec:
    name, version = "Burst", "1"
    execution_start_to_close_timeout, task_start_to_close_timeout, child_policy = 600, 30, "TERMINATE"


class _CountStarts(Interceptor):
    """The most ``StartWorkflowExecution`` calls on the wire at once."""

    def __init__(self) -> None:
        self.in_flight = self.most = 0

    def swf_call(self, call, proceed):
        if call.operation != "StartWorkflowExecution":
            return proceed()
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            gevent.sleep(0.001)  # as a busy service would: the others pile up meanwhile
            return proceed()
        finally:
            self.in_flight -= 1


def _burst(swf, starts: int = 40) -> tuple[int, int]:
    """Start ``starts`` executions from as many greenlets; (most in flight, runs started)."""
    domain = f"burst-{uuid.uuid4().hex[:8]}"
    swf.ensure_domain(domain, retention_days=1)
    swf.ensure_workflow_type(domain, _Spec(), task_list="nobody")
    counter = _CountStarts()
    swf.interceptors.append(counter)
    client = WorkflowClient(swf, domain, "nobody")
    greenlets = [gevent.spawn(client.start, _Spec()) for _ in range(starts)]
    gevent.joinall(greenlets, raise_error=True)
    client.close()
    started = swf.call("CountOpenWorkflowExecutions", domain=domain, startTimeFilter={"oldestDate": 0})["count"]
    return counter.most, started


def test_a_burst_of_starts_keeps_a_few_in_flight_on_a_local_service(env):
    swf = connect(endpoint=env.service.endpoint)
    most, started = _burst(swf)
    assert started == 40
    assert most == LOCAL_STARTS_IN_FLIGHT


def test_every_start_goes_at_once_where_the_endpoint_is_not_a_greenflow_service(env, monkeypatch):
    swf = connect(endpoint=env.service.endpoint, transport="botocore")
    monkeypatch.setattr(type(swf), "greenflow_service", property(lambda self: None))  # as Amazon SWF
    most, started = _burst(swf)
    assert started == 40
    assert most > LOCAL_STARTS_IN_FLIGHT
