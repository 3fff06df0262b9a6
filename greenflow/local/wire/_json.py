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
A decision task handed over inside another answer (greenflow's eager tasks) keeps its
events spliced too.
"""

from __future__ import annotations

import json
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any, Callable, Iterable

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


class EncodedList:
    """A JSON array whose items are already JSON texts (one per item, each a whole value).

    A member of an answer, or of a dict nested in one (a decision task handed over inside
    another answer): :func:`encode_answer` writes the texts as they are; :func:`decoded`
    turns an answer holding one back into plain values. Deliberately not a ``list``: one
    anywhere else (inside a list) makes the encoder fail loudly instead of writing its
    texts as strings.
    """

    __slots__ = ("texts",)

    def __init__(self, texts: Iterable[str] = ()):
        self.texts: list[str] = list(texts)

    def __len__(self) -> int:
        return len(self.texts)


def encode_answer(answer: dict[str, Any]) -> str:
    """The JSON of an answer, each :class:`EncodedList` in it (as a member of the answer or
    of a dict nested in it) spliced in as its texts. Raises ``TypeError``/``ValueError`` as
    :func:`dumps`."""
    return _spliced(answer) if _holds_encoded(answer) else dumps(answer)


def _holds_encoded(value: dict[str, Any]) -> bool:
    # Dicts only: lists (of executions, of activity tasks) can be long and never hold one.
    for member in value.values():
        kind = type(member)
        if kind is EncodedList or (kind is dict and _holds_encoded(member)):
            return True
    return False


def _spliced(value: dict[str, Any]) -> str:
    parts = []
    for key, member in value.items():
        kind = type(member)
        if kind is EncodedList:
            text = "[" + ",".join(member.texts) + "]"
        elif kind is dict and _holds_encoded(member):
            text = _spliced(member)
        else:
            text = dumps(member)
        parts.append(encode_basestring_ascii(key) + ":" + text)
    return "{" + ",".join(parts) + "}"


def decoded(answer: dict[str, Any]) -> dict[str, Any]:
    """``answer`` as a client reads it: each :class:`EncodedList` in it decoded to plain values
    (for callers of the service's core that do not go through HTTP: tests, tools)."""
    if not _holds_encoded(answer):
        return answer
    return {key: [json.loads(item) for item in member.texts] if type(member) is EncodedList
            else decoded(member) if type(member) is dict else member
            for key, member in answer.items()}


__all__ = ["EncodedList", "decoded", "dumps", "encode_answer"]
