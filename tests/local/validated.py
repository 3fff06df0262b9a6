"""Call a part of the local service the way the HTTP layer does: validate, then handle.

The parts (Registry, Engine, Visibility) trust that their requests were validated against
the model (:mod:`greenflow.local.wire._validation`); tests that drive a part directly wrap it
so that bad input is refused exactly as a real request would be.
"""

from __future__ import annotations

from typing import Any

from greenflow.local._operations import Operations, method_name
from greenflow.local.wire._validation import validate


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
        return lambda params: attribute(validate(operation, params))


def handle(swf: Operations, operation: str, params: dict) -> dict:
    """``swf.handle`` after validating ``params`` (as the HTTP layer does)."""
    return swf.handle(operation, validate(operation, params))
