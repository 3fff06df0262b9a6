"""``RetryPolicy``: how workflow code retries a failed call (durable timers between attempts).

The policy is data only (options and validation hold it); :func:`~greenflow.workflow.retry`,
which waits on timers, is in :mod:`._retrying`, above the workflow API it uses.
"""

from __future__ import annotations

import dataclasses

from greenflow.errors import DECISION_TASK_ERRORS, ActivityTaskFailedError, CancelledError


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How to retry a failed call.

    Attempt ``n`` (from 1) that fails waits ``min(initial_interval * backoff_coefficient **
    (n - 1), max_interval)`` seconds (a durable timer) before attempt ``n + 1``, up to
    ``max_attempts`` attempts in all (0 = unlimited). ``non_retryable`` lists exception
    classes (or their names) that are raised at once; for an activity failure they are
    matched against the rebuilt cause and its reason. Cancellation is never retried.
    """

    max_attempts: int = 3
    initial_interval: float = 1.0
    backoff_coefficient: float = 2.0
    max_interval: float | None = None
    non_retryable: tuple = ()

    def __post_init__(self):
        problems = []
        if not isinstance(self.max_attempts, int) or self.max_attempts < 0:
            problems.append(f"max_attempts must be an int >= 0, not {self.max_attempts!r}")
        if not isinstance(self.initial_interval, (int, float)) or self.initial_interval < 0:
            problems.append(f"initial_interval must be >= 0 seconds, not {self.initial_interval!r}")
        if not isinstance(self.backoff_coefficient, (int, float)) or self.backoff_coefficient < 1:
            problems.append(f"backoff_coefficient must be >= 1, not {self.backoff_coefficient!r}")
        if self.max_interval is not None and (not isinstance(self.max_interval, (int, float)) or self.max_interval < 0):
            problems.append(f"max_interval must be >= 0 seconds or None, not {self.max_interval!r}")
        non_retryable = tuple(self.non_retryable) if not isinstance(self.non_retryable, (type, str)) \
            else (self.non_retryable,)
        for item in non_retryable:
            if not (isinstance(item, str) or (isinstance(item, type) and issubclass(item, BaseException))):
                problems.append(f"non_retryable holds exception classes or names, not {item!r}")
        if problems:
            raise ValueError("RetryPolicy: " + "; ".join(problems))
        object.__setattr__(self, "non_retryable", non_retryable)

    def interval(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based)."""
        delay = self.initial_interval * self.backoff_coefficient ** (attempt - 1)
        return min(delay, self.max_interval) if self.max_interval is not None else delay

    def is_retryable(self, error: BaseException) -> bool:
        """False for cancellation, greenflow's fatal errors, and ``non_retryable`` matches."""
        if isinstance(error, (CancelledError, *DECISION_TASK_ERRORS)) \
                or not isinstance(error, Exception):
            return False
        candidates = [error]
        if isinstance(error, ActivityTaskFailedError) and error.cause is not None:
            candidates.append(error.cause)
        names = {type(c).__name__ for c in candidates}
        if isinstance(error, ActivityTaskFailedError) and error.reason:
            names.add(error.reason)
        for item in self.non_retryable:
            if isinstance(item, str):
                if item in names:
                    return False
            elif any(isinstance(c, item) for c in candidates):
                return False
        return True
