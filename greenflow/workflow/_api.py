"""The functions workflow code calls: each is one line on the current run.

They work only inside workflow code (an ``@execute`` method, a ``@signal`` handler, or a
function they ``spawn``) and raise :class:`~greenflow.errors.WorkflowError` elsewhere.
Each replaces a non-deterministic Python facility with one recorded in (or derived from)
the execution's history. Blocking calls suspend only the calling workflow greenlet.
"""

from __future__ import annotations

import contextvars
import datetime
import uuid as _uuid
from typing import Any, Callable, Iterable

from greenlet import getcurrent

from greenflow.errors import WorkflowError

from ._hub import Future, wait_futures
from ._run import DEFAULT_VERSION, WorkflowInfo, current_run
from ._validate import name_problem

__all__ = ["sleep", "start_timer", "now", "spawn", "wait_all", "wait_any", "wait_until", "random", "uuid4",
           "side_effect", "version", "continue_as_new", "signal_external", "request_cancel_external", "info",
           "is_replaying", "DEFAULT_VERSION"]


def sleep(seconds: float | datetime.timedelta) -> None:
    """Durable ``time.sleep``: block this workflow greenlet for ``seconds`` of workflow time.

    Records a ``StartTimer`` (whole seconds, rounded up); survives worker restarts.
    Changing the *duration* of an existing call is safe; adding or removing a call is a
    change of the command sequence (use :func:`version`). Raises
    :class:`~greenflow.errors.CancelledError` if cancelled while sleeping.
    """
    current_run().start_timer(seconds).result()


def start_timer(seconds: float | datetime.timedelta) -> Future:
    """Start a durable timer and return its :class:`Future` (resolves to None when it fires;
    ``cancel()`` sends ``CancelTimer`` and resolves it with CancelledError). Never blocks."""
    return current_run().start_timer(seconds)


def now() -> datetime.datetime:
    """Workflow time, the equivalent of ``datetime.now(timezone.utc)``: the start time of the
    decision task being replayed (an aware UTC datetime). It does not advance while the
    workflow code runs; it is the same on every replay."""
    run = current_run()
    return run.now


