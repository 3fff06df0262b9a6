"""Seeded determinism fuzz: the same history always yields the same decisions.

For each seed a simulated world answers :class:`FuzzWorkflow` at random: activities
complete, fail or are cancelled, timers fire, signals arrive (well-formed, malformed,
also while a decision is in flight), cancel requests arrive (often more than one), and
queries (``state`` and the built-in stack trace) are evaluated at any moment, also while
a decision is in flight. One decider with a cache (a) decides as the world goes. The
recorded history is then decided again, task by task, by (b) a fresh decider per task,
(c) a cached decider whose cache is evicted at random, and (d) a fresh Python process that
imports only the workflow's module. All four must make identical decisions, and every
side-effect function must have run exactly once per marker in history, in each of them
(never in a query, an eviction or a replay).
"""

from __future__ import annotations

import collections
import copy
import json
import os
import random
import subprocess
import sys

import pytest

from greenflow.converter import DEFAULT_CONVERTER
from greenflow.workflow import STACK_TRACE_QUERY, Decider
from greenflow.workflow._history import SIDE_EFFECT_MARKER

from . import fuzz_workflow as fw
from .history import History, args

# Every decider here runs without the step watchdog (step_timeout=None): this test is about
# decisions, and on a loaded machine a descheduled process must not fail a step.
SEEDS = range(int(os.environ.get("GREENFLOW_FUZZ_SEEDS", "40")))
MAX_STEPS = 60
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _closed(history: History) -> bool:
    return any(e["eventType"].startswith("WorkflowExecution") and e["eventType"] not in (
        "WorkflowExecutionStarted", "WorkflowExecutionSignaled", "WorkflowExecutionCancelRequested")
        for e in history.events)


def _outside_event(rng: random.Random, history: History, in_flight: bool) -> None:
    """One thing the world does; only signals and cancel requests while a decision is in flight."""
    choices = ["signal", "bad_signal", "stop", "cancel"]
    if not in_flight:
        choices += ["complete", "complete", "complete", "fail", "fire", "fire"]
        if any(e["eventType"] == "ActivityTaskCancelRequested" for e in history.events):
            choices.append("cancelled")
    what = rng.choice(choices)
    if what == "complete" and history.scheduled:
        history.complete_activity(rng.choice(sorted(history.scheduled)), rng.randrange(100))
    elif what == "fail" and history.scheduled:
        history.fail_activity(rng.choice(sorted(history.scheduled)), ValueError("no luck"))
    elif what == "cancelled" and history.scheduled:
        requested = {e["activityTaskCancelRequestedEventAttributes"]["activityId"] for e in history.events
                     if e["eventType"] == "ActivityTaskCancelRequested"} & set(history.scheduled)
        if requested:
            history.cancel_activity(rng.choice(sorted(requested)))
    elif what == "fire" and history.timers:
        history.fire_timer(rng.choice(sorted(history.timers)))
    elif what == "signal":
        history.signal("add", rng.randrange(10))
    elif what == "bad_signal":
        history.add("WorkflowExecutionSignaled", signalName="add",
                    input=rng.choice(["{not json", args(1, 2, 3), args()]))
        history.schedule_decision()
    elif what == "stop":
        history.signal("stop_now")
    elif what == "cancel":
        history.cancel_request()


def _query(history: History, queries: list) -> None:
    """Query the current history (a fresh decider each time); no side effect may run."""
    before = dict(fw.SIDE_EFFECTS)
    decider = Decider([fw.FuzzWorkflow], cache_size=0, step_timeout=None)
    try:
        state = decider.query(copy.deepcopy(history.events), "state", workflow_id="wf-1", run_id="run-1")
    except Exception as error:  # noqa: BLE001 - recorded and compared, like any answer
        state = f"{type(error).__name__}"
    trace = decider.query(copy.deepcopy(history.events), STACK_TRACE_QUERY, workflow_id="wf-1", run_id="run-1")
    queries.append((len(history.events), state, [g["location"] for g in trace["greenlets"]]))
    assert dict(fw.SIDE_EFFECTS) == before, "a query ran a side effect"


def play(seed: int) -> tuple[History, list]:
    """Run the world for ``seed`` with a cached decider (a); return the history and its decisions."""
    rng = random.Random(seed)
    history = History("FuzzWorkflow", "1.0", rng.randrange(2, 6))
    decider = Decider([fw.FuzzWorkflow], cache_size=10, step_timeout=None)
    decisions, queries = [], []
    for _ in range(MAX_STEPS):
        if _closed(history):
            break
        if history.decision_pending and rng.random() < 0.6:
            task = history.task(tail=True)
            result = decider.decide(task, lambda: copy.deepcopy(history.events))
            while rng.random() < 0.3:  # the world goes on while the decision is in flight
                _outside_event(rng, history, in_flight=True)
            if rng.random() < 0.3:
                _query(history, queries)
            history.respond(result)
            decisions.append(result.decisions)
        elif rng.random() < 0.15:
            _query(history, queries)
        else:
            _outside_event(rng, history, in_flight=False)
    decider.clear()  # a worker stopping: must not run side effects either
    return history, decisions


