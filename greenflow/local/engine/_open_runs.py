"""The open runs in memory: a bounded cache over the ``executions`` table.

A service may hold 100,000 open executions, most of them waiting on a timer for days; the
engine keeps in memory only the ones used recently, at most :attr:`OpenRuns.capacity`, and
reads any other from its row when a request, a task or a deadline needs it. The database
is the truth (every change is committed before a request is answered), so a run dropped
from the cache loses nothing.

A run in use is never dropped: :meth:`OpenRuns.trim` runs only between units of work (the
engine calls it when no unit is running), so every part of one unit sees the same
:class:`~._execution.Execution` object of a run.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Callable

from . import _execution
from ._execution import Execution

#: How many open runs stay in memory at most between units of work.
OPEN_CACHE_SIZE = 4096
#: How many recently closed runs are remembered as closed (their stale deadlines and
#: tasks then cost no database read).
CLOSED_MEMORY = 4096


class OpenRuns:
    """Open runs by ``(domain, workflowId)`` (SWF allows one open run per workflow ID),
    least recently used first.

    Args:
        conn: the store's connection (read when a run is not cached).
        capacity: how many runs :meth:`trim` keeps.
    """

    def __init__(self, conn: sqlite3.Connection, capacity: int = OPEN_CACHE_SIZE):
        self._conn = conn
        self.capacity = capacity
        self._runs: collections.OrderedDict[tuple[str, str], Execution] = collections.OrderedDict()
        # (domain, workflowId, runId) of runs closed lately: a run ID never opens again.
        self._closed: collections.OrderedDict[tuple[str, str, str], None] = collections.OrderedDict()
        #: Runs read from the database so far (for tests and tools).
        self.loads = 0

    def __len__(self) -> int:
        """How many runs are in memory now (not how many are open)."""
        return len(self._runs)

    def get(self, domain: str, workflow_id: str, run_id: str | None = None) -> Execution | None:
        """The open run of ``workflow_id``, from memory or else from the database; ``None`` if none is open.

        With ``run_id``, a run known to have closed is not looked for in the database.
        """
        key = (domain, workflow_id)
        runs = self._runs
        ex = runs.get(key)
        if ex is not None:
            runs.move_to_end(key)
            # Closed by the unit running now (it leaves memory once committed).
            return ex if ex.is_open else None
        if run_id is not None and (domain, workflow_id, run_id) in self._closed:
            return None
        ex = _execution.select_open_run(self._conn, domain, workflow_id)
        if ex is not None:
            self.loads += 1
            runs[key] = ex
        return ex

    def add(self, ex: Execution) -> None:
        """Keep a run that was just started."""
        self._runs[(ex.domain, ex.workflow_id)] = ex

    def discard(self, ex: Execution) -> None:
        """Forget ``ex`` (it closed, or a rollback made its memory stale), if it is the one kept."""
        key = (ex.domain, ex.workflow_id)
        if self._runs.get(key) is ex:
            del self._runs[key]

    def closed(self, ex: Execution) -> None:
        """``ex`` closed (committed): forget it, and remember that it is closed."""
        self.discard(ex)
        closed = self._closed
        closed[ex.key] = None
        if len(closed) > CLOSED_MEMORY:
            closed.popitem(last=False)

    def cached(self, domain: str, workflow_id: str) -> Execution | None:
        """The run if it is in memory (no database read)."""
        return self._runs.get((domain, workflow_id))

    def clear(self) -> None:
        """Forget every run."""
        self._runs.clear()
        self._closed.clear()

    def trim(self, dropped: Callable[[Execution], None]) -> None:
        """Drop the least recently used runs beyond the capacity, telling ``dropped`` of each.

        Only between units of work (see the module docstring).
        """
        runs = self._runs
        while len(runs) > self.capacity:
            _, ex = runs.popitem(last=False)
            dropped(ex)
