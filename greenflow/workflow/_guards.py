"""Safety nets for determinism: clocks, randomness, threads and sockets refused in workflow code.

Workflow code is replayed, so a call whose answer changes from one run to the next
(``time.time()``, ``datetime.now()``, ``random.random()``, ``uuid.uuid4()``,
``os.urandom()``) or that reaches outside the run (a thread, a socket) makes replays
diverge, often silently. These calls are refused on the *first* run, when they are made
from a workflow greenlet, with :class:`~greenflow.errors.NonDeterministicCallError` naming
the file and line and the workflow API to use instead.

How, lightly (not Temporal's re-import sandbox): while the hub runs a workflow's
greenlets (:func:`checking`), the names the workflow's module bound to those functions
and modules (``import time``, ``from datetime import datetime``, ``from random import
choice``...) are swapped for checked stand-ins, and swapped back when the hub hands
control back. So:

* nothing changes outside those moments: activity code, the service and every other
  module call the real functions at full speed, even in the same process;
* a stand-in checks the calling greenlet first, so another thread that calls through the
  workflow's module meanwhile gets the real function;
* the check covers the code of the workflow class's module (and of its base classes'
  modules), where workflow code lives; helpers in other modules are not checked.

:func:`allow_unsafe_calls` is the escape hatch for code that knows what it does (a debug
timestamp in a log line); :func:`~greenflow.workflow.side_effect` runs its function with
it, since recording the value is what makes it safe.
"""

from __future__ import annotations

import contextlib
import datetime as _datetime
import os as _os
import random as _random
import socket as _socket
import sys
import threading as _threading
import time as _time
import types
import uuid as _uuid
from typing import Any, Callable, Iterable, Iterator

from greenlet import getcurrent

from greenflow.errors import NonDeterministicCallError

#: module -> {attribute: the workflow API to use instead}
_UNSAFE: dict[types.ModuleType, dict[str, str]] = {
    _time: {name: "greenflow.workflow.now()" for name in (
        "time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns")},
    # time.sleep is not here: blocking is caught by the hub (WorkflowBlockingError) or the
    # step watchdog, which name greenflow.workflow.sleep().
    _random: {name: "greenflow.workflow.random() (or wf.random() for a float, wf.uuid4())" for name in (
        "random", "randint", "randrange", "choice", "choices", "shuffle", "sample", "uniform", "getrandbits",
        "gauss", "randbytes", "normalvariate", "triangular", "betavariate", "expovariate")},
    _uuid: {"uuid1": "greenflow.workflow.uuid4()", "uuid4": "greenflow.workflow.uuid4()"},
    _os: {"urandom": "greenflow.workflow.random() or side_effect()",
          "getrandom": "greenflow.workflow.random() or side_effect()"},
    _threading: {"Thread": "greenflow.workflow.spawn()", "Timer": "greenflow.workflow.start_timer()"},
    _socket: {name: "an activity (workflow code does no I/O)" for name in (
        "socket", "create_connection", "getaddrinfo", "gethostbyname", "create_server")},
}
_CLOCK_INSTEAD = "greenflow.workflow.now()"


def _in_workflow_code() -> bool:
    """Whether the calling greenlet runs workflow code with the checks on."""
    return getattr(getcurrent(), "gf_checks", False)


def _refuse(what: str, instead: str, frame: Any) -> None:
    location = f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else "<unknown>"
    error = NonDeterministicCallError(
        f"GF-NONDETERMINISTIC-CALL: workflow code called {what} at {location}; workflow code is replayed, so "
        f"it must give the same answers every time: use {instead} instead (code that knows what it does can "
        "run inside `with greenflow.workflow.allow_unsafe_calls():`)", call=what, location=location)
    run = getattr(getcurrent(), "gf_run", None)
    if run is not None:
        run.fatal(error)  # fails the decision task even if workflow code swallows the error
    raise error


def _checked(function: Callable[..., Any], what: str, instead: str) -> Callable[..., Any]:
    def checked(*args: Any, **kwargs: Any) -> Any:
        if getattr(getcurrent(), "gf_checks", False):
            _refuse(what, instead, sys._getframe(1))
        return function(*args, **kwargs)

    checked.__name__ = getattr(function, "__name__", what)
    checked.__qualname__ = getattr(function, "__qualname__", what)
    checked.__doc__ = getattr(function, "__doc__", None)
    checked.__wrapped__ = function  # type: ignore[attr-defined]
    return checked


class _RealInstances(type):
    """Metaclass of the checked datetime classes: ``isinstance`` answers for the real class."""

    _gf_real: type

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, cls._gf_real)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, cls._gf_real)


class _CheckedDate(_datetime.date, metaclass=_RealInstances):
    """``datetime.date`` as workflow code sees it: ``today()`` is refused; instances are real dates."""

    _gf_real = _datetime.date

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        return _datetime.date(*args, **kwargs)

    @classmethod
    def today(cls) -> Any:
        """Refused in workflow code (use ``greenflow.workflow.now().date()``)."""
        if _in_workflow_code():
            _refuse("date.today()", "greenflow.workflow.now().date()", sys._getframe(1))
        return _datetime.date.today()


