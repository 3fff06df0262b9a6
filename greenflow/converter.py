"""Data conversion: how inputs, results, details and exceptions cross the wire.

SWF carries every payload as a string of at most 32,768 characters. A :class:`DataConverter`
turns Python values into such strings (:meth:`~DataConverter.dumps`) and back
(:meth:`~DataConverter.loads`).

:class:`JSONConverter` is the default. Plain JSON values stay plain JSON (``dumps("x")`` is
``'"x"'``, ``dumps([1, 2])`` is ``'[1,2]'``), so other SWF clients and the console can read
them. Values JSON cannot express are written as small tagged objects
(``{"__gf__": "tuple", "items": [...]}``) and come back as the same type: tuples, bytes,
sets and frozensets, datetimes, dates, times, timedeltas, ``Decimal``, ``UUID``, non-finite
floats, dicts with non-string keys, dataclasses, enums and exceptions.

**What a payload may make us build.** Data never chooses code to run. While reading a
payload the JSON converter never imports a module, and it only instantiates a class named
in the payload when that class is

* a dataclass or enum the application **registered** on this converter
  (:meth:`JSONConverter.register`, the ``types=`` argument, or :func:`register` for the
  default converter). A payload naming any other class raises
  :class:`~greenflow.errors.DataConversionError` saying which class to register; or
* an ``Exception`` subclass allowed by one of two rules:

  - **in workflow code** (the workflow runtime decodes history inside
    :func:`known_exceptions`): one of the exception classes the workflow's *own modules*
    import: those in the namespaces of the modules that define the workflow class and its
    bases, of the modules they import, and of the modules of the classes and functions they
    import, plus Python's built-in exceptions and greenflow's errors, with their bases. So
    the same history rebuilds the same failures in every process, whatever else it has
    imported;
  - **everywhere else** (the client, activity workers, the console): an ``Exception``
    subclass found in a module this process has *already imported*.

A failure that may not be rebuilt, or cannot be, comes back as a :class:`RemoteException`
carrying the remote type name, message and traceback. Every converted exception also
records its class hierarchy by name (``"mro"``: ``module:qualname`` of its class and of each
exception class it derives from, most derived first); a ``RemoteException`` keeps it as
``type_names`` (a rebuilt exception as ``remote_type_names``), so a ``RetryPolicy`` matches
failures by class exactly even when the class was not rebuilt.

:class:`PickleConverter` converts anything picklable, faithfully, and is only for payloads
you trust completely: unpickling runs code chosen by the payload.

The codecs live in private modules: ``_tagged`` (the plain types' tagged objects) and
``_exception_codec`` (exceptions: their tagged object, the rebuilding rules above,
:class:`RemoteException`).
"""

from __future__ import annotations

import base64
import dataclasses
import decimal
import enum
import json
import math
import pickle
import typing
from typing import Any, Callable, Iterable

from ._exception_codec import (
    RemoteException,
    decode_exception,
    encode_exception,
    exception_type_names,
    format_traceback,
    known_exceptions,
    reason_of,
    type_name,
)
from ._tagged import DECODERS, NOT_TAGGED, TAG, encode_tagged
from .errors import DataConversionError, PayloadTooLargeError


__all__ = [
    "DataConverter",
    "JSONConverter",
    "PickleConverter",
    "DEFAULT_CONVERTER",
    "RemoteException",
    "register",
    "register_signature",
    "register_pending",
    "known_exceptions",
    "exception_type_names",
    "failure_from_exception",
    "exception_from_failure",
    "check_size",
    "MAX_PAYLOAD",
    "MAX_REASON",
]

#: SWF's limit for input, result, details and other ``Data`` fields, in characters.
MAX_PAYLOAD = 32768
#: SWF's limit for a failure ``reason``, in characters.
MAX_REASON = 256
#: The deepest a JSON payload may nest (lists and objects) for :meth:`JSONConverter.loads`:
#: a fixed limit, so whether a payload decodes never depends on the caller's stack.
MAX_NESTING = 200


class DataConverter:
    """Base class of converters: ``dumps(value) -> str`` and ``loads(text) -> value``.

    Subclass it to plug in another format; pass the instance as ``converter=`` to
    ``@activities``/``@activity``, a workflow, a worker or the client.
    """

    def dumps(self, value: Any) -> str:
        """Convert ``value`` to its wire form; raises :class:`DataConversionError` if it can't."""
        raise NotImplementedError

    def loads(self, text: str | None) -> Any:
        """Convert a wire string back to a value; ``None`` or ``""`` (SWF's "no data") give ``None``."""
        raise NotImplementedError


# --------------------------------------------------------------------------- JSON


