"""The decider on hand-built histories: exact decisions for each workflow feature."""

from __future__ import annotations

import datetime
import functools

import pytest

import greenflow.workflow as wf
from greenflow import errors
from greenflow.testing import Replayer
from greenflow.worker import Decider
from greenflow.converter import DEFAULT_CONVERTER as CONV

from . import history as history_module
from .history import History, Sim, args, attrs, kinds, result_of
from .workflows import Acts, Boom, Cancellable, Child, Failing, Parallel, Parent, Sequential, Signals, Sleeper


make = functools.partial(history_module.make, classes=(Child,))


# --------------------------------------------------------------------------- activities


def test_first_decision_schedules_activity_exactly():
    _, _, sim = make(Sequential, 2)
    result = sim.step()
    assert result.decisions == [{
        "decisionType": "ScheduleActivityTask",
        "scheduleActivityTaskDecisionAttributes": {
            "activityType": {"name": "Acts.add", "version": "1.0"}, "activityId": "1", "input": args(0, 0),
            "taskList": {"name": "acts"}, "scheduleToStartTimeout": "NONE", "startToCloseTimeout": "60",
            "scheduleToCloseTimeout": "NONE", "heartbeatTimeout": "NONE"}}]
    assert result.execution_context is None


def test_sequential_activities_then_complete():
    _, history, sim = make(Sequential, 3)
    sim.step()
    history.complete_activity("1", 0)
    assert attrs(sim.step().decisions[0])["activityId"] == "2"
    history.complete_activity("2", 1)
    assert attrs(sim.step().decisions[0])["input"] == args(1, 2)
    history.complete_activity("3", 3)
    result = sim.step()
    assert kinds(result) == ["CompleteWorkflowExecution"]
    assert result_of(result.decisions[0]) == 3


def test_parallel_activities_in_one_decision_results_in_order():
    _, history, sim = make(Parallel, 3)
    result = sim.step()
    assert kinds(result) == ["ScheduleActivityTask"] * 3
    assert [attrs(d)["activityId"] for d in result.decisions] == ["1", "2", "3"]
    history.complete_activity("3", 4)
    history.complete_activity("1", 0)
    assert sim.step().decisions == []
    history.complete_activity("2", 2)
    assert result_of(sim.step().decisions[0]) == 6


