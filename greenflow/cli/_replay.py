"""``greenflow replay``: replay a saved history against today's workflow code."""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from typing import Any

from .._swf_rules import event_attributes
from ..errors import NonDeterministicWorkflowError
from ._common import UsageError, add_command, command
from ._definitions import find_definitions


def add_commands(subparsers: Any) -> None:
    """Add ``replay``."""
    p = add_command(subparsers, "replay", "replay a saved history against today's workflow code",
                    "Replay FILE (saved by 'greenflow history --json', or SWF's GetWorkflowExecutionHistory "
                    "output) with the workflow classes found in MODULE; exit 0 if the code reproduces the "
                    "history, 1 with a report if it is non-deterministic.", connects=False)
    p.add_argument("file")
    p.add_argument("modules", nargs="+", metavar="MODULE[:NAME]")
    p.set_defaults(func=_replay)


def load_history(path: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Return ``(events, execution)`` from a saved history file.

    The file is one saved by ``greenflow history --json``, a bare list of events, or SWF's
    ``GetWorkflowExecutionHistory`` output.

    ``execution`` is ``{"workflowId", "runId"}`` when the file has it, else ``{}``.
    Epoch-second timestamps become timezone-aware datetimes, as botocore gives them.
    """
    try:
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise UsageError(f"{path} is not JSON: {error}") from None
    events = data.get("events") if isinstance(data, dict) else data
    execution = (data.get("workflowExecution") or {}) if isinstance(data, dict) else {}
    if not isinstance(events, list) or not all(isinstance(e, dict) and "eventType" in e for e in events):
        raise UsageError(f"{path} holds no history events (expected {{\"events\": [...]}} or a list)")
    for event in events:
        stamp = event.get("eventTimestamp")
        if isinstance(stamp, (int, float)):
            event["eventTimestamp"] = _dt.datetime.fromtimestamp(stamp, _dt.timezone.utc)
    return events, execution


@command
def _replay(args: argparse.Namespace) -> int:
    events, execution = load_history(args.file)
    workflows, _ = find_definitions(args.modules)
    if not workflows:
        raise UsageError(f"no WorkflowDefinition subclasses found in {' '.join(args.modules)}")
    from ..worker import Replayer  # the workflow runtime loads when the command runs, not before
    started = event_attributes(events[0]) if events else {}
    kind = started.get("workflowType", {})
    try:
        Replayer(workflows).replay({"events": events, "workflowExecution": execution})
    except NonDeterministicWorkflowError as error:
        print(f"NON-DETERMINISTIC: {args.file} ({kind.get('name')}@{kind.get('version')}, {len(events)} events) "
              f"does not replay with today's code:", file=sys.stderr)
        print(f"  {error}", file=sys.stderr)
        if error.event_id is not None:
            print(f"  event {error.event_id}: history has {error.event}", file=sys.stderr)
        if error.command:
            print(f"  the code did: {error.command}", file=sys.stderr)
        print("  Fix: keep the old command sequence for running executions (greenflow.workflow.version), "
              "or register the changed code as a new workflow version.", file=sys.stderr)
        return 1
    print(f"OK: {len(events)} events of {kind.get('name')}@{kind.get('version')} replay deterministically "
          f"with {', '.join(cls.__name__ for cls in workflows)}")
    return 0
