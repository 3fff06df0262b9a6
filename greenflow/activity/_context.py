"""The activity context: what a running activity knows about its task, and heartbeats.

Inside an activity run by an :class:`~greenflow.activity.ActivityWorker`,
:func:`context` (alias :func:`current`) returns the :class:`ActivityContext` of the task
being run, and :func:`heartbeat` reports progress to SWF. A heartbeat that learns that the
workflow requested cancellation raises :class:`~greenflow.errors.CancelledError` inside the
activity; letting it escape makes the worker answer ``RespondActivityTaskCanceled``.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Any, Callable

from ..converter import DEFAULT_CONVERTER, DataConverter, check_size
from ..errors import CancelledError, GreenflowError, UnknownResourceError

#: SWF's limit for heartbeat details, in characters.
MAX_HEARTBEAT_DETAILS = 2048


class NoActivityContextError(GreenflowError, RuntimeError):
    """:func:`context` was called outside an activity run by a worker (a user bug)."""


@dataclass(eq=False)
class ActivityContext:
    """The task an activity is running for, and the means to heartbeat it.

    Attributes:
        task_token: SWF's token for the task (hand it to another system for manual completion).
        activity_id: the activity's ID in its workflow execution.
        activity_type: ``(name, version)``.
        workflow_id, run_id: the workflow execution that scheduled it.
        started_event_id: the ``ActivityTaskStarted`` event's ID.
        domain, task_list: where it was polled from.
        input: the raw input string, before conversion.
        converter: the converter used for input, result and heartbeat details.
        cancel_requested: set once a heartbeat learned of a cancellation request.
        manual: when true the worker does not answer the task; someone completes it later
            with :class:`~greenflow.activity.ManualActivityCompletionClient`.
    """

    task_token: str
    activity_id: str
    activity_type: tuple[str, str]
    workflow_id: str
    run_id: str
    started_event_id: int = 0
    domain: str = ""
    task_list: str = ""
    input: str | None = None
    converter: DataConverter = field(default=DEFAULT_CONVERTER, repr=False)
    cancel_requested: bool = False
    manual: bool = False
    _call: Callable[..., dict] | None = field(default=None, repr=False)

    @property
    def workflow_execution(self) -> dict[str, str]:
        """The execution as SWF writes it: ``{"workflowId": ..., "runId": ...}``."""
        return {"workflowId": self.workflow_id, "runId": self.run_id}

    def heartbeat(self, details: Any = None) -> None:
        """Report progress to SWF (one ``RecordActivityTaskHeartbeat`` call) with optional ``details``.

        Blocks (cooperatively, under gevent) for that one SWF call. Raises :class:`~greenflow.errors.CancelledError`
        when the workflow requested cancellation of this activity, or when SWF no longer
        knows the task (it timed out or was closed): stop work and let it escape (or clean
        up and re-raise). ``details`` are converted with the activity's converter and must
        stay within 2,048 characters (:class:`~greenflow.errors.PayloadTooLargeError`).
        """
        if self._call is None:
            raise NoActivityContextError("this activity context is not attached to a worker")
        params: dict[str, Any] = {"taskToken": self.task_token}
        if details is not None:
            name = self.activity_type[0]
            params["details"] = check_size(self.converter.dumps(details), f"heartbeat details of activity {name}",
                                           MAX_HEARTBEAT_DETAILS)
        try:
            answer = self._call("RecordActivityTaskHeartbeat", **params)
        except UnknownResourceError as error:
            self.cancel_requested = True
            raise CancelledError("the activity task is no longer open (it timed out or was closed)",
                                 details=details) from error
        if answer.get("cancelRequested"):
            self.cancel_requested = True
            raise CancelledError(f"cancellation of activity {self.activity_id} was requested", details=details)

    def complete_manually(self) -> None:
        """Tell the worker not to answer this task: it will be completed later through its token."""
        self.manual = True


_current: contextvars.ContextVar[ActivityContext] = contextvars.ContextVar("greenflow_activity_context")


def context() -> ActivityContext:
    """The context of the activity task running in this greenlet or thread.

    Raises :class:`NoActivityContextError` outside an activity run by a worker (for
    example when a test calls the activity method directly).
    """
    try:
        return _current.get()
    except LookupError:
        raise NoActivityContextError(
            "greenflow.activity.context() is only available inside an activity run by an ActivityWorker") from None


#: Alias of :func:`context`.
current = context


def heartbeat(details: Any = None) -> None:
    """Heartbeat the current activity task; see :meth:`ActivityContext.heartbeat`."""
    context().heartbeat(details)


def _enter(ctx: ActivityContext) -> contextvars.Token:
    return _current.set(ctx)


def _leave(token: contextvars.Token) -> None:
    _current.reset(token)
