"""The AWS-like mode: make the local service behave like a remote Amazon SWF region.

Users outgrow one machine by moving to Amazon SWF; this mode rehearses that move here. On
every call the service then adds

* **network latency**: a delay drawn uniformly from ``latency`` (seconds), half before the
  request is handled and half before its answer is sent, as a round trip splits;
* **throttling**: one token bucket per API, sized and refilled as SWF's documented default
  quotas (below); a call that finds its bucket empty is answered ``ThrottlingException``
  (HTTP 400) and changes nothing;
* **server errors**: with probability ``fault_rate``, ``InternalFailure`` (HTTP 500) or
  ``ServiceUnavailable`` (HTTP 503), drawn from a seeded generator; the call changes
  nothing (it fails before it is handled).

SigV4 is required in this mode (the service is given credentials; see :class:`LocalService`).

The draws (latencies, faults) come from one ``random.Random(seed)``: with one client the
run is reproducible; with many concurrent clients the order of calls decides who draws what.

and SWF's decision quotas: a ScheduleActivityTask, StartTimer or StartChildWorkflowExecution
decision beyond its bucket fails with its ``*_RATE_EXCEEDED`` cause (the engine asks
:meth:`AWSEmulation.admit_decision`).

Not emulated: the quotas of the SignalExternalWorkflowExecution and
RequestCancelExternalWorkflowExecution decisions, the per-workflow signal quota, and
failures *after* a call took effect (an answer lost on the way back).
"""

from __future__ import annotations

import collections
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from gevent import monkey

from ._faults import COMMON_NAMESPACE, Fault

# A real lock even when the caller monkey-patched: the counters are read from other threads.
_allocate_lock = monkey.get_original("_thread", "allocate_lock")

#: SWF's documented default throttling quotas, per account and region: API name → (bucket
#: size, refill rate per second), as the SWF Developer Guide's "Amazon SWF Quotas" page
#: lists them under "Throttling quotas for all Regions". AWS raises them on request and has
#: changed them over the years: pass ``quotas=`` to rehearse other figures. An API missing
#: here is never throttled.
SWF_API_QUOTAS: Mapping[str, tuple[int, float]] = {
    "CountClosedWorkflowExecutions": (2000, 12),
    "CountOpenWorkflowExecutions": (2000, 12),
    "CountPendingActivityTasks": (200, 6),
    "CountPendingDecisionTasks": (200, 6),
    "DeleteActivityType": (200, 6),
    "DeleteWorkflowType": (200, 6),
    "DeprecateActivityType": (200, 6),
    "DeprecateDomain": (100, 6),
    "DeprecateWorkflowType": (200, 6),
    "DescribeActivityType": (2000, 12),
    "DescribeDomain": (200, 6),
    "DescribeWorkflowExecution": (2000, 12),
    "DescribeWorkflowType": (2000, 12),
    "GetWorkflowExecutionHistory": (2000, 60),
    "ListActivityTypes": (200, 6),
    "ListClosedWorkflowExecutions": (200, 6),
    "ListDomains": (100, 6),
    "ListOpenWorkflowExecutions": (200, 48),
    "ListTagsForResource": (50, 30),
    "ListWorkflowTypes": (200, 6),
    "PollForActivityTask": (2000, 200),
    "PollForDecisionTask": (2000, 200),
    "RecordActivityTaskHeartbeat": (2000, 160),
    "RegisterActivityType": (200, 60),
    "RegisterDomain": (100, 6),
    "RegisterWorkflowType": (200, 60),
    "RequestCancelWorkflowExecution": (2000, 30),
    "RespondActivityTaskCanceled": (2000, 200),
    "RespondActivityTaskCompleted": (2000, 200),
    "RespondActivityTaskFailed": (2000, 200),
    "RespondDecisionTaskCompleted": (2000, 200),
    "SignalWorkflowExecution": (2000, 30),
    "StartWorkflowExecution": (2000, 200),
    "TagResource": (50, 30),
    "TerminateWorkflowExecution": (2000, 60),
    "UndeprecateActivityType": (200, 6),
    "UndeprecateDomain": (100, 6),
    "UndeprecateWorkflowType": (200, 6),
    "UntagResource": (50, 30),
}

