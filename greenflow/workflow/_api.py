"""The functions workflow code calls: each is one line on the current run.

They work only inside workflow code (an ``@execute`` method, a ``@signal`` handler, or a
function they ``spawn``) and raise :class:`~greenflow.errors.WorkflowError` elsewhere.
Each replaces a non-deterministic Python facility with one recorded in (or derived from)
the execution's history. Blocking calls suspend only the calling workflow greenlet, and
wait in *workflow time*: a timer fires when SWF says so, not when a local clock does.

Determinism: workflow code is re-run (replayed) against its history, and each call that
makes a *command* (a timer, a marker, an activity, a child, a signal or cancel request)
must make the same command, in the same order, on every replay. Adding, removing or
reordering such calls in code that running executions have passed through changes the
command sequence; guard the change with :func:`version`, or replay fails with
:class:`~greenflow.errors.NonDeterministicWorkflowError`.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import uuid as _uuid
from typing import Any, Callable, Iterable, ParamSpec, TypeVar

from greenlet import getcurrent

from greenflow.errors import WorkflowError

from ._cancel import shield as _shield
from ._hub import Future, wait_futures
from ._markers import DEFAULT_VERSION
from ._run import current_run
from ._state import WorkflowInfo
from ._validate import name_problem

__all__ = ["sleep", "start_timer", "now", "spawn", "wait_all", "wait_any", "wait_until", "random", "uuid4",
           "side_effect", "version", "continue_as_new", "signal_external", "request_cancel_external", "info",
           "is_replaying", "shield", "DEFAULT_VERSION"]

T = TypeVar("T")
P = ParamSpec("P")


def sleep(seconds: float | datetime.timedelta) -> None:
    """Durable ``time.sleep``: block this workflow greenlet for ``seconds`` of workflow time.

    Makes one ``StartTimer`` command (whole seconds, rounded up; 0 is allowed), so the wait
    survives worker restarts. Changing the *duration* of an existing call is safe; adding
    or removing a call changes the command sequence (guard it with :func:`version`).

    Args:
        seconds: how long, in seconds (int or float, >= 0) or a ``timedelta``.

    Raises:
        ValueError: ``seconds`` is negative, NaN or not a number.
        CancelledError: the workflow (or the spawned greenlet) was cancelled while sleeping.
        TimerError: SWF refused the timer (``StartTimerFailed``).
    """
    current_run().start_timer(seconds).result()  # type: ignore[arg-type]  # it takes timedeltas too


def start_timer(seconds: float | datetime.timedelta) -> Future:
    """Start a durable timer and return its :class:`Future`; never blocks.

    The non-blocking form of :func:`sleep` (the same ``StartTimer`` command, the same
    determinism rule). The future resolves to None when the timer fires; its ``cancel()``
    sends ``CancelTimer`` and fails it with :class:`~greenflow.errors.CancelledError`.

    Raises:
        ValueError: ``seconds`` is negative, NaN or not a number.
    """
    return current_run().start_timer(seconds)  # type: ignore[arg-type]  # it takes timedeltas too


def now() -> datetime.datetime:
    """Return workflow time, the replacement for ``datetime.datetime.now`` (aware, in UTC).

    It is the start time of the decision task being replayed (an aware UTC datetime), read
    from history: the same on every replay, and constant while the workflow code runs
    between two blocking calls. Makes no command; never blocks.
    """
    run = current_run()
    assert run.now is not None  # set from history before workflow code runs
    return run.now


def spawn(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
    """Run ``function(*args, **kwargs)`` in a new workflow greenlet; return its :class:`Future`.

    The replacement for threads and ``gevent.spawn`` in workflow code. ``function`` may
    call activities (``spawn(Orders.ship, order)``), child workflows or any helper.
    Greenlets start in the order spawned, after the caller blocks, and resume in the order
    history delivers their results, so the commands they make are replayed in the same
    order. The new greenlet inherits a copy of the caller's context (``activity_options``...).
    Makes no command itself; never blocks.

    Raises:
        TypeError: ``function`` is not callable.
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


