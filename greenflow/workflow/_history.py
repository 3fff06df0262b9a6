"""Reading SWF history events, and the names greenflow writes into history.

Helpers every part of a run (and the decider, the replayer) use on raw event dicts:
timestamps as datetimes, one-line descriptions for error messages, the part of a history
decisions have seen, a saved history's run ID. The constants are the marker names, timer
IDs and execution context greenflow records, so that replay recognises its own events.
"""

from __future__ import annotations

import datetime
from typing import Any

from greenflow._swf_rules import event_attributes as attrs_of

#: executionContext of a decision that held some commands back (see ``_split.py``).
SPLIT_CONTEXT = "greenflow:split"
#: timerId prefix of the zero-second timers that ask SWF for another decision task after a
#: split; replay ignores their events.
CONTINUE_TIMER_PREFIX = "greenflow-continue-"
#: What ``version()`` returns where history shows the code ran before the change existed.
DEFAULT_VERSION = -1

SIDE_EFFECT_MARKER = "greenflow.side_effect."
VERSION_MARKER = "greenflow.version."


def to_datetime(value: Any) -> datetime.datetime | None:
    """An event timestamp (datetime from botocore, epoch float from JSON) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    if isinstance(value, str):
        try:
            return datetime.datetime.fromtimestamp(float(value), datetime.timezone.utc)
        except ValueError:
            return to_datetime(datetime.datetime.fromisoformat(value.replace("Z", "+00:00")))
    raise TypeError(f"unrecognised event timestamp {value!r}")


def describe_event(event: dict) -> str:
    """A short human description of a history event, for error messages."""
    t = event.get("eventType", "?")
    a = attrs_of(event)
    if "activityType" in a:
        kind = a["activityType"]
        return f"{t} {kind.get('name')} version {kind.get('version')} id={a.get('activityId')}"
    if "workflowType" in a and "workflowId" in a:
        kind = a["workflowType"]
        return f"{t} {kind.get('name')} version {kind.get('version')} workflowId={a['workflowId']}"
    if "timerId" in a:
        return f"{t} id={a['timerId']}"
    if "markerName" in a:
        return f"{t} {a['markerName']}"
    if "signalName" in a:
        return f"{t} {a['signalName']} to {a.get('workflowId')}"
    if "activityId" in a:
        return f"{t} id={a['activityId']}"
    if "workflowId" in a:
        return f"{t} {a['workflowId']}"
    return t



def optional_seconds(text: Any) -> int | None:
    """A whole-seconds attribute of an event (``"NONE"`` or missing: ``None``)."""
    if text in (None, "", "NONE"):
        return None
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def decided_events(events: list[dict]) -> list[dict]:
    """``events`` without a trailing ``DecisionTaskStarted``: only what decisions have seen.

    A history that ends in ``DecisionTaskStarted`` has a decision in flight; replaying that
    last batch would run workflow code live (speculative state, real side effects) in a
    process that is not deciding. Queries and stack traces replay decided history only.
    """
    if events and events[-1].get("eventType") == "DecisionTaskStarted":
        return events[:-1]
    return events


def infer_run_id(events: list[dict]) -> str:
    """Best guess of a history's run ID when the caller does not know it (saved histories).

    The run ID seeds ``random()``/``uuid4()`` and names children (``<runId>-<n>``), so a
    replay needs it; a default child ID in history reveals it. Returns "" when unknown.
    """
    for event in events:
        if event.get("eventType") == "StartChildWorkflowExecutionInitiated":
            workflow_id = event["startChildWorkflowExecutionInitiatedEventAttributes"].get("workflowId", "")
            prefix, _, number = workflow_id.rpartition("-")
            if prefix and number.isdigit():
                return prefix
    return ""
