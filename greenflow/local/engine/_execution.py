"""One workflow execution (run) as the engine keeps it: identity, visibility fields and state.

The engine keeps recently used *open* executions in memory (see :mod:`._open_runs`) and
writes each back to its ``executions`` row on every change (see :mod:`._unit`), with its
earliest deadline in ``next_deadline`` (see :mod:`._deadlines`). The private ``state`` column holds
:meth:`Execution.state` as JSON: everything needed to continue the run after a restart
(open decision task, activities, timers, children, counters). History events are rows of
their own and are loaded lazily into :attr:`Execution.events` when a decider needs them.
"""

from __future__ import annotations

import collections
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from ..storage._store import DEADLINES_PENDING
from ..wire._json import dumps as _dumps
from ._deadlines import activity_deadlines
from ._values import seconds

OPEN = "OPEN"
CLOSED = "CLOSED"

#: The columns of ``executions`` read by :func:`load_row`, in order.
COLUMNS = ("domain, workflow_id, run_id, type_name, type_version, start_ts, close_ts, status, "
           "close_status, tag_list, cancel_requested, parent_workflow_id, parent_run_id, state, next_deadline")


class Execution:
    """One run of a workflow: what SWF knows about it besides its history.

    Attributes:
        config: the ``WorkflowExecutionConfiguration`` members, resolved
            (``taskList``, ``taskPriority``, ``taskStartToCloseTimeout``,
            ``executionStartToCloseTimeout``, ``childPolicy``, ``lambdaRole``).
        decision: the open decision task or ``None``: ``{"scheduled", "started" (0 until a
            decider polls it), "list", "priority", "s2s" (override timeout or None),
            "nonce", "scheduled_ts", "started_ts"}``.
        decision_pending: a triggering event arrived while the decision task was started;
            one more decision task follows when it completes.
        list_override: ``{"name", "timeout"}`` set by RespondDecisionTaskCompleted's
            ``taskList`` (and ``taskListScheduleToStartTimeout``), or ``None``.
        activities: activityId → open activity task record.
        timers: timerId → ``{"started", "fire_at", "control"}``.
        children: str(initiatedEventId) → ``{"workflowId", "runId", "workflowType", "started"}``.
        events: the history, once loaded (``None`` until a request needs it): each event's
            JSON text, as stored in its row and spliced into answers.
    """

    __slots__ = (
        "domain", "workflow_id", "run_id", "type_name", "type_version", "start_ts", "close_ts",
        "status", "close_status", "tag_list", "cancel_requested", "parent", "parent_initiated",
        "config", "next_event_id", "decision", "decision_pending", "list_override",
        "prev_started", "activities", "timers", "children", "latest_activity_ts",
        "latest_context", "events", "by_sched", "is_new", "decision_written", "_activity_json",
        "_activity_due", "_columns", "_config_json", "stored_deadline",
    )

    def __init__(self, domain: str, workflow_id: str, run_id: str, type_name: str, type_version: str,
                 start_ts: float, config: dict, tag_list: list[str], parent: dict | None = None,
                 parent_initiated: int = 0):
        self.domain = domain
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.type_name = type_name
        self.type_version = type_version
        self.start_ts = start_ts
        self.close_ts: float | None = None
        self.status = OPEN
        self.close_status: str | None = None
        self.tag_list = tag_list
        self.cancel_requested = False
        self.parent = parent
        self.parent_initiated = parent_initiated
        self.config = config
        self.next_event_id = 1
        self.decision: dict | None = None
        self.decision_pending = False
        self.list_override: dict | None = None
        self.prev_started = 0
        self.activities: dict[str, dict] = {}
        self.timers: dict[str, dict] = {}
        self.children: dict[str, dict] = {}
        self.latest_activity_ts: float | None = None
        self.latest_context: str | None = None
        self.events: list[str] | None = []
        self.by_sched: dict[int, str] = {}
        self.is_new = True
        #: Whether the row as last written (or read) has a decision task open.
        self.decision_written = False
        # activityId → the record's JSON, so a state write re-encodes changed records only.
        self._activity_json: dict[str, str] = {}
        # activityId → the record's earliest deadline (None: it has none), likewise.
        self._activity_due: dict[str, float | None] = {}
        # The visibility columns as last written: an unchanged row writes only its state,
        # which spares SQLite rewriting the index pages of executions (most requests).
        self._columns: tuple | None = None
        #: The row's ``next_deadline`` as last written or read (see :meth:`_deadline_to_store`).
        self.stored_deadline: float | None = None
        # The configuration never changes after the start: encoded once, not on every write.
        self._config_json: str | None = None

    # ------------------------------------------------------------------ identity

    @property
    def key(self) -> tuple[str, str, str]:
        """``(domain, workflowId, runId)``."""
        return (self.domain, self.workflow_id, self.run_id)

    @property
    def is_open(self) -> bool:
        """Whether the run is still open."""
        return self.status == OPEN

    def execution(self) -> dict:
        """The ``WorkflowExecution`` structure naming this run."""
        return {"workflowId": self.workflow_id, "runId": self.run_id}

    def workflow_type(self) -> dict:
        """The ``WorkflowType`` structure of this run."""
        return {"name": self.type_name, "version": self.type_version}

    # ------------------------------------------------------------------ activities

    def add_activity(self, record: dict) -> None:
        """Record an open activity task (keyed by its activityId and scheduled event)."""
        self.activities[record["activityId"]] = record
        self.by_sched[record["scheduled"]] = record["activityId"]
        self.activity_changed(record["activityId"])

    def activity_changed(self, activity_id: str) -> None:
        """Say that an activity's record changed (call after every change to one)."""
        self._activity_json.pop(activity_id, None)
        self._activity_due.pop(activity_id, None)

    def pop_activity(self, activity_id: str) -> dict:
        """Forget an activity task that closed."""
        record = self.activities.pop(activity_id)
        self.by_sched.pop(record["scheduled"], None)
        self.activity_changed(activity_id)
        return record

    def clear_activities(self) -> None:
        """Forget every activity task (the run closed)."""
        self.activities.clear()
        self.by_sched.clear()
        self._activity_json.clear()
        self._activity_due.clear()

    def _activities_json(self) -> str:
        # A run with hundreds of open activities would otherwise re-encode them all on
        # every change of the run; unchanged records reuse their cached JSON.
        cache = self._activity_json
        parts = []
        for activity_id, record in self.activities.items():
            text = cache.get(activity_id)
            if text is None:
                text = cache[activity_id] = _dumps(record)
            parts.append(f"{_dumps(activity_id)}:{text}")
        return "{" + ",".join(parts) + "}"

    def activity_by_scheduled(self, scheduled_id: int) -> dict | None:
        """The open activity whose ActivityTaskScheduled event is ``scheduled_id``, if any."""
        activity_id = self.by_sched.get(scheduled_id)
        return None if activity_id is None else self.activities.get(activity_id)

    def next_deadline(self) -> float | None:
        """The run's earliest timer or timeout; ``None`` when closed or without any."""
        if self.status != OPEN:
            return None
        # What run_deadlines() lists, without building its entries: this runs on every write.
        due = []
        timeout = seconds(self.config["executionStartToCloseTimeout"])
        if timeout is not None:
            due.append(self.start_ts + timeout)
        d = self.decision
        if d is not None:
            if not d["started"]:
                s2s = seconds(d["s2s"])
                if s2s is not None:
                    due.append(d["scheduled_ts"] + s2s)
            else:
                s2c = seconds(self.config["taskStartToCloseTimeout"])
                if s2c is not None:
                    due.append(d["started_ts"] + s2c)
        for timer in self.timers.values():
            due.append(timer["fire_at"])
        cache = self._activity_due
        for activity_id, record in self.activities.items():
            if activity_id in cache:
                when = cache[activity_id]
            else:
                when = cache[activity_id] = min((at for _, at in activity_deadlines(record)), default=None)
            if when is not None:
                due.append(when)
        return min(due, default=None)

    # ------------------------------------------------------------------ persistence

    def state(self) -> str:
        """The private ``state`` column: JSON of everything not in a column of its own."""
        config = self._config_json
        if config is None:
            config = self._config_json = _dumps(self.config)
        rest = _dumps({
            "parent_initiated": self.parent_initiated,
            "next_event_id": self.next_event_id, "decision": self.decision,
            "decision_pending": self.decision_pending, "list_override": self.list_override,
            "prev_started": self.prev_started,
            "timers": self.timers, "children": self.children,
            "latest_activity_ts": self.latest_activity_ts, "latest_context": self.latest_context,
        })
        return '{"activities":' + self._activities_json() + ',"config":' + config + "," + rest[1:]

    def insert(self, conn: sqlite3.Connection) -> None:
        """Write the new run's row and its tag rows."""
        parent = self.parent or {}
        self.stored_deadline = self.next_deadline()
        conn.execute(
            "INSERT INTO executions (domain, workflow_id, run_id, type_name, type_version, start_ts,"
            " close_ts, status, close_status, tag_list, cancel_requested, parent_workflow_id,"
            " parent_run_id, state, next_deadline) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (self.domain, self.workflow_id, self.run_id, self.type_name, self.type_version,
             self.start_ts, self.close_ts, self.status, self.close_status, _dumps(self.tag_list),
             int(self.cancel_requested), parent.get("workflowId"), parent.get("runId"), self.state(),
             self.stored_deadline))
        if self.tag_list:
            conn.executemany(
                "INSERT OR IGNORE INTO execution_tags (domain, workflow_id, run_id, tag) VALUES (?,?,?,?)",
                [(self.domain, self.workflow_id, self.run_id, tag) for tag in self.tag_list])
        self.is_new = False
        self._columns = self._visible()

    def _visible(self) -> tuple:
        # The indexed visibility columns: when none changed, they are not written.
        return (self.close_ts, self.status, self.close_status, int(self.cancel_requested))

    def _deadline_to_store(self, horizon: tuple | None) -> tuple[bool, float | None]:
        """Whether ``next_deadline`` must be rewritten, and its new value.

        The column holds a *lower bound* of the run's deadlines, rewritten only when the
        deadline window needs it (each rewrite costs a write of its index): when the run
        gets a deadline earlier than the bound, or when the bound lies within the window
        (the run's deadlines there are in memory) while its earliest deadline now lies
        beyond it, so that a later window must read the run. A bound left behind by
        deadlines since gone is put right when a window reads the run (see
        ``EngineState.load_window``). ``horizon``: the window's end (``None``: no end).
        """
        if self.status != OPEN:
            return self.stored_deadline is not None, None
        due = self.next_deadline()
        stored = self.stored_deadline
        if due is None or due == stored:
            return False, stored
        if stored is None or due < stored:
            return True, due
        key = self.key
        if horizon is not None and (stored, *key) <= horizon < (due, *key):
            return True, due
        return False, stored

    def update(self, conn: sqlite3.Connection, horizon: tuple | None = None) -> None:
        """Write the run's changed columns (visibility fields, next deadline and state);
        ``horizon``: the end of the engine's deadline window (see :meth:`_deadline_to_store`)."""
        # SQLite rewrites every index holding a column an UPDATE sets, changed or not: so
        # each write sets only the columns that changed (most often the state alone).
        columns = self._visible()
        rewrite, deadline = self._deadline_to_store(horizon)
        self.stored_deadline = deadline
        if columns != self._columns:
            conn.execute(_UPDATE_ROW, (*columns, deadline, self.state(), self.domain, self.workflow_id, self.run_id))
            self._columns = columns
        elif rewrite:
            conn.execute(_UPDATE_DEADLINE, (deadline, self.state(), self.domain, self.workflow_id, self.run_id))
        else:
            conn.execute(_UPDATE_STATE, (self.state(), self.domain, self.workflow_id, self.run_id))


