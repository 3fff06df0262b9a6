"""The one decision on retrying an SWF call (greenflow.swf._retry), as the edge and the workers use it."""

from __future__ import annotations

import logging

from greenflow import errors
from greenflow.swf import NO_RETRY, CallRetryPolicy, is_retryable
from greenflow.worker._loop import OUTAGE_RETRY, OutageBackoff

OUTAGE = errors.ServiceUnavailableError("down", code="EndpointConnectionError", operation="PollForActivityTask")
THROTTLED = errors.ThrottlingError("slow down", code="ThrottlingException", operation="StartWorkflowExecution")
REFUSED = errors.UnknownResourceError("no such domain", code="UnknownResourceFault", operation="DescribeDomain")


def test_only_outages_and_throttling_are_retried():
    assert is_retryable(OUTAGE) and is_retryable(THROTTLED)
    assert not is_retryable(REFUSED) and not is_retryable(errors.SWFError("bad", code="X", operation="Y"))


def test_the_edge_policy_is_bounded_and_the_workers_policy_is_not():
    edge = CallRetryPolicy()
    assert edge.retries(OUTAGE, 5) and not edge.retries(OUTAGE, 6)
    assert not edge.retries(REFUSED, 1) and not NO_RETRY.retries(OUTAGE, 1)
    assert OUTAGE_RETRY.max_attempts is None
    assert OUTAGE_RETRY.retries(THROTTLED, 10_000) and not OUTAGE_RETRY.retries(REFUSED, 1)


def test_delays_grow_to_the_cap_with_jitter():
    policy = CallRetryPolicy(base=0.1, cap=10.0, random=lambda: 1.0)
    assert [policy.delay(n) for n in (1, 2, 3, 8, 9, 1000)] == [0.1, 0.2, 0.4, 10.0, 10.0, 10.0]
    assert CallRetryPolicy(base=1.0, cap=4.0, random=lambda: 0.5).delay(3) == 2.0


def test_an_outage_is_logged_when_it_starts_and_when_it_ends(caplog):
    backoff = OutageBackoff("test loop", CallRetryPolicy(max_attempts=None, base=0.1, cap=0.1, random=lambda: 1.0))
    with caplog.at_level(logging.DEBUG, logger="greenflow.worker"):
        assert [backoff.failed(OUTAGE) for _ in range(4)] == [0.1] * 4
        backoff.succeeded()
        backoff.succeeded()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "test loop: the SWF service is not answering (ServiceUnavailableError: down); retrying with backoff",
        "test loop: the SWF service answers again after 4 failed attempts",
    ]


def test_other_errors_are_logged_every_time(caplog):
    backoff = OutageBackoff("test loop")
    with caplog.at_level(logging.ERROR, logger="greenflow.worker"):
        backoff.failed(REFUSED)
        backoff.failed(RuntimeError("bug"))
    assert [r.levelno for r in caplog.records] == [logging.ERROR, logging.ERROR]
    assert caplog.records[1].exc_info is not None  # a bug comes with its traceback
