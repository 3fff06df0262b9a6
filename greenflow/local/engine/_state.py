"""The execution state machine shared by requests, decisions and timeouts.

:class:`EngineState` owns the open executions (a bounded cache over the database, keyed by
``(domain, workflowId)``: SWF allows one open run per workflow ID; see :mod:`._open_runs`),
the decision and activity task queues and the deadline window (see :mod:`._deadlines`), and
implements the transitions every part needs: starting and closing a
run, scheduling decision tasks (at most one open per run), signals, cancel requests,
termination with child policies, parent notification and SWF's event limit.

Every change happens inside a :class:`~._unit.Unit` run by :meth:`EngineState.run`, which commits
it in one transaction or rolls back both SQLite and memory.
"""

from __future__ import annotations

import collections
import logging
from typing import Any, Callable, TypeVar

from .._close_wait import CloseSignal
from ..storage._store import Store
from ..wire._faults import Fault, limit_exceeded
from . import _execution
from ._deadlines import Deadlines, run_deadlines
from ._execution import CLOSED, Execution
from ._open_runs import OpenRuns
from ._queues import TaskQueues
from ._unit import EventLimitReached, Unit
from ._values import new_run_id, priority, seconds

log = logging.getLogger("greenflow.local.engine")

T = TypeVar("T")

#: SWF's hard limit of events in one execution's history.
EVENT_LIMIT = 25_000
#: Open activities, timers and children per execution.
OPEN_LIMIT = 1_000
#: Open executions per domain.
OPEN_EXECUTIONS_LIMIT = 100_000
#: How many open runs keep their history in memory (least recently used ones drop it).
HISTORY_CACHE_SIZE = 2_000
#: Deadline heap size from which it is rebuilt from the database (dropping stale entries:
#: finished tasks, cancelled timers; and deadlines beyond the next window).
COMPACT_DEADLINES_AT = 20_000
#: How many open runs' deadlines one window read from the database holds (see :mod:`._deadlines`).
DEADLINE_WINDOW = 500

#: Close status → (parent event type, attribute members copied from the close event).
_CHILD_CLOSE_EVENTS = {
    "COMPLETED": ("ChildWorkflowExecutionCompleted", ("result",)),
    "FAILED": ("ChildWorkflowExecutionFailed", ("reason", "details")),
    "TIMED_OUT": ("ChildWorkflowExecutionTimedOut", ("timeoutType",)),
    "CANCELED": ("ChildWorkflowExecutionCanceled", ("details",)),
    "TERMINATED": ("ChildWorkflowExecutionTerminated", ()),
}


class EventLimitFault(Fault):
    """The request was refused because the run it touched reached SWF's event limit
    (the run has been terminated with ``EVENT_LIMIT_EXCEEDED``)."""

    def __init__(self, message: str):
        super().__init__("UnknownResourceFault", message)


