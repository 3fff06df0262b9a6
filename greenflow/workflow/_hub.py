"""The deterministic hub: a plain greenlet scheduler with a FIFO ready queue, and futures.

Each workflow run owns one :class:`Hub`. It is *not* gevent's hub and never touches an
event loop: workflow greenlets switch to it when they block on a :class:`Future`, and it
resumes ready greenlets strictly in the order they became ready. When nothing is ready
(and no ``wait_until`` predicate has become true) the run is *quiescent* and the hub
switches back to the decider (the *driver*). Because the order depends only on the order
of history events and of the workflow's own calls, replaying a history resumes the same
greenlets in the same order and so produces the same commands.

Workflow greenlets are :class:`WorkflowGreenlet` instances. gevent's hub calls
``switch_out()`` on the current greenlet before it takes over; ours raises
:class:`~greenflow.errors.WorkflowBlockingError`, so workflow code that sleeps, does
monkey-patched I/O or waits on a gevent object fails at once with a clear message
instead of hanging the decider. It costs nothing on the normal path.
"""

from __future__ import annotations

import logging
import os
import sys
from collections import deque
from types import FrameType
from typing import Any, Callable, Generic, Iterable, TypeVar

from greenlet import GreenletExit, getcurrent, greenlet

from greenflow.errors import CancelledError, WorkflowAbortedError, WorkflowBlockingError, WorkflowError

from . import _guards
from ._cancel import cancel_scope
from ._watchdog import PACKAGE_DIR, StepTimeout, StepWatch, current_watch

log = logging.getLogger("greenflow.workflow")

_PACKAGE_DIR = PACKAGE_DIR  # frames in files under it are greenflow's, not workflow code


class StopWorkflow(BaseException):
    """Internal: ``continue_as_new()`` unwinds the calling greenlet (the close is already set)."""


class RunEvicted(BaseException):
    """Internal: unwinds the greenlets of a run that leaves the cache.

    A ``BaseException`` so workflow code's ``except Exception`` cannot swallow it.
    """


_INTERNAL_FILES: dict[str, bool] = {}


def frame_is_internal(frame: Any) -> bool:
    """True if ``frame`` runs greenflow's own code (not the user's)."""
    filename = frame.f_code.co_filename
    inside = _INTERNAL_FILES.get(filename)
    if inside is None:
        inside = _INTERNAL_FILES[filename] = filename.startswith(_PACKAGE_DIR)
    return inside


