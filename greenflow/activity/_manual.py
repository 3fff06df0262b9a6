"""Completing activities later, from anywhere, with their task token.

An activity marked ``@activity(manual=True)`` (or one that calls
``context().complete_manually()``) returns without the worker answering SWF. It hands
``context().task_token`` to another system (a human approval queue, a callback), which
later completes, fails or cancels the task with :class:`ManualActivityCompletionClient`.
"""

from __future__ import annotations

from typing import Any

from ..converter import DEFAULT_CONVERTER, MAX_PAYLOAD, MAX_REASON, DataConverter, check_size, failure_from_exception
from ..swf import as_client
from ._context import MAX_HEARTBEAT_DETAILS


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

    def _params(self, token: str, member: str, value: Any, what: str, limit: int = MAX_PAYLOAD) -> dict:
        """``{"taskToken": token}`` plus ``member`` = converted ``value`` (size-checked), unless None."""
        params: dict[str, Any] = {"taskToken": token}
        if value is not None:
            params[member] = check_size(self.converter.dumps(value), what, limit)
        return params

    def complete(self, token: str, result: Any = None) -> None:
        """Complete the task with ``result`` (``RespondActivityTaskCompleted``).

        Raises:
            PayloadTooLargeError: the converted result exceeds 32,768 characters.
            UnknownResourceError: the task is no longer open.
        """
        self.client.call("RespondActivityTaskCompleted",
                         **self._params(token, "result", result, "result of a manually completed activity"))

    def fail(self, token: str, exc_or_reason: BaseException | str, details: Any = None) -> None:
        """Fail the task with an exception (reason and details derived from it) or a reason string.

        With an exception, the workflow's activity call raises ``ActivityTaskFailedError``
        whose ``cause`` is that exception, rebuilt. With a string, ``details`` (any value)
        are converted and sent as the failure details.

        Raises:
            PayloadTooLargeError: the converted details exceed 32,768 characters.
            UnknownResourceError: the task is no longer open.
        """
        if isinstance(exc_or_reason, BaseException):
            reason, text = failure_from_exception(exc_or_reason, self.converter)
            params = {"taskToken": token, "details": text}
        else:
            reason = str(exc_or_reason)[:MAX_REASON]
            params = self._params(token, "details", details, "details of a manually failed activity")
        self.client.call("RespondActivityTaskFailed", reason=reason, **params)

    def cancel(self, token: str, details: Any = None) -> None:
        """Answer the task as canceled (``RespondActivityTaskCanceled``).

        Raises:
            PayloadTooLargeError: the converted details exceed 32,768 characters.
            UnknownResourceError: the task is no longer open.
        """
        self.client.call("RespondActivityTaskCanceled",
                         **self._params(token, "details", details, "details of a manually canceled activity"))

    def heartbeat(self, token: str, details: Any = None) -> bool:
        """Heartbeat the task; return whether its cancellation was requested.

        Raises:
            PayloadTooLargeError: the converted details exceed 2,048 characters.
            UnknownResourceError: the task is no longer open.
        """
        params = self._params(token, "details", details, "heartbeat details", MAX_HEARTBEAT_DETAILS)
        return bool(self.client.call("RecordActivityTaskHeartbeat", **params).get("cancelRequested"))
