"""Replay: determinism, non-determinism detection, the live-run cache, splitting, saved histories."""

from __future__ import annotations

import copy
import json
import pathlib

import pytest

import greenflow.workflow as wf
from greenflow import errors

from .history import History, Sim, attrs, kinds, make
from .workflows import Acts, Child, Parallel, Parent, Sequential, Signals, Sleeper

HISTORIES = pathlib.Path(__file__).parent / "histories"


# --------------------------------------------------------------------------- scenarios


def scenario_sequential(h, step):
    step()
    for i in range(1, 5):
        h.complete_activity(str(i), i)
        step()


def scenario_parallel(h, step):
    step()
    for i in (3, 1, 4, 2):
        h.complete_activity(str(i), i)
        step()


def scenario_signals(h, step):
    step()
    h.signal("slow", "a")
    h.signal("add", "b")
    step()
    h.fire_timer("1")
    h.signal("add", "c")
    step()


def scenario_parent(h, step):
    step()
    h.child_started("run-1-1")
    step()
    from greenflow.converter import DEFAULT_CONVERTER

    h.child_closed("run-1-1", "ChildWorkflowExecutionCompleted", result=DEFAULT_CONVERTER.dumps(10))
    step()


SCENARIOS = [
    (Sequential, (4,), scenario_sequential),
    (Parallel, (4,), scenario_parallel),
    (Signals, (3,), scenario_signals),
    (Parent, (5,), scenario_parent),
]


def play(cls, wf_args, scenario, **decider_kw):
    tail = decider_kw.pop("tail", True)
    decider = wf.Decider([cls, Child], **decider_kw)
    history = History(cls.__name__, "1.0", *wf_args)
    sim = Sim(decider, history, tail=tail)
    scenario(history, sim.step)
    return sim.results, history, decider


@pytest.mark.parametrize("cls, wf_args, scenario", SCENARIOS, ids=[s[0].__name__ for s in SCENARIOS])
def test_cached_equals_full_replay_and_is_repeatable(cls, wf_args, scenario):
    cached, history, decider = play(cls, wf_args, scenario)
    full, _, full_decider = play(cls, wf_args, scenario, cache_size=0, tail=False)
    again, _, _ = play(cls, wf_args, scenario, cache_size=0, tail=False)
    whole, _, whole_decider = play(cls, wf_args, scenario, tail=False)  # cached, tasks hold the whole history
    assert [r.decisions for r in cached] == [r.decisions for r in full] == [r.decisions for r in again] \
        == [r.decisions for r in whole]
    # a cached run skips what it has seen: same events fed with or without startAtPreviousStartedEvent
    assert whole_decider.stats["events_replayed"] == decider.stats["events_replayed"]
    assert decider.stats["full_replays"] == 1
    assert decider.stats["cache_hits"] == len(cached) - 1
    assert full_decider.stats["cache_hits"] == 0
    # the cache fed each event once; full replays fed the whole history every time
    assert decider.stats["events_replayed"] < full_decider.stats["events_replayed"]
    # the closed history replays cleanly (the run ID seeds child IDs, random() and uuid4(); the
    # Replayer guesses it from default child IDs when not told)
    assert wf.Replayer([cls, Child]).replay(history.events, run_id="run-1").closed
    assert wf.Replayer([cls, Child]).replay(history.events).closed


def test_cache_hit_applies_only_new_events():
    decider, history, sim = make(Sequential, 3)
    sim.step()
    history.complete_activity("1", 0)
    before = decider.stats["events_replayed"]
    sim.step()
    # DecisionTaskCompleted, ActivityTaskScheduled, Started, Completed, DecisionTaskScheduled, DecisionTaskStarted
    assert decider.stats["events_replayed"] - before == 6
    assert decider.stats["cache_hits"] == 1
    run = decider.cached_run("wf-1", "run-1")
    assert run is not None and run.events_handled == history.last_started


def test_full_history_is_fetched_on_cache_miss_with_tail():
    decider, history, sim = make(Sequential, 3)
    sim.step()
    history.complete_activity("1", 0)
    decider.clear()
    fetched = []
    task = history.task(tail=True)
    result = decider.decide(task, lambda: fetched.append(1) or copy.deepcopy(history.events))
    assert fetched == [1]
    assert attrs(result.decisions[0])["activityId"] == "2"


def test_fetch_history_newer_than_task_is_truncated():
    decider, history, sim = make(Sequential, 3, cache_size=0)
    sim.step()
    history.complete_activity("1", 0)
    task = history.task(tail=True)
    history.signal("whatever")  # arrives after the poll
    result = decider.decide(task, lambda: copy.deepcopy(history.events))
    assert attrs(result.decisions[0])["activityId"] == "2"


