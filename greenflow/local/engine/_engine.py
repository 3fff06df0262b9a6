"""The engine's 15 operations: executions, history, decision and activity tasks.

Each operation method takes the request's (already model-validated) parameters and
returns the response members. Every change runs as one unit of work committed in one
transaction before the method returns (see :meth:`._state.EngineState.run`); long polls wait on
gevent, in real time, for up to ``poll_timeout`` seconds.

Tasks handed over without a poll (greenflow's eager tasks, ``greenflow._extensions``) are
claimed here too: one file, because a poll and a hand-over must claim and requeue a task
by the very same steps. What the operations stand on lives in the modules beside it
(state and units of work, decisions, history pages, queues, timeouts, tokens).
"""

from __future__ import annotations

import functools
import json
from typing import Any, Callable

from ..storage._store import Store
from ..wire._faults import Fault, operation_not_permitted, unknown_resource, validation_error
from ..wire._json import EncodedList
from ..wire._paging import page_size, page_token_codec, request_scope
from ..wire._rules import execution_duration_problem, require
from ..wire._validation import INVALID_TEXT_DECISIONS
from . import _execution
from ._decisions import apply_batch, check_batch
from ._execution import Execution
from ._handover import Handover
from ._history import select_range
from ._queues import TaskQueue, wait_for_task
from ._resolve import WORKFLOW_OPTIONS, resolve
from ._scheduler import Scheduler
from ._state import EngineState, EventLimitFault
from ._tokens import ACTIVITY, DECISION, TaskRef, decode, encode, new_nonce
from ._unit import Unit
from ._values import seconds

#: Stale entries skipped, at most, before a decision answer gives up handing over a task
#: waiting on its task list (the poll that later pops them drops them for good).
_STALE_PEEKS = 4
#: How long a page token stays valid (clock seconds), as SWF's.
TOKEN_LIFETIME = 86400.0

EMPTY_DECISION_TASK = {"taskToken": "", "startedEventId": 0, "previousStartedEventId": 0, "events": []}
EMPTY_ACTIVITY_TASK = {"taskToken": "", "startedEventId": 0}


def _unknown_execution(workflow_id: str, run_id: str | None = None) -> Fault:
    return unknown_resource(f"Unknown execution: WorkflowExecution=[workflowId={workflow_id}, "
                            f"runId={run_id or ''}]")


def _stale_task() -> Fault:
    return unknown_resource("Unknown task token: the task timed out, was already answered, or its "
                            "workflow execution closed")


