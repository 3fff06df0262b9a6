"""Completing activities later, from anywhere, with their task token.

An activity marked ``@activity(manual=True)`` (or one that calls
``context().complete_manually()``) returns without the worker answering SWF. It hands
``context().task_token`` to another system (a human approval queue, a callback), which
later completes, fails or cancels the task with :class:`ManualActivityCompletionClient`.
"""

from __future__ import annotations

from typing import Any

from ..converter import DEFAULT_CONVERTER, MAX_REASON, DataConverter, check_size, failure_from_exception
from ..swf import as_client


class ManualActivityCompletionClient:
    """Answer activity tasks by token, outside the worker that received them.

    Args:
        client: an ``SWFClient`` (or a botocore ``swf`` client).
        converter: converts results and details (use the activity's converter).

    Each method makes one SWF call and raises
    :class:`~greenflow.errors.UnknownResourceError` when the task is no longer open
    (already answered, timed out, or its execution closed).
    """

    def __init__(self, client: Any, converter: DataConverter | None = None):
        self.client = as_client(client)
        self.converter = converter or DEFAULT_CONVERTER

    def complete(self, token: str, result: Any = None) -> None:
        """Complete the task with ``result`` (``RespondActivityTaskCompleted``)."""
        params = {"taskToken": token}
        if result is not None:
            params["result"] = check_size(self.converter.dumps(result), "result of a manually completed activity")
        self.client.call("RespondActivityTaskCompleted", **params)

    def fail(self, token: str, exc_or_reason: BaseException | str, details: Any = None) -> None:
        """Fail the task with an exception (reason and details derived from it) or a reason string.

        With an exception, the workflow's activity call raises ``ActivityTaskFailedError``
        whose ``cause`` is that exception, rebuilt. With a string, ``details`` (any value)
        are converted and sent as the failure details.
        """
        if isinstance(exc_or_reason, BaseException):
            reason, text = failure_from_exception(exc_or_reason, self.converter)
        else:
            reason = str(exc_or_reason)[:MAX_REASON]
            text = None if details is None else check_size(self.converter.dumps(details),
                                                           "details of a manually failed activity")
        params = {"taskToken": token, "reason": reason}
        if text is not None:
            params["details"] = text
        self.client.call("RespondActivityTaskFailed", **params)

    def cancel(self, token: str, details: Any = None) -> None:
        """Answer the task as canceled (``RespondActivityTaskCanceled``)."""
        params = {"taskToken": token}
        if details is not None:
            params["details"] = check_size(self.converter.dumps(details), "details of a manually canceled activity")
        self.client.call("RespondActivityTaskCanceled", **params)

    def heartbeat(self, token: str, details: Any = None) -> bool:
        """Heartbeat the task; returns whether its cancellation was requested."""
        params = {"taskToken": token}
        if details is not None:
            params["details"] = check_size(self.converter.dumps(details), "heartbeat details", 2048)
        return bool(self.client.call("RecordActivityTaskHeartbeat", **params).get("cancelRequested"))
