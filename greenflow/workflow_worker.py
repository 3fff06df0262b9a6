"""The workflow worker's former home; it is :class:`greenflow.worker.WorkflowWorker` now.

Kept so that ``from greenflow.workflow_worker import WorkflowWorker`` keeps working.
"""

from __future__ import annotations

from .worker._workflow import WorkflowWorker

__all__ = ["WorkflowWorker"]
