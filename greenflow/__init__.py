"""greenflow: durable workflows in plain blocking Python, on the Amazon SWF API.

The package is laid out by the architecture (``docs/design.md`` in the repository explains it):

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
    # `X as X`: an explicit re-export, so `mypy --strict` accepts `greenflow.connect` & co.
    from greenflow.activity import ManualActivityCompletionClient as ManualActivityCompletionClient
    from greenflow.activity import activities as activities
    from greenflow.client import WorkflowClient as WorkflowClient
    from greenflow.client import WorkflowHandle as WorkflowHandle
    from greenflow.client import workflow_starter as workflow_starter
    from greenflow.local import LocalService as LocalService
    from greenflow.swf import SWFClient as SWFClient
    from greenflow.swf import connect as connect
    from greenflow.worker import ActivityWorker as ActivityWorker
    from greenflow.worker import Worker as Worker
    from greenflow.worker import WorkflowWorker as WorkflowWorker
    from greenflow.workflow import RetryPolicy as RetryPolicy
    from greenflow.workflow import WorkflowDefinition as WorkflowDefinition
    from greenflow.workflow import activity_options as activity_options
    from greenflow.workflow import execute as execute
    from greenflow.workflow import query as query
    from greenflow.workflow import signal as signal
    from greenflow.workflow import workflow_options as workflow_options
