"""Benchmark: workflows/s on the AWS-like mode, 30 ms per call, with 1, 10 and 100 pollers.

    python benchmarks/bench_aws_like.py            # full run, about a minute
    python benchmarks/bench_aws_like.py --quick    # smoke run, about 20 s
    python benchmarks/bench_aws_like.py --latency 20-40 --fault-rate 0.01 --pollers 1 10

The service is ``greenflow server --emulate-aws`` in a child process (its own CPU): every
call pays ``--latency`` ms (default 30, half on the way in, half on the way out), SWF's
default throttling quotas apply, requests are SigV4-signed, and ``--fault-rate`` of them
fail with a 5xx (default 0 here, so the figures measure latency and throttling only).

For each concurrency level P, this process runs a workflow worker with P decision pollers
and an activity worker with P pollers (and P activity slots), starts a batch of
one-activity workflows at once (50 concurrent starters) and measures from the first start
until the last execution is closed (``CountClosedWorkflowExecutions`` every 0.25 s).

**The bound.** A one-activity workflow needs two decision tasks, and each costs its poller
one poll and one answer: 4 calls x 30 ms = 120 ms of one decision poller's time, so P
pollers can close at most P / 0.12 workflows/s (activity pollers need half of that). The
table prints the measured rate next to that latency x concurrency bound: near 100% means
only latency bounds throughput; far below it, something else does (CPU of this 2-core
machine, or SWF's quotas: PollForDecisionTask refills 200 tokens/s, so at most 100
workflows/s once its 2,000-token bucket is spent).

The table also gives the CPU each workflow cost this process (workers, starters, botocore
with SigV4) and the service process: when workflows/s times that CPU approaches the cores
the machine can spare, CPU, not latency, is the bound.

Every run checks that all workflows closed COMPLETED, exactly once each; exit status 1
otherwise.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()  # before botocore: workers, polls and the client are greenlets

import argparse  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import gevent  # noqa: E402
import gevent.pool  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from greenflow.bench.workloads import BenchActivities, OneActivity  # noqa: E402
from greenflow.client import WorkflowClient  # noqa: E402
from greenflow.swf import connect  # noqa: E402
from greenflow.worker import ActivityWorker, WorkflowWorker  # noqa: E402

DOMAIN = "bench-aws-like"
#: Seconds of one decision poller's time per one-activity workflow, per ms of latency:
#: 2 decision tasks x (poll + answer), each call a full round trip.
DECISION_CALLS_PER_WORKFLOW = 4


#: The SWF workflow type name of OneActivity.run (what the visibility filters take).
KIND = OneActivity.run.workflow_type.name


class EmulatedServer:
    """``greenflow server --emulate-aws`` in a child process; prints its call counts at stop."""

    def __init__(self, latency: str, fault_rate: float, seed: int):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "greenflow", "server", "--db", ":memory:", "--emulate-aws",
             "--latency", latency, "--fault-rate", str(fault_rate), "--seed", str(seed)],
            stdout=subprocess.PIPE, text=True, cwd=REPO)
        line = self.process.stdout.readline()
        if "listening on" not in line:
            self.process.kill()
            raise RuntimeError(f"greenflow server did not start: {line!r}")
        self.endpoint = line.split("listening on ")[1].split()[0]
        self.mode = self.process.stdout.readline().strip()

    def cpu_seconds(self) -> float:
        """The server process's CPU time so far (user + system), from /proc."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> str:
        """Stop it; returns its closing line (calls, throttled, failed)."""
        self.process.send_signal(signal.SIGTERM)
        rest = self.process.communicate(timeout=60)[0]
        return rest.strip().splitlines()[-1] if rest.strip() else ""


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_level(server: EmulatedServer, pollers: int, count: int) -> dict:
    """One concurrency level on a fresh task list; returns its figures."""
    endpoint = server.endpoint
    swf = connect(endpoint, transport="botocore")  # the client a program on Amazon SWF has
    # A domain per level: the types' default task lists are registered once per domain.
    domain = f"{DOMAIN}-{pollers}-{uuid.uuid4().hex[:6]}"
    swf.ensure_domain(domain, retention_days=1)
    task_list = f"p{pollers}"
    client = WorkflowClient(swf, domain, task_list)
    workflow_worker = WorkflowWorker(swf, domain, task_list, OneActivity, pollers=pollers)
    activity_worker = ActivityWorker(swf, domain, task_list, BenchActivities(), pool_size=pollers,
                                     pollers=pollers)
    try:
        workflow_worker.start()
        activity_worker.start()
        client.start(OneActivity.run).result(timeout=120)  # warm-up: registration, connections
        since = time.time() - 1
        before = client.count_closed(workflow_type=KIND, started_after=since)
        began = time.perf_counter()
        cpu_before = own_cpu_seconds(), server.cpu_seconds()
        starters = gevent.pool.Pool(50)
        handles = starters.map(lambda _: client.start(OneActivity.run), range(count))
        deadline = time.monotonic() + 600
        while client.count_closed(workflow_type=KIND, started_after=since) - before < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{pollers} pollers: not all {count} workflows closed within 600 s")
            gevent.sleep(0.25)
        elapsed = time.perf_counter() - began
        client_cpu, service_cpu = own_cpu_seconds() - cpu_before[0], server.cpu_seconds() - cpu_before[1]
        ids = {handle.workflow_id for handle in handles}
        closed = [info for info in client.list_closed(workflow_type=KIND, started_after=since)
                  if info["execution"]["workflowId"] in ids]
        completed = sum(info.get("closeStatus") == "COMPLETED" for info in closed)
    finally:
        activity_worker.stop(timeout=0)
        workflow_worker.stop(timeout=0)
        swf.close()
    return {"pollers": pollers, "count": count, "elapsed": elapsed, "per_second": count / elapsed,
            "client_cpu": client_cpu / count, "service_cpu": service_cpu / count,
            "closed": len(closed), "completed": completed, "distinct": len({i["execution"]["workflowId"]
                                                                            for i in closed})}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small batches (smoke run)")
    parser.add_argument("--latency", default="30", help="per-call latency in ms, '30' or '20-40' (default 30)")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="5xx rate per call (default 0)")
    parser.add_argument("--pollers", type=int, nargs="+", default=[1, 10, 100], help="levels (default 1 10 100)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    low, _, high = args.latency.partition("-")
    mean_latency = (float(low) + float(high or low)) / 2000.0

    server = EmulatedServer(args.latency, args.fault_rate, args.seed)
    print(f"greenflow AWS-like benchmark: {server.mode} ({server.endpoint}), {os.cpu_count()} CPUs",
          file=sys.stderr)
    results = []
    try:
        for pollers in args.pollers:
            bound = pollers / (DECISION_CALLS_PER_WORKFLOW * mean_latency)
            # About 4 s of work at the bound, at least 10 workflows (half with --quick).
            count = max(10, min(1000, int(bound * (2 if args.quick else 4))))
            print(f"  {pollers} pollers: {count} workflows...", file=sys.stderr, flush=True)
            result = run_level(server, pollers, count)
            result["bound"] = bound
            results.append(result)
    finally:
        summary = server.stop()

    print()
    print(f"AWS-like mode, {args.latency} ms per call, fault rate {args.fault_rate:g}, SWF's default quotas")
    print()
    print("| pollers | workflows | time | workflows/s | latency x concurrency bound | of the bound "
          "| CPU ms/workflow (workers+client / service) | all completed once |")
    print("|---|---|---|---|---|---|---|---|")
    failures = 0
    for r in results:
        ok = r["completed"] == r["count"] == r["distinct"] == r["closed"]
        failures += not ok
        print(f"| {r['pollers']} | {r['count']} | {r['elapsed']:.2f} s | {r['per_second']:.1f} | "
              f"{r['bound']:.1f} | {100 * r['per_second'] / r['bound']:.0f}% | "
              f"{r['client_cpu'] * 1000:.1f} / {r['service_cpu'] * 1000:.1f} | "
              f"{'yes' if ok else 'NO: ' + str(r['completed']) + ' completed of ' + str(r['count'])} |")
    print()
    print(summary.replace("greenflow: AWS-like mode: ", "service: "))
    if args.quick:
        print("(--quick: half-size batches)")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
