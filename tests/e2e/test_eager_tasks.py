"""Eager tasks: the activities a decision schedules are started for the same process's
activity worker in the answer to the decision, and the decision task that follows an
activity's answer for the same process's workflow worker in the answer to the activity,
without polls (a greenflow local service only). Real local service over HTTP, real workers."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime

import gevent

import pytest

from greenflow.activity import activities, activity
from greenflow.client import WorkflowClient
from greenflow.swf import connect
from greenflow.worker import ActivityWorker, Worker
from greenflow.workflow import WorkflowDefinition, execute, spawn, wait_all

TASK_LIST = "eager"


@activities(schedule_to_start_timeout=60, start_to_close_timeout=60)
class Steps:
    @activity(version="1.0")
    def step(self, i: int) -> int:
        return i


class Chain(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=600)
    def run(self, n: int) -> int:
        return sum(Steps.step(i) for i in range(n))


class FanOut(WorkflowDefinition):
    @execute(version="1.0", execution_start_to_close_timeout=600)
    def run(self, n: int) -> int:
        return sum(wait_all([spawn(Steps.step, i) for i in range(n)]))


def _run(env, transport: str, workflow, n: int, *, eager: bool = True, eager_decisions: bool = True,
         pool_size: int = 10, pollers: int = 2, inside=None):
    """Start one execution with a Worker of both kinds; its result, the client's calls, the
    worker. ``inside(worker)`` runs after the result, while the worker still runs."""
    swf = connect(endpoint=env.service.endpoint, transport=transport)
    domain = f"eager-{uuid.uuid4().hex[:8]}"
    swf.ensure_domain(domain, retention_days=1)
    worker = Worker(swf, domain, workflows=[Chain, FanOut], activities=[Steps()], task_list=TASK_LIST,
                    eager_activities=eager, eager_decisions=eager_decisions,
                    activity_options={"pool_size": pool_size, "pollers": pollers})
    with worker:
        client = WorkflowClient(swf, domain, TASK_LIST)
        result = client.start(workflow, n).result(timeout=60)
        client.close()
        if inside is not None:
            inside(worker)
    return result, swf, worker


def _activity_worker(worker):
    return next(w for w in worker.workers if isinstance(w, ActivityWorker))


def test_a_chain_of_activities_runs_without_activity_polls_answering(env):
    result, swf, worker = _run(env, "direct", Chain.run, 8)
    assert result == sum(range(8))
    # Only the pollers' open long polls (answered empty at shutdown, or still waiting): no
    # activity task came through a poll.
    assert swf.calls["PollForActivityTask"] <= _activity_worker(worker).pollers, dict(swf.calls)


def test_without_eager_tasks_every_activity_is_polled_for(env):
    result, swf, _ = _run(env, "direct", Chain.run, 8, eager=False, eager_decisions=False)
    assert result == sum(range(8))
    assert swf.calls["PollForActivityTask"] >= 8, dict(swf.calls)
    assert swf.calls["PollForDecisionTask"] >= 9, dict(swf.calls)


def test_the_decision_after_each_activity_comes_with_the_activitys_answer(env):
    result, swf, worker = _run(env, "direct", Chain.run, 8)
    assert result == sum(range(8))
    workflow_worker = next(w for w in worker.workers if not isinstance(w, ActivityWorker))
    # The first decision task comes with the start's answer, the eight after the activities
    # with theirs: only the pollers' open long polls were made.
    assert swf.calls["PollForDecisionTask"] <= workflow_worker.pollers, dict(swf.calls)
    assert workflow_worker.tasks_completed == 9
    # Only eager activities, decisions polled for: one decision poll per activity.
    result, swf, _ = _run(env, "direct", Chain.run, 8, eager_decisions=False)
    assert result == sum(range(8)) and swf.calls["PollForDecisionTask"] >= 9, dict(swf.calls)


def test_botocores_transport_never_asks_for_eager_tasks(env):
    # botocore's parser would drop the tasks from the answer: they would be lost until their
    # timeout. So a client on botocore polls for every activity.
    result, swf, _ = _run(env, "botocore", Chain.run, 4)
    assert result == sum(range(4))
    assert not swf.direct and swf.calls["PollForActivityTask"] >= 4, dict(swf.calls)


def test_only_free_slots_are_asked_for_and_every_slot_comes_back(env):
    # Ten activities at once, four slots and one poller: at most three are handed over
    # eagerly (the poll holds a slot), the others are polled for; afterwards every slot is
    # free again but the open poll's (none leaked by a reservation).
    free = []

    def count_free_slots(worker):
        activity_worker = _activity_worker(worker)
        deadline = time.monotonic() + 5
        while activity_worker._slots.counter < 3 and time.monotonic() < deadline:
            gevent.sleep(0.01)  # the last task frees its slot just after answering
        free.append(activity_worker.reserve_slots(10))
        activity_worker.release_slots(free[-1])

    result, swf, worker = _run(env, "direct", FanOut.run, 10, pool_size=4, pollers=1, inside=count_free_slots)
    assert result == sum(range(10))
    assert swf.calls["PollForActivityTask"] >= 3, dict(swf.calls)
    assert free == [3]
    assert _activity_worker(worker).reserve_slots(5) == 0  # stopped: nothing to reserve


@pytest.mark.parametrize("header", ["not json", json.dumps({"taskList": "", "max": 1}),
                                    json.dumps({"taskList": TASK_LIST, "max": 0}),
                                    json.dumps({"taskList": TASK_LIST, "max": True}), json.dumps([1, 2])])
def test_a_malformed_request_for_eager_tasks_is_ignored(env, header):
    swf = env.swf
    swf.ensure_workflow_type(env.domain, _Spec(), task_list="decisions")
    swf.call("StartWorkflowExecution", domain=env.domain, workflowId=f"wf-{uuid.uuid4().hex[:6]}",
             workflowType={"name": "Raw", "version": "1"})
    task = swf.poll_for_decision_task(domain=env.domain, taskList={"name": "decisions"})
    decision = {"decisionType": "ScheduleActivityTask", "scheduleActivityTaskDecisionAttributes": {
        "activityType": {"name": "Steps.step", "version": "1.0"}, "activityId": "a1",
        "taskList": {"name": TASK_LIST}, "scheduleToCloseTimeout": "60", "scheduleToStartTimeout": "60",
        "startToCloseTimeout": "60", "heartbeatTimeout": "NONE"}}
    swf.ensure_activity_type(env.domain, _ActivitySpec(), task_list=TASK_LIST)
    with swf.headers({"x-greenflow-eager-activities": header}):
        answer = swf.call("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=[decision])
    assert "greenflowActivityTasks" not in answer
    polled = swf.poll_for_activity_task(domain=env.domain, taskList={"name": TASK_LIST})
    assert polled is not None and polled["activityId"] == "a1"  # still there for a poll


def test_tasks_are_started_for_the_caller_and_only_from_the_list_it_names(env):
    swf = env.swf
    swf.ensure_workflow_type(env.domain, _Spec(), task_list="decisions")
    swf.ensure_activity_type(env.domain, _ActivitySpec(), task_list=TASK_LIST)
    workflow_id = f"wf-{uuid.uuid4().hex[:6]}"
    run_id = swf.call("StartWorkflowExecution", domain=env.domain, workflowId=workflow_id,
                      workflowType={"name": "Raw", "version": "1"})["runId"]
    task = swf.poll_for_decision_task(domain=env.domain, taskList={"name": "decisions"})

    def schedule(activity_id, task_list):
        return {"decisionType": "ScheduleActivityTask", "scheduleActivityTaskDecisionAttributes": {
            "activityType": {"name": "Steps.step", "version": "1.0"}, "activityId": activity_id,
            "taskList": {"name": task_list}, "input": "[1]"}}

    decisions = [schedule("a1", TASK_LIST), schedule("a2", TASK_LIST), schedule("a3", TASK_LIST),
                 schedule("elsewhere", "other")]
    wanted = json.dumps({"taskList": TASK_LIST, "max": 2, "identity": "eager-test"})
    with swf.headers({"x-greenflow-eager-activities": wanted}):
        answer = swf.call("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=decisions)
    tasks = answer["greenflowActivityTasks"]
    assert [t["activityId"] for t in tasks] == ["a1", "a2"]
    assert all(t["input"] == "[1]" and t["taskToken"] for t in tasks)
    history = list(swf.history(env.domain, workflow_id, run_id))
    started = [e for e in history if e["eventType"] == "ActivityTaskStarted"]
    assert [e["activityTaskStartedEventAttributes"]["identity"] for e in started] == ["eager-test"] * 2
    # The third waits for a poll on its list; the fourth on its own list.
    assert swf.poll_for_activity_task(domain=env.domain, taskList={"name": TASK_LIST})["activityId"] == "a3"
    assert swf.poll_for_activity_task(domain=env.domain, taskList={"name": "other"})["activityId"] == "elsewhere"
    # The handed-over task is answered like any other.
    swf.call("RespondActivityTaskCompleted", taskToken=tasks[0]["taskToken"], result="1")


def test_a_start_through_another_client_leaves_the_first_decision_task_to_a_poll(env):
    swf = connect(endpoint=env.service.endpoint)
    domain = f"eager-{uuid.uuid4().hex[:8]}"
    swf.ensure_domain(domain, retention_days=1)
    with Worker(swf, domain, workflows=[Chain], activities=[Steps()], task_list=TASK_LIST) as worker:
        workflow_worker = next(w for w in worker.workers if not isinstance(w, ActivityWorker))
        assert swf.deciders == [workflow_worker]
        other = connect(endpoint=env.service.endpoint)
        assert WorkflowClient(other, domain, TASK_LIST).start(Chain.run, 2).result(timeout=60) == 1
        polled_tasks = swf.calls["PollForDecisionTask"]
        assert WorkflowClient(swf, domain, TASK_LIST).start(Chain.run, 2).result(timeout=60) == 1
        assert swf.calls["PollForDecisionTask"] == polled_tasks  # handed over: no poll answered
    assert swf.deciders == []  # a stopped worker takes nothing


def test_a_decision_task_is_handed_over_only_on_the_task_list_the_caller_names(env):
    swf = env.swf
    swf.ensure_workflow_type(env.domain, _Spec(), task_list="decisions")
    swf.ensure_activity_type(env.domain, _ActivitySpec(), task_list=TASK_LIST)
    # A start naming another list: its first decision task stays for a poll.
    with swf.headers({"x-greenflow-eager-decision": json.dumps({"taskList": "elsewhere", "identity": "me"})}):
        started = swf.call("StartWorkflowExecution", domain=env.domain, workflowId=f"wf-{uuid.uuid4().hex[:6]}",
                           workflowType={"name": "Raw", "version": "1"})
    assert "greenflowDecisionTask" not in started
    assert swf.poll_for_decision_task(domain=env.domain, taskList={"name": "decisions"}) is not None
    # A start naming its list: the first decision task comes with the answer.
    workflow_id = f"wf-{uuid.uuid4().hex[:6]}"
    with swf.headers({"x-greenflow-eager-decision": json.dumps({"taskList": "decisions", "identity": "me"})}):
        started = swf.call("StartWorkflowExecution", domain=env.domain, workflowId=workflow_id,
                           workflowType={"name": "Raw", "version": "1"})
    run_id = started["runId"]
    task = swf.shaped_as("PollForDecisionTask", started["greenflowDecisionTask"])
    assert [e["eventType"] for e in task["events"]] == ["WorkflowExecutionStarted", "DecisionTaskScheduled",
                                                         "DecisionTaskStarted"]
    decisions = [{"decisionType": "ScheduleActivityTask", "scheduleActivityTaskDecisionAttributes": {
        "activityType": {"name": "Steps.step", "version": "1.0"}, "activityId": f"a{i}",
        "taskList": {"name": TASK_LIST}}} for i in range(2)]
    swf.call("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=decisions)
    first = swf.poll_for_activity_task(domain=env.domain, taskList={"name": TASK_LIST})
    second = swf.poll_for_activity_task(domain=env.domain, taskList={"name": TASK_LIST})
    # Another list named: nothing handed over, the decision task waits for a poll.
    with swf.headers({"x-greenflow-eager-decision": json.dumps({"taskList": "elsewhere", "identity": "me"})}):
        answer = swf.call("RespondActivityTaskCompleted", taskToken=first["taskToken"], result="1")
    assert "greenflowDecisionTask" not in answer
    polled = swf.poll_for_decision_task(domain=env.domain, taskList={"name": "decisions"},
                                        startAtPreviousStartedEvent=True)
    assert polled is not None
    swf.call("RespondDecisionTaskCompleted", taskToken=polled["taskToken"], decisions=[])
    # Its own list named: the next decision task comes in the answer, started for the caller,
    # with the history from the previous started decision on and datetimes once shaped.
    with swf.headers({"x-greenflow-eager-decision": json.dumps({"taskList": "decisions", "identity": "me"})}):
        answer = swf.call("RespondActivityTaskCompleted", taskToken=second["taskToken"], result="2")
    handed = swf.shaped_as("PollForDecisionTask", answer["greenflowDecisionTask"])
    assert handed["workflowExecution"] == {"workflowId": workflow_id, "runId": run_id}
    assert handed["events"][0]["eventId"] == handed["previousStartedEventId"] > 1
    assert handed["events"][-1]["eventType"] == "DecisionTaskStarted"
    assert handed["events"][-1]["decisionTaskStartedEventAttributes"]["identity"] == "me"
    assert all(isinstance(event["eventTimestamp"], datetime) for event in handed["events"])
    swf.call("RespondDecisionTaskCompleted", taskToken=handed["taskToken"], decisions=[
        {"decisionType": "CompleteWorkflowExecution", "completeWorkflowExecutionDecisionAttributes": {}}])
    assert swf.call("DescribeWorkflowExecution", domain=env.domain, execution={
        "workflowId": workflow_id, "runId": run_id})["executionInfo"]["executionStatus"] == "CLOSED"


class _Spec:
    name, version = "Raw", "1"
    execution_start_to_close_timeout, task_start_to_close_timeout, child_policy = 600, 30, "TERMINATE"


class _ActivitySpec:
    name, version = "Steps.step", "1.0"
    schedule_to_start_timeout = schedule_to_close_timeout = start_to_close_timeout = 60
    heartbeat_timeout = "NONE"


def _pending(swf, domain: str, kind: str, task_list: str) -> int:
    return swf.call(f"CountPending{kind}Tasks", domain=domain, taskList={"name": task_list})["count"]


def test_a_request_and_the_tasks_handed_over_in_its_answer_commit_as_one_transaction(env):
    """The claims ride in the request's own unit of work: one commit for a start and its
    first decision task, for a decision and the activity tasks it schedules, for an activity
    answer and the decision task it schedules; and a task handed over is never offered on its
    task list (no waiting poll is woken for it, nothing counts it as pending)."""
    swf, store = env.swf, env.service.core.store
    swf.ensure_workflow_type(env.domain, _Spec(), task_list="decisions")
    swf.ensure_activity_type(env.domain, _ActivitySpec(), task_list=TASK_LIST)
    asked_decision = {"x-greenflow-eager-decision": json.dumps({"taskList": "decisions", "identity": "me"})}

    commits = store.commits
    with swf.headers(asked_decision):
        started = swf.call("StartWorkflowExecution", domain=env.domain, workflowId=f"wf-{uuid.uuid4().hex[:6]}",
                           workflowType={"name": "Raw", "version": "1"})
    assert store.commits == commits + 1
    assert _pending(swf, env.domain, "Decision", "decisions") == 0
    task = started["greenflowDecisionTask"]

    decisions = [{"decisionType": "ScheduleActivityTask", "scheduleActivityTaskDecisionAttributes": {
        "activityType": {"name": "Steps.step", "version": "1.0"}, "activityId": f"a{i}",
        "taskList": {"name": TASK_LIST}, "input": "[1]"}} for i in range(3)]
    commits = store.commits
    with swf.headers({"x-greenflow-eager-activities": json.dumps({"taskList": TASK_LIST, "max": 2,
                                                                  "identity": "me"})}):
        answer = swf.call("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=decisions)
    assert [t["activityId"] for t in answer["greenflowActivityTasks"]] == ["a0", "a1"]
    assert store.commits == commits + 1
    assert _pending(swf, env.domain, "Activity", TASK_LIST) == 1  # a2 only, for a poll

    commits = store.commits
    with swf.headers(asked_decision):
        answer = swf.call("RespondActivityTaskCompleted", taskToken=answer["greenflowActivityTasks"][0]["taskToken"],
                          result="1")
    assert answer["greenflowDecisionTask"]["events"][-1]["eventType"] == "DecisionTaskStarted"
    assert store.commits == commits + 1
    assert _pending(swf, env.domain, "Decision", "decisions") == 0
