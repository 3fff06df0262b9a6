"""The activity worker: polls SWF for activity tasks and runs them on a gevent pool.

How it keeps its promises:

* **Never takes a task it cannot start.** ``pool_size`` slots (a semaphore) bound the tasks
  in progress; each poller reserves a slot *before* it long-polls and hands it to the task
  it receives (or gives it back after an empty poll). So at most ``pool_size`` tasks are
  ever taken, and several long polls (``pollers``) stay open while slots are free.
* **Runs hundreds of I/O-bound activities at once** as greenlets (``executor="gevent"``),
  or sends blocking/CPU-bound ones to a thread pool (``executor="thread"``).
* **Answers every task it took**: completed (result converted and size-checked), failed
  (``reason`` = exception type, ``details`` = converted exception and traceback), or
  canceled (a heartbeat learned of a cancel request and the activity let
  :class:`~greenflow.errors.CancelledError` escape). Manual activities are not answered.
* **Shuts down gracefully**: stop polling, let running tasks finish within
  ``shutdown_timeout``, answer them; tasks still running then are interrupted and answered
  as failed, so the workflow learns at once instead of after a timeout. Open long polls
  are cancelled at once on a greenflow local service (it withdraws a poll whose
  connection closes, so no task goes to it); on Amazon SWF, which may still hand an
  abandoned poll a task, they are let return (up to about 60 s, within the same bound).
* **Survives outages**: failed polls and answers are retried with growing, jittered delays,
  logged once when the outage starts and once when it ends.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import time
from typing import Any, Callable

import gevent
import gevent.event
import gevent.lock
import gevent.pool
from gevent import monkey

from .._payload import decode_args
from ..converter import (
    DEFAULT_CONVERTER,
    DataConverter,
    JSONConverter,
    check_size,
    failure_from_exception,
)
from ..errors import (
    CancelledError,
    DefinitionError,
    GreenflowError,
    ServiceUnavailableError,
    SWFError,
    ThrottlingError,
    UnknownResourceError,
)
from ..swf import as_client, require_patched
from ._context import ActivityContext, _enter, _leave
from ._definition import activity_types as _activity_types

log = logging.getLogger("greenflow.activity")

# The real (unpatched) thread primitives, to hand calls from pool threads to the hub.
_real_get_ident = monkey.get_original("_thread", "get_ident")
_real_allocate_lock = monkey.get_original("_thread", "allocate_lock")

#: Long polls opened at once when ``pollers`` is not given (never more than ``pool_size``).
DEFAULT_POLLERS = 5


class WorkerShutdownError(GreenflowError):
    """The activity worker shut down before the activity finished (``shutdown_timeout`` passed).

    The task is answered as failed with this error so the workflow can retry it at once.
    """


def _backoff(failures: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Delay before retrying after ``failures`` consecutive failures: exponential, jittered, capped."""
    bound = min(cap, base * (2 ** min(failures - 1, 16)))
    return bound / 2 + random.random() * bound / 2