class _CheckedDatetime(_datetime.datetime, metaclass=_RealInstances):
    """``datetime.datetime`` as workflow code sees it: the clock readers are refused."""

    _gf_real = _datetime.datetime

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        return _datetime.datetime(*args, **kwargs)

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        """Refused in workflow code (use ``greenflow.workflow.now()``)."""
        if _in_workflow_code():
            _refuse("datetime.now()", _CLOCK_INSTEAD, sys._getframe(1))
        return _datetime.datetime.now(tz)

    @classmethod
    def utcnow(cls) -> Any:
        """Refused in workflow code (use ``greenflow.workflow.now()``)."""
        if _in_workflow_code():
            _refuse("datetime.utcnow()", _CLOCK_INSTEAD, sys._getframe(1))
        return _datetime.datetime.utcnow()

    @classmethod
    def today(cls) -> Any:
        """Refused in workflow code (use ``greenflow.workflow.now()``)."""
        if _in_workflow_code():
            _refuse("datetime.today()", _CLOCK_INSTEAD, sys._getframe(1))
        return _datetime.datetime.today()


for _cls, _name in ((_CheckedDate, "date"), (_CheckedDatetime, "datetime")):
    _cls.__module__, _cls.__qualname__, _cls.__name__ = "datetime", _name, _name


class _CheckedModule(types.ModuleType):
    """A module as workflow code sees it: some attributes checked, the rest the real module's."""

    def __init__(self, real: types.ModuleType, checked: dict[str, Any]):
        super().__init__(real.__name__, real.__doc__)
        self.__dict__.update(checked)
        self.__dict__["_gf_real"] = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_gf_real"], name)


def _build_replacements() -> tuple[dict[int, Any], dict[int, Any]]:
    """(id(real function or class) -> stand-in, id(real module) -> checked module)."""
    by_object: dict[int, Any] = {id(_datetime.datetime): _CheckedDatetime, id(_datetime.date): _CheckedDate}
    by_module: dict[int, Any] = {}
    for module, names in _UNSAFE.items():
        checked = {}
        for name, instead in names.items():
            real = getattr(module, name, None)
            if real is None:
                continue
            stand_in = _checked(real, f"{module.__name__}.{name}()", instead)
            checked[name] = by_object[id(real)] = stand_in
        by_module[id(module)] = _CheckedModule(module, checked)
    by_module[id(_datetime)] = _CheckedModule(_datetime, {"datetime": _CheckedDatetime, "date": _CheckedDate})
    return by_object, by_module


_BY_OBJECT: dict[int, Any] | None = None
_BY_MODULE: dict[int, Any] = {}


class _ModulePlan:
    """The names of one module to swap while workflow code runs, and how many runs are inside."""

    __slots__ = ("namespace", "swaps", "depth")

    def __init__(self, namespace: dict[str, Any], swaps: list[tuple[str, Any, Any]]):
        self.namespace = namespace
        self.swaps = swaps
        self.depth = 0


_PLANS: dict[str, _ModulePlan | None] = {}


def _plan_for(module_name: str) -> _ModulePlan | None:
    """Scan a workflow module's globals once for names bound to unsafe functions or modules."""
    global _BY_OBJECT
    if module_name in _PLANS:
        return _PLANS[module_name]
    if _BY_OBJECT is None:
        # Built on first use, after the program had its chance to monkey-patch gevent,
        # so the checked stand-ins wrap the functions workflow modules actually hold.
        _BY_OBJECT, by_module = _build_replacements()
        _BY_MODULE.update(by_module)
    module = sys.modules.get(module_name)
    plan = None
    if module is not None and not module_name.startswith("greenflow."):
        swaps = []
        for name, value in list(vars(module).items()):
            stand_in = _BY_MODULE.get(id(value)) or _BY_OBJECT.get(id(value))
            if stand_in is not None:
                swaps.append((name, value, stand_in))
        if swaps:
            plan = _ModulePlan(vars(module), swaps)
    _PLANS[module_name] = plan
    return plan


def plans_for(classes: Iterable[type]) -> list[_ModulePlan]:
    """The swap plans of the modules that define ``classes`` and their bases (each computed once)."""
    names = dict.fromkeys(klass.__module__ for cls in classes for klass in cls.__mro__
                          if klass.__module__ != "builtins")
    return [plan for plan in map(_plan_for, names) if plan is not None]


def enter(plans: list[_ModulePlan]) -> None:
    """Swap in the checked stand-ins (the outermost entry of each module does)."""
    for plan in plans:
        plan.depth += 1
        if plan.depth == 1:
            namespace = plan.namespace
            for name, _, stand_in in plan.swaps:
                namespace[name] = stand_in


def leave(plans: list[_ModulePlan]) -> None:
    """Put the real functions and modules back (the outermost exit of each module does)."""
    for plan in plans:
        plan.depth -= 1
        if plan.depth == 0:
            namespace = plan.namespace
            for name, real, _ in plan.swaps:
                namespace[name] = real


@contextlib.contextmanager
def allow_unsafe_calls() -> Iterator[None]:
    """Let the code inside call clocks, randomness, threads and sockets from workflow code.

    For code that knows what it does: a value that only goes to a log line, a debug
    timestamp. Anything that influences the workflow's commands or result must come from
    the workflow API (``now()``, ``random()``, ``uuid4()``, ``side_effect()``,
    activities), or replays will diverge.
    """
    g = getcurrent()
    previous = g.__dict__.get("gf_checks") if hasattr(g, "__dict__") else None
    try:
        g.gf_checks = False
    except AttributeError:  # a plain greenlet outside workflow code: nothing is checked there
        yield
        return
    try:
        yield
    finally:
        if previous is None:
            del g.gf_checks
        else:
            g.gf_checks = previous
