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
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, Sequence, TypeVar

__all__ = ["Interceptor", "ActivityCall", "WorkflowTaskCall", "SWFCall", "intercept"]

T = TypeVar("T")


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
    task: dict = dataclasses.field(repr=False, compare=False)


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
    task: dict = dataclasses.field(repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class SWFCall:
    """One SWF API call about to be sent (each retry of it is inside ``proceed``).

    Attributes:
        operation: the API name (``StartWorkflowExecution``).
        params: its request members; a hook may change them (it is the dict sent).
    """

    operation: str
    params: dict


class Interceptor:
    """Base class of interceptors: every hook, by default, just proceeds."""

    def execute_activity(self, call: ActivityCall, proceed: Callable[[], Any]) -> Any:
        """Around running one activity function; returns its result (or raises its error)."""
        return proceed()

    def handle_workflow_task(self, call: WorkflowTaskCall, proceed: Callable[[], Any]) -> Any:
        """Around handling one decision task (replay, decide, respond)."""
        return proceed()

    def swf_call(self, call: SWFCall, proceed: Callable[[], dict]) -> dict:
        """Around one SWF call of an :class:`~greenflow.swf.SWFClient` (client, worker or console)."""
        return proceed()


def intercept(interceptors: Sequence[Interceptor], hook: str, call: Any, final: Callable[[], T]) -> T:
    """Run ``final`` inside the ``hook`` of each interceptor, the first outermost."""
    proceed: Callable[[], Any] = final
    for interceptor in reversed(interceptors):
        proceed = functools.partial(getattr(interceptor, hook), call, proceed)
    return proceed()
