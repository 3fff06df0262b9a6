"""Benchmark: W1 and W2 throughput with the workers in the program, in 1 and in 2 worker
processes, against one embedded service; and where the CPU goes, for the model of N.

    python benchmarks/bench_processes.py            # W1 500, W2 200 (about a minute)
    python benchmarks/bench_processes.py --quick    # sizes / 5

Each configuration is one ``greenflow bench W1 W2 --json --processes N`` run (a fresh
embedded service on a temporary database each time; N = 0 runs the workers in the
program itself, the way a first program does). Results are collected the user's way
(``handle.result()``, one waiter per workflow). Printed per configuration: throughput and
the CPU per workflow of the three kinds of process, as ``greenflow bench`` reads them from
``/proc``: the program (starts and waits; with N = 0 also the workers), the worker
processes, and the service (one process, one SQLite writer).

The model for N worker processes on a machine with enough cores: the service is one
process with one GIL, so it serves at most ``1 / (service CPU per workflow)`` workflows
per second whatever N is; the workers give ``N / (worker CPU per workflow)``. The printed
bounds say which saturates first.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(processes: int, scale: float, collect: str) -> dict:
    """One ``greenflow bench`` run's report."""
    command = [sys.executable, "-m", "greenflow", "bench", "W1", "W2", "--json", "--no-progress",
               "--collect", collect, "--processes", str(processes), "--scale", str(scale)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0 or not result.stdout.strip().startswith("{"):
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="sizes / 5")
    parser.add_argument("--collect", choices=("waiters", "loop"), default="waiters")
    parser.add_argument("--processes", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    scale = 0.2 if args.quick else 1.0
    print(f"W1/W2 by worker processes ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, collect={args.collect})\n")
    print("| worker processes | workload | throughput | program CPU ms/wf | workers CPU ms/wf "
          "| service CPU ms/wf | service bound wf/s | workers bound wf/s (N) |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for processes in args.processes:
        for run in _run(processes, scale, args.collect)["runs"]:
            # With N = 0 the program's CPU is the workers' too (and the starter's, a little).
            worker_ms = run["workers_cpu_ms_per_workflow"] if processes else run["client_cpu_ms_per_workflow"]
            service_ms = run["service_cpu_ms_per_workflow"] or 0.0
            service_bound = 1000 / service_ms if service_ms else float("inf")
            workers_bound = max(1, processes) * 1000 / worker_ms if worker_ms else float("inf")
            rows.append((processes, run, worker_ms, service_bound, workers_bound))
            print(f"| {processes or 'in the program'} | {run['workload'].split()[0]} ({run['workflows']}) "
                  f"| {run['units_per_s']} {run['unit']}/s | {run['client_cpu_ms_per_workflow']} "
                  f"| {'(in the program)' if not processes else f'{worker_ms:.2f}'} | {service_ms} "
                  f"| {service_bound:.0f} | {workers_bound:.0f} |")
    print("\nModel for N worker processes with enough cores: throughput <= min(service bound, "
          "N x workers bound per process).")
    for processes, run, _worker_ms, service_bound, workers_bound in rows:
        if processes == 1:
            crossover = service_bound / workers_bound if workers_bound else float("inf")
            print(f"- {run['workload'].split()[0]}: the service saturates first once N > {crossover:.1f} "
                  f"({service_bound:.0f} wf/s: one process, one SQLite writer).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
