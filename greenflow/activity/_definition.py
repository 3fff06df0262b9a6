"""Activity definitions: ``@activities`` on a class, ``@activity`` on its methods.

``SomeActivities.method(args)`` — through the *class* — inside workflow code schedules the
activity and blocks for its result (with the ``retry`` policy, if any). Through an
*instance* the method is a plain method, so activities are unit-tested like any class;
the activity worker runs instances' bound methods (see :func:`activity_types`).
Outside workflow code, calling through the class raises
:class:`~greenflow.errors.WorkflowError` saying so (``SomeActivities.method(instance, args)``,
the unbound-method form, still calls the plain function).
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import TYPE_CHECKING, Any, Callable, Concatenate, TypeVar, overload

from greenlet import getcurrent

from greenflow._swf_rules import MAX_DESCRIPTION
from greenflow.converter import register_signature
from greenflow.errors import DefinitionError, WorkflowError
from greenflow.workflow._descriptor import P, R, S, ClassStub, StubMethod
from greenflow.workflow._options import current_activity_options
from greenflow.workflow._retrying import retry as retry_call  # not `retry`: @activity has a `retry` argument
from greenflow.workflow._validate import ACTIVITY_TIMEOUTS, check_activity_timeouts, collect, description_problem, \
    name_problem, priority_problem, retry_problem, version_problem


T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class ActivityType:
    """One activity type: ``(name, version)`` and its options (timeouts in whole seconds)."""

    name: str
    version: str
    task_list: str | None = None
    schedule_to_start_timeout: int | None = None
    start_to_close_timeout: int | None = None
    schedule_to_close_timeout: int | None = None
    heartbeat_timeout: int | None = None
    task_priority: int | None = None
    retry: Any = None
    manual: bool = False
    description: str | None = None
    converter: Any = None


class ActivityStub(ClassStub[P, R]):
    """``SomeActivities.method`` through the class: a remote call inside workflow code."""

    __slots__ = ()
    kind = "activity"

    @property
    def activity_type(self) -> ActivityType:
        """The :class:`ActivityType` this call schedules."""
        table = vars(self.cls).get("_gf_activity_types")
        if table is None or self.method.name not in table:
            raise DefinitionError(f"{self.cls.__qualname__}.{self.method.name}: decorate the class with "
                                  "@activities so its @activity methods can be called from workflows")
        return table[self.method.name]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run the activity: inside workflow code, schedule it and block for its result.

        Inside workflow code the calling workflow greenlet waits (in workflow time) until
        the activity closes and gets its result; a failure raises
        :class:`~greenflow.errors.ActivityTaskFailedError` (``cause``: the activity's
        exception), a timeout :class:`~greenflow.errors.ActivityTaskTimedOutError`, a
        cancellation :class:`~greenflow.errors.CancelledError`, after the ``retry`` policy
        (if any) gave up. Each call, and each retry, is a ``ScheduleActivityTask`` command:
        adding, removing or reordering calls changes the command sequence. Outside workflow
        code it raises :class:`~greenflow.errors.WorkflowError` (the unbound-method form
        ``SomeActivities.method(instance, ...)`` calls the plain function).
        """
        run = getattr(getcurrent(), "gf_run", None)
        if run is None:
            if args and isinstance(args[0], self.cls):
                return self.method.fn(*args, **kwargs)
            name = f"{self.cls.__qualname__}.{self.method.name}"
            raise WorkflowError(
                f"{name}() was called outside a workflow run: through the class it schedules the activity "
                f"from workflow code; to run the method here, call it on an instance "
                f"({self.cls.__qualname__}(...).{self.method.name}(...))")
        activity_type = self.activity_type
        # The converter that will decode the result (the workflow's, when the activity names
        # none) learns the signature's dataclasses here, before any result: code decides.
        register_signature(self.method.fn, activity_type.converter or run.converter)
        options = current_activity_options()
        policy = options.get("retry") or activity_type.retry
        result: R
        if policy is None:
            result = run.schedule_activity(activity_type, args, kwargs, options).result()
        else:
            result = retry_call(policy, lambda: run.schedule_activity(activity_type, args, kwargs, options).result())
        return result