def wait_all(*futures: Future[T] | Iterable[Future[T]]) -> list[T]:
    """Block until every future is done; return their results in argument order.

    The replacement for joining threads. Makes no command. Accepts futures as arguments
    or one iterable of futures.

    Raises:
        BaseException: the exception of the first failed future, in argument order, once
            all are done.
        CancelledError: the waiting greenlet was cancelled.
        TypeError: an argument is not a :class:`Future`.
    """
    run = current_run()
    futures_ = _futures(futures)
    wait_futures(run, futures_, len(futures_))
    return [f.result() for f in futures_]


def wait_any(*futures: Future[T] | Iterable[Future[T]], timeout: float | None = None) -> Future[T] | None:
    """Block until at least one future is done and return it (the first done, in argument order).

    With ``timeout`` (seconds of workflow time) a durable timer is started, and cancelled if
    a future wins; None is returned if none finished in time. Switching ``timeout`` between
    None and a value in code running executions have passed through changes the command
    sequence (the timer's ``StartTimer`` appears or disappears).

    Raises:
        ValueError: no futures were given.
        TypeError: an argument is not a :class:`Future`.
        CancelledError: the waiting greenlet was cancelled.
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
    """Block until ``predicate()`` is true; return True, or False after ``timeout``.

    The replacement for ``threading.Condition.wait_for``: the predicate is re-checked
    whenever the run would go idle (e.g. after a signal handler changed state). With
    ``timeout`` (seconds of workflow time) a durable timer is started, and cancelled if the
    predicate wins. Switching ``timeout`` between None and a value in code running
    executions have passed through changes the command sequence. The predicate must only
    read workflow state (no commands, no blocking).

    Raises:
        Exception: whatever ``predicate()`` raises, at this call.
        CancelledError: the waiting greenlet was cancelled.
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
            run.hub.suspend((timer,) if timer is not None else (), predicate)
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
    """Return a float in [0, 1): the replacement for ``random.random``.

    Drawn from a generator seeded by the run ID, so every replay draws the same numbers in
    the same order. Makes no command, but the sequence of draws is part of the code's
    behaviour: adding a draw shifts all later ones.
    """
    return current_run().random.random()


def uuid4() -> _uuid.UUID:
    """Return a version-4 UUID: the replacement for ``uuid.uuid4``.

    Drawn from the same seeded generator as :func:`random` (the same on every replay).
    """
    return current_run().uuid4()


def side_effect(function: Callable[[], Any]) -> Any:
    """Run ``function()`` once and record its result; replays return the recorded value.

    For small non-deterministic values (an ID, a config lookup) that do not deserve an
    activity. Makes a ``RecordMarker`` command (adding or removing a call changes the
    command sequence). ``function`` runs in the workflow greenlet and must not block.
    Both paths return the converted-back value.

    Raises:
        TypeError: ``function`` is not callable.
        PayloadTooLargeError: the converted result exceeds 32,768 characters.
        NonDeterministicWorkflowError: history holds no marker for this call (changed code).
    """
    if not callable(function):
        raise TypeError(f"side_effect() needs a callable, not {type(function).__name__}")
    return current_run().side_effect(function)


def version(change_id: str, min_supported: int, max_supported: int) -> int:
    """Return which branch of a code change this run takes (for changing running workflows safely).

    New runs get ``max_supported`` (recorded in a ``RecordMarker``); runs that passed this
    point before the change existed get :data:`DEFAULT_VERSION` (-1); every later call
    with the same ``change_id`` returns the same value. Write
    ``if version("x", DEFAULT_VERSION, 1) == 1: <new code> else: <old code>`` and keep the
    old branch until the runs that took it have closed. Never blocks.

    Raises:
        ValueError: ``change_id`` is not a valid SWF name, or the bounds are not ints in order.
        NonDeterministicWorkflowError: the run's version is outside
            ``min_supported..max_supported`` (a branch was removed too early).
    """
    if problem := name_problem("change_id", change_id, 200):
        raise ValueError(problem)
    if not isinstance(min_supported, int) or not isinstance(max_supported, int) or min_supported > max_supported:
        raise ValueError("version() needs ints min_supported <= max_supported, "
                         f"not {min_supported!r}, {max_supported!r}")
    return current_run().version(change_id, min_supported, max_supported)


