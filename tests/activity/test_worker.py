"""ActivityWorker end to end against a real LocalService over HTTP.

The test plays the decider with raw SWF calls: it starts an execution, answers the first
decision task with ScheduleActivityTask decisions, lets the worker run them, and reads the
ActivityTask* events from history.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
import uuid

import gevent
import gevent.event
import pytest

from greenflow import errors
from greenflow.worker import _loop as loop_module
from greenflow.activity._definition import activities, activity
from greenflow.activity._context import NoActivityContextError, context, heartbeat
from greenflow.activity._manual import ManualActivityCompletionClient
from greenflow.worker._activity import ActivityWorker, WorkerShutdownError
from greenflow.converter import DEFAULT_CONVERTER, exception_from_failure
from greenflow.local import LocalService
from greenflow.swf import connect
from greenflow.testing import wait_until

# --------------------------------------------------------------------------- definitions


@activities()
class Basic:
    """Activities used by most tests."""

    def __init__(self):
        self.release = gevent.event.Event()
        self.started = 0
        self.running = 0
        self.max_running = 0
        self.tokens = []
        self.heartbeats = 0

    @activity()
    def add(self, a, b):
        return a + b

    @activity()
    def fail(self, message):
        raise ValueError(message)

    @activity()
    def huge(self):
        return "x" * 40000

    @activity()
    def info(self):
        ctx = context()
        return {"activity_id": ctx.activity_id, "type": list(ctx.activity_type), "workflow_id": ctx.workflow_id,
                "run_id": ctx.run_id, "token": bool(ctx.task_token), "domain": ctx.domain}

    @activity()
    def blocked(self, value):
        self.started += 1
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            self.release.wait()
        finally:
            self.running -= 1
        return value

    @activity()
    def until_cancelled(self):
        self.started += 1
        while True:
            self.heartbeats += 1
            heartbeat({"beats": self.heartbeats})
            gevent.sleep(0.01)

    @activity(manual=True)
    def approve(self, order):
        self.tokens.append(context().task_token)


@activities()
class Blocking:
    """Activities for the thread executor: real blocking calls."""

    @activity()
    def slow_square(self, n):
        sleep = gevent.monkey.get_original("time", "sleep")
        sleep(0.01)  # blocks the calling thread, which must not be the hub's
        heartbeat("half way")
        return n * n


# --------------------------------------------------------------------------- harness


@pytest.fixture(scope="module")
def service():
    with LocalService(db_path=":memory:", poll_timeout=0.3) as local:
        yield local


@pytest.fixture
def client(service):
    swf = connect(service.endpoint)
    yield swf
    swf.close()


@pytest.fixture
def domain(client):
    name = f"act-{uuid.uuid4().hex[:10]}"
    client.ensure_domain(name, retention_days=1)
    return name


class Decider:
    """Plays the workflow's decider with raw SWF calls."""

    def __init__(self, client, domain, task_list):
        self.client, self.domain, self.task_list = client, domain, task_list
        self.decision_list = f"{task_list}-decisions"
        client.call("RegisterWorkflowType", domain=domain, name="Test.run", version="1",
                    defaultTaskList={"name": self.decision_list}, defaultTaskStartToCloseTimeout="60",
                    defaultExecutionStartToCloseTimeout="3600", defaultChildPolicy="TERMINATE")
        self.workflow_id = uuid.uuid4().hex
        self.run_id = client.call("StartWorkflowExecution", domain=domain, workflowId=self.workflow_id,
                                  workflowType={"name": "Test.run", "version": "1"})["runId"]
        self.counter = 0

    def poll(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            task = self.client.poll_for_decision_task(domain=self.domain, taskList={"name": self.decision_list})
            if task:
                return task
        raise AssertionError("no decision task")

    def respond(self, task, decisions=()):
        self.client.call("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=list(decisions))

    def schedule_decision(self, name, *args, activity_id=None, heartbeat_timeout="NONE", **kwargs):
        self.counter += 1
        payload = {"args": list(args)}
        if kwargs:
            payload["kwargs"] = kwargs
        return {"decisionType": "ScheduleActivityTask", "scheduleActivityTaskDecisionAttributes": {
            "activityType": {"name": name, "version": "1.0"}, "activityId": activity_id or str(self.counter),
            "taskList": {"name": self.task_list}, "input": DEFAULT_CONVERTER.dumps(payload),
            "scheduleToCloseTimeout": "600", "scheduleToStartTimeout": "600", "startToCloseTimeout": "600",
            "heartbeatTimeout": heartbeat_timeout}}

    def schedule(self, *calls):
        """Answer the pending decision task with one ScheduleActivityTask per (name, *args) call."""
        self.respond(self.poll(), [self.schedule_decision(name, *args) for name, *args in calls])

    def history(self):
        return list(self.client.history(self.domain, self.workflow_id, self.run_id))

    def events(self, event_type):
        return [e for e in self.history() if e["eventType"] == event_type]

    def wait_for(self, event_type, count=1, timeout=10.0):
        """Answer decision tasks (with no decisions) until history has ``count`` events of a type."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.events(event_type)
            if len(found) >= count:
                return found
            task = self.client.poll_for_decision_task(domain=self.domain, taskList={"name": self.decision_list})
            if task:
                self.respond(task)
        raise AssertionError(f"history has no {count} {event_type} events: "
                             f"{[e['eventType'] for e in self.history()]}")


def attributes(event):
    return next(value for key, value in event.items() if key.endswith("EventAttributes"))


@pytest.fixture
def setup(client, domain):
    """A fresh task list, a decider on it, and workers stopped at the end."""
    task_list = f"tl-{uuid.uuid4().hex[:8]}"
    workers = []

    def make_worker(*objects, **options):
        options.setdefault("shutdown_timeout", 5)
        worker = ActivityWorker(client, domain, task_list, *objects, **options)
        workers.append(worker)
        return worker

    yield Decider(client, domain, task_list), make_worker
    for worker in workers:
        worker.stop(timeout=0)


# --------------------------------------------------------------------------- tests


def test_registers_domain_and_types(client, service):
    domain = f"reg-{uuid.uuid4().hex[:8]}"
    with ActivityWorker(client, domain, "tl", Basic()) as worker:
        names = {t["activityType"]["name"] for t in client.call(
            "ListActivityTypes", domain=domain, registrationStatus="REGISTERED")["typeInfos"]}
        assert "Basic.add" in names and "Basic.approve" in names
        assert len(names) == len(worker.activity_types)
    # Idempotent: a second worker registers nothing new and doesn't fail.
    with ActivityWorker(connect(service.endpoint), domain, "tl", Basic()):
        pass


def test_register_false_registers_nothing(client, domain):
    with ActivityWorker(client, domain, "tl", Basic(), register=False):
        assert client.call("ListActivityTypes", domain=domain, registrationStatus="REGISTERED")["typeInfos"] == []


def test_completes_with_converted_result(setup):
    decider, make_worker = setup
    with make_worker(Basic()):
        decider.schedule(("Basic.add", 1, 2))
        [done] = decider.wait_for("ActivityTaskCompleted")
    assert DEFAULT_CONVERTER.loads(attributes(done)["result"]) == 3


def test_keyword_arguments_and_tuples(setup):
    decider, make_worker = setup
    with make_worker(Basic()):
        decider.respond(decider.poll(), [decider.schedule_decision("Basic.add", (1,), b=(2, 3))])
        [done] = decider.wait_for("ActivityTaskCompleted")
    assert DEFAULT_CONVERTER.loads(attributes(done)["result"]) == (1, 2, 3)


def test_context_gives_task_info(setup):
    decider, make_worker = setup
    with make_worker(Basic()):
        decider.schedule(("Basic.info",))
        [done] = decider.wait_for("ActivityTaskCompleted")
    info = DEFAULT_CONVERTER.loads(attributes(done)["result"])
    assert info == {"activity_id": "1", "type": ["Basic.info", "1.0"], "workflow_id": decider.workflow_id,
                    "run_id": decider.run_id, "token": True, "domain": decider.domain}


def test_failure_carries_reason_and_rebuildable_details(setup):
    decider, make_worker = setup
    with make_worker(Basic()):
        decider.schedule(("Basic.fail", "no stock"))
        [failed] = decider.wait_for("ActivityTaskFailed")
    attrs = attributes(failed)
    assert attrs["reason"] == "ValueError"
    exc = exception_from_failure(attrs["reason"], attrs["details"])
    assert type(exc) is ValueError and exc.args == ("no stock",)
    assert "in fail" in exc.remote_traceback


def test_oversized_result_fails_naming_the_activity(setup):
    decider, make_worker = setup
    with make_worker(Basic()):
        decider.schedule(("Basic.huge",))
        [failed] = decider.wait_for("ActivityTaskFailed")
    attrs = attributes(failed)
    assert attrs["reason"] == "greenflow.errors.PayloadTooLargeError"
    exc = exception_from_failure(attrs["reason"], attrs["details"])
    assert isinstance(exc, errors.PayloadTooLargeError)
    assert "Basic.huge" in exc.what and exc.size > 32768


def test_unknown_activity_type_fails_clearly(setup, client):
    decider, make_worker = setup

    @dataclasses.dataclass
    class Spec:
        name: str = "Other.thing"
        version: str = "1.0"

    client.ensure_activity_type(decider.domain, Spec(), task_list=decider.task_list)
    with make_worker(Basic()):
        decider.schedule(("Other.thing",))
        [failed] = decider.wait_for("ActivityTaskFailed")
    exc = exception_from_failure(attributes(failed)["reason"], attributes(failed)["details"])
    assert isinstance(exc, errors.DefinitionError) and "Other.thing" in str(exc)


def test_heartbeat_cancellation_answers_canceled(setup):
    decider, make_worker = setup
    basic = Basic()
    with make_worker(basic):
        decider.respond(decider.poll(), [decider.schedule_decision("Basic.until_cancelled", heartbeat_timeout="60")])
        wait_until(lambda: basic.heartbeats >= 2)
        decider.client.call("SignalWorkflowExecution", domain=decider.domain, workflowId=decider.workflow_id,
                            signalName="cancel-it")
        decider.respond(decider.poll(), [{"decisionType": "RequestCancelActivityTask",
                                          "requestCancelActivityTaskDecisionAttributes": {"activityId": "1"}}])
        [canceled] = decider.wait_for("ActivityTaskCanceled")
    assert DEFAULT_CONVERTER.loads(attributes(canceled)["details"])["beats"] >= 2
    assert decider.events("ActivityTaskFailed") == []


def test_manual_completion(setup, client):
    decider, make_worker = setup
    basic = Basic()
    with make_worker(basic) as worker:
        decider.schedule(("Basic.approve", {"order": 1}), ("Basic.approve", {"order": 2}))
        wait_until(lambda: len(basic.tokens) == 2 and worker.running_tasks == 0)
        assert decider.events("ActivityTaskCompleted") == []  # returned, but not answered
        manual = ManualActivityCompletionClient(client)
        assert manual.heartbeat(basic.tokens[0], {"progress": 1}) is False
        manual.complete(basic.tokens[0], ("approved", 1))
        manual.fail(basic.tokens[1], KeyError("missing"))
        [done] = decider.wait_for("ActivityTaskCompleted")
        [failed] = decider.wait_for("ActivityTaskFailed")
    assert DEFAULT_CONVERTER.loads(attributes(done)["result"]) == ("approved", 1)
    assert attributes(failed)["reason"] == "KeyError"
    with pytest.raises(errors.UnknownResourceError):
        manual.complete(basic.tokens[0], "again")


def test_manual_fail_with_reason_and_cancel(setup, client):
    decider, make_worker = setup
    basic = Basic()
    with make_worker(basic):
        decider.schedule(("Basic.approve", 1))
        wait_until(lambda: len(basic.tokens) == 1)
        ManualActivityCompletionClient(client).fail(basic.tokens[0], "Rejected", {"by": "alice"})
        [failed] = decider.wait_for("ActivityTaskFailed")
    assert attributes(failed)["reason"] == "Rejected"
    assert DEFAULT_CONVERTER.loads(attributes(failed)["details"]) == {"by": "alice"}


def test_polls_only_while_slots_are_free(setup):
    decider, make_worker = setup
    basic = Basic()
    with make_worker(basic, pool_size=2, pollers=2) as worker:
        decider.schedule(*[("Basic.blocked", i) for i in range(5)])
        wait_until(lambda: basic.started == 2)
        gevent.sleep(0.3)  # give a misbehaving worker the chance to take more
        assert basic.started == 2 and worker.running_tasks == 2
        assert len(decider.events("ActivityTaskStarted")) == 2
        basic.release.set()
        done = decider.wait_for("ActivityTaskCompleted", 5)
    assert basic.max_running == 2
    assert sorted(DEFAULT_CONVERTER.loads(attributes(e)["result"]) for e in done) == [0, 1, 2, 3, 4]


def test_graceful_shutdown_finishes_running_tasks_and_takes_no_more(setup):
    decider, make_worker = setup
    basic = Basic()
    worker = make_worker(basic, pool_size=3, pollers=3).start()
    decider.schedule(*[("Basic.blocked", i) for i in range(4)])
    wait_until(lambda: basic.started == 3)
    stopper = gevent.spawn(worker.stop)
    gevent.sleep(0.5)  # longer than a poll: no poll may take the 4th task while stopping
    assert not stopper.ready()  # still waiting for the running tasks
    basic.release.set()
    stopper.get(timeout=10)
    assert worker.running_tasks == 0
    completed = decider.wait_for("ActivityTaskCompleted", 3)
    assert len(completed) == 3
    assert len(decider.events("ActivityTaskStarted")) == 3  # the 4th is still waiting for a worker
    assert decider.client.call("CountPendingActivityTasks", domain=decider.domain,
                               taskList={"name": decider.task_list})["count"] == 1


def test_shutdown_timeout_interrupts_and_answers_failed(setup):
    decider, make_worker = setup
    basic = Basic()
    worker = make_worker(basic, shutdown_timeout=0.2).start()
    decider.schedule(("Basic.blocked", 1))
    wait_until(lambda: basic.started == 1)
    worker.stop()
    [failed] = decider.wait_for("ActivityTaskFailed")
    exc = exception_from_failure(attributes(failed)["reason"], attributes(failed)["details"])
    assert isinstance(exc, WorkerShutdownError)


def test_thread_executor_runs_blocking_code_and_heartbeats(setup):
    decider, make_worker = setup
    with make_worker(Blocking(), executor="thread", thread_pool_size=4):
        decider.schedule(*[("Blocking.slow_square", n) for n in range(6)])
        done = decider.wait_for("ActivityTaskCompleted", 6)
    assert sorted(DEFAULT_CONVERTER.loads(attributes(e)["result"]) for e in done) == [0, 1, 4, 9, 16, 25]


def test_run_blocks_until_sigterm(setup):
    decider, make_worker = setup
    worker = make_worker(Basic())
    runner = gevent.spawn(worker.run)
    wait_until(lambda: worker.running_tasks == 0 and worker.running)
    decider.schedule(("Basic.add", 2, 2))
    decider.wait_for("ActivityTaskCompleted")
    os.kill(os.getpid(), signal.SIGTERM)
    runner.get(timeout=10)
    assert worker.wait(0)


def test_context_outside_an_activity():
    with pytest.raises(NoActivityContextError):
        context()
    with pytest.raises(NoActivityContextError):
        heartbeat()
    assert Basic().add(1, 2) == 3  # a plain method on an instance


def test_bad_arguments(client):
    with pytest.raises(ValueError):
        ActivityWorker(client, "d", "tl", Basic(), pool_size=0)
    with pytest.raises(ValueError):
        ActivityWorker(client, "d", "tl", Basic(), executor="fork")
    with pytest.raises(ValueError):
        ActivityWorker(client, "d", "tl", Basic(), pool_size=2, pollers=3)
    with pytest.raises(errors.DefinitionError):
        ActivityWorker(client, "d", "tl")
    with pytest.raises(errors.DefinitionError, match="twice"):
        ActivityWorker(client, "d", "tl", Basic(), Basic())


# --------------------------------------------------------------------------- outages (fake client)


class FlakyClient:
    """Answers polls with outages first, then one task, then empty polls; records answers."""

    cancels_polls_safely = False  # as Amazon SWF

    def __init__(self, outages):
        self.outages = outages
        self.polls = 0
        self.calls = []
        self.task_given = False
        self.answer_failed = False

    def poll_for_activity_task(self, **params):
        self.polls += 1
        if self.outages:
            self.outages -= 1
            raise errors.ServiceUnavailableError("down", code="EndpointConnectionError",
                                                 operation="PollForActivityTask")
        if not self.task_given:
            self.task_given = True
            return {"taskToken": "tok", "activityId": "a1", "startedEventId": 5,
                    "workflowExecution": {"workflowId": "w", "runId": "r"},
                    "activityType": {"name": "Basic.add", "version": "1.0"},
                    "input": DEFAULT_CONVERTER.dumps({"args": [20, 22]})}
        gevent.sleep(0.01)
        return None

    def call(self, operation, **params):
        if operation == "RespondActivityTaskCompleted" and not self.answer_failed:
            self.answer_failed = True
            self.calls.append((operation + "-outage", params))
            raise errors.ServiceUnavailableError("down", operation=operation)
        self.calls.append((operation, params))
        return {}


def test_survives_outages_and_retries_answers(monkeypatch, caplog):
    from greenflow.swf import SWFClient

    monkeypatch.setattr(loop_module.OUTAGE_RETRY, "cap", 0.001)
    monkeypatch.setattr(loop_module, "as_client", lambda c: c)
    flaky = FlakyClient(outages=3)
    with caplog.at_level("WARNING", logger="greenflow.worker"):
        with ActivityWorker(flaky, "d", "tl", Basic(), register=False, pollers=1):
            wait_until(lambda: any(c[0] == "RespondActivityTaskCompleted" for c in flaky.calls))
    assert flaky.polls >= 4
    [(operation, params)] = [c for c in flaky.calls if c[0] == "RespondActivityTaskCompleted"]
    assert params == {"taskToken": "tok", "result": "42"}
    assert "(polling): the SWF service is not answering" in caplog.text
    assert "(polling): the SWF service answers again after 3 failed attempts" in caplog.text
    # one line per outage, not one per failed poll
    assert caplog.text.count("(polling): the SWF service is not answering") == 1
    assert SWFClient  # the real client is what as_client normally returns


def test_thread_mode_takes_no_more_tasks_than_threads(client):
    worker = ActivityWorker(client, "d", "tl", Blocking(), executor="thread", pool_size=10, thread_pool_size=3)
    assert worker.capacity == 3 and worker.pollers == 3
    assert ActivityWorker(client, "d", "tl", Basic(), pool_size=500).capacity == 500
