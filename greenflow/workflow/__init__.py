"""Workflows: definitions, and the API workflow code calls.

Workflow code is plain blocking Python replayed deterministically in greenlets. Define a
workflow by subclassing :class:`WorkflowDefinition` and marking its entry point with
``@execute(version=...)``; inside it, call activities through their class
(``Orders.ship(order)``), other workflows' ``@execute`` methods (child workflows), and the
functions here instead of their non-deterministic Python equivalents: :func:`sleep` for
``time.sleep``, :func:`now` for ``datetime.now``, :func:`random`/:func:`uuid4`,
:func:`spawn`/:func:`wait_all`/:func:`wait_any` for threads, :func:`wait_until` for
conditions. Calling the Python equivalents from workflow code raises
:class:`~greenflow.errors.NonDeterministicCallError` on the first run, naming the line
(:func:`allow_unsafe_calls` for code that knows what it does; ``_guards`` says how).

Determinism: every replay must make the same commands in the same order. Adding,
removing or reordering calls that make commands (activities, child workflows, ``sleep``,
timers, ``side_effect``, ``version``, signals and cancel requests to other executions) in
code that running executions have passed through breaks their replay; guard such changes
with :func:`version`.

This package exports only what workflow code uses. The machinery that runs it (the
``Decider`` and the ``Replayer``) is exported from :mod:`greenflow.worker` (and the
``Replayer`` from :mod:`greenflow.testing`).

Layout (private modules, re-exported here; ``tests/test_exports.py`` pins the names):
``_definition`` (decorators, types), ``_descriptor`` (methods that are remote calls
through the class), ``_validate`` (decoration-time checks; SWF's rules are in
:mod:`greenflow._swf_rules`), ``_options`` (option context managers), ``_api``
(functions for workflow code), ``_hub`` (scheduler, :class:`Future`), ``_commands``
(commands and their decisions), ``_guards`` (clocks & co. refused in workflow code),
``_run`` (one run's replay state), ``_decider``
(decision tasks, live-run cache), ``_split`` (decision limits), ``_replayer``,
``_retry`` (``RetryPolicy``), ``_retrying`` (``retry()``), ``_watchdog`` (the step
timeout), ``_logger``, ``_starter``, ``_stack`` (stack traces of a replayed run, the
built-in ``__stack_trace`` query). The argument wire form, shared with the activity worker
and the client, is :mod:`greenflow._payload`.
"""

from __future__ import annotations

import importlib

from ._api import (DEFAULT_VERSION, continue_as_new, info, is_replaying, now, random, request_cancel_external,
                   shield, side_effect, signal_external, sleep, spawn, start_timer, uuid4, version, wait_all, wait_any,
                   wait_until)
from ._guards import allow_unsafe_calls
from ._definition import WorkflowDefinition, WorkflowType, execute, query, signal, workflow, workflow_type_of, \
    workflow_types
from ._hub import Future
from ._logger import logger
from ._options import activity_options, current_workflow_options, workflow_options
from ._retry import RetryPolicy
from ._retrying import retry
from ._state import WorkflowInfo
from ._stack import STACK_TRACE_QUERY, Awaited, GreenletStack, StackTrace

__all__ = [
    "Awaited", "DEFAULT_VERSION", "Future", "GreenletStack", "RetryPolicy", "STACK_TRACE_QUERY", "StackTrace",
    "WorkflowDefinition", "WorkflowInfo", "WorkflowType", "activity_options", "allow_unsafe_calls", "continue_as_new",
    "current_workflow_options", "execute", "info", "is_replaying", "logger", "now", "query", "random",
    "request_cancel_external", "retry", "shield", "side_effect", "signal", "signal_external", "sleep", "spawn",
    "start_timer", "uuid4", "version", "wait_all", "wait_any", "wait_until", "workflow", "workflow_options",
    "workflow_type_of", "workflow_types",
]

#: Runtime machinery this package exported before it moved to :mod:`greenflow.worker`;
#: still reachable here so existing code keeps working, but not exported (not in
#: ``__all__`` or ``dir()``).
_MOVED_TO_WORKER = {"Decider": "._decider", "DecisionResult": "._split", "Replayer": "._replayer",
                    "ReplayResult": "._replayer"}


def __getattr__(name: str) -> object:
    module = _MOVED_TO_WORKER.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)


# Show users greenflow.workflow.X, not the private module it lives in.
for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and getattr(_obj, "__module__", "").startswith(__name__ + "._"):
        try:
            _obj.__module__ = __name__
        except (AttributeError, TypeError):
            pass
del _name, _obj
