"""Benchmark: W4 with and without the next decision task in each decision's answer.

    python benchmarks/bench_next_decision.py            # 3 rounds of each, about a minute
    python benchmarks/bench_next_decision.py --rounds 1 --count 50   # smoke run

W4 (``greenflow.bench.workloads``: 200 workflows each sleeping a 1 s durable timer, all
started at once) as ``greenflow bench W4`` runs it: the embedded local service (a child
process, SQLite in a temporary file, the wall clock) and one ``Worker`` in this process
(4 decision pollers). The decision task each fired timer schedules reaches the workflow
worker either in the answer to the decision before it (``x-greenflow-eager-decision`` on
``RespondDecisionTaskCompleted``, the default) or through a ``PollForDecisionTask``
(``eager_decisions`` off on the workflow worker only: starts still hand over the first
decision task). The two modes alternate round by round on the same service and worker, so
both see the same machine load; the figures are medians over the rounds.

Target: with the hand-over, fewer SWF calls per workflow (PASS when at least 0.9 fewer:
one poll per fired timer saved, less the few polls still open) and a total time no worse
than 1.1 x the polled one (the machine is shared; the calls saved are CPU saved on both
sides, which is what shortens a CPU-bound run).
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()  # before botocore: workers, polls and the client are greenlets

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from greenflow.bench.runner import run_workflows  # noqa: E402
from greenflow.bench.workloads import DOMAIN, TASK_LIST, WORKFLOW_CLASSES, BenchActivities, Sleeper  # noqa: E402
from greenflow.client import WorkflowClient  # noqa: E402
from greenflow.swf import connect  # noqa: E402
from greenflow.worker import Worker, WorkflowWorker  # noqa: E402

MODES = (("handed over", True), ("polled", False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each mode (default 3)")
    parser.add_argument("--count", type=int, default=200, help="workflows per run (default 200, W4's size)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="greenflow-bench-") as directory:
        swf = connect(db_path=os.path.join(directory, "bench.db"))
        worker = Worker(swf, DOMAIN, workflows=WORKFLOW_CLASSES, activities=[BenchActivities()], task_list=TASK_LIST,
                        workflow_options={"pollers": 4}, activity_options={"pool_size": 200})
        workflow_worker = next(w for w in worker.workers if isinstance(w, WorkflowWorker))
        client = WorkflowClient(swf, DOMAIN, TASK_LIST)
        runs: dict[str, list[dict]] = {name: [] for name, _ in MODES}
        try:
            worker.start()
            client.start(Sleeper.run, 0).result(timeout=60)  # warm-up: registration, connections
            for round_number in range(args.rounds):
                # Alternate which mode goes first, so neither always follows the other.
                for name, eager in (MODES if round_number % 2 == 0 else MODES[::-1]):
                    workflow_worker.eager_decisions = eager
                    result = run_workflows(client, Sleeper.run, (1,), count=args.count, expected=1,
                                           label=f"W4 {name}")
                    if result.failures:
                        print("\n".join(result.failures[:10]), file=sys.stderr)
                        return 1
                    summary = result.summary()
                    runs[name].append(summary)
                    print(f"round {round_number + 1} {name:12} {summary['elapsed_s']:6.2f} s  "
                          f"p90 {summary['latency_ms']['p90'] / 1000:5.2f} s  "
                          f"{summary['swf_calls_per_workflow']:5.2f} calls/wf  "
                          f"polls {summary['swf_calls'].get('PollForDecisionTask', 0):4}  "
                          f"client CPU {summary['client_cpu_ms_per_workflow']:6.2f} ms/wf  "
                          f"service CPU {summary['service_cpu_ms_per_workflow'] or 0:6.2f} ms/wf", file=sys.stderr)
        finally:
            client.close()
            worker.stop(timeout=0)
            swf.close()
            if swf.local_service is not None:
                swf.local_service.stop()

    def median(name: str, key: str) -> float:
        return statistics.median(float(run[key] or 0) for run in runs[name])

    print()
    print(f"| W4 {args.count} x 1 s timer, median of {args.rounds} | total time | SWF calls / wf | "
          "client CPU ms / wf | service CPU ms / wf |")
    print("|---|---|---|---|---|")
    for name, _ in MODES:
        print(f"| timer-fired decision task {name} | {median(name, 'elapsed_s'):.2f} s | "
              f"{median(name, 'swf_calls_per_workflow'):.2f} | {median(name, 'client_cpu_ms_per_workflow'):.2f} | "
              f"{median(name, 'service_cpu_ms_per_workflow'):.2f} |")
    saved = median("polled", "swf_calls_per_workflow") - median("handed over", "swf_calls_per_workflow")
    ratio = median("handed over", "elapsed_s") / median("polled", "elapsed_s")
    checks = [(f"calls saved per workflow {saved:.2f} >= 0.9", saved >= 0.9),
              (f"total time ratio handed over / polled {ratio:.2f} <= 1.1", ratio <= 1.1)]
    print()
    for text, ok in checks:
        print(f"{'PASS' if ok else 'MISS'}: {text}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
