"""The console's reading of SWF data: timeline folding, safe decoding, filters (no browser)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys

import pytest

from greenflow.console._decode import decode_failure, decode_input, decode_value
from greenflow.console._filters import FilterError, parse_filter
from greenflow.console._timeline import build_timeline
from greenflow.converter import DEFAULT_CONVERTER, failure_from_exception

HISTORIES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "workflow", "histories")
T0 = _dt.datetime(2030, 1, 1, tzinfo=_dt.timezone.utc)


def _events(name: str) -> list[dict]:
    with open(os.path.join(HISTORIES, name), encoding="utf-8") as stream:
        events = json.load(stream)["events"]
    for event in events:
        event["eventTimestamp"] = _dt.datetime.fromtimestamp(event["eventTimestamp"], _dt.timezone.utc)
    return events


def _event(event_id: int, kind: str, seconds: float, **attributes) -> dict:
    key = kind[0].lower() + kind[1:] + "EventAttributes"
    return {"eventId": event_id, "eventType": kind, "eventTimestamp": T0 + _dt.timedelta(seconds=seconds),
            key: attributes}


def test_a_recorded_parent_history_folds_into_its_child_row():
    timeline = build_timeline(_events("local_parent.json"), lambda what: DEFAULT_CONVERTER)
    assert timeline.workflow.state == "completed" and timeline.workflow.title == "Parent 1.0"
    assert timeline.workflow.input.summary == "(4)"
    [child] = timeline.children
    assert child.state == "completed" and child.link and child.link["workflowId"] == child.ident
    assert [group.kind for group in timeline.groups].count("decision") == 2
    assert timeline.events == 11


def test_activity_rows_follow_their_events_and_pending_ones_are_open():
    failure = failure_from_exception(ValueError("out of stock"))
    events = [
        _event(1, "WorkflowExecutionStarted", 0, workflowType={"name": "W", "version": "1"}, input='{"args":[7]}'),
        _event(2, "ActivityTaskScheduled", 1, activityType={"name": "A.ship", "version": "1"}, activityId="1",
               input='{"args":["box"]}'),
        _event(3, "ActivityTaskStarted", 3, scheduledEventId=2),
        _event(4, "ActivityTaskFailed", 6, scheduledEventId=2, reason=failure[0], details=failure[1]),
        _event(5, "TimerStarted", 6, timerId="t1", startToFireTimeout="60", decisionTaskCompletedEventId=0),
        _event(6, "ActivityTaskScheduled", 7, activityType={"name": "A.pack", "version": "1"}, activityId="2"),
        _event(7, "WorkflowExecutionSignaled", 8, signalName="go", input='{"args":[{"fast":true}]}'),
    ]
    timeline = build_timeline(events, lambda what: DEFAULT_CONVERTER)
    ship, timer, pack, signal = timeline.groups
    assert (ship.state, ship.failed, ship.event_ids) == ("failed", True, [2, 3, 4])
    assert ship.duration(None) == 5.0 and ship.waited() == 2.0
    assert ship.outcome.summary == "ValueError: out of stock"
    assert ship.input.summary == "('box')"
    assert [g.title for g in timeline.of_kind("activity", open_only=True)] == ["A.pack 1"]
    assert timer.is_open and timer.ident == "t1"
    assert signal.input.summary == "({'fast': True})"
    assert timeline.position(ship, T0 + _dt.timedelta(seconds=10)) == (10.0, 50.0)


def test_payloads_never_import_what_they_name():
    assert "json.tool" not in sys.modules
    text = json.dumps({"__gf__": "dataclass", "type": "json.tool:Thing", "fields": {"a": 1}})
    shown = decode_value(text)
    assert "json.tool" not in sys.modules
    assert shown is not None and shown.text  # shown somehow, without running anything
    raw = decode_value("{not json")
    assert raw is not None and not raw.decoded and "could not read" in raw.note
    assert decode_input("") is None
    assert decode_failure("myapp.Boom", "not a payload").summary.startswith("myapp.Boom")


@pytest.mark.parametrize("query, problem", [
    ({"id": "a", "tag": "b"}, "one of workflow ID, type, tag or close status at a time"),
    ({"status": "FAILED"}, "close status filters closed executions"),
    ({"state": "closed", "status": "LOST"}, "close status must be one of"),
    ({"since": "yesterday"}, "is not a date"),
    ({"since": "2030-01-02", "until": "2030-01-01"}, "since is after until"),
    ({"time": "close"}, "close time filters closed executions"),
    ({"size": "7"}, "size must be one of"),
    ({"state": "gone"}, "state must be"),
])
def test_bad_filters_are_named(query, problem):
    with pytest.raises(FilterError, match=problem):
        parse_filter(query)


def test_a_filter_becomes_swf_members_and_back():
    selection = parse_filter({"state": "closed", "type": "Order:2.0", "since": "2030-01-01T10:00", "time": "close"})
    params = selection.swf_params("shop")
    assert params["typeFilter"] == {"name": "Order", "version": "2.0"}
    assert params["closeTimeFilter"]["oldestDate"] == _dt.datetime(2030, 1, 1, 10, tzinfo=_dt.timezone.utc)
    assert parse_filter(selection.query()) == selection