class Engine:
    """SWF's execution engine over a store, a clock and a registry.

    Args:
        store: the SQLite store (executions, events).
        clock: SWF time; a ``VirtualClock`` in tests (see :meth:`advance_time`).
        registry: domain and type lookups (``require_domain``, ``workflow_type``, ``activity_type``).
        poll_timeout: how long a long poll waits for a task, in real seconds.
    """

    OPERATIONS = (
        "StartWorkflowExecution", "SignalWorkflowExecution", "RequestCancelWorkflowExecution",
        "TerminateWorkflowExecution", "DescribeWorkflowExecution", "GetWorkflowExecutionHistory",
        "PollForDecisionTask", "RespondDecisionTaskCompleted", "PollForActivityTask",
        "RecordActivityTaskHeartbeat", "RespondActivityTaskCompleted", "RespondActivityTaskFailed",
        "RespondActivityTaskCanceled", "CountPendingActivityTasks", "CountPendingDecisionTasks",
    )

    def __init__(self, store: Store, clock: Any, registry: Any, *, poll_timeout: float = 60.0):
        self.store = store
        self.clock = clock
        self.registry = registry
        self.poll_timeout = poll_timeout
        self.core = EngineState(store, clock, registry)
        self.scheduler = Scheduler(self.core)
        self._pages = page_token_codec(store)
        self._stopping = False
        #: Told ``(domain, task list, "name version", seconds from scheduled to started)`` as
        #: each activity task is handed out (service metrics), or None.
        self.on_activity_started: Callable[[str, str, str, float], None] | None = None
        self._load()

    # ------------------------------------------------------------------ lifecycle

    def _load(self) -> None:
        """Rebuild task queues and the first window of deadlines from the database.

        Open runs themselves are read when something needs them (see :mod:`._open_runs`):
        only those with a task to hand out are read here, one at a time.
        """
        core = self.core
        core.open.clear()
        core.decision_queues.clear()
        core.activity_queues.clear()
        core.deadlines.clear()
        with self.store.transaction() as conn:
            _execution.fill_next_deadlines(conn)
        decisions = 0
        for ex in _execution.select_busy(self.store.connection):
            core.requeue(ex)
            decisions += ex.decision is not None
        core.decision_tasks_open = decisions
        core.count_open()
        core.load_window()
        self.scheduler.arm_sweep()

    def start(self) -> None:
        """Start the scheduler greenlet that fires timers and timeouts when they are due."""
        self._stopping = False
        self.scheduler.start()

    def stop(self) -> None:
        """Stop the scheduler and answer every waiting long poll with an empty task."""
        self._stopping = True
        self.core.decision_queues.wake_all()
        self.core.activity_queues.wake_all()
        self.core.closes.wake_all()
        self.scheduler.stop()

    def advance_time(self, seconds_: float) -> None:
        """Move a virtual clock forward and fire, committed, everything now due."""
        self.scheduler.advance(seconds_)

    def fire_due(self) -> None:
        """Fire every timer and timeout due now, each in its own committed transaction."""
        self.scheduler.fire_due()

    def next_deadline(self) -> float | None:
        """The earliest pending timer or timeout (clock epoch seconds), or ``None``.

        Housekeeping (the retention sweep) does not count. It may be a stale entry (a timer
        since cancelled): advancing to it then fires nothing. For test tools that jump
        virtual time to the next event.
        """
        return self.core.earliest_deadline()

    def progress(self) -> tuple[int, int, bool]:
        """A snapshot of the service's progress: ``(open runs, history events recorded since
        start-up, decision task open)``.

        Two equal snapshots with no decision task open mean no run was started, closed or
        given an event in between, so the service was idle. For test tools that jump
        virtual time only when nothing is happening (``greenflow.testing``).
        """
        core = self.core
        return (core.open_count(), core.events_recorded, core.decision_tasks_open > 0)

    def _tick(self) -> None:
        # Requests also fire what is due, so timeouts happen even without the scheduler.
        self.scheduler.tick()

    # ------------------------------------------------------------------ executions

    def start_workflow_execution(self, params: dict, handover: Handover | None = None) -> dict:
        """StartWorkflowExecution: a new run with its first decision task (claimed for the
        caller, in the same unit, when ``handover`` asks for it)."""
        self._tick()
        domain_name = params["domain"]
        domain = self.registry.require_domain(domain_name)
        if domain.status == "DEPRECATED":
            # SWF's model lists no DomainDeprecatedFault for this operation.
            raise operation_not_permitted(f"Domain is deprecated, so it takes no new executions: {domain_name}")
        wanted = params["workflowType"]
        record = self.registry.workflow_type(domain_name, wanted["name"], wanted["version"])
        if record is None:
            raise unknown_resource(f"Unknown type: WorkflowType=[name={wanted['name']}, version={wanted['version']}]")
        if record.status == "DEPRECATED":
            raise Fault("TypeDeprecatedFault",
                        f"WorkflowType=[name={wanted['name']}, version={wanted['version']}] is deprecated")
        config, missing = resolve(WORKFLOW_OPTIONS, params, record.configuration)
        if missing:
            member = {"TASK_LIST": "taskList", "EXECUTION_START_TO_CLOSE_TIMEOUT": "executionStartToCloseTimeout",
                      "TASK_START_TO_CLOSE_TIMEOUT": "taskStartToCloseTimeout",
                      "CHILD_POLICY": "childPolicy"}[missing]
            raise Fault("DefaultUndefinedFault",
                        f"{member} is neither given nor registered as a default of the workflow type")
        # The request's own timeouts were validated; a default taken from the type is
        # checked again, as the model cannot say that it is now the execution's timeout.
        timeout = config["executionStartToCloseTimeout"]
        require(execution_duration_problem(timeout), timeout, "executionStartToCloseTimeout")
        workflow_type = {"name": wanted["name"], "version": wanted["version"]}

        def start(unit: Unit) -> Execution:
            self.core.check_open_start(domain_name, params["workflowId"])
            ex = self.core.start_run(unit, domain_name, params["workflowId"], workflow_type, config,
                                     input=params.get("input"), tag_list=params.get("tagList"))
            if handover:
                self._hand_over(unit, ex, handover)
            return ex

        return {"runId": self.core.run(start).run_id}

    def _open(self, params: dict) -> Execution:
        self.registry.require_domain(params["domain"])
        ex = self.core.open_run(params["domain"], params["workflowId"], params.get("runId") or None)
        if ex is None:
            raise _unknown_execution(params["workflowId"], params.get("runId"))
        return ex

    def signal_workflow_execution(self, params: dict) -> dict:
        """SignalWorkflowExecution: WorkflowExecutionSignaled in the (current) open run."""
        self._tick()

        def signal(unit: Unit) -> None:
            self.core.signal(unit, self._open(params), {"signalName": params["signalName"],
                                                        "input": params.get("input")})

        self.core.run(signal)
        return {}

    def request_cancel_workflow_execution(self, params: dict) -> dict:
        """RequestCancelWorkflowExecution: WorkflowExecutionCancelRequested; the decider decides."""
        self._tick()
        self.core.run(lambda unit: self.core.request_cancel(unit, self._open(params), {}))
        return {}

    def terminate_workflow_execution(self, params: dict) -> dict:
        """TerminateWorkflowExecution: close the run at once, applying the child policy."""
        self._tick()

        def terminate(unit: Unit) -> None:
            ex = self._open(params)
            self.core.terminate(unit, ex, reason=params.get("reason"), details=params.get("details"),
                                child_policy=params.get("childPolicy") or ex.config["childPolicy"],
                                cause="OPERATOR_INITIATED")

        self.core.run(terminate)
        return {}

    def _run_of(self, params: dict) -> Execution:
        self.registry.require_domain(params["domain"])
        execution = params["execution"]
        ex = self.core.any_run(params["domain"], execution["workflowId"], execution["runId"])
        if ex is None:
            raise _unknown_execution(execution["workflowId"], execution["runId"])
        return ex

    def describe_workflow_execution(self, params: dict) -> dict:
        """DescribeWorkflowExecution: info, configuration, open counts, latest timestamps."""
        self._tick()
        ex = self._run_of(params)
        info: dict[str, Any] = {
            "execution": ex.execution(), "workflowType": ex.workflow_type(),
            "startTimestamp": ex.start_ts, "executionStatus": ex.status,
            "cancelRequested": ex.cancel_requested,
        }
        if not ex.is_open:
            info["closeTimestamp"] = ex.close_ts
            info["closeStatus"] = ex.close_status
        if ex.parent:
            info["parent"] = dict(ex.parent)
        if ex.tag_list:
            info["tagList"] = list(ex.tag_list)
        configuration = {key: ex.config[key] for key in (
            "taskStartToCloseTimeout", "executionStartToCloseTimeout", "taskList", "childPolicy")}
        for key in ("taskPriority", "lambdaRole"):
            if ex.config.get(key) is not None:
                configuration[key] = ex.config[key]
        response: dict[str, Any] = {
            "executionInfo": info,
            "executionConfiguration": configuration,
            "openCounts": {
                "openActivityTasks": len(ex.activities),
                "openDecisionTasks": 1 if ex.decision else 0,
                "openTimers": len(ex.timers),
                "openChildWorkflowExecutions": len(ex.children),
                "openLambdaFunctions": 0,
            },
        }
        if ex.latest_activity_ts is not None:
            response["latestActivityTaskTimestamp"] = ex.latest_activity_ts
        if ex.latest_context is not None:
            response["latestExecutionContext"] = ex.latest_context
        return response

    def get_workflow_execution_history(self, params: dict) -> dict:
        """GetWorkflowExecutionHistory: one page of the history, oldest first unless reversed."""
        self._tick()
        ex = self._run_of(params)
        scope = request_scope("GetWorkflowExecutionHistory", params)
        position = self._page_position(params.get("nextPageToken"), scope)
        page, following = self._history_page(ex, params, 1, ex.next_event_id - 1, position)
        response: dict[str, Any] = {"events": page}
        if following is not None:
            response["nextPageToken"] = self._pages.encode(scope, [following, self.clock.now()])
        return response

    def _history_page(self, ex: Execution, params: dict, first: int, last: int,
                      position: int | None) -> tuple[EncodedList, int | None]:
        """A page of events ``first..last`` (resumed at a page token's ``position``) and the
        event ID the next page starts at, honouring ``reverseOrder`` and ``maximumPageSize``."""
        reverse = bool(params.get("reverseOrder"))
        if position is not None:
            if reverse:
                last = min(position, last)
            else:
                first = position
        events = self.core.events(None, ex) if ex.is_open else None
        return select_range(self.store.connection, ex, events, first, last, reverse, page_size(params))

    def _page_position(self, token: str | None, scope: str) -> Any:
        """The position a history page token holds (``None`` without a token).

        Tokens hold their issue time and, as SWF's, expire after :data:`TOKEN_LIFETIME`.
        """
        decoded = self._pages.decode(token, scope)
        if decoded is None:
            return None
        try:
            position, issued = decoded
            issued = float(issued)
        except (TypeError, ValueError):
            raise validation_error("Invalid nextPageToken") from None
        if self.clock.now() - issued > TOKEN_LIFETIME:
            raise validation_error("Specified token has exceeded its maximum lifetime")
        return position

    # ------------------------------------------------------------------ long polls

    def _poll(self, queue: TaskQueue, claim: Callable[[Any], dict | None],
              requeue: Callable[[Any], None], timeout: float) -> dict | None:
        """The next task of ``queue``, claimed, waiting up to ``timeout`` real seconds for
        one (0: only a task waiting now); ``None`` if none came."""
        def claim_one(item: Any) -> dict | None:
            try:
                return claim(item)
            except EventLimitFault:
                return None  # that run was just terminated; look for another task

        return wait_for_task(queue, claim_one, requeue, timeout=timeout,
                             stopping=lambda: self._stopping, between=self._tick)

    def poll_for_decision_task(self, params: dict) -> dict:
        """PollForDecisionTask: the next decision task (DecisionTaskStarted committed) or an empty one.

        With ``nextPageToken`` it answers the next page of the task that token came with.
        """
        self._tick()
        domain = params["domain"]
        self.registry.require_domain(domain)
        if params.get("nextPageToken"):
            return self._decision_next_page(params)
        queue = self.core.decision_queues.get(domain, params["taskList"]["name"])
        task = self._poll(queue, lambda item: self.core.run(self._claim_decision, domain, item, params),
                          lambda item: self._requeue_decision(domain, item), self.poll_timeout)
        return dict(EMPTY_DECISION_TASK) if task is None else task

    def _claim_decision(self, unit: Unit, domain: str, item: tuple, params: dict) -> dict | None:
        workflow_id, run_id, scheduled = item
        ex = self.core.open_run(domain, workflow_id, run_id)
        d = ex.decision if ex else None
        if ex is None or d is None or d["scheduled"] != scheduled or d["started"]:
            return None  # stale entry: the task timed out or the run closed
        self.core.events(unit, ex)  # load the history before adding to it
        started = unit.event(ex, "DecisionTaskStarted", {"identity": params.get("identity"),
                                                         "scheduledEventId": scheduled})
        d.update(started=started, started_ts=unit.now, nonce=new_nonce())
        timeout = seconds(ex.config["taskStartToCloseTimeout"])
        if timeout is not None:
            self.core.deadline(unit, unit.now + timeout, "decision_s2c", ex.key, scheduled, started)
        return self._decision_task(ex, scheduled, started, d["nonce"], ex.prev_started, params, None)

    def _requeue_decision(self, domain: str, item: tuple) -> None:
        ex = self.core.open_run(domain, item[0], item[1])
        d = ex.decision if ex else None
        if d is not None and d["scheduled"] == item[2] and not d["started"]:
            self.core.decision_queues.get(domain, d["list"]).push(item, int(d["priority"] or 0))

    def _decision_task(self, ex: Execution, scheduled: int, started: int, nonce: str, previous: int,
                       params: dict, position: int | None) -> dict:
        first = previous if params.get("startAtPreviousStartedEvent") and previous else 1
        page, following = self._history_page(ex, params, first, started, position)
        task = {
            "taskToken": encode(TaskRef(DECISION, ex.domain, ex.workflow_id, ex.run_id, scheduled, nonce)),
            "startedEventId": started,
            "workflowExecution": ex.execution(),
            "workflowType": ex.workflow_type(),
            "events": page,
            "previousStartedEventId": previous,
        }
        if following is not None:
            scope = request_scope("PollForDecisionTask", params)
            task["nextPageToken"] = self._pages.encode(
                scope, [[ex.workflow_id, ex.run_id, scheduled, started, nonce, previous, following],
                        self.clock.now()])
        return task

    def _decision_next_page(self, params: dict) -> dict:
        scope = request_scope("PollForDecisionTask", params)
        position = self._page_position(params["nextPageToken"], scope)
        try:
            workflow_id, run_id, scheduled, started, nonce, previous, following = position
        except (TypeError, ValueError):
            raise validation_error("Invalid nextPageToken") from None
        ex = self.core.any_run(params["domain"], workflow_id, run_id)
        if ex is None:
            raise _unknown_execution(workflow_id, run_id)
        return self._decision_task(ex, scheduled, started, nonce, previous, params, following)

    def respond_decision_task_completed(self, params: dict, handover: Handover | None = None) -> dict:
        """RespondDecisionTaskCompleted: apply the decisions; the next decision task follows if due.

        ``handover`` asks for the activity tasks the decisions schedule (claimed in the same
        unit), then for tasks already waiting on that task list (each claimed as a poll would);
        and for the run's next decision task (when events came during the decision), else the
        next decision task already waiting on that task list, of any run: either claimed in the
        same unit (never waited for).
        """
        self._tick()
        ref = decode(params["taskToken"], DECISION)
        checked = check_batch(params.get("decisions"), params.get(INVALID_TEXT_DECISIONS, ()))
        override_timeout = params.get("taskListScheduleToStartTimeout")

        def respond(unit: Unit) -> None:
            core = self.core
            ex = core.open_run(ref.domain, ref.workflow_id, ref.run_id)
            d = ex.decision if ex else None
            if ex is None or d is None or d["scheduled"] != ref.scheduled_id or not d["started"] \
                    or d["nonce"] != ref.nonce:
                raise _stale_task()
            task_list = params.get("taskList")
            completed = unit.event(ex, "DecisionTaskCompleted", {
                "executionContext": params.get("executionContext"), "scheduledEventId": d["scheduled"],
                "startedEventId": d["started"], "taskList": task_list,
                "taskListScheduleToStartTimeout": override_timeout,
            })
            ex.prev_started = d["started"]
            if params.get("executionContext") is not None:
                ex.latest_context = params["executionContext"]
            if task_list and task_list.get("name"):
                ex.list_override = {"name": task_list["name"], "timeout": override_timeout}
            apply_batch(core, unit, ex, completed, ex.decision_pending, checked)
            if ex.is_open:
                ex.decision = None
                pending, ex.decision_pending = ex.decision_pending, False
                if pending:
                    core.schedule_decision(unit, ex)
                if handover:
                    self._hand_over(unit, ex, handover, scheduled_after=completed)
            if handover:
                self._hand_over_waiting_decision(unit, ref.domain, handover)

        self.core.run(respond)
        if handover is not None and handover.activities is not None and handover.activities_wanted():
            task_list, identity, _ = handover.activities
            handover.activity_tasks += self.take_activity_tasks(ref.domain, task_list, handover.activities_wanted(),
                                                                identity)
        return {}

    # ------------------------------------------------------------------ extension

    def describe_task_lists(self, params: dict) -> dict:
        """greenflow's extension (not SWF): each task list of a domain, its backlog and waiting long polls."""
        domain = params.get("domain")
        if not isinstance(domain, str) or not domain:
            raise validation_error("domain: a non-empty string is required")
        self.registry.require_domain(domain)
        task_lists = [{"kind": kind, "name": name, "backlog": len(queue), "waitingPollers": len(queue.waiters)}
                      for kind, queues in (("decision", self.core.decision_queues),
                                           ("activity", self.core.activity_queues))
                      for (in_domain, name), queue in queues.items() if in_domain == domain]
        return {"taskLists": sorted(task_lists, key=lambda row: (row["name"], row["kind"]))}

    # ------------------------------------------------------------------ activity tasks

    def poll_for_activity_task(self, params: dict) -> dict:
        """PollForActivityTask: the next activity task (ActivityTaskStarted committed) or an empty one."""
        self._tick()
        domain = params["domain"]
        self.registry.require_domain(domain)
        queue = self.core.activity_queues.get(domain, params["taskList"]["name"])
        task = self._poll(queue, lambda item: self.core.run(self._claim_activity, domain, item, params),
                          lambda item: self._requeue_activity(domain, item), self.poll_timeout)
        return dict(EMPTY_ACTIVITY_TASK) if task is None else task

    def _claim_activity(self, unit: Unit, domain: str, item: tuple, params: dict) -> dict | None:
        workflow_id, run_id, scheduled = item
        ex = self.core.open_run(domain, workflow_id, run_id)
        activity = ex.activity_by_scheduled(scheduled) if ex else None
        if ex is None or activity is None or activity["started"]:
            return None
        started = unit.event(ex, "ActivityTaskStarted", {"identity": params.get("identity"),
                                                         "scheduledEventId": scheduled})
        activity.update(started=started, started_ts=unit.now, last_hb=unit.now, nonce=new_nonce())
        ex.activity_changed(activity["activityId"])
        for kind, member in (("activity_st2c", "st2c"), ("activity_hb", "hb")):
            timeout = seconds(activity[member])
            if timeout is not None:
                self.core.deadline(unit, unit.now + timeout, kind, ex.key, scheduled, started)
        task = {
            "taskToken": encode(TaskRef(ACTIVITY, domain, workflow_id, run_id, scheduled, activity["nonce"])),
            "activityId": activity["activityId"],
            "startedEventId": started,
            "workflowExecution": ex.execution(),
            "activityType": dict(activity["type"]),
        }
        # The input lives in the ActivityTaskScheduled event only: keeping up to 32 KB per
        # open activity in the run's state would make every state write that much bigger.
        scheduled_event = self._event(ex, scheduled)
        activity_input = scheduled_event["activityTaskScheduledEventAttributes"].get("input")
        if activity_input is not None:
            task["input"] = activity_input
        if self.on_activity_started is not None:
            kind = activity["type"]
            self.on_activity_started(domain, str(activity["list"]), f"{kind['name']} {kind['version']}",
                                     max(0.0, unit.now - float(scheduled_event["eventTimestamp"])))
        return task

    def _hand_over_waiting_decision(self, unit: Unit, domain: str, handover: Handover) -> None:
        """Claim for the request running ``unit`` the next decision task waiting on the task
        list ``handover`` names, of any run, in the request's own unit (it is withdrawn from
        its queue once committed): what a poll with nothing to wait for would take. A task of
        a run with no room left for its DecisionTaskStarted is left for a poll, whose own
        unit then meets the event limit (not the request's)."""
        if handover.decision is None or handover.decision_task is not None:
            return
        task_list, identity = handover.decision
        queue = self.core.decision_queues.get(domain, task_list)
        for _ in range(_STALE_PEEKS):
            item = queue.peek()
            if item is None:
                return
            waiting = self.core.open_run(domain, item[0], item[1])  # type: ignore[index]
            if waiting is not None and not self._room_for_claims(waiting):
                return
            task = self._claim_decision(unit, domain, item, _hand_over_claim(identity))  # type: ignore[arg-type]
            if task is not None:
                handover.decision_task = task
                unit.after(functools.partial(queue.discard, item))
                return
            queue.discard(item)  # stale (timed out, run closed): withdrawn whatever the unit does

    def _hand_over(self, unit: Unit, ex: Execution, handover: Handover, scheduled_after: int = 0) -> None:
        """Claim for the request running ``unit`` the tasks of ``ex`` that ``handover`` asks
        for: its decision task, and activity tasks scheduled after event ``scheduled_after``
        (see :mod:`._handover`). Each claim is the poll's own (:meth:`_claim_decision`,
        :meth:`_claim_activity`); a task claimed here is never offered on its task list."""
        if handover.decision is not None and handover.decision_task is None:
            task_list, identity = handover.decision
            d = ex.decision
            if d is not None and not d["started"] and d["list"] == task_list and self._room_for_claims(ex):
                handover.decision_task = self._claim_decision(
                    unit, ex.domain, (ex.workflow_id, ex.run_id, d["scheduled"]), _hand_over_claim(identity))
        if handover.activities is not None and handover.activities_wanted():
            task_list, identity, _ = handover.activities
            fresh = sorted(record["scheduled"] for record in ex.activities.values()
                           if record["scheduled"] > scheduled_after and not record["started"]
                           and record["list"] == task_list)
            if fresh and ex.events is None:
                unit.flush_events(self.store.connection)  # a claim reads the scheduled event back
            claim = {"identity": identity}
            for scheduled in fresh[:handover.activities_wanted()]:
                if not self._room_for_claims(ex):
                    break
                task = self._claim_activity(unit, ex.domain, (ex.workflow_id, ex.run_id, scheduled), claim)
                if task is not None:
                    handover.activity_tasks.append(task)

    def _room_for_claims(self, ex: Execution) -> bool:
        """Whether a task of ``ex`` may be claimed inside another request's unit: its
        ``*TaskStarted`` event stays below the event limit, whose last ID is kept for a
        termination (a claim that would reach it must fail in a unit of its own)."""
        return ex.next_event_id < self.core.event_limit - 1

    def take_activity_tasks(self, domain: str, task_list: str, count: int, identity: str | None) -> list[dict]:
        """Start up to ``count`` activity tasks waiting on ``task_list`` for a caller that runs
        them itself (``greenflow._extensions.EAGER_ACTIVITIES_HEADER``): each is claimed and
        committed exactly as a poll would, without the poll's round trip."""
        queue = self.core.activity_queues.get(domain, task_list)
        params = {"identity": identity}
        tasks: list[dict] = []
        while len(tasks) < count:
            popped = queue.pop()
            if popped is None:
                break
            item: tuple = popped  # type: ignore[assignment]  # activity queues hold (workflow, run, scheduled)
            try:
                task = self.core.run(self._claim_activity, domain, item, params)
            except EventLimitFault:
                continue  # that run was just terminated
            except BaseException:
                self._requeue_activity(domain, item)
                raise
            if task is not None:
                tasks.append(task)
        return tasks

    def _event(self, ex: Execution, event_id: int) -> dict:
        """One committed event of a run (from its cached history, else from its row)."""
        if ex.events is not None:
            return json.loads(ex.events[event_id - 1])
        row = self.store.connection.execute(
            "SELECT event FROM events WHERE domain=? AND workflow_id=? AND run_id=? AND event_id=?",
            (*ex.key, event_id)).fetchone()
        return json.loads(row[0])

    def _requeue_activity(self, domain: str, item: tuple) -> None:
        ex = self.core.open_run(domain, item[0], item[1])
        activity = ex.activity_by_scheduled(item[2]) if ex else None
        if activity is not None and not activity["started"]:
            self.core.activity_queues.get(domain, activity["list"]).push(item, int(activity["priority"] or 0))

    def _started_activity(self, token: str) -> tuple[Execution, dict]:
        ref = decode(token, ACTIVITY)
        ex = self.core.open_run(ref.domain, ref.workflow_id, ref.run_id)
        activity = ex.activity_by_scheduled(ref.scheduled_id) if ex else None
        if ex is None or activity is None or not activity["started"] or activity["nonce"] != ref.nonce:
            raise _stale_task()
        return ex, activity

    def record_activity_task_heartbeat(self, params: dict) -> dict:
        """RecordActivityTaskHeartbeat: restart the heartbeat clock; tells whether cancel was requested."""
        self._tick()

        def heartbeat(unit: Unit) -> dict:
            ex, activity = self._started_activity(params["taskToken"])
            activity["last_hb"] = unit.now
            if params.get("details") is not None:
                activity["details"] = params["details"]
            ex.activity_changed(activity["activityId"])
            unit.touch(ex)
            return {"cancelRequested": bool(activity["cancel_requested"])}

        return self.core.run(heartbeat)

    def _close_activity(self, params: dict, event_type: str, attributes: Callable[[dict], dict],
                        handover: Handover | None) -> dict:
        self._tick()

        def close(unit: Unit) -> None:
            ex, activity = self._started_activity(params["taskToken"])
            unit.touch(ex)  # before any change, so a failure reloads it
            ex.pop_activity(activity["activityId"])
            unit.event(ex, event_type, {**attributes(activity), "scheduledEventId": activity["scheduled"],
                                        "startedEventId": activity["started"]})
            self.core.schedule_decision(unit, ex)
            if handover:
                self._hand_over(unit, ex, handover)

        self.core.run(close)
        return {}

    def respond_activity_task_completed(self, params: dict, handover: Handover | None = None) -> dict:
        """RespondActivityTaskCompleted: ActivityTaskCompleted and a decision task (claimed
        for the caller, in the same unit, when ``handover`` asks for it)."""
        return self._close_activity(params, "ActivityTaskCompleted", lambda a: {"result": params.get("result")},
                                    handover)

    def respond_activity_task_failed(self, params: dict, handover: Handover | None = None) -> dict:
        """RespondActivityTaskFailed: ActivityTaskFailed and a decision task (as completed)."""
        return self._close_activity(params, "ActivityTaskFailed",
                                    lambda a: {"reason": params.get("reason"), "details": params.get("details")},
                                    handover)

    def respond_activity_task_canceled(self, params: dict, handover: Handover | None = None) -> dict:
        """RespondActivityTaskCanceled: ActivityTaskCanceled and a decision task (as completed)."""
        return self._close_activity(params, "ActivityTaskCanceled", lambda a: {
            "details": params.get("details"), "latestCancelRequestedEventId": a["cancel_requested"] or None},
            handover)

    # ------------------------------------------------------------------ counts

    def count_pending_activity_tasks(self, params: dict) -> dict:
        """CountPendingActivityTasks: activity tasks scheduled and not yet started on a task list."""
        self._tick()
        self.registry.require_domain(params["domain"])
        return {"count": self.core.activity_queues.count(params["domain"], params["taskList"]["name"]),
                "truncated": False}

    def count_pending_decision_tasks(self, params: dict) -> dict:
        """CountPendingDecisionTasks: decision tasks scheduled and not yet started on a task list."""
        self._tick()
        self.registry.require_domain(params["domain"])
        return {"count": self.core.decision_queues.count(params["domain"], params["taskList"]["name"]),
                "truncated": False}


def _hand_over_claim(identity: str | None) -> dict:
    """The poll parameters a decision task handed over is claimed with: the caller's
    identity, and the history from the previous started decision on."""
    return {"identity": identity, "startAtPreviousStartedEvent": True}
