"""Visibility (list/count executions) driven directly, with executions inserted by SQL.

The rows written here imitate what the engine keeps in ``executions``/``execution_tags``.
"""

from __future__ import annotations

import datetime
import json

import pytest

from greenflow.local._clock import VirtualClock
from greenflow.local._registry import Registry
from greenflow.local._visibility import Visibility
from greenflow.local.storage._store import Store
from greenflow.local.wire._faults import Fault

T0 = 1_700_000_000.0


@pytest.fixture
def store():
    store = Store(":memory:")
    yield store
    store.close()


@pytest.fixture
def registry(store):
    registry = Registry(store, VirtualClock(T0), region="us-east-1", account_id="1")
    registry.register_domain({"name": "d", "workflowExecutionRetentionPeriodInDays": "1"})
    registry.register_domain({"name": "other", "workflowExecutionRetentionPeriodInDays": "1"})
    return registry


@pytest.fixture
def vis(store, registry):
    return Visibility(store, VirtualClock(T0), registry)


def add(store, workflow_id, *, run_id=None, domain="d", start=0.0, close=None, close_status=None,
        type_name="wf", type_version="1", tags=(), cancel_requested=False, parent=None):
    """Insert one execution as the engine would (start/close are offsets from T0)."""
    run_id = run_id or f"run-{workflow_id}"
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO executions (domain, workflow_id, run_id, type_name, type_version, start_ts, "
            "close_ts, status, close_status, tag_list, cancel_requested, parent_workflow_id, "
            "parent_run_id, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}')",
            (domain, workflow_id, run_id, type_name, type_version, T0 + start,
             None if close is None else T0 + close, "OPEN" if close is None else "CLOSED",
             close_status if close is not None else None, json.dumps(list(tags)), int(cancel_requested),
             parent[0] if parent else None, parent[1] if parent else None))
        conn.executemany("INSERT INTO execution_tags (domain, workflow_id, run_id, tag) VALUES (?, ?, ?, ?)",
                         [(domain, workflow_id, run_id, tag) for tag in tags])


def since(offset=0.0, until=None):
    f = {"oldestDate": T0 + offset}
    if until is not None:
        f["latestDate"] = T0 + until
    return f


def ids(response):
    return [i["execution"]["workflowId"] for i in response["executionInfos"]]


def fault(code):
    return pytest.raises(Fault, match=f"^{code}:")


def test_open_list_newest_first_with_full_info(store, vis):
    add(store, "a", start=1, tags=["x", "y"])
    add(store, "b", start=3, cancel_requested=True, parent=("p", "prun"))
    add(store, "c", start=2, close=5, close_status="COMPLETED")
    add(store, "z", start=4, domain="other")
    response = vis.list_open_workflow_executions({"domain": "d", "startTimeFilter": since()})
    assert ids(response) == ["b", "a"]
    assert "nextPageToken" not in response
    b, a = response["executionInfos"]
    assert a == {
        "execution": {"workflowId": "a", "runId": "run-a"},
        "workflowType": {"name": "wf", "version": "1"},
        "startTimestamp": T0 + 1,
        "executionStatus": "OPEN",
        "cancelRequested": False,
        "tagList": ["x", "y"],
    }
    assert b["cancelRequested"] is True
    assert b["parent"] == {"workflowId": "p", "runId": "prun"}
    assert "tagList" not in b and "closeTimestamp" not in b and "closeStatus" not in b


def test_closed_list_info(store, vis):
    add(store, "c", start=2, close=5, close_status="TERMINATED", tags=["t"])
    (info,) = vis.list_closed_workflow_executions({"domain": "d", "startTimeFilter": since()})["executionInfos"]
    assert info["executionStatus"] == "CLOSED"
    assert info["closeStatus"] == "TERMINATED"
    assert info["closeTimestamp"] == T0 + 5
    assert info["startTimestamp"] == T0 + 2
    assert info["tagList"] == ["t"]


