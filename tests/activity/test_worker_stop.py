"""Stopping an ActivityWorker with long polls open.

On a greenflow local service the worker cancels its open polls at once (the service
withdraws a poll whose connection closes), so an idle ``with worker:`` ends without
waiting for the poll timeout and loses nothing. On a service that may hand an abandoned
poll a task (Amazon SWF), open polls are let return and what they bring is run.
"""

from __future__ import annotations

import uuid

import gevent
import pytest

from greenflow.activity._definition import activities, activity
from greenflow.worker._activity import ActivityWorker
from greenflow.converter import DEFAULT_CONVERTER
from greenflow.local import LocalService
from greenflow.swf import connect
from greenflow.testing import wait_until

#: Far longer than the stop deadlines below: a stop that waits for its polls fails them.
POLL_TIMEOUT = 30.0


@activities()
class Echo:
    @activity()
    def echo(self, value):
        return value


@pytest.fixture(scope="module")
def service():
    with LocalService(db_path=":memory:", poll_timeout=POLL_TIMEOUT) as local:
        yield local


@pytest.fixture
def client(service):
    swf = connect(service.endpoint)
    yield swf
    swf.close()


class Decider:
    """Starts an execution and schedules one Echo.echo activity with raw SWF calls."""

    def __init__(self, client, domain: str, task_list: str):
        self.client, self.domain, self.task_list = client, domain, task_list
        self.decisions = f"{task_list}-decisions"
        client.call("RegisterWorkflowType", domain=domain, name="W", version="1",
                    defaultTaskList={"name": self.decisions}, defaultTaskStartToCloseTimeout="60",
                    defaultExecutionStartToCloseTimeout="3600", defaultChildPolicy="TERMINATE")
        self.workflow_id = uuid.uuid4().hex
        self.run_id = client.call("StartWorkflowExecution", domain=domain, workflowId=self.workflow_id,
                                  workflowType={"name": "W", "version": "1"})["runId"]

    def schedule_echo(self, value) -> None:
        task = self.client.poll_for_decision_task(domain=self.domain, taskList={"name": self.decisions})
        assert task is not None
        self.client.call("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=[{
            "decisionType": "ScheduleActivityTask", "scheduleActivityTaskDecisionAttributes": {
                "activityType": {"name": "Echo.echo", "version": "1.0"}, "activityId": "e1",
                "taskList": {"name": self.task_list}, "input": DEFAULT_CONVERTER.dumps({"args": [value]}),
                "scheduleToCloseTimeout": "600", "scheduleToStartTimeout": "600",
                "startToCloseTimeout": "600", "heartbeatTimeout": "NONE"}}])

    def events(self, event_type: str) -> list[dict]:
        return [e for e in self.client.history(self.domain, self.workflow_id, self.run_id)
                if e["eventType"] == event_type]

    def pending(self) -> int:
        return self.client.call("CountPendingActivityTasks", domain=self.domain,
                                taskList={"name": self.task_list})["count"]


@pytest.fixture
def names(client):
    domain = f"stop-{uuid.uuid4().hex[:10]}"
    client.ensure_domain(domain, retention_days=1)
    return domain, f"tl-{uuid.uuid4().hex[:8]}"


def waiting_polls(service, domain: str, task_list: str) -> int:
    """How many long polls the engine has waiting on an activity task list."""
    return service.call(lambda core: len(core.engine.core.activity_queues.get(domain, task_list).waiters))


def test_idle_worker_on_local_service_cancels_its_polls_and_loses_nothing(service, client, names):
    domain, task_list = names
    assert client.cancels_polls_safely
    worker = ActivityWorker(client, domain, task_list, Echo(), pollers=3, shutdown_timeout=POLL_TIMEOUT).start()
    wait_until(lambda: waiting_polls(service, domain, task_list) == 3, what="the worker's polls to wait")

    stopper = gevent.spawn(worker.stop)
    # Bounded well below the poll timeout: a stop that waits for its open polls fails here.
    stopper.get(timeout=10)
    assert all(poller.dead for poller in worker._poller_greenlets)
    # The service noticed the closed connections and withdrew every poll.
    wait_until(lambda: waiting_polls(service, domain, task_list) == 0, what="the service to drop the stopped polls")

    decider = Decider(client, domain, task_list)
    decider.schedule_echo("kept")
    assert decider.pending() == 1  # no dead poll took it
    assert decider.events("ActivityTaskStarted") == []

    with ActivityWorker(client, domain, task_list, Echo(), pollers=1, shutdown_timeout=5):
        wait_until(lambda: decider.events("ActivityTaskCompleted"), what="a new worker to run the task")
    [done] = decider.events("ActivityTaskCompleted")
    assert DEFAULT_CONVERTER.loads(done["activityTaskCompletedEventAttributes"]["result"]) == "kept"


def test_worker_that_cannot_cancel_polls_lets_them_return_and_runs_what_they_bring(service, names):
    domain, task_list = names
    swf = connect(service.endpoint)
    try:
        swf.call("ListDomains", registrationStatus="REGISTERED")
        swf._service = ""  # as if the endpoint were Amazon SWF: abandoned polls may still get tasks
        assert not swf.cancels_polls_safely
        worker = ActivityWorker(swf, domain, task_list, Echo(), pollers=1, shutdown_timeout=POLL_TIMEOUT).start()
        wait_until(lambda: waiting_polls(service, domain, task_list) == 1, what="the worker's poll to wait")
        stopper = gevent.spawn(worker.stop)
        gevent.sleep(0)  # stop() has begun: no new polls, the open one stays
        assert not stopper.ready()
        assert waiting_polls(service, domain, task_list) == 1

        decider = Decider(swf, domain, task_list)
        decider.schedule_echo("run while stopping")
        stopper.get(timeout=10)  # returns once the task the open poll took is answered
        [done] = decider.events("ActivityTaskCompleted")
        assert DEFAULT_CONVERTER.loads(done["activityTaskCompletedEventAttributes"]["result"]) == "run while stopping"
        assert decider.pending() == 0
    finally:
        swf.close()