def tasks_of(events: list[dict]) -> list[dict]:
    """The decision tasks the history shows answered, as PollForDecisionTask responses (tails)."""
    answered = {e["decisionTaskCompletedEventAttributes"]["startedEventId"] for e in events
                if e["eventType"] == "DecisionTaskCompleted"}
    tasks, previous = [], 0
    for index, event in enumerate(events):
        if event["eventType"] == "DecisionTaskStarted" and event["eventId"] in answered:
            tail = [e for e in events[:index + 1] if e["eventId"] >= previous] if previous else events[:index + 1]
            tasks.append({"taskToken": "t", "startedEventId": event["eventId"], "previousStartedEventId": previous,
                          "workflowExecution": {"workflowId": "wf-1", "runId": "run-1"},
                          "workflowType": {"name": "FuzzWorkflow", "version": "1.0"},
                          "events": copy.deepcopy(tail), "prefix": events[:index + 1]})
            previous = event["eventId"]
    return tasks


def redecide(events: list[dict], decider: Decider, rng: random.Random | None = None) -> list:
    """Decide every answered task of ``events`` again with ``decider`` (evicting at random with ``rng``)."""
    out = []
    for task in tasks_of(events):
        prefix = task.pop("prefix")
        if rng is not None and rng.random() < 0.4:
            if rng.random() < 0.5:
                decider.evict("wf-1", "run-1")
            else:
                decider.clear()
        out.append(decider.decide(task, lambda prefix=prefix: copy.deepcopy(prefix)).decisions)
    decider.clear()
    return out


def expected_side_effects(events: list[dict]) -> collections.Counter:
    """Per tag, how many side-effect markers history holds: how often each function must have run."""
    return collections.Counter(
        DEFAULT_CONVERTER.loads(e["markerRecordedEventAttributes"]["details"]) for e in events
        if e["eventType"] == "MarkerRecorded"
        and e["markerRecordedEventAttributes"]["markerName"].startswith(SIDE_EFFECT_MARKER))


@pytest.fixture(scope="module")
def played():
    """Every seed played once by (a), with the side effects it ran."""
    games = {}
    for seed in SEEDS:
        fw.SIDE_EFFECTS.clear()
        history, decisions = play(seed)
        games[seed] = (history, decisions, collections.Counter(fw.SIDE_EFFECTS))
    return games


def test_a_cached_decider_runs_each_side_effect_once_per_marker(played):
    closes = collections.Counter()
    for seed, (history, _, ran) in played.items():
        assert ran == expected_side_effects(history.events), f"seed {seed}"
        closes[history.events[-1]["eventType"] if _closed(history) else "open"] += 1
    # The seeds reach the interesting endings, not just one of them.
    assert closes["WorkflowExecutionCanceled"] and closes["WorkflowExecutionCompleted"], closes


@pytest.mark.parametrize("mode", ["fresh decider per task", "cache evicted at random"])
def test_other_deciders_make_identical_decisions(played, mode):
    for seed, (history, decisions, _) in played.items():
        fw.SIDE_EFFECTS.clear()
        if mode == "fresh decider per task":
            again = redecide(history.events, Decider([fw.FuzzWorkflow], cache_size=0, step_timeout=None))
        else:
            evicted = Decider([fw.FuzzWorkflow], cache_size=5, step_timeout=None)
            again = redecide(history.events, evicted, random.Random(seed))
        assert again == decisions, f"seed {seed}"
        assert expected_side_effects(history.events) == fw.SIDE_EFFECTS, f"seed {seed}"


def test_a_fresh_process_with_only_the_workflow_module_makes_identical_decisions(played, tmp_path):
    path = tmp_path / "histories.json"
    path.write_text(json.dumps({str(seed): history.events for seed, (history, _, _) in played.items()}))
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout)
    assert answers["modules"] == ["tests.workflow.fuzz_workflow"]
    for seed, (history, decisions, _) in played.items():
        again, ran = answers["seeds"][str(seed)]
        assert again == json.loads(json.dumps(decisions)), f"seed {seed}"
        assert collections.Counter(ran) == expected_side_effects(history.events), f"seed {seed}"


# Runs in the fresh process: imports greenflow and the workflow module, nothing else of the tests.
_CHILD = """
import collections, json, sys
import tests.workflow.fuzz_workflow as fw
from greenflow.workflow import Decider
events_by_seed = json.load(open(sys.argv[1]))
seeds = {}
for seed, events in events_by_seed.items():
    fw.SIDE_EFFECTS.clear()
    answered = {e["decisionTaskCompletedEventAttributes"]["startedEventId"] for e in events
                if e["eventType"] == "DecisionTaskCompleted"}
    decisions = []
    for i, e in enumerate(events):
        if e["eventType"] == "DecisionTaskStarted" and e["eventId"] in answered:
            task = {"taskToken": "t", "startedEventId": e["eventId"], "events": events[:i + 1],
                    "workflowExecution": {"workflowId": "wf-1", "runId": "run-1"}}
            decisions.append(Decider([fw.FuzzWorkflow], cache_size=0, step_timeout=None).decide(task).decisions)
    seeds[seed] = [decisions, dict(fw.SIDE_EFFECTS)]
tests_loaded = sorted(m for m in sys.modules if m.startswith("tests.") and m != "tests.workflow")
print(json.dumps({"seeds": seeds, "modules": tests_loaded}))
"""
