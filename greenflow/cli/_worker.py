"""``greenflow worker``: run workflow and activity workers for the classes in modules."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import UsageError, add_command, command, connect
from ._definitions import find_definitions


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
    p.add_argument("--metrics-port", type=int, metavar="PORT",
                   help="serve Prometheus metrics at http://127.0.0.1:PORT/metrics (needs the 'metrics' extra)")
    p.add_argument("--processes", type=int, default=None,
                   help="run N worker processes against one service (more cores); default: this process")
    p.set_defaults(func=_worker)


@command
def _worker(args: argparse.Namespace) -> int:
    if args.processes is not None:
        return _worker_processes(args)
    from ..swf import patch_gevent
    patch_gevent()  # before botocore opens a socket: cooperative long polls and activities
    # Imported after patching, which is why these imports are here and not at the top.
    from ..worker import Worker

    workflows, activity_objects = find_definitions(args.modules)
    if not workflows and not activity_objects:
        raise UsageError(f"no WorkflowDefinition subclasses or @activities found in {' '.join(args.modules)}")
    activity_options: dict[str, Any] = {"pool_size": args.pool_size}
    if args.activity_pollers:
        activity_options["pollers"] = min(args.activity_pollers, args.pool_size)
    worker = Worker(connect(args), args.domain, workflows=workflows, activities=activity_objects,
                    task_list=args.task_list, identity=args.identity, register=not args.no_register,
                    workflow_options={"pollers": args.pollers, "fail_on_nondeterminism": args.fail_on_nondeterminism},
                    activity_options=activity_options)
    for each in worker.workers:
        print(f"greenflow worker: {_describe_worker(each)}", flush=True)
    if args.metrics_port is not None:
        try:
            from ..metrics import enable_metrics, metrics_address
        except ImportError as error:
            raise UsageError(f"--metrics-port needs the 'metrics' extra ({error})") from None
        enable_metrics(port=args.metrics_port)
        address = metrics_address()
        assert address is not None  # a port was given, so enable_metrics serves
        print(f"greenflow worker: metrics on http://{address[0]}:{address[1]}/metrics", flush=True)
    worker.start()
    print("greenflow worker: running (SIGINT/SIGTERM to stop; a second signal interrupts)", flush=True)
    worker.run()
    print("greenflow worker: stopped", flush=True)
    return 0


def _worker_processes(args: argparse.Namespace) -> int:
    from ._worker_processes import embedded_endpoint_env, run_processes, worker_argv
    if args.processes < 1:
        raise UsageError(f"--processes must be at least 1, not {args.processes}")
    if args.metrics_port is not None:
        raise UsageError("--metrics-port serves one process's metrics: with --processes, start each worker "
                         "process on its own (greenflow worker ... --metrics-port PORT)")
    find_definitions(args.modules)  # bad modules fail here, once, not in N children
    swf = None
    if not args.endpoint and not args.region and embedded_endpoint_env():
        swf = connect(args)  # the embedded service the children share (held until they exit)
    return run_processes(args.processes, worker_argv(), swf.endpoint if swf is not None else None, keep=swf)


def _describe_worker(worker: Any) -> str:
    kind = type(worker).__name__
    if hasattr(worker, "workflow_classes"):
        names = ", ".join(cls.__name__ for cls in worker.workflow_classes)
    else:
        names = ", ".join(sorted({kind.name for kind in getattr(worker, "activity_types", ())}))
    return f"{kind} on {worker.domain}/{worker.task_list}" + (f" for {names}" if names else "")
