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
import logging
import os
import random
import signal as signal_module
import socket
import threading
import time
from typing import Any, Callable, Sequence

from greenlet import getcurrent

from .. import errors
from ..converter import DataConverter, failure_from_exception
from ..workflow._watchdog import DEFAULT_STEP_TIMEOUT

__all__ = ["WorkflowWorker"]

log = logging.getLogger("greenflow.workflow_worker")

_DEFAULT_RETENTION_DAYS = 30  # as the activity worker and SWFClient.ensure_domain


def _gevent_patched() -> bool:
    """Whether gevent has monkey-patched ``socket`` (then blocking calls are cooperative)."""
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a dependency
        return False
    return bool(monkey.is_module_patched("socket"))


def _default_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:256]


def _is_outage(error: BaseException) -> bool:
    """Errors that mean "the service is not answering right now": retry with backoff."""
    return isinstance(error, (errors.ServiceUnavailableError, errors.ThrottlingError, ConnectionError,
                              OSError, TimeoutError)) or type(error).__name__ in (
        "EndpointConnectionError", "ConnectionClosedError", "ReadTimeoutError", "ConnectTimeoutError")


class _Backoff:
    """Exponential backoff with jitter for service outages, logging once per outage."""

    def __init__(self, what: str, initial: float = 0.1, maximum: float = 10.0):
        self.what = what
        self.initial = initial
        self.maximum = maximum
        self.delay = 0.0
        self.failures = 0

    def failed(self, error: BaseException) -> float:
        self.failures += 1
        self.delay = self.initial if self.failures == 1 else min(self.maximum, self.delay * 2)
        if self.failures == 1:
            log.warning("%s: the SWF service is not answering (%s: %s); retrying with backoff",
                        self.what, type(error).__name__, error)
        else:
            log.debug("%s: still failing (%s), retry in %.1f s", self.what, error, self.delay)
        return self.delay * (0.5 + random.random() / 2)

    def succeeded(self) -> None:
        if self.failures:
            log.warning("%s: the SWF service answers again after %d failed attempts", self.what, self.failures)
        self.failures = 0
        self.delay = 0.0


