"""Checks and conversions of SWF's small value types: durations, priorities, run IDs."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from .._faults import validation_error

NONE = "NONE"
#: SWF's hard limit of an execution's duration (1 year), in seconds.
MAX_EXECUTION_SECONDS = 31_536_000


def check_duration(value: Any, field: str, *, allow_none: bool = True, maximum: int | None = None) -> str:
    """``value`` if it is a valid SWF duration string (digits, or ``NONE`` if allowed).

    Raises:
        Fault: ``ValidationException`` naming ``field``.
    """
    if isinstance(value, str):
        if value == NONE and allow_none:
            return value
        if value.isascii() and value.isdigit() and (maximum is None or int(value) <= maximum):
            return value
    allowed = "an integer number of seconds" + (" or NONE" if allow_none else "")
    if maximum is not None:
        allowed += f" of at most {maximum}"
    raise validation_error(f"Invalid value {value!r} for {field}: must be {allowed}")


def seconds(duration: str | None) -> int | None:
    """The seconds of a checked duration, ``None`` for ``NONE`` or absent."""
    if duration is None or duration == NONE:
        return None
    return int(duration)


def check_priority(value: Any, field: str) -> str | None:
    """``value`` if it is a valid task priority (a signed 32-bit integer in a string) or ``None``."""
    if value is None:
        return None
    try:
        number = int(value) if isinstance(value, str) else None
    except ValueError:
        number = None
    if number is None or not -2**31 <= number < 2**31:
        raise validation_error(f"Invalid value {value!r} for {field}: must be an integer from "
                               f"-2147483648 to 2147483647 in a string")
    return value


def priority(value: str | None) -> int:
    """The numeric priority of a task (0 when unset)."""
    return int(value) if value else 0


def new_run_id() -> str:
    """A fresh runId shaped like SWF's (44 characters of base64)."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")
