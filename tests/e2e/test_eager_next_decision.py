"""The next decision task in a decision task's answer: a workflow worker's answer asks a
greenflow service for the next decision task waiting on its task list (of any run; the
deciding run's own first) and decides it without a poll. Decision tasks that nothing else
hands over (fired timers, signals) then cost no poll round trip while there is work. Real
local service over HTTP, real workers."""

from __future__ import annotations

import json
import time
import uuid

import gevent

import pytest

from greenflow.client import WorkflowClient
from greenflow.interceptors import Interceptor
from greenflow.swf import connect
from greenflow.testing import wait_until
from greenflow.worker import Worker
from greenflow.workflow import WorkflowDefinition, execute, sleep

HEADER = "x-greenflow-eager-decision"
MEMBER = "greenflowDecisionTask"
NAP = 10


class Nap(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=600)
    def run(self, n: int) -> int:
        sleep(NAP)
        return n


class DecisionTaskSources(Interceptor):
    """Counts, on a client, the decision tasks polls answered and those decision answers carried."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Count from now on."""
        self.polled = 0
        self.handed = 0

    def swf_call(self, call, proceed):
        answer = proceed()
        if call.operation == "PollForDecisionTask" and answer.get("taskToken") and "nextPageToken" not in call.params:
            self.polled += 1
        if call.operation == "RespondDecisionTaskCompleted" and answer.get(MEMBER):
            self.handed += 1
        return answer


def _nappers(env, n: int, *, transport: str = "direct", eager_decisions: bool = True, before=None,
             prepare=None):
    """Start ``n`` Nap executions and let a first worker set their timers; stop it, fire the
    timers (``n`` decision tasks now wait on the task list) and start a one-poller Worker
    that decides them. Returns the results, what the timer-fired decision tasks came through
    (a :class:`DecisionTaskSources`), the second worker's client and the worker.
    ``prepare(worker)`` runs before it starts; so does ``before(worker)``, which must make
    it stop (then the results are not waited for: ``None``)."""
    task_list = f"naps-{uuid.uuid4().hex[:6]}"
    first = env.workflow_worker(Nap, task_list=task_list, pollers=1)
    client = WorkflowClient(env.swf, env.domain, task_list)
    handles = [client.start(Nap.run, i) for i in range(n)]
    wait_until(lambda: first.tasks_completed >= n, timeout=30)
    first.stop(interrupt_polls=True)
    env.advance_time(NAP)
    assert _pending_decisions(env, task_list) == n
    swf = connect(endpoint=env.service.endpoint, transport=transport)
    sources = DecisionTaskSources()
    swf.interceptors.append(sources)
    worker = Worker(swf, env.domain, workflows=[Nap], task_list=task_list, eager_decisions=eager_decisions,
                    workflow_options={"pollers": 1})
    for hook in (prepare, before):
        if hook is not None:
            hook(worker)
    with worker:
        if before is None:
            results = [handle.result(timeout=30) for handle in handles]
        else:
            results = None
            wait_until(lambda: not worker.running, timeout=30)  # before() made it stop
    client.close()
    return results, sources, swf, worker


def test_timer_fired_decision_tasks_come_in_the_answers_to_decisions(env):
    results, sources, _, _ = _nappers(env, 5)
    assert results == list(range(5))
    # Five decision tasks waiting, one poller: its poll takes the first, and the answer to
    # each decision brings the next one.
    assert (sources.polled, sources.handed) == (1, 4)


def test_without_eager_decisions_each_timer_fired_task_is_polled_for(env):
    results, sources, _, _ = _nappers(env, 5, eager_decisions=False)
    assert results == list(range(5))
    assert (sources.polled, sources.handed) == (5, 0)


def test_botocores_transport_never_asks_for_the_next_decision_task(env):
    # botocore's parser would drop the task from the answer: it would wait for its timeout.
    results, sources, swf, _ = _nappers(env, 3, transport="botocore")
    assert results == list(range(3))
    assert not swf.direct and (sources.polled, sources.handed) == (3, 0)


def test_timers_firing_while_the_worker_waits_in_its_poll(env):
    # As in benchmark W4: the worker's poll is open when the timers fire. It takes the
    # first task; the others wait meanwhile and come in the answers to decisions.
    swf = connect(endpoint=env.service.endpoint)
    task_list = f"naps-{uuid.uuid4().hex[:6]}"
    sources = DecisionTaskSources()
    swf.interceptors.append(sources)
    with Worker(swf, env.domain, workflows=[Nap], task_list=task_list, workflow_options={"pollers": 1}) as worker:
        client = WorkflowClient(env.swf, env.domain, task_list)
        handles = [client.start(Nap.run, i) for i in range(5)]
        wait_until(lambda: worker.workers[0].tasks_completed >= 5, timeout=30)
        sources.reset()  # the poll open now counts: it is the one the first timer wakes
        env.advance_time(NAP)
        assert [handle.result(timeout=30) for handle in handles] == list(range(5))
        client.close()
    assert sources.polled + sources.handed == 5
    assert sources.handed >= 1, vars(sources)  # polled for, all five would be polls