class WorkflowWorker:
    """Decides the executions of ``workflow_classes`` on one domain and task list.

    Args:
        client: an :class:`greenflow.swf.SWFClient` or a raw botocore ``swf`` client.
        domain: the SWF domain (registered at start unless ``register=False``).
        task_list: the decision task list to poll.
        *workflow_classes: ``WorkflowDefinition`` subclasses to decide.
        identity: recorded in ``DecisionTaskStarted`` (default ``host:pid``).
        register: register the domain and the workflow types (defaults from the decorators)
            when starting; turn off for accounts where workers may not register.
        cache_size: how many suspended runs to keep alive between decision tasks.
        pollers: how many decision polls to keep open at once (greenlets; 1 without gevent).
        fail_on_nondeterminism: fail an execution whose history no longer matches the code,
            instead of leaving its decision task unanswered until fixed code is deployed.
        converter: the data converter for inputs/results (JSON by default).
        retention_days: retention of the domain if this worker registers it.
        shutdown_timeout: how long a graceful stop (``with`` exit, SIGINT/SIGTERM) waits for
            open polls and running decisions (``None``: as long as they take).
        step_timeout: the longest one step of workflow code (between two blocking calls)
            may run before it is stopped and its decision task left unanswered, in seconds
            (default 2; ``None`` turns it off, e.g. to debug workflow code).
    """

    def __init__(self, client: Any, domain: str, task_list: str, *workflow_classes: type,
                 identity: str | None = None, register: bool = True, cache_size: int = 1000,
                 pollers: int = 2, fail_on_nondeterminism: bool = False,
                 converter: DataConverter | None = None, retention_days: int = _DEFAULT_RETENTION_DAYS,
                 shutdown_timeout: float | None = 70.0, step_timeout: float | None = DEFAULT_STEP_TIMEOUT):
        if not workflow_classes:
            raise ValueError("WorkflowWorker needs at least one WorkflowDefinition subclass")
        if not task_list or not isinstance(task_list, str):
            raise ValueError(f"task_list must be a non-empty string, not {task_list!r}")
        if not domain or not isinstance(domain, str):
            raise ValueError(f"domain must be a non-empty string, not {domain!r}")
        if pollers < 1:
            raise ValueError(f"pollers must be >= 1, not {pollers!r}")
        from ..swf import as_client
        from ..workflow._decider import Decider
        from ..workflow._definition import workflow_types
        self.swf = as_client(client)
        self.domain = domain
        self.task_list = task_list
        self.workflow_classes = tuple(workflow_classes)
        self.identity = identity or _default_identity()
        self.register = register
        self.retention_days = retention_days
        self.fail_on_nondeterminism = fail_on_nondeterminism
        self.shutdown_timeout = shutdown_timeout
        self.converter = converter
        self.workflow_types = [kind for cls in workflow_classes for kind in workflow_types(cls)]
        self.decider = Decider(list(workflow_classes), cache_size=cache_size, converter=converter,
                               fail_on_nondeterminism=fail_on_nondeterminism, step_timeout=step_timeout)
        self._patched = _gevent_patched()
        if not self._patched and pollers > 1:
            log.info("gevent has not patched this process: the workflow worker uses 1 poller, not %d", pollers)
            pollers = 1
        self.pollers = pollers
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()
        self._registered = False
        self._poll_greenlets: list[Any] = []  # gevent mode: the pollers
        self._thread: threading.Thread | None = None  # thread mode: the one worker thread
        self._busy = 0  # tasks being decided right now
        self._in_poll: set[Any] = set()  # gevent mode: pollers waiting in a long poll
        self._exit_stack: contextlib.ExitStack | None = None
        #: decision tasks answered since start (for tests and metrics)
        self.tasks_completed = 0
        #: decision tasks left unanswered because the code is non-deterministic
        self.nondeterministic_tasks = 0
        #: decision tasks left unanswered because workflow code blocked or overran its step
        self.blocked_tasks = 0

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
        self._registered = True

    # ---------------------------------------------------------------- lifecycle

    @property
    def running(self) -> bool:
        """Whether the worker is polling (between ``start()`` and the end of ``stop()``)."""
        return not self._stopped.is_set()

    def start(self) -> "WorkflowWorker":
        """Register (unless ``register=False``) and start polling in the background; returns self."""
        if self.running:
            raise RuntimeError(f"{self!r} is already running")
        self._stopping.clear()
        if self.register and not self._registered:
            self._retrying("registering types", self.register_types)
        self._stopped.clear()
        log.info("workflow worker %s polling %s/%s for %s", self.identity, self.domain, self.task_list,
                 ", ".join(f"{kind.name}@{kind.version}" for kind in self.workflow_types))
        if self._patched:
            import gevent
            self._poll_greenlets = [gevent.spawn(self._poll_loop, index) for index in range(self.pollers)]
            gevent.spawn(self._watch_greenlets)
        else:
            self._thread = threading.Thread(target=self._thread_main, name=f"greenflow-decider-{self.task_list}",
                                            daemon=True)
            self._thread.start()
        return self

    def _watch_greenlets(self) -> None:
        import gevent
        gevent.joinall(self._poll_greenlets)
        self._stopped.set()

    def _thread_main(self) -> None:
        try:
            self._poll_loop(0)
        finally:
            self._stopped.set()

    def stop(self, timeout: float | None = None, *, interrupt_polls: bool = False) -> None:
        """Stop polling gracefully; returns once the worker has stopped.

        No new poll starts. A long poll still open may yet receive a task, which is decided
        and answered like any other, so nothing SWF hands over is dropped; decision tasks
        being decided finish and are answered. All of this is bounded by ``timeout``
        seconds (``None``: until the open polls return, at most one poll timeout, 60 s on
        SWF). After that, remaining pollers are interrupted (with gevent; a thread is left
        to finish on its own): a task SWF handed to an interrupted poll is retried by SWF
        after its start-to-close timeout, so it is delayed, not lost. ``stop(0)`` interrupts
        at once (use it when nothing can still be running, e.g. at the end of a script).
        With ``interrupt_polls`` (what leaving ``with worker:`` does), and always on a
        greenflow local service (``client.cancels_polls_safely``: it withdraws a poll whose
        client hung up), polls still waiting are interrupted at once while decisions being
        made still finish.
        """
        self._stopping.set()
        if self._stopped.is_set():
            return
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        # A greenflow local service withdraws a poll whose client hung up, so waiting polls
        # hold no task and can be interrupted at once (Amazon SWF may still hand them one).
        interrupt_polls = interrupt_polls or self.swf.cancels_polls_safely
        if self._patched:
            import gevent
            pollers = [g for g in self._poll_greenlets if not g.dead]
            if interrupt_polls:
                gevent.killall([g for g in pollers if g in self._in_poll], block=True, timeout=5)
            if timeout is None or timeout > 0:
                gevent.joinall(pollers, timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
            left = [g for g in pollers if not g.dead]
            if left:
                if timeout:
                    log.warning("workflow worker %s: interrupting %d pollers still running after %s s",
                                self.identity, len(left), timeout)
                gevent.killall(left, block=True, timeout=5)
        elif self._thread is not None:
            # A thread blocked in a long poll cannot be interrupted; it is a daemon and
            # exits when its poll returns. Wait for a decision being made to be answered.
            while self._thread.is_alive() and not (interrupt_polls and not self._busy):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._thread.join(0.05 if left is None else min(0.05, left))
        if self._thread is None or not self._thread.is_alive():
            # Nothing decides any more: unwind the suspended runs of the live-run cache so
            # their greenlets (and the workflow objects they hold) are freed now.
            self.decider.clear()
        self._stopped.set()
        log.info("workflow worker %s stopped (%d decision tasks answered)", self.identity, self.tasks_completed)

    def run(self) -> None:
        """Poll and decide until :meth:`stop`, SIGINT or SIGTERM; then shut down gracefully."""
        self.start()
        with self._signal_handlers():
            try:
                while not self._stopping.is_set():
                    self._stopping.wait(0.2)
            except KeyboardInterrupt:
                log.info("workflow worker: interrupted")
            finally:
                self.stop(self.shutdown_timeout)

    @contextlib.contextmanager
    def _signal_handlers(self):
        """Install SIGINT/SIGTERM handlers that request a graceful stop (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        def request_stop(signum: int) -> None:
            log.info("workflow worker: %s received, stopping gracefully", signal_module.Signals(signum).name)
            self._stopping.set()

        if self._patched:
            # gevent runs the callback in its hub, where switching greenlets is safe.
            import gevent
            watchers = [gevent.signal_handler(signum, request_stop, signum)
                        for signum in (signal_module.SIGINT, signal_module.SIGTERM)]
            try:
                yield
            finally:
                for watcher in watchers:
                    watcher.cancel()
            return
        previous = {}
        for signum in (signal_module.SIGINT, signal_module.SIGTERM):
            try:
                previous[signum] = signal_module.signal(signum, lambda signum, frame: request_stop(signum))
            except (ValueError, OSError):  # not the main interpreter thread
                pass
        try:
            yield
        finally:
            for signum, old in previous.items():
                signal_module.signal(signum, old)

    def __enter__(self) -> "WorkflowWorker":
        """Run in the background; inside the block ``Workflow.method(...)`` starts executions here."""
        from ..client import WorkflowClient
        from ..workflow._starter import use_starter
        self.start()
        stack = contextlib.ExitStack()
        stack.callback(self.stop, self.shutdown_timeout, interrupt_polls=True)
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

    def workflow_client(self) -> Any:
        """A :class:`greenflow.client.WorkflowClient` for this worker's domain and task list."""
        from ..client import WorkflowClient
        kwargs = {"workflow_classes": self.workflow_classes}
        if self.converter is not None:
            kwargs["converter"] = self.converter
        return WorkflowClient(self.swf, self.domain, self.task_list, **kwargs)

    # ---------------------------------------------------------------- polling

    def _retrying(self, what: str, call: Callable[[], Any]) -> Any:
        backoff = _Backoff(f"workflow worker {self.domain}/{self.task_list} ({what})")
        while True:
            try:
                value = call()
            except Exception as error:
                if not _is_outage(error) or self._stopping.is_set():
                    raise
                self._stopping.wait(backoff.failed(error))
                continue
            backoff.succeeded()
            return value

    def _poll(self) -> dict | None:
        return self.swf.poll_for_decision_task(
            domain=self.domain, taskList={"name": self.task_list}, identity=self.identity,
            startAtPreviousStartedEvent=True)

    def _poll_loop(self, index: int) -> None:
        backoff = _Backoff(f"workflow worker {self.domain}/{self.task_list}")
        me = getcurrent()
        while not self._stopping.is_set():
            self._in_poll.add(me)
            try:
                task = self._poll()
            except Exception as error:
                if self._stopping.is_set():
                    break
                if _is_outage(error):
                    self._stopping.wait(backoff.failed(error))
                else:
                    log.exception("workflow worker: PollForDecisionTask failed")
                    self._stopping.wait(1.0)
                continue
            finally:
                self._in_poll.discard(me)
            backoff.succeeded()
            if not task or not task.get("taskToken"):
                continue
            self._busy += 1
            try:
                self.handle_task(task)
            finally:
                self._busy -= 1

    # ---------------------------------------------------------------- one task

    def _fetcher(self, task: dict) -> Callable[[], list[dict]]:
        """The decider's ``fetch_history``: the full history up to this task's started event."""
        execution = task["workflowExecution"]
        last = task.get("startedEventId") or 0

        def fetch_history() -> list[dict]:
            events = []
            for event in self._retrying("reading history", lambda: list(
                    self.swf.history(self.domain, execution["workflowId"], execution["runId"]))):
                if last and event["eventId"] > last:
                    break  # events after this task started belong to the next task
                events.append(event)
            return events

        return fetch_history

    def handle_task(self, task: dict) -> None:
        """Decide one decision task and answer it (or leave it unanswered on non-determinism)."""
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
                return
            log.error("NON-DETERMINISTIC WORKFLOW %s: %s -- failing the execution "
                      "(fail_on_nondeterminism)", name, error)
            reason, details = failure_from_exception(error, self.decider_converter)
            self._respond(task, [{"decisionType": "FailWorkflowExecution",
                                  "failWorkflowExecutionDecisionAttributes": {
                                      "reason": reason, "details": details}}], None, name)
            return
        except errors.WorkflowBlockingError as error:
            self.blocked_tasks += 1
            log.error("BLOCKING WORKFLOW CODE %s: %s -- the decision task is left unanswered; SWF retries "
                      "it after its timeout", name, error)
            return
        except Exception:
            # A greenflow bug or a broken task: not answering lets SWF retry it later.
            log.exception("workflow worker: deciding %s failed; the decision task is left unanswered", name)
            return
        self._respond(task, result.decisions, result.execution_context, name)

    @property
    def decider_converter(self) -> DataConverter:
        from ..converter import DEFAULT_CONVERTER
        return self.converter or DEFAULT_CONVERTER

    def _respond(self, task: dict, decisions: Sequence[dict], context: str | None, name: str) -> None:
        params: dict[str, Any] = {"taskToken": task["taskToken"], "decisions": list(decisions)}
        if context is not None:
            params["executionContext"] = context
        try:
            self._retrying("answering a decision task",
                           lambda: self.swf.call("RespondDecisionTaskCompleted", **params))
        except errors.UnknownResourceError as error:
            # The task timed out or the execution closed meanwhile: SWF has moved on.
            log.warning("workflow worker: decision task of %s is no longer valid (%s)", name, error)
            self._forget(task)
            return
        except Exception:
            log.exception("workflow worker: answering the decision task of %s failed", name)
            self._forget(task)
            return
        self.tasks_completed += 1

    def _forget(self, task: dict) -> None:
        """Drop the cached run of a task whose answer SWF did not take (it will replay)."""
        evict = getattr(self.decider, "evict", None)
        if evict is not None:
            with contextlib.suppress(Exception):
                evict(task["workflowExecution"]["workflowId"], task["workflowExecution"]["runId"])
