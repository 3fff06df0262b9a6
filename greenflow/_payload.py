"""The wire form of call arguments, shared by every sender and receiver.

Activity input, workflow input (start, child, continue-as-new) and signal input all use the
same shape so the activity worker, the client and the decider agree:
``converter.dumps({"args": [...], "kwargs": {...}})``. Results are ``converter.dumps(value)``.
An empty or missing input means no arguments.

It sits beside :mod:`greenflow.converter` (and imports only it) so that the workflow side,
the activity side and the client each use this one definition without importing the other.
"""

from __future__ import annotations

from typing import Any

from greenflow.converter import check_size


def encode_args(converter, args: tuple | list, kwargs: dict | None, what: str) -> str:
    """Convert call arguments to their wire form, checking SWF's 32,768-character limit.

    ``what`` names the payload in the error (``"input of activity Orders.ship"``).
    """
    payload: dict[str, Any] = {"args": list(args)}
    if kwargs:
        payload["kwargs"] = dict(kwargs)
    return check_size(converter.dumps(payload), what)


def decode_args(converter, text: str | None) -> tuple[tuple, dict]:
    """Rebuild ``(args, kwargs)`` from :func:`encode_args` output (``None``/"" → no arguments)."""
    if not text:
        return (), {}
    payload = converter.loads(text)
    if isinstance(payload, dict) and "args" in payload:
        return tuple(payload.get("args") or ()), dict(payload.get("kwargs") or {})
    # Input written by another SWF client: pass it as the single argument.
    return (payload,), {}


def encode_value(converter, value: Any, what: str) -> str:
    """Convert a result or details value, checking the size limit."""
    return check_size(converter.dumps(value), what)
