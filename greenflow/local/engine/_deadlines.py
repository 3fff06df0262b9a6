"""Deadlines: which timers and timeouts an open run has, and the heap of the next ones.

Every open run's row holds a lower bound of its deadlines in ``executions.next_deadline``
(indexed), so memory holds only a *window* of deadlines: the heap holds every deadline at
or before its :attr:`Deadlines.horizon`, a position ``(when, domain, workflowId, runId)``
in the order of that index. When the clock passes the horizon the engine reads the next
window from the index (see ``EngineState.pop_due``); deadlines armed beyond the horizon stay
in the database only. So a service with 100,000 runs waiting on month-long timers keeps a
few hundred of them in memory, and starts without reading them all.

Entries are ``(deadline, seq, kind, args)``. Like task queues, the heap is changed only
after a commit and may hold stale entries (a timer since cancelled, an activity since
completed): the engine checks each entry against the execution's state when it is due, so
an entry never needs removing.

Why a window stays complete: a run's deadlines are all at or after its ``next_deadline``.
The window read after the horizon takes the runs whose ``next_deadline`` lies beyond it;
a run whose ``next_deadline`` lies within it has its deadlines up to the horizon in memory,
and when the earliest fires (or is overtaken by a change of the run) the run is written
again, with ``next_deadline`` moved beyond the horizon if its deadlines now all lie there
(``Execution._deadline_to_store``), before the clock can pass the horizon.

It sits below :mod:`._execution` (which stores ``next_deadline``), :mod:`._state` (which
owns the heap) and :mod:`._scheduler` (which fires it).
"""

from __future__ import annotations

import heapq
import itertools
from typing import TYPE_CHECKING, Any

from ._values import seconds

if TYPE_CHECKING:
    from ._execution import Execution

#: A position in the order of the deadline index: ``(when, domain, workflowId, runId)``.
Position = tuple[float, str, str, str]

#: Before every deadline: nothing is loaded yet.
START: Position = (float("-inf"), "", "", "")


class Deadlines:
    """A min-heap of ``(deadline, kind, args)`` entries: those up to :attr:`horizon`.

    Attributes:
        horizon: every deadline at or before this position is in the heap (those after it
            are in the database only); ``None``: every deadline is in the heap.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, str, tuple]] = []
        self._seq = itertools.count()
        self.horizon: Position | None = None

    def __len__(self) -> int:
        return len(self._heap)

    def covers(self, when: float, key: tuple[str, str, str]) -> bool:
        """Whether a deadline of run ``key`` at ``when`` belongs in the heap (within the horizon)."""
        horizon = self.horizon
        return horizon is None or (when, *key) <= horizon

    def push(self, deadline: float, kind: str, *args: Any) -> bool:
        """Add an entry; returns whether it is now the earliest one (the scheduler must wake)."""
        entry = (deadline, next(self._seq), kind, args)
        heapq.heappush(self._heap, entry)
        return self._heap[0] is entry

    def next_deadline(self) -> float | None:
        """When the scheduler must next look: the earliest entry, or the horizon if earlier
        (the next window is read then); ``None`` when there is neither."""
        top = self._heap[0][0] if self._heap else None
        if self.horizon is None:
            return top
        return self.horizon[0] if top is None else min(top, self.horizon[0])

    def earliest(self, exclude: tuple[str, ...] = ("sweep",)) -> float | None:
        """The earliest entry in the heap not of a kind in ``exclude`` (O(n); for tests and tools)."""
        due = [entry[0] for entry in self._heap if entry[2] not in exclude]
        return min(due) if due else None

    def pop_due(self, now: float) -> tuple[str, tuple] | None:
        """Remove and return the earliest entry due at ``now`` (``(kind, args)``), or ``None``."""
        if self._heap and self._heap[0][0] <= now:
            _, _, kind, args = heapq.heappop(self._heap)
            return kind, args
        return None

    def clear(self, keep: str | None = None) -> None:
        """Forget every entry (before a rebuild), except those of kind ``keep``.

        The horizon goes back to :data:`START`: the next window is read from the database.
        """
        self._heap = [entry for entry in self._heap if entry[2] == keep] if keep else []
        heapq.heapify(self._heap)
        self.horizon = START


def activity_deadlines(record: dict) -> list[tuple[str, float]]:
    """The deadlines of an open activity task as ``(kind, when)`` pairs (from its record)."""
    result = []
    scheduled_ts = record["scheduled_ts"]
    if not record["started"]:
        s2s = seconds(record["s2s"])
        if s2s is not None:
            result.append(("activity_s2s", scheduled_ts + s2s))
    s2c = seconds(record["s2c"])
    if s2c is not None:
        result.append(("activity_s2c", scheduled_ts + s2c))
    if record["started"]:
        st2c = seconds(record["st2c"])
        if st2c is not None:
            result.append(("activity_st2c", record["started_ts"] + st2c))
        hb = seconds(record["hb"])
        if hb is not None:
            result.append(("activity_hb", record["last_hb"] + hb))
    return result


def run_deadlines(ex: Execution) -> list[tuple[float, str, tuple]]:
    """Every deadline of an open run as ``(when, kind, args)`` (``Execution.next_deadline``
    is the earliest of their times)."""
    key = ex.key
    result: list[tuple[float, str, tuple]] = []
    timeout = seconds(ex.config["executionStartToCloseTimeout"])
    if timeout is not None:
        result.append((ex.start_ts + timeout, "workflow", (key,)))
    d = ex.decision
    if d is not None:
        if not d["started"]:
            s2s = seconds(d["s2s"])
            if s2s is not None:
                result.append((d["scheduled_ts"] + s2s, "decision_s2s", (key, d["scheduled"])))
        else:
            s2c = seconds(ex.config["taskStartToCloseTimeout"])
            if s2c is not None:
                result.append((d["started_ts"] + s2c, "decision_s2c", (key, d["scheduled"], d["started"])))
    for record in ex.activities.values():
        for kind, when in activity_deadlines(record):
            result.append((when, kind, (key, record["scheduled"], record["started"])))
    for timer_id, timer in ex.timers.items():
        result.append((timer["fire_at"], "timer", (key, timer_id, timer["started"])))
    return result
