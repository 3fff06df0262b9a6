"""Benchmark: greenflow's local SWF service against moto's SWF server, side by side.

    python benchmarks/bench_local_service.py          # full run, about 2 minutes (100-150 s)
    python benchmarks/bench_local_service.py --quick  # smoke run, under 30 s
    python benchmarks/bench_local_service.py --per-operation  # the last section alone, ~15 s

Both servers run as subprocesses on 127.0.0.1 and are driven by the same botocore ``swf``
client code from a pool of client processes (see ``_swf_workload.ClientPool``). For each
concurrency level (1, 16 and 128 clients) and each server, four phases run in order, each
prefilling the next so that no poll finds an empty task list (moto has no long polls and
sleeps 1 s on an empty one):

1. ``start``     StartWorkflowExecution N times;
2. ``decide``    PollForDecisionTask + RespondDecisionTaskCompleted(ScheduleActivityTask);
3. ``work``      PollForActivityTask + RespondActivityTaskCompleted;
4. ``complete``  PollForDecisionTask + RespondDecisionTaskCompleted(CompleteWorkflowExecution).

Measured per phase: units per second (executions started, or round trips), every request's
latency (p50, p99, max) and the server process's own CPU time (utime + stime from
``/proc/<pid>/stat`` before and after the phase) divided by the requests made. A null server
that answers every call at once measures botocore's own cost per call, the floor under
every latency figure.

moto's state is reset (``POST /moto-api/reset``) before each concurrency level: moto scans
every execution it holds on each poll, so this keeps its figures from sinking under the
earlier levels' executions (the choice favours moto). greenflow keeps one database for the
whole run; each level uses fresh task lists.

Last, greenflow's service CPU per call of each operation, without botocore in the way: one
client on one keep-alive connection (raw HTTP) runs W2's shape, :data:`CHAIN_WORKFLOWS`
workflows of :data:`CHAIN_LENGTH` sequential activities, one step of all of them at a time,
so each decision task carries the history W2's tasks carry (up to ~60 events). Each call's
cost is the server's CPU time from just before the request to just after the answer.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _swf_workload import (  # noqa: E402 (after the path tweak, on purpose)
    ACTIVITY_TYPE,
    OPERATIONS,
    ClientPool,
    PhaseResult,
    PhaseSpec,
    ServerProcess,
    greenflow_server,
    make_client,
    moto_server,
    null_server,
    register,
    WORKFLOW_TYPE,
)

LEVELS = (1, 16, 128)
#: Units (executions) per concurrency level.
FULL_TOTALS = {1: 200, 16: 256, 128: 320}
QUICK_TOTALS = {1: 30, 16: 64, 128: 128}
#: Client processes; 128 clients = 16 processes x 8 threads (128 processes would spend
#: this 2-core machine on process switching rather than on requests).
PROCESSES = 16

#: Targets (issue 2, "Benchmark").
TARGET_RATIO = 10.0  # greenflow round trips/s >= 10 x moto's
TARGET_CPU = 300e-6  # greenflow CPU per request <= 300 us
TARGET_LATENCY = 2.8e-3  # at concurrency 1, p99 <= botocore's own cost per call (reference figure)

ROUND_TRIPS = ("decide", "work", "complete")

#: The per-operation section: workflows, and activities in each one's chain (W2's shape).
CHAIN_WORKFLOWS = 100
CHAIN_LENGTH = 10


class RawClient:
    """SWF's JSON protocol on one keep-alive connection, with nothing but ``http.client``."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, operation: str, params: dict) -> dict:
        """One call; its JSON answer (a fault raises ``RuntimeError``)."""
        self.connection.request("POST", "/", body=json.dumps(params).encode(), headers={
            "X-Amz-Target": f"SimpleWorkflowService.{operation}", "Content-Type": "application/x-amz-json-1.0"})
        response = self.connection.getresponse()
        answer = json.loads(response.read())
        if response.status != 200:
            raise RuntimeError(f"{operation} failed: {response.status} {answer}")
        return answer

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()


