"""Methods that are plain methods on an instance and remote calls through the class.

``@execute`` and ``@activity`` methods share this shape: through an instance they are the
plain method (so activities are unit-tested like any class, and workers run the bound
method); through the class (``Orders.run``, ``Shipping.ship``) they are a *stub* whose call
starts a workflow or schedules an activity.

Typed for checkers with a ``ParamSpec``: ``StubMethod[S, P, R]`` wraps a method
``(self: S, *P) -> R``; through the class it is a ``ClassStub[P, R]`` (so a call's
arguments are checked against ``P``), through an instance the bound ``Callable[P, R]``.
"""

from __future__ import annotations

import functools
import types
from typing import Any, Callable, Concatenate, Generic, ParamSpec, TypeVar, overload

S = TypeVar("S")
P = ParamSpec("P")
R = TypeVar("R", covariant=True)


class ClassStub(Generic[P, R]):
    """A decorated method reached through its class; subclasses define ``__call__``."""

    __slots__ = ("method", "cls")
    #: The word ``repr()`` shows ("workflow", "activity").
    kind = "method"

    def __init__(self, method: "StubMethod[Any, P, R]", cls: type):
        self.method = method
        self.cls = cls

    @property
    def __name__(self) -> str:
        return self.method.name

    def __repr__(self) -> str:
        return f"<{self.kind} {self.cls.__qualname__}.{self.method.name}>"


class StubMethod(Generic[S, P, R]):
    """Descriptor holding a decorated function and its options; see the module docstring."""

    #: The :class:`ClassStub` subclass returned through the class.
    stub_class: type[ClassStub[Any, Any]] = ClassStub

    def __init__(self, fn: Callable[Concatenate[S, P], R], options: dict[str, Any]):
        self.fn = fn
        self.options = options
        self.name = fn.__name__
        functools.update_wrapper(self, fn)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, cls: type | None = None) -> ClassStub[P, R]: ...

    @overload
    def __get__(self, obj: S, cls: type | None = None) -> Callable[P, R]: ...

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        if obj is not None:
            return types.MethodType(self.fn, obj)
        return self.stub_class(self, cls if cls is not None else type(obj))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the plain function (reached only through the class ``__dict__``)."""
        return self.fn(*args, **kwargs)
