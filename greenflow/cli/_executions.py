"""The commands on executions: ``start``, ``signal``, ``cancel``, ``terminate``, ``list`` and
``history`` (``describe`` and ``query`` are in :mod:`._inspect`)."""

from __future__ import annotations

import argparse
from types import SimpleNamespace
from typing import Any

from .._swf_rules import event_attributes
from ..errors import UnknownResourceError
from ._common import INPUT_HELP, UsageError, add_command, call_args, command, json_arg, print_json, when, \
    workflow_client
from ._definitions import import_spec, resolve


def add_commands(subparsers: Any) -> None:
    """Add ``start``, ``signal``, ``cancel``, ``terminate``, ``list`` and ``history``."""
    p = add_command(subparsers, "start", "start a workflow execution",
                    "Start an execution of workflow type NAME (or MODULE:Class.method) and print its IDs.")
    p.add_argument("workflow", help="workflow type name, or MODULE:Class.method")
    p.add_argument("--version", help="workflow type version (required with a type name)")
    p.add_argument("--input", default=None, help=INPUT_HELP)
    p.add_argument("--workflow-id", help="workflow ID (default: a new UUID)")
    p.add_argument("--task-list", help="decision task list (default: the type's registered default)")
    p.add_argument("--tag", action="append", dest="tags", help="a tag (up to 5)")
    p.add_argument("--execution-timeout", help="execution start-to-close timeout, seconds")
    p.add_argument("--task-timeout", help="decision task start-to-close timeout, seconds")
    p.add_argument("--wait", action="store_true", help="wait for the result and print it as JSON")
    p.add_argument("--timeout", type=float, help="with --wait: give up after this many seconds")
    p.set_defaults(func=_start)

    p = add_command(subparsers, "signal", "signal a workflow execution")
    p.add_argument("workflow_id")
    p.add_argument("name", help="signal name")
    p.add_argument("--input", default=None, help=INPUT_HELP)
    p.add_argument("--run-id")
    p.set_defaults(func=_signal)

    p = add_command(subparsers, "cancel", "request cancellation of a workflow execution")
    p.add_argument("workflow_id")
    p.add_argument("--run-id")
    p.set_defaults(func=_cancel)

    p = add_command(subparsers, "terminate", "terminate a workflow execution")
    p.add_argument("workflow_id")
    p.add_argument("--run-id")
    p.add_argument("--reason")
    p.add_argument("--details")
    p.add_argument("--child-policy", choices=["TERMINATE", "REQUEST_CANCEL", "ABANDON"])
    p.set_defaults(func=_terminate)

    p = add_command(subparsers, "list", "list workflow executions (open by default)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--closed", action="store_true", help="closed executions instead of open ones")
    group.add_argument("--all", action="store_true", help="open and closed executions")
    p.add_argument("--workflow-id", help="only this workflow ID")
    p.add_argument("--type", dest="workflow_type", help="only this workflow type name (NAME or NAME:VERSION)")
    p.add_argument("--tag", help="only executions with this tag")
    p.add_argument("--status", choices=["COMPLETED", "FAILED", "CANCELED", "TERMINATED", "CONTINUED_AS_NEW",
                                        "TIMED_OUT"], help="only closed executions with this close status")
    p.add_argument("--limit", type=int, default=100, help="at most this many of each kind (default: 100)")
    p.add_argument("--json", action="store_true", help="print SWF's WorkflowExecutionInfo objects as JSON")
    p.set_defaults(func=_list)

    p = add_command(subparsers, "history", "show (or save) the history of a workflow execution")
    p.add_argument("workflow_id")
    p.add_argument("--run-id")
    p.add_argument("--json", action="store_true",
                   help="print the events as JSON (the form `greenflow replay` reads)")
    p.add_argument("--output", "-o", metavar="FILE", help="save the events as JSON to FILE (for `greenflow replay`)")
    p.set_defaults(func=_history)


def _handle(args: argparse.Namespace) -> Any:
    return workflow_client(args).get_handle(args.workflow_id, getattr(args, "run_id", None),
                                            pin=bool(getattr(args, "run_id", None)))


