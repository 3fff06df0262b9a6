"""How an exception travels inside a JSON payload, and which classes reading one may build.

Writing: the tagged object ``{"__gf__": "exception", ...}`` holds the class as
``module:qualname`` (``type``), the message, the converted ``args`` and public attributes,
the formatted traceback, and ``mro``: ``module:qualname`` of the class and of each exception
class it derives from, most derived first.

Reading never imports a module and never looks a name up with ``getattr``. The class named
in ``type`` is rebuilt when it is an ``Exception`` subclass and

* outside :func:`known_exceptions` (clients, activity workers, the console): it is found in
  a module this process has already imported;
* inside :func:`known_exceptions` (the workflow runtime decodes history so): it is one of
  the given classes, the ones the workflow's own modules import, whatever else the process
  has imported.

Anything else comes back as a :class:`RemoteException` with the remote type name, message,
traceback and the recorded ``mro`` (``type_names``), so its class hierarchy can still be
matched by name (a workflow ``RetryPolicy`` does).
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import sys
import traceback as _traceback
from typing import Any, Callable, Iterator, Mapping

from ._tagged import TAG
from .errors import DataConversionError


class RemoteException(Exception):
    """An exception raised on the other side that could not be rebuilt here.

    It stands in for the original when its class may not be rebuilt here (see
    :mod:`greenflow.converter`), or the payload came from a non-greenflow program.

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


# Defined here, below the converter; its public home is greenflow.converter, and recorded
# failure reasons, type names and pickles keep naming it there.
RemoteException.__module__ = "greenflow.converter"


def type_name(cls: type) -> str:
    """``module:qualname`` of ``cls``: how payloads name a class."""
    return f"{cls.__module__}:{cls.__qualname__}"


def reason_of(cls: type) -> str:
    """The SWF failure ``reason`` for an exception of class ``cls``."""
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
    return [type_name(c) for c in cls.__mro__ if issubclass(c, BaseException)]


def format_traceback(exc: BaseException) -> str:
    """``exc``'s traceback as text: its own, else the remote one it carries, else ""."""
    if exc.__traceback__ is not None:
        return "".join(_traceback.format_exception(type(exc), exc, exc.__traceback__))
    remote = getattr(exc, "remote_traceback", None)
    if isinstance(remote, str):
        return remote
    if isinstance(exc, RemoteException):
        return exc.traceback
    return ""


def encode_exception(exc: BaseException, encode: Callable[[Any], Any]) -> dict:
    """The tagged object for ``exc``; ``encode`` converts its arguments and attributes.

    An argument ``encode`` cannot convert is written as its ``repr``; such an attribute is left out.
    """

    def encode_or_repr(value: Any) -> Any:
        try:
            return encode(value)
        except DataConversionError:
            return repr(value)  # keep the message readable even when an argument isn't convertible

    if isinstance(exc, RemoteException):
        # Re-raised remote error: keep the original identity, not RemoteException's.
        return {TAG: "exception", "type": exc.reason, "message": exc.message,
                "args": [encode_or_repr(a) for a in exc.remote_args],
                "attrs": {}, "traceback": format_traceback(exc), "mro": list(exc.type_names)}
    attrs = {}
    for name, attr in vars(exc).items():
        if name.startswith("_") or name in ("remote_traceback", "remote_type_names"):
            continue
        try:
            attrs[name] = encode(attr)
        except DataConversionError:
            continue
    try:
        message = str(exc)
    except Exception:
        message = repr(exc)
    return {TAG: "exception", "type": type_name(type(exc)), "message": message,
            "args": [encode_or_repr(a) for a in exc.args], "attrs": attrs,
            "traceback": format_traceback(exc),
            # The class hierarchy by name, so that a decider that cannot (or must not)
            # rebuild the class still classifies the failure exactly (RetryPolicy).
            "mro": getattr(exc, "remote_type_names", None) or exception_type_names(type(exc))}


def decode_exception(data: dict, decode: Callable[[Any], Any]) -> BaseException:
    """Rebuild the exception a tagged object describes (see the module docstring); ``decode`` reads its values."""
    name = data.get("type")
    message = data.get("message", "")
    message = message if isinstance(message, str) else repr(message)
    tb = data.get("traceback", "")
    tb = tb if isinstance(tb, str) else ""
    raw_args = data.get("args", [])
    args = tuple(decode(raw_args)) if isinstance(raw_args, list) else ()
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
                    exc.__dict__[attr] = decode(value)
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
