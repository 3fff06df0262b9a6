"""Benchmark: greenflow against DBOS in the same run, W1-W4, every result collected the user's way.

    python benchmarks/bench_vs_dbos.py            # full sizes (a few minutes)
    python benchmarks/bench_vs_dbos.py --quick    # sizes / 10, a smoke run
    python benchmarks/bench_vs_dbos.py --collect waiters   # one way of collecting only

Both engines run in-process the way a first program does, each in its own Python process
(started one after the other, never at once):

* greenflow: ``greenflow bench --json`` - the embedded local service (a child process,
  SQLite in a temporary file), a workflow worker and an activity worker in the program;
* DBOS 3.4: ``benchmarks/_dbos_side.py`` - SQLite system database, default settings,
  async API.

Workloads are ``greenflow.bench.workloads``' (the issue's sizes): W1-alone (30 one-activity
workflows, one at a time: start-to-result latency), W1 (500 at once), W2 (200 x 10
sequential activities), W3 (10 x 100 parallel), W4 (200 x a 1 s durable timer). Each is
collected two ways, both the user's: ``loop`` (start all, then ``result()`` on each in turn)
and ``waiters`` (one greenlet / asyncio task per workflow starting it and awaiting its
result). Every result is checked. Printed: both sides' figures and greenflow/DBOS ratios
against the targets (issue 12): W1 p50 latency <= 0.6x DBOS's; W1 and W2 throughput >= 1.5x;
W3 >= 2x; W4 total time <= 0.5x. Exit status 0 when every target passes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOADS = ("W1-alone", "W1", "W2", "W3", "W4")

# (label, workload, figure, better, target): ratio = greenflow / DBOS.
TARGETS = [
    ("W1 p50 latency", "W1-alone", "p50", "lower", 0.6),
    ("W1 throughput", "W1", "units_per_s", "higher", 1.5),
    ("W2 throughput", "W2", "units_per_s", "higher", 1.5),
    ("W3 throughput", "W3", "units_per_s", "higher", 2.0),
    ("W4 total time", "W4", "elapsed_s", "lower", 0.5),
]


def _run(command: list[str]) -> dict:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if result.returncode not in (0, 1) or not result.stdout.strip().startswith("{"):
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    report = json.loads(result.stdout)
    report["wall_s"] = time.perf_counter() - started
    return report


def _by_key(report: dict) -> dict[str, dict]:
    return {run["workload"].split()[0]: run for run in report["runs"]}


def _figure(run: dict, figure: str) -> float:
    return run["latency_ms"]["p50"] if figure == "p50" else run[figure]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="sizes / 10 (a smoke run)")
    parser.add_argument("--collect", choices=("loop", "waiters"), action="append",
                        help="how results are collected (default: both)")
    args = parser.parse_args(argv)
    scale = ["--scale", "0.1"] if args.quick else []
    modes = args.collect or ["loop", "waiters"]
    print(f"greenflow vs DBOS, same machine, same run ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})", file=sys.stderr)
    all_pass = True
    failures = 0
    for mode in modes:
        print(f"  {mode}: greenflow ...", file=sys.stderr, flush=True)
        ours = _run([sys.executable, "-m", "greenflow", "bench", *WORKLOADS, "--collect", mode, "--json",
                     "--no-progress", *scale])
        print(f"  {mode}: DBOS ...", file=sys.stderr, flush=True)
        theirs = _run([sys.executable, os.path.join("benchmarks", "_dbos_side.py"), *WORKLOADS,
                       "--collect", mode, *scale])
        g, d = _by_key(ours), _by_key(theirs)
        failures += sum(run["failures"] for run in ours["runs"] + theirs["runs"])
        print(f"\n### results collected by `{mode}`\n")
        print("| workload | greenflow | DBOS | greenflow latency p50 / p99 | DBOS latency p50 / p99 "
              "| greenflow SWF calls/wf | greenflow CPU ms/wf (program / service) | DBOS CPU ms/wf |")
        print("|---|---|---|---|---|---|---|---|")
        for key in WORKLOADS:
            a, b = g[key], d[key]
            print(f"| {key} ({a['workflows']}) | {a['units_per_s']} {a['unit']}/s, {a['elapsed_s']} s "
                  f"| {b['units_per_s']} {b['unit']}/s, {b['elapsed_s']} s "
                  f"| {a['latency_ms']['p50']} / {a['latency_ms']['p99']} ms "
                  f"| {b['latency_ms']['p50']} / {b['latency_ms']['p99']} ms "
                  f"| {a['swf_calls_per_workflow']} | {a['client_cpu_ms_per_workflow']} / "
                  f"{a['service_cpu_ms_per_workflow']} | {b['client_cpu_ms_per_workflow']} |")
        print("\n| target | greenflow / DBOS | target | verdict |")
        print("|---|---|---|---|")
        for label, key, figure, better, target in TARGETS:
            ratio = _figure(g[key], figure) / _figure(d[key], figure)
            ok = ratio <= target if better == "lower" else ratio >= target
            all_pass &= ok
            sign = "<=" if better == "lower" else ">="
            print(f"| {label} | {ratio:.2f}x | {sign} {target}x | {'PASS' if ok else 'MISS'} |")
    if args.quick:
        print("\n(--quick: sizes / 10; the ratios are indicative only)")
    if failures:
        print(f"\n{failures} executions failed or returned a wrong result", file=sys.stderr)
        return 1
    return 0 if all_pass else 2


if __name__ == "__main__":
    raise SystemExit(main())
