"""Interceptor hooks around activities, workflow tasks and SWF calls; the Prometheus metrics built on them."""

from __future__ import annotations


import pytest

from greenflow import errors
from greenflow.interceptors import Interceptor
from greenflow.metrics import disable_metrics, enable_metrics, metrics_address
from greenflow.swf import CallRetryPolicy, connect

from .exposition import metric_value as _value, scrape
from .metrics_app import PickWorkflow, Shelf


class Recorder(Interceptor):
    """Records the calls it wraps, and stamps a tag on every start (as an auth or tracing hook would)."""

    def __init__(self, name: str, log: list):
        self.name, self.log = name, log

    def execute_activity(self, call, proceed):
        self.log.append((self.name, "activity", call.activity_type))
        return proceed()

    def handle_workflow_task(self, call, proceed):
        outcome = proceed()
        self.log.append((self.name, "workflow task", call.workflow_type, outcome.outcome))
        return outcome

    def swf_call(self, call, proceed):
        if call.operation == "StartWorkflowExecution":
            call.params["tagList"] = [*call.params.get("tagList", []), f"via-{self.name}"]
        return proceed()


def test_interceptors_wrap_activities_workflow_tasks_and_swf_calls(env):
    log: list = []
    env.workflow_worker(PickWorkflow, interceptors=[Recorder("outer", log), Recorder("inner", log)])
    env.activity_worker(Shelf(), interceptors=[Recorder("outer", log)])
    env.swf.interceptors.append(Recorder("client", log))
    handle = env.client().start(PickWorkflow.run, ["tea"])
    assert handle.result(timeout=10) == ["picked tea"]
    assert ("outer", "activity", "Shelf.pick 1.0") in log
    tasks = [entry for entry in log if entry[1] == "workflow task"]
    # The first interceptor is the outermost: the inner one sees the outcome first.
    assert tasks[:2] == [("inner", "workflow task", "PickWorkflow 1.0", "completed"),
                         ("outer", "workflow task", "PickWorkflow 1.0", "completed")]
    assert handle.describe()["executionInfo"]["tagList"] == ["via-client"]


def _scrape() -> str:
    address = metrics_address()
    assert address is not None
    return scrape(f"http://{address[0]}:{address[1]}/metrics")


@pytest.fixture
def metrics():
    interceptor = enable_metrics(port=0)
    try:
        yield interceptor
    finally:
        disable_metrics()


def test_metrics_endpoint_reports_workers(env, metrics):
    env.workflow_worker(PickWorkflow, cache_size=1)  # two runs at once: each evicts the other
    env.activity_worker(Shelf())
    handles = [env.client().start(PickWorkflow.run, ["tea", "missing", "milk"]) for _ in range(2)]
    for handle in handles:
        assert handle.result(timeout=10) == ["picked tea", None, "picked milk"]
    text = _scrape()
    assert _value(text, "greenflow_workflow_cache_total", result="eviction") >= 1
    assert _value(text, "greenflow_decision_task_seconds_count", workflow_type="PickWorkflow 1.0",
                  outcome="completed") >= 4
    assert _value(text, "greenflow_decision_replay_events_sum") >= 10
    assert _value(text, "greenflow_workflow_cache_total", result="miss") >= 2
    assert _value(text, "greenflow_activity_run_seconds_count", activity_type="Shelf.pick 1.0",
                  outcome="completed") == 4
    assert _value(text, "greenflow_failures_total", kind="activity", cause="LookupError") == 2
    assert _value(text, "greenflow_polls_total", worker="activity worker", outcome="task") == 6
    assert f'greenflow_task_list_backlog{{domain="{env.domain}",kind="decision",task_list="{env.task_list}"}} 0.0' \
        in text


def test_metrics_count_retried_swf_calls(metrics):
    # Nothing listens on port 9: each attempt fails to connect and is retried.
    swf = connect(endpoint="http://127.0.0.1:9", retry=CallRetryPolicy(max_attempts=3, base=0.001))
    with pytest.raises(errors.ServiceUnavailableError):
        swf.call("ListDomains", registrationStatus="REGISTERED")
    assert _value(_scrape(), "greenflow_swf_retries_total", operation="ListDomains") == 2


def test_metrics_are_off_by_default(env):
    assert metrics_address() is None
    env.workflow_worker(PickWorkflow)
    assert env.swf.interceptors == [] and env.client().start(PickWorkflow.run, []).result(timeout=10) == []