def continue_as_new(*args: Any, **kwargs: Any) -> None:
    """Close this run and start a new run of the same workflow ID with these arguments.

    Never returns: it unwinds the calling greenlet (``finally`` blocks run; ``except
    Exception`` cannot catch it). The closing ``ContinueAsNewWorkflowExecution`` decision
    is sent once the run is quiescent. Options (task list, timeouts, tags, ``version``)
    come from the current run unless overridden with ``workflow_options(...)``.

    Raises:
        PayloadTooLargeError: the converted arguments exceed 32,768 characters.
    """
    current_run().continue_as_new(args, kwargs)


def signal_external(workflow_id: str, signal_name: str, *args: Any, run_id: str | None = None, **kwargs: Any) -> None:
    """Signal another execution; block until SWF delivered it.

    Makes a ``SignalExternalWorkflowExecution`` command (part of the command sequence);
    waits, in workflow time, for ``ExternalWorkflowExecutionSignaled``. Use ``spawn`` to
    not wait.

    Raises:
        ValueError: ``workflow_id`` or ``signal_name`` is not a valid SWF name.
        ExternalWorkflowError: SWF could not deliver it (``cause`` e.g.
            ``UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION``).
        CancelledError: the waiting greenlet was cancelled.
    """
    for what, value in (("workflow_id", workflow_id), ("signal_name", signal_name)):
        if problem := name_problem(what, value):
            raise ValueError(problem)
    current_run().signal_external(workflow_id, signal_name, args, kwargs, run_id).result()


def request_cancel_external(workflow_id: str, run_id: str | None = None) -> None:
    """Ask another execution to cancel; block until SWF delivered the request.

    Makes a ``RequestCancelExternalWorkflowExecution`` command (part of the command
    sequence); waits, in workflow time, for ``ExternalWorkflowExecutionCancelRequested``.

    Raises:
        ValueError: ``workflow_id`` is not a valid SWF name.
        ExternalWorkflowError: SWF could not deliver the request.
        CancelledError: the waiting greenlet was cancelled.
    """
    if problem := name_problem("workflow_id", workflow_id):
        raise ValueError(problem)
    current_run().request_cancel_external(workflow_id, run_id).result()


def info() -> WorkflowInfo:
    """Return facts about the current execution (workflow id, run id, type, task list, parent...).

    Read from the ``WorkflowExecutionStarted`` event: the same on every replay.

    Raises:
        WorkflowError: called before the workflow started (no instance yet).
    """
    run = current_run()
    if run.info is None:
        raise WorkflowError("the workflow has not started")
    return run.info


def is_replaying() -> bool:
    """Return True while this code re-runs a part of history already decided.

    For skipping side effects that must not repeat, such as logging (see
    :data:`~greenflow.workflow.logger`). Never branch on it in code that makes commands.
    """
    return current_run().replaying


def shield() -> contextlib.AbstractContextManager[None]:
    """``with shield():`` runs its block without being interrupted by cancellation.

    A workflow cancel request (or ``cancel()`` of a spawned function's future) reaches
    every greenlet of its scope once, and every activity, timer and child workflow they
    started; but not what is made inside this block: its activities, timers and children
    are not cancelled, greenlets spawned in it are outside the scope, and the calling
    greenlet gets its :class:`~greenflow.errors.CancelledError` only at its first blocking
    call after the block. Use it for work that must finish, such as charging a card or
    cleanup that must not be abandoned. Makes no command; never blocks.

    Raises:
        WorkflowError: called outside workflow code.
    """
    return _shield()
