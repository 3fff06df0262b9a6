"""The shared result waiter: many waiters cost a constant number of SWF calls per workflow.

Real local service over HTTP, real workflow worker. The client's SWF calls are counted
(``SWFClient.calls``); the worker never lists closed executions nor reads histories by
``GetWorkflowExecutionHistory``, so those two counts are the waiting's own cost.
"""

from __future__ import annotations

import time

import gevent
import pytest

from greenflow import _result_waiter, errors
from greenflow.client import ALL_COMPLETED, FIRST_COMPLETED, as_completed, wait
from greenflow.swf import connect
from greenflow.workflow import WorkflowDefinition, execute, signal, wait_until

WAIT_OPERATIONS = ("GetWorkflowExecutionHistory", "ListClosedWorkflowExecutions")


class Echo(WorkflowDefinition):
    """Closes at its first decision with its input."""

    @execute(version="1.0", execution_start_to_close_timeout=600)
    def run(self, value: int) -> int:
        return value


class Gate(WorkflowDefinition):
    """Stays open until signalled, then returns what it was given (or fails on a negative)."""

    def __init__(self) -> None:
        self.given: int | None = None

    @execute(version="1.0", execution_start_to_close_timeout=600)
    def run(self) -> int:
        wait_until(lambda: self.given is not None)
        assert self.given is not None
        if self.given < 0:
            raise ValueError(f"negative: {self.given}")
        return self.given

    @signal()
    def give(self, value: int) -> None:
        self.given = value


def waiting_calls(swf) -> int:
    return sum(swf.calls[name] for name in WAIT_OPERATIONS)


@pytest.mark.parametrize("waiters_per_handle, transport", [(1, "direct"), (5, "direct"), (5, "botocore")])
def test_waiting_costs_a_constant_number_of_calls_per_workflow(env, waiters_per_handle, transport):
    # The client has its own SWFClient so that only its calls are counted.
    env.workflow_worker(Echo, Gate)
    swf = connect(endpoint=env.service.endpoint, transport=transport)
    client = env.client().__class__(swf, env.domain, env.task_list)
    n = 40
    # The watcher covers the domain before the runs start (as it does in a program that has
    # been running a while), so their waiters need no first check: how soon its first
    # listing comes back depends on the machine's load.
    client._waiter.prime()
    deadline = time.monotonic() + 10
    while client._waiter._coverage_since is None and time.monotonic() < deadline:
        gevent.sleep(0.01)
    handles = [client.start(Gate.run) for _ in range(n)]
    before = waiting_calls(swf)
    results: dict[int, list[int]] = {}

    def wait_one(i: int) -> None:
        results.setdefault(i, []).append(handles[i].result(timeout=30))

    waiters = [gevent.spawn(wait_one, i) for i in range(n) for _ in range(waiters_per_handle)]
    gevent.sleep(0.2)  # every waiter is now blocked on the watcher
    for i, handle in enumerate(handles):
        handle.signal("give", i)
    gevent.joinall(waiters, timeout=30, raise_error=True)
    assert results == {i: [i] * waiters_per_handle for i in range(n)}
    per_workflow = (waiting_calls(swf) - before) / n
    # The listings that woke on closes (at most one per close, usually fewer), plus one read
    # of each close event where the listing cannot carry it (botocore's parser drops the
    # extension member); the old per-handle polling made dozens per workflow and multiplied
    # them by the waiters.
    waiter = client._waiter
    if transport == "direct":
        assert per_workflow <= 1.5, dict(swf.calls)
        assert waiter.reads == 0 and swf.calls["GetWorkflowExecutionHistory"] == waiter.checks, dict(swf.calls)
    else:
        assert per_workflow <= 2.5, dict(swf.calls)
        assert waiter.reads == n  # each close event read once, however many wait for it
    # First checks only for runs started before the watcher's first listing came back.
    assert waiter.checks <= n // 4, dict(swf.calls)
    swf.close()


@pytest.mark.parametrize("budget", [_result_waiter.REMEMBER_EVENTS_BUDGET, 0])
def test_results_asked_for_after_their_runs_closed_come_from_the_listing(env, monkeypatch, budget):
    # The way a loop of result() collects: every run has closed, and the watcher has listed
    # it with its close event, before its handle asks. Within the budget the event is
    # remembered; beyond it (here: none at all) the handle reads it from the history.
    monkeypatch.setattr(_result_waiter, "REMEMBER_EVENTS_BUDGET", budget)
    env.workflow_worker(Echo)
    swf = connect(endpoint=env.service.endpoint)
    client = env.client().__class__(swf, env.domain, env.task_list)
    n = 20
    handles = [client.start(Echo.run, i) for i in range(n)]
    handles[-1].result(timeout=30)
    gevent.sleep(0.3)  # the watcher lists the last closes
    assert [handle.result(timeout=30) for handle in handles] == list(range(n))
    waiter = client._waiter
    assert waiter.reads == (0 if budget else n - 1), dict(swf.calls)
    swf.close()


