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
import inspect
import types
from typing import TYPE_CHECKING, Any, Callable, Concatenate, TypeVar, overload

from greenlet import getcurrent

from greenflow.converter import register_signature
from greenflow.errors import DefinitionError, WorkflowError

from ._descriptor import P, R, S, ClassStub, StubMethod
from ._starter import current_starter
from ._validate import check_durations, child_policy_problem, collect, description_problem, name_problem, \
    priority_problem, version_problem

F = TypeVar("F", bound=Callable[..., Any])


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


class ExecuteStub(ClassStub[P, R]):
    """``SomeWorkflow.run`` accessed through the class; see :class:`ExecuteMethod`."""

    __slots__ = ()
    kind = "workflow"

    @property
    def workflow_type(self) -> WorkflowType:
        """The :class:`WorkflowType` this call starts."""
        return _definition_of(self.cls).types[self.method.name]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        """Start this workflow: as a child inside a run (blocking), else through the starter.

        Inside workflow code this blocks the calling workflow greenlet until the child
        closes, returns its result, and raises
        :class:`~greenflow.errors.ChildWorkflowFailedError` (``TimedOut``, ``Terminated``,
        :class:`~greenflow.errors.CancelledError`) when it does not complete. Outside a
        run it returns the starter's handle at once; with no starter it raises
        :class:`~greenflow.errors.WorkflowError`.
        """
        run = getattr(getcurrent(), "gf_run", None)
        if run is not None:
            return run.call_child(self.workflow_type, args, kwargs, _definition_of(self.cls).converter)
        starter = current_starter()
        if starter is None:
            raise WorkflowError(
                f"{self.cls.__qualname__}.{self.method.name}() was called outside a workflow run with no starter; "
                "start executions with client.start(...) or inside `with worker:`")
        return starter.start_workflow(self.workflow_type, args, kwargs)


class ExecuteMethod(StubMethod[S, P, R]):
    """Descriptor made by ``@execute``: the workflow's entry point.

    Through the class (``Orders.run(...)``): inside a workflow run it starts a child
    workflow and blocks for its result; outside, it asks the current starter
    (``client.start``/``with worker:``) to start an execution. Through an instance it is
    the plain method.
    """

    stub_class = ExecuteStub

    if TYPE_CHECKING:  # what checkers see; the runtime is StubMethod.__get__
        @overload
        def __get__(self, obj: None, cls: type | None = None) -> ExecuteStub[P, R]: ...

        @overload
        def __get__(self, obj: S, cls: type | None = None) -> Callable[P, R]: ...

        def __get__(self, obj: Any, cls: type | None = None) -> Any: ...


def execute(version: str, execution_start_to_close_timeout: Any = None, task_start_to_close_timeout: Any = 30,
            task_list: str | None = None, task_priority: int | None = None, child_policy: str | None = "TERMINATE",
            description: str | None = None) -> Callable[[Callable[Concatenate[S, P], R]], ExecuteMethod[S, P, R]]:
    """Mark a ``WorkflowDefinition`` method as the workflow's entry point, for one version.

    The method is replayed: running executions of this version re-run it against their
    history, so edits that add, remove or reorder commands (activity and child calls,
    ``sleep``, markers...) must be guarded with :func:`~greenflow.workflow.version` or go to
    a new ``@execute`` version (a new workflow type for SWF; old runs keep the old code).

    Args:
        version: the workflow type's version (1 to 64 characters, no ``:``, ``/``, ``|``).
        execution_start_to_close_timeout: the registered default limit of a whole run, in
            seconds (int) or a timedelta, at most one year; SWF needs it here or at start.
        task_start_to_close_timeout: the registered default limit of one decision task
            (seconds or timedelta; default 30).
        task_list: the default decision task list of executions of this type.
        task_priority: the default decision task priority (a signed 32-bit int).
        child_policy: what happens to open children when a run closes: ``TERMINATE``,
            ``REQUEST_CANCEL`` or ``ABANDON``.
        description: registered with the type (at most 1,024 characters).

    Raises:
        DefinitionError: at import time, naming every problem (bad version, timeouts,
            task list...) and the method.
    """
    if callable(version) and not isinstance(version, str):
        raise DefinitionError(f"@execute needs a version: write @execute(version=\"1.0\") above {version.__qualname__}")

    def decorate(fn: Callable[Concatenate[S, P], R]) -> ExecuteMethod[S, P, R]:
        problems = _function_problems(fn, "@execute") + collect(
            version_problem(version),
            name_problem("task_list", task_list) if task_list is not None else None,
            priority_problem(task_priority), child_policy_problem(child_policy), description_problem(description))
        durations = check_durations(problems, {
            "execution_start_to_close_timeout": execution_start_to_close_timeout,
            "task_start_to_close_timeout": task_start_to_close_timeout})
        _raise(f"@execute on {getattr(fn, '__qualname__', fn)!s}", problems)
        return ExecuteMethod(fn, dict(version=version, task_list=task_list, task_priority=task_priority,
                                      child_policy=child_policy, description=description, **durations))

    return decorate


