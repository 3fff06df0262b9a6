"""Checks shared by the workflow and activity decorators and option context managers.

SWF's rules themselves live in :mod:`greenflow._swf_rules` (shared with the local
service); this module applies them to Python values (ints, timedeltas, sequences).
Each checker returns a problem string (or ``None``) instead of raising, so a decorator can
collect every problem and raise one :class:`~greenflow.errors.DefinitionError` naming them all.
"""

from __future__ import annotations

import datetime
from typing import Any

from greenflow import _swf_rules as rules

from ._retry import RetryPolicy


def name_problem(what: str, value: Any, limit: int = rules.MAX_NAME) -> str | None:
    """Return why ``value`` is not a valid SWF name (type name, version, ID), or None."""
    if not isinstance(value, str):
        return f"{what} must be a string, not {type(value).__name__}"
    if not 1 <= len(value) <= limit:
        return f"{what} {value!r} must be 1 to {limit} characters long"
    problem = rules.name_problem(value)
    return None if problem is None else f"{what} {value!r} {problem}"


def version_problem(value: Any) -> str | None:
    """Return why ``value`` is not a valid type version (a name of at most 64 characters), or None."""
    return name_problem("version", value, rules.MAX_VERSION)


def duration(value: Any, limit: int = rules.MAX_DURATION_SECONDS) -> int | None:
    """Return whole seconds for a duration given as seconds (int/float) or a timedelta; None stays None.

    Raises:
        TypeError: ``value`` is neither a number nor a timedelta.
        ValueError: it is negative, not whole, or over ``limit`` seconds.
    """
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"must be seconds (int) or a timedelta, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"must be >= 0 seconds, not {value}")
    if value != int(value):
        raise ValueError(f"SWF counts whole seconds; got {value}")
    if value > limit:
        raise ValueError(f"must be at most {limit} seconds, not {value}")
    return int(value)


def check_durations(problems: list[str], values: dict[str, Any]) -> dict[str, int | None]:
    """Normalise each named duration, appending a problem for each bad one.

    ``execution_start_to_close_timeout`` is held to SWF's one-year limit of an execution.
    """
    out: dict[str, int | None] = {}
    for key, value in values.items():
        limit = rules.MAX_EXECUTION_SECONDS if key == "execution_start_to_close_timeout" \
            else rules.MAX_DURATION_SECONDS
        try:
            out[key] = duration(value, limit)
        except (TypeError, ValueError) as error:
            problems.append(f"{key} {error}")
            out[key] = None
    return out


#: The activity timeouts, in the order SWF's documentation lists them.
ACTIVITY_TIMEOUTS = ("schedule_to_start_timeout", "start_to_close_timeout", "schedule_to_close_timeout",
                     "heartbeat_timeout")


def check_activity_timeouts(problems: list[str], schedule_to_start_timeout: Any, start_to_close_timeout: Any,
                            schedule_to_close_timeout: Any, heartbeat_timeout: Any) -> dict[str, int | None]:
    """:func:`check_durations` for the four activity timeouts (keys: :data:`ACTIVITY_TIMEOUTS`)."""
    return check_durations(problems, dict(zip(ACTIVITY_TIMEOUTS, (
        schedule_to_start_timeout, start_to_close_timeout, schedule_to_close_timeout, heartbeat_timeout))))


def priority_problem(value: Any) -> str | None:
    """Return why ``value`` is not an SWF task priority (signed 32-bit int), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not rules.priority_in_range(value):
        return f"task_priority must be an int in the signed 32-bit range, not {value!r}"
    return None


def child_policy_problem(value: Any) -> str | None:
    """Return why ``value`` is not one of SWF's child policies (None is fine), or None."""
    if value is not None and value not in rules.CHILD_POLICIES:
        return f"child_policy must be one of {rules.CHILD_POLICIES}, not {value!r}"
    return None


def description_problem(value: Any) -> str | None:
    """Return why ``value`` is not a type description (None is fine), or None."""
    if value is not None and (not isinstance(value, str) or len(value) > rules.MAX_DESCRIPTION):
        return f"description must be a string of at most {rules.MAX_DESCRIPTION} characters"
    return None


def tags_problem(value: Any) -> str | None:
    """Return why ``value`` is not an execution's tag list (None is fine), or None."""
    if value is None:
        return None
    if isinstance(value, str) or len(value) > rules.MAX_TAGS \
            or not all(isinstance(t, str) and 0 < len(t) <= rules.MAX_TAG for t in value):
        return f"tags must be at most {rules.MAX_TAGS} strings of 1 to {rules.MAX_TAG} characters, not {value!r}"
    return None


def retry_problem(value: Any) -> str | None:
    """Return why ``value`` is not a :class:`~greenflow.workflow.RetryPolicy` (None is fine), or None."""
    if value is not None and not isinstance(value, RetryPolicy):
        return f"retry must be a RetryPolicy, not {type(value).__name__}"
    return None


def collect(*problems: str | None) -> list[str]:
    """The problems that are not None, in order."""
    return [p for p in problems if p is not None]


def seconds_text(value: int | None) -> str | None:
    """Return SWF's wire form of a duration (a decimal string), or None to leave it unset."""
    return None if value is None else str(int(value))