def test_a_waiting_watcher_is_woken_by_the_service_not_by_polling(env):
    env.workflow_worker(Gate)
    client = env.client()
    handle = client.start(Gate.run)
    waiter = gevent.spawn(handle.result, timeout=30)
    gevent.sleep(0.3)
    listings = env.swf.calls["ListClosedWorkflowExecutions"]
    gevent.sleep(1.0)  # nothing closes: a polling watcher would list dozens of times here
    assert env.swf.calls["ListClosedWorkflowExecutions"] - listings <= 1
    handle.signal("give", 7)
    assert waiter.get(timeout=30) == 7


def test_as_completed_yields_in_close_order_and_results_need_no_more_calls(env):
    env.workflow_worker(Gate)
    client = env.client()
    handles = [client.start(Gate.run) for _ in range(3)]
    order = [2, 0, 1]
    iterator = as_completed(handles, timeout=30)
    seen = []
    for i in order:
        handles[i].signal("give", i)
        seen.append(next(iterator))
    assert seen == [handles[i] for i in order]
    calls = sum(env.swf.calls.values())
    assert [h.result() for h in seen] == order
    assert sum(env.swf.calls.values()) == calls  # results came with the close events
    with pytest.raises(StopIteration):
        next(iterator)


def test_as_completed_times_out_naming_how_many_are_open(env):
    env.workflow_worker(Gate)
    client = env.client()
    handles = [client.start(Gate.run) for _ in range(2)]
    handles[0].signal("give", 1)
    iterator = as_completed(handles, timeout=1)
    assert next(iterator) is handles[0]
    with pytest.raises(errors.ResultTimeoutError, match="1 of 2 workflows still open"):
        next(iterator)


def test_wait_all_first_and_failures(env):
    env.workflow_worker(Gate)
    client = env.client()
    handles = [client.start(Gate.run) for _ in range(3)]
    handles[1].signal("give", -1)
    done, not_done = wait(handles, timeout=30, return_when=FIRST_COMPLETED)
    assert done == {handles[1]} and not_done == {handles[0], handles[2]}
    with pytest.raises(errors.WorkflowFailedError, match="negative: -1"):
        handles[1].result()
    done, not_done = wait(handles, timeout=0.5)
    assert done == {handles[1]} and len(not_done) == 2
    handles[0].signal("give", 0)
    handles[2].signal("give", 2)
    done, not_done = wait(handles, return_when=ALL_COMPLETED)
    assert done == set(handles) and not not_done
    with pytest.raises(ValueError, match="return_when"):
        wait(handles, return_when="SOME")


def test_result_of_a_run_closed_before_anyone_waited(env):
    # A handle from get_handle(): the watcher never saw this run start; the first check finds it.
    env.workflow_worker(Echo)
    client = env.client()
    started = client.start(Echo.run, 5)
    assert started.result(timeout=30) == 5
    other = env.client()  # a fresh client, its own watcher
    assert other.get_handle(started.workflow_id).result(timeout=30) == 5


def test_result_timeout_while_open(env):
    env.workflow_worker(Gate)
    handle = env.client().start(Gate.run)
    with pytest.raises(errors.ResultTimeoutError, match="still open after 0.3 s"):
        handle.result(timeout=0.3)
    handle.signal("give", 3)
    assert handle.result(timeout=30) == 3


@pytest.mark.parametrize("header", ["", "soon", "5", "-1 0", "nan 0", "5 x", "1e9 -3", "1 2 3"])
def test_a_malformed_wait_header_is_answered_at_once_as_an_ordinary_listing(env, header):
    from greenflow._extensions import CLOSE_WAIT_HEADER

    def add_header(request, **_):
        request.headers[CLOSE_WAIT_HEADER] = header

    swf = connect(endpoint=env.service.endpoint)
    swf.botocore.meta.events.register("before-send.swf.ListClosedWorkflowExecutions", add_header)
    with gevent.Timeout(5):
        answer = swf.call("ListClosedWorkflowExecutions", domain=env.domain, closeTimeFilter={"oldestDate": 0})
    assert answer["executionInfos"] == []
    swf.close()


def test_a_held_listing_answers_when_the_service_stops():
    from greenflow._extensions import CLOSE_WAIT_HEADER
    from greenflow.testing import LocalTestEnvironment

    with LocalTestEnvironment() as env:
        swf = connect(endpoint=env.service.endpoint)
        swf.botocore.meta.events.register(
            "before-send.swf.ListClosedWorkflowExecutions",
            lambda request, **_: request.headers.__setitem__(CLOSE_WAIT_HEADER, "60 0"))
        held = gevent.spawn(swf.call, "ListClosedWorkflowExecutions", domain=env.domain,
                            closeTimeFilter={"oldestDate": 0})
        gevent.sleep(0.3)
        assert not held.ready()  # held: nothing closed
        env.service.call(lambda core: core.stop())
        assert held.get(timeout=5)["executionInfos"] == []
        swf.close()
