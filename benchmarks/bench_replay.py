"""Benchmark the workflow side: replay throughput, the live-run cache, memory per cached run.

Run: ``python benchmarks/bench_replay.py [--steps 1000] [--runs 1000]``. Prints figures and
ratios; no service, no I/O (histories are generated in memory in SWF's shape).

1. Replay throughput (events/s) of histories of about 1,000, 10,000 and 25,000 events
   (a sequential workflow: one activity per decision; and a fan-out one: 10 parallel
   activities per decision) — target >= 50,000 events/s, linear in history length.
2. A sequential workflow of ``--steps`` activities decided task by task, as a worker would:
   with the live-run cache (each task feeds only the new events) and without it (each task
   replays the whole history). Target: cached >= 50x cheaper.
3. Memory per cached suspended run (tracemalloc), ``--runs`` runs each blocked on an activity.
4. The determinism checks (``greenflow/workflow/_guards.py``): replay and cached decisions
   with the checks on (this module binds ``time`` and ``os``, which are swapped for checked
   stand-ins while workflow code runs) and off, interleaved, best of several; and
   ``time.time()`` called outside workflow code, which must cost what it costs without greenflow.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import greenflow.workflow as wf  # noqa: E402
from greenflow.workflow import _guards  # noqa: E402
from greenflow.activity import activities, activity  # noqa: E402
from greenflow.converter import DEFAULT_CONVERTER  # noqa: E402


@activities(start_to_close_timeout=60)
class Steps:
    @activity()
    def step(self, i):
        return i


class SequentialBench(wf.WorkflowDefinition):
    @wf.execute(version="1.0")
    def run(self, n):
        total = 0
        for i in range(n):
            total += Steps.step(i)
        return total


class FanoutBench(wf.WorkflowDefinition):
    @wf.execute(version="1.0")
    def run(self, rounds, width):
        total = 0
        for r in range(rounds):
            total += sum(wf.wait_all([wf.spawn(Steps.step, r * width + i) for i in range(width)]))
        return total


class HistoryBuilder:
    """Builds an SWF-shaped history quickly, answering decisions as SWF records them."""

    def __init__(self, name: str, input_text: str):
        self.events: list[dict] = []
        self.t = 1_700_000_000.0
        self.scheduled: dict[str, int] = {}
        self.last_started = 0
        self.previous_started = 0
        self.add("WorkflowExecutionStarted", workflowExecutionStartedEventAttributes={
            "workflowType": {"name": name, "version": "1.0"}, "taskList": {"name": "tl"}, "childPolicy": "TERMINATE",
            "input": input_text, "executionStartToCloseTimeout": "3600", "taskStartToCloseTimeout": "30"})
        self.add("DecisionTaskScheduled", decisionTaskScheduledEventAttributes={"taskList": {"name": "tl"}})

    def add(self, event_type: str, **attrs) -> int:
        self.t += 0.001
        event_id = len(self.events) + 1
        self.events.append({"eventId": event_id, "eventTimestamp": self.t, "eventType": event_type, **attrs})
        return event_id

    def start_decision(self) -> dict:
        started = self.add("DecisionTaskStarted",
                           decisionTaskStartedEventAttributes={"scheduledEventId": len(self.events)})
        self.previous_started, self.last_started = self.last_started, started
        return {"taskToken": "t", "startedEventId": started, "previousStartedEventId": self.previous_started,
                "workflowExecution": {"workflowId": "bench", "runId": "run"}, "workflowType": {}}

    def complete_decision(self, decisions: list[dict]) -> None:
        dtc = self.add("DecisionTaskCompleted", decisionTaskCompletedEventAttributes={
            "scheduledEventId": self.last_started - 1, "startedEventId": self.last_started})
        for d in decisions:
            if d["decisionType"] == "ScheduleActivityTask":
                a = dict(d["scheduleActivityTaskDecisionAttributes"], decisionTaskCompletedEventId=dtc,
                         taskList={"name": "tl"})
                self.scheduled[a["activityId"]] = self.add("ActivityTaskScheduled",
                                                           activityTaskScheduledEventAttributes=a)
            elif d["decisionType"] == "CompleteWorkflowExecution":
                self.add("WorkflowExecutionCompleted", workflowExecutionCompletedEventAttributes=dict(
                    d["completeWorkflowExecutionDecisionAttributes"], decisionTaskCompletedEventId=dtc))

    def complete_all_activities(self) -> None:
        for activity_id, scheduled in list(self.scheduled.items()):
            started = self.add("ActivityTaskStarted", activityTaskStartedEventAttributes={"scheduledEventId": scheduled})
            self.add("ActivityTaskCompleted", activityTaskCompletedEventAttributes={
                "scheduledEventId": scheduled, "startedEventId": started,
                "result": DEFAULT_CONVERTER.dumps(int(activity_id))})
        self.scheduled.clear()
        self.add("DecisionTaskScheduled", decisionTaskScheduledEventAttributes={"taskList": {"name": "tl"}})


def drive(decider: wf.Decider, builder: HistoryBuilder, tail: bool, max_tasks: int | None = None) -> int:
    """Decide task after task until the workflow completes; return the number of tasks."""
    tasks = 0
    while True:
        task = builder.start_decision()
        events = builder.events
        if tail and builder.previous_started:
            events = events[builder.previous_started - 1:]
        task["events"] = events
        result = decider.decide(task, lambda: builder.events)
        builder.complete_decision(result.decisions)
        tasks += 1
        if any(d["decisionType"] == "CompleteWorkflowExecution" for d in result.decisions):
            return tasks
        if max_tasks is not None and tasks >= max_tasks:
            return tasks
        builder.complete_all_activities()


def make_history(cls, target_events: int, *wf_args) -> list[dict]:
    builder = HistoryBuilder(cls.__name__, DEFAULT_CONVERTER.dumps({"args": list(wf_args)}))
    drive(wf.Decider([cls]), builder, tail=True)
    return builder.events


def bench_throughput() -> None:
    print("1. Replay throughput (Replayer, whole history, events already decoded)")
    print(f"   {'workflow':<22}{'events':>8}{'seconds':>10}{'events/s':>12}{'µs/event':>10}")
    rates = {}
    for label, cls, make_args in (
            ("sequential", SequentialBench, lambda n: (n,)),
            ("fan-out x10", FanoutBench, lambda n: (n, 10))):
        for target in (1_000, 10_000, 25_000):
            per_step = 6 if cls is SequentialBench else 33
            steps = max(1, (target - 5) // per_step)
            events = make_history(cls, target, *make_args(steps))
            replayer = wf.Replayer([cls])
            best = float("inf")
            for _ in range(3):
                gc.collect()
                start = time.process_time()
                result = replayer.replay(events, run_id="run")
                best = min(best, time.process_time() - start)
            assert result.closed
            rate = len(events) / best
            rates[(label, target)] = rate
            print(f"   {label:<22}{len(events):>8}{best:>10.3f}{rate:>12,.0f}{1e6 / rate:>10.1f}")
    for label in ("sequential", "fan-out x10"):
        ratio = rates[(label, 25_000)] / rates[(label, 1_000)]
        print(f"   {label}: rate at 25k / rate at 1k = {ratio:.2f} (1.0 = perfectly linear)")


def bench_cache(steps: int) -> None:
    print(f"\n2. A {steps}-step sequential workflow decided task by task ({steps + 1} decision tasks)")
    figures = {}
    for label, cache_size, tail in (("with live-run cache", 1000, True), ("without cache (full replay)", 0, False)):
        decider = wf.Decider([SequentialBench], cache_size=cache_size)
        builder = HistoryBuilder("SequentialBench", DEFAULT_CONVERTER.dumps({"args": [steps]}))
        gc.collect()
        start = time.process_time()
        tasks = drive(decider, builder, tail=tail)
        cpu = time.process_time() - start
        figures[label] = (cpu, decider.stats["events_replayed"])
        print(f"   {label:<30} CPU {cpu:8.3f} s   events fed {decider.stats['events_replayed']:>10,}   "
              f"tasks {tasks}   {cpu / tasks * 1e6:8.0f} µs/task")
    cached, full = figures["with live-run cache"][0], figures["without cache (full replay)"][0]
    print(f"   cached is {full / cached:.0f}x cheaper (target >= 50x); "
          f"the CPU includes building the histories, the same for both")


def bench_memory(runs: int) -> None:
    print(f"\n3. Memory per cached suspended run ({runs} runs, each blocked on its first activity)")
    decider = wf.Decider([SequentialBench], cache_size=runs)
    builders = []
    for i in range(runs):
        builder = HistoryBuilder("SequentialBench", DEFAULT_CONVERTER.dumps({"args": [10]}))
        builders.append(builder)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for i, builder in enumerate(builders):
        task = builder.start_decision()
        task["workflowExecution"] = {"workflowId": f"bench-{i}", "runId": f"run-{i}"}
        task["events"] = builder.events
        decider.decide(task)
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert len(decider) == runs
    print(f"   {used / runs / 1024:.1f} KiB per run (tracemalloc: Python objects, greenlet stacks saved on the heap)")
    decider.clear()


def bench_guards() -> None:
    print("\n4. Determinism checks: the same work with the checks on and off (interleaved, best of 5)")
    plans_for = _guards.plans_for
    sequential = make_history(SequentialBench, 10_000, 1665)
    fanout = make_history(FanoutBench, 10_000, 300, 10)

    def replay(cls, events):
        def work():
            wf.Replayer([cls]).replay(events, run_id="run")
        return work

    def cached():
        drive(wf.Decider([SequentialBench]), HistoryBuilder("SequentialBench", DEFAULT_CONVERTER.dumps(
            {"args": [300]})), tail=True)

    for label, work in (("replay sequential 10k events", replay(SequentialBench, sequential)),
                        ("replay fan-out x10 10k events", replay(FanoutBench, fanout)),
                        ("300 cached decision tasks", cached)):
        best = {"on": float("inf"), "off": float("inf")}
        for _ in range(5):
            for mode in ("on", "off"):
                _guards.plans_for = plans_for if mode == "on" else (lambda classes: [])
                gc.collect()
                start = time.process_time()
                work()
                best[mode] = min(best[mode], time.process_time() - start)
        _guards.plans_for = plans_for
        print(f"   {label:<32} on {best['on'] * 1e3:8.1f} ms   off {best['off'] * 1e3:8.1f} ms   "
              f"on/off {best['on'] / best['off']:.3f}")
    # Outside workflow code nothing is wrapped: the module's name is the C function itself.
    assert globals()["time"] is sys.modules["time"] and type(time.time).__name__ == "builtin_function_or_method"
    print("   outside workflow code: time.time, random.random... are the real functions (no wrapper, no cost)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1000, help="steps of the cache benchmark (default 1000)")
    parser.add_argument("--runs", type=int, default=1000, help="cached runs for the memory figure (default 1000)")
    parser.add_argument("--skip-throughput", action="store_true")
    options = parser.parse_args()
    if not options.skip_throughput:
        bench_throughput()
    bench_cache(options.steps)
    bench_memory(options.runs)
    bench_guards()


if __name__ == "__main__":
    main()