_UPDATE_STATE = "UPDATE executions SET state=? WHERE domain=? AND workflow_id=? AND run_id=?"
_UPDATE_DEADLINE = "UPDATE executions SET next_deadline=?, state=? WHERE domain=? AND workflow_id=? AND run_id=?"
_UPDATE_ROW = ("UPDATE executions SET close_ts=?, status=?, close_status=?, cancel_requested=?,"
               " next_deadline=?, state=? WHERE domain=? AND workflow_id=? AND run_id=?")


def load_row(row: tuple) -> Execution:
    """Rebuild an :class:`Execution` from an ``executions`` row (``SELECT {COLUMNS}``)."""
    (domain, workflow_id, run_id, type_name, type_version, start_ts, close_ts, status,
     close_status, tag_list, cancel_requested, parent_wid, parent_rid, state_text, stored_deadline) = row
    state: dict[str, Any] = json.loads(state_text)
    parent = {"workflowId": parent_wid, "runId": parent_rid} if parent_wid else None
    ex = Execution(domain, workflow_id, run_id, type_name, type_version, start_ts, state["config"],
                   json.loads(tag_list), parent, state.get("parent_initiated", 0))
    ex.close_ts = close_ts
    ex.status = status
    ex.close_status = close_status
    ex.cancel_requested = bool(cancel_requested)
    ex.next_event_id = state["next_event_id"]
    ex.decision = state["decision"]
    ex.decision_pending = state["decision_pending"]
    ex.list_override = state["list_override"]
    ex.prev_started = state["prev_started"]
    ex.timers = state["timers"]
    ex.children = state["children"]
    ex.latest_activity_ts = state["latest_activity_ts"]
    ex.latest_context = state["latest_context"]
    ex.events = None
    ex.is_new = False
    ex.decision_written = ex.decision is not None
    ex.stored_deadline = stored_deadline
    for record in state["activities"].values():
        ex.add_activity(record)
    ex._columns = ex._visible()
    return ex


