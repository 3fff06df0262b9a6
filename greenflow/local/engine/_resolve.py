"""Resolving a start's or schedule's options against the type's registered defaults.

Each option comes from the request (or decision) when given, else from the type's
``default*`` member; a required option with neither is reported by name, so callers can
answer ``DefaultUndefinedFault`` (StartWorkflowExecution) or a ``DEFAULT_*_UNDEFINED``
cause (decisions).
"""

from __future__ import annotations

from typing import Any

#: Workflow options: (request member, type default member, cause stem or None if optional).
WORKFLOW_OPTIONS = (
    ("taskList", "defaultTaskList", "TASK_LIST"),
    ("executionStartToCloseTimeout", "defaultExecutionStartToCloseTimeout", "EXECUTION_START_TO_CLOSE_TIMEOUT"),
    ("taskStartToCloseTimeout", "defaultTaskStartToCloseTimeout", "TASK_START_TO_CLOSE_TIMEOUT"),
    ("childPolicy", "defaultChildPolicy", "CHILD_POLICY"),
    ("taskPriority", "defaultTaskPriority", None),
    ("lambdaRole", "defaultLambdaRole", None),
)

#: Activity options, in the order SWF checks them.
ACTIVITY_OPTIONS = (
    ("taskList", "defaultTaskList", "TASK_LIST"),
    ("scheduleToStartTimeout", "defaultTaskScheduleToStartTimeout", "SCHEDULE_TO_START_TIMEOUT"),
    ("scheduleToCloseTimeout", "defaultTaskScheduleToCloseTimeout", "SCHEDULE_TO_CLOSE_TIMEOUT"),
    ("startToCloseTimeout", "defaultTaskStartToCloseTimeout", "START_TO_CLOSE_TIMEOUT"),
    # SWF documents no "must be specified" for the heartbeat timeout: unset means none.
    ("heartbeatTimeout", "defaultTaskHeartbeatTimeout", None),
    ("taskPriority", "defaultTaskPriority", None),
)


def resolve(options: tuple, attributes: dict[str, Any], configuration: dict[str, Any]) -> tuple[dict, str | None]:
    """The resolved options and the cause stem of the first required one missing (or ``None``)."""
    resolved: dict[str, Any] = {}
    for member, default, cause in options:
        value = attributes.get(member)
        if value is None:
            value = configuration.get(default)
        if value is None and cause is not None:
            return resolved, cause
        resolved[member] = value
    return resolved, None
