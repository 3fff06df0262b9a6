"""Call a part of the local service the way the HTTP layer does: validate, handle, encode.

The parts (Registry, Engine, Visibility) trust that their requests were validated against
the model (:mod:`greenflow.local.wire._validation`); tests that drive a part directly wrap it
so that bad input is refused exactly as a real request would be, and read each answer as
a client would: decoded from the JSON the HTTP layer sends (history events are kept
encoded in the service and spliced into that JSON).
"""

from __future__ import annotations

import json
from typing import Any

from greenflow.local._operations import Operations, method_name
from greenflow.local.wire._json import encode_answer
from greenflow.local.wire._validation import validate


def as_sent(answer: Any) -> Any:
    """An answer as the client reads it: decoded from the JSON the HTTP layer would send."""
    return answer if answer is None else json.loads(encode_answer(answer))


class Validated:
    """``part`` with each operation method validating its params first (other attributes pass through)."""

    def __init__(self, part: Any):
        object.__setattr__(self, "_part", part)
        object.__setattr__(self, "_operations", {method_name(op): op for op in part.OPERATIONS})

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._part, name, value)  # quotas and the like are the part's

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._part, name)
        operation = self._operations.get(name)
        if operation is None:
            return attribute
        return lambda params: as_sent(attribute(validate(operation, params)))


def handle(swf: Operations, operation: str, params: dict) -> dict:
    """``swf.handle`` after validating ``params``, its answer as sent (as the HTTP layer does)."""
    return as_sent(swf.handle(operation, validate(operation, params)))