#: SWF's documented default decision quotas, per account and region: decision type →
#: (bucket size, refill rate per second), from the same page ("Decision quotas for all
#: Regions"). A decision beyond them fails with its ``*_RATE_EXCEEDED`` cause.
SWF_DECISION_QUOTAS: Mapping[str, tuple[int, float]] = {
    "ScheduleActivityTask": (1000, 200),
    "StartTimer": (2000, 200),
    "StartChildWorkflowExecution": (500, 12),
}

#: The namespace of AWS's throttling fault (what Amazon SWF answers in ``__type``).
THROTTLING_NAMESPACE = "com.amazon.coral.availability"
#: The default per-call latency of ``greenflow server --emulate-aws``, in seconds.
DEFAULT_LATENCY = (0.020, 0.040)


class TokenBucket:
    """A token bucket: ``capacity`` tokens at most, ``refill`` tokens added per second.

    Starts full. :meth:`take` removes one token if there is one. ``clock`` gives seconds
    (monotonic); tests pass their own.
    """

    __slots__ = ("capacity", "refill", "_tokens", "_last", "_clock")

    def __init__(self, capacity: float, refill: float, clock: Callable[[], float] = time.monotonic):
        if capacity < 1 or refill <= 0:
            raise ValueError(f"a token bucket needs capacity >= 1 and refill > 0, not {capacity}, {refill}")
        self.capacity = float(capacity)
        self.refill = float(refill)
        self._clock = clock
        self._tokens = self.capacity
        self._last = clock()

    def take(self) -> bool:
        """Take one token; ``False`` (and nothing taken) when the bucket is empty."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.refill)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


def parse_latency(text: str) -> tuple[float, float]:
    """A latency option in milliseconds, ``"30"`` or ``"20-40"``, as seconds ``(low, high)``.

    Raises:
        ValueError: not one or two non-negative numbers, or low above high.
    """
    low_text, sep, high_text = text.partition("-")
    try:
        low = float(low_text)
        high = float(high_text) if sep else low
    except ValueError:
        raise ValueError(f"latency must be milliseconds, '30' or '20-40', not {text!r}") from None
    if not 0 <= low <= high:
        raise ValueError(f"latency must be 0 <= low <= high milliseconds, not {text!r}")
    return low / 1000.0, high / 1000.0


@dataclass
class AWSEmulation:
    """What the AWS-like mode adds to every call (see the module doc).

    Args:
        latency: ``(low, high)`` seconds of delay per call, drawn uniformly.
        fault_rate: the probability (0..1) that a call fails with a 5xx server error.
        throttle: whether SWF's throttling quotas apply.
        quota_scale: multiplies every bucket's size and refill rate (``0.01`` makes the
            quotas a hundred times tighter, to see throttling without 2,000 calls).
        quotas: API name → (bucket size, refill per second); SWF's defaults unless given.
        decision_quotas: decision type → (bucket size, refill per second); SWF's defaults
            unless given.
        seed: the seed of the generator of latencies and faults (``None``: random).
        sleep: how to wait (cooperative ``gevent.sleep`` in the service).
        clock: monotonic seconds for the token buckets.
    """

    latency: tuple[float, float] = DEFAULT_LATENCY
    fault_rate: float = 0.0
    throttle: bool = True
    quota_scale: float = 1.0
    quotas: Mapping[str, tuple[int, float]] = field(default_factory=lambda: dict(SWF_API_QUOTAS))
    decision_quotas: Mapping[str, tuple[int, float]] = field(default_factory=lambda: dict(SWF_DECISION_QUOTAS))
    seed: int | None = None
    sleep: Callable[[float], None] | None = field(default=None, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def __post_init__(self) -> None:
        low, high = self.latency
        if not 0 <= low <= high:
            raise ValueError(f"latency must be (low, high) seconds with 0 <= low <= high, not {self.latency!r}")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be from 0 to 1, not {self.fault_rate!r}")
        if not self.quota_scale > 0:
            raise ValueError(f"quota_scale must be positive, not {self.quota_scale!r}")
        self._random = random.Random(self.seed)
        self._buckets = self._make_buckets(self.quotas)
        self._decision_buckets = self._make_buckets(self.decision_quotas)
        # Counted per API: what a test or benchmark reads to see throttling and back-off.
        self.calls: collections.Counter[str] = collections.Counter()
        self.throttled: collections.Counter[str] = collections.Counter()
        self.failed: collections.Counter[str] = collections.Counter()
        self.decisions_throttled: collections.Counter[str] = collections.Counter()
        self._lock = _allocate_lock()

    def _make_buckets(self, quotas: Mapping[str, tuple[int, float]]) -> dict[str, TokenBucket]:
        return {name: TokenBucket(max(1.0, size * self.quota_scale), refill * self.quota_scale, self.clock)
                for name, (size, refill) in quotas.items()}

    def describe(self) -> str:
        """One line saying what this mode adds: ``"20-40 ms per call, SWF's quotas x1, 1% server errors"``."""
        low, high = (round(seconds * 1000, 3) for seconds in self.latency)
        latency = f"{low:g} ms" if low == high else f"{low:g}-{high:g} ms"
        quotas = f"SWF's throttling quotas x{self.quota_scale:g}" if self.throttle else "no throttling"
        return f"{latency} per call, {quotas}, {self.fault_rate * 100:g}% server errors"

    def delay(self) -> float:
        """The latency of one leg of a call (half a round trip), in seconds."""
        low, high = self.latency
        return (low if low == high else self._random.uniform(low, high)) / 2.0

    def wait(self) -> None:
        """Wait one leg's latency (cooperatively, with the ``sleep`` given)."""
        seconds = self.delay()
        if seconds > 0:
            (self.sleep or time.sleep)(seconds)

    def admit(self, operation: str) -> None:
        """Count a call and let it through, or raise the fault Amazon SWF might answer instead.

        Raises:
            Fault: ``ThrottlingException`` (400) when the API's bucket is empty;
                ``InternalFailure`` (500) or ``ServiceUnavailable`` (503) at ``fault_rate``.
        """
        with self._lock:
            self.calls[operation] += 1
        bucket = self._buckets.get(operation) if self.throttle else None
        if bucket is not None and not bucket.take():
            with self._lock:
                self.throttled[operation] += 1
            raise Fault("ThrottlingException", "Rate exceeded", namespace=THROTTLING_NAMESPACE)
        if self.fault_rate and self._random.random() < self.fault_rate:
            with self._lock:
                self.failed[operation] += 1
            if self._random.random() < 0.5:
                raise Fault("InternalFailure", "The request processing has failed because of an unknown error, "
                            "exception or failure (emulated)", namespace=COMMON_NAMESPACE, status=500)
            raise Fault("ServiceUnavailable", "The request has failed due to a temporary failure of the server "
                        "(emulated)", namespace=COMMON_NAMESPACE, status=503)

    def admit_decision(self, decision_type: str) -> bool:
        """Take a token for one decision of ``decision_type``; ``False`` (counted) past its quota."""
        bucket = self._decision_buckets.get(decision_type) if self.throttle else None
        if bucket is None or bucket.take():
            return True
        with self._lock:
            self.decisions_throttled[decision_type] += 1
        return False

    def counts(self) -> dict[str, dict[str, int]]:
        """A snapshot of the counters: ``{"calls": {...}, "throttled": {...}, "failed": {...},
        "decisions_throttled": {...}}``, each by API or decision type."""
        with self._lock:
            return {"calls": dict(self.calls), "throttled": dict(self.throttled), "failed": dict(self.failed),
                    "decisions_throttled": dict(self.decisions_throttled)}


__all__ = ["AWSEmulation", "TokenBucket", "SWF_API_QUOTAS", "SWF_DECISION_QUOTAS", "DEFAULT_LATENCY",
           "THROTTLING_NAMESPACE", "parse_latency"]
