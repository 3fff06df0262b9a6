"""Every workflow-runtime feature, end to end: local service over HTTP, real workers in-process.

One workflow class per feature, defined right above its test; each test has its own
service (virtual clock), domain and task list (the ``env`` fixture). Timers and timeouts
use virtual time (``env.auto_time_skipping()`` or ``env.advance_time``), never real waits.
"""

from __future__ import annotations

import itertools
import logging

import gevent
import pytest

from greenflow import errors
from greenflow.activity import activities, activity
from greenflow.workflow import (RetryPolicy, WorkflowDefinition, continue_as_new, execute, now, query,
                                side_effect, signal, sleep, spawn, version, wait_all, wait_until)

TIMEOUTS = dict(schedule_to_start_timeout=300, start_to_close_timeout=300)


@activities(**TIMEOUTS)
class Greeter:
    """Trivial activities shared by the tests below."""

    def __init__(self):
        self.calls: list = []

    @activity(version="1.0")
    def get_name(self) -> str:
        self.calls.append("get_name")
        return "World"

    @activity(version="1.0")
    def greet(self, name: str) -> str:
        self.calls.append(("greet", name))
        return f"Hello {name}!"

    @activity(version="1.0")
    def square(self, x: int) -> int:
        self.calls.append(("square", x))
        return x * x

    @activity(version="1.0")
    def fail(self, message: str) -> None:
        raise KeyError(message)


def run_workflow(env, workflow_class, method, *args, activities_obj=None, timeout=20, **kwargs):
    """Start workers for ``workflow_class`` (and ``activities_obj``), run one execution, return its handle."""
    env.workflow_worker(workflow_class)
    if activities_obj is not None:
        env.activity_worker(activities_obj)
    return env.client().start(method, *args, **kwargs)


def _wait_decided(handle, timeout=10):
    """Wait until every event so far has been decided (no decision task scheduled or running)."""
    from greenflow.testing import wait_until as wait_for
    wait_for(lambda: handle.describe()["openCounts"]["openDecisionTasks"] == 0, timeout=timeout,
             what="the decision tasks to be answered")


def _wait_for_event(handle, event_type, timeout=10):
    from greenflow.testing import wait_until as wait_for
    return wait_for(lambda: any(e["eventType"] == event_type for e in handle.history()), timeout=timeout,
                    what=event_type)


# --------------------------------------------------------------------------- activities


class HelloWorkflow(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=300)
    def hello(self, punctuation: str = "!") -> str:
        name = Greeter.get_name()
        return Greeter.greet(name)[:-1] + punctuation


def test_activities(env):
    greeter = Greeter()
    handle = run_workflow(env, HelloWorkflow, HelloWorkflow.hello, "?", activities_obj=greeter)
    assert handle.result(timeout=20) == "Hello World?"
    assert greeter.calls == ["get_name", ("greet", "World")]


def test_with_worker_starts_executions_on_its_task_list(env):
    env.activity_worker(Greeter())
    from greenflow.worker import WorkflowWorker
    with WorkflowWorker(env.swf, env.domain, env.task_list, HelloWorkflow) as worker:
        handle = HelloWorkflow.hello()
        assert handle.result(timeout=20) == "Hello World!"
    assert worker.tasks_completed >= 3
    assert not worker.running


# --------------------------------------------------------------------------- parallel fan-out


class FanOutWorkflow(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=300)
    def run(self, n: int) -> int:
        futures = [spawn(Greeter.square, i) for i in range(n)]
        wait_all(futures)
        return sum(future.result() for future in futures)


def test_parallel_fan_out(env):
    greeter = Greeter()
    handle = run_workflow(env, FanOutWorkflow, FanOutWorkflow.run, 30, activities_obj=greeter)
    assert handle.result(timeout=20) == sum(i * i for i in range(30))
    events = handle.history()
    scheduled = [e["eventId"] for e in events if e["eventType"] == "ActivityTaskScheduled"]
    # All 30 were scheduled by the first decision, before any completed.
    first_completion = min(e["eventId"] for e in events if e["eventType"] == "ActivityTaskCompleted")
    assert len(scheduled) == 30 and max(scheduled) < first_completion


# --------------------------------------------------------------------------- timers


class TimerWorkflow(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=10 * 86400)
    def run(self) -> float:
        start = now()
        sleep(3 * 86400)  # three days of virtual time
        return (now() - start).total_seconds() if hasattr(now() - start, "total_seconds") else now() - start