def test_missing_fetch_history_is_a_clear_error():
    decider, history, sim = make(Sequential, 3, cache_size=0)
    sim.step()
    history.complete_activity("1", 0)
    with pytest.raises(ValueError, match="fetch_history"):
        decider.decide(history.task(tail=True))


def test_decision_task_timeout_falls_back_to_full_replay():
    decider, history, sim = make(Sequential, 3)
    sim.step()
    history.complete_activity("1", 0)
    task = history.task(tail=True)
    decider.decide(task, lambda: copy.deepcopy(history.events))  # answered too late: never recorded
    history.timeout_decision()
    result = sim.step()
    assert decider.stats["full_replays"] == 2
    assert attrs(result.decisions[0])["activityId"] == "2"
    history.complete_activity("2", 1)
    history.complete_activity  # noqa: B018
    sim.step()
    history.complete_activity("3", 3)
    assert kinds(sim.step()) == ["CompleteWorkflowExecution"]


def test_events_during_decision_belong_to_next_batch():
    """A signal recorded between DecisionTaskStarted and DecisionTaskCompleted was not seen
    by that decision; replay must deliver it with the next batch."""
    decider = wf.Decider([Signals], cache_size=0)
    history = History("Signals", "1.0", 2)
    task = history.task()
    result = decider.decide(task)
    history.signal("add", "during")  # arrives while the decider works
    history.respond(result)
    result = Sim(decider, history, tail=False).step()
    assert result.decisions == []
    history.signal("add", "after")
    assert kinds(Sim(decider, history, tail=False).step()) == ["CompleteWorkflowExecution"]


def test_lru_eviction_kills_runs():
    decider = wf.Decider([Sequential], cache_size=2)
    histories = [History("Sequential", "1.0", 3, workflow_id=f"w{i}", run_id=f"r{i}") for i in range(3)]
    for h in histories:
        Sim(decider, h).step()
    assert len(decider) == 2
    assert decider.cached_run("w0", "r0") is None
    run = decider.cached_run("w1", "r1")
    main = run.main
    assert decider.evict("w1", "r1") and main.dead
    assert not decider.evict("w1", "r1")


# --------------------------------------------------------------------------- non-determinism


class Original(wf.WorkflowDefinition):
    @wf.execute(version="1.0")
    def run(self):
        Acts.add(1, 2)
        wf.sleep(5)
        return "ok"


def changed(body):
    cls = type("Original", (wf.WorkflowDefinition,), {"run": wf.execute(version="1.0")(body)})
    return cls


def original_history():
    history = History("Original")
    sim = Sim(wf.Decider([Original]), history)
    sim.step()
    history.complete_activity("1", 3)
    sim.step()
    return history


def test_timer_where_activity_was_names_event_and_call():
    def run(self):
        wf.sleep(5)

    history = original_history()
    history.fire_timer("2")
    with pytest.raises(errors.NonDeterministicWorkflowError) as info:
        wf.Replayer([changed(run)]).replay(history.events)
    e = info.value
    assert e.event_id == 5
    assert e.event == "ActivityTaskScheduled Acts.add version 1.0 id=1"
    assert e.command.startswith("StartTimer 5s id=1 (at ")
    assert "test_replay.py" in e.command
    assert "history event 5" in str(e) and "GF-NONDETERMINISM" in str(e)


def test_other_activity_type_is_detected():
    def run(self):
        Acts.mul(1, 2)
        wf.sleep(5)

    with pytest.raises(errors.NonDeterministicWorkflowError, match="activity type differs") as info:
        wf.Replayer([changed(run)]).replay(original_history().events)
    assert info.value.command.startswith("ScheduleActivityTask Multiply version 2.0 id=1")


def test_missing_command_is_detected():
    def run(self):
        Acts.add(1, 2)
        return "ok"  # the sleep was removed

    with pytest.raises(errors.NonDeterministicWorkflowError) as info:
        wf.Replayer([changed(run)]).replay(original_history().events)
    assert "TimerStarted" in info.value.event


def test_extra_command_is_detected():
    def run(self):
        Acts.add(1, 2)
        Acts.add(3, 4)  # added
        wf.sleep(5)

    with pytest.raises(errors.NonDeterministicWorkflowError) as info:
        wf.Replayer([changed(run)]).replay(original_history().events)
    assert info.value.event_id == 11
    assert info.value.event == "TimerStarted id=2"


def test_extra_command_in_same_batch_is_detected():
    def run(self):
        wf.spawn(wf.sleep, 1)  # added: one more command in the first decision
        Acts.add(1, 2)
        wf.sleep(5)

    history = original_history()
    with pytest.raises(errors.NonDeterministicWorkflowError):
        wf.Replayer([changed(run)]).replay(history.events)


