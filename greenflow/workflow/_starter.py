"""Who starts a workflow when an ``@execute`` method is called outside a workflow run.

``client.start(...)`` and ``with worker:`` install a *starter* here with :func:`use_starter`;
the ``@execute`` stub then calls ``starter.start_workflow(workflow_type, args, kwargs)`` and
returns whatever handle the starter returns. The starter lives in a contextvar so concurrent
greenlets (or threads) can each use their own.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Iterator, Protocol


class Starter(Protocol):
    """Anything that can start a workflow execution (the client implements it)."""

    def start_workflow(self, workflow_type: Any, args: tuple, kwargs: dict) -> Any:  # pragma: no cover
        """Start an execution of ``workflow_type`` with the given arguments; return a handle."""


_STARTER: contextvars.ContextVar[Starter | None] = contextvars.ContextVar("greenflow_starter", default=None)


def current_starter() -> Starter | None:
    """The starter installed by the innermost :func:`use_starter`, or None."""
    return _STARTER.get()


@contextlib.contextmanager
def use_starter(starter: Starter) -> Iterator[Starter]:
    """Make ``starter`` start workflows called as plain functions inside the ``with`` block."""
    if not callable(getattr(starter, "start_workflow", None)):
        raise TypeError(f"a starter needs a start_workflow(workflow_type, args, kwargs) method; got {starter!r}")
    token = _STARTER.set(starter)
    try:
        yield starter
    finally:
        _STARTER.reset(token)
