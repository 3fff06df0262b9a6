"""Interceptor hooks: code of yours around activity execution, workflow tasks and SWF calls.

Subclass :class:`Interceptor`, override the hooks you need, and pass instances to the
workers (``interceptors=[...]``) and to :class:`~greenflow.swf.SWFClient` (its
``interceptors`` list): tracing (OpenTelemetry spans), auth headers, audit logs or metrics
can then be added without forking greenflow. Each hook receives a description of the call
and ``proceed``, a function of no arguments that runs the rest of the chain and returns
its result; a hook must call it exactly once and return (or transform) what it returns,
or raise. Hooks run in the order given: the first is the outermost::

    class Timing(Interceptor):
        def execute_activity(self, call, proceed):
            start = time.monotonic()
            try:
                return proceed()
            finally:
                log.info("%s took %.3f s", call.activity_type, time.monotonic() - start)

    ActivityWorker(swf, "shop", "tasks", Orders(), interceptors=[Timing()])

Workflow code itself is replayed and must stay deterministic, so there is no hook inside
it: :meth:`Interceptor.handle_workflow_task` wraps the whole handling of a decision task
(replay and decisions) on the worker, outside the workflow's greenlets.

Besides the hooks *around* calls, a few notifications tell what happened (a poll's outcome,
a retried SWF call, a worker starting); :mod:`greenflow.metrics` is built on them.
:func:`install` adds an interceptor to every worker and SWF client of the process (what
``greenflow.metrics.enable_metrics`` does).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from typing import Any, Callable, Sequence, TypeVar

__all__ = ["Interceptor", "ActivityCall", "WorkflowTaskCall", "WorkflowTaskOutcome", "SWFCall", "intercept",
           "install", "uninstall", "installed", "active", "notify"]

T = TypeVar("T")
log = logging.getLogger("greenflow.interceptors")


@dataclasses.dataclass(frozen=True)
class ActivityCall:
    """One activity task about to run on an activity worker.

    Attributes:
        domain, task_list: where it was polled.
        activity_type: ``"name version"``; ``activity_id`` its ID in the workflow.
        workflow_id, run_id: the execution that scheduled it.
        task: the raw ``PollForActivityTask`` response.
    """

    domain: str
    task_list: str
    activity_type: str
    activity_id: str
    workflow_id: str
    run_id: str
    task: dict[str, Any] = dataclasses.field(repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class WorkflowTaskCall:
    """One decision task about to be handled by a workflow worker.

    Attributes:
        domain, task_list: where it was polled.
        workflow_type: ``"name version"``.
        workflow_id, run_id: the execution.
        task: the raw ``PollForDecisionTask`` response (pages merged).
    """

    domain: str
    task_list: str
    workflow_type: str
    workflow_id: str
    run_id: str
    task: dict[str, Any] = dataclasses.field(repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class WorkflowTaskOutcome:
    """What handling one decision task came to (what ``proceed()`` of the workflow-task hook returns).

    Attributes:
        outcome: ``completed`` (answered), ``nondeterministic``, ``blocked`` or ``aborted`` (left
            unanswered for SWF to retry), ``error`` (a failure while deciding) or
            ``not-answered`` (SWF did not take the answer).
        decisions: how many decisions were sent.
        cache_hit: the run was resumed from the live-run cache (no full replay).
        events_replayed: history events fed to workflow code for this task (its replay cost).
        evictions: cached runs dropped to make room.
        workflow_failures: the failure reasons of ``FailWorkflowExecution`` decisions sent.
    """

    outcome: str
    decisions: int = 0
    cache_hit: bool = False
    events_replayed: int = 0
    evictions: int = 0
    workflow_failures: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class SWFCall:
    """One SWF API call about to be sent (each retry of it is inside ``proceed``).

    Attributes:
        operation: the API name (``StartWorkflowExecution``).
        params: its request members; a hook may change them (it is the dict sent).
    """

    operation: str
    params: dict[str, Any]


class Interceptor:
    """Base class of interceptors: every hook, by default, just proceeds."""

    def execute_activity(self, call: ActivityCall, proceed: Callable[[], Any]) -> Any:
        """Around running one activity function; returns its result (or raises its error)."""
        return proceed()

    def handle_workflow_task(self, call: WorkflowTaskCall, proceed: Callable[[], Any]) -> Any:
        """Around handling one decision task (replay, decide, respond)."""
        return proceed()

    def swf_call(self, call: SWFCall, proceed: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Around one SWF call of an :class:`~greenflow.swf.SWFClient` (client, worker or console)."""
        return proceed()

    # ------------------------------------------------------------ notifications

    def worker_started(self, worker: Any) -> None:
        """A workflow or activity worker started polling (``worker.kind``, ``.swf``, ``.domain``, ``.task_list``)."""

    def poll_completed(self, worker: Any, outcome: str) -> None:
        """One long poll of ``worker`` ended: ``task``, ``empty`` (nothing to do) or ``error``."""

    def swf_retry(self, operation: str, error: BaseException, attempt: int, delay: float) -> None:
        """An SWF call failed with a retryable ``error`` (throttling, outage) and is retried after ``delay`` s."""


_installed: list[Interceptor] = []


def install(interceptor: Interceptor) -> None:
    """Add ``interceptor`` to every worker and SWF client of this process (outermost first)."""
    if interceptor not in _installed:
        _installed.append(interceptor)


def uninstall(interceptor: Interceptor) -> None:
    """Remove an interceptor :func:`install` added (absent is fine)."""
    if interceptor in _installed:
        _installed.remove(interceptor)


def installed() -> tuple[Interceptor, ...]:
    """The process-wide interceptors."""
    return tuple(_installed)


def active(own: Sequence[Interceptor]) -> list[Interceptor]:
    """The interceptors a worker or client runs: the process-wide ones, then its own."""
    return [*_installed, *own] if _installed else list(own)


def notify(interceptors: Sequence[Interceptor], hook: str, *args: Any) -> None:
    """Call notification ``hook`` on each interceptor; a failing one is logged, never raised."""
    for interceptor in interceptors:
        try:
            getattr(interceptor, hook)(*args)
        except Exception:  # an observer must not break the worker it observes
            log.exception("interceptor %r failed in %s", interceptor, hook)


def intercept(interceptors: Sequence[Interceptor], hook: str, call: Any, final: Callable[[], T]) -> T:
    """Run ``final`` inside the ``hook`` of each interceptor, the first outermost."""
    proceed: Callable[[], Any] = final
    for interceptor in reversed(interceptors):
        proceed = functools.partial(getattr(interceptor, hook), call, proceed)
    result: T = proceed()
    return result
