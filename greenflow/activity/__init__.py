"""Activities: ``@activities``/``@activity`` definitions, the activity worker, the activity context.

Layout: definitions live in ``_definition.py``; the worker (``_worker.py``), the context
(``_context.py``: ``context()``, ``heartbeat()``) and the manual completion client
(``_manual.py``) are imported on first use, so defining activities does not load the worker
machinery. ``tests/test_exports.py`` pins this surface.
"""

from __future__ import annotations

import importlib

from ._definition import ActivityType, activities, activity, activity_types

_LAZY = {
    "ActivityWorker": "._worker",
    "ActivityContext": "._context",
    "context": "._context",
    "heartbeat": "._context",
    "ManualActivityCompletionClient": "._manual",
}

__all__ = ["ActivityContext", "ActivityType", "ActivityWorker", "ManualActivityCompletionClient", "activities",
           "activity", "activity_types", "context", "heartbeat"]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


for _obj in (ActivityType, activities, activity, activity_types):
    _obj.__module__ = __name__
del _obj
