"""``greenflow bench``: throughput of the standard workloads, or of your own workflow.

Runs N workflows at concurrency C against any backend (the embedded local service by
default, in a temporary database; a ``greenflow server`` with ``--endpoint``; Amazon SWF
with ``--region``), with workers in this process or in ``--processes`` worker processes,
and collects every result with ``handle.result()`` (see :mod:`greenflow.bench.runner`).
Prints throughput, latency percentiles, SWF calls and CPU per workflow; ``--json`` for
machines; ``--chart FILE`` writes an SVG chart (throughput over time, latency histogram).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

from ._common import UsageError, add_command, command, json_arg, print_json
from ._definitions import find_definitions

STANDARD = ("W1-alone", "W1", "W2", "W3", "W4")


def add_commands(subparsers: Any) -> None:
    """Add ``bench``."""
    p = add_command(subparsers, "bench", "benchmark workflows end to end (standard workloads or your own)",
                    "Run the standard workloads (W1-alone, W1, W2, W3, W4; all by default) or your workflow "
                    "(--workflow MODULE:Class.method --input JSON) N times at concurrency C and report "
                    "throughput, latency percentiles, SWF calls and CPU per workflow.")
    p.add_argument("workloads", nargs="*", metavar="WORKLOAD", help=f"standard workloads ({', '.join(STANDARD)})")
    p.add_argument("--workflow", metavar="MODULE:Class.method",
                   help="your workflow's @execute method; workers run the module's workflows and activities")
    p.add_argument("--input", default="[]", help="its arguments as a JSON list (default: [])")
    p.add_argument("--expect", help="the JSON result each execution must return (default: not checked)")
    p.add_argument("-n", "--count", type=int, help="workflows per workload (default: the workload's size; 100)")
    p.add_argument("-c", "--concurrency", type=int, help="workflows open at once (default: the workload's; all)")
    p.add_argument("--collect", choices=("waiters", "loop"), default="waiters",
                   help="waiters: one greenlet per workflow calls result(); loop: start a batch of C, "
                        "then call result() on each in turn (default: waiters)")
    p.add_argument("--scale", type=float, default=1.0, help="multiply the standard sizes (e.g. 0.1 for a smoke run)")
    p.add_argument("--pool-size", type=int, default=200, help="activity worker pool size (default: 200)")
    p.add_argument("--pollers", type=int, default=4, help="decision polls per workflow worker (default: 4)")
    p.add_argument("--processes", type=int, default=0,
                   help="run the workers in N `greenflow worker` processes instead of this one (default: 0)")
    p.add_argument("--no-workers", action="store_true", help="start no workers (yours are already running)")
    p.add_argument("--task-list", help="task list (default: greenflow-bench, or your workflow's)")
    p.add_argument("--embedded", choices=("process", "thread"), default=None,
                   help="where the embedded service runs when no endpoint is given (default: process)")
    p.add_argument("--db", help="database of the embedded service (default: a temporary file)")
    p.add_argument("--timeout", type=float, default=600, help="seconds to wait for each result (default: 600)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--chart", metavar="FILE.svg", help="write a chart (throughput over time, latency histogram)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=_bench)


@command
def _bench(args: argparse.Namespace) -> int:
    from ..swf import patch_gevent
    patch_gevent()  # before botocore: workers, polls and waiters are greenlets
    # Imported after patching, which is why these imports are here and not at the top.
    from ..bench import runner, workloads

    plan = _plan(args, workloads)
    swf, cleanup = _connect(args)
    try:
        from ..client import WorkflowClient
        classes, activity_objects, module_names = _definitions(args, workloads)
        task_list = args.task_list or (None if args.workflow else workloads.TASK_LIST)
        client = WorkflowClient(swf, args.domain, task_list)
        workers, workers_cpu = _start_workers(args, swf, classes, activity_objects, module_names, task_list)
        try:
            results = []
            for item in plan:
                bar = _ProgressBar(item["label"], item["count"], enabled=not args.no_progress and not args.json)
                try:
                    results.append(runner.run_workflows(
                        client, item["method"], item["args"], count=item["count"],
                        concurrency=item["concurrency"], collect=args.collect, expected=item["expected"],
                        check=item["check"], label=item["label"], units=item["units"], unit=item["unit"],
                        timeout=args.timeout, progress=bar.update, workers_cpu=workers_cpu))
                finally:
                    bar.close()
        finally:
            client.close()
            workers()
    finally:
        cleanup()
    summaries = [result.summary() for result in results]
    if args.chart:
        from ..bench.chart import render_svg
        with open(args.chart, "w") as out:
            out.write(render_svg(results, title=f"greenflow bench ({swf.endpoint})"))
    if args.json:
        print_json({"endpoint": swf.endpoint, "collect": args.collect, "processes": args.processes,
                    "runs": summaries, **({"chart": args.chart} if args.chart else {})})
    else:
        _print_table(summaries)
        if args.chart:
            print(f"chart: {args.chart}")
    failures = [f for result in results for f in result.failures]
    for failure in failures[:10]:
        print(f"greenflow bench: failed: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _plan(args: argparse.Namespace, workloads: Any) -> list[dict[str, Any]]:
    if args.count is not None and args.count < 1:
        raise UsageError(f"--count must be at least 1, not {args.count}")
    if args.concurrency is not None and args.concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1, not {args.concurrency}")
    if args.scale <= 0:
        raise UsageError(f"--scale must be > 0, not {args.scale}")
    if args.processes < 0:
        raise UsageError(f"--processes must be >= 0, not {args.processes}")
    if args.workflow:
        if args.workloads:
            raise UsageError("give standard workloads or --workflow, not both")
        method = _resolve_method(args.workflow)
        inputs = json_arg(args.input, "--input")
        if not isinstance(inputs, list):
            raise UsageError(f"--input must be a JSON list of arguments, not {args.input!r}")
        return [{"label": args.workflow, "method": method, "args": tuple(inputs), "count": args.count or 100,
                 "concurrency": args.concurrency, "expected": json_arg(args.expect, "--expect"),
                 "check": args.expect is not None, "units": 1, "unit": "workflows"}]
    names = args.workloads or list(STANDARD)
    unknown = [name for name in names if name not in workloads.WORKLOADS]
    if unknown:
        raise UsageError(f"unknown workload {', '.join(unknown)}; choose from {', '.join(STANDARD)}")
    plan = []
    for name in names:
        w = workloads.WORKLOADS[name]
        plan.append({"label": f"{w.key} {w.title}", "method": w.method, "args": w.args,
                     "count": args.count or max(1, round(w.count * args.scale)),
                     "concurrency": args.concurrency or w.concurrency, "expected": w.expected, "check": True,
                     "units": w.units, "unit": w.unit})
    return plan


def _resolve_method(spec: str) -> Any:
    module, _, path = spec.partition(":")
    if not module or path.count(".") != 1:
        raise UsageError(f"--workflow must be MODULE:Class.method, not {spec!r}")
    class_name, method_name = path.split(".")
    found = find_definitions([f"{module}:{class_name}"])[0]
    if not found:
        raise UsageError(f"{class_name} in {module} is not a WorkflowDefinition subclass")
    method = getattr(found[0], method_name, None)
    if method is None:
        raise UsageError(f"{class_name} has no method {method_name!r}")
    return method


def _definitions(args: argparse.Namespace, workloads: Any) -> tuple[list[Any], list[Any], list[str]]:
    """Workflow classes and activity objects the workers run, and the modules they come from."""
    if args.workflow:
        module = args.workflow.partition(":")[0]
        workflows, activity_objects = find_definitions([module])
        return list(workflows), list(activity_objects), [module]
    return list(workloads.WORKFLOW_CLASSES), [workloads.BenchActivities()], [workloads.__name__]


def _connect(args: argparse.Namespace) -> tuple[Any, Any]:
    """The SWF client for the backend, and what to call at the end."""
    from ..swf import connect
    if args.endpoint or args.region or os.environ.get("GREENFLOW_ENDPOINT"):
        swf = connect(endpoint=args.endpoint, region=args.region)
        return swf, swf.close
    directory = None
    db_path = args.db
    if db_path is None:
        directory = tempfile.TemporaryDirectory(prefix="greenflow-bench-")
        db_path = os.path.join(directory.name, "bench.db")
    swf = connect(db_path=db_path, embedded=args.embedded)

    def cleanup() -> None:
        swf.close()
        if swf.local_service is not None:
            swf.local_service.stop()
        if directory is not None:
            directory.cleanup()
    return swf, cleanup


def _start_workers(args: argparse.Namespace, swf: Any, classes: list[Any], activity_objects: list[Any],
                   module_names: list[str], task_list: str | None) -> tuple[Any, Any]:
    """Start the workers; returns the function that stops them, and one that reads the CPU
    seconds of their processes (``None`` when they run in this process)."""
    if args.no_workers:
        return lambda: None, None
    if args.processes:
        command = [sys.executable, "-m", "greenflow", "worker", *module_names, "--endpoint", swf.endpoint,
                   "--domain", args.domain, "--pool-size", str(args.pool_size), "--pollers", str(args.pollers),
                   "--processes", str(args.processes)]
        if task_list:
            command += ["--task-list", task_list]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        _wait_running(process, args.processes)

        def stop_processes() -> None:
            process.terminate()
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        from ..bench.runner import process_tree_cpu_seconds  # after patch_gevent, as in _bench
        return stop_processes, lambda: process_tree_cpu_seconds(process.pid)
    from ..worker import Worker
    worker = Worker(swf, args.domain, workflows=classes, activities=activity_objects, task_list=task_list,
                    workflow_options={"pollers": args.pollers}, activity_options={"pool_size": args.pool_size})
    worker.start()
    return lambda: worker.stop(timeout=0), None


def _wait_running(process: subprocess.Popen[str], count: int) -> None:
    """Wait until ``count`` worker processes said they are running (their output's lines)."""
    assert process.stdout is not None
    running = 0
    lines: list[str] = []
    while running < count:
        line = process.stdout.readline()
        if not line:
            raise UsageError("the worker processes exited early:\n" + "".join(lines[-20:]))
        lines.append(line)
        running += "greenflow worker: running" in line
    # Keep draining their output so that they never block on a full pipe.
    import threading
    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()  # type: ignore[union-attr]


class _ProgressBar:
    """tqdm's bar when installed (the ``bench`` extra), else a plain one-line bar on stderr."""

    def __init__(self, label: str, total: int, *, enabled: bool):
        self.enabled = enabled
        self.label = label
        self.total = total
        self.started = time.perf_counter()
        self._bar: Any = None
        if not enabled:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            self.update(0, total)
            return
        self._bar = tqdm(total=total, desc=label, unit="wf", leave=True, file=sys.stderr)

    def update(self, done: int, total: int) -> None:
        """Show ``done`` of ``total`` workflows finished."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(done - self._bar.n)
            return
        width = 30
        filled = int(width * done / total) if total else width
        sys.stderr.write(f"\r  {self.label[:40]:<40} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
                         f"{time.perf_counter() - self.started:6.1f} s")
        sys.stderr.flush()

    def close(self) -> None:
        """End the bar's line."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
        else:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _print_table(summaries: list[dict[str, Any]]) -> None:
    print("| workload | workflows | C | time | wf/s | units/s | latency p50 / p90 / p99 ms | SWF calls/wf "
          "| CPU ms/wf client / service |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s in summaries:
        lat = s["latency_ms"]
        service = s["service_cpu_ms_per_workflow"]
        print(f"| {s['workload']} | {s['completed']}/{s['workflows']} | {s['concurrency']} | {s['elapsed_s']:.2f} s "
              f"| {s['workflows_per_s']} | {s['units_per_s']} {s['unit']} | {lat['p50']} / {lat['p90']} / {lat['p99']} "
              f"| {s['swf_calls_per_workflow']} | {s['client_cpu_ms_per_workflow']} / "
              f"{'-' if service is None else service} |")
