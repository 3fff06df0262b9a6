"""Workflows and activities of the determinism tests (``tests/e2e/test_determinism.py``).

The workflow code here never imports :mod:`tests.e2e.lazy_errors`: only the ``charge``
activity does, when it runs. So whether that module is loaded in a process depends on
what else the process did, which is exactly what decisions must not depend on.
"""

from __future__ import annotations

import dataclasses
import importlib
import time

from greenflow.activity import activities, activity
from greenflow.errors import ActivityTaskFailedError
from greenflow.workflow import (RetryPolicy, WorkflowDefinition, allow_unsafe_calls, execute, info, logger, query,
                                retry, side_effect, signal, sleep, wait_until)

TIMEOUTS = dict(schedule_to_start_timeout=300, start_to_close_timeout=300)


@dataclasses.dataclass(frozen=True)
class Quote:
    """An activity's dataclass result (never registered by hand)."""

    amount: int
    currency: str


@activities(**TIMEOUTS)
class Quotes:
    """Returns a dataclass."""

    @activity(version="1.0")
    def quote(self, amount: int) -> Quote:
        return Quote(amount, "EUR")


@activities(**TIMEOUTS)
class Payments:
    """Fails with an exception class from a module only this activity imports."""

    @activity(version="1.0")
    def charge(self, amount: int) -> None:
        raise importlib.import_module("tests.e2e.lazy_errors").PaymentDeclined(f"card refused for {amount}")


class QuoteWorkflow(WorkflowDefinition):
    """Returns the quote's currency: needs the dataclass decoded in workflow code."""

    @execute(version="1.0", execution_start_to_close_timeout=300)
    def run(self, amount: int) -> str:
        quote = Quotes.quote(amount)
        return f"{type(quote).__name__} {quote.amount} {quote.currency}"


class PayWorkflow(WorkflowDefinition):
    """Retries a charge unless it was declined (named, not imported)."""

    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self, amount: int) -> str:
        policy = RetryPolicy(max_attempts=3, initial_interval=10, non_retryable=("PaymentDeclined",))
        try:
            retry(policy, Payments.charge, amount)
        except ActivityTaskFailedError as error:
            return f"gave up: {type(error.cause).__name__} {error.reason}"
        return "charged"


#: What ``notify`` and ``charge`` did in this process (side effects that must never repeat).
NOTIFIED: list[str] = []
CHARGED: list[str] = []


def notify() -> str:
    """A side effect with a visible trace."""
    NOTIFIED.append("notified")
    return "notified"


def charge() -> str:
    """A side effect that costs money."""
    CHARGED.append("charged")
    return "charged"


class Notifier(WorkflowDefinition):
    """Notifies in a ``finally:``, charges in a signal handler, and has queries."""

    def __init__(self):
        self.pokes = 0

    @execute(version="1.0", execution_start_to_close_timeout=7200)
    def run(self) -> None:
        try:
            sleep(3600)
        finally:
            logger.info("finally of %s", info().workflow_id)
            side_effect(notify)

    @signal()
    def poke(self) -> None:
        self.pokes += 1
        side_effect(charge)

    @query()
    def pokes_seen(self) -> int:
        return self.pokes

    @query()
    def charge_now(self) -> str:
        return side_effect(charge)


#: How long ``Spinner``'s predicate loops once poked (real seconds) unless stopped.
SPIN_SECONDS = 4.0


class Spinner(WorkflowDefinition):
    """Waits on a predicate that turns into a CPU loop once poked."""

    def __init__(self):
        self.poked = False

    @execute(version="1.0", execution_start_to_close_timeout=3600)
    def run(self) -> str:
        wait_until(self.ready)
        return "ready"

    def ready(self) -> bool:
        with allow_unsafe_calls():  # the real clock bounds the loop on purpose
            until = time.monotonic() + (SPIN_SECONDS if self.poked else 0)
            while time.monotonic() < until:  # SPIN-LOOP
                pass
        return self.poked

    @signal()
    def poke(self) -> None:
        self.poked = True
