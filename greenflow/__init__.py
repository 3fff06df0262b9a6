"""greenflow: durable workflows in plain blocking Python, on the Amazon SWF API.

The package is laid out by the architecture (see DESIGN.md):

* :mod:`greenflow.workflow` – the workflow side: definitions and the API workflow code
  calls; the deterministic runtime (hub, runs, decider, replayer) in its private modules
  (no I/O);
* :mod:`greenflow.activity` – the activity side: definitions, the activity context;
* :mod:`greenflow.worker` – what runs code: ``Worker``, ``WorkflowWorker``,
  ``ActivityWorker`` over one shared lifecycle, and the ``Decider``/``Replayer``;
* :mod:`greenflow.client` – starting and watching executions;
* :mod:`greenflow.swf` – the SWF edge: the one place that builds botocore clients and
  decides which calls to retry;
* :mod:`greenflow.local` – the local SWF service (SQLite, the SWF wire protocol);
* :mod:`greenflow.cli` – the ``greenflow`` command; :mod:`greenflow.testing` – helpers
  for tests; :mod:`greenflow.errors`, :mod:`greenflow.converter` – exceptions and payloads.

The names below are loaded on first use, so ``import greenflow`` imports neither botocore
nor gevent: an application can still monkey-patch gevent after importing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from greenflow import _lazy

__version__ = "0.1.0"

# public name -> module that defines it. The ``workflow`` and ``activity`` decorators are
# not here: those names are the subpackages, ``from greenflow.workflow import workflow``.
_EXPORTS = {
    "connect": "greenflow.swf",
    "SWFClient": "greenflow.swf",
    "WorkflowDefinition": "greenflow.workflow",
    "execute": "greenflow.workflow",
    "signal": "greenflow.workflow",
    "query": "greenflow.workflow",
    "workflow_options": "greenflow.workflow",
    "activity_options": "greenflow.workflow",
    "RetryPolicy": "greenflow.workflow",
    "activities": "greenflow.activity",
    "ActivityWorker": "greenflow.worker",
    "Worker": "greenflow.worker",
    "ManualActivityCompletionClient": "greenflow.activity",
    "WorkflowWorker": "greenflow.worker",
    "WorkflowClient": "greenflow.client",
    "WorkflowHandle": "greenflow.client",
    "workflow_starter": "greenflow.client",
    "LocalService": "greenflow.local",
}

__all__ = [
    "ActivityWorker", "LocalService", "ManualActivityCompletionClient", "RetryPolicy", "SWFClient", "Worker",
    "WorkflowClient", "WorkflowDefinition", "WorkflowHandle", "WorkflowWorker", "__version__", "activities",
    "activity_options", "connect", "execute", "query", "signal", "workflow_options", "workflow_starter",
]


__getattr__, __dir__ = _lazy.lazy_attributes(globals(), _EXPORTS)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from greenflow.activity import ManualActivityCompletionClient, activities
    from greenflow.client import WorkflowClient, WorkflowHandle, workflow_starter
    from greenflow.local import LocalService
    from greenflow.swf import SWFClient, connect
    from greenflow.workflow import (RetryPolicy, WorkflowDefinition, activity_options, execute, query,
                                    signal, workflow_options)
    from greenflow.worker import ActivityWorker, Worker, WorkflowWorker