def select(conn: sqlite3.Connection, domain: str, workflow_id: str, run_id: str) -> Execution | None:
    """Load one run from the database, or ``None``."""
    row = conn.execute(f"SELECT {COLUMNS} FROM executions WHERE domain=? AND workflow_id=? AND run_id=?",
                       (domain, workflow_id, run_id)).fetchone()
    return None if row is None else load_row(row)


def select_open_run(conn: sqlite3.Connection, domain: str, workflow_id: str) -> Execution | None:
    """Load the open run of a workflow ID from the database, or ``None``.

    A range of the primary key: the runs of one workflow ID.
    """
    row = conn.execute(f"SELECT {COLUMNS} FROM executions WHERE domain=? AND workflow_id=? AND status='OPEN'",
                       (domain, workflow_id)).fetchone()
    return None if row is None else load_row(row)


def select_window(conn: sqlite3.Connection, after: tuple, limit: int) -> list[tuple[tuple, Execution]]:
    """Up to ``limit`` open runs whose ``(next_deadline, domain, workflowId, runId)`` comes
    after ``after``, in that order, each with that position (the deadline window)."""
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM executions INDEXED BY executions_open_by_deadline"
        " WHERE status = 'OPEN' AND (next_deadline, domain, workflow_id, run_id) > (?, ?, ?, ?)"
        " ORDER BY next_deadline, domain, workflow_id, run_id LIMIT ?", (*after, limit)).fetchall()
    return [((row[-1], row[0], row[1], row[2]), load_row(row)) for row in rows]