def per_operation_cpu(server: ServerProcess, workflows: int = CHAIN_WORKFLOWS,
                      chain: int = CHAIN_LENGTH) -> dict[str, list[float]]:
    """The server's CPU seconds of each call, by operation, over W2-shaped workflows."""
    client = RawClient(server.port)
    costs: dict[str, list[float]] = {}
    domain = "greenflow-per-operation"

    def call(operation: str, params: dict) -> dict:
        before = server.cpu_seconds()
        answer = client.call(operation, params)
        costs.setdefault(operation, []).append(server.cpu_seconds() - before)
        return answer

    try:
        client.call("RegisterDomain", {"name": domain, "workflowExecutionRetentionPeriodInDays": "1"})
        client.call("RegisterWorkflowType", {
            "domain": domain, **WORKFLOW_TYPE, "defaultTaskList": {"name": "decisions"},
            "defaultExecutionStartToCloseTimeout": "3600", "defaultTaskStartToCloseTimeout": "300",
            "defaultChildPolicy": "TERMINATE"})
        client.call("RegisterActivityType", {
            "domain": domain, **ACTIVITY_TYPE, "defaultTaskList": {"name": "activities"},
            "defaultTaskScheduleToStartTimeout": "300", "defaultTaskStartToCloseTimeout": "300",
            "defaultTaskScheduleToCloseTimeout": "600", "defaultTaskHeartbeatTimeout": "NONE"})
        for index in range(workflows):
            call("StartWorkflowExecution", {"domain": domain, "workflowId": f"chain-{index}", "input": "[1, 2, 3]",
                                            "workflowType": WORKFLOW_TYPE})
        for step in range(chain + 1):
            tokens = [call("PollForDecisionTask", {"domain": domain, "taskList": {"name": "decisions"},
                                                   "identity": "bench"})["taskToken"] for _ in range(workflows)]
            if step < chain:
                decision = {"decisionType": "ScheduleActivityTask", "scheduleActivityTaskDecisionAttributes": {
                    "activityType": ACTIVITY_TYPE, "activityId": f"a{step}", "input": '["hello", 42]'}}
            else:
                decision = {"decisionType": "CompleteWorkflowExecution",
                            "completeWorkflowExecutionDecisionAttributes": {"result": '"done"'}}
            for token in tokens:
                call("RespondDecisionTaskCompleted", {"taskToken": token, "decisions": [decision]})
            if step < chain:
                tokens = [call("PollForActivityTask", {"domain": domain, "taskList": {"name": "activities"},
                                                       "identity": "bench"})["taskToken"] for _ in range(workflows)]
                for token in tokens:
                    call("RespondActivityTaskCompleted", {"taskToken": token, "result": '"result"'})
    finally:
        client.close()
    return costs


def print_per_operation(costs: dict[str, list[float]], workflows: int, chain: int) -> None:
    """Mean and median CPU per call of each operation, and per W2-shaped workflow."""
    print(f"greenflow service CPU per call, one raw-HTTP client, {workflows} workflows of {chain} "
          f"sequential activities (W2's shape):")
    for operation, samples in costs.items():
        ordered = sorted(samples)
        print(f"  {operation:<30} mean {us(sum(samples) / len(samples)):>5} us, "
              f"p50 {us(ordered[len(ordered) // 2]):>5} us  ({len(samples)} calls)")
    calls = sum(len(samples) for samples in costs.values())
    total = sum(sum(samples) for samples in costs.values())
    print(f"  {'all':<30} mean {us(total / calls):>5} us; per workflow ({calls / workflows:.0f} calls) "
          f"{ms(total / workflows)} ms")


def run_phases(pool: ClientPool, server: ServerProcess, level: int, total: int, label: str) -> list[PhaseResult]:
    """The four phases against one server at one concurrency level."""
    server.reset()
    register(make_client(server.endpoint))
    results = []
    for operation in OPERATIONS:
        spec = PhaseSpec(
            operation=operation,
            endpoint=server.endpoint,
            concurrency=level,
            total=total if operation == "start" else max(results[-1].done, 0),
            decision_task_list=f"{label}-decisions-c{level}",
            activity_task_list=f"{label}-activities-c{level}",
            id_prefix=f"{label}-c{level}",
        )
        if spec.total == 0:
            break
        results.append(pool.run(server, spec))
    return results


def ms(seconds: float) -> str:
    """Seconds as milliseconds with 2 decimals."""
    return "-" if math.isnan(seconds) else f"{seconds * 1e3:.2f}"


def us(seconds: float) -> str:
    """Seconds as whole microseconds."""
    return "-" if math.isnan(seconds) else f"{seconds * 1e6:.0f}"


def print_table(results: dict[tuple[str, str, int], PhaseResult], names: list[str]) -> None:
    """One row per (phase, clients): each server's figures, then greenflow/moto ratios."""
    header = f"{'phase':<9}{'clients':>8} |"
    for name in names:
        header += f" {name + ' /s':>13}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'CPU us/req':>11} |"
    if len(names) == 2:
        header += f" {'ratio /s':>9}{'ratio CPU':>10}"
    print(header)
    print("-" * len(header))
    for operation in OPERATIONS:
        for level in LEVELS:
            row = f"{operation:<9}{level:>8} |"
            cells = [results.get((name, operation, level)) for name in names]
            for cell in cells:
                if cell is None:
                    row += f" {'-':>13}{'-':>8}{'-':>8}{'-':>8}{'-':>11} |"
                else:
                    row += (
                        f" {cell.rate:>13.1f}{ms(cell.percentile(0.5)):>8}{ms(cell.percentile(0.99)):>8}"
                        f"{ms(max(cell.latencies, default=math.nan)):>8}{us(cell.cpu_per_request):>11} |"
                    )
            if len(names) == 2 and all(cells):
                ratio = cells[0].rate / cells[1].rate if cells[1].rate else math.inf
                cpu_ratio = cells[0].cpu_per_request / cells[1].cpu_per_request if cells[1].cpu else math.nan
                row += f" {ratio:>9.1f}{cpu_ratio:>10.2f}"
            print(row)
    print("(/s = executions started or round trips per second; a round trip = poll + respond, 2 requests;")
    print(" latencies and CPU are per HTTP request; ratio CPU = greenflow CPU per request / moto's)")


