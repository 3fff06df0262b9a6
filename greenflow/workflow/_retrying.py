"""``retry()``: call a function again, per a :class:`RetryPolicy`, with durable timers between attempts."""

from __future__ import annotations

from typing import Any, Callable

from ._api import sleep
from ._retry import RetryPolicy


def retry(policy: RetryPolicy, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``function(*args, **kwargs)`` in workflow code, retrying per ``policy``; return its result.

    Blocks for the attempts and, between them, for durable timers (``sleep``, seconds of
    workflow time). Each attempt's commands and each wait's ``StartTimer`` are part of the
    command sequence, so changing the policy of running executions changes it too.

    Raises:
        TypeError: ``policy`` is not a :class:`RetryPolicy`.
        Exception: the last attempt's error, or the first one that is not retryable.
    """
    if not isinstance(policy, RetryPolicy):
        raise TypeError(f"retry() needs a RetryPolicy, not {type(policy).__name__}")
    attempt = 1
    while True:
        try:
            return function(*args, **kwargs)
        except Exception as error:
            if not policy.is_retryable(error) or (policy.max_attempts and attempt >= policy.max_attempts):
                raise
        sleep(policy.interval(attempt))
        attempt += 1