def test_start_time_filter_bounds_inclusive(store, vis):
    for i in range(5):
        add(store, f"w{i}", start=i * 10)
    got = ids(vis.list_open_workflow_executions({"domain": "d", "startTimeFilter": since(10, 30)}))
    assert got == ["w3", "w2", "w1"]
    got = ids(vis.list_open_workflow_executions({"domain": "d", "startTimeFilter": since(25)}))
    assert got == ["w4", "w3"]
    assert vis.count_open_workflow_executions({"domain": "d", "startTimeFilter": since(10, 30)}) == {
        "count": 3, "truncated": False}
    # An empty range is an empty answer, not an error.
    assert ids(vis.list_open_workflow_executions({"domain": "d", "startTimeFilter": since(30, 10)})) == []


def test_datetime_filters_accepted(store, vis):
    add(store, "a", start=5)
    oldest = datetime.datetime.fromtimestamp(T0, datetime.timezone.utc)
    naive = datetime.datetime.utcfromtimestamp(T0 + 10)
    got = vis.list_open_workflow_executions({"domain": "d", "startTimeFilter": {"oldestDate": oldest,
                                                                                "latestDate": naive}})
    assert ids(got) == ["a"]


def test_close_time_filter_sorts_by_close_time(store, vis):
    add(store, "early-start-late-close", start=1, close=50, close_status="COMPLETED")
    add(store, "late-start-early-close", start=10, close=20, close_status="FAILED")
    add(store, "closed-before-range", start=0, close=2, close_status="FAILED")
    by_close = vis.list_closed_workflow_executions({"domain": "d", "closeTimeFilter": since(5)})
    assert ids(by_close) == ["early-start-late-close", "late-start-early-close"]
    by_start = vis.list_closed_workflow_executions({"domain": "d", "startTimeFilter": since(0)})
    assert ids(by_start) == ["late-start-early-close", "early-start-late-close", "closed-before-range"]
    assert vis.count_closed_workflow_executions({"domain": "d", "closeTimeFilter": since(5, 20)})["count"] == 1


def test_time_filter_rules(store, vis):
    with fault("ValidationException"):
        vis.list_open_workflow_executions({"domain": "d"})
    with fault("ValidationException"):
        vis.count_open_workflow_executions({"domain": "d"})
    for call in (vis.list_closed_workflow_executions, vis.count_closed_workflow_executions):
        with fault("ValidationException"):
            call({"domain": "d"})
        with fault("ValidationException"):
            call({"domain": "d", "startTimeFilter": since(), "closeTimeFilter": since()})
    with fault("ValidationException"):
        vis.list_open_workflow_executions({"domain": "d", "startTimeFilter": {"latestDate": T0}})
    with fault("ValidationException"):
        vis.list_open_workflow_executions({"domain": "d", "startTimeFilter": {"oldestDate": "yesterday"}})
    with fault("ValidationException"):
        vis.list_open_workflow_executions({"domain": "d", "startTimeFilter": since(), "closeTimeFilter": since()})


FILTERS = {
    "executionFilter": {"workflowId": "a"},
    "typeFilter": {"name": "wf"},
    "tagFilter": {"tag": "x"},
    "closeStatusFilter": {"status": "COMPLETED"},
}


@pytest.mark.parametrize("first, second", [(a, b) for a in FILTERS for b in FILTERS if a < b])
def test_at_most_one_attribute_filter(vis, first, second):
    params = {"domain": "d", "startTimeFilter": since(), first: FILTERS[first], second: FILTERS[second]}
    for call in (vis.list_closed_workflow_executions, vis.count_closed_workflow_executions):
        with fault("ValidationException") as info:
            call(dict(params))
        assert first in info.value.message and second in info.value.message
    if "closeStatusFilter" not in (first, second):
        with fault("ValidationException"):
            vis.list_open_workflow_executions(dict(params))


def test_close_status_filter_not_for_open(vis):
    with fault("ValidationException"):
        vis.list_open_workflow_executions({"domain": "d", "startTimeFilter": since(),
                                           "closeStatusFilter": {"status": "COMPLETED"}})