class ActivityMethod(StubMethod[S, P, R]):
    """Descriptor made by ``@activity``; see the module docstring."""

    stub_class = ActivityStub

    if TYPE_CHECKING:  # what checkers see; the runtime is StubMethod.__get__
        @overload
        def __get__(self, obj: None, cls: type | None = None) -> ActivityStub[P, R]: ...

        @overload
        def __get__(self, obj: S, cls: type | None = None) -> Callable[P, R]: ...

        def __get__(self, obj: Any, cls: type | None = None) -> Any: ...


@overload
def activity(version: Callable[Concatenate[S, P], R]) -> ActivityMethod[S, P, R]: ...


@overload
def activity(version: str | None = None, name: str | None = None, *, schedule_to_start_timeout: Any = None,
             start_to_close_timeout: Any = None, schedule_to_close_timeout: Any = None, heartbeat_timeout: Any = None,
             task_list: str | None = None, task_priority: int | None = None, retry: Any = None, manual: bool = False,
             description: str | None = None) -> Callable[[Callable[Concatenate[S, P], R]], ActivityMethod[S, P, R]]: ...


def activity(version: Any = None, name: str | None = None, *, schedule_to_start_timeout: Any = None,
             start_to_close_timeout: Any = None, schedule_to_close_timeout: Any = None, heartbeat_timeout: Any = None,
             task_list: str | None = None, task_priority: int | None = None, retry: Any = None, manual: bool = False,
             description: str | None = None) -> Any:
    """Mark a method of an ``@activities`` class as an activity.

    ``name`` defaults to ``"<name_prefix or ClassName.><method>"``, ``version`` to the
    class's version or "1.0". Timeouts are seconds (int) or timedeltas; unset ones fall
    back to the class's, and are sent as unlimited ("NONE") when still unset. ``retry`` is a
    :class:`~greenflow.workflow.RetryPolicy` applied to calls from workflows; ``manual``
    means the activity completes later through ``ManualActivityCompletionClient``.
    """
    if callable(version) and not isinstance(version, str):  # bare @activity
        return activity()(version)

    def decorate(fn: Callable[Concatenate[S, P], R]) -> ActivityMethod[S, P, R]:
        where = getattr(fn, "__qualname__", repr(fn))
        problems: list[str] = []
        if isinstance(fn, (staticmethod, classmethod)) or not inspect.isfunction(fn):
            problems.append(f"@activity must decorate a plain method, not {type(fn).__name__}")
        problems += collect(
            version_problem(version) if version is not None else None,
            name_problem("name", name) if name is not None else None,
            name_problem("task_list", task_list) if task_list is not None else None,
            priority_problem(task_priority), retry_problem(retry), description_problem(description))
        durations = check_activity_timeouts(problems, schedule_to_start_timeout, start_to_close_timeout,
                                            schedule_to_close_timeout, heartbeat_timeout)
        if problems:
            raise DefinitionError(f"@activity on {where}: " + "; ".join(problems))
        return ActivityMethod(fn, dict(version=version, name=name, task_list=task_list, task_priority=task_priority,
                                       retry=retry, manual=bool(manual), description=description, **durations))

    return decorate


@overload
def activities(task_list: type[T]) -> type[T]: ...


@overload
def activities(task_list: str | None = None, schedule_to_start_timeout: Any = None, start_to_close_timeout: Any = None,
               schedule_to_close_timeout: Any = None, heartbeat_timeout: Any = None, name_prefix: str = "",
               version: str | None = None, task_priority: int | None = None,
               converter: Any = None) -> Callable[[type[T]], type[T]]: ...


