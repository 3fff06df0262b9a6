"""SWF's value rules as the local service checks them on the wire: names, durations, priorities, retention.

The facts themselves (limits, the name rule) come from :mod:`greenflow._swf_rules`, which
the workflow side checks too; this module adds the rules of values sent as strings.

SWF's model states these rules only in member documentation, so botocore does not check
them. The request validator (:mod:`._validation`) applies them to every request; the
engine re-applies :func:`require` only where a value reaches it without passing the
validator as a request member (a default resolved from a registered type).

Each ``*_problem`` function returns the constraint a value breaks, phrased to follow
``"Member "`` in an AWS validation message, or ``None`` when the value is fine.
"""

from __future__ import annotations

import re

# Re-exported, so the service's modules import every rule from this one module.
from greenflow._swf_rules import (
    FORBIDDEN_NAME_CHARS,
    INT32_MAX,
    INT32_MIN,
    MAX_EXECUTION_SECONDS,
    MAX_RETENTION_DAYS,
    NONE,
    name_problem,
    priority_in_range,
)

from ._faults import validation_error

_DIGITS = re.compile(r"[0-9]+\Z")
_PRIORITY = re.compile(r"[+-]?[0-9]{1,10}\Z")


# Amazon SWF accepts child workflow ids that break the documented name rule. Evidence: AWS's
# own Flow frameworks run on Amazon SWF and name a child "<parent runId>:<n>" unless told
# otherwise: the Java Flow library's DefaultChildWorkflowIdHandler.generateWorkflowId is
# String.format("%s:%s", currentWorkflow.getRunId(), nextId.get()) (aws/aws-swf-flow-library),
# and the AWS Flow Framework for Python's ChildWorkflowExecutionHandler builds
# "%s:%s" % (run_id, self._decider.get_next_id()) (boto/botoflow); an Amazon SWF runId is
# base64 ("22uQnpuSxdW6zrOjdWUnd2xu/Ra7Ccm+lwRhn08+JsLM4="), so those ids hold ':' and '/'.
# Only those two characters are known to pass; '|', control characters and the literal
# "arn" stay refused (the documented rule), as nothing shows SWF accepting them.
_CHILD_ID_FORBIDDEN = re.compile(r"[|\u0000-\u001f\u007f-\u009f]")


def child_workflow_id_problem(value: str) -> str | None:
    """The rule Amazon SWF enforces on a StartChildWorkflowExecution decision's ``workflowId``.

    Looser than :func:`name_problem`: ``':'`` and ``'/'`` pass (see the evidence above).
    """
    if _CHILD_ID_FORBIDDEN.search(value):
        return "must not contain '|' or control characters (\\u0000-\\u001f, \\u007f-\\u009f)"
    if value == "arn":
        return "must not be the literal string 'arn'"
    return None


def trimmed_problem(value: str) -> str | None:
    """The rule of names the model documents as not starting or ending with whitespace."""
    if value != value.strip():
        return "must not start or end with whitespace"
    return None


def duration_problem(value: str, *, allow_none: bool = True, limit: int | None = None) -> str | None:
    """A duration: whole seconds ``>= 0`` as a string, or ``NONE`` where allowed, at most ``limit``."""
    if value == NONE:
        return None if allow_none else "must be an integer number of seconds >= 0 (NONE is not allowed here)"
    if not _DIGITS.match(value):
        return ("must be an integer number of seconds >= 0" + (" or NONE" if allow_none else "")) + ", as a string"
    if limit is not None and int(value) > limit:
        return f"must be at most {limit} seconds (one year)"
    return None


def execution_duration_problem(value: str) -> str | None:
    """An execution's start-to-close timeout: seconds, never ``NONE``, at most one year."""
    return duration_problem(value, allow_none=False, limit=MAX_EXECUTION_SECONDS)


def retention_problem(value: str) -> str | None:
    """A history retention: ``"0"``..``"90"`` days, or ``NONE``."""
    if value == NONE:
        return None
    if not _DIGITS.match(value) or int(value) > MAX_RETENTION_DAYS:
        return f"must be an integer number of days from 0 to {MAX_RETENTION_DAYS}, or NONE, as a string"
    return None


def priority_problem(value: str) -> str | None:
    """A task priority: a 32-bit signed integer as a string."""
    if not _PRIORITY.match(value) or not priority_in_range(int(value)):
        return f"must be an integer from {INT32_MIN} to {INT32_MAX}, as a string"
    return None


#: How many characters of a value a validation message quotes.
SHOWN_CHARS = 128
#: How many levels of a nested value a validation message looks into.
SHOWN_DEPTH = 8


def show(value: object) -> str:
    """A value as AWS quotes it in a validation message (long values cut short).

    Bounded in work as well as in output: a request can nest hundreds of levels in 2 KB
    or carry megabytes, so the value is rendered only to :data:`SHOWN_DEPTH` levels and
    rendering stops once :data:`SHOWN_CHARS` characters are written.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        parts: list[str] = []
        _render(value, parts, [0], SHOWN_DEPTH)
        text = "".join(parts)
    if len(text) > SHOWN_CHARS:
        text = text[:SHOWN_CHARS - 3] + "..."
    return f"'{text}'"


def _render(value: object, parts: list[str], size: list[int], depth: int) -> None:
    """Append ``value``'s text to ``parts`` until ``size[0]`` passes :data:`SHOWN_CHARS`."""
    if size[0] > SHOWN_CHARS:
        return
    if isinstance(value, (dict, list, tuple)):
        if depth == 0:
            _emit("{...}" if isinstance(value, dict) else "[...]", parts, size)
            return
        items = value.items() if isinstance(value, dict) else value
        _emit("{" if isinstance(value, dict) else "[", parts, size)
        for index, item in enumerate(items):
            if size[0] > SHOWN_CHARS:
                return
            if index:
                _emit(", ", parts, size)
            if isinstance(value, dict):
                _emit(f"{_clip(item[0])}=", parts, size)
                item = item[1]
            _render(item, parts, size, depth - 1)
        _emit("}" if isinstance(value, dict) else "]", parts, size)
        return
    _emit(_clip(value), parts, size)


def _clip(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    return text[:SHOWN_CHARS + 1]


def _emit(text: str, parts: list[str], size: list[int]) -> None:
    parts.append(text)
    size[0] += len(text)


def violation(value: object, path: str, constraint: str) -> str:
    """One AWS validation sentence: ``Value 'x' at 'path' failed to satisfy constraint: Member ...``."""
    return f"Value {show(value)} at '{path}' failed to satisfy constraint: Member {constraint}"


def require(problem: str | None, value: object, path: str) -> None:
    """Raise ``ValidationException`` for a value that broke a rule (``problem`` not ``None``).

    For values the request validator cannot see as they are used, such as a default
    resolved from a registered type: ``require(execution_duration_problem(v), v, "...")``.
    """
    if problem is not None:
        raise validation_error(f"1 validation error detected: {violation(value, path, problem)}")


__all__ = [
    "NONE", "MAX_EXECUTION_SECONDS", "MAX_RETENTION_DAYS", "INT32_MIN", "INT32_MAX", "FORBIDDEN_NAME_CHARS",
    "name_problem", "child_workflow_id_problem", "trimmed_problem", "duration_problem", "execution_duration_problem",
    "retention_problem", "priority_problem", "show", "violation", "require",
]