def _mark(decorator: str, what: str, attribute: str, name: str | None) -> Callable[[F], F]:
    """The decorator behind ``@signal``/``@query``: validate, then tag the function with its name."""

    def decorate(fn: F) -> F:
        handled = name or getattr(fn, "__name__", "")
        problems = _function_problems(fn, decorator) + collect(name_problem(what, handled))
        _raise(f"{decorator} on {getattr(fn, '__qualname__', fn)!s}", problems)
        setattr(fn, attribute, handled)
        return fn

    return decorate


@overload
def signal(name: F) -> F: ...


@overload
def signal(name: str | None = None, *, strict: bool = False) -> Callable[[F], F]: ...


def signal(name: Any = None, *, strict: bool = False) -> Any:
    """Mark a method as the handler of signal ``name`` (default: the method name).

    Each signal runs the handler in a new workflow greenlet, in history order; it may block
    (call activities, sleep). An exception escaping a handler fails the execution.
    Handlers are part of the replayed code: what a handler does is as much a part of the
    command sequence as the ``@execute`` method.

    Anyone who may signal the execution can send any payload. A signal whose input does not
    convert, or whose arguments do not fit the handler's parameters, is *rejected*: the
    handler does not run, the worker logs an error naming the signal (``GF-SIGNAL-REJECTED``)
    and the execution goes on. With ``strict=True`` such a signal fails the execution
    instead, as an exception in the handler does.
    """
    if callable(name):  # bare @signal
        return signal()(name)

    def decorate(fn: F) -> F:
        marked = _mark("@signal", "signal name", "_gf_signal", name)(fn)
        marked._gf_signal_strict = bool(strict)  # type: ignore[attr-defined]
        return marked

    return decorate


@overload
def query(name: F) -> F: ...


@overload
def query(name: str | None = None) -> Callable[[F], F]: ...


def query(name: Any = None) -> Any:
    """Mark a read-only method a client can evaluate by replaying the history.

    The query name defaults to the method name. A query must not block or make commands
    (activities, timers...): it runs after the replay and raises
    :class:`~greenflow.errors.WorkflowError` if it tries.
    """
    if callable(name):  # bare @query
        return query()(name)
    return _mark("@query", "query name", "_gf_query", name)


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
                problems.append(f"methods {signals[value._gf_signal]} and {attr} both handle "
                                f"signal {value._gf_signal!r}")
            signals[value._gf_signal] = attr
        elif inspect.isfunction(value) and hasattr(value, "_gf_query"):
            if value._gf_query in queries:
                problems.append(f"methods {queries[value._gf_query]} and {attr} both answer query {value._gf_query!r}")
            queries[value._gf_query] = attr
    _raise(f"workflow class {cls.__qualname__}", problems)
    for attr in [*types_, *signals.values(), *queries.values()]:
        function = found[attr]
        register_signature(function.fn if isinstance(function, ExecuteMethod) else function, converter)
    return _Definition(name, types_, signals, queries, converter)


class WorkflowDefinition:
    """Base class of workflows: subclass it and mark one method per version with ``@execute``.

    One instance is created per execution run (with no arguments); its attributes are the
    workflow's state, rebuilt by replay. Workflow code must be deterministic: no real I/O,
    clocks, randomness, threads or gevent blocking; use activities and the functions of
    :mod:`greenflow.workflow` (``sleep``, ``now``, ``random``...) instead.
    """

    _gf_definition: _Definition

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._gf_definition = _collect(cls, cls.__name__, None)


def workflow(name: str | None = None, *, converter: Any = None) -> Callable[[type], type]:
    """Class decorator: name the workflow type and/or give the workflow its own data converter.

    The name defaults to the class name; the converter to the worker's. Renaming a
    workflow type is a new type for SWF: running executions keep the old name.
    """
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