def print_problems(results: dict[tuple[str, str, int], PhaseResult]) -> None:
    """Errors and empty polls seen, per phase (an honest benchmark shows them)."""
    problems = [(key, result) for key, result in results.items() if result.stats or result.done < result.spec.total]
    if not problems:
        print("errors: none; empty polls: none")
        return
    for (name, operation, level), result in problems:
        print(f"{name} {operation} c={level}: done {result.done}/{result.spec.total}; {result.stats}")


def print_ceiling(results: dict[tuple[str, str, int], PhaseResult], floor: dict[int, PhaseResult]) -> None:
    """How close each server's round-trip rate comes to what these clients can do at all.

    The clients and the server share this machine's 2 cores and botocore costs about 1 ms
    of client CPU per call, so no server can exceed the null server's rate (halved for a
    round trip of two calls); a figure near 100% means the clients, not the server, set the pace.
    """
    names = sorted({name for name, _, _ in results})
    for name in names:
        cells = []
        for level in LEVELS:
            rates = [results[(name, op, level)].rate for op in ROUND_TRIPS if (name, op, level) in results]
            if rates and floor[level].rate:
                cells.append(f"c={level}: {100 * (sum(rates) / len(rates)) / (floor[level].rate / 2):.0f}%")
        print(f"{name} round trips/s as a share of the client ceiling: {', '.join(cells)}")


def check_targets(results: dict[tuple[str, str, int], PhaseResult], floor: dict[int, PhaseResult]) -> bool:
    """Print PASS/MISS per target; True if all pass."""
    verdicts = []

    def verdict(ok: bool, text: str) -> None:
        verdicts.append(ok)
        print(f"  {'PASS' if ok else 'MISS'}  {text}")

    print("targets:")
    ratios = []
    for operation in ROUND_TRIPS:
        for level in LEVELS:
            ours, theirs = results.get(("greenflow", operation, level)), results.get(("moto", operation, level))
            if ours and theirs and theirs.rate:
                ratios.append((ours.rate / theirs.rate, operation, level))
    if ratios:
        worst = min(ratios)
        detail = ", ".join(f"{op} c={level}: {ratio:.1f}x" for ratio, op, level in ratios)
        verdict(worst[0] >= TARGET_RATIO, f"round trips/s >= {TARGET_RATIO:.0f}x moto's (worst {worst[0]:.1f}x; {detail})")
    cpu = [(r.cpu_per_request, op, level) for (name, op, level), r in results.items() if name == "greenflow"]
    if cpu:
        worst_cpu = max(cpu)
        verdict(
            worst_cpu[0] <= TARGET_CPU,
            f"service CPU <= {us(TARGET_CPU)} us/request in every phase (worst {us(worst_cpu[0])} us: "
            f"{worst_cpu[1]} c={worst_cpu[2]}; mean {us(sum(c for c, _, _ in cpu) / len(cpu))} us)",
        )
    single = [(r.percentile(0.99), max(r.latencies), op) for (name, op, level), r in results.items()
              if name == "greenflow" and level == 1 and r.latencies]
    if single:
        worst_p99 = max(single)
        own = floor.get(1)
        floor_text = (f"; botocore's own cost measured now: p50 {ms(own.percentile(0.5))} ms, "
                      f"p99 {ms(own.percentile(0.99))} ms") if own else ""
        verdict(
            worst_p99[0] <= TARGET_LATENCY,
            f"at 1 client, p99 latency <= {ms(TARGET_LATENCY)} ms in every phase (worst p99 {ms(worst_p99[0])} ms: "
            f"{worst_p99[2]}; slowest request {ms(max(s[1] for s in single))} ms{floor_text})",
        )
    if not verdicts:
        print("  (greenflow or moto missing: no targets checked)")
    return bool(verdicts) and all(verdicts)