def test_nondeterminism_from_decider_leaves_no_cached_run():
    def run(self):
        wf.sleep(1)

    history = original_history()
    history.fire_timer("2")
    decider = wf.Decider([changed(run)])
    with pytest.raises(errors.NonDeterministicWorkflowError):
        decider.decide(history.task(), lambda: history.events)
    assert len(decider) == 0


def test_changed_timer_duration_is_allowed():
    def run(self):
        Acts.add(1, 2)
        wf.sleep(50)
        return "ok"

    history = original_history()
    history.fire_timer("2")
    assert kinds(Sim(wf.Decider([changed(run)]), history).step()) == ["CompleteWorkflowExecution"]


# --------------------------------------------------------------------------- splitting


class Fanout(wf.WorkflowDefinition):
    @wf.execute(version="1.0")
    def run(self, n):
        return sum(wf.wait_all([wf.spawn(Acts.add, i, 0) for i in range(n)]))


def test_1500_parallel_activities_are_split_at_the_open_limit():
    # One step spawns 1500 activities: about 0.1 s, but a stalled CI machine has taken over
    # the 2 s step watchdog's limit. The watchdog has tests of its own; this one is about
    # the split.
    decider = wf.Decider([Fanout], step_timeout=None)
    history = History("Fanout", "1.0", 1500)
    sim = Sim(decider, history)
    first = sim.step()
    assert kinds(first) == ["ScheduleActivityTask"] * 1000
    assert first.execution_context == "greenflow:split"
    for i in range(1, 11):
        history.complete_activity(str(i), i - 1)
    second = sim.step()
    assert [attrs(d)["activityId"] for d in second.decisions] == [str(i) for i in range(1001, 1011)]
    assert second.execution_context == "greenflow:split"
    # a full replay of the split history agrees with the cached run
    for i in range(11, 21):
        history.complete_activity(str(i), i - 1)
    task = history.task()
    cached = decider.decide(copy.deepcopy(task))
    replayed = wf.Decider([Fanout], cache_size=0, step_timeout=None).decide(copy.deepcopy(task))
    assert cached == replayed
    assert [attrs(d)["activityId"] for d in cached.decisions] == [str(i) for i in range(1011, 1021)]
    history.respond(cached)
    for i in range(21, 1021):
        history.complete_activity(str(i), i - 1)
    result = Sim(decider, history).step()
    assert [attrs(d)["activityId"] for d in result.decisions] == [str(i) for i in range(1021, 1501)]
    assert result.execution_context is None
    for i in range(1021, 1501):
        history.complete_activity(str(i), i - 1)
    done = Sim(decider, history).step()
    assert kinds(done) == ["CompleteWorkflowExecution"]
    assert wf.Replayer([Fanout]).replay(history.events).closed


def test_split_for_size_adds_continue_timer():
    import greenflow.workflow._split as split

    decider = wf.Decider([Fanout])
    history = History("Fanout", "1.0", 30)
    task = history.task()
    run_result = decider.decide(task)
    run = decider.cached_run("wf-1", "run-1")
    small = split.build_decisions(run, task["startedEventId"], max_bytes=2000)
    assert 0 < len(small.decisions) < 30
    assert small.decisions[-1] == {"decisionType": "StartTimer", "startTimerDecisionAttributes": {
        "timerId": f"greenflow-continue-{task['startedEventId']}", "startToFireTimeout": "0"}}
    assert small.execution_context == "greenflow:split"
    assert len(run_result.decisions) == 30
    # history with the size split replays; the continue timer is ignored
    history.respond(small)
    sent = len(small.decisions) - 1
    result = Sim(wf.Decider([Fanout], cache_size=0), history, tail=False).step()
    assert [attrs(d)["activityId"] for d in result.decisions] == [str(i) for i in range(sent + 1, 31)]


# --------------------------------------------------------------------------- saved histories


def test_saved_histories_replay(tmp_path):
    """Histories kept in tests/workflow/histories/ still replay against today's code."""
    files = sorted(HISTORIES.glob("*.json"))
    assert files, "no saved histories"
    replayer = wf.Replayer([Sequential, Parallel, Signals, Parent, Child, Sleeper])
    for path in files:
        result = replayer.replay_file(path)
        assert result.closed, path.name


