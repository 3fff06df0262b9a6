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
* **Answers even a BaseException**: an activity raising one that is not an ``Exception``
  (most often ``gevent.Timeout`` escaping ``with gevent.Timeout(...)``) is failed at once
  with that type as reason. ``SystemExit``/``KeyboardInterrupt`` raised by an activity are
  answered the same way and then propagate, so the process stops as the code asked;
  ``GreenletExit`` is how the worker itself interrupts tasks at shutdown (answered as
  :class:`~greenflow.errors.WorkerShutdownError`).
* **Shuts down gracefully**: stop polling, let running tasks finish within
  ``shutdown_timeout`` (default 70 s), answer them; tasks still running then are interrupted and answered
  as failed, so the workflow learns at once instead of after a timeout. Open long polls
  are cancelled at once on a greenflow local service (it withdraws a poll whose
  connection closes, so no task goes to it); on Amazon SWF, which may still hand an
  abandoned poll a task, they are let return (up to about 60 s, within the same bound).
* **Survives outages**: failed polls and answers are retried with growing, jittered delays,
  logged once when the outage starts and once when it ends (the lifecycle, signals and
  backoff are the workflow worker's too: :mod:`._loop`).
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any, Callable, Sequence

import gevent
import gevent.lock
import gevent.pool
from gevent import monkey
from gevent.threadpool import ThreadPool

from .._extensions import EAGER_ACTIVITIES_HEADER, EAGER_ACTIVITY_TASKS_MEMBER
from .._payload import decode_args
from ..activity._context import ActivityContext, _enter, _leave
from ..activity._definition import activity_types as _activity_types
from ..converter import (
    DEFAULT_CONVERTER,
    DataConverter,
    JSONConverter,
    check_size,
    failure_from_exception,
)
from ..errors import CancelledError, DefinitionError, GreenflowError, SWFError, UnknownResourceError
from ..interceptors import ActivityCall, Interceptor, active, intercept
from ..swf import require_patched
from ._loop import DEFAULT_RETENTION_DAYS, DEFAULT_SHUTDOWN_TIMEOUT, OutageBackoff, PollingWorker

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


def _task_name(ctx: ActivityContext) -> str:
    """An activity task for log lines: type, version, activity ID and the execution it belongs to."""
    name, version = ctx.activity_type
    return (f"activity {name} (version {version}, id {ctx.activity_id}) of workflow {ctx.workflow_id} "
            f"(run {ctx.run_id})")


class ActivityWorker(PollingWorker):
    """Polls an SWF task list for activity tasks and runs them concurrently.

    Args:
        client: an ``SWFClient`` (from :func:`greenflow.connect`) or a botocore ``swf`` client
            (kept as :attr:`swf`).
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
            the decorators) on start (:meth:`register_types`); turn off for accounts that
            may not register.
        shutdown_timeout: how long a graceful stop waits for open polls and running tasks,
            in seconds (default 70; ``None``: as long as they take); tasks still running
            then are interrupted and answered as failed (:class:`WorkerShutdownError`).
        converter: converter for activities that name none (default JSON).
        retention_days: retention period for a domain this worker registers.

    ``run()`` blocks until :meth:`stop`, SIGINT or SIGTERM; ``start()`` runs it in the
    background; ``with worker:`` starts it and stops it on exit.
    """

    kind = "activity worker"

    def __init__(self, client: Any, domain: str, task_list: str, *activity_objects: Any,
                 pool_size: int = 100, pollers: int | None = None, executor: str = "gevent",
                 thread_pool_size: int | None = None, identity: str | None = None, register: bool = True,
                 shutdown_timeout: float | None = DEFAULT_SHUTDOWN_TIMEOUT, converter: DataConverter | None = None,
                 retention_days: int = DEFAULT_RETENTION_DAYS, interceptors: Sequence[Interceptor] = ()):
        if not isinstance(pool_size, int) or isinstance(pool_size, bool) or pool_size < 1:
            raise ValueError(f"pool_size must be a positive integer, not {pool_size!r}")
        if pollers is not None and (not isinstance(pollers, int) or not 1 <= pollers <= pool_size):
            raise ValueError(f"pollers must be an integer from 1 to pool_size ({pool_size}), not {pollers!r}")
        if executor not in ("gevent", "thread"):
            raise ValueError(f"executor must be 'gevent' or 'thread', not {executor!r}")
        super().__init__(client, domain, task_list, identity=identity, register=register,
                         retention_days=retention_days, shutdown_timeout=shutdown_timeout, interceptors=interceptors)
        self.pool_size = pool_size
        self.executor = executor
        self.thread_pool_size = thread_pool_size or min(pool_size, 32)
        if not isinstance(self.thread_pool_size, int) or self.thread_pool_size < 1:
            raise ValueError(f"thread_pool_size must be a positive integer, not {thread_pool_size!r}")
        #: Tasks in progress at once: the slots pollers reserve before polling.
        self.capacity = pool_size if executor == "gevent" else min(pool_size, self.thread_pool_size)
        self.pollers = min(pollers or DEFAULT_POLLERS, self.capacity)
        self.converter = converter or DEFAULT_CONVERTER
        self._activities: dict[tuple[str, str], tuple[Any, Callable[..., Any]]] = {}
        for obj in activity_objects:
            self._add(obj)
        if not self._activities:
            raise DefinitionError("an ActivityWorker needs at least one object with @activity methods")
        self._slots: gevent.lock.Semaphore | None = None
        #: A workflow worker of this process (same client and domain) that takes the decision
        #: task following each activity answer straight from the answer, without a poll (a
        #: greenflow local service only; :class:`~greenflow.worker.Worker` sets it).
        self.workflow_worker: Any = None
        self._tasks = gevent.pool.Group()
        self._poller_greenlets: list[gevent.Greenlet] = []
        self._in_poll: set[gevent.Greenlet] = set()
        self._threadpool: ThreadPool | None = None
        self._hub: Any = None
        self._hub_ident: int | None = None

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
        state = "running" if self.running else "stopped"
        return f"<ActivityWorker {self.domain}/{self.task_list} {state} pool_size={self.pool_size}>"

    # ----------------------------------------------------------------- lifecycle

    def register_types(self) -> None:
        """Register the domain (if missing) and every activity type (idempotent)."""
        self.swf.ensure_domain(self.domain, retention_days=self.retention_days)
        for activity_type in self.activity_types:
            self.swf.ensure_activity_type(self.domain, activity_type, task_list=self.task_list)

    def start(self) -> "ActivityWorker":
        """Register (unless ``register=False``) and start polling in background greenlets; returns self.

        Raises:
            GeventNotPatchedError: gevent has not patched this process: the greenlets that
                poll and run activities would never run while the program waits elsewhere
                (the error names the lines to add).
        """
        require_patched("ActivityWorker")
        return super().start()

    def _start_polling(self) -> None:
        self._hub = gevent.get_hub()
        self._hub_ident = _real_get_ident()
        if self.executor == "thread":
            self._threadpool = ThreadPool(self.thread_pool_size)
        self._slots = gevent.lock.Semaphore(self.capacity)
        self._poller_greenlets = [gevent.spawn(self._poll_loop) for _ in range(self.pollers)]
        log.info("activity worker %s polling %s/%s (%d activity types, %d slots, %d pollers, %s executor)",
                 self.identity, self.domain, self.task_list, len(self._activities), self.capacity, self.pollers,
                 self.executor)

    def _stop_polling(self, deadline: float | None, interrupt_polls: bool) -> None:
        # Killing a poll closes its connection. A poller waiting for a slot holds no task;
        # one in a long poll holds none either when the service cancels polls whose client
        # hung up, so an idle worker stops at once instead of after the poll timeout.
        for poller in self._poller_greenlets:
            if interrupt_polls or poller not in self._in_poll:
                poller.kill(block=False)
        # Open polls may still hand over a task (spawned into self._tasks), so wait for both.
        self._join_until(lambda: self._poller_greenlets + list(self._tasks), deadline)
        for poller in self._poller_greenlets:
            poller.kill(block=False)
        if len(self._tasks):
            log.warning("activity worker %s: interrupting %d running tasks at shutdown", self.identity,
                        len(self._tasks))
            # Each interrupted task answers itself as failed (see _run_task).
            self._tasks.kill(block=True, timeout=10)
        gevent.joinall(self._poller_greenlets, timeout=1)
        if self._threadpool is not None:
            self._threadpool.kill()
            self._threadpool = None

    # ----------------------------------------------------------------- polling

    def _poll_loop(self) -> None:
        backoff = OutageBackoff(f"activity worker {self.domain}/{self.task_list} (polling)")
        assert self._slots is not None
        while not self._stopping.is_set():
            self._slots.acquire()
            if self._stopping.is_set():
                self._slots.release()
                return
            current = gevent.getcurrent()
            self._in_poll.add(current)
            try:
                task = self.swf.poll_for_activity_task(
                    domain=self.domain, taskList={"name": self.task_list}, identity=self.identity)
            except Exception as error:
                self._slots.release()
                self._poll_done("error")
                self._stopping.wait(backoff.failed(error))
                continue
            finally:
                self._in_poll.discard(current)
            backoff.succeeded()
            if task is None:
                self._slots.release()
                self._poll_done("empty")
                continue
            self._poll_done("task")
            # The slot reserved for this poll now belongs to the task; _run_task frees it.
            self._tasks.spawn(self._run_task, task)

    # ----------------------------------------------------------------- tasks handed over

    def reserve_slots(self, count: int) -> int:
        """Take up to ``count`` free task slots without waiting, for activity tasks another
        worker of this process will hand over (eager activity tasks); returns how many.
        Give back what is not used with :meth:`release_slots`."""
        slots = self._slots
        if slots is None or not self.running or self._stopping.is_set():
            return 0
        taken = 0
        while taken < count and slots.acquire(blocking=False):
            taken += 1
        return taken

    def release_slots(self, count: int) -> None:
        """Give back ``count`` slots taken by :meth:`reserve_slots` and not used."""
        assert self._slots is not None
        for _ in range(count):
            self._slots.release()

    def eager_request(self, count: int) -> dict[str, str]:
        """The request header that asks a greenflow service to start up to ``count`` activity
        tasks of this worker's task list for it, in the answer to the decisions that
        schedule them (``count`` slots reserved first; see :meth:`take_handed_over`)."""
        return {EAGER_ACTIVITIES_HEADER: json.dumps(
            {"taskList": self.task_list, "max": count, "identity": self.identity})}

    def take_handed_over(self, answer: dict, reserved: int) -> int:
        """Run the activity tasks ``answer`` carries for this worker, at most ``reserved``
        (one reserved slot each: a task frees its slot when done); returns how many."""
        tasks = (answer.get(EAGER_ACTIVITY_TASKS_MEMBER) or [])[:reserved]
        for task in tasks:
            self._poll_done("task")
            self._tasks.spawn(self._run_task, task)
        return len(tasks)

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
        what = _task_name(ctx)
        try:
            if function is None:
                known = ", ".join(f"{n} {v}" for n, v in sorted(self._activities))
                raise DefinitionError(f"this worker has no activity {name} version {version} (it runs: {known})")
            args, kwargs = decode_args(converter, ctx.input)
            hooks = active(self.interceptors)
            if hooks:
                call = ActivityCall(self.domain, self.task_list, f"{name} {version}", ctx.activity_id,
                                    ctx.workflow_id, ctx.run_id, task)
                result = intercept(hooks, "execute_activity", call,
                                   lambda: self._invoke(function, args, kwargs, ctx))
            else:
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
        except BaseException as exc:
            # Not an Exception: gevent.Timeout from `with gevent.Timeout(...)` in the activity,
            # SystemExit, KeyboardInterrupt... Answered at once as a failure so the workflow
            # never waits for a timeout; SystemExit and KeyboardInterrupt then go on up, so
            # the process stops as the code asked (see the module docstring).
            self._fail(ctx, exc, converter, what)
            if isinstance(exc, (SystemExit, KeyboardInterrupt)):
                raise
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
        """Answer a task; keeps retrying through outages, even while stopping (the answer is
        the task's only record).

        With a :attr:`workflow_worker` of this process taking tasks (and the direct
        transport), the answer asks the service for the run's next decision task too, and
        hands it to that worker: no poll round trip between an activity and its decision.
        """
        params = {key: value for key, value in params.items() if value is not None}
        decider = self.workflow_worker
        if decider is not None and not (self.swf.direct and decider.takes_started_tasks()):
            decider = None
        try:
            with self.swf.headers(decider.eager_request()) if decider is not None else contextlib.nullcontext():
                answer = self.retrying(f"{operation} for activity {ctx.activity_id}",
                                       lambda: self.swf.call(operation, taskToken=ctx.task_token, **params),
                                       while_stopping=True)
            if decider is not None:
                decider.take_handed_over(answer)
        except UnknownResourceError:
            log.warning("%s is no longer open (timed out, or its execution closed): %s dropped", _task_name(ctx),
                        operation)
        except SWFError as error:
            log.error("%s for %s refused: %s", operation, _task_name(ctx), error)

    def _call_from_any_thread(self, operation: str, **params: Any) -> dict:
        """``client.call`` from an activity: directly in the hub's thread, else handed to the hub.

        Pool threads must not share the hub's sockets, so their heartbeats are made by a
        greenlet in the hub's thread while the pool thread waits on a real lock.
        """
        if self._hub is None or _real_get_ident() == self._hub_ident:
            return self.swf.call(operation, **params)
        done = _real_allocate_lock()
        done.acquire()
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["value"] = self.swf.call(operation, **params)
            except BaseException as error:  # handed back to the pool thread
                box["error"] = error
            finally:
                done.release()

        self._hub.loop.run_callback_threadsafe(gevent.spawn, run)
        done.acquire()
        if "error" in box:
            raise box["error"]
        return box["value"]