def caller_location() -> str:
    """``file:line`` of the innermost frame outside greenflow: the user's call (for messages)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if not frame_is_internal(frame):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


def _blocking_call() -> str:
    """Name the gevent function the workflow code blocked in, and where it was called."""
    frame: FrameType | None = sys._getframe(2)
    gevent_function = None
    while frame is not None:
        filename = frame.f_code.co_filename
        if f"{os.sep}gevent{os.sep}" in filename or f"{os.sep}threading.py" in filename \
                or f"{os.sep}socket.py" in filename or f"{os.sep}ssl.py" in filename:
            module = os.path.splitext(os.path.basename(filename))[0]
            gevent_function = f"{module}.{frame.f_code.co_name}"
        elif not filename.startswith(_PACKAGE_DIR):
            return f"{gevent_function or 'gevent'} called at {filename}:{frame.f_lineno} in {frame.f_code.co_name}()"
        frame = frame.f_back
    return gevent_function or "gevent"


class WorkflowGreenlet(greenlet):
    """A greenlet running workflow code (``@execute``, a ``spawn``, a signal handler).

    ``role`` is ``"main"``, ``"signal"``, ``"spawn"`` or ``"query"``; ``serial`` orders
    greenlets by creation; ``waiting_on`` is what it is blocked on, for stack traces:
    ``(futures, predicate)`` (either may be empty/None), or None while it runs.
    """

    #: Clocks, randomness, threads and sockets are refused here (see ``_guards``);
    #: ``allow_unsafe_calls()`` turns it off for one block.
    gf_checks = True

    def __init__(self, run, function: Callable, args: tuple = (), kwargs: dict | None = None,
                 name: str = "workflow greenlet", role: str = "spawn"):
        super().__init__(self._body, parent=run.hub.greenlet)
        self.gf_run = run
        self.gf_name = name
        self.role = role
        run.hub.serial += 1
        self.serial = run.hub.serial
        self.waiting_on: tuple[tuple, Callable | None] | None = None
        # Cancellation scope (see ``_cancel``): the greenlet that spawned this one, the ones
        # it spawned, whether it was spawned inside ``shield()`` (then a cancel of its
        # spawner does not reach it), the commands it made, and the cancel state.
        self.spawner: WorkflowGreenlet | None = None
        self.spawned: list[WorkflowGreenlet] = []
        self.spawned_limit = 64
        self.commands_limit = 64
        self.detached = False
        self.commands: list = []
        self.shield_depth = 0
        self.cancel_delivered = False
        self.deferred_cancel: BaseException | None = None
        self.blocked = False
        self.pending_exc: BaseException | None = None
        self.function = function
        self.args = args
        self.kwargs = kwargs or {}
        self.future: Future[Any] = Future(run, name, self)
        self.future._cancel_fn = self._cancel

    def _body(self) -> None:
        run = self.gf_run
        try:
            if self.pending_exc is not None:
                exc, self.pending_exc = self.pending_exc, None
                raise exc
            value = self.function(*self.args, **self.kwargs)
        except (RunEvicted, GreenletExit):
            return
        except BaseException as exc:  # noqa: BLE001 - everything is reported through the future
            if not isinstance(exc, (Exception, StopWorkflow)):
                # sys.exit(), KeyboardInterrupt & co. fail this decision task only: the
                # worker goes on (and the execution is not failed for it).
                run.fatal(aborted(exc, self.gf_name))
            self.future._fail(exc)
        else:
            self.future._resolve(value)
        finally:
            run.hub.live.discard(self)

    def _cancel(self) -> bool:
        self.gf_run.hub.cancel_scope([self], f"{self.gf_name} was cancelled")
        return True

    def switch_out(self) -> None:
        """Called by gevent's hub before it takes over: workflow code must never let it."""
        what = _blocking_call()
        error = WorkflowBlockingError(
            f"GF-BLOCKING: workflow code blocked on gevent ({what}). Workflow code must not sleep, do I/O, "
            "or wait on gevent/threading objects: use greenflow.workflow.sleep(), activities, "
            "Future.result() or wait_until() instead.")
        self.gf_run.fatal(error)
        raise error


def aborted(exc: BaseException, where: str) -> WorkflowAbortedError:
    """The decision-task error for a ``SystemExit``/``KeyboardInterrupt``... raised by workflow code."""
    tb = exc.__traceback__
    location = "<unknown>"
    while tb is not None:  # the innermost user frame
        if not frame_is_internal(tb.tb_frame):
            location = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    error = WorkflowAbortedError(
        f"GF-ABORTED: workflow code ({where}) raised {type(exc).__name__}({exc}) at {location}. Workflow code "
        "must not exit the process; the decision task is left unanswered and the worker goes on.")
    error.__cause__ = exc
    return error


class _HubGreenlet(greenlet):
    """The hub's own greenlet (a subclass so it can carry the run, like workflow greenlets)."""

    gf_run = None