_DECISION_OF_EVENT = {
    "ActivityTaskScheduled": ("ScheduleActivityTask", "activityId"),
    "ActivityTaskCancelRequested": ("RequestCancelActivityTask", "activityId"),
    "TimerStarted": ("StartTimer", "timerId"),
    "TimerCanceled": ("CancelTimer", "timerId"),
    "MarkerRecorded": ("RecordMarker", "markerName"),
    "StartChildWorkflowExecutionInitiated": ("StartChildWorkflowExecution", "workflowId"),
    "SignalExternalWorkflowExecutionInitiated": ("SignalExternalWorkflowExecution", "control"),
    "RequestCancelExternalWorkflowExecutionInitiated": ("RequestCancelExternalWorkflowExecution", "control"),
    "WorkflowExecutionCompleted": ("CompleteWorkflowExecution", None),
    "WorkflowExecutionFailed": ("FailWorkflowExecution", None),
    "WorkflowExecutionCanceled": ("CancelWorkflowExecution", None),
    "WorkflowExecutionContinuedAsNew": ("ContinueAsNewWorkflowExecution", None),
}
_ID_OF_DECISION = {"ScheduleActivityTask": "activityId", "RequestCancelActivityTask": "activityId",
                   "StartTimer": "timerId", "CancelTimer": "timerId", "RecordMarker": "markerName",
                   "StartChildWorkflowExecution": "workflowId", "SignalExternalWorkflowExecution": "control",
                   "RequestCancelExternalWorkflowExecution": "control"}


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("local_*.json")), ids=lambda p: p.stem)
def test_recorded_local_histories_redecided_task_by_task(path):
    """Each decision task of a history the local service recorded, decided again through the
    live-run cache (tail events only), makes exactly the decisions history recorded."""
    saved = json.loads(path.read_text())
    events, execution = saved["events"], saved["workflowExecution"]
    decider = wf.Decider([Sequential, Parallel, Signals, Parent, Child, Sleeper])
    previous = 0
    for index, event in enumerate(events):
        if event["eventType"] != "DecisionTaskStarted":
            continue
        completed = next(e for e in events[index:] if e["eventType"] in ("DecisionTaskCompleted",
                                                                          "DecisionTaskTimedOut"))
        tail = [e for e in events[:index + 1] if e["eventId"] >= previous] if previous else events[:index + 1]
        task = {"startedEventId": event["eventId"], "previousStartedEventId": previous,
                "workflowExecution": execution, "events": copy.deepcopy(tail)}
        result = decider.decide(task, lambda: copy.deepcopy(events[:index + 1]))
        if completed["eventType"] != "DecisionTaskCompleted":
            continue
        previous = event["eventId"]
        recorded = []
        for later in events:
            a = next((v for k, v in later.items() if k.endswith("EventAttributes")), {})
            if a.get("decisionTaskCompletedEventId") == completed["eventId"] and later["eventType"] in _DECISION_OF_EVENT:
                kind, key = _DECISION_OF_EVENT[later["eventType"]]
                recorded.append((kind, a.get(key) if key else None))
        made = [(d["decisionType"], attrs(d).get(_ID_OF_DECISION.get(d["decisionType"], ""))) for d in result.decisions]
        assert made == recorded, f"decision task {event['eventId']}"
    assert decider.stats["full_replays"] == 1


def test_replayer_accepts_json_text_and_reports_decisions():
    history = History("Sequential", "1.0", 2)
    Sim(wf.Decider([Sequential]), history).step()
    history.complete_activity("1", 0)
    history.task()
    result = wf.Replayer([Sequential]).replay(json.dumps({"events": history.events}))
    assert kinds(result.decisions) == ["ScheduleActivityTask"] and not result.closed


def test_query_on_cached_equivalent_history():
    _, history, decider = play(Signals, (3,), scenario_signals)
    assert decider.query(history.events, "count", run_id="run-1") == 3


def regenerate_histories():  # pragma: no cover - run by hand: python -m tests.workflow.test_replay
    HISTORIES.mkdir(exist_ok=True)
    for cls, wf_args, scenario in SCENARIOS:
        _, history, _ = play(cls, wf_args, scenario)
        history.dump(HISTORIES / f"{cls.__name__.lower()}.json")


if __name__ == "__main__":  # pragma: no cover
    regenerate_histories()


def test_bad_task_is_a_clear_error():
    decider = wf.Decider([Sequential])
    with pytest.raises(ValueError, match="PollForDecisionTask"):
        decider.decide({"taskToken": "", "startedEventId": 0, "events": []})
    with pytest.raises(ValueError, match="cache_size"):
        wf.Decider([Sequential], cache_size=-1)


def test_extra_command_in_the_closing_decision_is_detected():
    history = original_history()
    history.fire_timer("2")
    Sim(wf.Decider([Original]), history).step()  # completes

    def run(self):
        Acts.add(1, 2)
        wf.sleep(5)
        wf.spawn(Acts.add, 9, 9)  # added next to the close
        return "ok"

    assert wf.Replayer([Original]).replay(history.events).closed
    with pytest.raises(errors.NonDeterministicWorkflowError, match="ScheduleActivityTask Acts.add"):
        wf.Replayer([changed(run)]).replay(history.events)
