"""Workflow definitions: ``WorkflowDefinition``, ``@execute``, ``@workflow``, ``@signal``, ``@query``.

A workflow type is ``(name, version)``. The name is the class's ``__name__`` unless
``@workflow(name=...)`` renames it (the name is not inherited: a subclass is its own
workflow); each ``@execute(version=...)`` method adds one version, so several versions of a
workflow can coexist in one class, or in subclasses renamed to the same name.

Problems are found when the class is created (import time) and reported together in one
:class:`~greenflow.errors.DefinitionError` naming the class and method.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import types
from typing import Any, Callable

from greenlet import getcurrent

from greenflow.errors import DefinitionError, WorkflowError

from ._starter import current_starter
from ._validate import CHILD_POLICIES, check_durations, name_problem, priority_problem


@dataclasses.dataclass(frozen=True)
class WorkflowType:
    """One registered workflow type: ``(name, version)`` and its defaults (seconds)."""

    name: str
    version: str
    method_name: str
    execution_start_to_close_timeout: int | None = None
    task_start_to_close_timeout: int | None = 30
    task_list: str | None = None
    task_priority: int | None = None
    child_policy: str | None = "TERMINATE"
    description: str | None = None


def _function_problems(fn: Any, decorator: str) -> list[str]:
    if isinstance(fn, (staticmethod, classmethod)):
        return [f"{decorator} must decorate a plain method, not a {type(fn).__name__}"]
    if not inspect.isfunction(fn):
        return [f"{decorator} must decorate a function, not {type(fn).__name__}"]
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        return [f"{decorator} method {fn.__qualname__} is async; workflow code is plain blocking code (no async/await)"]
    if inspect.isgeneratorfunction(fn):
        return [f"{decorator} method {fn.__qualname__} is a generator; workflow code is plain blocking code (no yield)"]
    return []


def _raise(where: str, problems: list[str]) -> None:
    if problems:
        raise DefinitionError(f"{where}: " + "; ".join(problems))


class ExecuteMethod:
    """Descriptor made by ``@execute``: the workflow's entry point.

    Through the class (``Orders.run(...)``): inside a workflow run it starts a child
    workflow and blocks for its result; outside, it asks the current starter
    (``client.start``/``with worker:``) to start an execution. Through an instance it is
    the plain method.
    """

    def __init__(self, fn: Callable, options: dict):
        self.fn = fn
        self.options = options
        self.name = fn.__name__
        functools.update_wrapper(self, fn)

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, cls=None):
        if obj is not None:
            return types.MethodType(self.fn, obj)
        return ExecuteStub(self, cls)

    def __call__(self, *args, **kwargs):  # used only if called off the class dict directly
        return self.fn(*args, **kwargs)


class ExecuteStub:
    """``SomeWorkflow.run`` accessed through the class; see :class:`ExecuteMethod`."""

    __slots__ = ("method", "cls")

    def __init__(self, method: ExecuteMethod, cls: type):
        self.method = method
        self.cls = cls

    @property
    def workflow_type(self) -> WorkflowType:
        return _definition_of(self.cls).types[self.method.name]

    @property
    def __name__(self) -> str:
        return self.method.name

    def __repr__(self) -> str:
        return f"<workflow {self.cls.__qualname__}.{self.method.name}>"

    def __call__(self, *args, **kwargs):
        run = getattr(getcurrent(), "gf_run", None)
        if run is not None:
            return run.call_child(self.workflow_type, args, kwargs, _definition_of(self.cls).converter)
        starter = current_starter()
        if starter is None:
            raise WorkflowError(
                f"{self.cls.__qualname__}.{self.method.name}() was called outside a workflow run with no starter; "
                "start executions with client.start(...) or inside `with worker:`")
        return starter.start_workflow(self.workflow_type, args, kwargs)


class _Marked:
    """Marker left on ``@signal``/``@query`` functions (the function itself stays callable)."""


def execute(version: str, execution_start_to_close_timeout: Any = None, task_start_to_close_timeout: Any = 30,
            task_list: str | None = None, task_priority: int | None = None, child_policy: str | None = "TERMINATE",
            description: str | None = None) -> Callable[[Callable], ExecuteMethod]:
    """Mark a ``WorkflowDefinition`` method as the workflow's entry point, for one version.

    Timeouts are seconds (int) or timedeltas and become the type's registered defaults:
    ``execution_start_to_close_timeout`` (required by SWF either here or when starting),
    ``task_start_to_close_timeout`` (a decision task's limit, default 30 s). ``task_list``,
    ``task_priority`` and ``child_policy`` (TERMINATE, REQUEST_CANCEL or ABANDON) are the
    defaults for executions of this type.
    """
    if callable(version) and not isinstance(version, str):
        raise DefinitionError(f"@execute needs a version: write @execute(version=\"1.0\") above {version.__qualname__}")

    def decorate(fn: Callable) -> ExecuteMethod:
        problems = _function_problems(fn, "@execute")
        if p := name_problem("version", version, 64):
            problems.append(p)
        durations = check_durations(problems, {
            "execution_start_to_close_timeout": execution_start_to_close_timeout,
            "task_start_to_close_timeout": task_start_to_close_timeout})
        if task_list is not None and (p := name_problem("task_list", task_list)):
            problems.append(p)
        if p := priority_problem(task_priority):
            problems.append(p)
        if child_policy is not None and child_policy not in CHILD_POLICIES:
            problems.append(f"child_policy must be one of {CHILD_POLICIES}, not {child_policy!r}")
        if description is not None and (not isinstance(description, str) or len(description) > 1024):
            problems.append("description must be a string of at most 1024 characters")
        _raise(f"@execute on {getattr(fn, '__qualname__', fn)!s}", problems)
        return ExecuteMethod(fn, dict(version=version, task_list=task_list, task_priority=task_priority,
                                      child_policy=child_policy, description=description, **durations))

    return decorate


def signal(name: str | None = None) -> Callable[[Callable], Callable]:
    """Mark a method as a signal handler for signal ``name`` (default: the method name).

    Each signal runs the handler in a new workflow greenlet, in history order; it may block
    (call activities, sleep). An exception escaping a handler fails the execution.
    """
    if callable(name):  # bare @signal
        return signal()(name)

    def decorate(fn: Callable) -> Callable:
        problems = _function_problems(fn, "@signal")
        signal_name = name or getattr(fn, "__name__", "")
        if p := name_problem("signal name", signal_name):
            problems.append(p)
        _raise(f"@signal on {getattr(fn, '__qualname__', fn)!s}", problems)
        fn._gf_signal = signal_name
        return fn

    return decorate


def query(name: str | None = None) -> Callable[[Callable], Callable]:
    """Mark a read-only method a client can evaluate by replaying the history (default name:
    the method name). A query must not block or change state."""
    if callable(name):
        return query()(name)

    def decorate(fn: Callable) -> Callable:
        problems = _function_problems(fn, "@query")
        query_name = name or getattr(fn, "__name__", "")
        if p := name_problem("query name", query_name):
            problems.append(p)
        _raise(f"@query on {getattr(fn, '__qualname__', fn)!s}", problems)
        fn._gf_query = query_name
        return fn

    return decorate


@dataclasses.dataclass
class _Definition:
    name: str
    types: dict  # method name -> WorkflowType
    signals: dict  # signal name -> method name
    queries: dict  # query name -> method name
    converter: Any = None


def _collect(cls: type, name: str, converter: Any) -> _Definition:
    problems: list[str] = []
    if p := name_problem("workflow name", name):
        problems.append(p)
    found: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            found[attr] = value
    types_: dict[str, WorkflowType] = {}
    signals: dict[str, str] = {}
    queries: dict[str, str] = {}
    versions: dict[str, str] = {}
    for attr, value in found.items():
        if isinstance(value, ExecuteMethod):
            o = value.options
            if o["version"] in versions:
                problems.append(f"@execute methods {versions[o['version']]} and {attr} both declare version "
                                f"{o['version']!r} of workflow {name!r}")
            versions[o["version"]] = attr
            types_[attr] = WorkflowType(name=name, method_name=attr, **o)
        elif inspect.isfunction(value) and hasattr(value, "_gf_signal"):
            if value._gf_signal in signals:
                problems.append(f"methods {signals[value._gf_signal]} and {attr} both handle signal {value._gf_signal!r}")
            signals[value._gf_signal] = attr
        elif inspect.isfunction(value) and hasattr(value, "_gf_query"):
            if value._gf_query in queries:
                problems.append(f"methods {queries[value._gf_query]} and {attr} both answer query {value._gf_query!r}")
            queries[value._gf_query] = attr
    _raise(f"workflow class {cls.__qualname__}", problems)
    return _Definition(name, types_, signals, queries, converter)


class WorkflowDefinition:
    """Base class of workflows: subclass it and mark one method per version with ``@execute``.

    One instance is created per execution run (with no arguments); its attributes are the
    workflow's state, rebuilt by replay. Workflow code must be deterministic: no real I/O,
    clocks, randomness, threads or gevent blocking; use activities and the functions of
    :mod:`greenflow.workflow` (``sleep``, ``now``, ``random``...) instead.
    """

    _gf_definition: _Definition

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._gf_definition = _collect(cls, cls.__name__, None)


def workflow(name: str | None = None, *, converter: Any = None) -> Callable[[type], type]:
    """Class decorator: name the workflow type (default: the class name) and/or give the
    workflow its own data converter (default: the worker's)."""
    if isinstance(name, type):
        return workflow()(name)

    def decorate(cls: type) -> type:
        if not (isinstance(cls, type) and issubclass(cls, WorkflowDefinition)):
            raise DefinitionError(f"@workflow decorates WorkflowDefinition subclasses, not {cls!r}")
        cls._gf_definition = _collect(cls, name or cls.__name__, converter)
        return cls

    return decorate


def _definition_of(cls: Any) -> _Definition:
    if not (isinstance(cls, type) and issubclass(cls, WorkflowDefinition)) or "_gf_definition" not in vars(cls):
        raise DefinitionError(f"{cls!r} is not a WorkflowDefinition subclass")
    return cls._gf_definition


def workflow_types(cls: type) -> list[WorkflowType]:
    """The workflow types (one per ``@execute`` version) a ``WorkflowDefinition`` class defines."""
    definition = _definition_of(cls)
    if not definition.types:
        raise DefinitionError(f"workflow class {cls.__qualname__} has no @execute method")
    return list(definition.types.values())


def workflow_type_of(fn: Any) -> WorkflowType:
    """The :class:`WorkflowType` of an ``@execute`` method (``Orders.run`` or ``instance.run``)."""
    if isinstance(fn, ExecuteStub):
        return fn.workflow_type
    if isinstance(fn, types.MethodType):
        cls = type(fn.__self__)
        definition = _definition_of(cls)
        for method_name, wtype in definition.types.items():
            if getattr(cls, method_name).method.fn is fn.__func__:
                return wtype
    raise DefinitionError(f"{fn!r} is not an @execute method of a WorkflowDefinition class")
