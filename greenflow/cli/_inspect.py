"""The commands that explain an execution: ``describe`` (why it is where it is) and ``query``.

``describe`` reads the run's history once and says what the run waits for: pending
activities (attempt, last failure, how long they have waited to start, the task list's
backlog), open timers, open child workflows, signals received, decision tasks that timed
out (a worker that did not answer: non-deterministic or blocked code), and for a closed
run how it closed, with its reason and details decoded. Given the workflow code
(``--module``), it also replays the history to show where each workflow greenlet is
blocked (the built-in ``__stack_trace`` query) and whether today's code still matches.

``query`` evaluates a ``@query`` method (or ``__stack_trace``) by replaying the history
with the code of ``--module``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import time
from typing import Any

from .._swf_rules import event_attributes
from .. import swf as _swf  # its names load on first use: botocore only after gevent patching
from ._common import INPUT_HELP, UsageError, add_command, call_args, command, json_arg, print_json, when, \
    workflow_client
from ._definitions import find_definitions


def add_commands(subparsers: Any) -> None:
    """Add ``describe`` and ``query``."""
    p = add_command(subparsers, "describe", "explain where a workflow execution is and why",
                    "Describe a workflow execution: status, what it waits for (activities, timers, children, "
                    "signals), decision tasks its workers did not answer, and how it closed. With --module, also "
                    "where the workflow code is blocked (file:line per greenlet, by replaying its history).")
    p.add_argument("workflow_id")
    p.add_argument("--run-id")
    p.add_argument("--module", action="append", dest="modules", metavar="MODULE[:NAME]",
                   help="the workflow code (a module or .py file): shows where the code is blocked")
    p.add_argument("--json", action="store_true", help="print the description as JSON")
    p.set_defaults(func=_describe)

    p = add_command(subparsers, "query", "evaluate a @query method of a workflow execution",
                    "Evaluate the @query method NAME of a workflow execution by replaying its history with the "
                    "workflow code of --module (no worker is involved). NAME __stack_trace shows where each "
                    "workflow greenlet is blocked. Prints the result as JSON.")
    p.add_argument("workflow_id")
    p.add_argument("name", help="query name (a @query method, or __stack_trace)")
    p.add_argument("--input", default=None, help=INPUT_HELP)
    p.add_argument("--run-id")
    p.add_argument("--module", action="append", dest="modules", metavar="MODULE[:NAME]", required=True,
                   help="the workflow code (a module or .py file)")
    p.add_argument("--json", action="store_true", help="print the result as JSON (the default; for symmetry)")
    p.set_defaults(func=_query)


def _handle(args: argparse.Namespace, workflows: list[type] | None = None) -> Any:
    client = workflow_client(args)
    if workflows:
        client.workflow_classes = tuple(workflows)
    return client.get_handle(args.workflow_id, args.run_id, pin=bool(args.run_id))


def _workflows(specs: list[str] | None) -> list[type]:
    if not specs:
        return []
    workflows, _ = find_definitions(specs)
    if not workflows:
        raise UsageError(f"no WorkflowDefinition subclasses found in {' '.join(specs)}")
    return workflows


@command
def _query(args: argparse.Namespace) -> int:
    positional, keywords = call_args(json_arg(args.input, "--input"))
    handle = _handle(args, _workflows(args.modules))
    if keywords:
        raise UsageError("queries take positional arguments only (--input '[...]')")
    try:
        value = handle.query(args.name, *positional)
    except ValueError as error:
        raise UsageError(str(error)) from None
    print_json(value)
    return 0


# --------------------------------------------------------------------------- describe


def _seconds(timestamp: Any) -> float:
    if isinstance(timestamp, _dt.datetime):
        return timestamp.timestamp()
    return float(timestamp or 0)


def _decode(handle: Any, text: str | None) -> Any:
    """A payload as the workflow's converter reads it; the raw text if it cannot be read."""
    if not text:
        return None
    try:
        value = handle.converter.loads(text)
    except Exception:  # noqa: BLE001 - shown raw: describe must explain, not fail
        return text
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    return value


