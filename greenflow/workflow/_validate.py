"""Checks shared by the workflow and activity decorators: SWF name rules and durations.

Each checker returns a problem string (or ``None``) instead of raising, so a decorator can
collect every problem and raise one :class:`~greenflow.errors.DefinitionError` naming them all.
"""

from __future__ import annotations

import datetime
from typing import Any

#: SWF's child policies (``ChildPolicy`` enum).
CHILD_POLICIES = ("TERMINATE", "REQUEST_CANCEL", "ABANDON")

_FORBIDDEN = set(":/|") | {chr(c) for c in range(0x20)} | {chr(c) for c in range(0x7F, 0xA0)}


def name_problem(what: str, value: Any, limit: int = 256) -> str | None:
    """Return why ``value`` is not a valid SWF name (type name, version, ID), or None."""
    if not isinstance(value, str):
        return f"{what} must be a string, not {type(value).__name__}"
    if not 1 <= len(value) <= limit:
        return f"{what} {value!r} must be 1 to {limit} characters long"
    if value == "arn":
        return f"{what} must not be the literal 'arn'"
    bad = sorted({c for c in value if c in _FORBIDDEN})
    if bad:
        return f"{what} {value!r} contains characters SWF forbids: {bad!r} (no ':', '/', '|' or control characters)"
    return None


def duration(value: Any) -> int | None:
    """Normalise a duration (seconds as int/float, or a timedelta) to whole seconds.

    Raises ValueError or TypeError with a short message on a bad value.
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
    if value > 99_999_999:
        raise ValueError(f"is too long ({value} s)")
    return int(value)


def check_durations(problems: list[str], values: dict[str, Any]) -> dict[str, int | None]:
    """Normalise each named duration, appending a problem for each bad one."""
    out: dict[str, int | None] = {}
    for key, value in values.items():
        try:
            out[key] = duration(value)
        except (TypeError, ValueError) as error:
            problems.append(f"{key} {error}")
            out[key] = None
    return out


def priority_problem(value: Any) -> str | None:
    """Return why ``value`` is not an SWF task priority (signed 32-bit int), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not -2**31 <= value < 2**31:
        return f"task_priority must be an int in the signed 32-bit range, not {value!r}"
    return None


def seconds_text(value: int | None) -> str | None:
    """SWF's wire form of a duration (a decimal string), or None to leave it unset."""
    return None if value is None else str(int(value))
