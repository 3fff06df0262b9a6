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

* an ``Exception`` subclass found in a module this process has *already imported* (anything
  else, or anything it cannot rebuild, comes back as a :class:`RemoteException` carrying the
  remote type name, message and traceback); or
* a dataclass or enum the application **registered** on this converter
  (:meth:`JSONConverter.register`, the ``types=`` argument, or :func:`register` for the
  default converter). A payload naming any other class raises
  :class:`~greenflow.errors.DataConversionError` saying which class to register.

:class:`PickleConverter` converts anything picklable, faithfully, and is only for payloads
you trust completely: unpickling runs code chosen by the payload.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import dataclasses
import datetime as _dt
import decimal
import enum
import inspect
import json
import math
import pickle
import sys
import traceback as _traceback
import typing
import uuid
from typing import Any, Callable, Iterable, Iterator, Mapping

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

TAG = "__gf__"


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


class RemoteException(Exception):
    """An exception raised on the other side that could not be rebuilt here.

    It stands in for the original when its class is not an ``Exception`` subclass that this
    process has imported (or the payload came from a non-greenflow program).

    Attributes:
        reason: the remote exception's type name (SWF's failure ``reason``).
        message: its message (``str()`` of the original).
        traceback: the remote traceback as text ("" when unknown).
        remote_args: the original ``args``, converted back where possible.
        type_names: ``module:qualname`` of the remote class and of the exception classes it
            derives from, most derived first, as recorded by the sender (empty if unknown).
    """

    def __init__(self, reason: str, message: str = "", traceback: str = "", remote_args: tuple = (),
                 type_names: tuple[str, ...] = ()):
        super().__init__(reason, message, traceback, remote_args)
        self.reason = reason
        self.message = message
        self.traceback = traceback
        self.remote_args = remote_args
        self.type_names = tuple(type_names)

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}" if self.message else self.reason


# --------------------------------------------------------------------------- JSON


def _type_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _reason_of(cls: type) -> str:
    # Builtins read best bare ("ValueError"); everything else keeps its module so the
    # SWF console says which application's error it was.
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _find_loaded(name: str) -> Any:
    """The object named ``module:qualname`` if its module is already imported, else None.

    Never imports and never runs code: names are read from the module's and classes'
    ``__dict__`` (:func:`inspect.getattr_static`), never with ``getattr``, which would call a
    module's lazy ``__getattr__`` (PEP 562) or a class's descriptors, and those may import.
    """
    if not isinstance(name, str) or ":" not in name:
        return None
    module_name, _, qualname = name.partition(":")
    obj = sys.modules.get(module_name)
    if obj is None:
        return None
    for part in qualname.split("."):
        if not part.isidentifier() or part.startswith("__"):
            return None
        obj = inspect.getattr_static(obj, part, None)
        if obj is None:
            return None
    return obj


#: While set (see :func:`known_exceptions`), the only exception classes a payload may name.
_KNOWN_EXCEPTIONS: contextvars.ContextVar[Mapping[str, type] | None] = contextvars.ContextVar(
    "greenflow_known_exceptions", default=None)


@contextlib.contextmanager
def known_exceptions(classes: Mapping[str, type]) -> Iterator[None]:
    """Rebuild only the exception classes in ``classes`` (``"module:qualname" -> class``) meanwhile.

    The workflow runtime decodes history under this, with the classes the workflow's own
    code imports: whether a failure comes back as ``PaymentDeclined`` or as a
    :class:`RemoteException` must depend on the history and the workflow's code, not on
    which modules the deciding process happens to have imported by then.
    """
    token = _KNOWN_EXCEPTIONS.set(classes)
    try:
        yield
    finally:
        _KNOWN_EXCEPTIONS.reset(token)


def exception_type_names(cls: type) -> list[str]:
    """``module:qualname`` of ``cls`` and of each exception class it derives from, most derived first."""
    return [_type_name(c) for c in cls.__mro__ if issubclass(c, BaseException)]


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