def test_durable_timer_with_virtual_time(env):
    handle = run_workflow(env, TimerWorkflow, TimerWorkflow.run)
    with env.auto_time_skipping():
        elapsed = handle.result(timeout=20)
    assert elapsed >= 3 * 86400
    assert any(e["eventType"] == "TimerFired" for e in handle.history())


# --------------------------------------------------------------------------- signals and queries


class ApprovalWorkflow(WorkflowDefinition):
    def __init__(self):
        self.approver = None
        self.comments: list[str] = []

    @execute(version="1.0", execution_start_to_close_timeout=86400)
    def run(self, deadline: int) -> str:
        if wait_until(lambda: self.approver is not None, timeout=deadline):
            return f"approved by {self.approver}"
        return "expired"

    @signal()
    def approve(self, who: str) -> None:
        self.approver = who

    @signal()
    def comment(self, text: str) -> None:
        self.comments.append(text)

    @query()
    def status(self) -> dict:
        return {"approver": self.approver, "comments": list(self.comments)}


def test_signal_and_query(env):
    handle = run_workflow(env, ApprovalWorkflow, ApprovalWorkflow.run, 3600)
    handle.signal("comment", "looks good")
    _wait_decided(handle)
    assert handle.query("status") == {"approver": None, "comments": ["looks good"]}
    handle.signal("approve", "alice")
    assert handle.result(timeout=20) == "approved by alice"
    assert handle.query("status") == {"approver": "alice", "comments": ["looks good"]}


def test_signal_deadline_expires(env):
    handle = run_workflow(env, ApprovalWorkflow, ApprovalWorkflow.run, 3600)
    with env.auto_time_skipping():
        assert handle.result(timeout=20) == "expired"


# --------------------------------------------------------------------------- children


class ChildWorkflow(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=300)
    def run(self, x: int) -> int:
        if x < 0:
            raise ValueError(f"negative: {x}")
        return Greeter.square(x)


class ParentWorkflow(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=300)
    def run(self, xs: list) -> dict:
        children = [spawn(ChildWorkflow.run, x) for x in xs]
        wait_all(children) if all(x >= 0 for x in xs) else None
        results, failures = [], []
        for child in children:
            try:
                results.append(child.result())
            except errors.ChildWorkflowFailedError as error:
                failures.append(type(error.cause).__name__)
        return {"results": results, "failures": failures}


def test_child_workflows(env):
    env.workflow_worker(ParentWorkflow, ChildWorkflow)
    env.activity_worker(Greeter())
    handle = env.client().start(ParentWorkflow.run, [1, 2, -3])
    assert handle.result(timeout=20) == {"results": [1, 4], "failures": ["ValueError"]}
    children = [i for i in env.client().list_closed(workflow_type="ChildWorkflow")]
    assert len(children) == 3 and all(info.get("parent") for info in children)


# --------------------------------------------------------------------------- cancellation


@activities(**TIMEOUTS)
class Cleanup:
    def __init__(self):
        self.cleaned: list = []

    @activity(version="1.0")
    def clean(self, what: str) -> None:
        self.cleaned.append(what)


class CancellableWorkflow(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=86400)
    def run(self, clean_up: bool) -> str:
        try:
            sleep(3600)
        except errors.CancelledError:
            if clean_up:
                Cleanup.clean("resources")
            raise
        return "slept"


def test_cancel_a_workflow_blocked_on_a_timer(env):
    handle = run_workflow(env, CancellableWorkflow, CancellableWorkflow.run, False)
    _wait_for_event(handle, "TimerStarted")
    handle.cancel()
    with pytest.raises(errors.WorkflowCanceledError):
        handle.result(timeout=20)


def test_cancelled_workflow_cleans_up_first(env):
    cleanup = Cleanup()
    handle = run_workflow(env, CancellableWorkflow, CancellableWorkflow.run, True, activities_obj=cleanup)
    _wait_for_event(handle, "TimerStarted")
    handle.cancel()
    with pytest.raises(errors.WorkflowCanceledError):
        handle.result(timeout=20)
    assert cleanup.cleaned == ["resources"]
    assert any(e["eventType"] == "TimerCanceled" for e in handle.history())


class CancelFutureWorkflow(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=86400)
    def run(self) -> str:
        timer = spawn(sleep, 3600)
        timer.cancel()
        try:
            timer.result()
        except errors.CancelledError:
            return "timer cancelled"
        return "timer fired"


def test_cancel_a_future_cancels_its_timer(env):
    handle = run_workflow(env, CancelFutureWorkflow, CancelFutureWorkflow.run)
    assert handle.result(timeout=20) == "timer cancelled"


