"""Compact JSON encoding for the service's hot paths (answers, events, execution state).

Every request encodes several JSON values: its answer, each history event it records and
the run's private state. ``json.JSONEncoder.encode`` rebuilds the C encoder (and a Python
closure) on every call, which costs more than encoding a small value; here the C encoder
is built once and called directly. The output is the same as
``json.JSONEncoder(separators=(",", ":")).encode`` (ASCII only, ``NaN`` allowed, no
circular-reference check: the service only encodes trees it built itself).

History events are encoded once, when they are recorded (their JSON is also their
database row), and kept as text: an answer that carries them (a decision task, a history
page) holds them as an :class:`EncodedList`, which :func:`encode_answer` splices into the
answer's JSON instead of encoding ~60 events again for every decision task of a run.
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


class EncodedList(list[str]):
    """A JSON array whose items are already JSON texts (one per item, each a whole value).

    Only as a top-level member of an answer: :func:`encode_answer` writes the texts as
    they are; :func:`decoded` turns an answer holding one back into plain values.
    """

    __slots__ = ()


def encode_answer(answer: dict[str, Any]) -> str:
    """The JSON of an answer, with each top-level :class:`EncodedList` member spliced in
    (its items written as they are). Raises ``TypeError``/``ValueError`` as :func:`dumps`.
    """
    encoded = [key for key, value in answer.items() if type(value) is EncodedList]
    if not encoded:
        return dumps(answer)
    rest = dumps({key: value for key, value in answer.items() if type(value) is not EncodedList})
    parts = [rest[:-1]]
    separator = "," if len(rest) > 2 else ""
    for key in encoded:
        parts.append(f"{separator}{dumps(key)}:[{','.join(answer[key])}]")
        separator = ","
    parts.append("}")
    return "".join(parts)


def decoded(answer: dict[str, Any]) -> dict[str, Any]:
    """``answer`` as a client reads it: each :class:`EncodedList` member decoded to plain values
    (for callers of the service's core that do not go through HTTP: tests, tools)."""
    if not any(type(value) is EncodedList for value in answer.values()):
        return answer
    return {key: [json.loads(item) for item in value] if type(value) is EncodedList else value
            for key, value in answer.items()}


__all__ = ["EncodedList", "decoded", "dumps", "encode_answer"]
