"""Conversions of SWF's small value types: durations, priorities, run IDs.

The rules these values follow are checked in one place, :mod:`.._rules`.
"""

from __future__ import annotations

import base64
import secrets

from ..wire._rules import NONE


def seconds(duration: str | None) -> int | None:
    """The seconds of a checked duration, ``None`` for ``NONE`` or absent."""
    if duration is None or duration == NONE:
        return None
    return int(duration)


def priority(value: str | None) -> int:
    """The numeric priority of a task (0 when unset)."""
    return int(value) if value else 0


def new_run_id() -> str:
    """A fresh runId shaped like SWF's (44 characters of base64)."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")
