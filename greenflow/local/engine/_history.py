"""Pages of a history: GetWorkflowExecutionHistory and the pages of a decision task.

A page is a range of event IDs. Open runs serve events from their in-memory history;
closed runs read just the page's rows from the database. Either way a page holds the
events' JSON texts as recorded (an :class:`~..wire._json.EncodedList`), which the HTTP
layer writes into the answer without decoding or encoding them again.
"""

from __future__ import annotations

import sqlite3

from ..wire._json import EncodedList
from ._execution import Execution


def select_range(conn: sqlite3.Connection, ex: Execution, events: list[str] | None,
                 first: int, last: int, reverse: bool, size: int) -> tuple[EncodedList, int | None]:
    """Up to ``size`` events with IDs in ``[first, last]``, ascending (or descending when
    ``reverse``), and the event ID the next page starts at (``None`` if this is the last)."""
    if first > last:
        return EncodedList(), None
    if reverse:
        low = max(first, last - size + 1)
        following = low - 1 if low > first else None
        if events is not None:
            page = EncodedList(events[low - 1:last][::-1])
        else:
            page = _rows(conn, ex, low, last, "DESC")
    else:
        high = min(last, first + size - 1)
        following = high + 1 if high < last else None
        if events is not None:
            page = EncodedList(events[first - 1:high])
        else:
            page = _rows(conn, ex, first, high, "ASC")
    return page, following


def _rows(conn: sqlite3.Connection, ex: Execution, low: int, high: int, order: str) -> EncodedList:
    rows = conn.execute(
        f"SELECT event FROM events WHERE domain=? AND workflow_id=? AND run_id=? AND event_id BETWEEN ? AND ?"
        f" ORDER BY event_id {order}", (*ex.key, low, high)).fetchall()
    return EncodedList(row[0] for row in rows)
