"""SWF's value rules that both sides of greenflow check: stdlib only, no greenflow imports.

SWF states these rules only in its API documentation (botocore does not check them), and
two layers need them: the workflow and activity decorators check Python values at import
time (:mod:`greenflow.workflow._validate`), and the local service checks request members
on the wire (:mod:`greenflow.local.wire._rules`). Keeping the facts here means the two cannot
drift apart, and neither layer imports the other (see DESIGN's dependency direction).

It also holds the one wire-naming rule both sides apply to history events: where an
event's attributes are (:func:`event_attributes`).

Each ``*_problem`` function returns the constraint a value breaks, phrased to follow a
member's name (``"must not contain ..."``), or ``None`` when the value is fine.
"""

from __future__ import annotations

import re

#: The duration value meaning "no timeout".
NONE = "NONE"
#: Longest name: domains, type names, task lists, workflow/activity/timer IDs, signal names.
MAX_NAME = 256
#: Longest type version.
MAX_VERSION = 64
#: Longest type or domain description.
MAX_DESCRIPTION = 1024
#: Most tags on an execution, and the longest tag.
MAX_TAGS, MAX_TAG = 5, 256
#: Longest duration: SWF's duration members are strings of at most 8 digits.
MAX_DURATION_SECONDS = 99_999_999
#: SWF's hard limit of an execution's duration: one year, in seconds.
MAX_EXECUTION_SECONDS = 31_536_000
#: SWF's maximum workflow-history retention, in days.
MAX_RETENTION_DAYS = 90
#: A task priority is a 32-bit signed integer.
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
#: SWF's child policies (the ``ChildPolicy`` enum).
CHILD_POLICIES = ("TERMINATE", "REQUEST_CANCEL", "ABANDON")
#: SWF's close statuses (the ``CloseStatus`` enum).
CLOSE_STATUSES = ("COMPLETED", "FAILED", "CANCELED", "TERMINATED", "CONTINUED_AS_NEW", "TIMED_OUT")

#: Characters no SWF name may hold: ':', '/', '|' and control characters (C0, DEL and C1).
FORBIDDEN_NAME_CHARS = re.compile(r"[:/|\u0000-\u001f\u007f-\u009f]")


def name_problem(value: str) -> str | None:
    """Return why ``value`` breaks the character rule of SWF names (domains, types, task lists, IDs), or None.

    Lengths differ by member and are checked by the caller.
    """
    if FORBIDDEN_NAME_CHARS.search(value):
        return "must not contain ':', '/', '|' or control characters (\\u0000-\\u001f, \\u007f-\\u009f)"
    if value == "arn":
        return "must not be the literal string 'arn'"
    return None


def priority_in_range(value: int) -> bool:
    """Whether ``value`` fits SWF's task priority (a 32-bit signed integer)."""
    return INT32_MIN <= value <= INT32_MAX


def attributes_key(event_type: str) -> str:
    """The member of a history event holding its attributes: ``"ActivityTaskScheduled"`` →
    ``"activityTaskScheduledEventAttributes"``."""
    key = _ATTRIBUTES_KEYS.get(event_type)
    if key is None:
        key = _ATTRIBUTES_KEYS[event_type] = event_type[0].lower() + event_type[1:] + "EventAttributes"
    return key


# Replay looks this up for every event: build each key once.
_ATTRIBUTES_KEYS: dict[str, str] = {}


def event_attributes(event: dict) -> dict:
    """The attributes of a history event (``{}`` if it has none)."""
    return event.get(attributes_key(event["eventType"])) or {}


__all__ = [
    "NONE", "MAX_NAME", "MAX_VERSION", "MAX_DESCRIPTION", "MAX_TAGS", "MAX_TAG", "MAX_DURATION_SECONDS",
    "MAX_EXECUTION_SECONDS", "MAX_RETENTION_DAYS", "INT32_MIN", "INT32_MAX", "CHILD_POLICIES",
    "CLOSE_STATUSES", "FORBIDDEN_NAME_CHARS", "name_problem", "priority_in_range", "attributes_key",
    "event_attributes",
]
