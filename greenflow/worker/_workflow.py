"""The workflow worker: polls decision tasks and answers them with the decider's decisions.

A :class:`WorkflowWorker` registers its domain and workflow types (idempotently), then
keeps ``pollers`` long polls open on one task list. Each decision task goes to the
:class:`~greenflow.workflow._decider.Decider`, which replays the history into the workflow
code (or resumes a cached run with only the new events) and returns the decisions, which
the worker sends back with ``RespondDecisionTaskCompleted``.

Three ways to run it::

    worker.run()            # blocks until SIGINT/SIGTERM or stop()
    worker.start(); ...; worker.stop()
    with worker:            # in the background; Workflow.method(...) starts executions
        handle = HelloWorldWorkflow.hello_world()

Concurrency: when gevent has patched the process (the ``greenflow worker`` command does
it; an application does it in its entry point), pollers are greenlets. Otherwise the
worker runs in one background thread with one poller: cached runs are greenlets, which
only ever resume on the OS thread that created them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from typing import Any, Callable, Sequence

import gevent
import gevent.pool
from greenlet import getcurrent

from .. import errors
from .._extensions import EAGER_DECISION_HEADER, EAGER_DECISION_TASK_MEMBER, MAX_EAGER_ACTIVITIES
from ..client import WorkflowClient
from ..converter import DEFAULT_CONVERTER, DataConverter, failure_from_exception
from ..interceptors import Interceptor, WorkflowTaskCall, WorkflowTaskOutcome, active, intercept
from ..workflow._decider import Decider
from ..workflow._definition import workflow_types
from ..workflow._starter import use_starter
from ..workflow._watchdog import DEFAULT_STEP_TIMEOUT
from ._activity import ActivityWorker
from ._loop import DEFAULT_RETENTION_DAYS, DEFAULT_SHUTDOWN_TIMEOUT, OutageBackoff, PollingWorker

__all__ = ["WorkflowWorker"]

log = logging.getLogger("greenflow.workflow_worker")


class WorkflowWorker(PollingWorker):
    """Decides the executions of ``workflow_classes`` on one domain and task list.

    Args:
        client: an :class:`greenflow.swf.SWFClient` or a raw botocore ``swf`` client
            (kept as :attr:`swf`).
        domain: the SWF domain (registered at start unless ``register=False``).
        task_list: the decision task list to poll.
        *workflow_classes: ``WorkflowDefinition`` subclasses to decide.
        identity: recorded in ``DecisionTaskStarted`` (default ``host:pid``).
        register: register the domain and the workflow types (defaults from the decorators)
            when starting (:meth:`register_types`); turn off for accounts where workers may
            not register.
        cache_size: how many suspended runs to keep alive between decision tasks.
        pollers: how many decision polls to keep open at once (greenlets; 1 without gevent).
        fail_on_nondeterminism: fail an execution whose history no longer matches the code,
            instead of leaving its decision task unanswered until fixed code is deployed.
        converter: the data converter for inputs/results (JSON by default).
        retention_days: retention of the domain if this worker registers it.
        shutdown_timeout: how long a graceful stop waits for open polls and running
            decisions, in seconds (default 70; ``None``: as long as they take); see
            :meth:`stop`.
        step_timeout: the longest one step of workflow code (between two blocking calls)
            may run before it is stopped and its decision task left unanswered, in seconds
            (default 2; ``None`` turns it off, e.g. to debug workflow code).
        eager_decisions: on a greenflow local service (direct transport), each answer to a
            decision task asks for the next decision task waiting on this task list, which
            the worker then decides as if a poll had brought it: no poll round trip per
            decision task while there is work (``False``: every task is polled for).
    """

    kind = "workflow worker"

    def __init__(self, client: Any, domain: str, task_list: str, *workflow_classes: type,
                 identity: str | None = None, register: bool = True, cache_size: int = 1000,
                 pollers: int = 2, fail_on_nondeterminism: bool = False,
                 converter: DataConverter | None = None, retention_days: int = DEFAULT_RETENTION_DAYS,
                 shutdown_timeout: float | None = DEFAULT_SHUTDOWN_TIMEOUT,
                 step_timeout: float | None = DEFAULT_STEP_TIMEOUT, interceptors: Sequence[Interceptor] = (),
                 eager_decisions: bool = True):
        if not workflow_classes:
            raise ValueError("WorkflowWorker needs at least one WorkflowDefinition subclass")
        if pollers < 1:
            raise ValueError(f"pollers must be >= 1, not {pollers!r}")
        # Greenlet pollers once gevent has patched the process; else one worker thread,
        # since cached runs are greenlets that only resume on the thread that made them.
        self._cooperative = self.gevent_patched()
        super().__init__(client, domain, task_list, identity=identity, register=register,
                         retention_days=retention_days, shutdown_timeout=shutdown_timeout, interceptors=interceptors)
        self.workflow_classes = tuple(workflow_classes)
        self.fail_on_nondeterminism = fail_on_nondeterminism
        self.converter = converter
        self.workflow_types = [kind for cls in workflow_classes for kind in workflow_types(cls)]
        self.decider = Decider(list(workflow_classes), cache_size=cache_size, converter=converter,
                               fail_on_nondeterminism=fail_on_nondeterminism, step_timeout=step_timeout)
        if not self._cooperative and pollers > 1:
            log.info("gevent has not patched this process: the workflow worker uses 1 poller, not %d", pollers)
            pollers = 1
        self.pollers = pollers
        self._poll_greenlets: list[Any] = []  # gevent mode: the pollers
        self._thread: threading.Thread | None = None  # thread mode: the one worker thread
        self._busy = 0  # tasks being decided right now
        self._in_poll: set[Any] = set()  # gevent mode: pollers waiting in a long poll
        self._handed_over = gevent.pool.Group()  # gevent mode: eager decision tasks being decided
        # Token of each task being decided by _decide_in_turn -> the task handed over in its
        # answer (None until then): only those answers ask for a next task, since only
        # _decide_in_turn goes on with it.
        self._following: dict[str, dict | None] = {}
        #: Whether answers to decision tasks ask a greenflow service for the next decision
        #: task of this task list (see ``eager_decisions``).
        self.eager_decisions = eager_decisions
        #: decision tasks answered since start (for tests and metrics)
        self.tasks_completed = 0
        #: decision tasks left unanswered because the code is non-deterministic
        self.nondeterministic_tasks = 0
        #: decision tasks left unanswered because workflow code blocked or overran its step
        self.blocked_tasks = 0
        #: An activity worker of this process (same client and domain) that takes the activity
        #: tasks these decisions schedule on its task list straight from the answer to them,
        #: without a poll (a greenflow local service only; :class:`~greenflow.worker.Worker`
        #: sets it). ``None``: every activity task goes through a poll, as on Amazon SWF.
        self.activity_worker: ActivityWorker | None = None
        #: Whether executions started through this worker's client (in this process) get
        #: their first decision task handed to this worker in the start's answer, without a
        #: poll (a greenflow local service only; :class:`~greenflow.worker.Worker` sets it).
        self.eager_start = False

    def __repr__(self) -> str:
        return f"<WorkflowWorker {self.domain}/{self.task_list} {len(self.workflow_classes)} classes>"

    # ---------------------------------------------------------------- registration

    def register_types(self) -> None:
        """Register the domain and every workflow type (already registered is fine).

        A type without its own task list is registered with this worker's task list as its
        default, so children and continued runs started without one come back here.
        """
        self.swf.ensure_domain(self.domain, retention_days=self.retention_days)
        for kind in self.workflow_types:
            self.swf.ensure_workflow_type(self.domain, kind, task_list=self.task_list)

    # ---------------------------------------------------------------- lifecycle

    def _start_polling(self) -> None:
        log.info("workflow worker %s polling %s/%s for %s", self.identity, self.domain, self.task_list,
                 ", ".join(f"{kind.name}@{kind.version}" for kind in self.workflow_types))
        if self._cooperative:
            self._poll_greenlets = [gevent.spawn(self._poll_loop) for _ in range(self.pollers)]
            if self.eager_start and isinstance(getattr(self.swf, "deciders", None), list):
                self.swf.deciders.append(self)  # starts through this client hand over first tasks
        else:
            self._thread = threading.Thread(target=self._poll_loop, name=f"greenflow-decider-{self.task_list}",
                                            daemon=True)
            self._thread.start()

    def _stop_polling(self, deadline: float | None, interrupt_polls: bool) -> None:
        if self in getattr(self.swf, "deciders", ()):
            self.swf.deciders.remove(self)
        if self._cooperative:
            pollers = [g for g in self._poll_greenlets if not g.dead]
            if interrupt_polls:
                gevent.killall([g for g in pollers if g in self._in_poll], block=True, timeout=5)
            self._join_until(lambda: pollers + list(self._handed_over), deadline)
            still_running = [g for g in pollers if not g.dead]
            if still_running:
                log.warning("workflow worker %s: interrupting %d pollers still running", self.identity,
                            len(still_running))
                gevent.killall(still_running, block=True, timeout=5)
        elif self._thread is not None:
            # A thread blocked in a long poll cannot be interrupted; it is a daemon and
            # exits when its poll returns. Wait for a decision being made to be answered.
            while self._thread.is_alive() and not (interrupt_polls and not self._busy):
                left = self._remaining(deadline)
                if left is not None and left <= 0:
                    break
                self._thread.join(0.05 if left is None else min(0.05, left))
        if self._thread is None or not self._thread.is_alive():
            # Nothing decides any more: unwind the suspended runs of the live-run cache so
            # their greenlets (and the workflow objects they hold) are freed now.
            self.decider.clear()
        log.info("workflow worker %s: %d decision tasks answered", self.identity, self.tasks_completed)

    def __enter__(self) -> WorkflowWorker:
        """Run in the background; inside the block ``Workflow.method(...)`` starts executions here."""
        self.start()
        stack = contextlib.ExitStack()
        stack.callback(self.stop, None, interrupt_polls=True)
        stack.enter_context(use_starter(self.workflow_client()))
        self._exit_stack = stack
        return self

    def __exit__(self, *exc_info: Any) -> None:
        """Stop (see :meth:`stop`): running decisions finish within ``shutdown_timeout``, waiting
        polls are interrupted (a script's ``with`` block must not wait a minute for them);
        then remove the starter."""
        stack, self._exit_stack = self._exit_stack, None
        if stack is not None:
            stack.close()

    def workflow_client(self) -> WorkflowClient:
        """A :class:`greenflow.client.WorkflowClient` for this worker's domain and task list."""
        kwargs: dict[str, Any] = {"workflow_classes": self.workflow_classes}
        if self.converter is not None:
            kwargs["converter"] = self.converter
        return WorkflowClient(self.swf, self.domain, self.task_list, **kwargs)

    # ---------------------------------------------------------------- polling

    def _poll(self) -> dict | None:
        return self.swf.poll_for_decision_task(
            domain=self.domain, taskList={"name": self.task_list}, identity=self.identity,
            startAtPreviousStartedEvent=True)

    def _poll_loop(self) -> None:
        backoff = OutageBackoff(f"workflow worker {self.domain}/{self.task_list} (polling)")
        me = getcurrent()
        while not self._stopping.is_set():
            self._in_poll.add(me)
            try:
                task = self._poll()
            except Exception as error:
                if self._stopping.is_set():
                    break
                self._poll_done("error")
                self._stopping.wait(backoff.failed(error))
                continue
            finally:
                self._in_poll.discard(me)
            backoff.succeeded()
            if not task or not task.get("taskToken"):
                self._poll_done("empty")
                continue
            self._poll_done("task")
            self._decide_in_turn(task)

    # ---------------------------------------------------------------- tasks handed over

    def decides(self, name: str, version: str) -> bool:
        """Whether this worker decides workflow type ``name`` ``version``."""
        return any(kind.name == name and str(kind.version) == version for kind in self.workflow_types)

    def takes_started_tasks(self) -> bool:
        """Whether this worker now takes decision tasks started for it outside its polls
        (eager decision tasks): running cooperatively (gevent) and not stopping."""
        return self._cooperative and self.running and not self._stopping.is_set()

    def eager_request(self) -> dict[str, str]:
        """The request header that asks a greenflow service to start a decision task for
        this worker in its answer: after a start or an activity answer the run's next one
        (see :meth:`take_handed_over`), after a decision answer the next one waiting on this
        task list (see :meth:`_decide_in_turn`)."""
        return {EAGER_DECISION_HEADER: json.dumps({"taskList": self.task_list, "identity": self.identity})}

    def take_handed_over(self, answer: dict) -> None:
        """Decide and answer, in a new greenlet, the decision task ``answer`` carries for this
        worker, if it carries one (a start's or an activity answer's, asked for with
        :meth:`eager_request`)."""
        task = answer.get(EAGER_DECISION_TASK_MEMBER)
        if task:
            self._poll_done("task")
            self._handed_over.spawn(self._decide_in_turn, self.swf.shaped_as("PollForDecisionTask", task))

    def _decide_in_turn(self, task: dict) -> None:
        """Decide ``task``, then each decision task handed over in the answer to the one
        before (see :meth:`_asks_next_task`), one after the other in this greenlet or thread:
        a chain of tasks takes no more concurrency than the poll or hand-over that began it,
        and a stop waits for it as for that poll. A task received is always decided here
        (or, if the worker is interrupted, waits for its start-to-close timeout)."""
        self._busy += 1
        try:
            following: dict | None = task
            while following is not None:
                token = following["taskToken"]
                self._following[token] = None
                try:
                    self.handle_task(following)
                except Exception:  # an interceptor's: the task handed over still gets decided
                    log.exception("workflow worker: handling a decision task failed")
                finally:
                    following = self._following.pop(token, None)
        finally:
            self._busy -= 1

    def _asks_next_task(self, task: dict) -> bool:
        """Whether the answer to ``task`` asks for the next decision task: one being decided
        by :meth:`_decide_in_turn` (which goes on with it), through a transport that keeps
        the answer's extension member, by a worker not stopping (a stopping worker takes no
        new task; one already received is still decided)."""
        return (self.eager_decisions and self.swf.direct and task.get("taskToken") in self._following
                and not self._stopping.is_set())

    # ---------------------------------------------------------------- one task

    def _fetcher(self, task: dict) -> Callable[[], list[dict]]:
        """The decider's ``fetch_history``: the full history up to this task's started event."""
        execution = task["workflowExecution"]
        last = task.get("startedEventId") or 0

        def fetch_history() -> list[dict]:
            events = []
            for event in self.retrying("reading history", lambda: list(
                    self.swf.history(self.domain, execution["workflowId"], execution["runId"]))):
                if last and event["eventId"] > last:
                    break  # events after this task started belong to the next task
                events.append(event)
            return events

        return fetch_history

    def handle_task(self, task: dict) -> WorkflowTaskOutcome:
        """Decide one decision task and answer it (or leave it unanswered on non-determinism).

        Runs inside the interceptors' ``handle_workflow_task`` hooks; returns what came of it.
        """
        hooks = active(self.interceptors)
        if not hooks:
            return self._handle_task(task)
        execution, kind = task["workflowExecution"], task.get("workflowType") or {}
        call = WorkflowTaskCall(self.domain, self.task_list, f"{kind.get('name')} {kind.get('version')}",
                                execution["workflowId"], execution["runId"], task)
        return intercept(hooks, "handle_workflow_task", call, lambda: self._handle_task(task))

    def _handle_task(self, task: dict) -> WorkflowTaskOutcome:
        stats = self.decider.stats
        before = (stats["cache_hits"], stats["events_replayed"], stats.get("evictions", 0))

        def outcome(name: str, decisions: Sequence[dict] = ()) -> WorkflowTaskOutcome:
            failures = tuple(str((d.get("failWorkflowExecutionDecisionAttributes") or {}).get("reason") or "")
                             for d in decisions if d.get("decisionType") == "FailWorkflowExecution")
            return WorkflowTaskOutcome(name, len(decisions), stats["cache_hits"] > before[0],
                                       stats["events_replayed"] - before[1], stats.get("evictions", 0) - before[2],
                                       failures)

        execution = task["workflowExecution"]
        name = f"{task['workflowType']['name']} {execution['workflowId']}/{execution['runId']}"
        try:
            result = self.decider.decide(task, self._fetcher(task))
        except errors.NonDeterministicWorkflowError as error:
            self.nondeterministic_tasks += 1
            if not self.fail_on_nondeterminism:
                log.error("NON-DETERMINISTIC WORKFLOW %s: %s -- the decision task is left unanswered; "
                          "SWF retries it after its timeout until code matching the history is "
                          "deployed (or run the worker with fail_on_nondeterminism)", name, error)
                return outcome("nondeterministic")
            log.error("NON-DETERMINISTIC WORKFLOW %s: %s -- failing the execution "
                      "(fail_on_nondeterminism)", name, error)
            reason, details = failure_from_exception(error, self.decider_converter)
            decisions = [{"decisionType": "FailWorkflowExecution",
                          "failWorkflowExecutionDecisionAttributes": {"reason": reason, "details": details}}]
            answered = self._respond(task, decisions, None, name)
            return outcome("nondeterministic" if answered else "not-answered", decisions)
        except errors.WorkflowBlockingError as error:
            self.blocked_tasks += 1
            log.error("BLOCKING WORKFLOW CODE %s: %s -- the decision task is left unanswered; SWF retries "
                      "it after its timeout", name, error)
            return outcome("blocked")
        except errors.WorkflowAbortedError as error:  # sys.exit()/KeyboardInterrupt in workflow code
            log.error("ABORTED WORKFLOW CODE %s: %s", name, error)
            return outcome("aborted")
        except Exception:
            # A greenflow bug or a broken task: not answering lets SWF retry it later.
            log.exception("workflow worker: deciding %s failed; the decision task is left unanswered", name)
            return outcome("error")
        answered = self._respond(task, result.decisions, result.execution_context, name)
        return outcome("completed" if answered else "not-answered", result.decisions)

    @property
    def decider_converter(self) -> DataConverter:
        """The converter decisions are encoded with (``converter``, else JSON)."""
        return self.converter or DEFAULT_CONVERTER

    def _respond(self, task: dict, decisions: Sequence[dict], context: str | None, name: str) -> bool:
        params: dict[str, Any] = {"taskToken": task["taskToken"], "decisions": list(decisions)}
        if context is not None:
            params["executionContext"] = context
        # Slots of this process's activity worker for the activities these decisions
        # schedule: the service then starts them for it in the answer (one poll round trip
        # less each). Only through a transport that keeps the answer's extension member.
        eager = self.activity_worker if self.activity_worker is not None and self.swf.direct else None
        scheduled = sum(1 for decision in decisions if decision.get("decisionType") == "ScheduleActivityTask")
        reserved = eager.reserve_slots(min(scheduled, MAX_EAGER_ACTIVITIES)) if eager is not None and scheduled else 0
        handed = 0
        # And the next decision task of this task list, decided after this one (_decide_in_turn).
        asks_next = self._asks_next_task(task)
        headers = {**(eager.eager_request(reserved) if eager and reserved else {}),
                   **(self.eager_request() if asks_next else {})}
        try:
            with self.swf.headers(headers) if headers else contextlib.nullcontext():
                answer = self.retrying("answering a decision task",
                                       lambda: self.swf.call("RespondDecisionTaskCompleted", **params))
            following = answer.get(EAGER_DECISION_TASK_MEMBER) if asks_next else None
            if following:
                self._following[task["taskToken"]] = self.swf.shaped_as("PollForDecisionTask", following)
                self._poll_done("task")
            if eager is not None and reserved:
                handed = eager.take_handed_over(answer, reserved)
        except errors.UnknownResourceError as error:
            # The task timed out or the execution closed meanwhile: SWF has moved on.
            log.warning("workflow worker: decision task of %s is no longer valid (%s)", name, error)
            self._forget(task)
            return False
        except Exception:
            log.exception("workflow worker: answering the decision task of %s failed", name)
            self._forget(task)
            return False
        finally:
            if reserved > handed:
                assert eager is not None
                eager.release_slots(reserved - handed)
        self.tasks_completed += 1
        return True

    def _forget(self, task: dict) -> None:
        """Drop the cached run of a task whose answer SWF did not take (it will replay)."""
        evict = getattr(self.decider, "evict", None)
        if evict is not None:
            with contextlib.suppress(Exception):
                evict(task["workflowExecution"]["workflowId"], task["workflowExecution"]["runId"])
