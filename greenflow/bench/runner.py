"""Run N workflows at concurrency C and collect every result the way a user does.

Two ways of collecting, both ``handle.result()``:

* ``"waiters"``: one greenlet per workflow (at most C at once) starts it and waits for its
  result - the natural way to wait for many results;
* ``"loop"``: start C workflows one after the other, then call ``result()`` on each in turn,
  batch after batch.

Every result is checked against the expected one. Measured: each workflow's latency from
before ``start()`` to ``result()`` returning, completions over time, the SWF calls made
through the client's :class:`~greenflow.swf.SWFClient` (workers in the same process share
it, so they count too), and CPU seconds of this process and of the embedded service's
process, when there is one.

Call it from a gevent-patched program (the ``greenflow`` command is one).
"""

from __future__ import annotations

import collections
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import gevent
import gevent.pool

__all__ = ["RunResult", "run_workflows", "percentile", "service_cpu_seconds", "process_cpu_seconds",
           "process_tree_cpu_seconds", "COLLECT_MODES"]

COLLECT_MODES = ("waiters", "loop")


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` percentile of ``values`` (nearest rank); NaN for none."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def service_cpu_seconds(swf: Any) -> float | None:
    """CPU seconds used so far by the embedded service's own process, if it has one (Linux)."""
    pid = getattr(getattr(swf, "local_service", None), "pid", None)
    return process_cpu_seconds(pid) if pid else None


def process_cpu_seconds(pid: int) -> float | None:
    """CPU seconds used so far by process ``pid`` (Linux ``/proc``), or ``None``."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def process_tree_cpu_seconds(pid: int) -> float | None:
    """CPU seconds used so far by process ``pid`` and its living descendants (Linux), or ``None``."""
    own = process_cpu_seconds(pid)
    if own is None:
        return None
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            kids = [int(child) for child in children.read().split()]
    except (OSError, ValueError):
        kids = []
    return own + sum(process_tree_cpu_seconds(kid) or 0.0 for kid in kids)


@dataclass
class RunResult:
    """The figures of one run (see :meth:`summary` for the derived ones)."""

    label: str
    count: int
    concurrency: int
    collect: str
    units: int
    unit: str
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    completions: list[float] = field(default_factory=list)   # seconds from the run's start
    calls: dict[str, int] = field(default_factory=dict)
    client_cpu: float = 0.0
    service_cpu: float | None = None
    workers_cpu: float | None = None   # worker processes of their own, when there are any
    failures: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Throughput, latency percentiles (ms), SWF calls and CPU (ms) per workflow."""
        done = len(self.latencies)
        calls = sum(self.calls.values())
        return {
            "workload": self.label, "workflows": self.count, "concurrency": self.concurrency,
            "collect": self.collect, "completed": done, "failures": len(self.failures),
            "elapsed_s": round(self.elapsed, 3),
            "workflows_per_s": round(done / self.elapsed, 2) if self.elapsed else None,
            "unit": self.unit, "units_per_s":
                round(done * self.units / self.elapsed, 2) if self.elapsed else None,
            "latency_ms": {name: round(percentile(self.latencies, q) * 1000, 2)
                           for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))},
            "swf_calls_per_workflow": round(calls / self.count, 2) if self.count else None,
            "swf_calls": dict(sorted(self.calls.items())),
            "client_cpu_ms_per_workflow": round(self.client_cpu / self.count * 1000, 3) if self.count else None,
            "service_cpu_ms_per_workflow": (round(self.service_cpu / self.count * 1000, 3)
                                            if self.service_cpu is not None and self.count else None),
            "workers_cpu_ms_per_workflow": (round(self.workers_cpu / self.count * 1000, 3)
                                            if self.workers_cpu is not None and self.count else None),
        }


def run_workflows(client: Any, method: Any, args: tuple[Any, ...] = (), *, count: int, concurrency: int | None = None,
                  collect: str = "waiters", expected: Any = None, check: bool = True, label: str = "",
                  units: int = 1, unit: str = "workflows", timeout: float = 600,
                  progress: Callable[[int, int], None] | None = None,
                  workers_cpu: Callable[[], float | None] | None = None) -> RunResult:
    """Start ``count`` executions of ``method(*args)`` through ``client`` (a
    :class:`~greenflow.client.WorkflowClient`), at most ``concurrency`` open at once (all by
    default), and collect every result with ``handle.result()`` as ``collect`` says.

    ``workers_cpu()``, when given, tells the CPU seconds used so far by worker processes
    of their own (``greenflow bench --processes``); the run reports their share.

    With ``check``, every result must equal ``expected``; a different result or an error is
    recorded in ``failures``. ``progress(done, count)`` is called after each result.
    """
    if collect not in COLLECT_MODES:
        raise ValueError(f"collect must be one of {COLLECT_MODES}, not {collect!r}")
    if count < 1:
        raise ValueError(f"count must be at least 1, not {count}")
    width = count if concurrency is None else max(1, min(concurrency, count))
    result = RunResult(label=label, count=count, concurrency=width, collect=collect, units=units, unit=unit)
    swf = client.swf
    calls_before = collections.Counter(swf.calls)
    cpu_before = time.process_time()
    service_before = service_cpu_seconds(swf)
    workers_before = workers_cpu() if workers_cpu is not None else None
    began = time.perf_counter()

    def finished(started: float, handle: Any) -> None:
        try:
            value = handle.result(timeout=timeout)
        except Exception as error:  # noqa: BLE001 - recorded, the run goes on
            result.failures.append(f"{handle.workflow_id}: {type(error).__name__}: {error}")
            return
        now = time.perf_counter()
        result.latencies.append(now - started)
        result.completions.append(now - began)
        if check and value != expected:
            result.failures.append(f"{handle.workflow_id}: returned {value!r}, expected {expected!r}")
        if progress is not None:
            progress(len(result.latencies), count)

    if collect == "waiters":
        def one(_: int) -> None:
            started = time.perf_counter()
            finished(started, client.start(method, *args))

        pool = gevent.pool.Pool(width)
        for i in range(count):
            pool.spawn(one, i)
        pool.join(raise_error=True)
    else:
        for first in range(0, count, width):
            batch = [(time.perf_counter(), client.start(method, *args)) for _ in range(min(width, count - first))]
            for started, handle in batch:
                finished(started, handle)
    result.elapsed = time.perf_counter() - began
    result.client_cpu = time.process_time() - cpu_before
    service_after = service_cpu_seconds(swf)
    if service_before is not None and service_after is not None:
        result.service_cpu = service_after - service_before
    workers_after = workers_cpu() if workers_cpu is not None else None
    if workers_before is not None and workers_after is not None:
        result.workers_cpu = workers_after - workers_before
    result.calls = dict(collections.Counter(swf.calls) - calls_before)
    gevent.sleep(0)
    return result