def describe_history(handle: Any, events: list[dict[str, Any]], now: float) -> dict[str, Any]:
    """What a run waits for and how it ended, from its history (plain JSON-ready data)."""
    activities: dict[int, dict[str, Any]] = {}
    failures: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    timers: dict[str, dict[str, Any]] = {}
    children: dict[str, dict[str, Any]] = {}
    signals: list[dict[str, Any]] = []
    decision_timeouts: list[dict[str, Any]] = []
    closed: dict[str, Any] | None = None
    for event in events:
        kind, a, at = event["eventType"], event_attributes(event), _seconds(event.get("eventTimestamp"))
        if kind == "ActivityTaskScheduled":
            key = (a["activityType"]["name"], a.get("input"))
            activities[event["eventId"]] = {
                "id": a["activityId"], "type": f"{a['activityType']['name']} {a['activityType']['version']}",
                "task_list": a["taskList"]["name"], "scheduled": at, "started": None, "worker": None,
                "attempt": 1 + len(failures.get(key, [])), "key": key}
        elif kind == "ActivityTaskStarted" and a["scheduledEventId"] in activities:
            activities[a["scheduledEventId"]].update(started=at, worker=a.get("identity"))
        elif kind in ("ActivityTaskCompleted", "ActivityTaskFailed", "ActivityTaskTimedOut", "ActivityTaskCanceled"):
            entry = activities.pop(int(a.get("scheduledEventId") or 0), None)
            if entry is not None and kind in ("ActivityTaskFailed", "ActivityTaskTimedOut"):
                reason = a.get("reason") or f"timed out ({a.get('timeoutType')})"
                failures.setdefault(entry["key"], []).append({
                    "at": at, "reason": reason, "details": _decode(handle, a.get("details"))})
        elif kind == "TimerStarted":
            timers[a["timerId"]] = {"id": a["timerId"], "seconds": int(a["startToFireTimeout"]),
                                    "fires": at + int(a["startToFireTimeout"])}
        elif kind in ("TimerFired", "TimerCanceled"):
            timers.pop(a["timerId"], None)
        elif kind == "StartChildWorkflowExecutionInitiated":
            children[a["workflowId"]] = {"workflow_id": a["workflowId"], "run_id": None,
                                         "type": f"{a['workflowType']['name']} {a['workflowType']['version']}"}
        elif kind == "ChildWorkflowExecutionStarted" and a["workflowExecution"]["workflowId"] in children:
            children[a["workflowExecution"]["workflowId"]]["run_id"] = a["workflowExecution"]["runId"]
        elif kind.startswith("ChildWorkflowExecution") or kind == "StartChildWorkflowExecutionFailed":
            execution = a.get("workflowExecution") or {}
            children.pop(str(execution.get("workflowId") or a.get("workflowId")), None)
        elif kind == "WorkflowExecutionSignaled":
            signals.append({"name": a["signalName"], "at": at, "input": _decode(handle, a.get("input"))})
        elif kind == "DecisionTaskTimedOut":
            decision_timeouts.append({"at": at, "timeout": a.get("timeoutType")})
        elif kind == "DecisionTaskCompleted":
            decision_timeouts.clear()  # answered since: an earlier timeout no longer explains anything
        elif kind.startswith("WorkflowExecution") and kind not in (
                "WorkflowExecutionStarted", "WorkflowExecutionSignaled", "WorkflowExecutionCancelRequested"):
            closed = {"event": kind, "at": at, "reason": a.get("reason"), "cause": a.get("cause"),
                      "timeout": a.get("timeoutType"), "new_run_id": a.get("newExecutionRunId"),
                      "details": _decode(handle, a.get("details")), "result": _decode(handle, a.get("result"))}
    pending = []
    for entry in activities.values():
        history_of_failures = failures.get(entry.pop("key")) or []
        last = history_of_failures[-1] if history_of_failures else None
        waiting = None if entry["started"] else round(now - entry["scheduled"], 1)
        pending.append({**entry, "waiting_to_start": waiting, "last_failure": last})
    return {"pending_activities": pending, "open_timers": list(timers.values()),
            "open_children": list(children.values()), "signals_received": signals,
            "unanswered_decision_tasks": decision_timeouts, "close": closed}


def _backlogs(handle: Any, task_lists: set[str]) -> dict[str, int]:
    counts = {}
    for name in sorted(task_lists):
        answer = handle.swf.call("CountPendingActivityTasks", domain=handle.domain, taskList={"name": name})
        counts[name] = int(answer.get("count", 0))
    return counts


def _activity_pollers(handle: Any) -> dict[str, Any]:
    """Activity polls waiting per task list (a greenflow service tells; SWF's API cannot)."""
    pollers = _swf.waiting_pollers(handle.swf, handle.domain)
    if pollers.problem:
        return {"known": False, "problem": pollers.problem, "waiting": {}}
    return {"known": True, "problem": "",
            "waiting": {name: count for (name, kind), count in pollers.waiting.items() if kind == "activity"}}


def _code_view(handle: Any, workflows: list[type]) -> dict[str, Any]:
    """Replay with today's code: the stack trace, or why the code no longer matches."""
    from ..errors import GreenflowError
    from ..workflow import STACK_TRACE_QUERY
    try:
        return {"stack_trace": handle.query(STACK_TRACE_QUERY, workflow_classes=workflows), "replay_error": None}
    except (GreenflowError, ValueError) as error:
        return {"stack_trace": None, "replay_error": f"{type(error).__name__}: {error}"}


