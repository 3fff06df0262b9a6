"""Turning botocore's errors into greenflow's, and retrying a call per its policy.

What is retried and how long is decided in :mod:`._retry`; every retry is logged, and long
polls are never retried in a tight loop (every retry waits a growing, jittered delay).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from botocore.exceptions import ClientError, ConnectionError as BotoConnectionError, HTTPClientError
from botocore.exceptions import BotoCoreError, NoCredentialsError, ParamValidationError

from ..errors import SWF_FAULTS, ServiceUnavailableError, SWFError, ValidationError
from ._retry import CallRetryPolicy

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


def call_with_retry(policy: CallRetryPolicy, operation: str, send: Callable[[], dict]) -> dict:
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
            if not policy.retries(mapped, attempt):
                raise
            delay = policy.delay(attempt)
            log.warning("SWF %s failed (%s, attempt %d of %s); retrying in %.2f s",
                        operation, mapped.code or type(mapped).__name__, attempt, policy.max_attempts or "unbounded",
                        delay)
            policy.sleep(delay)
            attempt += 1
