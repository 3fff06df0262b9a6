"""``workflow_options(...)`` and ``activity_options(...)``: per-call overrides as context managers.

The overrides apply to the calls made inside the ``with`` block in the same greenlet (and in
greenlets it spawns, which inherit a copy), innermost block first. Outside a workflow the
client reads :func:`current_workflow_options` when starting executions.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Iterator, Sequence

from greenflow.errors import DefinitionError

from ._validate import check_activity_timeouts, check_durations, child_policy_problem, collect, name_problem, \
    priority_problem, retry_problem, tags_problem, version_problem

_WORKFLOW: contextvars.ContextVar[dict] = contextvars.ContextVar("greenflow_workflow_options", default={})
_ACTIVITY: contextvars.ContextVar[dict] = contextvars.ContextVar("greenflow_activity_options", default={})


def _given(**values: Any) -> dict:
    return {key: value for key, value in values.items() if value is not None}


@contextlib.contextmanager
def _overriding(var: contextvars.ContextVar[dict], merged: dict) -> Iterator[None]:
    token = var.set(merged)
    try:
        yield
    finally:
        var.reset(token)


@contextlib.contextmanager
def workflow_options(*, workflow_id: str | None = None, task_list: str | None = None,
                     tags: Sequence[str] | None = None, execution_start_to_close_timeout: Any = None,
                     task_start_to_close_timeout: Any = None, task_priority: int | None = None,
                     child_policy: str | None = None, version: str | None = None) -> Iterator[dict]:
    """Override options of the workflows started (or child workflows, or continue-as-new) inside.

    Timeouts are seconds (int) or timedeltas; ``tags`` at most 5 strings; ``version`` selects
    another version of the workflow type (continue-as-new). Unset arguments keep the outer
    value or the ``@execute`` default.
    """
    problems = collect(
        name_problem("workflow_id", workflow_id) if workflow_id is not None else None,
        name_problem("task_list", task_list) if task_list is not None else None,
        version_problem(version) if version is not None else None,
        tags_problem(tags), child_policy_problem(child_policy), priority_problem(task_priority))
    if tags is not None and not isinstance(tags, str):
        tags = list(tags)
    durations = check_durations(problems, {
        "execution_start_to_close_timeout": execution_start_to_close_timeout,
        "task_start_to_close_timeout": task_start_to_close_timeout})
    if problems:
        raise DefinitionError("workflow_options: " + "; ".join(problems))
    merged = {**_WORKFLOW.get(), **_given(workflow_id=workflow_id, task_list=task_list, tags=tags,
                                          task_priority=task_priority, child_policy=child_policy,
                                          version=version, **durations)}
    with _overriding(_WORKFLOW, merged):
        yield merged


@contextlib.contextmanager
def activity_options(*, task_list: str | None = None, schedule_to_start_timeout: Any = None,
                     start_to_close_timeout: Any = None, schedule_to_close_timeout: Any = None,
                     heartbeat_timeout: Any = None, task_priority: int | None = None,
                     retry: Any = None, version: str | None = None) -> Iterator[dict]:
    """Override options of the activities called inside (task list, timeouts, priority, retry).

    Timeouts are seconds (int) or timedeltas; ``retry`` is a :class:`RetryPolicy`.
    """
    problems = collect(
        name_problem("task_list", task_list) if task_list is not None else None,
        version_problem(version) if version is not None else None,
        priority_problem(task_priority), retry_problem(retry))
    durations = check_activity_timeouts(problems, schedule_to_start_timeout, start_to_close_timeout,
                                        schedule_to_close_timeout, heartbeat_timeout)
    if problems:
        raise DefinitionError("activity_options: " + "; ".join(problems))
    merged = {**_ACTIVITY.get(), **_given(task_list=task_list, task_priority=task_priority, retry=retry,
                                          version=version, **durations)}
    with _overriding(_ACTIVITY, merged):
        yield merged


def current_workflow_options() -> dict:
    """Return the merged ``workflow_options`` in effect here (only the keys set).

    Keys: workflow_id, task_list, tags, execution_start_to_close_timeout,
    task_start_to_close_timeout, task_priority, child_policy, version.
    """
    return dict(_WORKFLOW.get())


def current_activity_options() -> dict:
    """Return the merged ``activity_options`` in effect here (only the keys set)."""
    return dict(_ACTIVITY.get())
