"""The exception classes a workflow's own code knows: the only ones its history may rebuild.

A failure recorded in history names its class (``shop.errors:PaymentDeclined``). Whether
workflow code sees that class or a :class:`~greenflow.converter.RemoteException` must not
depend on what the deciding process happens to have imported (another worker, a test, a
lazy import in an activity): the same history would then decide differently in different
processes, or in one process over time. So a run rebuilds only the classes its workflow
*imports*: computed once per workflow class from the modules that define it and its
bases, as

* every exception class in those modules' namespaces (defined or imported there);
* the exception classes of each module they import (``import shop.errors``), and of the
  module of each class or function they import (``from shop.activities import Payments``
  makes ``shop.activities``' exceptions known);
* Python's built-in exceptions and greenflow's errors;

with the bases of each. Nothing is imported here: every module named is already imported,
because the workflow's module imported it.
"""

from __future__ import annotations

import builtins
import sys
import types
from typing import Any

from greenflow import errors

_CACHE: dict[type, dict[str, type]] = {}


def _name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _add(found: dict[str, type], cls: Any) -> None:
    if isinstance(cls, type) and issubclass(cls, BaseException):
        for base in cls.__mro__:
            if issubclass(base, BaseException):
                found.setdefault(_name(base), base)


def _add_namespace(found: dict[str, type], namespace: dict[str, Any]) -> None:
    for value in list(namespace.values()):
        _add(found, value)


def known_exception_classes(workflow_class: type) -> dict[str, type]:
    """``"module:qualname" -> class`` of the exception classes ``workflow_class``'s code knows (cached)."""
    known = _CACHE.get(workflow_class)
    if known is not None:
        return known
    found: dict[str, type] = {}
    _add_namespace(found, vars(builtins))
    _add_namespace(found, vars(errors))
    for klass in workflow_class.__mro__:
        module = sys.modules.get(klass.__module__)
        if module is None or klass is object:
            continue
        for value in list(vars(module).values()):
            _add(found, value)
            if isinstance(value, types.ModuleType):
                _add_namespace(found, vars(value))
            elif isinstance(value, (type, types.FunctionType)):
                source = sys.modules.get(getattr(value, "__module__", None) or "")
                if source is not None and source is not module:
                    _add_namespace(found, vars(source))
    _CACHE[workflow_class] = found
    return found