def test_execution_filter(store, vis):
    add(store, "a", run_id="r1", start=1, close=2, close_status="CONTINUED_AS_NEW")
    add(store, "a", run_id="r2", start=2)
    add(store, "b", start=3)
    assert [i["execution"]["runId"] for i in vis.list_open_workflow_executions(
        {"domain": "d", "startTimeFilter": since(), "executionFilter": {"workflowId": "a"}})["executionInfos"]] == ["r2"]
    closed = vis.list_closed_workflow_executions(
        {"domain": "d", "startTimeFilter": since(), "executionFilter": {"workflowId": "a"}})
    assert [i["execution"]["runId"] for i in closed["executionInfos"]] == ["r1"]
    assert vis.count_open_workflow_executions(
        {"domain": "d", "startTimeFilter": since(), "executionFilter": {"workflowId": "zzz"}})["count"] == 0


def test_type_filter_name_and_version(store, vis):
    add(store, "a1", start=1, type_name="A", type_version="1")
    add(store, "a2", start=2, type_name="A", type_version="2")
    add(store, "b1", start=3, type_name="B", type_version="1")
    base = {"domain": "d", "startTimeFilter": since()}
    assert ids(vis.list_open_workflow_executions({**base, "typeFilter": {"name": "A"}})) == ["a2", "a1"]
    assert ids(vis.list_open_workflow_executions({**base, "typeFilter": {"name": "A", "version": "1"}})) == ["a1"]
    assert vis.count_open_workflow_executions({**base, "typeFilter": {"name": "B", "version": "2"}})["count"] == 0
    with fault("ValidationException"):
        vis.list_open_workflow_executions({**base, "typeFilter": {"version": "1"}})


def test_tag_filter(store, vis):
    add(store, "a", start=1, tags=["red", "blue"])
    add(store, "b", start=2, tags=["blue"])
    add(store, "c", start=3)
    add(store, "x", start=4, tags=["red"], domain="other")
    add(store, "cl", start=5, close=6, close_status="COMPLETED", tags=["red"])
    base = {"domain": "d", "startTimeFilter": since()}
    assert ids(vis.list_open_workflow_executions({**base, "tagFilter": {"tag": "blue"}})) == ["b", "a"]
    assert ids(vis.list_open_workflow_executions({**base, "tagFilter": {"tag": "red"}})) == ["a"]
    assert vis.count_closed_workflow_executions({**base, "tagFilter": {"tag": "red"}})["count"] == 1
    assert vis.count_open_workflow_executions({**base, "tagFilter": {"tag": "green"}})["count"] == 0


def test_close_status_filter(store, vis):
    for i, status in enumerate(["COMPLETED", "FAILED", "CANCELED", "TERMINATED", "CONTINUED_AS_NEW",
                                "TIMED_OUT", "COMPLETED"]):
        add(store, f"w{i}", start=i, close=10 + i, close_status=status)
    base = {"domain": "d", "closeTimeFilter": since()}
    assert ids(vis.list_closed_workflow_executions({**base, "closeStatusFilter": {"status": "COMPLETED"}})) == [
        "w6", "w0"]
    assert vis.count_closed_workflow_executions({**base, "closeStatusFilter": {"status": "TIMED_OUT"}})["count"] == 1
    with fault("ValidationException"):
        vis.list_closed_workflow_executions({**base, "closeStatusFilter": {"status": "DONE"}})


def test_unknown_domain(vis):
    for call in (vis.list_open_workflow_executions, vis.count_open_workflow_executions,
                 vis.list_closed_workflow_executions, vis.count_closed_workflow_executions):
        with fault("UnknownResourceFault") as info:
            call({"domain": "nope", "startTimeFilter": since()})
        assert "nope" in info.value.message


def test_deprecated_domain_still_answers(store, registry, vis):
    add(store, "a", start=1)
    add(store, "b", start=1, close=2, close_status="COMPLETED")
    registry.deprecate_domain({"name": "d"})
    assert ids(vis.list_open_workflow_executions({"domain": "d", "startTimeFilter": since()})) == ["a"]
    assert vis.count_closed_workflow_executions({"domain": "d", "startTimeFilter": since()})["count"] == 1


