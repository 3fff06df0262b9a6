"""A unit of work: everything one request (or one fired timeout) changes, applied atomically.

Handlers change :class:`~._execution.Execution` objects in memory and record what else must
happen through a :class:`Unit`: new history events, rows to write, and in-memory side
effects (task queue entries, deadlines, waking pollers) that must only happen once the
transaction committed. The engine then writes everything in one store transaction; if
anything raises, SQLite rolls back, the touched executions are reloaded from the database
and the side effects are dropped, so memory never disagrees with what is durable.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Callable

from ..._swf_rules import attributes_key
from ..wire._json import dumps as _dumps
from ._execution import Execution


def compact(attributes: dict[str, Any]) -> dict[str, Any]:
    """The attributes without members that are ``None`` (SWF leaves absent members out)."""
    return {key: value for key, value in attributes.items() if value is not None}


class EventLimitReached(Exception):
    """An event would take a run's history to SWF's event limit (internal; see ``EngineState.run``)."""

    def __init__(self, key: tuple[str, str, str]):
        super().__init__(key)
        self.key = key


#: The one event still recorded at the limit: SWF's termination of the run.
_AT_LIMIT = "WorkflowExecutionTerminated"


class Unit:
    """What one request changes. See the module docstring.

    Attributes:
        now: the clock's time for the whole unit (every event gets this timestamp).
        touched: executions changed by this unit, by key.
        created: keys of executions this unit started.
        events_added: history events recorded by this unit.
        decisions_opened: decision tasks opened minus those closed by this unit (once flushed).
    """

    def __init__(self, now: float, event_limit: int = 25_000):
        self.now = now
        self.event_limit = event_limit
        self.touched: dict[tuple[str, str, str], Execution] = {}
        self.created: set[tuple[str, str, str]] = set()
        self._rows: list[tuple] = []
        self._after: list[Callable[[], None]] = []
        self.events_added = 0
        self.decisions_opened = 0

    def touch(self, ex: Execution) -> None:
        """Mark ``ex`` changed, so its row is written when the unit commits.

        Call it *before* changing an execution in memory (recording an event does it), so
        that a failure later in the unit reloads the execution from the database.
        """
        self.touched[ex.key] = ex
        if ex.is_new:
            self.created.add(ex.key)

    def event(self, ex: Execution, event_type: str, attributes: dict[str, Any]) -> int:
        """Append a history event to ``ex`` (``None`` members dropped); returns its eventId."""
        event_id = ex.next_event_id
        if event_id >= self.event_limit and event_type != _AT_LIMIT:
            # The last event ID is kept for the termination SWF records at the limit.
            raise EventLimitReached(ex.key)
        ex.next_event_id = event_id + 1
        self.events_added += 1
        event = {"eventId": event_id, "eventTimestamp": self.now, "eventType": event_type,
                 attributes_key(event_type): compact(attributes)}
        # Encoded once: the text is the event's row and, in the cached history, what every
        # answer carrying the event splices in (see wire._json.EncodedList).
        text = _dumps(event)
        self._rows.append((ex.domain, ex.workflow_id, ex.run_id, event_id, text))
        if ex.events is not None:
            ex.events.append(text)
        self.touch(ex)
        return event_id

    def after(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the unit committed (queue pushes, deadlines, wake-ups)."""
        self._after.append(action)

    def flush_events(self, conn: sqlite3.Connection) -> None:
        """Write the events recorded so far (before reading a history back from the database)."""
        if self._rows:
            conn.executemany(
                "INSERT INTO events (domain, workflow_id, run_id, event_id, event) VALUES (?,?,?,?,?)",
                self._rows)
            self._rows = []

    def flush(self, conn: sqlite3.Connection, horizon: tuple | None = None) -> None:
        """Write the unit's events and execution rows (inside the caller's transaction);
        ``horizon``: the end of the engine's deadline window (see ``Execution.update``)."""
        self.flush_events(conn)
        for ex in self.touched.values():
            opened = ex.decision is not None
            self.decisions_opened += opened - ex.decision_written
            ex.decision_written = opened
            if ex.is_new:
                ex.insert(conn)
            else:
                ex.update(conn, horizon)

    def run_after(self) -> None:
        """Apply the post-commit side effects, in the order they were recorded."""
        for action in self._after:
            action()