def _pending_decisions(env, task_list: str) -> int:
    return env.swf.call("CountPendingDecisionTasks", domain=env.domain, taskList={"name": task_list})["count"]


def _decision_events(env, workflow_id: str) -> list[str]:
    return [event["eventType"] for event in env.swf.history(env.domain, workflow_id, _run_id(env, workflow_id))
            if event["eventType"].startswith("DecisionTask")]


def _run_id(env, workflow_id: str) -> str:
    listing = env.swf.call("ListOpenWorkflowExecutions", domain=env.domain, executionFilter={"workflowId": workflow_id},
                           startTimeFilter={"oldestDate": 0})["executionInfos"]
    if not listing:
        listing = env.swf.call("ListClosedWorkflowExecutions", domain=env.domain,
                               executionFilter={"workflowId": workflow_id},
                               startTimeFilter={"oldestDate": 0})["executionInfos"]
    return listing[0]["execution"]["runId"]


class _StopWhen:
    """Begins stopping ``worker`` (in a greenlet) at a moment the test picks."""

    def __init__(self, worker) -> None:
        self.worker = worker
        self.stopper = None

    def begin_stop(self) -> None:
        if self.stopper is None:
            self.stopper = gevent.spawn(self.worker.stop)
            gevent.sleep(0)  # the stop has begun: the worker is stopping

    def join(self) -> None:
        assert self.stopper is not None, "the stop never began"
        self.stopper.join(30)


def test_a_stopping_worker_asks_for_no_next_task(env):
    workflow_ids, stoppers = [], []

    def stop_while_deciding(worker):
        stopper = _StopWhen(worker.workers[0])

        class StopInside(Interceptor):
            def handle_workflow_task(self, call, proceed):
                workflow_ids.append(call.workflow_id)
                stopper.begin_stop()
                return proceed()

        worker.workers[0].interceptors.append(StopInside())
        stoppers.append(stopper)

    _, sources, _, worker = _nappers(env, 3, before=stop_while_deciding)
    stoppers[0].join()
    assert not worker.running
    # The task being decided when the stop began was answered, and its answer asked for
    # nothing: the other two still wait for a poll, not started by a worker that stopped.
    assert len(workflow_ids) == 1 and (sources.polled, sources.handed) == (1, 0)
    assert _decision_events(env, workflow_ids[0])[-1] == "DecisionTaskCompleted"
    assert _pending_decisions(env, worker.workers[0].task_list) == 2


def test_a_task_handed_over_as_the_worker_stops_is_still_decided(env):
    decided, stoppers = [], []

    def stop_after_a_task_came(worker):
        stopper = _StopWhen(worker.workers[0])

        class StopAfterHandOver(Interceptor):
            def swf_call(self, call, proceed):
                answer = proceed()
                if call.operation == "RespondDecisionTaskCompleted" and answer.get(MEMBER):
                    stopper.begin_stop()
                return answer

            def handle_workflow_task(self, call, proceed):
                decided.append(call.workflow_id)
                return proceed()

        worker.workers[0].swf.interceptors.append(StopAfterHandOver())
        worker.workers[0].interceptors.append(StopAfterHandOver())
        stoppers.append(stopper)

    _, sources, _, worker = _nappers(env, 3, before=stop_after_a_task_came)
    stoppers[0].join()
    assert not worker.running
    # The first task was polled, its answer brought the second as the stop began: the
    # second was decided and answered (its answer asking for nothing), the third waits.
    assert (sources.polled, sources.handed) == (1, 1) and len(decided) == 2
    for workflow_id in decided:
        assert _decision_events(env, workflow_id)[-1] == "DecisionTaskCompleted"
    assert _pending_decisions(env, worker.workers[0].task_list) == 1


def test_a_task_handed_over_is_decided_even_if_an_interceptor_fails_the_one_before(env):
    failed = []

    def fail_first_task_after_answering(worker):
        class FailOnce(Interceptor):
            def handle_workflow_task(self, call, proceed):
                outcome = proceed()  # answered; the next task came with the answer
                if not failed:
                    failed.append(call.workflow_id)
                    raise RuntimeError("an interceptor's bug")
                return outcome

        worker.workers[0].interceptors.append(FailOnce())

    results, sources, _, _ = _nappers(env, 3, prepare=fail_first_task_after_answering)
    assert failed and results == list(range(3))
    assert (sources.polled, sources.handed) == (1, 2)


# ---------------------------------------------------------------- the service, raw calls

class _Spec:
    name, version = "Raw", "1"
    execution_start_to_close_timeout, task_start_to_close_timeout, child_policy = 600, 30, "TERMINATE"


def _start_raw(env, task_list: str) -> tuple[str, str]:
    env.swf.ensure_workflow_type(env.domain, _Spec(), task_list=task_list)
    workflow_id = f"wf-{uuid.uuid4().hex[:6]}"
    run_id = env.swf.call("StartWorkflowExecution", domain=env.domain, workflowId=workflow_id,
                          workflowType={"name": "Raw", "version": "1"}, taskList={"name": task_list})["runId"]
    return workflow_id, run_id


