"""Benchmark: the local service's cost as work grows (issue 12).

    python benchmarks/bench_scale.py                    # 99,500 open + 1,000,000 closed
    python benchmarks/bench_scale.py --open 10000 --closed 100000   # smaller, faster

Measures, on a ``greenflow server`` process with an empty database and then with one holding
``--open`` executions waiting on timers and ``--closed`` closed ones (same run, same
machine): the p50/p99 latency of StartWorkflowExecution, PollForDecisionTask (a task waiting),
RespondDecisionTaskCompleted (closing the run), ListOpenWorkflowExecutions and
ListClosedWorkflowExecutions (this run's executions, so both databases answer the same
rows), the service's start-up time and its memory (VmRSS) after start-up and after the
measurements. Both servers run at once and the measurements alternate between them, so
load from elsewhere on a shared machine hits both alike. Targets: every latency within
1.5x of the empty database's, and the service's memory after the measurements too.

**How the big database is built (fast, documented).** Through the service itself, one
template execution of each kind is made: one that started a 30-day timer and waits on it
(open) and one that completed (closed). Then, with the service stopped, plain SQL copies the
template's ``executions`` row (its state and its ``next_deadline``, the timer's fire time)
and its ``events`` rows N times under new workflow and run IDs (``INSERT ... SELECT`` over a
recursive counter, in one transaction per kind). The copies are exactly what the engine
would have written for those executions (the engine keeps no per-ID state elsewhere);
closed copies get close times spread over the last 30 days. The measurements then run on a
fresh service process on that file, which starts like after any restart: it reads the runs
with tasks to hand out and the first window of deadlines, not every open run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from greenflow.bench.runner import percentile  # noqa: E402
from greenflow.swf import connect  # noqa: E402

DOMAIN = "scale"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WTYPE = {"name": "Scale", "version": "1"}


class Server:
    """``greenflow server`` on a database, as a child process."""

    def __init__(self, db_path: str):
        began = time.perf_counter()
        self.process = subprocess.Popen([sys.executable, "-m", "greenflow", "server", "--db", db_path, "--port", "0"],
                                        stdout=subprocess.PIPE, text=True, cwd=REPO)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if "listening on" not in line:
            self.process.kill()
            raise RuntimeError(f"greenflow server did not start: {line!r}")
        self.startup = time.perf_counter() - began
        self.endpoint = line.split("listening on ")[1].split()[0]

    def rss_mb(self) -> float:
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(60)


def _register(swf) -> None:
    swf.ensure_domain(DOMAIN, retention_days=90)
    try:
        swf.call("RegisterWorkflowType", domain=DOMAIN, **WTYPE, defaultTaskList={"name": "tl"},
                 defaultTaskStartToCloseTimeout="60", defaultExecutionStartToCloseTimeout="31536000",
                 defaultChildPolicy="TERMINATE")
    except Exception:  # noqa: BLE001 - already registered
        pass


def _decide(swf, task_list: str, decisions: list) -> None:
    task = swf.poll_for_decision_task(domain=DOMAIN, taskList={"name": task_list}, identity="bench")
    assert task is not None
    swf.call("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=decisions)


def build(db_path: str, open_count: int, closed_count: int) -> float:
    """Make the templates through a service, then copy them with SQL; returns seconds taken."""
    began = time.perf_counter()
    server = Server(db_path)
    swf = connect(endpoint=server.endpoint)
    _register(swf)
    swf.call("StartWorkflowExecution", domain=DOMAIN, workflowId="template-open", workflowType=WTYPE,
             taskList={"name": "tl-template"})
    _decide(swf, "tl-template", [{"decisionType": "StartTimer", "startTimerDecisionAttributes": {
        "timerId": "t", "startToFireTimeout": str(30 * 86400)}}])
    swf.call("StartWorkflowExecution", domain=DOMAIN, workflowId="template-closed", workflowType=WTYPE,
             taskList={"name": "tl-template"})
    _decide(swf, "tl-template", [{"decisionType": "CompleteWorkflowExecution",
                                  "completeWorkflowExecutionDecisionAttributes": {"result": "1"}}])
    swf.close()
    server.stop()
    conn = sqlite3.connect(db_path)
    now = time.time()
    for template, prefix, count, closed in (("template-open", "open", open_count, False),
                                            ("template-closed", "closed", closed_count, True)):
        counter = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        close_ts = "? - (i % 2592000)" if closed else "close_ts"
        with conn:
            conn.execute(
                counter + "INSERT INTO executions SELECT domain, ? || i, run_id || '-' || i, type_name, type_version, "
                f"start_ts - (i % 2592000) - 1, {close_ts}, status, close_status, tag_list, cancel_requested, "
                "parent_workflow_id, parent_run_id, state, next_deadline FROM executions, n WHERE domain = ? AND workflow_id = ?",
                (count, f"{prefix}-", *((now,) if closed else ()), DOMAIN, template))
            conn.execute(
                counter + "INSERT INTO events SELECT domain, ? || i, run_id || '-' || i, event_id, event "
                "FROM events, n WHERE domain = ? AND workflow_id = ?", (count, f"{prefix}-", DOMAIN, template))
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - began


OPERATIONS = ("start", "poll", "decide", "list_open", "list_closed")
#: Target: the big database's service memory within this ratio of the empty one's.
MEMORY_RATIO = 1.5


class Target:
    """One server under measurement, with its client and timings."""

    def __init__(self, db_path: str):
        self.server = Server(db_path)
        self.figures: dict = {"startup_s": self.server.startup, "rss_start_mb": self.server.rss_mb()}
        self.swf = connect(endpoint=self.server.endpoint)
        _register(self.swf)
        self.task_list = f"tl-measure-{time.time_ns()}"
        self.since = time.time() - 1
        self.timings: dict[str, list[float]] = {name: [] for name in OPERATIONS}

    def timed(self, name: str, fn):
        began = time.perf_counter()
        value = fn()
        self.timings[name].append(time.perf_counter() - began)
        return value

    def round(self, i: int) -> None:
        swf = self.swf
        self.timed("start", lambda: swf.call("StartWorkflowExecution", domain=DOMAIN, workflowId=f"m-{i}",
                                             workflowType=WTYPE, taskList={"name": self.task_list}))
        task = self.timed("poll", lambda: swf.poll_for_decision_task(
            domain=DOMAIN, taskList={"name": self.task_list}, identity="bench"))
        complete = {"decisionType": "CompleteWorkflowExecution",
                    "completeWorkflowExecutionDecisionAttributes": {"result": "1"}}
        self.timed("decide", lambda: swf.call("RespondDecisionTaskCompleted", taskToken=task["taskToken"],
                                              decisions=[complete]))
        # Lists that match the same rows on both databases (this run's executions), so the
        # answer sizes are equal and only the cost of finding them differs.
        self.timed("list_open", lambda: swf.call("ListOpenWorkflowExecutions", domain=DOMAIN,
                                                 startTimeFilter={"oldestDate": self.since}, maximumPageSize=100))
        self.timed("list_closed", lambda: swf.call("ListClosedWorkflowExecutions", domain=DOMAIN,
                                                   closeTimeFilter={"oldestDate": self.since}, maximumPageSize=100))

    def finish(self) -> dict:
        self.figures["rss_end_mb"] = self.server.rss_mb()
        for name, values in self.timings.items():
            self.figures[name] = (percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000)
        self.swf.close()
        self.server.stop()
        return self.figures


def measure(empty_db: str, big_db: str, rounds: int) -> tuple[dict, dict]:
    """Both servers at once, rounds alternating between them (so that load drift on a shared
    machine hits both alike)."""
    empty, big = Target(empty_db), Target(big_db)
    for i in range(rounds):
        empty.round(i)
        big.round(i)
    return empty.finish(), big.finish()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # SWF allows 100,000 open executions per domain; the measurements need room for theirs.
    parser.add_argument("--open", type=int, default=99_500, help="open executions waiting on timers")
    parser.add_argument("--closed", type=int, default=1_000_000, help="closed executions")
    parser.add_argument("--rounds", type=int, default=200, help="measurements per operation")
    args = parser.parse_args(argv)
    directory = tempfile.mkdtemp(prefix="greenflow-scale-")
    try:
        empty_db = os.path.join(directory, "empty.db")
        big_db = os.path.join(directory, "big.db")
        build(empty_db, 0, 0)
        print(f"building {args.open:,} open + {args.closed:,} closed executions ...", file=sys.stderr, flush=True)
        built = build(big_db, args.open, args.closed)
        size = os.path.getsize(big_db) / 1e6
        print(f"built in {built:.1f} s ({size:,.0f} MB); measuring "
              f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {os.getloadavg()[0]:.1f})",
              file=sys.stderr, flush=True)
        empty, big = measure(empty_db, big_db, args.rounds)
    finally:
        shutil.rmtree(directory, ignore_errors=True)  # the big database takes gigabytes
    print(f"\n| figure | empty database | {args.open:,} open + {args.closed:,} closed | ratio | target |")
    print("|---|---|---|---|---|")
    ok = True
    for name in OPERATIONS:
        ratio = big[name][0] / empty[name][0]
        passed = ratio <= 1.5
        ok &= passed
        print(f"| {name} p50 / p99 ms | {empty[name][0]:.2f} / {empty[name][1]:.2f} | "
              f"{big[name][0]:.2f} / {big[name][1]:.2f} | {ratio:.2f}x | <= 1.5x {'PASS' if passed else 'MISS'} |")
    print(f"| start-up | {empty['startup_s']:.2f} s | {big['startup_s']:.2f} s | | |")
    # Memory stays bounded: the open runs' state and deadlines are not all held in memory.
    memory = big["rss_end_mb"] / empty["rss_end_mb"]
    ok &= memory <= MEMORY_RATIO
    print(f"| service memory (VmRSS) after start-up / after "
          f"| {empty['rss_start_mb']:.0f} / {empty['rss_end_mb']:.0f} MB | "
          f"{big['rss_start_mb']:.0f} / {big['rss_end_mb']:.0f} MB | {memory:.2f}x (after) | "
          f"<= {MEMORY_RATIO}x {'PASS' if memory <= MEMORY_RATIO else 'MISS'} |")
    return 0 if ok else 2


if __name__ == "__main__":
    raise SystemExit(main())
