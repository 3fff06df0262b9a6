"""The ``greenflow`` commands besides ``server``: workers, executions, histories, replay.

Added to :mod:`greenflow.cli` through its extension point (``add_commands(subparsers)``).

Exit statuses: 0 success; 1 the operation failed (an SWF fault, a failed workflow with
``--wait``, a non-deterministic history for ``replay``); 2 bad usage (unknown module, bad
JSON, no workflow classes found).

This module imports nothing heavy at import time: ``greenflow worker`` must monkey-patch
gevent before botocore is imported.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import importlib.util
import json
import logging
import os
import signal
import sys
from typing import Any, Iterable

from .._swf_rules import event_attributes

log = logging.getLogger("greenflow.cli")

DEFAULT_DOMAIN = "greenflow"
DEFAULT_TASK_LIST = "default"


class UsageError(Exception):
    """A command-line mistake: reported with exit status 2."""


# --------------------------------------------------------------------------- registration


def add_commands(subparsers: Any) -> None:
    """Add the execution and worker commands to the ``greenflow`` command.

    They are ``worker``, ``start``, ``signal``, ``cancel``, ``terminate``, ``list``,
    ``describe``, ``history`` and ``replay``.
    """
    p = _parser(subparsers, "worker", "run workflow and/or activity workers for the classes in modules",
                "Import each MODULE (a dotted name or a .py file; MODULE:NAME picks one object), find "
                "WorkflowDefinition subclasses and @activities classes or instances, and run a workflow "
                "worker and/or an activity worker for them until SIGINT/SIGTERM.")
    p.add_argument("modules", nargs="+", metavar="MODULE[:NAME]")
    p.add_argument("--task-list", help="task list to poll (default: the one the classes declare, else 'default')")
    p.add_argument("--pool-size", type=int, default=100, help="concurrent activities (default: 100)")
    p.add_argument("--pollers", type=int, default=2, help="concurrent decision polls (default: 2)")
    p.add_argument("--activity-pollers", type=int, default=None,
                   help="concurrent activity polls (default: the activity worker's, at most --pool-size)")
    p.add_argument("--identity", help="worker identity recorded in history (default: host:pid)")
    p.add_argument("--no-register", action="store_true", help="do not register the domain and types")
    p.add_argument("--fail-on-nondeterminism", action="store_true",
                   help="fail executions whose history no longer matches the code")
    p.set_defaults(func=_worker)

    p = _parser(subparsers, "start", "start a workflow execution",
                "Start an execution of workflow type NAME (or MODULE:Class.method) and print its IDs.")
    p.add_argument("workflow", help="workflow type name, or MODULE:Class.method")
    p.add_argument("--version", help="workflow type version (required with a type name)")
    p.add_argument("--input", default=None,
                   help='arguments as JSON: a list of positional arguments, or {"args": [...], "kwargs": {...}}')
    p.add_argument("--workflow-id", help="workflow ID (default: a new UUID)")
    p.add_argument("--task-list", help="decision task list (default: the type's registered default)")
    p.add_argument("--tag", action="append", dest="tags", help="a tag (up to 5)")
    p.add_argument("--execution-timeout", help="execution start-to-close timeout, seconds")
    p.add_argument("--task-timeout", help="decision task start-to-close timeout, seconds")
    p.add_argument("--wait", action="store_true", help="wait for the result and print it as JSON")
    p.add_argument("--timeout", type=float, help="with --wait: give up after this many seconds")
    p.set_defaults(func=_start)

    p = _parser(subparsers, "signal", "signal a workflow execution")
    p.add_argument("workflow_id")
    p.add_argument("name", help="signal name")
    p.add_argument("--input", default=None, help="signal arguments as JSON (a list, or a single value)")
    p.add_argument("--run-id")
    p.set_defaults(func=_signal)

    p = _parser(subparsers, "cancel", "request cancellation of a workflow execution")
    p.add_argument("workflow_id")
    p.add_argument("--run-id")
    p.set_defaults(func=_cancel)

    p = _parser(subparsers, "terminate", "terminate a workflow execution")
    p.add_argument("workflow_id")
    p.add_argument("--run-id")
    p.add_argument("--reason")
    p.add_argument("--details")
    p.add_argument("--child-policy", choices=["TERMINATE", "REQUEST_CANCEL", "ABANDON"])
    p.set_defaults(func=_terminate)

    p = _parser(subparsers, "list", "list workflow executions (open by default)")
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

    p = _parser(subparsers, "describe", "describe a workflow execution")
    p.add_argument("workflow_id")
    p.add_argument("--run-id")
    p.add_argument("--json", action="store_true", help="print SWF's answer as JSON")
    p.set_defaults(func=_describe)

    p = _parser(subparsers, "history", "show (or save) the history of a workflow execution")
    p.add_argument("workflow_id")
    p.add_argument("--run-id")
    p.add_argument("--json", metavar="FILE", help="save the events as JSON to FILE ('-': standard output)")
    p.set_defaults(func=_history)

    p = _parser(subparsers, "replay", "replay a saved history against today's workflow code",
                "Replay FILE (saved by 'greenflow history --json', or SWF's GetWorkflowExecutionHistory "
                "output) with the workflow classes found in MODULE; exit 0 if the code reproduces the "
                "history, 1 with a report if it is non-deterministic.", connects=False)
    p.add_argument("file")
    p.add_argument("modules", nargs="+", metavar="MODULE[:NAME]")
    p.set_defaults(func=_replay)


def _parser(subparsers: Any, name: str, help: str, description: str | None = None, *,
            connects: bool = True) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(name, help=help, description=description or help[0].upper() + help[1:] + ".")
    if connects:
        parser.add_argument("--endpoint", help="SWF endpoint URL (default: GREENFLOW_ENDPOINT, else Amazon SWF "
                                               "if a region is configured, else the embedded local service)")
        parser.add_argument("--region", help="AWS region of Amazon SWF")
        parser.add_argument("--domain", default=os.environ.get("GREENFLOW_DOMAIN", DEFAULT_DOMAIN),
                            help=f"SWF domain (default: GREENFLOW_DOMAIN or {DEFAULT_DOMAIN!r})")
    return parser


def _command(func):
    """Map errors to messages and exit statuses, the same way for every command."""
    def run(args: argparse.Namespace) -> int:
        from ..errors import GreenflowError
        try:
            return func(args)
        except UsageError as error:
            print(f"greenflow {args.command}: error: {error}", file=sys.stderr)
            return 2
        except GreenflowError as error:
            print(f"greenflow {args.command}: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130
    run.__name__ = func.__name__
    return run


def _connect(args: argparse.Namespace) -> Any:
    from ..swf import connect
    return connect(endpoint=args.endpoint, region=args.region)


def _client(args: argparse.Namespace, task_list: str | None = None) -> Any:
    from ..client import WorkflowClient
    return WorkflowClient(_connect(args), args.domain, task_list)


def _handle(args: argparse.Namespace) -> Any:
    return _client(args).get_handle(args.workflow_id, getattr(args, "run_id", None),
                                    pin=bool(getattr(args, "run_id", None)))


def _json_arg(text: str | None, what: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{what} is not valid JSON ({error}): {text!r}") from None


def _call_args(value: Any) -> tuple[list, dict]:
    """``--input`` JSON → (args, kwargs): a list is positional args, ``{"args", "kwargs"}`` both."""
    if value is None:
        return [], {}
    if isinstance(value, dict) and set(value) <= {"args", "kwargs"} and value:
        return list(value.get("args") or []), dict(value.get("kwargs") or {})
    if isinstance(value, list):
        return value, {}
    return [value], {}


def _print_json(value: Any, stream=None) -> None:
    json.dump(value, stream or sys.stdout, indent=2, default=_json_default, sort_keys=True)
    (stream or sys.stdout).write("\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _when(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, (int, float)):
        value = _dt.datetime.fromtimestamp(value, _dt.timezone.utc)
    if isinstance(value, _dt.datetime):
        return value.astimezone(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"
    return str(value)


# --------------------------------------------------------------------------- finding code


def _import(spec: str) -> tuple[Any, str | None]:
    """Import ``MODULE`` or ``MODULE:NAME`` (MODULE may be a path to a .py file)."""
    module_name, _, attribute = spec.partition(":")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        if module_name.endswith(".py") or os.sep in module_name:
            path = os.path.abspath(module_name)
            if not os.path.isfile(path):
                raise UsageError(f"no such file: {module_name}")
            name = os.path.splitext(os.path.basename(path))[0]
            module = sys.modules.get(name)
            if module is None or os.path.abspath(getattr(module, "__file__", "") or "") != path:
                loader_spec = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(loader_spec)
                sys.modules[name] = module
                loader_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except UsageError:
        raise
    except ImportError as error:
        raise UsageError(f"cannot import {module_name!r}: {error}") from None
    return module, attribute or None


def _resolve(module: Any, attribute: str) -> Any:
    obj = module
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageError(f"{module.__name__} has no {attribute!r}") from None
    return obj


def _is_workflow_class(obj: Any) -> bool:
    from ..workflow._definition import WorkflowDefinition, workflow_types
    if not (isinstance(obj, type) and issubclass(obj, WorkflowDefinition) and obj is not WorkflowDefinition):
        return False
    try:
        return bool(workflow_types(obj))
    except Exception:
        return False


def _activity_types_of(obj: Any) -> list:
    from ..activity._definition import activity_types
    try:
        return list(activity_types(obj))
    except Exception:
        return []


def _is_activities_class(obj: Any) -> bool:
    """Whether ``obj`` is a class decorated with ``@activities``."""
    return isinstance(obj, type) and "_gf_activity_types" in vars(obj)


def find_definitions(specs: Iterable[str]) -> tuple[list[type], list[Any]]:
    """The workflow classes and activity *instances* named by ``MODULE[:NAME]`` specs.

    ``@activities`` classes are instantiated with no arguments, unless the module already
    holds an instance of them.
    """
    workflows: list[type] = []
    activity_objects: list[Any] = []
    for spec in specs:
        module, attribute = _import(spec)
        candidates = [_resolve(module, attribute)] if attribute else list(vars(module).values())
        instances = [obj for obj in candidates if not isinstance(obj, type) and _is_activities_class(type(obj))]
        for obj in candidates:
            if _is_workflow_class(obj):
                if obj not in workflows:
                    workflows.append(obj)
            elif isinstance(obj, type) and _is_activities_class(obj):
                if any(isinstance(instance, obj) for instance in instances + activity_objects):
                    continue
                try:
                    instance = obj()
                except TypeError as error:
                    if attribute:
                        raise UsageError(f"cannot create {obj.__name__}() for its activities ({error}); "
                                         "name an instance instead (MODULE:instance)") from None
                    log.warning("skipping %s: cannot create it without arguments (%s)", obj.__name__, error)
                    continue
                if _activity_types_of(instance):
                    activity_objects.append(instance)
        for instance in instances:
            if all(instance is not known for known in activity_objects):
                activity_objects.append(instance)
    return workflows, activity_objects


# --------------------------------------------------------------------------- worker


@_command
def _worker(args: argparse.Namespace) -> int:
    from ..swf import patch_gevent
    patch_gevent()  # before botocore opens a socket: cooperative long polls and activities
    import gevent
    import gevent.event

    workflows, activity_objects = find_definitions(args.modules)
    if not workflows and not activity_objects:
        raise UsageError(f"no WorkflowDefinition subclasses or @activities found in {' '.join(args.modules)}")
    swf = _connect(args)
    workers: list[Any] = []
    groups: dict[str, list] = {}
    from ..workflow._definition import workflow_types
    for cls in workflows:
        task_list = args.task_list or next((kind.task_list for kind in workflow_types(cls) if kind.task_list),
                                           None) or DEFAULT_TASK_LIST
        groups.setdefault(task_list, []).append(cls)
    from ..workflow_worker import WorkflowWorker
    for task_list, classes in groups.items():
        workers.append(WorkflowWorker(swf, args.domain, task_list, *classes, identity=args.identity,
                                      register=not args.no_register, pollers=args.pollers,
                                      fail_on_nondeterminism=args.fail_on_nondeterminism))
    activity_groups: dict[str, list] = {}
    for obj in activity_objects:
        task_list = args.task_list or next((kind.task_list for kind, _ in _activity_types_of(obj) if kind.task_list),
                                           None) or DEFAULT_TASK_LIST
        activity_groups.setdefault(task_list, []).append(obj)
    if activity_groups:
        from ..activity import ActivityWorker
        for task_list, objects in activity_groups.items():
            kwargs: dict[str, Any] = {"pool_size": args.pool_size, "register": not args.no_register}
            if args.activity_pollers:
                kwargs["pollers"] = min(args.activity_pollers, args.pool_size)
            if args.identity:
                kwargs["identity"] = args.identity
            workers.append(ActivityWorker(swf, args.domain, task_list, *objects, **kwargs))
    for worker in workers:
        print(f"greenflow worker: {_describe_worker(worker)}", flush=True)
    stopping = gevent.event.Event()
    signals = 0

    def on_signal() -> None:
        # The first SIGINT/SIGTERM stops gracefully; a second one interrupts everything.
        nonlocal signals
        signals += 1
        stopping.set()
        if signals > 1:
            print("greenflow worker: second signal, interrupting", flush=True)
            for worker in workers:
                gevent.spawn(worker.stop, 0)

    watchers = [gevent.signal_handler(signum, on_signal) for signum in (signal.SIGINT, signal.SIGTERM)]
    try:
        for worker in workers:
            worker.start()
        print("greenflow worker: running (SIGINT/SIGTERM to stop)", flush=True)
        stopping.wait()
        print("greenflow worker: stopping gracefully (finishing running tasks)", flush=True)
        gevent.joinall([gevent.spawn(worker.stop) for worker in workers])
    finally:
        for watcher in watchers:
            watcher.cancel()
    print("greenflow worker: stopped", flush=True)
    return 0


def _describe_worker(worker: Any) -> str:
    kind = type(worker).__name__
    if hasattr(worker, "workflow_classes"):
        names = ", ".join(cls.__name__ for cls in worker.workflow_classes)
    else:
        names = ", ".join(sorted({kind.name for kind in getattr(worker, "activity_types", ())}))
    return f"{kind} on {worker.domain}/{worker.task_list}" + (f" for {names}" if names else "")


# --------------------------------------------------------------------------- executions


@_command
def _start(args: argparse.Namespace) -> int:
    from types import SimpleNamespace
    call_args, call_kwargs = _call_args(_json_arg(args.input, "--input"))
    if ":" in args.workflow:
        module, attribute = _import(args.workflow)
        if not attribute:
            raise UsageError("MODULE: needs a Class.method after the colon")
        target = _resolve(module, attribute)
    else:
        if not args.version:
            raise UsageError("--version is required when the workflow is given by type name")
        target = SimpleNamespace(name=args.workflow, version=args.version, task_list=None,
                                 execution_start_to_close_timeout=None, task_start_to_close_timeout=None,
                                 task_priority=None, child_policy=None)
    client = _client(args)
    handle = client.start(target, *call_args, workflow_id=args.workflow_id, task_list=args.task_list,
                          tags=args.tags, execution_start_to_close_timeout=args.execution_timeout,
                          task_start_to_close_timeout=args.task_timeout, **call_kwargs)
    print(f"started workflow {handle.workflow_id} run {handle.run_id}", flush=True)
    if args.wait:
        _print_json(handle.result(timeout=args.timeout))
    return 0


@_command
def _signal(args: argparse.Namespace) -> int:
    value = _json_arg(args.input, "--input")
    call_args, call_kwargs = _call_args(value)
    _handle(args).signal(args.name, *call_args, **call_kwargs)
    print(f"signalled {args.workflow_id}: {args.name}")
    return 0


@_command
def _cancel(args: argparse.Namespace) -> int:
    _handle(args).cancel()
    print(f"requested cancellation of {args.workflow_id}")
    return 0


@_command
def _terminate(args: argparse.Namespace) -> int:
    _handle(args).terminate(reason=args.reason, details=args.details, child_policy=args.child_policy)
    print(f"terminated {args.workflow_id}")
    return 0


@_command
def _list(args: argparse.Namespace) -> int:
    client = _client(args)
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
    if not args.closed and not args.status:
        infos.extend(client.list_open(limit=args.limit, **filters))
    if args.closed or args.all or args.status:
        infos.extend(client.list_closed(limit=args.limit, close_status=args.status, **filters))
    if args.json:
        _print_json(infos)
        return 0
    if not infos:
        print("no executions")
        return 0
    rows = [("WORKFLOW ID", "RUN ID", "TYPE", "STATUS", "STARTED", "CLOSED")]
    for info in infos:
        kind = info["workflowType"]
        status = info["executionStatus"] if info["executionStatus"] == "OPEN" else info.get("closeStatus", "CLOSED")
        rows.append((info["execution"]["workflowId"], info["execution"]["runId"],
                     f"{kind['name']}@{kind['version']}", status, _when(info.get("startTimestamp")),
                     _when(info.get("closeTimestamp"))))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


@_command
def _describe(args: argparse.Namespace) -> int:
    answer = _handle(args).describe()
    if args.json:
        _print_json(answer)
        return 0
    info = answer["executionInfo"]
    config = answer.get("executionConfiguration", {})
    counts = answer.get("openCounts", {})
    status = info["executionStatus"] if info["executionStatus"] == "OPEN" else info.get("closeStatus")
    lines = [
        ("workflow", f"{info['execution']['workflowId']} (run {info['execution']['runId']})"),
        ("type", f"{info['workflowType']['name']}@{info['workflowType']['version']}"),
        ("status", status + (" (cancel requested)" if info.get("cancelRequested") else "")),
        ("started", _when(info.get("startTimestamp"))),
        ("closed", _when(info.get("closeTimestamp"))),
        ("task list", config.get("taskList", {}).get("name", "-")),
        ("timeouts", f"execution {config.get('executionStartToCloseTimeout', '-')} s, "
                     f"decision task {config.get('taskStartToCloseTimeout', '-')} s"),
        ("child policy", config.get("childPolicy", "-")),
        ("tags", ", ".join(info.get("tagList") or []) or "-"),
        ("open", ", ".join(f"{key[4:]}={value}" for key, value in sorted(counts.items())) or "-"),
    ]
    if info.get("parent"):
        lines.append(("parent", f"{info['parent']['workflowId']} (run {info['parent']['runId']})"))
    for key, value in lines:
        print(f"{key + ':':14}{value}")
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


@_command
def _history(args: argparse.Namespace) -> int:
    handle = _handle(args)
    events = handle.history()
    if args.json:
        # The execution is saved too: replay seeds workflow.random()/uuid4() from the run ID.
        saved = {"workflowExecution": {"workflowId": handle.workflow_id, "runId": handle.latest_run_id},
                 "events": events}
        if args.json == "-":
            _print_json(saved)
        else:
            with open(args.json, "w", encoding="utf-8") as stream:
                _print_json(saved, stream)
            print(f"saved {len(events)} events to {args.json}")
        return 0
    for event in events:
        print(f"{event['eventId']:>5}  {_when(event.get('eventTimestamp'))}  {event['eventType']:<42} {_summary(event)}"
              .rstrip())
    return 0


# --------------------------------------------------------------------------- replay


def load_history(path: str) -> tuple[list[dict], dict]:
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


@_command
def _replay(args: argparse.Namespace) -> int:
    from ..errors import NonDeterministicWorkflowError
    events, execution = load_history(args.file)
    workflows, _ = find_definitions(args.modules)
    if not workflows:
        raise UsageError(f"no WorkflowDefinition subclasses found in {' '.join(args.modules)}")
    from ..workflow._replayer import Replayer
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
