"""Where the local SWF service's time comes from.

SWF time (event timestamps, timeouts, timers) always comes from a :class:`Clock`, so tests
can drive a :class:`VirtualClock` instead of sleeping. Long polls wait in *real* time
whatever the clock, because a waiting client is a real thing.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Anything with ``now()`` returning epoch seconds as a float."""

    def now(self) -> float:
        """The current time, in epoch seconds."""
        ...


class SystemClock:
    """The wall clock (``time.time()``)."""

    def now(self) -> float:
        """The current wall-clock time, in epoch seconds."""
        return time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


class VirtualClock:
    """A clock that only moves when told to (tests, simulations).

    Args:
        start: the initial time in epoch seconds; the current wall-clock time if omitted.
    """

    def __init__(self, start: float | None = None):
        self._now = float(time.time() if start is None else start)

    def now(self) -> float:
        """The virtual time, in epoch seconds."""
        return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (≥ 0) and return the new time.

        Moving the clock alone fires nothing; ``LocalService.advance_time`` moves it *and*
        fires every timer and timeout now due.
        """
        if seconds < 0:
            raise ValueError(f"a clock cannot go back in time (advance({seconds!r}))")
        self._now += float(seconds)
        return self._now

    def __repr__(self) -> str:
        return f"VirtualClock({self._now!r})"