def busy_share(seconds: float = 1.0) -> float:
    """The share of the machine's CPU (0-1) that was busy over the next ``seconds``."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            ticks = [int(v) for v in stat.readline().split()[1:]]
        return ticks[3] + ticks[4], sum(ticks)  # idle + iowait, total

    idle0, total0 = sample()
    time.sleep(seconds)
    idle1, total1 = sample()
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 0 when every target passes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run under 30 s")
    parser.add_argument("--servers", default="greenflow,moto", help="comma-separated: greenflow, moto (default both)")
    parser.add_argument("--per-operation", action="store_true",
                        help="only greenflow's service CPU per call of each operation (W2's shape)")
    args = parser.parse_args(argv)
    if args.per_operation:
        with tempfile.TemporaryDirectory(prefix="greenflow-bench-") as directory:
            server = greenflow_server(os.path.join(directory, "bench.db")).start()
            try:
                print_per_operation(per_operation_cpu(server), CHAIN_WORKFLOWS, CHAIN_LENGTH)
            finally:
                server.stop()
        return 0
    totals = QUICK_TOTALS if args.quick else FULL_TOTALS
    wanted = [name.strip() for name in args.servers.split(",") if name.strip()]
    began = time.monotonic()

    # Fork the client processes first, while this process has no threads or clients.
    pool = ClientPool(PROCESSES)
    launched: dict[str, ServerProcess] = {}
    servers: dict[str, ServerProcess] = {}
    tmpdir = tempfile.TemporaryDirectory(prefix="greenflow-bench-")
    try:
        launched["null"] = null_server()
        for name in wanted:
            if name == "greenflow":
                launched[name] = greenflow_server(os.path.join(tmpdir.name, "bench.db"))
            elif name == "moto":
                launched[name] = moto_server()
            else:
                parser.error(f"unknown server {name!r}")
        for server in launched.values():  # all start at once: moto alone takes seconds to import
            server.launch()
        for name, server in launched.items():
            try:
                servers[name] = server.wait_ready()
            except RuntimeError as error:
                server.stop()
                if name == "null":
                    raise
                print(f"skipping {name}: {error}", file=sys.stderr)
        null = servers["null"]
        names = [name for name in wanted if name in servers]
        print(
            f"greenflow local service vs moto {moto_version()} SWF server, {os.cpu_count()} CPUs, "
            f"{'quick' if args.quick else 'full'} run; clients: {PROCESSES} processes "
            f"(128 clients = {PROCESSES} processes x {128 // PROCESSES} threads); executions per level: "
            + ", ".join(f"c={level}: {totals[level]}" for level in LEVELS)
        )

        busy = busy_share()
        print(f"machine busy before the run (others' load): {100 * busy:.0f}% of {os.cpu_count()} CPUs"
              + ("  WARNING: rates and latencies below are skewed by that load; CPU/request much less" if busy > 0.1
                 else ""))
        # The floor: botocore's own cost per call, against a server that does nothing, and
        # the most calls/s these clients can make on this machine at each level.
        floor = {level: pool.run(null, PhaseSpec("start", null.endpoint, level, max(totals[level], 200), "n", "n",
                                                 f"null{level}"))
                 for level in LEVELS}
        print(f"botocore's own cost per call (null server, 1 client): p50 {ms(floor[1].percentile(0.5))} ms, "
              f"p99 {ms(floor[1].percentile(0.99))} ms")
        print("client ceiling (null server calls/s; a round trip is 2 calls): "
              + ", ".join(f"c={level}: {floor[level].rate:.0f}" for level in LEVELS))

        results: dict[tuple[str, str, int], PhaseResult] = {}
        # Each server's CPU over its whole runs, gaps between phases included: what it
        # does in the background (idle WAL checkpoints) is then counted too.
        whole_cpu = dict.fromkeys(names, 0.0)
        for level in LEVELS:
            for name in names:
                cpu_before = servers[name].cpu_seconds()
                for result in run_phases(pool, servers[name], level, totals[level], label=name):
                    results[(name, result.spec.operation, level)] = result
                whole_cpu[name] += servers[name].cpu_seconds() - cpu_before
        print()
        print_table(results, names)
        for name in names:
            requests = sum(r.requests for (server, _, _), r in results.items() if server == name)
            if requests:
                print(f"{name}: CPU per request over whole levels, gaps between phases included: "
                      f"{us(whole_cpu[name] / requests)} us")
        print()
        print_problems(results)
        print()
        print_ceiling(results, floor)
        print()
        if "greenflow" in servers:
            workflows = CHAIN_WORKFLOWS // 4 if args.quick else CHAIN_WORKFLOWS
            print_per_operation(per_operation_cpu(servers["greenflow"], workflows), workflows, CHAIN_LENGTH)
            print()
        ok = check_targets(results, floor)
        print(f"\nelapsed {time.monotonic() - began:.0f} s")
        return 0 if ok else 1
    finally:
        for server in launched.values():
            server.stop()
        pool.close()
        tmpdir.cleanup()


def moto_version() -> str:
    """moto's version, or "?" when it is not installed."""
    try:
        import moto

        return moto.__version__
    except ImportError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