def spawn(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
    """Run ``function(*args, **kwargs)`` in a new workflow greenlet; return its :class:`Future`.

    ``function`` may call activities (``spawn(Orders.ship, order)``), child workflows or
    any helper; greenlets start in the order spawned, after the caller blocks. The new
    greenlet inherits a copy of the caller's context (``activity_options``...). Never blocks.
    """
    if not callable(function):
        raise TypeError(f"spawn() needs a callable, not {type(function).__name__}")
    run = current_run()
    name = getattr(function, "__qualname__", None) or getattr(function, "__name__", None) or repr(function)
    return run.hub.spawn(function, args, kwargs, name=f"spawn({name})", context=contextvars.copy_context()).future


def _futures(futures: tuple) -> list[Future]:
    if len(futures) == 1 and not isinstance(futures[0], Future):
        futures = tuple(futures[0])
    for f in futures:
        if not isinstance(f, Future):
            raise TypeError(f"expected Futures, got {type(f).__name__}")
    return list(futures)


def wait_all(*futures: Future | Iterable[Future]) -> list[Any]:
    """Block until every future is done; return their results in argument order.

    Raises the exception of the first failed future, in argument order, once all are done.
    Accepts futures as arguments or one iterable of futures.
    """
    run = current_run()
    futures_ = _futures(futures)
    wait_futures(run, futures_, len(futures_))
    return [f.result() for f in futures_]


def wait_any(*futures: Future | Iterable[Future], timeout: float | None = None) -> Future | None:
    """Block until at least one future is done and return it (the first done in argument
    order). With ``timeout`` (seconds, a durable timer) return None if none finished in time.
    """
    run = current_run()
    futures_ = _futures(futures)
    if not futures_:
        raise ValueError("wait_any() needs at least one future")
    timer = run.start_timer(timeout) if timeout is not None else None
    try:
        wait_futures(run, futures_ + ([timer] if timer else []), 1)
    finally:
        if timer is not None and not timer.done():
            timer.cancel()
    for f in futures_:
        if f.done():
            return f
    return None


def wait_until(predicate: Callable[[], bool], timeout: float | None = None) -> bool:
    """Block until ``predicate()`` is true (re-checked whenever the run would go idle, e.g.
    after a signal handler changed state); return True, or False after ``timeout`` seconds
    of workflow time (a durable timer, cancelled if the predicate wins).

    Like ``threading.Condition.wait_for``. Switching ``timeout`` between None and a value
    in existing code changes the command sequence.
    """
    run = current_run()
    if predicate():
        return True
    g = getcurrent()
    timer = run.start_timer(timeout) if timeout is not None else None
    entry = [g, predicate]
    run.hub.conditions.append(entry)
    if timer is not None:
        timer._waiters.append(g)
    try:
        while True:
            run.hub.suspend()
            if entry not in run.hub.conditions:  # woken by the predicate (or its exception)
                return True
            if timer is not None and timer.done():
                return bool(predicate())
    finally:
        if entry in run.hub.conditions:
            run.hub.conditions.remove(entry)
        if timer is not None:
            if g in timer._waiters:
                timer._waiters.remove(g)
            if not timer.done():
                timer.cancel()


def random() -> float:
    """Deterministic ``random.random()``: a float in [0, 1) from a generator seeded by the run ID."""
    return current_run().random.random()


def uuid4() -> _uuid.UUID:
    """Deterministic ``uuid.uuid4()``: a version-4 UUID from the run's seeded generator."""
    return current_run().uuid4()


def side_effect(function: Callable[[], Any]) -> Any:
    """Run ``function()`` once and record its result in a ``MarkerRecorded`` event; replays
    return the recorded value without calling it. For small non-deterministic values (an
    ID, a config lookup); the result must be convertible and ≤ 32,768 characters once
    converted. Both paths return the converted-back value."""
    if not callable(function):
        raise TypeError(f"side_effect() needs a callable, not {type(function).__name__}")
    return current_run().side_effect(function)


def version(change_id: str, min_supported: int, max_supported: int) -> int:
    """Which branch of a code change this run takes (for changing running workflows safely).

    New runs get ``max_supported`` (recorded in a marker); runs that passed this point
    before the change existed get :data:`DEFAULT_VERSION` (-1); every later call with the
    same ``change_id`` returns the same value. Raises
    :class:`~greenflow.errors.NonDeterministicWorkflowError` if the run's version is
    outside ``min_supported..max_supported``.
    """
    if problem := name_problem("change_id", change_id, 200):
        raise ValueError(problem)
    if not isinstance(min_supported, int) or not isinstance(max_supported, int) or min_supported > max_supported:
        raise ValueError(f"version() needs ints min_supported <= max_supported, not {min_supported!r}, {max_supported!r}")
    return current_run().version(change_id, min_supported, max_supported)


def continue_as_new(*args: Any, **kwargs: Any) -> None:
    """Close this run and start a new run of the same workflow ID with these arguments.

    Never returns. Options (task list, timeouts, tags, ``version``) come from the current
    run unless overridden with ``workflow_options(...)``.
    """
    current_run().continue_as_new(args, kwargs)


def signal_external(workflow_id: str, signal_name: str, *args: Any, run_id: str | None = None, **kwargs: Any) -> None:
    """Signal another execution; block until SWF delivered it.

    Raises :class:`~greenflow.errors.ExternalWorkflowError` (``cause`` e.g.
    ``UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION``). Use ``spawn`` to not wait.
    """
    for what, value in (("workflow_id", workflow_id), ("signal_name", signal_name)):
        if problem := name_problem(what, value):
            raise ValueError(problem)
    current_run().signal_external(workflow_id, signal_name, args, kwargs, run_id).result()


def request_cancel_external(workflow_id: str, run_id: str | None = None) -> None:
    """Ask another execution to cancel; block until SWF delivered the request.

    Raises :class:`~greenflow.errors.ExternalWorkflowError` on failure.
    """
    if problem := name_problem("workflow_id", workflow_id):
        raise ValueError(problem)
    current_run().request_cancel_external(workflow_id, run_id).result()


def info() -> WorkflowInfo:
    """Facts about the current execution (workflow id, run id, type, task list, parent...)."""
    run = current_run()
    if run.info is None:
        raise WorkflowError("the workflow has not started")
    return run.info


def is_replaying() -> bool:
    """True while this code re-runs a part of history already decided (e.g. to skip logging)."""
    return current_run().replaying
