"""Holding a ``ListClosedWorkflowExecutions`` call until an execution of its domain closes.

The client's result waiter (``greenflow._result_waiter``) lists the executions closed since
its cursor; with the request header ``greenflow._extensions.CLOSE_WAIT_HEADER``
(``"<seconds> <count>"``) the service holds that call, like a long poll, while at most
``count`` executions of the domain closed at or after the request's
``closeTimeFilter.oldestDate``, so the waiter is woken when results are ready instead of
polling. The answer is then the ordinary listing.

The engine calls :meth:`CloseSignal.notify` once a run's close is committed; everything
runs in the service's single gevent hub thread.
"""

from __future__ import annotations

import time
from typing import Any

from gevent.event import Event

from .._extensions import MAX_CLOSE_WAIT
from ._waiting import before_blocking, woke

__all__ = ["CloseSignal", "parse_close_wait"]


class CloseSignal:
    """Per domain, wakes the calls waiting for one of its executions to close."""

    def __init__(self) -> None:
        self._events: dict[str, Event] = {}

    def notify(self, domain: str) -> None:
        """An execution of ``domain`` closed (its close is committed): wake its waiters."""
        event = self._events.pop(domain, None)
        if event is not None:
            event.set()
            woke()

    def wake_all(self) -> None:
        """Wake every waiter (the service is stopping; they answer what they have)."""
        events, self._events = self._events, {}
        for event in events.values():
            event.set()

    def wait(self, domain: str, timeout: float) -> bool:
        """Block this greenlet until :meth:`notify` for ``domain`` or ``timeout`` seconds."""
        event = self._events.get(domain)
        if event is None:
            event = self._events[domain] = Event()
        return event.wait(timeout)

    def hold(self, store: Any, domain: str, oldest: float, counted: int, seconds: float,
             stopping: Any = lambda: False) -> None:
        """Return once more than ``counted`` executions of ``domain`` closed at or after
        ``oldest`` (SWF time), or after ``seconds`` real seconds, or when the service stops."""
        deadline = time.monotonic() + seconds
        # Counting and then waiting happen without a greenlet switch in between, so a close
        # committed after the count always wakes this wait.
        while _closed_since(store, domain, oldest) <= counted and not stopping():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            announce = before_blocking.get()
            if announce is not None:
                announce()  # the HTTP layer watches the connection for a hang-up from now on
            self.wait(domain, left)


def _closed_since(store: Any, domain: str, oldest: float) -> int:
    # A range count on the partial index of closed runs by close time.
    (count,) = store.connection.execute(
        "SELECT COUNT(*) FROM executions WHERE domain = ? AND status = 'CLOSED' AND close_ts >= ?",
        (domain, oldest)).fetchone()
    return int(count)


def parse_close_wait(value: str | None) -> tuple[float, int] | None:
    """``(seconds, count)`` from the header's text, seconds at most ``MAX_CLOSE_WAIT``;
    ``None`` if absent or malformed (the call is then answered at once, as without it)."""
    if value is None:
        return None
    parts = value.split()
    if len(parts) != 2:
        return None
    try:
        seconds, counted = float(parts[0]), int(parts[1])
    except ValueError:
        return None
    if not seconds >= 0 or counted < 0:  # also rejects NaN
        return None
    return min(seconds, MAX_CLOSE_WAIT), counted