def test_terminate_a_workflow(env):
    handle = run_workflow(env, CancellableWorkflow, CancellableWorkflow.run, False)
    _wait_for_event(handle, "TimerStarted")
    handle.terminate(reason="stop it")
    with pytest.raises(errors.WorkflowTerminatedError, match="stop it"):
        handle.result(timeout=20)


@activities(schedule_to_start_timeout=300, start_to_close_timeout=300, heartbeat_timeout=60)
class Heartbeating:
    def __init__(self):
        self.outcome = None

    @activity(version="1.0")
    def work(self) -> str:
        from greenflow.activity import heartbeat
        try:
            while True:
                heartbeat("working")
                gevent.sleep(0.02)
        except errors.CancelledError:
            self.outcome = "saw the cancellation"
            raise


class CancelOnHalt(WorkflowDefinition):
    """Base of the cancellation workflows: the ``halt`` signal cancels what ``run`` started."""

    def __init__(self):
        self.stop = False

    @signal()
    def halt(self) -> None:
        self.stop = True

    def cancel_on_halt(self, future, what: str) -> str:
        wait_until(lambda: self.stop)
        future.cancel()
        try:
            future.result()
        except errors.CancelledError:
            return f"{what} cancelled"
        return f"{what} finished"


class CancelActivityWorkflow(CancelOnHalt):
    @execute(version="1.0", execution_start_to_close_timeout=86400)
    def run(self) -> str:
        return self.cancel_on_halt(spawn(Heartbeating.work), "activity")


def test_cancel_a_running_activity(env):
    heartbeating = Heartbeating()
    handle = run_workflow(env, CancelActivityWorkflow, CancelActivityWorkflow.run, activities_obj=heartbeating)
    _wait_for_event(handle, "ActivityTaskStarted")
    handle.signal("halt")
    assert handle.result(timeout=20) == "activity cancelled"
    assert any(e["eventType"] == "ActivityTaskCancelRequested" for e in handle.history())
    # The running activity learns of it at its next heartbeat.
    from greenflow.testing import wait_until as wait_for
    wait_for(lambda: heartbeating.outcome, what="the activity to see the cancellation")


class SleepyChild(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=86400)
    def run(self) -> str:
        sleep(3600)
        return "woke"


class CancelChildWorkflow(CancelOnHalt):
    @execute(version="1.0", execution_start_to_close_timeout=86400)
    def run(self) -> str:
        from greenflow.workflow import workflow_options
        with workflow_options(workflow_id=f"{self.__class__.__name__}-child"):
            child = spawn(SleepyChild.run)
        return self.cancel_on_halt(child, "child")


def test_cancel_a_child_workflow(env):
    env.workflow_worker(CancelChildWorkflow, SleepyChild)
    handle = env.client().start(CancelChildWorkflow.run)
    child = env.client().get_handle("CancelChildWorkflow-child")
    from greenflow.testing import wait_until as wait_for
    wait_for(lambda: list(env.client().list_open(workflow_id="CancelChildWorkflow-child")), what="the child")
    _wait_for_event(child, "TimerStarted")
    handle.signal("halt")
    assert handle.result(timeout=20) == "child cancelled"
    with pytest.raises(errors.WorkflowCanceledError):
        child.result(timeout=20)


class ExternalWorkflow(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=86400)
    def run(self, other: str) -> str:
        from greenflow.workflow import request_cancel_external, signal_external
        signal_external(other, "approve", "external")
        try:
            request_cancel_external("no-such-workflow")
        except errors.ExternalWorkflowError as error:
            return error.cause
        return "no error"


def test_signal_and_cancel_other_executions(env):
    env.workflow_worker(ExternalWorkflow, ApprovalWorkflow)
    client = env.client()
    approval = client.start(ApprovalWorkflow.run, 3600, workflow_id="approval-target")
    _wait_for_event(approval, "TimerStarted")
    assert client.start(ExternalWorkflow.run, "approval-target").result(timeout=20) == \
        "UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION"
    assert approval.result(timeout=20) == "approved by external"


# --------------------------------------------------------------------------- continue-as-new


class CounterWorkflow(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=300)
    def run(self, n: int, total: int = 0) -> int:
        total += Greeter.square(n)
        if n > 1:
            continue_as_new(n - 1, total)
        return total


def test_continue_as_new(env):
    handle = run_workflow(env, CounterWorkflow, CounterWorkflow.run, 4, activities_obj=Greeter())
    assert handle.result(timeout=20) == 16 + 9 + 4 + 1
    runs = list(env.client().list_closed(workflow_id=handle.workflow_id))
    assert sorted(info["closeStatus"] for info in runs) == ["COMPLETED"] + ["CONTINUED_AS_NEW"] * 3


