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

from ._validate import CHILD_POLICIES, check_durations, name_problem, priority_problem

_WORKFLOW: contextvars.ContextVar[dict] = contextvars.ContextVar("greenflow_workflow_options", default={})
_ACTIVITY: contextvars.ContextVar[dict] = contextvars.ContextVar("greenflow_activity_options", default={})


def _given(**values: Any) -> dict:
    return {key: value for key, value in values.items() if value is not None}


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
    problems: list[str] = []
    if workflow_id is not None and (p := name_problem("workflow_id", workflow_id)):
        problems.append(p)
    if task_list is not None and (p := name_problem("task_list", task_list)):
        problems.append(p)
    if version is not None and (p := name_problem("version", version, 64)):
        problems.append(p)
    if tags is not None:
        if isinstance(tags, str) or len(tags) > 5 or not all(isinstance(t, str) and 0 < len(t) <= 256 for t in tags):
            problems.append(f"tags must be at most 5 strings of 1 to 256 characters, not {tags!r}")
        tags = list(tags) if not isinstance(tags, str) else tags
    if child_policy is not None and child_policy not in CHILD_POLICIES:
        problems.append(f"child_policy must be one of {CHILD_POLICIES}, not {child_policy!r}")
    if p := priority_problem(task_priority):
        problems.append(p)
    durations = check_durations(problems, {
        "execution_start_to_close_timeout": execution_start_to_close_timeout,
        "task_start_to_close_timeout": task_start_to_close_timeout})
    if problems:
        raise DefinitionError("workflow_options: " + "; ".join(problems))
    merged = {**_WORKFLOW.get(), **_given(workflow_id=workflow_id, task_list=task_list, tags=tags,
                                          task_priority=task_priority, child_policy=child_policy,
                                          version=version, **durations)}
    token = _WORKFLOW.set(merged)
    try:
        yield merged
    finally:
        _WORKFLOW.reset(token)


@contextlib.contextmanager
def activity_options(*, task_list: str | None = None, schedule_to_start_timeout: Any = None,
                     start_to_close_timeout: Any = None, schedule_to_close_timeout: Any = None,
                     heartbeat_timeout: Any = None, task_priority: int | None = None,
                     retry: Any = None, version: str | None = None) -> Iterator[dict]:
    """Override options of the activities called inside (task list, timeouts, priority, retry).

    Timeouts are seconds (int) or timedeltas; ``retry`` is a :class:`RetryPolicy`.
    """
    problems: list[str] = []
    if task_list is not None and (p := name_problem("task_list", task_list)):
        problems.append(p)
    if version is not None and (p := name_problem("version", version, 64)):
        problems.append(p)
    if p := priority_problem(task_priority):
        problems.append(p)
    if retry is not None:
        from ._retry import RetryPolicy

        if not isinstance(retry, RetryPolicy):
            problems.append(f"retry must be a RetryPolicy, not {type(retry).__name__}")
    durations = check_durations(problems, {
        "schedule_to_start_timeout": schedule_to_start_timeout, "start_to_close_timeout": start_to_close_timeout,
        "schedule_to_close_timeout": schedule_to_close_timeout, "heartbeat_timeout": heartbeat_timeout})
    if problems:
        raise DefinitionError("activity_options: " + "; ".join(problems))
    merged = {**_ACTIVITY.get(), **_given(task_list=task_list, task_priority=task_priority, retry=retry,
                                          version=version, **durations)}
    token = _ACTIVITY.set(merged)
    try:
        yield merged
    finally:
        _ACTIVITY.reset(token)


def current_workflow_options() -> dict:
    """The merged ``workflow_options`` in effect here (keys: workflow_id, task_list, tags,
    execution_start_to_close_timeout, task_start_to_close_timeout, task_priority, child_policy,
    version; only those set)."""
    return dict(_WORKFLOW.get())


def current_activity_options() -> dict:
    """The merged ``activity_options`` in effect here (only the keys set)."""
    return dict(_ACTIVITY.get())
