"""Benchmark: whole workflows end to end on the embedded local service (issue 4's W1-W4).

    python benchmarks/bench_end_to_end.py            # full run (about a minute)
    python benchmarks/bench_end_to_end.py --quick    # smoke run, a few seconds

Everything runs in this one process, as a user's first program would: the embedded local
SWF service from ``greenflow.connect()`` (a child process it owns, the default, or with
``--embedded thread`` a thread of this process; SQLite in a temporary file, the wall clock), a workflow worker, an
activity worker (gevent pool) and the client starting executions, all talking SWF over
loopback HTTP through botocore. Workloads (trivial activities):

* **W1** one-activity workflows: the start-to-result latency of one alone (p50/p99 of
  sequential runs, measured by ``handle.result()``), then 500 started at once (workflows/s);
* **W2** 200 workflows of 10 sequential activities (activities/s);
* **W3** 10 workflows of 100 parallel activities (activities/s);
* **W4** 200 workflows each sleeping a 1 s durable timer (total time until all closed).

Throughput runs from the first start until the last execution is closed (counted with
``CountClosedWorkflowExecutions``); their latency percentiles are the service's own
start-to-close times from ``ListClosedWorkflowExecutions``. A progress bar shows each run
on stderr. The closing table compares with ``docs/performance.md`` (same
machine, measured earlier the same day: compare ratios, not absolute figures).
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()  # before botocore: workers, polls and the client are greenlets

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
import gevent.pool  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from greenflow.activity import ActivityWorker  # noqa: E402
from greenflow.bench.runner import percentile  # noqa: E402
from greenflow.bench.workloads import BenchActivities, OneActivity, Parallel, Sequential, Sleeper  # noqa: E402
from greenflow.client import WorkflowClient  # noqa: E402
from greenflow.swf import connect  # noqa: E402
from greenflow.swf._connect import DEFAULT_EMBEDDED  # noqa: E402
from greenflow.worker import WorkflowWorker  # noqa: E402

DOMAIN = "bench"
TASK_LIST = "bench"

# Peers on the same workloads, same machine (docs/performance.md).
PEERS = [
    ("Temporal dev server 1.32 (SQLite)", "100-104 ms", "12.5-13.7", "30-35", "64-68", "14-19 s"),
    ("Temporal, SQLite in WAL mode", "100 ms", "23", "79", "133", "8.4 s"),
    ("DBOS 3.4 (SQLite, in-process)", "14-16 ms", "54-80", "107-120", "102-182", "3.4-4.0 s"),
]
TARGETS = ("p50 <= 10 ms", ">= 100", ">= 200", ">= 300", "<= 1.5 s")


# The workloads are greenflow.bench.workloads' (shared with `greenflow bench` and
# bench_vs_dbos.py): one definition of W1-W4.


# --------------------------------------------------------------------------- helpers


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, label: str, total: int):
        self.label = label
        self.total = total
        self.started = time.perf_counter()
        self.update(0)

    def update(self, done: int) -> None:
        width = 30
        filled = int(width * done / self.total) if self.total else width
        elapsed = time.perf_counter() - self.started
        sys.stderr.write(f"\r  {self.label:<34} [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total}"
                         f" {elapsed:6.1f} s")
        sys.stderr.flush()

    def finish(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()


def run_batch(client: WorkflowClient, label: str, method, args: tuple, count: int,
              units_per_workflow: int = 1) -> dict:
    """Start ``count`` executions at once and wait until all are closed; returns the figures."""
    progress = Progress(label, count)
    since = time.time() - 1
    kind = method.workflow_type.name
    before = client.count_closed(workflow_type=kind, started_after=since)
    started = time.perf_counter()
    pool = gevent.pool.Pool(32)  # starting is I/O: overlap the requests
    handles = pool.map(lambda _: client.start(method, *args), range(count))
    while True:
        done = client.count_closed(workflow_type=kind, started_after=since) - before
        progress.update(done)
        if done >= count:
            break
        gevent.sleep(0.02)
    elapsed = time.perf_counter() - started
    progress.finish()
    ids = {handle.workflow_id for handle in handles}
    latencies = []
    failures = 0
    for info in client.list_closed(workflow_type=kind, started_after=since):
        if info["execution"]["workflowId"] in ids:
            latencies.append((info["closeTimestamp"] - info["startTimestamp"]).total_seconds())
            failures += info.get("closeStatus") != "COMPLETED"
    return {"elapsed": elapsed, "count": count, "per_second": count / elapsed,
            "units_per_second": count * units_per_workflow / elapsed, "failures": failures,
            "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99)}


class ServerProcess:
    """``greenflow server`` in a child process (``--server-process``)."""

    def __init__(self, db_path: str):
        import subprocess
        self.process = subprocess.Popen([sys.executable, "-m", "greenflow", "server", "--db", db_path],
                                        stdout=subprocess.PIPE, text=True,
                                        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        line = self.process.stdout.readline()
        if "listening on" not in line:
            self.process.kill()
            raise RuntimeError(f"greenflow server did not start: {line!r}")
        self.endpoint = line.split("listening on ")[1].split()[0]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small workloads (smoke run)")
    parser.add_argument("--pollers", type=int, default=4, help="decision polls of the workflow worker")
    parser.add_argument("--embedded", choices=("thread", "process"), default=None,
                        help="where the embedded default service runs (greenflow.connect(embedded=...); "
                             "default: GREENFLOW_EMBEDDED, else connect()'s default, process)")
    parser.add_argument("--server-process", action="store_true",
                        help="run the local service as a `greenflow server` process instead of embedded "
                             "(it then gets its own CPU instead of sharing this process's GIL)")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1

    directory = tempfile.mkdtemp(prefix="greenflow-bench-")
    if args.server_process:
        service = ServerProcess(os.path.join(directory, "bench.db"))
        swf = connect(endpoint=service.endpoint)
    else:
        # The embedded default exactly as a user's program gets it from connect().
        swf = connect(db_path=os.path.join(directory, "bench.db"), embedded=args.embedded)
        service = swf.local_service
    client = WorkflowClient(swf, DOMAIN, TASK_LIST)
    workflow_worker = WorkflowWorker(swf, DOMAIN, TASK_LIST, OneActivity, Sequential, Parallel, Sleeper,
                                     pollers=args.pollers)
    activity_worker = ActivityWorker(swf, DOMAIN, TASK_LIST, BenchActivities(), pool_size=200)
    results: dict[str, dict] = {}
    mode = args.embedded or os.environ.get("GREENFLOW_EMBEDDED") or DEFAULT_EMBEDDED
    where = ("a `greenflow server` process" if args.server_process
             else f"embedded local service ({'a child process' if mode == 'process' else 'a thread of this process'})")
    print(f"greenflow end-to-end benchmark: {where} at {service.endpoint}, "
          f"database {directory}/bench.db, {os.cpu_count()} CPUs", file=sys.stderr)
    try:
        workflow_worker.start()
        activity_worker.start()

        # W1 alone: sequential starts, latency from start() to result().
        count = 5 if args.quick else 30
        progress = Progress("W1 one workflow alone", count)
        client.start(OneActivity.run).result(timeout=60)  # warm-up (registration, connections)
        latencies = []
        for i in range(count):
            began = time.perf_counter()
            client.start(OneActivity.run).result(timeout=60)
            latencies.append(time.perf_counter() - began)
            progress.update(i + 1)
        progress.finish()
        results["W1 alone"] = {"p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99)}

        results["W1 500 at once"] = run_batch(client, "W1 500 one-activity workflows", OneActivity.run, (),
                                              500 // scale)
        results["W2"] = run_batch(client, "W2 200 x 10 sequential activities", Sequential.run, (10,),
                                  200 // scale, units_per_workflow=10)
        results["W3"] = run_batch(client, "W3 10 x 100 parallel activities", Parallel.run, (100,),
                                  max(1, 10 // scale), units_per_workflow=100)
        results["W4"] = run_batch(client, "W4 200 workflows sleeping 1 s", Sleeper.run, (1,), 200 // scale)
    finally:
        activity_worker.stop(timeout=0)
        workflow_worker.stop(timeout=0)
        swf.close()
        service.stop()

    w1, w1b, w2, w3, w4 = (results[k] for k in ("W1 alone", "W1 500 at once", "W2", "W3", "W4"))
    failures = sum(r.get("failures", 0) for r in results.values())
    print()
    print("| workload | figure | latency p50 / p99 (start to close) |")
    print("|---|---|---|")
    print(f"| W1 one alone | start-to-result p50 {w1['p50'] * 1000:.1f} ms, p99 {w1['p99'] * 1000:.1f} ms | |")
    print(f"| W1 {w1b['count']} at once | {w1b['per_second']:.1f} workflows/s ({w1b['elapsed']:.2f} s) | "
          f"{w1b['p50'] * 1000:.0f} / {w1b['p99'] * 1000:.0f} ms |")
    print(f"| W2 {w2['count']} x 10 sequential | {w2['units_per_second']:.1f} activities/s ({w2['elapsed']:.2f} s) | "
          f"{w2['p50']:.2f} / {w2['p99']:.2f} s |")
    print(f"| W3 {w3['count']} x 100 parallel | {w3['units_per_second']:.1f} activities/s ({w3['elapsed']:.2f} s) | "
          f"{w3['p50']:.2f} / {w3['p99']:.2f} s |")
    print(f"| W4 {w4['count']} x 1 s timer | all done in {w4['elapsed']:.2f} s | "
          f"{w4['p50']:.2f} / {w4['p99']:.2f} s |")
    print()
    print("| engine | W1 p50 latency | W1 wf/s | W2 activities/s | W3 activities/s | W4 total |")
    print("|---|---|---|---|---|---|")
    label = "server process" if args.server_process else f"embedded, {mode}"
    print(f"| **greenflow ({label}, this run)** | {w1['p50'] * 1000:.1f} ms | {w1b['per_second']:.1f} | "
          f"{w2['units_per_second']:.1f} | {w3['units_per_second']:.1f} | {w4['elapsed']:.2f} s |")
    for row in PEERS:
        print("| " + " | ".join(row) + " |")
    print("| target (issue 4) | " + " | ".join(TARGETS) + " |")
    if args.quick:
        print("\n(--quick: workloads scaled down 10x; throughput figures are not comparable)")
    if failures:
        print(f"\nWARNING: {failures} executions did not complete", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
