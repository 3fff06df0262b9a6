"""Turn a run's unconfirmed commands into one RespondDecisionTaskCompleted's decisions.

SWF takes at most 1 MB per request and allows 1,000 open activities, timers and children
per execution (a ``ScheduleActivityTask`` past the limit fails with
``OPEN_ACTIVITIES_LIMIT_EXCEEDED``). So the decisions are the longest *prefix* of the
commands, in the order the code made them, that fits both; the rest stay pending in the run
and go out with a later decision task:

* held back for the open limit: closing activities/timers/children schedule the next
  decision task anyway;
* held back for size: a zero-second timer ``greenflow-continue-<startedEventId>`` is added
  so SWF schedules another decision task at once. Replay ignores its events.

A decision that holds commands back carries ``executionContext = "greenflow:split"``, so
replay knows the missing commands are not a sign of changed code. The closing decision is
always last, and only sent when nothing is held back.
"""

from __future__ import annotations

import dataclasses
import json

from ._history import CONTINUE_TIMER_PREFIX, SPLIT_CONTEXT

#: Budget for the decisions of one request: 1 MB less room for the token and envelope.
MAX_DECISION_BYTES = 1_000_000
#: SWF's per-execution limits of open activities, timers and children.
MAX_OPEN = 1000


@dataclasses.dataclass
class DecisionResult:
    """The answer to one decision task, ready for ``RespondDecisionTaskCompleted``."""

    decisions: list[dict]
    execution_context: str | None = None


def build_decisions(run, started_event_id: int, max_bytes: int = MAX_DECISION_BYTES,
                    max_open: int = MAX_OPEN) -> DecisionResult:
    """Decisions for ``run``'s pending commands; see the module docstring."""
    open_counts = dict(run.open)
    decisions: list[dict] = []
    size = 2
    held_for_size = held_for_limit = False
    continue_timer = {"decisionType": "StartTimer", "startTimerDecisionAttributes": {
        "timerId": f"{CONTINUE_TIMER_PREFIX}{started_event_id}", "startToFireTimeout": "0"}}
    reserve = len(json.dumps(continue_timer)) + 1
    for command in run.pending.values():
        kind = command.kind if command.kind in open_counts else None
        # One timer slot stays free for the continue timer.
        limit = max_open - 1 if kind == "timer" else max_open
        if kind is not None and open_counts[kind] >= limit:
            held_for_limit = True
            break
        decision = command.decision()
        cost = len(json.dumps(decision, separators=(",", ":"))) + 1
        if size + cost + reserve > max_bytes:
            held_for_size = True
            break
        size += cost
        decisions.append(decision)
        if kind is not None:
            open_counts[kind] += 1
    held = held_for_size or held_for_limit
    close = run.close
    if close is not None and not close.event_id and not held:
        decision = close.decision()
        if size + len(json.dumps(decision, separators=(",", ":"))) + 1 > max_bytes:
            held_for_size = held = True
        else:
            decisions.append(decision)
    if held_for_size and open_counts["timer"] < max_open:
        decisions.append(continue_timer)
    return DecisionResult(decisions, SPLIT_CONTEXT if held else None)
