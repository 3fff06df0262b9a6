"""Workflows and activities of the determinism tests (``tests/e2e/test_determinism.py``).

The workflow code here never imports :mod:`tests.e2e.lazy_errors`: only the ``charge``
activity does, when it runs. So whether that module is loaded in a process depends on
what else the process did, which is exactly what decisions must not depend on.
"""

from __future__ import annotations

import dataclasses
import importlib

from greenflow.activity import activities, activity
from greenflow.errors import ActivityTaskFailedError
from greenflow.workflow import RetryPolicy, WorkflowDefinition, execute, retry

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