class ActivityWorker:
    """Polls an SWF task list for activity tasks and runs them concurrently.

    Args:
        client: an ``SWFClient`` (from :func:`greenflow.connect`) or a botocore ``swf`` client.
        domain: the SWF domain.
        task_list: the task list to poll.
        *activity_objects: instances of ``@activities`` classes; their ``@activity`` methods
            are the activities this worker runs, dispatched by ``(name, version)``.
        pool_size: most tasks in progress at once (with ``executor="thread"``, also at most
            ``thread_pool_size``, so no task ever waits for a thread after being taken).
        pollers: long polls kept open at once while slots are free (default
            ``min(pool_size, 5)``).
        executor: ``"gevent"`` runs activities as greenlets (I/O-bound code, gevent-patched);
            ``"thread"`` runs them on a thread pool (blocking or CPU-bound code).
        thread_pool_size: threads for ``executor="thread"`` (default ``min(pool_size, 32)``).
        identity: the worker's identity recorded in history (default ``host:pid``).
        register: register the domain (if missing) and each activity type (defaults from
            the decorators) on start; turn off for accounts that may not register.
        shutdown_timeout: seconds running tasks get to finish when the worker stops.
        converter: converter for activities that name none (default JSON).
        retention_days: retention period for a domain this worker registers.

    ``run()`` blocks until :meth:`stop`, SIGINT or SIGTERM; ``start()`` runs it in the
    background; ``with worker:`` starts it and stops it on exit.
    """

    def __init__(self, client: Any, domain: str, task_list: str, *activity_objects: Any,
                 pool_size: int = 100, pollers: int | None = None, executor: str = "gevent",
                 thread_pool_size: int | None = None, identity: str | None = None, register: bool = True,
                 shutdown_timeout: float = 30.0, converter: DataConverter | None = None,
                 retention_days: int = 30):
        if not isinstance(pool_size, int) or isinstance(pool_size, bool) or pool_size < 1:
            raise ValueError(f"pool_size must be a positive integer, not {pool_size!r}")
        if pollers is not None and (not isinstance(pollers, int) or not 1 <= pollers <= pool_size):
            raise ValueError(f"pollers must be an integer from 1 to pool_size ({pool_size}), not {pollers!r}")
        if executor not in ("gevent", "thread"):
            raise ValueError(f"executor must be 'gevent' or 'thread', not {executor!r}")
        if shutdown_timeout is None or shutdown_timeout < 0:
            raise ValueError(f"shutdown_timeout must be >= 0 seconds, not {shutdown_timeout!r}")
        if not domain or not task_list:
            raise ValueError("an activity worker needs a domain and a task list")
        self.client = as_client(client)
        self.domain = domain
        self.task_list = task_list
        self.pool_size = pool_size
        self.executor = executor
        self.thread_pool_size = thread_pool_size or min(pool_size, 32)
        if not isinstance(self.thread_pool_size, int) or self.thread_pool_size < 1:
            raise ValueError(f"thread_pool_size must be a positive integer, not {thread_pool_size!r}")
        #: Tasks in progress at once: the slots pollers reserve before polling.
        self.capacity = pool_size if executor == "gevent" else min(pool_size, self.thread_pool_size)
        self.pollers = min(pollers or DEFAULT_POLLERS, self.capacity)
        self.identity = (identity or f"{socket.gethostname()}:{os.getpid()}")[:256]
        self.register_types = register
        self.shutdown_timeout = float(shutdown_timeout)
        self.converter = converter or DEFAULT_CONVERTER
        self.retention_days = retention_days
        self._activities: dict[tuple[str, str], tuple[Any, Callable]] = {}
        for obj in activity_objects:
            self._add(obj)
        if not self._activities:
            raise DefinitionError("an ActivityWorker needs at least one object with @activity methods")
        self._state = "new"
        self._stopping = gevent.event.Event()
        self._stopped = gevent.event.Event()
        self._slots: gevent.lock.Semaphore | None = None
        self._tasks = gevent.pool.Group()
        self._poller_greenlets: list[gevent.Greenlet] = []
        self._in_poll: set[gevent.Greenlet] = set()
        self._threadpool = None
        self._hub = None
        self._hub_ident = None
        self._outage_logged = False

    def _add(self, obj: Any) -> None:
        types = _activity_types(obj)
        if not types:
            raise DefinitionError(f"{obj!r} has no @activity methods (pass an instance of an @activities class)")
        for activity_type, function in types:
            key = (activity_type.name, str(activity_type.version))
            if key in self._activities:
                raise DefinitionError(f"activity {key[0]} version {key[1]} is defined twice in this worker")
            self._activities[key] = (activity_type, function)
            if activity_type.task_list and activity_type.task_list != self.task_list:
                log.warning("activity %s declares task list %r but this worker polls %r: workflow calls that do not "
                            "override the task list wait on %r for a worker there", key[0], activity_type.task_list,
                            self.task_list, activity_type.task_list)
            converter = getattr(activity_type, "converter", None) or self.converter
            if isinstance(converter, JSONConverter):
                # Dataclasses and enums in an activity's signature may cross the wire.
                converter.register_annotations(function)

    @property
    def activity_types(self) -> list[Any]:
        """The activity type specs this worker runs."""
        return [activity_type for activity_type, _ in self._activities.values()]

    @property
    def running_tasks(self) -> int:
        """How many tasks are in progress now."""
        return len(self._tasks)

    def __repr__(self) -> str:
        return f"<ActivityWorker {self.domain}/{self.task_list} {self._state} pool_size={self.pool_size}>"

    # ----------------------------------------------------------------- lifecycle

    def register(self) -> None:
        """Register the domain (if missing) and every activity type (idempotent)."""
        self.client.ensure_domain(self.domain, retention_days=self.retention_days)
        for activity_type in self.activity_types:
            self.client.ensure_activity_type(self.domain, activity_type, task_list=self.task_list)

    def start(self) -> "ActivityWorker":
        """Register (unless ``register=False``) and start polling in background greenlets; returns self.

        Blocks only for registration. Raises if registration fails.
        """
        if self._state != "new":
            raise RuntimeError(f"this activity worker was already started ({self._state})")
        require_patched("ActivityWorker")
        if self.register_types:
            self.register()
        self._hub = gevent.get_hub()
        self._hub_ident = _real_get_ident()
        if self.executor == "thread":
            from gevent.threadpool import ThreadPool

            self._threadpool = ThreadPool(self.thread_pool_size)
        self._slots = gevent.lock.Semaphore(self.capacity)
        self._state = "running"
        self._poller_greenlets = [gevent.spawn(self._poll_loop) for _ in range(self.pollers)]
        log.info("activity worker %s polling %s/%s (%d activity types, %d slots, %d pollers, %s executor)",
                 self.identity, self.domain, self.task_list, len(self._activities), self.capacity, self.pollers,
                 self.executor)
        return self

    def run(self) -> None:
        """Start and block until :meth:`stop` is called or SIGINT/SIGTERM arrives (then stop gracefully).

        A second signal stops at once, interrupting running tasks.
        """
        if self._state == "new":
            self.start()
        watchers = self._install_signal_handlers()
        try:
            self._stopped.wait()
        except KeyboardInterrupt:
            self.stop()
        finally:
            for watcher in watchers:
                watcher.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker has stopped; returns whether it has."""
        return self._stopped.wait(timeout)

    def __enter__(self) -> "ActivityWorker":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def _install_signal_handlers(self) -> list:
        signals = 0
        watchers = []

        def on_signal() -> None:
            nonlocal signals
            signals += 1
            if signals == 1:
                log.info("activity worker %s: signal received, stopping (running tasks get %.0f s)",
                         self.identity, self.shutdown_timeout)
                gevent.spawn(self.stop)
            else:
                log.warning("activity worker %s: second signal, interrupting running tasks", self.identity)
                gevent.spawn(self.stop, 0)

        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                watchers.append(gevent.signal_handler(signum, on_signal))
            except (ValueError, OSError):  # not the main thread: the caller handles signals
                pass
        return watchers

    def stop(self, timeout: float | None = None) -> None:
        """Stop gracefully: no new tasks, running ones get ``timeout`` (default ``shutdown_timeout``) seconds.

        Blocks until every task taken is answered (or interrupted and answered as failed).
        Long polls already open are cancelled at once when the service withdraws abandoned
        polls (``client.cancels_polls_safely``: a greenflow local service); on Amazon SWF
        they are waited for within the same bound, since a task they receive must be run,
        not dropped. Safe to call more than once.
        """
        if self._state == "new":
            self._state = "stopped"
            self._stopped.set()
            return
        if self._state == "stopped":
            return
        if self._state == "stopping":
            if timeout == 0:
                self._interrupt()
            self._stopped.wait()
            return
        self._state = "stopping"
        self._stopping.set()
        deadline = time.monotonic() + (self.shutdown_timeout if timeout is None else max(0.0, timeout))
        # Killing a poll closes its connection. A poller waiting for a slot holds no task;
        # one in a long poll holds none either when the service cancels polls whose client
        # hung up, so an idle worker stops at once instead of after the poll timeout.
        cancel_polls = bool(getattr(self.client, "cancels_polls_safely", False))
        for poller in self._poller_greenlets:
            if cancel_polls or poller not in self._in_poll:
                poller.kill(block=False)
        # Open polls may still hand over a task (spawned into self._tasks), so wait for both.
        while True:
            remaining = deadline - time.monotonic()
            pollers = [p for p in self._poller_greenlets if not p.dead]
            if (not pollers and not len(self._tasks)) or remaining <= 0:
                break
            gevent.joinall(pollers + list(self._tasks), timeout=min(remaining, 0.5))
        self._interrupt()
        if self._threadpool is not None:
            self._threadpool.kill()
        self._state = "stopped"
        self._stopped.set()
        log.info("activity worker %s stopped", self.identity)

    def _interrupt(self) -> None:
        for poller in self._poller_greenlets:
            poller.kill(block=False)
        if len(self._tasks):
            log.warning("activity worker %s: interrupting %d running tasks at shutdown", self.identity,
                        len(self._tasks))
            # Each interrupted task answers itself as failed (see _run_task).
            self._tasks.kill(block=True, timeout=10)
        gevent.joinall(self._poller_greenlets, timeout=1)

    # ----------------------------------------------------------------- polling

    def _poll_loop(self) -> None:
        failures = 0
        assert self._slots is not None
        while not self._stopping.is_set():
            self._slots.acquire()
            if self._stopping.is_set():
                self._slots.release()
                return
            current = gevent.getcurrent()
            self._in_poll.add(current)
            try:
                task = self.client.poll_for_activity_task(
                    domain=self.domain, taskList={"name": self.task_list}, identity=self.identity)
            except Exception as error:
                self._slots.release()
                failures += 1
                self._log_outage(error, failures)
                self._stopping.wait(_backoff(failures))
                continue
            finally:
                self._in_poll.discard(current)
            if failures:
                log.warning("activity worker %s: SWF reachable again, polling resumed", self.identity)
                self._outage_logged = False
                failures = 0
            if task is None:
                self._slots.release()
                continue
            # The slot reserved for this poll now belongs to the task; _run_task frees it.
            self._tasks.spawn(self._run_task, task)

    def _log_outage(self, error: Exception, failures: int) -> None:
        if isinstance(error, (ServiceUnavailableError, ThrottlingError)):
            if not self._outage_logged:
                self._outage_logged = True
                log.warning("activity worker %s: cannot poll %s/%s (%s); retrying with backoff until it is back",
                            self.identity, self.domain, self.task_list, error)
            else:
                log.debug("poll failed again (%d): %s", failures, error)
        elif isinstance(error, SWFError):
            log.error("activity worker %s: polling %s/%s failed: %s", self.identity, self.domain, self.task_list,
                      error)
        else:
            log.exception("activity worker %s: unexpected error while polling", self.identity)

    # ----------------------------------------------------------------- running tasks

    def _run_task(self, task: dict) -> None:
        try:
            self._execute(task)
        finally:
            assert self._slots is not None
            self._slots.release()

    def _execute(self, task: dict) -> None:
        type_info = task.get("activityType", {})
        name, version = type_info.get("name", ""), type_info.get("version", "")
        execution = task.get("workflowExecution", {})
        entry = self._activities.get((name, version))
        activity_type, function = entry if entry else (None, None)
        converter = (getattr(activity_type, "converter", None) or self.converter) if entry else self.converter
        ctx = ActivityContext(
            task_token=task["taskToken"], activity_id=task.get("activityId", ""), activity_type=(name, version),
            workflow_id=execution.get("workflowId", ""), run_id=execution.get("runId", ""),
            started_event_id=task.get("startedEventId", 0), domain=self.domain, task_list=self.task_list,
            input=task.get("input"), converter=converter, manual=bool(getattr(activity_type, "manual", False)),
            _call=self._call_from_any_thread)
        what = f"activity {name} (version {version}, id {ctx.activity_id})"
        try:
            if entry is None:
                known = ", ".join(f"{n} {v}" for n, v in sorted(self._activities))
                raise DefinitionError(f"this worker has no activity {name} version {version} (it runs: {known})")
            args, kwargs = decode_args(converter, ctx.input)
            result = self._invoke(function, args, kwargs, ctx)
        except CancelledError as exc:
            if ctx.cancel_requested:
                log.info("%s canceled", what)
                details = None if exc.details is None else self._safe_dumps(converter, exc.details)
                self._respond("RespondActivityTaskCanceled", ctx, details=details)
            else:
                self._fail(ctx, exc, converter, what)
            return
        except gevent.GreenletExit:
            error = WorkerShutdownError(f"activity worker {self.identity} shut down before {what} finished")
            self._fail(ctx, error, converter, what)
            return
        except Exception as exc:
            self._fail(ctx, exc, converter, what)
            return
        if ctx.manual:
            log.debug("%s returned; it completes manually (task token kept by the application)", what)
            return
        try:
            text = None if result is None else check_size(converter.dumps(result), f"result of {what}")
        except GreenflowError as exc:  # PayloadTooLargeError, DataConversionError
            self._fail(ctx, exc, converter, what)
            return
        self._respond("RespondActivityTaskCompleted", ctx, result=text)

    def _invoke(self, function: Callable, args: tuple, kwargs: dict, ctx: ActivityContext) -> Any:
        def call() -> Any:
            token = _enter(ctx)
            try:
                return function(*args, **kwargs)
            finally:
                _leave(token)

        if self._threadpool is None:
            return call()
        return self._threadpool.spawn(call).get()

    def _fail(self, ctx: ActivityContext, exc: BaseException, converter: DataConverter, what: str) -> None:
        log.warning("%s failed: %s: %s", what, type(exc).__name__, exc)
        reason, details = failure_from_exception(exc, converter)
        self._respond("RespondActivityTaskFailed", ctx, reason=reason, details=details)

    @staticmethod
    def _safe_dumps(converter: DataConverter, value: Any) -> str | None:
        try:
            return check_size(converter.dumps(value), "details")
        except GreenflowError:
            return None

    def _respond(self, operation: str, ctx: ActivityContext, **params: Any) -> None:
        """Answer a task; keeps retrying through outages (the answer is the task's only record)."""
        params = {key: value for key, value in params.items() if value is not None}
        failures = 0
        while True:
            try:
                self.client.call(operation, taskToken=ctx.task_token, **params)
                return
            except UnknownResourceError:
                log.warning("activity %s (%s) is no longer open (timed out, or its execution closed): %s dropped",
                            ctx.activity_id, ctx.activity_type[0], operation)
                return
            except (ServiceUnavailableError, ThrottlingError) as error:
                failures += 1
                delay = _backoff(failures)
                log.warning("%s for activity %s failed (%s); retrying in %.1f s", operation, ctx.activity_id,
                            error, delay)
                gevent.sleep(delay)
            except SWFError as error:
                log.error("%s for activity %s refused: %s", operation, ctx.activity_id, error)
                return

    def _call_from_any_thread(self, operation: str, **params: Any) -> dict:
        """``client.call`` from an activity: directly in the hub's thread, else handed to the hub.

        Pool threads must not share the hub's sockets, so their heartbeats are made by a
        greenlet in the hub's thread while the pool thread waits on a real lock.
        """
        if self._hub is None or _real_get_ident() == self._hub_ident:
            return self.client.call(operation, **params)
        done = _real_allocate_lock()
        done.acquire()
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["value"] = self.client.call(operation, **params)
            except BaseException as error:  # handed back to the pool thread
                box["error"] = error
            finally:
                done.release()

        self._hub.loop.run_callback_threadsafe(gevent.spawn, run)
        done.acquire()
        if "error" in box:
            raise box["error"]
        return box["value"]
