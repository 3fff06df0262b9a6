"""Payloads and failures made readable, through the project's converter, safely.

Everything shown comes from SWF history written by any client, so decoding must never run
code named by the data: :class:`~greenflow.converter.JSONConverter` never imports a class
a payload names (only already-loaded ``Exception`` subclasses and registered types are
rebuilt), and anything that does not decode is shown as the raw text it is.
"""

from __future__ import annotations

import dataclasses
import pprint
import reprlib
from typing import Any

from greenflow._payload import decode_args
from greenflow.converter import DEFAULT_CONVERTER, DataConverter, RemoteException, exception_from_failure

__all__ = ["Decoded", "decode_value", "decode_input", "decode_failure", "short"]

#: Longest text shown for one decoded payload on a page (the raw JSON has everything).
MAX_SHOWN = 20_000
_short_repr = reprlib.Repr()
_short_repr.maxstring = 60
_short_repr.maxother = 60
_short_repr.maxlist = _short_repr.maxtuple = _short_repr.maxdict = 6


@dataclasses.dataclass(frozen=True)
class Decoded:
    """A payload ready to show.

    Attributes:
        text: the value, pretty-printed (or the raw text when it did not decode).
        summary: one short line for tables and timelines.
        decoded: False when the converter could not read it (``text`` is then raw).
        note: why it is shown raw, if it is.
    """

    text: str
    summary: str
    decoded: bool = True
    note: str = ""


def _clip(text: str) -> str:
    if len(text) <= MAX_SHOWN:
        return text
    return text[:MAX_SHOWN] + f"\n… ({len(text) - MAX_SHOWN} more characters in the raw JSON)"


def short(value: Any) -> str:
    """A one-line, bounded repr of a decoded value."""
    try:
        return _short_repr.repr(value)
    except Exception as error:  # a registered type's __repr__ may fail: never break a page
        return f"<unprintable {type(value).__name__}: {error}>"


def _pretty(value: Any) -> str:
    try:
        return _clip(pprint.pformat(value, width=100, sort_dicts=False))
    except Exception as error:
        return f"<unprintable {type(value).__name__}: {error}>"


def _raw(text: str, error: BaseException) -> Decoded:
    return Decoded(_clip(text), short(text), decoded=False,
                   note=f"shown as stored: the converter could not read it ({type(error).__name__}: {error})")


def decode_value(text: str | None, converter: DataConverter | None = None) -> Decoded | None:
    """A result or details payload (``converter.dumps(value)``); ``None`` when there is none."""
    if not text:
        return None
    try:
        value = (converter or DEFAULT_CONVERTER).loads(text)
    except Exception as error:  # any converter's failure: show the text instead
        return _raw(text, error)
    return Decoded(_pretty(value), short(value))


def decode_input(text: str | None, converter: DataConverter | None = None) -> Decoded | None:
    """Call arguments (workflow, activity or signal input) as ``f(arg, ..., key=value)`` parts."""
    if not text:
        return None
    try:
        args, kwargs = decode_args(converter or DEFAULT_CONVERTER, text)
    except Exception as error:
        return _raw(text, error)
    parts = [short(arg) for arg in args] + [f"{key}={short(value)}" for key, value in kwargs.items()]
    pretty_parts = [_pretty(arg) for arg in args] + [f"{key}={_pretty(value)}" for key, value in kwargs.items()]
    return Decoded(_clip("\n".join(pretty_parts)) or "(no arguments)", "(" + ", ".join(parts) + ")")


def decode_failure(reason: str | None, details: str | None,
                   converter: DataConverter | None = None) -> Decoded:
    """A failure ``(reason, details)`` as its exception line and, when known, the remote traceback."""
    error = exception_from_failure(reason, details, converter or DEFAULT_CONVERTER)
    line = str(error) if isinstance(error, RemoteException) else f"{type(error).__name__}: {error}"
    trace = getattr(error, "remote_traceback", None) or (error.traceback if isinstance(error, RemoteException) else "")
    text = line + ("\n\n" + trace if isinstance(trace, str) and trace else "")
    return Decoded(_clip(text), line if len(line) <= 120 else line[:119] + "…")