@command
def _describe(args: argparse.Namespace) -> int:
    workflows = _workflows(args.modules)
    handle = _handle(args, workflows)
    answer = handle.describe()
    info = answer["executionInfo"]
    config = answer.get("executionConfiguration", {})
    explained = describe_history(handle, handle.history(), time.time())
    explained["backlogs"] = _backlogs(handle, {a["task_list"] for a in explained["pending_activities"]})
    explained["pollers"] = _activity_pollers(handle)
    if workflows:
        explained.update(_code_view(handle, workflows))
    if args.json:
        print_json({"describe": answer, **explained})
        return 0
    status = info["executionStatus"] if info["executionStatus"] == "OPEN" else info.get("closeStatus")
    lines = [
        ("workflow", f"{info['execution']['workflowId']} (run {info['execution']['runId']})"),
        ("type", f"{info['workflowType']['name']}@{info['workflowType']['version']}"),
        ("status", status + (" (cancel requested)" if info.get("cancelRequested") else "")),
        ("started", when(info.get("startTimestamp"))),
        ("closed", when(info.get("closeTimestamp"))),
        ("task list", config.get("taskList", {}).get("name", "-")),
        ("timeouts", f"execution {config.get('executionStartToCloseTimeout', '-')} s, "
                     f"decision task {config.get('taskStartToCloseTimeout', '-')} s"),
        ("child policy", config.get("childPolicy", "-")),
        ("tags", ", ".join(info.get("tagList") or []) or "-"),
    ]
    if info.get("parent"):
        lines.append(("parent", f"{info['parent']['workflowId']} (run {info['parent']['runId']})"))
    for key, value in lines:
        print(f"{key + ':':14}{value}")
    for line in _explanation(explained):
        print(line)
    return 0


def _explanation(d: dict[str, Any]) -> list[str]:
    """The human-readable part of ``describe``: what the run waits for, and why."""
    out = []
    close = d["close"]
    if close is not None:
        out.append(f"closed by:    {close['event']} at {when(close['at'])}")
        for key in ("reason", "cause", "timeout", "new_run_id"):
            if close.get(key):
                out.append(f"  {key}: {close[key]}")
        for key in ("details", "result"):
            if close.get(key) is not None:
                text = close[key] if isinstance(close[key], str) else json.dumps(close[key], default=str)
                out.append(f"  {key}: " + text.strip().replace("\n", "\n    "))
    for a in d["pending_activities"]:
        state = (f"running on {a['worker']} since {when(a['started'])}" if a["started"]
                 else f"waiting {a['waiting_to_start']} s to start")
        out.append(f"activity:     {a['type']} id={a['id']} attempt {a['attempt']} on task list "
                   f"{a['task_list']!r}: {state}")
        if a["last_failure"]:
            failure = a["last_failure"]
            out.append(f"  last failure ({when(failure['at'])}): {failure['reason']}"
                       + (f": {failure['details']}" if failure["details"] not in (None, "") else ""))
        if not a["started"]:
            backlog = d["backlogs"].get(a["task_list"], 0)
            pollers = d.get("pollers") or {"known": False}
            if not pollers["known"]:
                question = f"is an activity worker polling {a['task_list']!r} in this domain?"
            elif pollers["waiting"].get(a["task_list"]):
                question = (f"{pollers['waiting'][a['task_list']]} activity poll(s) are waiting on it now "
                            "(workers busy or just reconnecting?)")
            else:
                question = (f"no activity worker is polling {a['task_list']!r} in this domain now: start one "
                            "for this task list")
            out.append(f"  task list {a['task_list']!r} has {backlog} task(s) waiting for a worker: {question}")
    for t in d["open_timers"]:
        out.append(f"timer:        id={t['id']} {t['seconds']} s, fires at {when(t['fires'])}")
    for c in d["open_children"]:
        out.append(f"child:        {c['type']} {c['workflow_id']} (run {c['run_id'] or 'not started yet'})")
    for s in d["signals_received"]:
        out.append(f"signal:       {s['name']} received at {when(s['at'])} input={json.dumps(s['input'], default=str)}")
    if d["unanswered_decision_tasks"]:
        last = d["unanswered_decision_tasks"][-1]
        out.append(f"decisions:    {len(d['unanswered_decision_tasks'])} decision task(s) not answered since the last "
                   f"decision (last timed out at {when(last['at'])}): the workflow worker failed to decide; its log "
                   "has the report (non-deterministic or blocked code); pass --module to replay here")
    if d.get("replay_error"):
        out.append(f"replay:       today's code does not replay this history: {d['replay_error']}")
    trace = d.get("stack_trace")
    if trace:
        for g in trace["greenlets"]:
            out.append(f"blocked:      {g['name']} at {g['location']} in {g['function']}()")
            for awaited in g["awaiting"]:
                out.append(f"  awaits {awaited['description']}")
    elif "stack_trace" not in d and close is None:
        out.append("code:         pass --module MODULE (the workflow code) to see where it is blocked")
    if close is None and not (d["pending_activities"] or d["open_timers"] or d["open_children"] or trace):
        out.append("waiting:      nothing is scheduled: the workflow waits for a signal or a condition "
                   "(or for its first decision)")
    return out
