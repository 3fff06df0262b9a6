"""Helpers to test workflows and activities against the real local service, in-process.

:class:`LocalTestEnvironment` starts a :class:`greenflow.local.LocalService` on a loopback
port with a *virtual* clock, connects an :class:`greenflow.swf.SWFClient` to it over HTTP,
and runs workers in the background for you; everything it started stops with it::

    from greenflow.testing import LocalTestEnvironment

    def test_order(tmp_path):
        with LocalTestEnvironment() as env:
            env.workflow_worker(OrderWorkflow)
            env.activity_worker(OrderActivities())
            with env.auto_time_skipping():        # timers fire at once when all is idle
                assert env.client().start(OrderWorkflow.process, 42).result(timeout=10) == "shipped"

Virtual time: SWF time (timers, timeouts, timestamps) only moves when told to:
:meth:`LocalTestEnvironment.advance_time` jumps ahead and fires what is due;
:meth:`~LocalTestEnvironment.auto_time_skipping` jumps to the next timer or timeout
whenever the service has had no work for a moment, like trio's autojump clock.

:class:`ActivityEnvironment` runs one activity as a worker would, without a service, to
unit-test its heartbeats and cancellation.

:class:`Replayer` (also in :mod:`greenflow.worker`) replays saved histories (``greenflow
history --json``) against today's code, for CI of workflow changes.

Pytest fixtures are in :mod:`greenflow.testing.pytest_plugin` (add
``pytest_plugins = ["greenflow.testing.pytest_plugin"]`` to a ``conftest.py``). Activity
workers run on gevent: the program (for pytest, ``conftest.py``) starts with
``from greenflow.swf import patch_gevent`` and ``patch_gevent()``, or
:meth:`LocalTestEnvironment.activity_worker` raises
:class:`~greenflow.errors.GeventNotPatchedError` naming those lines.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from typing import Any, Callable, Iterator

from greenflow.activity._definition import declared_task_list
from greenflow.workflow._definition import workflow_types
from greenflow.workflow._replayer import Replayer  # checks saved histories against today's code

from ._activity import ActivityEnvironment

__all__ = ["ActivityEnvironment", "LocalTestEnvironment", "Replayer", "next_deadline", "TimeSkipper", "wait_until",
           "stop_all"]

log = logging.getLogger(__name__)

#: Virtual time starts here (2030-01-01T00:00:00Z), far from the wall clock on purpose.
VIRTUAL_EPOCH = 1893456000.0


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.01,
               what: str = "condition") -> Any:
    """Poll ``predicate()`` every ``interval`` real seconds until it is truthy; return its value.

    Raises:
        TimeoutError: it stayed falsy for ``timeout`` seconds (naming ``what``).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def next_deadline(service: Any) -> float | None:
    """The earliest pending timer/timeout of a running :class:`LocalService` (epoch seconds), or None.

    May be a stale entry (a timer since cancelled): advancing to it then fires nothing.
    The engine's own housekeeping (the hourly retention sweep) does not count.
    """
    return service.call(lambda core: core.engine.next_deadline())


def _progress(service: Any) -> tuple[int, int, bool]:
    """(open runs, history events of open runs, whether any decision task is open)."""
    return service.call(lambda core: core.engine.progress())


class TimeSkipper:
    """Jump a virtual clock to the next deadline whenever the service has been idle a moment.

    A test that waits for a timer of an hour then finishes in milliseconds. "Idle" means: no
    decision task open and no history event written for ``idle`` real seconds. An activity
    running longer than ``idle`` may see its timeouts jumped over: raise ``idle`` for slow
    activities. Runs in a background thread (a greenlet when gevent patched the process);
    :meth:`stop` ends it.

    Args:
        service: a running LocalService with a VirtualClock.
        idle: real seconds without activity before jumping.
        max_jump: never jump further than this many seconds at once (None: no bound).
    """

    def __init__(self, service: Any, idle: float = 0.1, max_jump: float | None = None):
        self.service = service
        self.idle = idle
        self.max_jump = max_jump
        self.jumps = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="greenflow-time-skipper", daemon=True)

    def start(self) -> "TimeSkipper":
        """Start watching the service in the background; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop jumping; returns once the background thread has ended."""
        self._stop.set()
        self._thread.join(5)

    def __enter__(self) -> "TimeSkipper":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def _run(self) -> None:
        last = None
        quiet_since = time.monotonic()
        while not self._stop.wait(self.idle / 4):
            try:
                progress = _progress(self.service)
                if progress != last or progress[2]:  # [2]: a decision task is open
                    last = progress
                    quiet_since = time.monotonic()
                    continue
                if time.monotonic() - quiet_since < self.idle:
                    continue
                deadline = next_deadline(self.service)
                if deadline is None:
                    continue
                now = self.service.clock.now()
                jump = max(0.0, deadline - now) + 0.001
                if self.max_jump is not None:
                    jump = min(jump, self.max_jump)
                self.service.advance_time(jump)
                self.jumps += 1
                quiet_since = time.monotonic()
                last = None
            except RuntimeError:
                if not self.service.running:
                    return
                raise


