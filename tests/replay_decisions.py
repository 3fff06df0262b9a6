"""Decide every decision task of a saved history again, in this (fresh) process.

``python tests/replay_decisions.py MODULE HISTORY.json`` imports only ``MODULE`` (plus
greenflow), replays the history up to each ``DecisionTaskStarted`` that history shows
answered, and prints JSON: the decisions made at each one, and whether the modules named
in ``GREENFLOW_ABSENT`` (comma-separated) were still absent afterwards. The determinism
tests compare that with what a process that has everything imported decides.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from typing import Any


def decisions_per_task(workflow_classes: list[type], events: list[dict], run_id: str,
                       workflow_id: str = "") -> list[list[dict]]:
    """The decisions today's code makes at each answered decision task of ``events``."""
    from greenflow.workflow import Replayer

    replayer = Replayer(workflow_classes)
    answered = {e["decisionTaskCompletedEventAttributes"]["startedEventId"] for e in events
                if e["eventType"] == "DecisionTaskCompleted"}
    out = []
    for index, event in enumerate(events):
        if event["eventType"] == "DecisionTaskStarted" and event["eventId"] in answered:
            result = replayer.replay(events[:index + 1], run_id=run_id, workflow_id=workflow_id)
            out.append(result.decisions)
    replayer.replay(events, run_id=run_id, workflow_id=workflow_id)  # the whole history matches too
    return out


def workflow_classes_of(module: Any) -> list[type]:
    """The ``WorkflowDefinition`` subclasses defined in ``module``."""
    from greenflow.workflow import WorkflowDefinition

    return [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, WorkflowDefinition)
            and v is not WorkflowDefinition and v.__module__ == module.__name__]


def main() -> None:
    """See the module docstring."""
    module = importlib.import_module(sys.argv[1])
    with open(sys.argv[2], encoding="utf-8") as f:
        history = json.load(f)
    execution = history["workflowExecution"]
    decisions = decisions_per_task(workflow_classes_of(module), history["events"], execution["runId"],
                                   execution["workflowId"])
    absent = [name for name in os.environ.get("GREENFLOW_ABSENT", "").split(",") if name]
    print(json.dumps({"decisions": decisions, "absent": [n for n in absent if n not in sys.modules]}))


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()
