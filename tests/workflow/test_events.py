"""Every history event type: *Failed events surface at the call that caused them."""

from __future__ import annotations

import botocore.session
import pytest

import greenflow.workflow as wf
from greenflow import errors
from greenflow.workflow._replay import _HANDLERS
from greenflow.workflow._results import _APPLY

from .history import History, Sim, attrs, kinds, make, result_of
from .workflows import Acts, Signals


def rewrite_last(history, new_type, **new_attrs):
    """Replace the last initiating event with SWF's *Failed event for the same decision."""
    event = history.events.pop()
    old = event[next(k for k in event if k.endswith("EventAttributes"))]
    history.add(new_type, decisionTaskCompletedEventId=old["decisionTaskCompletedEventId"], **new_attrs)
    history.schedule_decision()
    return old


def test_every_event_type_of_the_model_is_handled():
    model = botocore.session.get_session().get_service_model("swf")
    event_types = model.shape_for("EventType").enum
    assert len(event_types) == 54
    assert [t for t in event_types if t not in _HANDLERS and t not in _APPLY] == []


def test_start_timer_failed_raises_timer_error():
    class T(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            try:
                wf.sleep(5)
            except errors.TimerError as e:
                return e.cause

    _, history, sim = make(T)
    sim.step()
    history.timers.clear()
    rewrite_last(history, "StartTimerFailed", timerId="1", cause="TIMER_ID_ALREADY_IN_USE")
    assert result_of(sim.step().decisions[0]) == "TIMER_ID_ALREADY_IN_USE"


def test_record_marker_failed_is_tolerated():
    class T(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            value = wf.side_effect(lambda: 7)
            wf.sleep(1)
            return value

    _, history, sim = make(T, tail=False, cache_size=0)
    assert kinds(sim.step()) == ["RecordMarker", "StartTimer"]
    timer = history.events.pop()
    rewrite_last(history, "RecordMarkerFailed", markerName="greenflow.side_effect.1", cause="OPERATION_NOT_PERMITTED")
    history.decision_pending = False
    timer["eventId"] = len(history.events) + 1
    history.events.append(timer)
    history.fire_timer("2")
    # the marker never made it into history, so a replay cannot know the value: it must say so
    with pytest.raises(errors.NonDeterministicWorkflowError, match="side_effect"):
        sim.step()


def test_cancel_timer_failed_then_fired():
    class T(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            timer = wf.start_timer(5)
            Acts.add(1, 1)
            timer.cancel()
            wf.sleep(1)
            return "ok"

    _, history, sim = make(T)
    sim.step()
    history.complete_activity("2", 2)
    assert kinds(sim.step()) == ["CancelTimer", "StartTimer"]
    # the timer fired while the decision was in flight: SWF refuses the cancel
    timer_started = history.events.pop()
    history.events.pop()
    history.add("CancelTimerFailed", timerId="1", cause="TIMER_ID_UNKNOWN",
                decisionTaskCompletedEventId=len(history.events))
    timer_started["eventId"] = len(history.events) + 1
    history.events.append(timer_started)
    history.timers["3"] = timer_started["eventId"]
    history.timers["1"] = 5
    history.fire_timer("1")
    assert sim.step().decisions == []
    history.fire_timer("3")
    assert kinds(sim.step()) == ["CompleteWorkflowExecution"]


def test_request_cancel_activity_failed_then_completed():
    class T(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            f = wf.spawn(Acts.add, 1, 1)
            wf.sleep(1)
            f.cancel()
            wf.sleep(1)
            return "ok"

    _, history, sim = make(T)
    sim.step()
    history.fire_timer("1")
    # cancel() cancels the greenlet's scope at once: its activity before main's next sleep()
    assert kinds(sim.step()) == ["RequestCancelActivityTask", "StartTimer"]
    timer_started = history.events.pop()
    rewrite_last(history, "RequestCancelActivityTaskFailed", activityId="2", cause="ACTIVITY_ID_UNKNOWN")
    history.events.append(dict(timer_started, eventId=len(history.events) + 1))
    history.timers["3"] = len(history.events)
    history.complete_activity("2", 2)
    history.fire_timer("3")
    assert kinds(sim.step()) == ["CompleteWorkflowExecution"]


def test_request_cancel_external_failed():
    class T(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            try:
                wf.request_cancel_external("ghost")
            except errors.ExternalWorkflowError as e:
                return [e.cause, e.workflow_id]

    _, history, sim = make(T)
    sim.step()
    initiated = history.external.pop("1")
    history.add("RequestCancelExternalWorkflowExecutionFailed", workflowId="ghost", control="1",
                cause="UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION", initiatedEventId=initiated,
                decisionTaskCompletedEventId=initiated - 1)
    history.schedule_decision()
    assert result_of(sim.step().decisions[0]) == ["UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION", "ghost"]


@pytest.mark.parametrize("tail", [True, False])
def test_continue_as_new_refused_fails_execution(tail):
    class C(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            wf.continue_as_new()

    _, history, sim = make(C, tail=tail, cache_size=1000 if tail else 0)
    sim.step()
    history.last_close_failed("ContinueAsNewWorkflowExecutionFailed", "WORKFLOW_TYPE_DOES_NOT_EXIST")
    result = sim.step()
    assert kinds(result) == ["FailWorkflowExecution"]
    assert attrs(result.decisions[0])["reason"] == "ContinueAsNewWorkflowExecutionFailed"


@pytest.mark.parametrize("failed_event, expected", [
    ("FailWorkflowExecutionFailed", "FailWorkflowExecution"),
    ("CancelWorkflowExecutionFailed", "CancelWorkflowExecution"),
])
def test_close_failures_are_resent(failed_event, expected):
    class C(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            wf.sleep(10)
            raise ValueError("x")

    _, history, sim = make(C, tail=False, cache_size=0)
    sim.step()
    if expected == "CancelWorkflowExecution":
        history.cancel_request()
    else:
        history.fire_timer("1")
    result = sim.step()
    assert kinds(result)[-1] == expected
    history.last_close_failed(failed_event)
    assert kinds(sim.step()) == [expected]


def test_timed_out_and_terminated_histories_replay_as_closed():
    for event_type, extra in (("WorkflowExecutionTimedOut", {"timeoutType": "START_TO_CLOSE"}),
                              ("WorkflowExecutionTerminated", {"cause": "OPERATOR_INITIATED"})):
        history = History("Signals", "1.0", 3)
        Sim(wf.Decider([Signals]), history).step()
        history.add(event_type, childPolicy="TERMINATE", **extra)
        assert wf.Replayer([Signals]).replay(history.events).closed


def test_lambda_events_are_reported_as_not_ours():
    history = History("Signals", "1.0", 3)
    Sim(wf.Decider([Signals]), history).step()
    history.add("LambdaFunctionScheduled", id="l1", name="fn", decisionTaskCompletedEventId=4)
    with pytest.raises(errors.NonDeterministicWorkflowError, match="LambdaFunctionScheduled"):
        wf.Replayer([Signals]).replay(history.events)


def test_decision_task_timeout_in_history_carries_events_to_next_batch():
    history = History("Signals", "1.0", 2)
    decider = wf.Decider([Signals], cache_size=0)
    history.task()
    history.signal("add", "a")
    history.timeout_decision()
    history.signal("add", "b")
    result = Sim(decider, history, tail=False).step()
    assert result_of(result.decisions[0]) == ["a", "b"]


def test_history_gap_is_reported():
    history = History("Signals", "1.0", 2)
    task = history.task()
    del task["events"][1]
    with pytest.raises(errors.NonDeterministicWorkflowError, match="GF-HISTORY-GAP"):
        wf.Decider([Signals]).decide(task)


def test_task_not_ending_with_its_started_event_is_reported():
    history = History("Signals", "1.0", 2)
    task = history.task()
    task["startedEventId"] = 99
    with pytest.raises(errors.NonDeterministicWorkflowError, match="GF-HISTORY-END"):
        wf.Decider([Signals]).decide(task)


@pytest.mark.parametrize("convert", [
    lambda t: __import__("datetime").datetime.fromtimestamp(t, __import__("datetime").timezone.utc),  # botocore
    lambda t: __import__("datetime").datetime.utcfromtimestamp(t),  # naive: taken as UTC
    lambda t: str(t),
    lambda t: __import__("datetime").datetime.fromtimestamp(t, __import__("datetime").timezone.utc).isoformat(),
], ids=["aware", "naive", "epoch-text", "iso"])
def test_event_timestamps_in_every_form(convert):
    class T(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            return wf.now().timestamp()

    history = History("T")
    task = history.task()
    for event in task["events"]:
        event["eventTimestamp"] = convert(event["eventTimestamp"])
    result = wf.Decider([T]).decide(task)
    assert result_of(result.decisions[0]) == history.events[-1]["eventTimestamp"]


def test_different_close_is_nondeterministic():
    class Ok(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            return 1

    history = History("Ok")
    Sim(wf.Decider([Ok]), history).step()

    @wf.workflow(name="Ok")
    class Fails(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            raise ValueError("now it fails")

    with pytest.raises(errors.NonDeterministicWorkflowError, match="WorkflowExecutionCompleted") as info:
        wf.Replayer([Fails]).replay(history.events)
    assert info.value.command == "FailWorkflowExecution"


def test_child_type_change_is_nondeterministic():
    from .workflows import Child, Parent

    history = History("Parent", "1.0", 1)
    Sim(wf.Decider([Parent, Child]), history).step()

    @wf.workflow(name="Parent")
    class Parent2(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self, x):
            with wf.workflow_options(version="9.0"):
                return Child.run(x)

    with pytest.raises(errors.NonDeterministicWorkflowError, match="workflow type differs"):
        wf.Replayer([Parent2, Child]).replay(history.events)


def test_result_for_unknown_timer_is_reported():
    history = History("Signals", "1.0", 2)
    Sim(wf.Decider([Signals]), history).step()
    history.timers["77"] = 3
    history.fire_timer("77")
    with pytest.raises(errors.NonDeterministicWorkflowError, match="never started"):
        Sim(wf.Decider([Signals]), history).step()


def test_cancel_request_while_ready_is_raised_at_next_blocking_point():
    class C(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            first = Acts.add(1, 1)  # completes in the same batch as the cancel request
            try:
                wf.sleep(5)
            except errors.CancelledError:
                return ["cancelled after", first]

    _, history, sim = make(C)
    sim.step()
    history.complete_activity("1", 2)
    history.cancel_request()
    result = sim.step()
    # the sleep's timer was created, then cancelled before being sent: no decision for it
    assert kinds(result) == ["CompleteWorkflowExecution"]
    assert result_of(result.decisions[0]) == ["cancelled after", 2]


def test_cancel_spawned_future_before_it_starts():
    class C(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            ran = []
            f = wf.spawn(ran.append, 1)
            f.cancel()
            return [type(f.exception()).__name__, ran]

    result = Sim(wf.Decider([C]), History("C")).step()
    assert result_of(result.decisions[0]) == ["CancelledError", []]