class LocalTestEnvironment:
    """A local service with virtual time, a client on it, and background workers; all stopped on exit.

    Args:
        virtual_time: use a :class:`~greenflow.local.VirtualClock` (default) or the wall clock.
        db_path: the service's database (``":memory:"`` by default).
        poll_timeout: long-poll length in real seconds; short so workers stop quickly.
        domain: the SWF domain (a fresh unique one by default).

    Attributes:
        service: the :class:`~greenflow.local.LocalService`.
        swf: an :class:`~greenflow.swf.SWFClient` connected to it over HTTP.
        domain: the domain used by :meth:`client` and the worker helpers.
        task_list: a fresh task list used by default by workers and the client.
    """

    def __init__(self, *, virtual_time: bool = True, db_path: str = ":memory:", poll_timeout: float = 1.0,
                 domain: str | None = None, task_list: str | None = None, service: Any = None):
        self.virtual_time = virtual_time
        self.db_path = db_path
        self.poll_timeout = poll_timeout
        self.domain = domain or f"test-{uuid.uuid4().hex[:12]}"
        self.task_list = task_list or f"tl-{uuid.uuid4().hex[:12]}"
        self.service = service
        self._own_service = service is None
        self.swf: Any = None
        self._stack = contextlib.ExitStack()
        self._workers: list[Any] = []
        self._clients: list[Any] = []

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> "LocalTestEnvironment":
        """Start the local service (unless one was given running), connect, and ensure the domain.

        Blocks until the service listens. Returns ``self``; ``with env:`` calls it.
        """
        from greenflow.local import LocalService, VirtualClock
        from greenflow.swf import connect
        if self.service is None:
            clock = VirtualClock(VIRTUAL_EPOCH) if self.virtual_time else None
            self.service = LocalService(self.db_path, clock=clock, poll_timeout=self.poll_timeout)
        if not self.service.running:
            self.service.start()
            if self._own_service:
                self._stack.callback(self.service.stop)
        self.swf = connect(endpoint=self.service.endpoint)
        self._stack.callback(self.swf.close)
        self.swf.ensure_domain(self.domain, retention_days=1)
        return self

    def close(self) -> None:
        """Stop every worker started here (at once, all together), then the service."""
        workers, self._workers = self._workers, []
        stop_all(workers, timeout=0)
        # Their result watchers end now, not after lingering idle against a stopped service.
        clients, self._clients = self._clients, []
        for client in clients:
            client.close()
        self._stack.close()

    def __enter__(self) -> "LocalTestEnvironment":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # ---------------------------------------------------------------- time

    def advance_time(self, seconds: float) -> None:
        """Move virtual time forward ``seconds`` and fire every timer and timeout now due."""
        self.service.advance_time(seconds)

    def now(self) -> float:
        """The service's SWF time (epoch seconds)."""
        return self.service.clock.now() if self.service.clock is not None else time.time()

    def next_deadline(self) -> float | None:
        """The earliest pending timer or timeout (epoch seconds), or None."""
        return next_deadline(self.service)

    @contextlib.contextmanager
    def auto_time_skipping(self, idle: float = 0.1, max_jump: float | None = None) -> Iterator[TimeSkipper]:
        """Within the block, virtual time jumps to the next deadline whenever the service is idle."""
        with TimeSkipper(self.service, idle=idle, max_jump=max_jump) as skipper:
            yield skipper

    # ---------------------------------------------------------------- clients and workers

    def client(self, task_list: str | None = None, **kwargs: Any) -> Any:
        """A :class:`~greenflow.client.WorkflowClient` on this domain.

        Without ``task_list``, executions start on the task list the workflow's ``@execute``
        declares, else on its registered default: the task list of the first workflow
        worker started for it here (:meth:`workflow_worker` registers it so).
        """
        from greenflow.client import WorkflowClient
        client = WorkflowClient(self.swf, self.domain, task_list, **kwargs)
        self._clients.append(client)
        return client

    def workflow_worker(self, *workflow_classes: type, task_list: str | None = None, start: bool = True,
                        **kwargs: Any) -> Any:
        """Return a :class:`~greenflow.worker.WorkflowWorker` stopped when the environment closes.

        It is started in the background unless ``start=False``. ``task_list`` defaults to
        the one the classes' ``@execute`` declare, else the environment's.
        """
        from greenflow.worker import WorkflowWorker
        declared = {kind.task_list for cls in workflow_classes for kind in workflow_types(cls) if kind.task_list}
        task_list = task_list or self._declared("workflow classes", declared)
        worker = WorkflowWorker(self.swf, self.domain, task_list, *workflow_classes, **kwargs)
        if start:
            worker.start()
        self._workers.append(worker)
        return worker

    def activity_worker(self, *activity_objects: Any, task_list: str | None = None, start: bool = True,
                        **kwargs: Any) -> Any:
        """Return a :class:`~greenflow.activity.ActivityWorker` stopped when the environment closes.

        It is started in the background unless ``start=False``.

        ``task_list`` defaults to the one the objects' ``@activities``/``@activity`` declare
        (where workflow code schedules them), else the environment's.

        Raises:
            ValueError: the objects declare different task lists (start one worker per list).
            GeventNotPatchedError: gevent has not patched this process (the error names the
                line to add at the top of ``conftest.py``).
        """
        from greenflow.activity import ActivityWorker
        declared = {name for name in map(declared_task_list, activity_objects) if name}
        task_list = task_list or self._declared("activity objects", declared)
        worker = ActivityWorker(self.swf, self.domain, task_list, *activity_objects, **kwargs)
        if start:
            worker.start()
        self._workers.append(worker)
        return worker


    def _declared(self, what: str, declared: set[str]) -> str:
        """The one task list ``declared``, else the environment's; several is a mistake."""
        if len(declared) > 1:
            raise ValueError(f"the {what} declare different task lists ({', '.join(sorted(declared))}): "
                             "start one worker per task list (task_list=...)")
        return next(iter(declared), self.task_list)


def stop_all(workers: list[Any], timeout: float | None = 0) -> None:
    """Stop workers concurrently (``worker.stop(timeout)``), logging rather than raising failures."""
    def stop(worker: Any) -> None:
        try:
            worker.stop(timeout)
        except Exception:  # a worker that fails to stop must not hide the test's own failure
            log.exception("stopping %r failed", worker)

    threads = [threading.Thread(target=stop, args=(worker,), daemon=True) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