@command
def _start(args: argparse.Namespace) -> int:
    positional, keywords = call_args(json_arg(args.input, "--input"))
    if ":" in args.workflow:
        module, attribute = import_spec(args.workflow)
        if not attribute:
            raise UsageError("MODULE: needs a Class.method after the colon")
        target = resolve(module, attribute)
    else:
        if not args.version:
            raise UsageError("--version is required when the workflow is given by type name")
        target = SimpleNamespace(name=args.workflow, version=args.version, task_list=None,
                                 execution_start_to_close_timeout=None, task_start_to_close_timeout=None,
                                 task_priority=None, child_policy=None)
    client = workflow_client(args)
    try:
        handle = client.start(target, *positional, workflow_id=args.workflow_id, task_list=args.task_list,
                              tags=args.tags, execution_start_to_close_timeout=args.execution_timeout,
                              task_start_to_close_timeout=args.task_timeout, **keywords)
    except TypeError as error:  # --input does not fit the @execute method's signature
        raise UsageError(f"--input: {error}") from None
    print(f"started workflow {handle.workflow_id} run {handle.run_id}", flush=True)
    if args.wait:
        print_json(handle.result(timeout=args.timeout))
    return 0


@command
def _signal(args: argparse.Namespace) -> int:
    positional, keywords = call_args(json_arg(args.input, "--input"))
    _handle(args).signal(args.name, *positional, **keywords)
    print(f"signalled {args.workflow_id}: {args.name}")
    return 0


@command
def _cancel(args: argparse.Namespace) -> int:
    _handle(args).cancel()
    print(f"requested cancellation of {args.workflow_id}")
    return 0


@command
def _terminate(args: argparse.Namespace) -> int:
    _handle(args).terminate(reason=args.reason, details=args.details, child_policy=args.child_policy)
    print(f"terminated {args.workflow_id}")
    return 0


@command
def _list(args: argparse.Namespace) -> int:
    client = workflow_client(args)
    filters: dict[str, Any] = {}
    if args.workflow_id:
        filters["workflow_id"] = args.workflow_id
    if args.workflow_type:
        name, _, version = args.workflow_type.partition(":")
        filters["workflow_type"] = (name, version) if version else name
    if args.tag:
        filters["tag"] = args.tag
    if len(filters) > 1 or (filters and args.status):
        raise UsageError("SWF filters on one of --workflow-id, --type, --tag, --status at a time")
    infos: list[dict] = []
    try:
        if not args.closed and not args.status:
            infos.extend(client.list_open(limit=args.limit, **filters))
        if args.closed or args.all or args.status:
            infos.extend(client.list_closed(limit=args.limit, close_status=args.status, **filters))
    except UnknownResourceError:
        # A first `greenflow list` on a fresh machine: say why, and what makes the domain.
        raise UsageError(f"domain {args.domain!r} does not exist yet: workers register their domain when they "
                         "start (greenflow worker ... --domain NAME), or pass --domain") from None
    if args.json:
        print_json(infos)
        return 0
    if not infos:
        print("no executions")
        return 0
    rows = [("WORKFLOW ID", "RUN ID", "TYPE", "STATUS", "STARTED", "CLOSED")]
    for info in infos:
        kind = info["workflowType"]
        status = info["executionStatus"] if info["executionStatus"] == "OPEN" else info.get("closeStatus", "CLOSED")
        rows.append((info["execution"]["workflowId"], info["execution"]["runId"],
                     f"{kind['name']}@{kind['version']}", status, when(info.get("startTimestamp")),
                     when(info.get("closeTimestamp"))))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def _summary(event: dict) -> str:
    attributes = event_attributes(event)
    parts = []
    for key in ("activityType", "workflowType"):
        if key in attributes:
            parts.append(f"{attributes[key]['name']}@{attributes[key]['version']}")
    for key in ("activityId", "timerId", "signalName", "markerName", "workflowId", "reason", "cause",
                "timeoutType", "startToFireTimeout", "identity"):
        if attributes.get(key):
            parts.append(f"{key}={attributes[key]}")
    for key in ("input", "result", "details"):
        value = attributes.get(key)
        if value:
            text = value if len(value) <= 60 else value[:57] + "..."
            parts.append(f"{key}={text}")
    return " ".join(parts)


@command
def _history(args: argparse.Namespace) -> int:
    handle = _handle(args)
    events = handle.history()
    # The execution is saved too: replay seeds workflow.random()/uuid4() from the run ID.
    saved = {"workflowExecution": {"workflowId": handle.workflow_id, "runId": handle.latest_run_id},
             "events": events}
    if args.output:
        with open(args.output, "w", encoding="utf-8") as stream:
            print_json(saved, stream)
        print(f"saved {len(events)} events to {args.output}")
        return 0
    if args.json:
        print_json(saved)
        return 0
    for event in events:
        print(f"{event['eventId']:>5}  {when(event.get('eventTimestamp'))}  {event['eventType']:<42} {_summary(event)}"
              .rstrip())
    return 0