def collect(call, params):
    items, pages, token = [], 0, None
    while True:
        request = dict(params, **({"nextPageToken": token} if token else {}))
        page = call(request)
        items.extend(page["executionInfos"])
        pages += 1
        token = page.get("nextPageToken")
        if not token:
            return items, pages


@pytest.mark.parametrize("reverse", [False, True])
def test_paging_both_directions_with_ties(store, vis, reverse):
    # Several executions share a start time: the keyset (time, workflowId, runId) must
    # neither skip nor repeat any of them across page boundaries.
    expected = []
    for i in range(10):
        add(store, f"w{i}", start=i // 3)
        expected.append((i // 3, f"w{i}"))
    expected.sort(reverse=not reverse)
    items, pages = collect(vis.list_open_workflow_executions,
                           {"domain": "d", "startTimeFilter": since(), "maximumPageSize": 3, "reverseOrder": reverse})
    assert [i["execution"]["workflowId"] for i in items] == [w for _, w in expected]
    assert pages == 4


@pytest.mark.parametrize("reverse", [False, True])
def test_paging_closed_by_close_time(store, vis, reverse):
    for i in range(7):
        add(store, f"w{i}", start=10 - i, close=20 + i, close_status="COMPLETED")
    items, pages = collect(vis.list_closed_workflow_executions,
                           {"domain": "d", "closeTimeFilter": since(), "maximumPageSize": 2, "reverseOrder": reverse})
    order = [f"w{i}" for i in range(7)]
    assert [i["execution"]["workflowId"] for i in items] == (order if reverse else order[::-1])
    assert pages == 4


def test_paging_is_stable_while_executions_start(store, vis):
    for i in range(4):
        add(store, f"w{i}", start=i)
    params = {"domain": "d", "startTimeFilter": since(), "maximumPageSize": 2}
    first = vis.list_open_workflow_executions(params)
    assert ids(first) == ["w3", "w2"]
    add(store, "newer", start=100)  # newer than the cut: must not shift the next page
    second = vis.list_open_workflow_executions({**params, "nextPageToken": first["nextPageToken"]})
    assert ids(second) == ["w1", "w0"]


def test_page_size_zero_is_default_and_bounds(store, vis):
    for i in range(3):
        add(store, f"w{i}", start=i)
    page = vis.list_open_workflow_executions({"domain": "d", "startTimeFilter": since(), "maximumPageSize": 0})
    assert len(page["executionInfos"]) == 3 and "nextPageToken" not in page
    with fault("ValidationException"):
        vis.list_open_workflow_executions({"domain": "d", "startTimeFilter": since(), "maximumPageSize": 1001})


def test_bad_page_tokens(store, vis, registry):
    for i in range(3):
        add(store, f"w{i}", start=i)
    params = {"domain": "d", "startTimeFilter": since(), "maximumPageSize": 1}
    token = vis.list_open_workflow_executions(params)["nextPageToken"]
    for bad in ("junk", token[:-1], token.replace(".", "x.", 1)):
        with fault("ValidationException"):
            vis.list_open_workflow_executions({**params, "nextPageToken": bad})
    # A token from another query (other filter, other operation, other service part) is refused.
    with fault("ValidationException"):
        vis.list_open_workflow_executions({**params, "startTimeFilter": since(1), "nextPageToken": token})
    with fault("ValidationException"):
        vis.list_closed_workflow_executions({**params, "nextPageToken": token})
    domains_token = registry.list_domains({"registrationStatus": "REGISTERED", "maximumPageSize": 1})["nextPageToken"]
    with fault("ValidationException"):
        vis.list_open_workflow_executions({**params, "nextPageToken": domains_token})


def test_operations_have_methods(vis):
    assert set(Visibility.OPERATIONS) == {"ListOpenWorkflowExecutions", "ListClosedWorkflowExecutions",
                                          "CountOpenWorkflowExecutions", "CountClosedWorkflowExecutions"}
    for name in ("list_open_workflow_executions", "list_closed_workflow_executions",
                 "count_open_workflow_executions", "count_closed_workflow_executions"):
        assert callable(getattr(vis, name))
