"""The deadline heap: every SWF timeout and timer of every open execution.

Entries are ``(deadline, seq, kind, args)``. Like task queues, the heap is changed only
after a commit and may hold stale entries (a timer since cancelled, an activity since
completed): the engine checks each entry against the execution's state when it is due, so
an entry never needs removing. It is rebuilt from the database on start-up, so timers and
timeouts resume from their stored deadlines after a restart.

It sits below :mod:`._state` (which owns the heap) and :mod:`._scheduler` (which fires it).
"""

from __future__ import annotations

import heapq
import itertools
from typing import Any


class Deadlines:
    """A min-heap of ``(deadline, kind, args)`` entries."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, str, tuple]] = []
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, deadline: float, kind: str, *args: Any) -> bool:
        """Add an entry; returns whether it is now the earliest one (the scheduler must wake)."""
        entry = (deadline, next(self._seq), kind, args)
        heapq.heappush(self._heap, entry)
        return self._heap[0] is entry

    def next_deadline(self) -> float | None:
        """The earliest deadline, or ``None`` when the heap is empty."""
        return self._heap[0][0] if self._heap else None

    def earliest(self, exclude: tuple[str, ...] = ("sweep",)) -> float | None:
        """The earliest deadline not of a kind in ``exclude`` (O(n); for tests and tools)."""
        due = [entry[0] for entry in self._heap if entry[2] not in exclude]
        return min(due) if due else None

    def pop_due(self, now: float) -> tuple[str, tuple] | None:
        """Remove and return the earliest entry due at ``now`` (``(kind, args)``), or ``None``."""
        if self._heap and self._heap[0][0] <= now:
            _, _, kind, args = heapq.heappop(self._heap)
            return kind, args
        return None

    def clear(self, keep: str | None = None) -> None:
        """Forget every entry (before a rebuild), except those of kind ``keep``."""
        self._heap = [entry for entry in self._heap if entry[2] == keep] if keep else []
        heapq.heapify(self._heap)
