"""Turning botocore's errors into greenflow's, and deciding what to retry.

botocore's own retries are switched off (see :mod:`._connect`): we retry here, in one
place, so that every retry is logged and bounded, and long polls are never retried in a
tight loop (every retry waits an exponentially growing, jittered delay).
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from typing import Callable

from botocore.exceptions import ClientError, ConnectionError as BotoConnectionError, HTTPClientError
from botocore.exceptions import BotoCoreError, NoCredentialsError, ParamValidationError

from ..errors import SWF_FAULTS, ServiceUnavailableError, SWFError, ThrottlingError, ValidationError

log = logging.getLogger("greenflow.swf")

#: Errors that mean "the service could not be reached / did not answer"; never a fault.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (BotoConnectionError, HTTPClientError)


def map_client_error(error: ClientError, operation: str) -> SWFError:
    """The greenflow exception for a ``ClientError`` (raise it ``from error``).

    The fault code picks the class via :data:`greenflow.errors.SWF_FAULTS`; unknown codes
    become :class:`SWFError`, or :class:`ServiceUnavailableError` for HTTP 5xx answers.
    """
    info = error.response.get("Error", {}) or {}
    code = str(info.get("Code") or "")
    message = str(info.get("Message") or error)
    status = (error.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0
    cls = SWF_FAULTS.get(code)
    if cls is None:
        cls = ServiceUnavailableError if status >= 500 else SWFError
    return cls(f"{operation}: {message}" if message else operation, code=code, operation=operation)


def map_connection_error(error: BaseException, operation: str) -> ServiceUnavailableError:
    """The greenflow exception for a failure to reach the service."""
    return ServiceUnavailableError(f"{operation}: {error}", code=type(error).__name__, operation=operation)


def is_retryable(error: SWFError) -> bool:
    """Whether a mapped error is worth retrying: throttling, 5xx and connection failures."""
    return isinstance(error, (ThrottlingError, ServiceUnavailableError))


@dataclass
class RetryPolicy:
    """Bounded exponential backoff with full jitter for throttling and service outages.

    Attempt ``n`` (1-based) that fails waits a random time in ``[0, min(cap, base * 2**(n-1))]``
    before attempt ``n + 1``; after ``max_attempts`` attempts the error is raised.

    Args:
        max_attempts: total attempts per call (1 = never retry).
        base: the first delay bound, in seconds.
        cap: the largest delay bound, in seconds.
        sleep: how to wait (``time.sleep``, cooperative under gevent's monkey-patching;
            tests pass a recorder).
    """

    max_attempts: int = 6
    base: float = 0.1
    cap: float = 5.0
    # Looked up at call time: gevent may monkey-patch ``time.sleep`` after this import.
    sleep: Callable[[float], None] = field(default=lambda seconds: time.sleep(seconds), repr=False)
    random: Callable[[], float] = field(default=random.random, repr=False)

    def delay(self, attempt: int) -> float:
        """The wait after failed attempt ``attempt`` (1-based), in seconds."""
        return self.random() * min(self.cap, self.base * (2 ** (attempt - 1)))


#: A policy that never retries.
NO_RETRY = RetryPolicy(max_attempts=1)


def call_with_retry(policy: RetryPolicy, operation: str, send: Callable[[], dict]) -> dict:
    """Run ``send()``, mapping botocore errors and retrying the retryable ones per ``policy``."""
    attempt = 1
    while True:
        try:
            try:
                return send()
            except ClientError as error:
                raise map_client_error(error, operation) from error
            except CONNECTION_ERRORS as error:
                raise map_connection_error(error, operation) from error
            except ParamValidationError as error:
                # botocore checked the request against SWF's model before sending it.
                raise ValidationError(f"{operation}: {error}", code="ParamValidationError",
                                      operation=operation) from error
            except NoCredentialsError as error:
                raise SWFError(f"{operation}: no AWS credentials found for Amazon SWF; configure them (environment, "
                               "~/.aws/credentials, an instance role) or set GREENFLOW_ENDPOINT to use a local "
                               "service", code="NoCredentials", operation=operation) from error
            except BotoCoreError as error:  # any other client-side failure: not worth retrying
                raise SWFError(f"{operation}: {error}", code=type(error).__name__, operation=operation) from error
        except SWFError as mapped:
            if not is_retryable(mapped) or attempt >= policy.max_attempts:
                raise
            delay = policy.delay(attempt)
            log.warning("SWF %s failed (%s, attempt %d of %d); retrying in %.2f s",
                        operation, mapped.code or type(mapped).__name__, attempt, policy.max_attempts, delay)
            policy.sleep(delay)
            attempt += 1
