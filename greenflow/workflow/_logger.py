"""A replay-aware logger: lines logged while replaying history are dropped.

``greenflow.workflow.logger.info("shipped %s", order)`` logs once per execution even
though the code runs again on every replay; records carry ``workflow_id`` and ``run_id``.
Outside workflow code it logs normally.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from greenlet import getcurrent


class WorkflowLogger(logging.LoggerAdapter):
    """``logging.LoggerAdapter`` on ``greenflow.workflow.user`` that skips replayed lines."""

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 - logging's name
        """False while replaying (those lines were logged the first time), else the logger's answer."""
        run = getattr(getcurrent(), "gf_run", None)
        if run is not None and run.replaying:
            return False
        return self.logger.isEnabledFor(level)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        """Add ``workflow_id`` and ``run_id`` to the record's ``extra`` inside workflow code."""
        run = getattr(getcurrent(), "gf_run", None)
        if run is not None:
            extra = dict(kwargs.get("extra") or {})
            extra.setdefault("workflow_id", run.workflow_id)
            extra.setdefault("run_id", run.run_id)
            kwargs["extra"] = extra
        return msg, kwargs


#: The workflow logger (see the module docstring).
logger = WorkflowLogger(logging.getLogger("greenflow.workflow.user"), {})
