"""``greenflow worker``: run workflow and activity workers for the classes in modules."""

from __future__ import annotations

import argparse
import signal
from typing import Any

from ._common import DEFAULT_TASK_LIST, UsageError, add_command, command, connect
from ._definitions import activity_types_of, find_definitions


def add_commands(subparsers: Any) -> None:
    """Add ``worker``."""
    p = add_command(subparsers, "worker", "run workflow and/or activity workers for the classes in modules",
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


@command
def _worker(args: argparse.Namespace) -> int:
    from ..swf import patch_gevent
    patch_gevent()  # before botocore opens a socket: cooperative long polls and activities
    import gevent
    import gevent.event

    workflows, activity_objects = find_definitions(args.modules)
    if not workflows and not activity_objects:
        raise UsageError(f"no WorkflowDefinition subclasses or @activities found in {' '.join(args.modules)}")
    swf = connect(args)
    workers: list[Any] = []
    groups: dict[str, list[Any]] = {}
    from ..workflow._definition import workflow_types
    for cls in workflows:
        task_list = args.task_list or next((kind.task_list for kind in workflow_types(cls) if kind.task_list),
                                           None) or DEFAULT_TASK_LIST
        groups.setdefault(task_list, []).append(cls)
    from ..worker._workflow import WorkflowWorker
    for task_list, classes in groups.items():
        workers.append(WorkflowWorker(swf, args.domain, task_list, *classes, identity=args.identity,
                                      register=not args.no_register, pollers=args.pollers,
                                      fail_on_nondeterminism=args.fail_on_nondeterminism))
    activity_groups: dict[str, list[Any]] = {}
    for obj in activity_objects:
        task_list = args.task_list or next((kind.task_list for kind, _ in activity_types_of(obj) if kind.task_list),
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
