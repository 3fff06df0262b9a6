"""Compact JSON encoding for the service's hot paths (answers, events, execution state).

Every request encodes several JSON values: its answer, each history event it records and
the run's private state. ``json.JSONEncoder.encode`` rebuilds the C encoder (and a Python
closure) on every call, which costs more than encoding a small value; here the C encoder
is built once and called directly. The output is the same as
``json.JSONEncoder(separators=(",", ":")).encode`` (ASCII only, ``NaN`` allowed, no
circular-reference check: the service only encodes trees it built itself).
"""

from __future__ import annotations

import json
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any, Callable

_python_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


def _build() -> Callable[[Any], str]:
    if c_make_encoder is None:  # a Python without the _json accelerator
        return _python_encode
    encoder = c_make_encoder(None, _python_default, encode_basestring_ascii, None, ":", ",", False, False, True)

    def dumps(value: Any) -> str:
        # The C encoder answers a list of string chunks (one, in practice).
        return "".join(encoder(value, 0))

    return dumps


def _python_default(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


#: ``dumps(value) -> str``: compact JSON of ``value``; ``TypeError``/``ValueError`` as ``json.dumps``.
dumps = _build()

__all__ = ["dumps"]