def _is_valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _nesting(data: Any) -> int:
    """How many levels of lists and objects ``data`` nests (iteratively: any depth is fine)."""
    deepest = 0
    stack = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


class JSONConverter(DataConverter):
    """The default converter: JSON, with tagged objects for what JSON lacks (see the module doc).

    Args:
        types: dataclasses and enums that payloads may name (same as :meth:`register`).
    """

    def __init__(self, types: Iterable[type] = ()):
        self._types: dict[str, type] = {}
        for cls in types:
            self.register(cls)

    # ----------------------------------------------------------------- registration

    def register(self, cls: type) -> type:
        """Allow payloads to rebuild dataclass or enum ``cls``; returns ``cls`` (usable as a decorator)."""
        if not isinstance(cls, type) or not (dataclasses.is_dataclass(cls) or issubclass(cls, enum.Enum)):
            raise DataConversionError(f"only dataclasses and enums can be registered, not {cls!r}")
        self._types[type_name(cls)] = cls
        return cls

    def register_annotations(self, func: Callable) -> bool:
        """Register every dataclass and enum named in ``func``'s type hints (``list[Order]`` too).

        Returns False when the hints cannot be resolved yet (a forward reference to a class
        defined later in its module): call again once the module is fully imported.
        """
        try:
            hints = typing.get_type_hints(func)
        except Exception:  # unresolved forward references: nothing we can safely register
            return False
        for hint in hints.values():
            for cls in _walk_hint(hint):
                if dataclasses.is_dataclass(cls) or issubclass(cls, enum.Enum):
                    self.register(cls)
        return True

    @property
    def registered_types(self) -> tuple[type, ...]:
        """The dataclasses and enums this converter may rebuild."""
        return tuple(self._types.values())

    # ----------------------------------------------------------------- public API

    def dumps(self, value: Any) -> str:
        """Convert ``value`` to compact JSON; raises :class:`DataConversionError` for unsupported types.

        Strings holding a lone UTF-16 surrogate (``"\\ud800"``) come out as JSON escapes, so
        the text stays valid Unicode, which SWF requires of every payload.
        """
        try:
            data = self.encode(value)
            text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            if not text.isascii() and not _is_valid_unicode(text):
                text = json.dumps(data, separators=(",", ":"), allow_nan=False)
            return text
        except DataConversionError:
            raise
        except (TypeError, ValueError, RecursionError) as error:
            raise DataConversionError(f"cannot convert {type(value).__name__} value to JSON: {error}") from error

    def loads(self, text: str | None) -> Any:
        """Convert JSON text back; ``None``/``""`` give ``None``.

        Bad JSON or tags raise :class:`DataConversionError`.
        """
        if text is None or text == "":
            return None
        if not isinstance(text, str):
            raise DataConversionError(f"expected a JSON string, got {type(text).__name__}")
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as error:
            raise DataConversionError(f"payload is not valid JSON: {error}") from error
        # Counting brackets is cheap and bounds the depth: only a payload with many is measured.
        if text.count("[") + text.count("{") > MAX_NESTING and _nesting(data) > MAX_NESTING:
            raise DataConversionError(f"payload nests deeper than {MAX_NESTING} levels")
        return self.decode(data)

    # ----------------------------------------------------------------- encoding

    def encode(self, value: Any) -> Any:
        """Turn ``value`` into plain JSON data (tagged objects where needed)."""
        cls = type(value)
        if cls is str or cls is int or cls is bool or value is None:
            return value
        if cls is float:
            return value if math.isfinite(value) else {TAG: "float", "value": repr(value)}
        if cls is list:
            return [self.encode(item) for item in value]
        if cls is dict:
            if TAG not in value and all(type(key) is str for key in value):
                return {key: self.encode(item) for key, item in value.items()}
            return {TAG: "dict", "items": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        if isinstance(value, enum.Enum):
            return {TAG: "enum", "type": type_name(cls), "value": self.encode(value.value)}
        if isinstance(value, BaseException):
            return self._encode_exception(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name: self.encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
            return {TAG: "dataclass", "type": type_name(cls), "fields": fields}
        tagged = encode_tagged(value, self.encode)
        if tagged is not NOT_TAGGED:
            return tagged
        # Subclasses of plain types travel as the plain type.
        for plain in (str, int, float, list, dict):
            if isinstance(value, plain):
                return self.encode(plain(value))  # type: ignore[arg-type]
        raise DataConversionError(
            f"cannot convert a {cls.__module__}.{cls.__qualname__} to JSON; use plain data, a dataclass, "
            "or a PickleConverter")

    def _encode_exception(self, exc: BaseException) -> dict:
        return encode_exception(exc, self.encode)

    # ----------------------------------------------------------------- decoding

    def decode(self, data: Any) -> Any:
        """Turn plain JSON data (as made by :meth:`encode`) back into values."""
        if isinstance(data, list):
            return [self.decode(item) for item in data]
        if isinstance(data, dict):
            if TAG not in data:
                return {key: self.decode(item) for key, item in data.items()}
            decoder = _DECODERS.get(data[TAG]) if isinstance(data[TAG], str) else None
            if decoder is None:
                raise DataConversionError(f"unknown tag {data[TAG]!r} in payload")
            try:
                return decoder(self, data)
            except DataConversionError:
                raise
            except (KeyError, TypeError, ValueError, OverflowError, decimal.InvalidOperation) as error:
                raise DataConversionError(f"malformed {data[TAG]!r} object in payload: {error!r}") from error
        return data

    def _registered(self, data: dict, kind: str) -> type:
        name = data["type"]
        cls = self._types.get(name) if isinstance(name, str) else None
        if cls is None:
            raise DataConversionError(
                f"payload names {kind} {name!r}, which is not registered on this converter; register "
                f"it (greenflow.converter.register(cls) or JSONConverter(types=[cls])) to allow it")
        return cls

    def _decode_dataclass(self, data: dict) -> Any:
        cls = self._registered(data, "dataclass")
        fields = data["fields"]
        if not isinstance(fields, dict):
            raise DataConversionError(f"malformed dataclass object for {data['type']!r}")
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(fields) - set(known)
        if unknown:
            raise DataConversionError(f"payload gives unknown fields {sorted(unknown)} for dataclass {data['type']!r}")
        values = {name: self.decode(value) for name, value in fields.items()}
        obj = cls(**{name: v for name, v in values.items() if known[name].init})
        for name, value in values.items():
            if not known[name].init:
                object.__setattr__(obj, name, value)  # works for frozen dataclasses too
        return obj

    def _decode_enum(self, data: dict) -> Any:
        cls = self._registered(data, "enum")
        return cls(self.decode(data["value"]))

    def _decode_exception(self, data: dict) -> BaseException:
        return decode_exception(data, self.decode)


def _walk_hint(hint: Any) -> Iterable[type]:
    if isinstance(hint, type):
        yield hint
    for arg in typing.get_args(hint):
        yield from _walk_hint(arg)


#: Every tag's decoder; the ones naming a class check this converter's registrations.
_DECODERS: dict[str, Callable[[Any, dict], Any]] = {
    **DECODERS,
    "dataclass": JSONConverter._decode_dataclass,
    "enum": JSONConverter._decode_enum,
    "exception": JSONConverter._decode_exception,
}


# --------------------------------------------------------------------------- pickle


class PickleConverter(DataConverter):
    """Pickle, base64-encoded: converts anything picklable, faithfully.

    **Only for payloads you trust completely**: unpickling runs code the payload chooses.
    Exceptions keep their remote traceback as ``remote_traceback``. Payloads are not
    readable by other SWF clients.
    """

    def __init__(self, protocol: int = pickle.HIGHEST_PROTOCOL):
        self.protocol = protocol

    def dumps(self, value: Any) -> str:
        """Pickle ``value``; raises :class:`DataConversionError` if it can't be pickled."""
        if isinstance(value, BaseException):
            value = _PickledException(value, format_traceback(value))
        try:
            data = pickle.dumps(value, protocol=self.protocol)
        except Exception as error:
            raise DataConversionError(f"cannot pickle {type(value).__name__}: {error}") from error
        return base64.b64encode(data).decode("ascii")

    def loads(self, text: str | None) -> Any:
        """Unpickle ``text``; ``None``/``""`` give ``None``."""
        if text is None or text == "":
            return None
        try:
            value = pickle.loads(base64.b64decode(text, validate=True))
        except Exception as error:
            raise DataConversionError(f"cannot unpickle payload: {error}") from error
        if isinstance(value, _PickledException):
            exc = value.exception
            try:
                setattr(exc, "remote_traceback", value.traceback)  # noqa: B010 - see above
            except (AttributeError, TypeError):
                pass
            return exc
        return value


@dataclasses.dataclass
class _PickledException:
    exception: BaseException
    traceback: str


#: The converter used when none is given.
DEFAULT_CONVERTER: JSONConverter = JSONConverter()

_SIGNATURES_PENDING: dict[Callable, Any] = {}
_SIGNATURES_DONE: set[tuple[Callable, Any]] = set()  # strong refs: a converter id is never reused


def register_signature(func: Callable, converter: Any = None) -> None:
    """Register the dataclasses and enums of ``func``'s signature on ``converter`` (default: the default one).

    Called where an activity or workflow method is *defined* (``@activities``, workflow
    classes), so that what a payload decodes to depends on the code, never on which
    workers this process happens to have built. Hints that cannot be resolved yet (a class
    defined further down the module) are kept and retried by :func:`register_pending`,
    which the workflow runtime calls before it decodes anything. Other converters register
    nothing (they need no allow-list).
    """
    target = DEFAULT_CONVERTER if converter is None else converter
    if not isinstance(target, JSONConverter) or (func, target) in _SIGNATURES_DONE:
        return
    if target.register_annotations(func):
        _SIGNATURES_DONE.add((func, target))
    else:
        _SIGNATURES_PENDING[func] = target


def register_pending() -> None:
    """Retry the signatures :func:`register_signature` could not resolve at definition time."""
    for func, target in list(_SIGNATURES_PENDING.items()):
        if target.register_annotations(func):
            del _SIGNATURES_PENDING[func]


def register(cls: type) -> type:
    """Allow the default converter to rebuild dataclass or enum ``cls`` (usable as a decorator)."""
    return DEFAULT_CONVERTER.register(cls)


# --------------------------------------------------------------------------- failures


@typing.overload
def check_size(text: str, what: str, limit: int = MAX_PAYLOAD) -> str: ...
@typing.overload
def check_size(text: None, what: str, limit: int = MAX_PAYLOAD) -> None: ...
def check_size(text: str | None, what: str, limit: int = MAX_PAYLOAD) -> str | None:
    """Return ``text`` unchanged, or raise :class:`PayloadTooLargeError` naming ``what`` if it's too long."""
    if text is not None and len(text) > limit:
        raise PayloadTooLargeError(what, len(text), limit)
    return text


def failure_from_exception(exc: BaseException, converter: DataConverter | None = None) -> tuple[str, str]:
    """Return SWF's ``(reason, details)`` for an exception: its type name and its converted form.

    ``reason`` is the type name (``ValueError``, ``myapp.OrderError``), cut to 256
    characters. ``details`` is the exception converted with ``converter`` (type, args,
    message, attributes and formatted traceback), always within SWF's 32,768 characters:
    when too long, the traceback keeps its last lines and then the arguments are dropped.
    """
    converter = converter or DEFAULT_CONVERTER
    reason = reason_of(type(exc))[:MAX_REASON]
    try:
        details = converter.dumps(exc)
    except DataConversionError:
        details = None
    if details is not None and len(details) <= MAX_PAYLOAD:
        return reason, details
    # Too large or not convertible: fall back to a JSON summary that surely fits.
    return reason, _fitting_summary(exc)


def _fitting_summary(exc: BaseException) -> str:
    fallback = DEFAULT_CONVERTER
    data = fallback._encode_exception(exc)
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    if len(text) <= MAX_PAYLOAD:
        return text
    data["attrs"] = {}
    data["args"] = [data["message"][:1000]]
    data["message"] = data["message"][:4000]
    budget = MAX_PAYLOAD - len(json.dumps({**data, "traceback": ""}, separators=(",", ":"), ensure_ascii=False)) - 200
    tb = data["traceback"]
    while True:
        data["traceback"] = ("...(truncated)\n" + tb[-max(budget, 0):]) if len(tb) > budget else tb
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if len(text) <= MAX_PAYLOAD or budget <= 0:
            return text[:MAX_PAYLOAD] if len(text) > MAX_PAYLOAD else text
        budget -= len(text) - MAX_PAYLOAD + 100  # escaping made it longer than counted


def exception_from_failure(reason: str | None, details: str | None,
                           converter: DataConverter | None = None) -> BaseException:
    """Rebuild the exception SWF recorded as ``(reason, details)``.

    Returns the original exception type when the payload names an ``Exception`` subclass
    that may be rebuilt here (see the module docstring: inside :func:`known_exceptions`,
    as workflow code decodes history, only the classes given there; elsewhere, one this
    process has imported), else a :class:`RemoteException` with the reason, message,
    remote traceback and recorded class hierarchy. Never raises for bad details: a payload that isn't a converted
    exception (another SWF client's failure) becomes a ``RemoteException`` whose message is
    the raw details.
    """
    converter = converter or DEFAULT_CONVERTER
    reason = reason or "UnknownError"
    value: Any = None
    try:
        value = converter.loads(details)
    except Exception:  # any converter's failure: this function must not raise
        # Maybe it was summarised by the JSON fallback even though another converter is in use.
        value = None
        if converter is not DEFAULT_CONVERTER:
            try:
                value = DEFAULT_CONVERTER.loads(details)
            except DataConversionError:
                value = None
    if isinstance(value, BaseException):
        return value
    if value is None:
        return RemoteException(reason, details or "", "")
    return RemoteException(reason, value if isinstance(value, str) else repr(value), "", (value,))
