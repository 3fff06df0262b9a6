"""``Replayer``: check saved histories against the current workflow code (tests, CI, CLI)."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Iterable

from greenflow.converter import DEFAULT_CONVERTER

from ._decider import build_registry
from ._history import decided_events, infer_run_id
from ._run import WorkflowRun
from ._stack import StackTrace
from ._split import DecisionResult, build_decisions


@dataclasses.dataclass
class ReplayResult:
    """What a replay found.

    Attributes:
        decisions: the decisions the code would make now (if the history ends with an open
            decision task), in SWF's wire form.
        closed: whether history closed the run.
        events: how many events were replayed.
    """

    decisions: list[dict]
    closed: bool
    events: int
    run: Any = dataclasses.field(default=None, repr=False)


class Replayer:
    """Replays histories of the given workflow classes without any service.

    ``replay(history)`` raises :class:`~greenflow.errors.NonDeterministicWorkflowError` when
    the code no longer produces the commands the history recorded. ``history`` is a list of
    events, a ``GetWorkflowExecutionHistory``-style dict with ``events`` (optionally with
    ``workflowExecution``), a JSON string, or use :meth:`replay_file`.
    """

    def __init__(self, workflow_classes: Iterable[type], *, converter: Any = None):
        self.registry = build_registry(workflow_classes)
        self.converter = converter or DEFAULT_CONVERTER

    def replay(self, history: Any, *, workflow_id: str | None = None, run_id: str | None = None) -> ReplayResult:
        """Replay one history; see the class docstring.

        ``run_id`` seeds ``random()``/``uuid4()`` and default child workflow IDs; give it when
        the history does not say it (``workflowExecution``); otherwise it is guessed from
        default child IDs in the history, if any.
        """
        events, workflow_id, run_id = self._events(history, workflow_id, run_id)
        run = WorkflowRun(self.registry, workflow_id, run_id, self.converter)
        try:
            run.feed(events)
            result = DecisionResult([])
            if events and events[-1]["eventType"] == "DecisionTaskStarted":
                result = build_decisions(run, events[-1]["eventId"])
            return ReplayResult(result.decisions, run.closed, run.events_handled)
        finally:
            run.kill()

    def stack_trace(self, history: Any, *, workflow_id: str | None = None, run_id: str | None = None) -> StackTrace:
        """Replay the *decided* part of ``history`` and return where each live greenlet stands.

        ``history`` is taken in the same forms as :meth:`replay`. A decision in flight (a
        trailing ``DecisionTaskStarted``) is left out, so no workflow code runs live.
        """
        events, workflow_id, run_id = self._events(history, workflow_id, run_id)
        run = WorkflowRun(self.registry, workflow_id, run_id, self.converter)
        try:
            run.feed(decided_events(events))
            return run.stack_trace()
        finally:
            run.kill()

    @staticmethod
    def _events(history: Any, workflow_id: str | None, run_id: str | None) -> tuple[list[dict], str, str]:
        if isinstance(history, str):
            history = json.loads(history)
        execution: dict[str, Any] = {}
        if isinstance(history, dict):
            execution = history.get("workflowExecution") or {}
            history = history["events"]
        events = list(history)
        return (events, workflow_id or execution.get("workflowId", ""),
                run_id or execution.get("runId") or infer_run_id(events))

    def replay_file(self, path: str | os.PathLike, **kwargs: Any) -> ReplayResult:
        """Replay a history saved as JSON (a list of events or ``{"events": [...]}``)."""
        with open(path, encoding="utf-8") as f:
            return self.replay(json.load(f), **kwargs)