class Hub:
    """FIFO scheduler of one run's workflow greenlets; see the module docstring."""

    def __init__(self, run):
        self.run = run
        self.ready: deque[tuple[WorkflowGreenlet, BaseException | None]] = deque()
        self.conditions: list[list] = []  # [greenlet, predicate] in registration (FIFO) order
        self.live: set[WorkflowGreenlet] = set()
        self.greenlet = _HubGreenlet(self._loop)
        self.greenlet.gf_run = run
        self._driver: greenlet | None = None
        self._watch: StepWatch | None = None
        self._killing = False
        self._guard_plans: list[Any] | None = None
        self.serial = 0

    # ---------------------------------------------------------------- driver side
    def spawn(self, function: Callable, args: tuple = (), kwargs: dict | None = None,
              name: str = "workflow greenlet", context=None, role: str = "spawn") -> WorkflowGreenlet:
        """Create a workflow greenlet and put it at the end of the ready queue."""
        g = WorkflowGreenlet(self.run, function, args, kwargs, name, role)
        spawner = getcurrent()
        if isinstance(spawner, WorkflowGreenlet) and spawner.gf_run is self.run and role == "spawn":
            g.spawner = spawner
            g.detached = spawner.shield_depth > 0
            spawned = spawner.spawned
            if len(spawned) >= spawner.spawned_limit:
                # Forget finished ones with nothing open, so a long loop of spawns does not
                # grow this; the limit doubles with what stays, so the cost is amortised O(1).
                spawned[:] = [c for c in spawned if not c.dead or c.spawned
                              or any(not command.future.done() for command in c.commands)]
                spawner.spawned_limit = max(64, 2 * len(spawned))
            spawned.append(g)
        if context is not None:
            g.gr_context = context
        self.live.add(g)
        self.ready.append((g, None))
        return g

    def run_until_quiescent(self) -> None:
        """Run ready greenlets (FIFO) until none is ready; called by the decider."""
        if not self.ready and not self.conditions:
            return
        self._drive()

    def _drive(self) -> None:
        self._driver = getcurrent()
        self.greenlet.parent = self._driver
        self._watch = current_watch()  # the OS thread driving us now
        plans = self._guard_plans
        if plans is None:
            registry = getattr(self.run, "registry", None) or {}
            plans = self._guard_plans = _guards.plans_for(entry[0] for entry in registry.values())
        if not plans:
            self.greenlet.switch()
            return
        # Only while workflow code runs do its module's clocks & co. refuse to be called.
        _guards.enter(plans)
        try:
            self.greenlet.switch()
        finally:
            _guards.leave(plans)

    def _loop(self) -> None:
        ready = self.ready
        run = self.run
        while True:
            # Set by _drive before every switch here (the driving thread may change).
            watch, driver = self._watch, self._driver
            assert watch is not None and driver is not None
            while True:
                while ready:
                    g, exc = ready.popleft()
                    if g.dead:
                        continue
                    watch.begin(run)
                    try:
                        if exc is None:
                            g.switch()
                        elif not g:  # never started: deliver the exception when it starts
                            g.pending_exc = exc
                            g.switch()
                        else:
                            g.throw(exc)
                        watch.end()
                    except StepTimeout:
                        # The watchdog's exception landed here, just after the step ended
                        # (the run is already marked fatal).
                        watch.end()
                if not self.conditions or not self._check_conditions(watch):
                    break
            driver.switch()

    def _check_conditions(self, watch: StepWatch) -> bool:
        """Wake the first waiter whose predicate became true; True if one was woken.

        Predicates are workflow code too: each runs as a step under the watchdog, so a
        predicate that loops is stopped and reported like any other step.
        """
        for entry in self.conditions:
            g, predicate = entry
            if not g.blocked:
                continue
            watch.begin(self.run)
            try:
                satisfied = predicate()
            except StepTimeout:
                watch.end()
                return False  # the run is marked fatal: stop, the decision task fails
            except (GreenletExit, RunEvicted):
                watch.end()
                raise
            except BaseException as exc:  # noqa: BLE001 - SystemExit & co.: contained like in a greenlet
                if isinstance(exc, Exception):
                    watch.end()
                    self.conditions.remove(entry)
                    self.wake(g, exc)
                    return True
                watch.end()
                self.run.fatal(aborted(exc, f"the wait_until() predicate of {g.gf_name}"))
                return False
            watch.end()
            if self.run.fatal_error is not None:
                return False
            if satisfied:
                self.conditions.remove(entry)
                self.wake(g)
                return True
        return False

    def cancel_scope(self, roots: list[WorkflowGreenlet], message: str) -> None:
        """Cancel ``roots`` and everything they started, once; see :func:`._cancel.cancel_scope`."""
        cancel_scope(self, roots, message)

    def kill_all(self) -> None:
        """Unwind every live greenlet with :class:`RunEvicted` (their ``finally`` blocks run)."""
        self._killing = True
        self.ready.clear()
        self.conditions.clear()
        for g in list(self.live):
            if g.dead:
                continue
            if not g:  # never started: nothing to unwind
                continue
            self.ready.append((g, RunEvicted()))
        self.live.clear()
        if self.ready:
            self._drive()

    # ---------------------------------------------------------------- workflow side
    def suspend(self, futures: tuple = (), predicate: Callable | None = None) -> None:
        """Block the current workflow greenlet until :meth:`wake` resumes it (or throws into it).

        ``futures`` and ``predicate`` say what it waits for (kept for stack traces only).
        """
        g = getcurrent()
        if not isinstance(g, WorkflowGreenlet) or g.gf_run is not self.run:
            raise WorkflowError("this call blocks, so it must run in workflow code (in @execute, a "
                                "signal handler or a spawned function), not in a query or outside a run")
        if self._killing:
            raise RunEvicted()
        if g.pending_exc is not None:
            exc, g.pending_exc = g.pending_exc, None
            raise exc
        g.blocked = True
        g.waiting_on = (futures, predicate)
        try:
            self.greenlet.switch()
        finally:
            g.waiting_on = None

    def wake(self, g: WorkflowGreenlet, exc: BaseException | None = None) -> None:
        """Make ``g`` ready (FIFO); an ``exc`` is raised at its blocking point.

        An exception for a greenlet that is not blocked is kept and raised at its next
        blocking point; a plain wake-up of a greenlet that is not blocked is ignored.
        """
        if g.blocked:
            g.blocked = False
            self.ready.append((g, exc))
        elif exc is not None and not g.dead:
            if not g:
                g.pending_exc = exc
            elif g.pending_exc is None:
                g.pending_exc = exc