# --------------------------------------------------------------------------- retries


@activities(**TIMEOUTS)
class Flaky:
    def __init__(self, failures: int):
        self.failures = failures
        self.attempts = 0

    @activity(version="1.0")
    def call(self) -> int:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise ConnectionError(f"attempt {self.attempts} failed")
        return self.attempts


class RetryWorkflow(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=86400)
    def run(self) -> int:
        from greenflow.workflow import activity_options
        with activity_options(retry=RetryPolicy(max_attempts=3, initial_interval=10, backoff_coefficient=2)):
            return Flaky.call()


def test_retries_with_durable_backoff(env):
    flaky = Flaky(failures=2)
    handle = run_workflow(env, RetryWorkflow, RetryWorkflow.run, activities_obj=flaky)
    with env.auto_time_skipping():
        assert handle.result(timeout=20) == 3
    assert sum(e["eventType"] == "TimerStarted" for e in handle.history()) == 2


def test_retries_exhausted_fail_the_workflow(env):
    flaky = Flaky(failures=5)
    handle = run_workflow(env, RetryWorkflow, RetryWorkflow.run, activities_obj=flaky)
    with env.auto_time_skipping(), pytest.raises(errors.WorkflowFailedError) as caught:
        handle.result(timeout=20)
    assert flaky.attempts == 3
    assert isinstance(caught.value.cause, errors.ActivityTaskFailedError)


# --------------------------------------------------------------------------- failures


class FailingWorkflow(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=300)
    def run(self) -> None:
        try:
            Greeter.fail("missing")
        except errors.ActivityTaskFailedError as error:
            assert isinstance(error.cause, KeyError)
            raise RuntimeError(f"activity failed with {error.reason}") from None


def test_failure_crosses_the_wire(env):
    handle = run_workflow(env, FailingWorkflow, FailingWorkflow.run, activities_obj=Greeter())
    with pytest.raises(errors.WorkflowFailedError) as caught:
        handle.result(timeout=20)
    assert isinstance(caught.value.cause, RuntimeError)
    assert "KeyError" in str(caught.value.cause)


# --------------------------------------------------------------------------- activity timeouts


@activities(schedule_to_start_timeout=300, start_to_close_timeout=30)
class Hanging:
    @activity(version="1.0")
    def hang(self) -> None:
        gevent.sleep(3600)  # real time: only the timeout ends it


class TimeoutWorkflow(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=86400)
    def run(self) -> str:
        try:
            Hanging.hang()
        except errors.ActivityTaskTimedOutError as error:
            return error.timeout_type
        return "finished"


def test_activity_timeout_with_virtual_time(env):
    handle = run_workflow(env, TimeoutWorkflow, TimeoutWorkflow.run, activities_obj=Hanging())
    _wait_for_event(handle, "ActivityTaskStarted")
    env.advance_time(31)
    assert handle.result(timeout=20) == "START_TO_CLOSE"


class UnpolledWorkflow(TimeoutWorkflow):
    """The same code as its own workflow type (a subclass does not inherit the type name)."""


def test_schedule_to_start_timeout_when_no_worker_polls(env):
    # Register the activity type (an activity worker does it) but never poll its task list.
    env.activity_worker(Hanging(), start=False).register_types()
    handle = run_workflow(env, UnpolledWorkflow, UnpolledWorkflow.run)
    with env.auto_time_skipping():
        assert handle.result(timeout=20) == "SCHEDULE_TO_START"


# --------------------------------------------------------------------------- versioning and side effects


class VersionedWorkflow(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=300)
    def run(self) -> str:
        if version("greeting", 1, 2) == 1:
            return "old"
        return "new"


class EvolvingWorkflow(WorkflowDefinition):
    newest = 1  # the code's newest supported version of the "greeting" change

    def __init__(self):
        self.go = False

    @execute(version="1.0", execution_start_to_close_timeout=86400)
    def run(self) -> str:
        greeting = version("greeting", 1, EvolvingWorkflow.newest)
        wait_until(lambda: self.go)
        return f"v{greeting}"

    @signal()
    def proceed(self) -> None:
        self.go = True


def test_versioning_keeps_running_executions_on_their_version(env):
    env.workflow_worker(EvolvingWorkflow, cache_size=0)  # every decision replays today's code
    client = env.client()
    old = client.start(EvolvingWorkflow.run)
    _wait_for_event(old, "MarkerRecorded")
    _wait_decided(old)
    EvolvingWorkflow.newest = 2  # deploy the change while `old` is running
    try:
        new = client.start(EvolvingWorkflow.run)
        _wait_for_event(new, "MarkerRecorded")
        old.signal("proceed")
        new.signal("proceed")
        assert old.result(timeout=20) == "v1"
        assert new.result(timeout=20) == "v2"
    finally:
        EvolvingWorkflow.newest = 1