def select_busy(conn: sqlite3.Connection) -> Iterator[Execution]:
    """The open runs with a decision task open or an activity task not yet started (start-up:
    their tasks go back on the task lists), read one by one.

    The test on the state's text is a cheap superset, done by SQLite over the open runs'
    rows without handing the others to Python; callers check each run's state.
    """
    for (domain,) in conn.execute("SELECT name FROM domains").fetchall():
        # INDEXED BY: without statistics SQLite would rather scan the domain's primary key.
        cursor = conn.execute(f"SELECT {COLUMNS} FROM executions INDEXED BY executions_by_start"
                              " WHERE domain = ? AND status = 'OPEN'"
                              """ AND (instr(state, '"decision":null') = 0 OR instr(state, '"started":0') > 0)""",
                              (domain,))
        for row in cursor:
            yield load_row(row)


def fill_next_deadlines(conn: sqlite3.Connection) -> None:
    """Compute every open run's ``next_deadline`` if the database still lacks them (one
    migrated from schema version 2; see :data:`..storage._store.MIGRATIONS`). Inside the
    caller's transaction."""
    if conn.execute("SELECT 1 FROM meta WHERE key = ?", (DEADLINES_PENDING,)).fetchone() is None:
        return
    # Runs are read one by one; only their keys and deadlines are kept until the update.
    updates = [(load_row(row).next_deadline(), *row[:3])
               for row in conn.execute(f"SELECT {COLUMNS} FROM executions WHERE status = 'OPEN'")]
    conn.executemany("UPDATE executions SET next_deadline = ? WHERE domain = ? AND workflow_id = ? AND run_id = ?",
                     updates)
    conn.execute("DELETE FROM meta WHERE key = ?", (DEADLINES_PENDING,))


def count_open(conn: sqlite3.Connection) -> collections.Counter[str]:
    """How many runs are open in each domain (over the ``(domain, status, start_ts)`` index)."""
    counts: collections.Counter[str] = collections.Counter()
    for (domain,) in conn.execute("SELECT name FROM domains").fetchall():
        (count,) = conn.execute("SELECT COUNT(*) FROM executions INDEXED BY executions_by_start"
                                " WHERE domain = ? AND status = 'OPEN'", (domain,)).fetchone()
        if count:
            counts[domain] = count
    return counts


def load_events(conn: sqlite3.Connection, ex: Execution) -> list[str]:
    """The run's whole history as JSON texts, oldest first (cached on the execution while it is open)."""
    if ex.events is None:
        rows = conn.execute("SELECT event FROM events WHERE domain=? AND workflow_id=? AND run_id=?"
                            " ORDER BY event_id", ex.key).fetchall()
        ex.events = [row[0] for row in rows]
    return ex.events
