"""Workers: what runs workflow code and activities, polling SWF task lists.

* :class:`Worker` – ``Worker(client, domain, workflows=[...], activities=[...])`` starts one
  workflow worker and one activity worker per task list the classes declare (``_worker.py``).
* :class:`WorkflowWorker` – polls decision tasks, decides them by replaying workflow code
  (``_workflow.py``).
* :class:`ActivityWorker` – polls activity tasks and runs them on a gevent pool
  (``_activity.py``).
* :class:`Decider` (decision tasks → decisions, with the live-run cache) and
  :class:`Replayer` (a saved history against today's code) – the machinery that runs
  workflow code, for tools and tests; they live in the workflow runtime
  (``greenflow/workflow/_decider.py``, ``_replayer.py``).
* ``_loop.py`` – what both share, written once: settings (``swf``, ``register``,
  ``shutdown_timeout``...), start/stop/run/``with``, SIGINT/SIGTERM, outage backoff.

Imported on first use, so ``import greenflow.worker`` loads neither botocore nor gevent's
worker machinery before an entry point has monkey-patched the process.
"""

from __future__ import annotations

from .. import _lazy

_LAZY = {
    "Worker": "._worker",
    "WorkflowWorker": "._workflow",
    "ActivityWorker": "._activity",
    "WorkerShutdownError": "._activity",
    # The machinery that runs workflow code, for tools and tests (it lives next to the
    # workflow runtime it drives):
    "Decider": "greenflow.workflow._decider",
    "DecisionResult": "greenflow.workflow._split",
    "Replayer": "greenflow.workflow._replayer",
    "ReplayResult": "greenflow.workflow._replayer",
}

__all__ = ["ActivityWorker", "Decider", "DecisionResult", "ReplayResult", "Replayer", "Worker",
           "WorkerShutdownError", "WorkflowWorker"]

__getattr__, __dir__ = _lazy.lazy_attributes(globals(), _LAZY)
