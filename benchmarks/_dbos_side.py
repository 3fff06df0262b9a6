"""The DBOS side of ``bench_vs_dbos.py``: W1-W4 on DBOS (SQLite, default settings, async
API, in-process), collected the user's way, printed as JSON (the same figures as
``greenflow bench --json``). Run by ``bench_vs_dbos.py`` in its own process: DBOS runs on
threads and asyncio, greenflow's side on gevent, and neither should disturb the other.

    python benchmarks/_dbos_side.py --collect waiters [--scale 0.1] [W1 W2 ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from dbos import DBOS, DBOSConfig  # noqa: E402

from greenflow.bench.runner import percentile  # noqa: E402
from greenflow.bench.workloads import WORKLOADS  # noqa: E402


@DBOS.step()
async def noop(i: int) -> int:
    return i


@DBOS.workflow()
async def one_activity() -> int:
    return await noop(1)


@DBOS.workflow()
async def sequential(n: int) -> int:
    total = 0
    for i in range(n):
        total += await noop(i)
    return total


@DBOS.workflow()
async def parallel(n: int) -> int:
    return sum(await asyncio.gather(*[noop(i) for i in range(n)]))


@DBOS.workflow()
async def sleeper(seconds: int) -> int:
    await DBOS.sleep_async(seconds)
    return seconds


#: The DBOS workflow of each standard workload (same input, same expected result).
FUNCTIONS = {"W1-alone": one_activity, "W1": one_activity, "W2": sequential, "W3": parallel, "W4": sleeper}


async def run(key: str, count: int, concurrency: int, collect: str) -> dict[str, Any]:
    workload = WORKLOADS[key]
    function = FUNCTIONS[key]
    latencies: list[float] = []
    failures: list[str] = []
    cpu_before = time.process_time()
    began = time.perf_counter()

    async def finished(started: float, handle: Any) -> None:
        try:
            value = await handle.get_result()
        except Exception as error:  # noqa: BLE001 - recorded
            failures.append(f"{type(error).__name__}: {error}")
            return
        latencies.append(time.perf_counter() - started)
        if value != workload.expected:
            failures.append(f"returned {value!r}, expected {workload.expected!r}")

    if collect == "waiters":
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                started = time.perf_counter()
                await finished(started, await DBOS.start_workflow_async(function, *workload.args))

        await asyncio.gather(*[one() for _ in range(count)])
    else:
        for first in range(0, count, concurrency):
            batch = []
            for _ in range(min(concurrency, count - first)):
                started = time.perf_counter()
                batch.append((started, await DBOS.start_workflow_async(function, *workload.args)))
            for started, handle in batch:
                await finished(started, handle)
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - cpu_before
    done = len(latencies)
    return {"workload": f"{workload.key} {workload.title}", "workflows": count, "concurrency": concurrency,
            "collect": collect, "completed": done, "failures": len(failures), "failure_examples": failures[:3],
            "elapsed_s": round(elapsed, 3), "workflows_per_s": round(done / elapsed, 2),
            "unit": workload.unit, "units_per_s": round(done * workload.units / elapsed, 2),
            "latency_ms": {name: round(percentile(latencies, q) * 1000, 2)
                           for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))},
            "client_cpu_ms_per_workflow": round(cpu / count * 1000, 3)}


async def main_async(args: argparse.Namespace) -> list[dict]:
    runs = []
    await DBOS.start_workflow_async(one_activity)  # warm-up
    for key in args.workloads:
        workload = WORKLOADS[key]
        count = max(1, round(workload.count * args.scale))
        concurrency = workload.concurrency or count
        runs.append(await run(key, count, concurrency, args.collect))
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workloads", nargs="*", default=list(FUNCTIONS))
    parser.add_argument("--collect", choices=("waiters", "loop"), default="waiters")
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="dbos-bench-")
    config: DBOSConfig = {"name": "bench", "system_database_url": f"sqlite:///{directory}/dbos.sqlite"}
    DBOS(config=config)
    DBOS.launch()
    try:
        runs = asyncio.run(main_async(args))
    finally:
        DBOS.destroy()
        shutil.rmtree(directory, ignore_errors=True)  # its database: nothing is kept between runs
    json.dump({"engine": "DBOS", "collect": args.collect, "runs": runs}, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 1 if any(run["failures"] for run in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