class SideEffectWorkflow(WorkflowDefinition):
    counter = itertools.count()

    @execute(version="1.0", execution_start_to_close_timeout=300)
    def run(self) -> list:
        first = side_effect(lambda: next(SideEffectWorkflow.counter))
        sleep(1)  # a second decision task replays the marker instead of calling again
        return [first, side_effect(lambda: next(SideEffectWorkflow.counter))]


def test_versioning_records_the_version(env):
    handle = run_workflow(env, VersionedWorkflow, VersionedWorkflow.run)
    assert handle.result(timeout=20) == "new"
    assert any(e["eventType"] == "MarkerRecorded" for e in handle.history())


def test_side_effects_are_recorded_once(env):
    env.workflow_worker(SideEffectWorkflow, cache_size=0)  # no cache: every task replays
    handle = env.client().start(SideEffectWorkflow.run)
    with env.auto_time_skipping():
        first, second = handle.result(timeout=20)
    assert second == first + 1  # the first side effect was not re-run by the replay


# --------------------------------------------------------------------------- long histories


class LongHistoryWorkflow(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=300)
    def run(self, n: int) -> int:
        values = [side_effect(lambda i=i: i) for i in range(n)]
        sleep(1)
        return sum(values)

    @query()
    def ready(self) -> bool:
        return True


def test_history_spanning_several_pages(env):
    env.workflow_worker(LongHistoryWorkflow, cache_size=0)  # forces a full, paged history read
    handle = env.client().start(LongHistoryWorkflow.run, 1200)
    with env.auto_time_skipping():
        assert handle.result(timeout=60) == sum(range(1200))
    events = handle.history()
    assert len(events) > 1200 and [e["eventId"] for e in events] == list(range(1, len(events) + 1))
    assert handle.query("ready") is True


# --------------------------------------------------------------------------- non-determinism


class ChangingWorkflow(WorkflowDefinition):
    use_timer = False

    @execute(version="1.0", execution_start_to_close_timeout=86400)
    def run(self) -> str:
        if type(self).use_timer:  # flipped by the test to "change the code"
            sleep(5)
        else:
            Greeter.get_name()
        wait_until(lambda: False, timeout=3600)
        return "done"

    @signal()
    def poke(self) -> None:
        pass

    @query()
    def alive(self) -> bool:
        return True


def test_nondeterministic_code_leaves_the_task_unanswered(env, caplog):
    worker = env.workflow_worker(ChangingWorkflow, cache_size=0)
    env.activity_worker(Greeter())
    handle = env.client().start(ChangingWorkflow.run)
    _wait_for_event(handle, "ActivityTaskCompleted")
    from greenflow.testing import wait_until as wait_for
    wait_for(lambda: handle.describe()["openCounts"]["openTimers"] == 1, what="the deadline timer")
    ChangingWorkflow.use_timer = True
    try:
        with caplog.at_level(logging.ERROR, logger="greenflow.workflow_worker"):
            handle.signal("poke")  # a new decision task: the replay now disagrees
            wait_for(lambda: worker.nondeterministic_tasks >= 1, what="the non-determinism to be detected")
        assert "NON-DETERMINISTIC" in caplog.text
        assert handle.is_open()
        with pytest.raises(errors.NonDeterministicWorkflowError):
            handle.query("alive", workflow_classes=[ChangingWorkflow])
    finally:
        ChangingWorkflow.use_timer = False


class ChangingFailWorkflow(ChangingWorkflow):
    """The same code as its own workflow type, with its own ``use_timer`` switch."""

    use_timer = False


def test_fail_on_nondeterminism_fails_the_execution(env):
    env.workflow_worker(ChangingFailWorkflow, cache_size=0, fail_on_nondeterminism=True)
    env.activity_worker(Greeter())
    handle = env.client().start(ChangingFailWorkflow.run)
    _wait_for_event(handle, "ActivityTaskCompleted")
    _wait_decided(handle)
    ChangingFailWorkflow.use_timer = True
    try:
        handle.signal("poke")
        with pytest.raises(errors.WorkflowFailedError) as caught:
            handle.result(timeout=20)
        assert caught.value.reason == "NonDeterministicWorkflowError"
    finally:
        ChangingFailWorkflow.use_timer = False
