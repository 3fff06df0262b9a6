"""The one decision on retrying an SWF call: which failures, how often, how long to wait.

Every SWF call greenflow makes is retried here, and only here: the SWF edge
(:meth:`SWFClient.call <greenflow.swf.SWFClient.call>`, per its :class:`CallRetryPolicy`,
6 attempts by default) and the workers' poll loops, answers and registrations
(:data:`greenflow.worker._loop.OUTAGE_RETRY`: for as long as the worker runs). botocore's
own retries are switched off (see :mod:`._connect`).

What is retried (:func:`is_retryable`): throttling, HTTP 5xx answers and failures to reach
the service (all mapped to :class:`~greenflow.errors.ThrottlingError` or
:class:`~greenflow.errors.ServiceUnavailableError` by :mod:`._errors`). Nothing else: a
fault SWF answered with is the answer.

This module imports no botocore (the workers' loops use it before any call is made).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import ServiceUnavailableError, SWFError, ThrottlingError


def is_retryable(error: SWFError) -> bool:
    """Whether a mapped SWF error is worth retrying: throttling, 5xx and connection failures."""
    return isinstance(error, (ThrottlingError, ServiceUnavailableError))


@dataclass
class CallRetryPolicy:
    """How an SWF call is retried: bounded exponential backoff with full jitter.

    Attempt ``n`` (1-based) that fails waits a random time in ``[0, min(cap, base * 2**(n-1))]``
    before attempt ``n + 1``; after ``max_attempts`` attempts the error is raised.

    Not to be confused with :class:`greenflow.workflow.RetryPolicy`, which retries a failed
    *activity* from workflow code with durable timers.

    Args:
        max_attempts: total attempts per call (1 = never retry; ``None`` = no bound, for
            loops that retry until stopped).
        base: the first delay bound, in seconds.
        cap: the largest delay bound, in seconds.
        sleep: how to wait (``time.sleep``, cooperative under gevent's monkey-patching;
            tests pass a recorder).
        random: a source of numbers in ``[0, 1)`` for the jitter.
    """

    max_attempts: int | None = 6
    base: float = 0.1
    cap: float = 5.0
    # Looked up at call time: gevent may monkey-patch ``time.sleep`` after this import.
    sleep: Callable[[float], None] = field(default=lambda seconds: time.sleep(seconds), repr=False)
    random: Callable[[], float] = field(default=random.random, repr=False)

    def delay(self, attempt: int) -> float:
        """The wait after failed attempt ``attempt`` (1-based), in seconds."""
        return self.random() * min(self.cap, self.base * (2 ** min(attempt - 1, 62)))

    def retries(self, error: SWFError, attempt: int) -> bool:
        """Whether failed attempt ``attempt`` (1-based), which raised ``error``, is tried again."""
        return is_retryable(error) and (self.max_attempts is None or attempt < self.max_attempts)


#: A policy that never retries.
NO_RETRY = CallRetryPolicy(max_attempts=1)

#: The name :class:`CallRetryPolicy` had before; kept so existing code keeps working.
RetryPolicy = CallRetryPolicy

__all__ = ["NO_RETRY", "CallRetryPolicy", "RetryPolicy", "is_retryable"]