def _respond(env, task: dict, header: str | None, decisions=()) -> dict:
    headers = {HEADER: header} if header is not None else {}
    with env.swf.headers(headers):
        return env.swf.call("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=list(decisions))


def _asks(task_list: str, identity: str = "next-test") -> str:
    return json.dumps({"taskList": task_list, "identity": identity})


def test_the_deciding_runs_own_next_task_comes_first_then_another_runs_then_none(env):
    task_list = f"raw-{uuid.uuid4().hex[:6]}"
    first_id, first_run = _start_raw(env, task_list)
    second_id, second_run = _start_raw(env, task_list)
    task = env.swf.poll_for_decision_task(domain=env.domain, taskList={"name": task_list})
    assert task["workflowExecution"]["workflowId"] == first_id
    # A signal arrives while the first run decides: its next task is scheduled as the
    # decision is answered, after the second run's first task, yet handed over first.
    env.swf.call("SignalWorkflowExecution", domain=env.domain, workflowId=first_id, signalName="poke")
    store = env.service.core.store
    commits = store.commits
    answer = _respond(env, task, _asks(task_list))
    assert store.commits == commits + 1  # claimed in the decision's own transaction
    own = env.swf.shaped_as("PollForDecisionTask", answer[MEMBER])
    assert own["workflowExecution"] == {"workflowId": first_id, "runId": first_run}
    assert own["events"][0]["eventId"] == own["previousStartedEventId"] == task["startedEventId"]
    assert [e["eventType"] for e in own["events"][-2:]] == ["DecisionTaskScheduled", "DecisionTaskStarted"]
    assert "WorkflowExecutionSignaled" in [e["eventType"] for e in own["events"]]
    assert own["events"][-1]["decisionTaskStartedEventAttributes"]["identity"] == "next-test"
    assert _pending_decisions(env, task_list) == 1  # the second run's
    # The first run has nothing more: the second run's task, waiting on the list, comes,
    # started for the caller as a poll would start it (a whole history: none decided yet).
    commits = store.commits
    answer = _respond(env, own, _asks(task_list, "other-test"), [
        {"decisionType": "CompleteWorkflowExecution", "completeWorkflowExecutionDecisionAttributes": {}}])
    assert store.commits == commits + 1  # the decision and the claim: one transaction
    other = env.swf.shaped_as("PollForDecisionTask", answer[MEMBER])
    assert other["workflowExecution"] == {"workflowId": second_id, "runId": second_run}
    assert other["previousStartedEventId"] == 0
    assert [e["eventType"] for e in other["events"]] == ["WorkflowExecutionStarted", "DecisionTaskScheduled",
                                                          "DecisionTaskStarted"]
    assert other["events"][-1]["decisionTaskStartedEventAttributes"]["identity"] == "other-test"
    assert _pending_decisions(env, task_list) == 0
    # Nothing waits: the plain answer, at once (never a long poll, which would hold the
    # answer for the service's poll timeout, made long here).
    env.service.core.engine.poll_timeout = 60.0
    began = time.monotonic()
    answer = _respond(env, other, _asks(task_list), [
        {"decisionType": "CompleteWorkflowExecution", "completeWorkflowExecutionDecisionAttributes": {}}])
    assert answer == {} and time.monotonic() - began < 30
    for workflow_id in (first_id, second_id):
        assert _decision_events(env, workflow_id)[-1] == "DecisionTaskCompleted"


def test_only_a_task_of_the_list_named_is_handed_over(env):
    task_list, elsewhere = f"raw-{uuid.uuid4().hex[:6]}", f"other-{uuid.uuid4().hex[:6]}"
    _start_raw(env, task_list)
    _start_raw(env, elsewhere)
    task = env.swf.poll_for_decision_task(domain=env.domain, taskList={"name": task_list})
    assert MEMBER not in _respond(env, task, _asks(task_list))
    assert _pending_decisions(env, elsewhere) == 1


@pytest.mark.parametrize("header", ["not json", json.dumps({"taskList": ""}), json.dumps({"taskList": 5}),
                                    json.dumps({"taskList": "x", "identity": 5}), json.dumps(["a"])])
def test_a_malformed_request_for_the_next_decision_task_is_ignored(env, header):
    task_list = f"raw-{uuid.uuid4().hex[:6]}"
    _start_raw(env, task_list)
    waiting_id, _ = _start_raw(env, task_list)
    task = env.swf.poll_for_decision_task(domain=env.domain, taskList={"name": task_list})
    assert _respond(env, task, header.replace('"x"', json.dumps(task_list))) == {}
    polled = env.swf.poll_for_decision_task(domain=env.domain, taskList={"name": task_list})
    assert polled["workflowExecution"]["workflowId"] == waiting_id  # still there for a poll