def _format_traceback(exc: BaseException) -> str:
    if exc.__traceback__ is not None:
        return "".join(_traceback.format_exception(type(exc), exc, exc.__traceback__))
    remote = getattr(exc, "remote_traceback", None)
    if isinstance(remote, str):
        return remote
    if isinstance(exc, RemoteException):
        return exc.traceback
    return ""


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
        self._types[_type_name(cls)] = cls
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
            return {TAG: "enum", "type": _type_name(cls), "value": self.encode(value.value)}
        if isinstance(value, BaseException):
            return self._encode_exception(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name: self.encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
            return {TAG: "dataclass", "type": _type_name(cls), "fields": fields}
        if isinstance(value, tuple):  # named tuples come back as plain tuples
            return {TAG: "tuple", "items": [self.encode(item) for item in value]}
        if isinstance(value, (bytes, bytearray, memoryview)):
            return {TAG: "bytes", "b64": base64.b64encode(bytes(value)).decode("ascii")}
        if isinstance(value, frozenset):
            return {TAG: "frozenset", "items": [self.encode(item) for item in value]}
        if isinstance(value, set):
            return {TAG: "set", "items": [self.encode(item) for item in value]}
        if isinstance(value, _dt.datetime):
            encoded = {TAG: "datetime", "iso": value.isoformat()}
            zone = getattr(value.tzinfo, "key", None)  # zoneinfo.ZoneInfo keeps its zone name
            if isinstance(zone, str):
                encoded["zone"] = zone
            return encoded
        if isinstance(value, _dt.date):
            return {TAG: "date", "iso": value.isoformat()}
        if isinstance(value, _dt.time):
            return {TAG: "time", "iso": value.isoformat()}
        if isinstance(value, _dt.timedelta):
            return {TAG: "timedelta", "days": value.days, "seconds": value.seconds,
                    "microseconds": value.microseconds}
        if isinstance(value, decimal.Decimal):
            return {TAG: "decimal", "value": str(value)}
        if isinstance(value, uuid.UUID):
            return {TAG: "uuid", "value": str(value)}
        # Subclasses of plain types travel as the plain type.
        for plain in (str, int, float, list, dict):
            if isinstance(value, plain):
                return self.encode(plain(value))  # type: ignore[arg-type]
        raise DataConversionError(
            f"cannot convert a {cls.__module__}.{cls.__qualname__} to JSON; use plain data, a dataclass, "
            "or a PickleConverter")

    def _encode_or_repr(self, value: Any) -> Any:
        try:
            return self.encode(value)
        except DataConversionError:
            return repr(value)  # keep the message readable even when an argument isn't convertible

    def _encode_exception(self, exc: BaseException) -> dict:
        if isinstance(exc, RemoteException):
            # Re-raised remote error: keep the original identity, not RemoteException's.
            return {TAG: "exception", "type": exc.reason, "message": exc.message,
                    "args": [self._encode_or_repr(a) for a in exc.remote_args],
                    "attrs": {}, "traceback": _format_traceback(exc), "mro": list(exc.type_names)}
        attrs = {}
        for name, attr in vars(exc).items():
            if name.startswith("_") or name in ("remote_traceback", "remote_type_names"):
                continue
            try:
                attrs[name] = self.encode(attr)
            except DataConversionError:
                continue
        try:
            message = str(exc)
        except Exception:
            message = repr(exc)
        return {TAG: "exception", "type": _type_name(type(exc)), "message": message,
                "args": [self._encode_or_repr(a) for a in exc.args], "attrs": attrs,
                "traceback": _format_traceback(exc),
                # The class hierarchy by name, so that a decider that cannot (or must not)
                # rebuild the class still classifies the failure exactly (RetryPolicy).
                "mro": getattr(exc, "remote_type_names", None) or exception_type_names(type(exc))}

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

    def _items(self, data: dict) -> list:
        items = data["items"]
        if not isinstance(items, list):
            raise DataConversionError(f"malformed {data[TAG]!r} object in payload: items is not a list")
        return [self.decode(item) for item in items]

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
        name = data.get("type")
        message = data.get("message", "")
        message = message if isinstance(message, str) else repr(message)
        tb = data.get("traceback", "")
        tb = tb if isinstance(tb, str) else ""
        raw_args = data.get("args", [])
        args = tuple(self.decode(raw_args)) if isinstance(raw_args, list) else ()
        mro = data.get("mro")
        type_names = tuple(n for n in mro if isinstance(n, str)) if isinstance(mro, list) else ()
        known = _KNOWN_EXCEPTIONS.get()
        cls = (_find_loaded(name) if known is None else known.get(name)) if isinstance(name, str) else None
        if not (isinstance(cls, type) and issubclass(cls, Exception)):
            return RemoteException(_display_name(name), message, tb, args,
                                   type_names=type_names or ((name,) if isinstance(name, str) else ()))
        try:
            exc = cls(*args)
        except Exception:
            # Constructors with keyword-only or extra parameters: build without __init__
            # and restore the state it would have set.
            exc = cls.__new__(cls)
            exc.args = args
        attrs = data.get("attrs", {})
        if isinstance(attrs, dict):
            for attr, value in attrs.items():
                if isinstance(attr, str) and attr.isidentifier() and not attr.startswith("_"):
                    try:
                        exc.__dict__[attr] = self.decode(value)
                    except (AttributeError, TypeError, DataConversionError):
                        continue
        cause = exc.__dict__.get("cause")
        if isinstance(cause, BaseException) and exc.__cause__ is None:
            exc.__cause__ = cause  # greenflow's errors keep their cause in both places
        try:
            setattr(exc, "remote_traceback", tb)  # noqa: B010 - not every exception class has the slot
            if type_names:
                setattr(exc, "remote_type_names", type_names)  # noqa: B010 - see above
        except (AttributeError, TypeError):
            pass
        return exc


def _display_name(name: Any) -> str:
    if not isinstance(name, str):
        return "UnknownError"
    module, _, qualname = name.partition(":")
    if not qualname:
        return name
    return qualname if module == "builtins" else f"{module}.{qualname}"


def _walk_hint(hint: Any) -> Iterable[type]:
    if isinstance(hint, type):
        yield hint
    for arg in typing.get_args(hint):
        yield from _walk_hint(arg)


def _decode_float(self: JSONConverter, data: dict) -> float:
    value = data["value"]
    if value not in ("nan", "inf", "-inf"):
        raise DataConversionError(f"malformed float {value!r} in payload")
    return float(value)


def _decode_dict(self: JSONConverter, data: dict) -> dict:
    result = {}
    for pair in data["items"]:
        if not isinstance(pair, list) or len(pair) != 2:
            raise DataConversionError("malformed dict item in payload")
        key = self.decode(pair[0])
        try:
            result[key] = self.decode(pair[1])
        except TypeError as error:  # an unhashable key such as a list
            raise DataConversionError(f"payload has an unhashable dict key: {error}") from error
    return result


def _decode_datetime(self: JSONConverter, data: dict) -> _dt.datetime:
    value = _dt.datetime.fromisoformat(data["iso"])
    zone = data.get("zone")
    if isinstance(zone, str):
        try:
            import zoneinfo

            value = value.astimezone(zoneinfo.ZoneInfo(zone))
        except Exception:
            pass  # unknown zone here: keep the fixed offset, which is the same instant
    return value


def _hashable_items(self: JSONConverter, data: dict) -> list:
    items = self._items(data)
    try:
        hash(tuple(items))
    except TypeError as error:
        raise DataConversionError(f"payload has an unhashable set member: {error}") from error
    return items


_DECODERS: dict[str, Callable[[JSONConverter, dict], Any]] = {
    "tuple": lambda self, data: tuple(self._items(data)),
    "set": lambda self, data: set(_hashable_items(self, data)),
    "frozenset": lambda self, data: frozenset(_hashable_items(self, data)),
    "bytes": lambda self, data: base64.b64decode(data["b64"], validate=True),
    "float": _decode_float,
    "dict": _decode_dict,
    "datetime": _decode_datetime,
    "date": lambda self, data: _dt.date.fromisoformat(data["iso"]),
    "time": lambda self, data: _dt.time.fromisoformat(data["iso"]),
    "timedelta": lambda self, data: _dt.timedelta(days=data["days"], seconds=data["seconds"],
                                                  microseconds=data["microseconds"]),
    "decimal": lambda self, data: decimal.Decimal(data["value"]),
    "uuid": lambda self, data: uuid.UUID(data["value"]),
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
            value = _PickledException(value, _format_traceback(value))
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
    reason = _reason_of(type(exc))[:MAX_REASON]
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
    this process has imported, else a :class:`RemoteException` with the reason, message and
    remote traceback. Never raises for bad details: a payload that isn't a converted
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