def activities(task_list: Any = None, schedule_to_start_timeout: Any = None, start_to_close_timeout: Any = None,
               schedule_to_close_timeout: Any = None, heartbeat_timeout: Any = None, name_prefix: str = "",
               version: str | None = None, task_priority: int | None = None,
               converter: Any = None) -> Any:
    """Class decorator: defaults for the class's ``@activity`` methods (inherited ones too).

    Activity names are ``name_prefix + method`` (default prefix ``"ClassName."``).
    """
    if isinstance(task_list, type):  # bare @activities
        return activities()(task_list)

    def decorate(cls: type) -> type:
        if not isinstance(cls, type):
            raise DefinitionError(f"@activities decorates a class, not {cls!r}")
        problems = collect(
            name_problem("task_list", task_list) if task_list is not None else None,
            version_problem(version) if version is not None else None, priority_problem(task_priority))
        if not isinstance(name_prefix, str):
            problems.append("name_prefix must be a string")
        defaults = check_activity_timeouts(problems, schedule_to_start_timeout, start_to_close_timeout,
                                           schedule_to_close_timeout, heartbeat_timeout)
        table: dict[str, ActivityType] = {}
        names: dict[tuple[str, str], str] = {}
        found: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            found.update(vars(klass))
        for attr, value in found.items():
            if not isinstance(value, ActivityMethod):
                continue
            o = value.options
            prefix = name_prefix or f"{cls.__name__}."
            activity_name = o["name"] or f"{prefix}{attr}"
            if p := name_problem(f"activity name of {attr}", activity_name):
                problems.append(p)
            activity_version = o["version"] or version or "1.0"
            key = (activity_name, activity_version)
            if key in names:
                problems.append(f"methods {names[key]} and {attr} both define activity {activity_name} "
                                f"version {activity_version}")
            names[key] = attr
            timeouts = {t: o[t] if o[t] is not None else defaults[t] for t in ACTIVITY_TIMEOUTS}
            table[attr] = ActivityType(
                name=activity_name, version=activity_version, task_list=o["task_list"] or task_list,
                task_priority=o["task_priority"] if o["task_priority"] is not None else task_priority,
                retry=o["retry"], manual=o["manual"], description=o["description"] or _first_line(value.fn),
                converter=converter, **timeouts)
        if problems:
            raise DefinitionError(f"@activities on {cls.__qualname__}: " + "; ".join(problems))
        for attr in table:
            # Registered where the activity is defined, so every process that imports it
            # (a workflow-only worker too) decodes its dataclass results the same way.
            register_signature(found[attr].fn, converter)
        cls._gf_activity_types = table  # type: ignore[attr-defined]
        return cls

    return decorate


def _first_line(fn: Callable) -> str | None:
    doc = inspect.getdoc(fn)
    return doc.strip().splitlines()[0][:MAX_DESCRIPTION] if doc else None


def activity_types(obj: Any) -> list[tuple[ActivityType, Callable]]:
    """Return ``(ActivityType, bound method)`` pairs for an *instance* of an ``@activities`` class.

    That is what an activity worker registers and runs.

    Raises:
        DefinitionError: ``obj`` is a class (pass an instance) or not of an ``@activities`` class.
    """
    if isinstance(obj, type):
        raise DefinitionError(f"activity_types() needs an instance of {obj.__qualname__}, not the class")
    table = vars(type(obj)).get("_gf_activity_types")
    if table is None:
        raise DefinitionError(f"{type(obj).__qualname__} is not decorated with @activities")
    return [(activity_type, getattr(obj, attr)) for attr, activity_type in table.items()]


def declared_task_list(obj: Any) -> str | None:
    """The task list an ``@activities`` instance (or class) declares, or ``None``.

    The first one its activity types name (``@activities(task_list=...)`` or an
    ``@activity(task_list=...)``): where workflow code schedules its activities unless a
    call overrides it, so where a worker for it should poll.
    """
    cls = obj if isinstance(obj, type) else type(obj)
    table = vars(cls).get("_gf_activity_types") or {}
    return next((kind.task_list for kind in table.values() if kind.task_list), None)
