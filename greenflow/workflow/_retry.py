"""``RetryPolicy``: how workflow code retries a failed call (durable timers between attempts).

The policy is data only (options and validation hold it); :func:`~greenflow.workflow.retry`,
which waits on timers, is in :mod:`._retrying`, above the workflow API it uses.
"""

from __future__ import annotations

import dataclasses

from greenflow.converter import exception_type_names
from greenflow.errors import DECISION_TASK_ERRORS, ActivityTaskFailedError, CancelledError, ChildWorkflowFailedError


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How to retry a failed call.

    Attempt ``n`` (from 1) that fails waits ``min(initial_interval * backoff_coefficient **
    (n - 1), max_interval)`` seconds (a durable timer) before attempt ``n + 1``, up to
    ``max_attempts`` attempts in all (0 = unlimited). ``non_retryable`` lists exception
    classes (or their names) that are raised at once; for an activity or child failure they
    are matched against the type names history recorded for the cause (see
    :meth:`is_retryable`). Cancellation is never retried.
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
        """False for cancellation, greenflow's fatal errors, and ``non_retryable`` matches.

        An activity's or child's failure is classified by the type names its history event
        recorded (the remote class and every exception class it derives from), never by
        which classes this process could rebuild: the same history always gets the same
        answer. A name matches a recorded ``module:qualname`` by its qualified name
        (``"PaymentDeclined"``), its dotted path (``"shop.errors.PaymentDeclined"``) or SWF's
        ``reason``; a class matches by its ``module:qualname``, or by ``isinstance`` for the
        error raised in workflow code itself.
        """
        if isinstance(error, (CancelledError, *DECISION_TASK_ERRORS)) \
                or not isinstance(error, Exception):
            return False
        names = set(exception_type_names(type(error)))
        cause = getattr(error, "cause", None)
        remote = isinstance(error, (ActivityTaskFailedError, ChildWorkflowFailedError))
        if remote and isinstance(cause, BaseException):
            names.update(recorded_type_names(cause))
        reason = getattr(error, "reason", None) if remote else None
        for item in self.non_retryable:
            if isinstance(item, str):
                if item == reason or any(_name_matches(item, name) for name in names):
                    return False
            elif isinstance(error, item) or f"{item.__module__}:{item.__qualname__}" in names:
                return False
        return True


def recorded_type_names(exc: BaseException) -> tuple[str, ...]:
    """``module:qualname`` of ``exc``'s class and bases as its sender recorded them (else as known here)."""
    recorded = getattr(exc, "type_names", None) or getattr(exc, "remote_type_names", None)
    if isinstance(recorded, tuple) and recorded:
        return recorded
    return tuple(exception_type_names(type(exc)))


def _name_matches(item: str, type_name: str) -> bool:
    module, _, qualname = type_name.partition(":")
    return item in (qualname, f"{module}.{qualname}", type_name)