class EngineState:
    """Open executions, task queues, deadlines and the transitions between states.

    Args:
        store: the SQLite store.
        clock: SWF time.
        registry: domain and type lookups.
    """

    def __init__(self, store: Store, clock: Any, registry: Any):
        self.store = store
        self.clock = clock
        self.registry = registry
        self.open = OpenRuns(store.connection)
        self.open_per_domain: collections.Counter[str] = collections.Counter()
        self.open_executions_limit = OPEN_EXECUTIONS_LIMIT
        self.decision_queues = TaskQueues()
        self.activity_queues = TaskQueues()
        self.closes = CloseSignal()
        self.deadlines = Deadlines()
        self.event_limit = EVENT_LIMIT
        #: The heap size from which it is rebuilt (at least; see :meth:`compact_deadlines`).
        self.compact_deadlines_at = COMPACT_DEADLINES_AT
        self._compact_at = COMPACT_DEADLINES_AT
        #: How many runs' deadlines one window holds (see :meth:`load_window`).
        self.deadline_window = DEADLINE_WINDOW
        self.history_cache_size = HISTORY_CACHE_SIZE
        #: History events committed since start-up, and decision tasks open now (scheduled
        #: or started): for tools that wait until the service is idle (``Engine.progress``).
        self.events_recorded = 0
        self.decision_tasks_open = 0
        self._units = 0  # units of work running (open runs are dropped from memory only between them)
        self._histories: collections.OrderedDict[tuple[str, str, str], Execution] = collections.OrderedDict()
        self.wake_scheduler: Callable[[], None] = lambda: None
        #: SWF's decision quotas, when emulated (the AWS-like mode): called with a decision
        #: type, ``False`` when its token bucket is empty; ``None`` never limits.
        self.admit_decision: Callable[[str], bool] | None = None

    # ------------------------------------------------------------------ units of work

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(unit, *args)`` as one atomic change and return its result.

        Committed in one transaction; post-commit effects (queues, deadlines, wake-ups)
        run only after the commit. If anything raises, the database rolls back and every
        execution the unit touched is reloaded from it.

        If the change would take a run's history past SWF's event limit, nothing of it is
        applied; the run is terminated (``EVENT_LIMIT_EXCEEDED``) instead and
        :class:`EventLimitFault` raised.
        """
        self._units += 1
        try:
            return self._run(fn, *args)
        finally:
            self._units -= 1
            if not self._units:
                self.open.trim(self._dropped)

    def _run(self, fn: Callable[..., T], *args: Any) -> T:
        unit = Unit(self.clock.now(), self.event_limit)
        try:
            with self.store.transaction() as conn:
                result = fn(unit, *args)
                unit.flush(conn, self.deadlines.horizon)
        except EventLimitReached as reached:
            self._restore(unit)
            self.run(self._terminate_at_limit, reached.key)
            raise EventLimitFault(
                f"Workflow execution {reached.key[1]} (run {reached.key[2]}) was terminated: its history "
                f"reached the limit of {self.event_limit} events") from None
        except BaseException:
            self._restore(unit)
            raise
        self.events_recorded += unit.events_added
        self.decision_tasks_open += unit.decisions_opened
        unit.run_after()
        return result

    def _terminate_at_limit(self, unit: Unit, key: tuple[str, str, str]) -> None:
        ex = self.open_run(*key)
        if ex is not None:
            self.terminate(unit, ex, reason=None, details=None, child_policy=ex.config["childPolicy"],
                           cause="EVENT_LIMIT_EXCEEDED")

    def _restore(self, unit: Unit) -> None:
        # Drop what the unit changed in memory; the next use reads the committed truth.
        for ex in unit.touched.values():
            self._dropped(ex)
            self.open.discard(ex)
        self.count_open()

    def _dropped(self, ex: Execution) -> None:
        # A run leaving memory takes its cached history along.
        if self._histories.get(ex.key) is ex:
            del self._histories[ex.key]

    def count_open(self) -> None:
        """Recount the open runs of each domain from the database (start-up, after a rollback)."""
        self.open_per_domain = _execution.count_open(self.store.connection)

    def open_count(self) -> int:
        """How many runs are open, in every domain."""
        return sum(self.open_per_domain.values())
    # ------------------------------------------------------------------ lookups

    def open_run(self, domain: str, workflow_id: str, run_id: str | None = None) -> Execution | None:
        """The open run of a workflow ID (of that runId, if given), or ``None``.

        Read from the database unless it is in memory.
        """
        ex = self.open.get(domain, workflow_id, run_id)
        if not self._units:
            self.open.trim(self._dropped)
        if ex is None or (run_id is not None and ex.run_id != run_id):
            return None
        return ex

    def any_run(self, domain: str, workflow_id: str, run_id: str) -> Execution | None:
        """A run, open (from memory) or closed (from the database), or ``None``."""
        ex = self.open_run(domain, workflow_id, run_id)
        if ex is None:
            ex = _execution.select(self.store.connection, domain, workflow_id, run_id)
        return ex

    def events(self, unit: Unit | None, ex: Execution) -> list[str]:
        """The whole history of ``ex`` as JSON texts (loaded and cached if needed)."""
        if ex.events is None and unit is not None:
            unit.flush_events(self.store.connection)
        events = _execution.load_events(self.store.connection, ex)
        if ex.is_open:
            self._remember(ex)
        return events

    def _remember(self, ex: Execution) -> None:
        # Keep the histories of the most recently used open runs only (of those in memory).
        if self.open.cached(ex.domain, ex.workflow_id) is not ex:
            return
        histories = self._histories
        histories[ex.key] = ex
        histories.move_to_end(ex.key)
        while len(histories) > self.history_cache_size:
            _, oldest = histories.popitem(last=False)
            oldest.events = None

    # ------------------------------------------------------------------ post-commit helpers

    def deadline(self, unit: Unit, when: float, kind: str, key: tuple[str, str, str], *args: Any) -> None:
        """Arm a timeout or timer of run ``key`` once ``unit`` commits.

        Only a deadline within the window goes into memory; a later one is in the run's
        ``next_deadline`` (written by the unit) and comes with a later window.
        """
        def arm() -> None:
            deadlines = self.deadlines
            if not deadlines.covers(when, key):
                return
            if deadlines.push(when, kind, key, *args):
                self.wake_scheduler()
            if len(deadlines) > self._compact_at:
                self.compact_deadlines()
        unit.after(arm)

    def compact_deadlines(self) -> None:
        """Rebuild the deadline heap from the database: the first window only.

        Entries are never removed when a task finishes or a timer is cancelled, so a busy
        service with long timeouts would otherwise keep them for as long as the timeouts.
        """
        self.deadlines.clear(keep="sweep")
        self.load_window()
        self._compact_at = max(self.compact_deadlines_at, 2 * len(self.deadlines))

    def load_window(self) -> None:
        """Read the next window of deadlines (those of the next :attr:`deadline_window` runs
        by ``next_deadline`` after the horizon) into memory, and move the horizon to its end.

        A run's ``next_deadline`` is a lower bound (see ``Execution._deadline_to_store``):
        each run read gets it set to its earliest deadline, exactly. (Not to its earliest
        beyond the window: the heap may be rebuilt from the database before those in the
        window are due, see :meth:`compact_deadlines`.)
        """
        deadlines = self.deadlines
        if deadlines.horizon is None:
            return
        rows = _execution.select_window(self.store.connection, deadlines.horizon, self.deadline_window)
        deadlines.horizon = rows[-1][0] if len(rows) == self.deadline_window else None
        corrections = []
        for _, ex in rows:
            due = run_deadlines(ex)
            for when, kind, args in due:
                if deadlines.covers(when, ex.key):
                    deadlines.push(when, kind, *args)
            bound = min((when for when, _, _ in due), default=None)
            if bound != ex.stored_deadline:
                corrections.append((bound, *ex.key))
                cached = self.open.cached(ex.domain, ex.workflow_id)
                if cached is not None and cached.run_id == ex.run_id:
                    cached.stored_deadline = bound
        if corrections:
            with self.store.transaction() as conn:
                conn.executemany("UPDATE executions SET next_deadline = ? WHERE domain = ? AND workflow_id = ?"
                                 " AND run_id = ?", corrections)

    def pop_due(self) -> tuple[str, tuple] | None:
        """The next deadline due now as ``(kind, args)``, reading windows as the clock passes
        their horizon; ``None`` when nothing is due."""
        deadlines = self.deadlines
        now = self.clock.now()
        while True:
            entry = deadlines.pop_due(now)
            if entry is not None:
                return entry
            horizon = deadlines.horizon
            if horizon is None or horizon[0] > now:
                return None
            self.load_window()

    def earliest_deadline(self) -> float | None:
        """The earliest timer or timeout of any open run (or a stale one of the heap), or ``None``.

        Those within the window are in the heap; of the others, the earliest is the first
        ``next_deadline`` beyond the horizon.
        """
        due = [self.deadlines.earliest()]
        horizon = self.deadlines.horizon
        if horizon is not None:
            later = _execution.select_window(self.store.connection, horizon, 1)
            if later:
                due.append(later[0][0][0])
        return min((when for when in due if when is not None), default=None)

    def _queue_decision(self, unit: Unit, ex: Execution) -> None:
        d = ex.decision
        assert d is not None, "a decision task was just scheduled"
        queue = self.decision_queues.get(ex.domain, d["list"])
        item = (ex.workflow_id, ex.run_id, d["scheduled"])

        def offer() -> None:
            if not d["started"]:  # unless the unit handed it over already (engine._handover)
                queue.push(item, priority(d["priority"]))

        unit.after(offer)

    def queue_activity(self, unit: Unit, ex: Execution, record: dict) -> None:
        """Offer a scheduled activity task to its task list once ``unit`` commits (unless the
        unit handed it over already: then no poll is woken for it)."""
        queue = self.activity_queues.get(ex.domain, record["list"])
        item = (ex.workflow_id, ex.run_id, record["scheduled"])

        def offer() -> None:
            if not record["started"]:
                queue.push(item, priority(record["priority"]))

        unit.after(offer)

    def unqueue_activity(self, unit: Unit, ex: Execution, record: dict) -> None:
        """Withdraw a not-started activity task from its task list once ``unit`` commits."""
        if not record["started"]:
            queue = self.activity_queues.get(ex.domain, record["list"])
            item = (ex.workflow_id, ex.run_id, record["scheduled"])
            unit.after(lambda: queue.discard(item))

    def requeue(self, ex: Execution) -> None:
        """Put an open run's pending tasks back on their task lists (start-up, no unit)."""
        d = ex.decision
        if d is not None and not d["started"]:
            self.decision_queues.get(ex.domain, d["list"]).push(
                (ex.workflow_id, ex.run_id, d["scheduled"]), priority(d["priority"]))
        for record in ex.activities.values():
            if not record["started"]:
                self.activity_queues.get(ex.domain, record["list"]).push(
                    (ex.workflow_id, ex.run_id, record["scheduled"]), priority(record["priority"]))

    # ------------------------------------------------------------------ transitions

    def start_run(self, unit: Unit, domain: str, workflow_id: str, workflow_type: dict, config: dict, *,
                  input: str | None = None, tag_list: list[str] | None = None,
                  parent: dict | None = None, parent_initiated: int = 0,
                  continued_from: str | None = None, run_id: str | None = None) -> Execution:
        """Start a new run: WorkflowExecutionStarted, its timeout, and its first decision task.

        ``config`` holds the resolved ``taskList``, ``taskPriority``,
        ``executionStartToCloseTimeout``, ``taskStartToCloseTimeout``, ``childPolicy`` and
        ``lambdaRole``. The caller has checked that no run of ``workflow_id`` is open.
        """
        ex = Execution(domain, workflow_id, run_id or new_run_id(), workflow_type["name"],
                       workflow_type["version"], unit.now, config, list(tag_list or []),
                       parent, parent_initiated)
        self.open.add(ex)
        self.open_per_domain[domain] += 1
        self._remember(ex)
        unit.event(ex, "WorkflowExecutionStarted", {
            "input": input,
            "executionStartToCloseTimeout": config["executionStartToCloseTimeout"],
            "taskStartToCloseTimeout": config["taskStartToCloseTimeout"],
            "childPolicy": config["childPolicy"],
            "taskList": config["taskList"],
            "taskPriority": config.get("taskPriority"),
            "workflowType": dict(workflow_type),
            "tagList": list(tag_list) if tag_list else None,
            "continuedExecutionRunId": continued_from,
            "parentWorkflowExecution": parent,
            "parentInitiatedEventId": parent_initiated if parent else None,
            "lambdaRole": config.get("lambdaRole"),
        })
        timeout = seconds(config["executionStartToCloseTimeout"])
        if timeout is not None:
            self.deadline(unit, unit.now + timeout, "workflow", ex.key)
        self.schedule_decision(unit, ex)
        return ex

    def schedule_decision(self, unit: Unit, ex: Execution) -> None:
        """Something happened that the decider must see: make sure a decision task follows.

        At most one decision task is open per run: if one is scheduled it will see the new
        events; if one is started, exactly one more is scheduled when it completes.
        """
        if not ex.is_open:
            return
        d = ex.decision
        if d is not None:
            if d["started"] and not ex.decision_pending:
                ex.decision_pending = True
                unit.touch(ex)
            return
        override = ex.list_override
        task_list = override["name"] if override else ex.config["taskList"]["name"]
        s2s = override.get("timeout") if override else None
        task_priority = ex.config.get("taskPriority")
        scheduled = unit.event(ex, "DecisionTaskScheduled", {
            "taskList": {"name": task_list}, "taskPriority": task_priority,
            "startToCloseTimeout": ex.config["taskStartToCloseTimeout"],
            "scheduleToStartTimeout": s2s,
        })
        ex.decision = {"scheduled": scheduled, "started": 0, "list": task_list,
                       "priority": task_priority, "s2s": s2s, "nonce": None,
                       "scheduled_ts": unit.now, "started_ts": None}
        ex.decision_pending = False
        self._queue_decision(unit, ex)
        timeout = seconds(s2s)
        if timeout is not None:
            self.deadline(unit, unit.now + timeout, "decision_s2s", ex.key, scheduled)

    def close_run(self, unit: Unit, ex: Execution, close_status: str, event_type: str,
                  attributes: dict) -> int:
        """Close a run with its closing event; drops its open tasks and timers and tells its parent."""
        was_open = ex.is_open
        event_id = unit.event(ex, event_type, attributes)
        ex.status = CLOSED
        ex.close_status = close_status
        ex.close_ts = unit.now
        domain = ex.domain
        unit.after(lambda: self.closes.notify(domain))  # held listings (result waiters) answer
        d = ex.decision
        if d is not None and not d["started"]:
            queue = self.decision_queues.get(ex.domain, d["list"])
            item = (ex.workflow_id, ex.run_id, d["scheduled"])
            unit.after(lambda: queue.discard(item))
        for record in ex.activities.values():
            self.unqueue_activity(unit, ex, record)
        ex.decision = None
        ex.decision_pending = False
        ex.clear_activities()
        ex.timers.clear()
        ex.children.clear()  # a closed run has no open children (see apply_child_policy)
        self._dropped(ex)
        # Kept in memory (closed) until the commit, so that the unit's later lookups of
        # the workflow ID find it closed instead of reading its row, not yet rewritten.
        unit.after(lambda: self.open.closed(ex))
        if was_open:
            self.open_per_domain[ex.domain] -= 1
        if close_status != "CONTINUED_AS_NEW":
            self._notify_parent(unit, ex, close_status, attributes)
        return event_id

    def _notify_parent(self, unit: Unit, ex: Execution, close_status: str, attributes: dict) -> None:
        if ex.parent is None:
            return
        parent = self.open_run(ex.domain, ex.parent["workflowId"], ex.parent["runId"])
        if parent is None:
            return
        child = parent.children.pop(str(ex.parent_initiated), None)
        if child is None:
            return
        event_type, members = _CHILD_CLOSE_EVENTS[close_status]
        event = {"workflowExecution": ex.execution(), "workflowType": ex.workflow_type(),
                 "initiatedEventId": ex.parent_initiated, "startedEventId": child["started"]}
        for member in members:
            event[member] = attributes.get(member)
        unit.event(parent, event_type, event)
        self.schedule_decision(unit, parent)

    def terminate(self, unit: Unit, ex: Execution, *, reason: str | None, details: str | None,
                  child_policy: str, cause: str | None) -> None:
        """Close a run as TERMINATED and apply ``child_policy`` to its open children."""
        children = list(ex.children.values())
        self.close_run(unit, ex, "TERMINATED", "WorkflowExecutionTerminated", {
            "reason": reason, "details": details, "childPolicy": child_policy, "cause": cause})
        self.apply_child_policy(unit, ex, child_policy, children)

    def apply_child_policy(self, unit: Unit, ex: Execution, child_policy: str, children: list[dict]) -> None:
        """What happens to the children that were open when ``ex`` closed (terminated or timed
        out): TERMINATE, REQUEST_CANCEL or ABANDON. Children of a run that completes, fails,
        is cancelled or continues as new keep running, as in SWF."""
        if child_policy == "ABANDON":
            return
        for record in children:
            child = self.open_run(ex.domain, record["workflowId"], record["runId"])
            if child is None:
                continue
            if child_policy == "TERMINATE":
                self.terminate(unit, child, reason=None, details=None,
                               child_policy=child.config["childPolicy"], cause="CHILD_POLICY_APPLIED")
            else:
                self.request_cancel(unit, child, {"cause": "CHILD_POLICY_APPLIED"})

    def signal(self, unit: Unit, ex: Execution, attributes: dict) -> int:
        """Record WorkflowExecutionSignaled and make sure a decision task follows."""
        event_id = unit.event(ex, "WorkflowExecutionSignaled", attributes)
        self.schedule_decision(unit, ex)
        return event_id

    def request_cancel(self, unit: Unit, ex: Execution, attributes: dict) -> int:
        """Record WorkflowExecutionCancelRequested, set cancelRequested, schedule a decision task."""
        event_id = unit.event(ex, "WorkflowExecutionCancelRequested", attributes)
        ex.cancel_requested = True
        self.schedule_decision(unit, ex)
        return event_id

    def check_open_start(self, domain: str, workflow_id: str) -> None:
        """``WorkflowExecutionAlreadyStartedFault`` if a run of ``workflow_id`` is open,
        ``LimitExceededFault`` if the domain has as many open runs as SWF allows."""
        if self.open_run(domain, workflow_id) is not None:
            raise Fault("WorkflowExecutionAlreadyStartedFault",
                        f"Workflow execution already started: workflowId={workflow_id}")
        if self.open_domain_full(domain):
            raise limit_exceeded(f"Domain {domain} already has {self.open_executions_limit} open executions")

    def open_domain_full(self, domain: str) -> bool:
        """Whether ``domain`` has reached SWF's limit of open executions."""
        return self.open_per_domain[domain] >= self.open_executions_limit
