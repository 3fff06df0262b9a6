"""Activities: ``@activities``/``@activity`` definitions, the activity context.

Layout: definitions live in ``_definition.py``; the context (``_context.py``:
``context()``, ``heartbeat()``) and the manual completion client (``_manual.py``) are
imported on first use. ``ActivityWorker`` is :class:`greenflow.worker.ActivityWorker`,
also reachable here (loaded on first use, so defining activities does not load the worker
machinery). ``tests/test_exports.py`` pins this surface.
"""

from __future__ import annotations

from .. import _lazy
from ._definition import ActivityType, activities, activity, activity_types

_LAZY = {
    "ActivityWorker": "greenflow.worker",
    "ActivityContext": "._context",
    "context": "._context",
    "heartbeat": "._context",
    "ManualActivityCompletionClient": "._manual",
}

__all__ = ["ActivityContext", "ActivityType", "ActivityWorker", "ManualActivityCompletionClient", "activities",
           "activity", "activity_types", "context", "heartbeat"]


__getattr__, __dir__ = _lazy.lazy_attributes(globals(), _LAZY)

for _obj in (ActivityType, activities, activity, activity_types):
    _obj.__module__ = __name__
del _obj