def test_activity_options_and_named_versions():
    class Opts(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            with wf.activity_options(task_list="other", start_to_close_timeout=5, task_priority=7):
                a = Acts.mul(2, 3)
            return a

    _, history, sim = make(Opts)
    d = attrs(sim.step().decisions[0])
    assert d["activityType"] == {"name": "Multiply", "version": "2.0"}
    assert d["taskList"] == {"name": "other"}
    assert d["startToCloseTimeout"] == "5"
    assert d["heartbeatTimeout"] == "10"
    assert d["taskPriority"] == "7"


def test_activity_failure_raises_with_rebuilt_cause():
    class Catch(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            try:
                Acts.add(1, 1)
            except errors.ActivityTaskFailedError as e:
                return [type(e.cause).__name__, str(e.cause), e.reason, e.activity_id, list(e.activity_type),
                        e.scheduled_event_id, e.__cause__ is e.cause]

    _, history, sim = make(Catch)
    sim.step()
    history.fail_activity("1", ValueError("bad input"))
    assert result_of(sim.step().decisions[0]) == ["ValueError", "bad input", "ValueError", "1", ["Acts.add", "1.0"],
                                                  5, True]


def test_activity_failure_escaping_fails_workflow():
    _, history, sim = make(Sequential, 1)
    sim.step()
    history.fail_activity("1", KeyError("k"))
    result = sim.step()
    assert kinds(result) == ["FailWorkflowExecution"]
    assert attrs(result.decisions[0])["reason"].endswith("ActivityTaskFailedError")


def test_activity_timeout_carries_type_and_heartbeat_details():
    class T(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            try:
                Acts.add(1, 1)
            except errors.ActivityTaskTimedOutError as e:
                return [e.timeout_type, e.details]

    _, history, sim = make(T)
    sim.step()
    history.time_out_activity("1", "HEARTBEAT", details={"progress": 5})
    assert result_of(sim.step().decisions[0]) == ["HEARTBEAT", {"progress": 5}]


def test_schedule_activity_failed_surfaces_at_call():
    class T(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            try:
                Acts.add(1, 1)
            except errors.ScheduleActivityTaskFailedError as e:
                return e.cause

    _, history, sim = make(T)
    sim.step()
    history.schedule_activity_failed("1", "ACTIVITY_TYPE_DOES_NOT_EXIST")
    assert result_of(sim.step().decisions[0]) == "ACTIVITY_TYPE_DOES_NOT_EXIST"


def test_activity_result_that_cannot_be_decoded_raises_at_call():
    class T(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            try:
                Acts.add(1, 1)
            except Exception as e:  # noqa: BLE001
                return type(e).__name__

    _, history, sim = make(T)
    sim.step()
    history.complete_activity("1", raw="{not json")
    assert kinds(sim.step()) == ["CompleteWorkflowExecution"]


# --------------------------------------------------------------------------- timers and time


def test_sleep_rejects_durations_swf_cannot_take():
    class T(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            refused = []
            for seconds in (-1, float("nan"), float("inf"), 100_000_000, "5"):
                try:
                    wf.sleep(seconds)
                except ValueError:
                    refused.append(repr(seconds))
            return refused

    _, history, sim = make(T)
    result = sim.step()
    assert kinds(result) == ["CompleteWorkflowExecution"]
    assert result_of(result.decisions[0]) == ["-1", "nan", "inf", "100000000", "'5'"]


def test_sleep_uses_timer_and_now_is_decision_time():
    _, history, sim = make(Sleeper, 2.5)
    result = sim.step()
    assert result.decisions == [{"decisionType": "StartTimer",
                                  "startTimerDecisionAttributes": {"timerId": "1", "startToFireTimeout": "3"}}]
    history.time += 100
    history.fire_timer("1")
    result = sim.step()
    # now() moved from the first DecisionTaskStarted to the second
    assert result_of(result.decisions[0]) == 105.0


def test_now_is_aware_utc_datetime():
    class T(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            return wf.now().isoformat()

    _, history, sim = make(T)
    value = result_of(sim.step().decisions[0])
    assert datetime.datetime.fromisoformat(value).tzinfo is not None
    assert datetime.datetime.fromisoformat(value).timestamp() == history.events[2]["eventTimestamp"]


def test_timer_cancel_sends_cancel_timer():
    class T(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            timer = wf.start_timer(100)
            Acts.add(1, 1)
            timer.cancel()
            try:
                timer.result()
            except errors.CancelledError:
                return "cancelled"

    _, history, sim = make(T)
    assert kinds(sim.step()) == ["StartTimer", "ScheduleActivityTask"]
    history.complete_activity("2", 2)
    result = sim.step()
    assert result.decisions == [
        {"decisionType": "CancelTimer", "cancelTimerDecisionAttributes": {"timerId": "1"}},
        {"decisionType": "CompleteWorkflowExecution",
         "completeWorkflowExecutionDecisionAttributes": {"result": '"cancelled"'}}]


def test_timer_cancelled_before_sent_makes_no_decision():
    class T(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            timer = wf.start_timer(100)
            timer.cancel()
            return timer.done()

    _, _, sim = make(T)
    result = sim.step()
    assert kinds(result) == ["CompleteWorkflowExecution"]


def test_wait_any_with_timeout():
    class T(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            f = wf.spawn(Acts.add, 1, 1)
            done = wf.wait_any(f, timeout=30)
            return "timeout" if done is None else done.result()

    _, history, sim = make(T)
    assert kinds(sim.step()) == ["StartTimer", "ScheduleActivityTask"]
    history.fire_timer("1")
    assert result_of(sim.step().decisions[0]) == "timeout"

    _, history, sim = make(T)
    sim.step()
    history.complete_activity("2", 2)
    result = sim.step()
    assert kinds(result) == ["CancelTimer", "CompleteWorkflowExecution"]
    assert result_of(result.decisions[1]) == 2


def test_wait_all_raises_first_failure_in_argument_order():
    class T(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            futures = [wf.spawn(Acts.add, i, i) for i in range(3)]
            try:
                wf.wait_all(*futures)
            except errors.ActivityTaskFailedError as e:
                return [e.activity_id, [f.done() for f in futures]]

    _, history, sim = make(T)
    sim.step()
    history.fail_activity("3", Boom("3"))
    history.fail_activity("2", Boom("2"))
    assert sim.step().decisions == []
    history.complete_activity("1", 0)
    assert result_of(sim.step().decisions[0]) == ["2", [True, True, True]]


# --------------------------------------------------------------------------- signals and queries


def test_signals_run_handlers_in_history_order():
    decider, history, sim = make(Signals, 3)
    assert sim.step().decisions == []
    history.signal("add", "a")
    history.signal("add", "b")
    assert sim.step().decisions == []
    history.signal("add", "c")
    result = sim.step()
    assert result_of(result.decisions[0]) == ["a", "b", "c"]


def test_blocking_signal_handlers_interleave_deterministically():
    _, history, sim = make(Signals, 2)
    sim.step()
    history.signal("slow", "first")
    history.signal("add", "second")
    result = sim.step()
    assert kinds(result) == ["StartTimer"]
    history.fire_timer("1")
    assert result_of(sim.step().decisions[0]) == ["second", "first"]


def test_unknown_signal_is_ignored():
    _, history, sim = make(Signals, 1)
    sim.step()
    history.signal("nope", 1)
    assert sim.step().decisions == []


def test_query_evaluates_on_replayed_state():
    decider, history, sim = make(Signals, 5)
    sim.step()
    history.signal("add", 1)
    history.signal("add", 2)
    sim.step()
    assert decider.query(history.events, "count") == 2
    with pytest.raises(errors.WorkflowError, match="no query 'missing'"):
        decider.query(history.events, "missing")


def test_query_that_blocks_is_refused():
    class Q(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            wf.sleep(10)

        @wf.query()
        def bad(self):
            return Acts.add(1, 2)

    decider, history, sim = make(Q)
    sim.step()
    with pytest.raises(errors.WorkflowError, match="GF-QUERY"):
        decider.query(history.events, "bad")


def test_signal_handler_exception_fails_workflow():
    class S(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            wf.sleep(100)

        @wf.signal()
        def explode(self):
            raise Boom("from signal")

    _, history, sim = make(S)
    sim.step()
    history.signal("explode")
    result = sim.step()
    assert kinds(result) == ["FailWorkflowExecution"]
    assert attrs(result.decisions[0])["reason"].endswith("Boom")


def test_wait_until_timeout():
    class W(wf.WorkflowDefinition):
        flag = False

        @wf.execute(version="1.0")
        def run(self):
            return wf.wait_until(lambda: self.flag, timeout=10)

        @wf.signal()
        def go(self):
            self.flag = True

    _, history, sim = make(W)
    assert kinds(sim.step()) == ["StartTimer"]
    history.fire_timer("1")
    assert result_of(sim.step().decisions[0]) is False

    _, history, sim = make(W)
    sim.step()
    history.signal("go")
    result = sim.step()
    assert kinds(result) == ["CancelTimer", "CompleteWorkflowExecution"]
    assert result_of(result.decisions[1]) is True


# --------------------------------------------------------------------------- failure and cancellation


def test_exception_escaping_execute_fails_with_reason_and_details():
    _, _, sim = make(Failing)
    d = sim.step().decisions
    assert kinds(d) == ["FailWorkflowExecution"]
    a = attrs(d[0])
    assert a["reason"].endswith("Boom")
    rebuilt = CONV.loads(a["details"])
    assert str(rebuilt) == "no luck"


def test_cancel_request_raises_at_blocking_point_cleanup_then_canceled():
    _, history, sim = make(Cancellable)
    sim.step()
    history.cancel_request()
    result = sim.step()
    # the pending activity is cancelled, the cleanup activity scheduled
    assert kinds(result) == ["RequestCancelActivityTask", "ScheduleActivityTask"]
    assert attrs(result.decisions[0]) == {"activityId": "1"}
    history.cancel_activity("1")
    history.complete_activity("2", 0)
    assert kinds(sim.step()) == ["CancelWorkflowExecution"]


def test_cancel_request_ignored_completes():
    class Stubborn(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            try:
                wf.sleep(10)
            except errors.CancelledError:
                pass
            return "done anyway"

    _, history, sim = make(Stubborn)
    sim.step()
    history.cancel_request()
    result = sim.step()
    assert kinds(result) == ["CancelTimer", "CompleteWorkflowExecution"]


def test_cancelled_error_without_request_fails():
    class T(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            f = wf.spawn(Acts.add, 1, 1)
            f.cancel()
            return f.result()

    _, history, sim = make(T)
    result = sim.step()
    # the activity was cancelled before it was ever sent
    assert kinds(result) == ["FailWorkflowExecution"]
    assert attrs(result.decisions[0])["reason"].endswith("CancelledError")


def test_future_cancel_of_sent_activity_requests_cancellation():
    class T(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            f = wf.spawn(Acts.add, 1, 1)
            wf.sleep(1)
            f.cancel()
            try:
                return f.result()
            except errors.CancelledError:
                return "cancelled"

    _, history, sim = make(T)
    # the spawned greenlet runs once the caller blocks, so the timer comes first
    assert kinds(sim.step()) == ["StartTimer", "ScheduleActivityTask"]
    history.fire_timer("1")
    # cancelling the spawned call raises CancelledError in it at once and asks SWF to
    # cancel the activity it was waiting for
    result = sim.step()
    assert kinds(result) == ["RequestCancelActivityTask", "CompleteWorkflowExecution"]
    assert attrs(result.decisions[0]) == {"activityId": "2"}
    assert result_of(result.decisions[1]) == "cancelled"


def test_close_failed_unhandled_decision_decides_again():
    _, history, sim = make(Signals, 1)
    sim.step()
    history.signal("add", "x")
    assert kinds(sim.step()) == ["CompleteWorkflowExecution"]
    history.last_close_failed("CompleteWorkflowExecutionFailed")
    history.signal("add", "late")
    result = sim.step()
    assert kinds(result) == ["CompleteWorkflowExecution"]
    assert result_of(result.decisions[0]) == ["x"]


def test_close_failed_on_full_replay_too():
    _, history, sim = make(Signals, 1, tail=False, cache_size=0)
    sim.step()
    history.signal("add", "x")
    sim.step()
    history.last_close_failed("CompleteWorkflowExecutionFailed")
    assert kinds(sim.step()) == ["CompleteWorkflowExecution"]


# --------------------------------------------------------------------------- children


def test_child_workflow_start_and_result():
    _, history, sim = make(Parent, 20)
    result = sim.step()
    assert result.decisions == [{
        "decisionType": "StartChildWorkflowExecution",
        "startChildWorkflowExecutionDecisionAttributes": {
            "workflowType": {"name": "Child", "version": "1.0"}, "workflowId": "run-1-1", "input": args(20),
            "executionStartToCloseTimeout": "60", "taskStartToCloseTimeout": "30", "taskList": {"name": "tl"},
            "childPolicy": "TERMINATE"}}]
    history.child_started("run-1-1")
    assert sim.step().decisions == []
    history.child_closed("run-1-1", "ChildWorkflowExecutionCompleted", result=CONV.dumps(40))
    assert result_of(sim.step().decisions[0]) == 41


@pytest.mark.parametrize("event_type, extra, error", [
    ("ChildWorkflowExecutionFailed", {"reason": "Boom", "details": None}, errors.ChildWorkflowFailedError),
    ("ChildWorkflowExecutionTimedOut", {"timeoutType": "START_TO_CLOSE"}, errors.ChildWorkflowTimedOutError),
    ("ChildWorkflowExecutionTerminated", {}, errors.ChildWorkflowTerminatedError),
    ("ChildWorkflowExecutionCanceled", {}, errors.CancelledError),
])
def test_child_outcomes_raise(event_type, extra, error):
    class P(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            try:
                Child.run(1)
            except errors.WorkflowError as e:
                return [type(e).__name__, getattr(e, "run_id", None)]

    _, history, sim = make(P)
    sim.step()
    history.child_started("run-1-1")
    sim.step()
    if extra.get("details") is None and "reason" in extra:
        extra = {"reason": "Boom", "details": CONV.dumps(Boom("child"))}
    history.child_closed("run-1-1", event_type, **extra)
    value = result_of(sim.step().decisions[0])
    assert value[0] == error.__name__
    if error is not errors.CancelledError:
        assert value[1] == "child-run"


def test_start_child_failed():
    class P(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            with wf.workflow_options(workflow_id="fixed-id", tags=["a"]):
                try:
                    Child.run(1)
                except errors.StartChildWorkflowFailedError as e:
                    return [e.cause, e.workflow_id]

    _, history, sim = make(P)
    d = attrs(sim.step().decisions[0])
    assert d["workflowId"] == "fixed-id" and d["tagList"] == ["a"]
    dtc = history.events[-1]["startChildWorkflowExecutionInitiatedEventAttributes"]["decisionTaskCompletedEventId"]
    history.events.pop()
    history.children.clear()
    history.add("StartChildWorkflowExecutionFailed", workflowType={"name": "Child", "version": "1.0"},
                workflowId="fixed-id", cause="WORKFLOW_ALREADY_RUNNING", initiatedEventId=0,
                decisionTaskCompletedEventId=dtc)
    history.schedule_decision()
    assert result_of(sim.step().decisions[0]) == ["WORKFLOW_ALREADY_RUNNING", "fixed-id"]


def test_cancel_child_future_sends_request_cancel_external():
    class P(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            f = wf.spawn(Child.run, 1)
            wf.sleep(1)
            f.cancel()
            try:
                f.result()
            except errors.CancelledError:
                return "child cancelled"

    _, history, sim = make(P)
    assert kinds(sim.step()) == ["StartTimer", "StartChildWorkflowExecution"]
    history.child_started("run-1-2")
    history.fire_timer("1")
    result = sim.step()
    assert result.decisions[0] == {"decisionType": "RequestCancelExternalWorkflowExecution",
                                   "requestCancelExternalWorkflowExecutionDecisionAttributes": {
                                       "workflowId": "run-1-2", "control": "3", "runId": "child-run"}}
    assert result_of(result.decisions[1]) == "child cancelled"


# --------------------------------------------------------------------------- external, markers, continue-as-new


def test_signal_external_and_failure():
    class S(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            wf.signal_external("other", "ping", 1, run_id="r")
            try:
                wf.signal_external("gone", "ping")
            except errors.ExternalWorkflowError as e:
                return e.cause

    _, history, sim = make(S)
    result = sim.step()
    assert result.decisions == [{"decisionType": "SignalExternalWorkflowExecution",
                                 "signalExternalWorkflowExecutionDecisionAttributes": {
                                     "workflowId": "other", "signalName": "ping", "control": "1", "runId": "r",
                                     "input": args(1)}}]
    history.external_done("1")
    assert kinds(sim.step()) == ["SignalExternalWorkflowExecution"]
    initiated = history.external.pop("2")
    history.add("SignalExternalWorkflowExecutionFailed", workflowId="gone", cause="UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION",
                initiatedEventId=initiated, decisionTaskCompletedEventId=initiated - 1, control="2")
    history.schedule_decision()
    assert result_of(sim.step().decisions[0]) == "UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION"


def test_request_cancel_external():
    class S(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            wf.request_cancel_external("other")
            return "asked"

    _, history, sim = make(S)
    assert kinds(sim.step()) == ["RequestCancelExternalWorkflowExecution"]
    history.external_done("1", "ExternalWorkflowExecutionCancelRequested")
    assert result_of(sim.step().decisions[0]) == "asked"


def test_side_effect_recorded_once_and_replayed():
    calls = []

    class S(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            value = wf.side_effect(lambda: calls.append(1) or len(calls) * 100)
            wf.sleep(1)
            return value

    decider, history, sim = make(S, tail=False, cache_size=0)
    result = sim.step()
    assert result.decisions[0] == {"decisionType": "RecordMarker", "recordMarkerDecisionAttributes": {
        "markerName": "greenflow.side_effect.1", "details": "100"}}
    history.fire_timer("2")
    result = sim.step()  # full replay: the function is not called again
    assert calls == [1]
    assert result_of(result.decisions[0]) == 100


def test_version_markers_new_and_old_runs():
    class V1(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            wf.sleep(1)
            return Acts.add(1, 1)

    @wf.workflow(name="V1")
    class V2(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            wf.sleep(1)
            if wf.version("use-mul", wf.DEFAULT_VERSION, 1) == 1:
                return Acts.mul(1, 1)
            return Acts.add(1, 1)

    # a new run takes the new branch and records the marker
    history = History("V1")
    sim = Sim(Decider([V2]), history)
    sim.step()
    history.fire_timer("1")
    result = sim.step()
    assert kinds(result) == ["RecordMarker", "ScheduleActivityTask"]
    assert attrs(result.decisions[0]) == {"markerName": "greenflow.version.use-mul", "details": "1"}
    assert attrs(result.decisions[1])["activityType"]["name"] == "Multiply"

    # an old run, started by V1 code, keeps the old branch under V2 code
    history = History("V1")
    Sim(Decider([V1]), history).step()
    history.fire_timer("1")
    Sim(Decider([V1]), history).step()
    history.complete_activity("2", 2)
    result = Sim(Decider([V2]), history).step()
    assert result_of(result.decisions[0]) == 2


def test_version_below_min_supported_is_nondeterministic():
    @wf.workflow(name="V")
    class V(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            wf.sleep(1)
            wf.version("x", 1, 1)

    class Old(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            wf.sleep(1)
            wf.sleep(1)

    history = History("Old")
    Sim(Decider([Old]), history).step()
    history.fire_timer("1")
    Sim(Decider([Old]), history).step()
    history.fire_timer("2")
    history.workflow_type = {"name": "V", "version": "1.0"}
    history.events[0]["workflowExecutionStartedEventAttributes"]["workflowType"] = history.workflow_type
    with pytest.raises(errors.NonDeterministicWorkflowError, match="GF-VERSION"):
        Sim(Decider([V]), history).step()


def test_continue_as_new_with_options():
    class C(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self, n):
            if n > 0:
                with wf.workflow_options(tags=["t"], version="2.0"):
                    wf.continue_as_new(n - 1)
            return "done"

    _, _, sim = make(C, 3)
    result = sim.step()
    assert result.decisions == [{"decisionType": "ContinueAsNewWorkflowExecution",
                                 "continueAsNewWorkflowExecutionDecisionAttributes": {
                                     "input": args(2), "executionStartToCloseTimeout": "3600",
                                     "taskStartToCloseTimeout": "30", "taskList": {"name": "tl"},
                                     "childPolicy": "TERMINATE", "tagList": ["t"], "workflowTypeVersion": "2.0"}}]


def test_continue_as_new_cannot_be_swallowed():
    class C(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            try:
                wf.continue_as_new()
            except Exception:  # noqa: BLE001
                return "swallowed"

    _, _, sim = make(C)
    assert kinds(sim.step()) == ["ContinueAsNewWorkflowExecution"]


# --------------------------------------------------------------------------- retries


def test_activity_retry_policy_with_durable_timers():
    class R(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            return Acts.flaky()

    _, history, sim = make(R)
    assert kinds(sim.step()) == ["ScheduleActivityTask"]
    history.fail_activity("1", Boom("1"))
    result = sim.step()
    assert result.decisions == [{"decisionType": "StartTimer",
                                 "startTimerDecisionAttributes": {"timerId": "2", "startToFireTimeout": "2"}}]
    history.fire_timer("2")
    assert attrs(sim.step().decisions[0])["activityId"] == "3"
    history.fail_activity("3", Boom("2"))
    assert attrs(sim.step().decisions[0])["startToFireTimeout"] == "6"
    history.fire_timer("4")
    sim.step()
    history.fail_activity("5", Boom("3"))
    result = sim.step()
    assert kinds(result) == ["FailWorkflowExecution"]  # attempts exhausted


def test_retry_non_retryable_and_any_callable():
    class R(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            policy = wf.RetryPolicy(max_attempts=5, initial_interval=1, non_retryable=(Boom,))
            attempts = []

            def helper():
                attempts.append(1)
                if len(attempts) < 3:
                    raise ValueError("again")
                return len(attempts)

            n = wf.retry(policy, helper)
            try:
                with wf.activity_options(retry=policy):
                    Acts.add(1, 1)
            except errors.ActivityTaskFailedError:
                return [n, "not retried"]

    _, history, sim = make(R)
    assert kinds(sim.step()) == ["StartTimer"]
    history.fire_timer("1")
    assert kinds(sim.step()) == ["StartTimer"]
    history.fire_timer("2")
    assert kinds(sim.step()) == ["ScheduleActivityTask"]
    history.fail_activity("3", Boom("fatal"))
    assert result_of(sim.step().decisions[0]) == [3, "not retried"]


def test_retry_policy_validation_and_intervals():
    p = wf.RetryPolicy(max_attempts=0, initial_interval=1, backoff_coefficient=2, max_interval=5)
    assert [p.interval(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]
    with pytest.raises(ValueError, match="backoff_coefficient"):
        wf.RetryPolicy(backoff_coefficient=0.5)
    assert not p.is_retryable(errors.CancelledError())
    assert wf.RetryPolicy(non_retryable=("ValueError",)).is_retryable(ValueError()) is False


# --------------------------------------------------------------------------- determinism helpers


def test_random_and_uuid_are_seeded_by_run_id():
    class R(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            return [wf.random(), str(wf.uuid4())]

    def value(run_id):
        history = History("R", run_id=run_id)
        return result_of(Sim(Decider([R]), history).step().decisions[0])

    assert value("a") == value("a")
    assert value("a") != value("b")
    assert value("a")[1][14] == "4"


def test_info_and_is_replaying_and_logger(caplog):
    class I(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            wf.logger.info("step one")
            wf.sleep(1)
            wf.logger.info("step two")
            i = wf.info()
            return [i.workflow_id, i.run_id, list(i.workflow_type), i.task_list, i.execution_start_to_close_timeout,
                    wf.is_replaying()]

    history = History("I")
    with caplog.at_level("INFO", logger="greenflow.workflow.user"):
        Sim(Decider([I], cache_size=0), history, tail=False).step()
        history.fire_timer("1")
        result = Sim(Decider([I], cache_size=0), history, tail=False).step()
    assert result_of(result.decisions[0]) == ["wf-1", "run-1", ["I", "1.0"], "tl", 3600, False]
    lines = [r.getMessage() for r in caplog.records if r.name == "greenflow.workflow.user"]
    assert lines == ["step one", "step two"]  # "step one" not repeated by the replay
    assert caplog.records[0].workflow_id == "wf-1"


def test_api_outside_workflow_raises():
    for call in (lambda: wf.now(), lambda: wf.sleep(1), lambda: wf.spawn(print), lambda: wf.info()):
        with pytest.raises(errors.WorkflowError, match="only inside workflow code"):
            call()


def test_unknown_workflow_type_fails_the_task():
    history = History("Nope")
    with pytest.raises(errors.WorkflowError, match="GF-UNKNOWN-TYPE"):
        Sim(Decider([Sequential]), history).step()


def test_fail_on_nondeterminism_option_fails_execution():
    class A(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            Acts.add(1, 1)

    @wf.workflow(name="A")
    class B(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            wf.sleep(1)

    history = History("A")
    Sim(Decider([A]), history).step()
    history.complete_activity("1", 2)
    result = Sim(Decider([B], fail_on_nondeterminism=True), history).step()
    assert kinds(result) == ["FailWorkflowExecution"]
    assert attrs(result.decisions[0])["reason"] == "NonDeterministicWorkflowError"


def test_default_child_id_is_a_valid_swf_name_for_base64_run_ids():
    history = History("Parent", "1.0", 1, run_id="AB/dj+5D=")
    decider = Decider([Parent, Child])
    d = attrs(Sim(decider, history).step().decisions[0])
    assert d["workflowId"] == "AB_dj+5D=-1"
    # a replayer that is not told the run ID recovers the same prefix (and random seed)
    history.child_started("AB_dj+5D=-1")
    history.child_closed("AB_dj+5D=-1", "ChildWorkflowExecutionCompleted", result="2")
    Sim(decider, history).step()
    assert Replayer([Parent, Child]).replay(history.events).closed


def test_same_child_id_twice_at_once_is_a_clear_error():
    class P(wf.WorkflowDefinition):
        @wf.execute(version="1.0")
        def run(self):
            with wf.workflow_options(workflow_id="dup"):
                wf.spawn(Child.run, 1)
                try:
                    wf.spawn(Child.run, 2).result()
                except errors.WorkflowError as e:
                    return str(e)

    _, _, sim = make(P)
    result = sim.step()
    assert kinds(result) == ["StartChildWorkflowExecution", "CompleteWorkflowExecution"]
    assert "duplicates" in result_of(result.decisions[1])