_PENDING = object()


T = TypeVar("T")


class Future(Generic[T]):
    """The eventual result of a command (activity, timer, child...) or of a spawned function.

    Like :class:`concurrent.futures.Future`, but waiting is a workflow-greenlet switch, not
    a thread block. Greenlets waiting on one future resume in the order they started
    waiting (FIFO); done callbacks run in the order they were added.
    """

    __slots__ = ("_run", "_value", "_exc", "_waiters", "_cancel_fn", "description", "source", "__weakref__")

    def __init__(self, run: Any, description: str = "", source: Any = None):
        self._run = run
        #: What settles it: the command (activity, timer...) or the spawned greenlet.
        self.source = source
        self._value: Any = _PENDING
        self._exc: BaseException | None = None
        self._waiters: list = []
        self._cancel_fn: Callable[[], bool] | None = None
        self.description = description

    def __repr__(self) -> str:
        state = "pending" if self._value is _PENDING else ("failed" if self._exc else "done")
        return f"<Future {self.description} {state}>"

    def done(self) -> bool:
        """True once the future has a result or an exception. Never blocks."""
        return self._value is not _PENDING

    def result(self) -> T:
        """Block this workflow greenlet until done; return the result or raise the exception.

        Waits in workflow time, for as long as history takes to settle the command (there
        is no timeout: use :func:`~greenflow.workflow.wait_any` with ``timeout``). Makes
        no command. If the waiting greenlet is cancelled while it waits (a workflow cancel request, or
        ``cancel()`` of a spawned future), the cancellation is passed on: this future is
        cancelled too (its activity, timer or child gets a cancel request).

        Raises:
            BaseException: the future's exception (``ActivityTaskFailedError``,
                ``CancelledError``...).
            WorkflowError: called outside workflow code, or in a query.
        """
        if self._value is _PENDING:
            self._wait()
        if self._exc is not None:
            raise self._exc
        return self._value

    def exception(self) -> BaseException | None:
        """Block this workflow greenlet until done; return the exception, or None if it succeeded.

        Waits like :meth:`result`, but returns the exception instead of raising it.
        """
        if self._value is _PENDING:
            self._wait()
        return self._exc

    def cancel(self) -> bool:
        """Request cancellation; False if already done. Never blocks.

        * a future of :func:`~greenflow.workflow.spawn`: CancelledError is raised in its
          greenlet at its blocking point; if it was waiting for an activity, timer or child,
          that one is cancelled in turn (see below) and the spawned future fails with
          CancelledError at once (unless the code catches it);
        * a timer (:func:`~greenflow.workflow.start_timer`) resolves at once with
          CancelledError and a ``CancelTimer`` decision is sent;
        * an activity gets ``RequestCancelActivityTask``, a child workflow
          ``RequestCancelExternalWorkflowExecution``; a command not sent yet is simply dropped.
        """
        if self._value is not _PENDING or self._cancel_fn is None:
            return False
        return self._cancel_fn()

    def add_done_callback(self, callback: Callable[["Future"], Any]) -> None:
        """Call ``callback(future)`` when done (at once if already done).

        The callback must not block; an exception it raises is logged and ignored.
        """
        def guarded(future: "Future") -> None:
            try:
                callback(future)
            except Exception:  # noqa: BLE001 - a callback must not break the run
                log.exception("done callback %r of %r raised", callback, future)

        if self._value is not _PENDING:
            guarded(self)
        else:
            self._waiters.append(guarded)

    # ---------------------------------------------------------------- internals
    def _on_done(self, callback: Callable[["Future"], Any]) -> None:
        """Internal, unguarded done callback (its errors are greenflow bugs and must surface)."""
        if self._value is not _PENDING:
            callback(self)
        else:
            self._waiters.append(callback)

    def _wait(self) -> None:
        hub = self._run.hub
        g = getcurrent()
        while self._value is _PENDING:
            self._waiters.append(g)
            try:
                hub.suspend((self,))
            except CancelledError:
                if self._value is _PENDING and not _shielded(self):
                    self.cancel()
                raise
            finally:
                if self._value is _PENDING:
                    try:
                        self._waiters.remove(g)
                    except ValueError:
                        pass

    def _resolve(self, value: Any) -> None:
        if self._value is not _PENDING:
            return
        self._value = value
        self._notify()

    def _fail(self, exc: BaseException) -> None:
        if self._value is not _PENDING:
            return
        self._value = None
        self._exc = exc
        self._notify()

    def _notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        wake = self._run.hub.wake
        for waiter in waiters:
            if isinstance(waiter, WorkflowGreenlet):
                wake(waiter)
            else:
                waiter(self)


def _shielded(future: Future) -> bool:
    """True if ``future`` was started inside ``shield()`` (a cancellation must not reach it)."""
    source = future.source
    if isinstance(source, WorkflowGreenlet):
        return source.detached
    return bool(getattr(source, "shielded", False))


def wait_futures(run, futures: Iterable[Future], count: int) -> None:
    """Block the current workflow greenlet until at least ``count`` of ``futures`` are done."""
    futures = list(futures)
    g = getcurrent()
    hub = run.hub
    while sum(1 for f in futures if f._value is not _PENDING) < count:
        pending = [f for f in futures if f._value is _PENDING]
        for f in pending:
            f._waiters.append(g)
        try:
            hub.suspend(tuple(pending))
        finally:
            for f in pending:
                if f._value is _PENDING:
                    try:
                        f._waiters.remove(g)
                    except ValueError:
                        pass
