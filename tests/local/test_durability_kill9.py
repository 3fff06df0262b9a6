"""Durability: ``kill -9`` the local service under load; nothing it acknowledged is lost.

The service answers a request only after its effects are committed (issue 2,
"Durability"). This test runs ``python -m greenflow server`` as a subprocess, drives it
from several concurrent botocore clients (starting executions, signalling them, answering
decision tasks that schedule activities and start timers, completing activity tasks),
records every request the service acknowledged, SIGKILLs the process mid-load, restarts it
on the same database and checks that every acknowledged execution and event is there,
that every acknowledged timer still fires, and that an activity task and a decision task
handed out just before the kill (never answered) time out after the restart. A request that failed because of the kill may
have been applied or not; it is not checked.
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOMAIN = "kill9"
WORKFLOW_TYPE = {"name": "kill9-workflow", "version": "1"}
ACTIVITY_TYPE = {"name": "kill9-activity", "version": "1"}
DECISIONS = "kill9-decisions"
ACTIVITIES = "kill9-activities"
TIMER_SECONDS = 3  # SWF time = real time here: long enough that the timers outlive the kill
TASK_TIMEOUT = "2"  # start-to-close of the tasks handed out just before the kill

#: The load stops (with the kill) once this much of each kind was acknowledged, or after
#: LOAD_CAP seconds, whichever comes first.
ENOUGH = {"starts": 12, "signals": 12, "decisions": 12, "completions": 8}
LOAD_CAP = 8.0


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Servers:
    """Starts ``greenflow server`` subprocesses and makes sure every one of them is stopped."""

    def __init__(self, db_path: str):
        self.db_path = db_path
        self.processes: list[subprocess.Popen] = []

    def start(self) -> tuple[subprocess.Popen, str]:
        """Start a server on the shared database; return it and its endpoint once it listens."""
        port = free_port()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
        process = subprocess.Popen(
            [sys.executable, "-m", "greenflow", "server", "--host", "127.0.0.1", "--port", str(port),
             "--db", self.db_path, "--poll-timeout", "1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=REPO,
        )
        self.processes.append(process)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"greenflow server exited with {process.returncode}: {process.stderr.read().decode()[-3000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return process, f"http://127.0.0.1:{port}"
            except OSError:
                time.sleep(0.05)
        pytest.fail("greenflow server did not start listening within 20 s")

    def stop_all(self) -> None:
        """Kill every server this object started (the fixture's finalizer)."""
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(10)
            if process.stderr:
                process.stderr.close()


@pytest.fixture
def servers(tmp_path):
    """A :class:`Servers` on ``tmp_path/swf.db``; its processes are killed after the test, pass or fail."""
    started = Servers(str(tmp_path / "swf.db"))
    try:
        yield started
    finally:
        started.stop_all()


def make_client(endpoint: str):
    """One botocore swf client; no retries, so an acknowledgement is one request's answer."""
    return botocore.session.get_session().create_client(
        "swf", region_name="us-east-1", endpoint_url=endpoint,
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 0}),
    )


@dataclass
class Acknowledged:
    """What the service said yes to, and what went wrong, shared by the load threads."""

    executions: dict[str, str] = field(default_factory=dict)  # workflowId -> runId
    # (workflowId, runId) -> expected events, as (eventType, attribute name, value)
    events: dict[tuple[str, str], list[tuple[str, str, str]]] = field(default_factory=dict)
    timers: list[tuple[str, str, str]] = field(default_factory=list)  # (workflowId, runId, timerId)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENOUGH, 0))
    faults: list[str] = field(default_factory=list)  # faults answered before the kill: none expected
    lock: threading.Lock = field(default_factory=threading.Lock)

    def expect(self, execution: dict, event_type: str, attribute: str, value: str) -> None:
        key = (execution["workflowId"], execution["runId"])
        self.events.setdefault(key, []).append((event_type, attribute, value))

    def enough(self) -> bool:
        with self.lock:
            return all(self.counts[kind] >= n for kind, n in ENOUGH.items())


def run_load(endpoint: str, acked: Acknowledged, stop: threading.Event, killed: threading.Event) -> list[threading.Thread]:
    """Start the load threads; they run until ``stop`` is set."""
    ids = itertools.count()

    def loop(body):
        client = make_client(endpoint)

        def run():
            while not stop.is_set():
                try:
                    body(client)
                except ClientError as error:
                    if not killed.is_set():
                        with acked.lock:
                            acked.faults.append(f"{error.operation_name}: {error}")
                except BotoCoreError:
                    # Connection refused/reset: the kill. The request may or may not have been applied.
                    time.sleep(0.01)

        return threading.Thread(target=run, daemon=True)

    def starter(client):
        workflow_id = f"wf-{next(ids)}"
        response = client.start_workflow_execution(
            domain=DOMAIN, workflowId=workflow_id, workflowType=WORKFLOW_TYPE, taskList={"name": DECISIONS},
            executionStartToCloseTimeout="600", taskStartToCloseTimeout="60", childPolicy="TERMINATE",
            input=workflow_id,
        )
        with acked.lock:
            acked.executions[workflow_id] = response["runId"]
            acked.expect({"workflowId": workflow_id, "runId": response["runId"]},
                         "WorkflowExecutionStarted", "input", workflow_id)
            acked.counts["starts"] += 1

    def signaller(client):
        with acked.lock:
            targets = list(acked.executions.items())
        if not targets:
            time.sleep(0.01)
            return
        workflow_id, run_id = targets[next(ids) % len(targets)]
        payload = f"signal-{next(ids)}"
        client.signal_workflow_execution(domain=DOMAIN, workflowId=workflow_id, runId=run_id,
                                         signalName="poke", input=payload)
        with acked.lock:
            acked.expect({"workflowId": workflow_id, "runId": run_id}, "WorkflowExecutionSignaled", "input", payload)
            acked.counts["signals"] += 1

    def decider(client):
        task = client.poll_for_decision_task(domain=DOMAIN, taskList={"name": DECISIONS})
        if not task.get("taskToken"):
            return
        n = next(ids)
        activity_id, timer_id = f"activity-{n}", f"timer-{n}"
        client.respond_decision_task_completed(taskToken=task["taskToken"], decisions=[
            {"decisionType": "ScheduleActivityTask", "scheduleActivityTaskDecisionAttributes": {
                "activityType": ACTIVITY_TYPE, "activityId": activity_id, "taskList": {"name": ACTIVITIES},
                "scheduleToCloseTimeout": "600", "scheduleToStartTimeout": "600",
                "startToCloseTimeout": "600", "heartbeatTimeout": "NONE"}},
            {"decisionType": "StartTimer", "startTimerDecisionAttributes": {
                "timerId": timer_id, "startToFireTimeout": str(TIMER_SECONDS)}},
        ])
        execution = task["workflowExecution"]
        with acked.lock:
            acked.expect(execution, "ActivityTaskScheduled", "activityId", activity_id)
            acked.expect(execution, "TimerStarted", "timerId", timer_id)
            acked.timers.append((execution["workflowId"], execution["runId"], timer_id))
            acked.counts["decisions"] += 1

    def worker(client):
        task = client.poll_for_activity_task(domain=DOMAIN, taskList={"name": ACTIVITIES})
        if not task.get("taskToken"):
            return
        result = f"result-{next(ids)}"
        client.respond_activity_task_completed(taskToken=task["taskToken"], result=result)
        with acked.lock:
            acked.expect(task["workflowExecution"], "ActivityTaskCompleted", "result", result)
            acked.counts["completions"] += 1

    threads = [loop(body) for body in [starter] * 2 + [signaller] * 2 + [decider] * 3 + [worker] * 3]
    for thread in threads:
        thread.start()
    return threads


def history(client, workflow_id: str, run_id: str) -> list[dict]:
    """An execution's whole history, every page."""
    events, token = [], None
    while True:
        params = dict(domain=DOMAIN, execution={"workflowId": workflow_id, "runId": run_id})
        if token:
            params["nextPageToken"] = token
        page = client.get_workflow_execution_history(**params)
        events += page["events"]
        token = page.get("nextPageToken")
        if not token:
            return events


def attributes(event: dict) -> dict:
    """The ``<eventType>EventAttributes`` member of an event."""
    name = event["eventType"][0].lower() + event["eventType"][1:] + "EventAttributes"
    return event.get(name, {})


def missing_events(client, acked: Acknowledged) -> list[str]:
    """Acknowledged effects absent from the histories after the restart."""
    missing = []
    for (workflow_id, run_id), expected in sorted(acked.events.items()):
        try:
            events = history(client, workflow_id, run_id)
        except ClientError as error:
            missing.append(f"{workflow_id}/{run_id}: history unreadable: {error}")
            continue
        ids = [e["eventId"] for e in events]
        if ids != list(range(1, len(ids) + 1)):
            missing.append(f"{workflow_id}: event IDs not 1..n after the restart: {ids}")
        present = {(e["eventType"], name, value) for e in events for name, value in attributes(e).items()
                   if isinstance(value, str)}
        missing += [f"{workflow_id}: {want}" for want in expected if want not in present]
    return missing


def unfired_timers(client, acked: Acknowledged) -> list[tuple[str, str, str]]:
    """Acknowledged timers with no TimerFired event yet."""
    unfired = []
    for workflow_id, run_id, timer_id in acked.timers:
        fired = {attributes(e).get("timerId") for e in history(client, workflow_id, run_id)
                 if e["eventType"] == "TimerFired"}
        if timer_id not in fired:
            unfired.append((workflow_id, run_id, timer_id))
    return unfired


def hand_out_tasks(client) -> dict[str, tuple[str, str]]:
    """Take an activity task and a decision task and never answer them (short start-to-close timeouts).

    Returns the expected timeout event type -> (workflowId, runId) of the execution it lands in.
    """
    def start(workflow_id: str, task_list: str, task_timeout: str) -> str:
        return client.start_workflow_execution(
            domain=DOMAIN, workflowId=workflow_id, workflowType=WORKFLOW_TYPE, taskList={"name": task_list},
            executionStartToCloseTimeout="600", taskStartToCloseTimeout=task_timeout, childPolicy="TERMINATE",
        )["runId"]

    activity_run = start("inflight-activity", "inflight-decisions", "600")
    task = client.poll_for_decision_task(domain=DOMAIN, taskList={"name": "inflight-decisions"})
    client.respond_decision_task_completed(taskToken=task["taskToken"], decisions=[
        {"decisionType": "ScheduleActivityTask", "scheduleActivityTaskDecisionAttributes": {
            "activityType": ACTIVITY_TYPE, "activityId": "inflight", "taskList": {"name": "inflight-activities"},
            "scheduleToCloseTimeout": "600", "scheduleToStartTimeout": "600",
            "startToCloseTimeout": TASK_TIMEOUT, "heartbeatTimeout": "NONE"}}])
    assert client.poll_for_activity_task(domain=DOMAIN, taskList={"name": "inflight-activities"})["taskToken"]
    decision_run = start("inflight-decision", "inflight-decisions-2", TASK_TIMEOUT)
    assert client.poll_for_decision_task(domain=DOMAIN, taskList={"name": "inflight-decisions-2"})["taskToken"]
    return {"ActivityTaskTimedOut": ("inflight-activity", activity_run),
            "DecisionTaskTimedOut": ("inflight-decision", decision_run)}


def missing_timeouts(client, expected: dict[str, tuple[str, str]]) -> list[str]:
    """The expected START_TO_CLOSE timeout events not in their histories yet."""
    missing = []
    for event_type, (workflow_id, run_id) in expected.items():
        timeouts = [attributes(e).get("timeoutType") for e in history(client, workflow_id, run_id)
                    if e["eventType"] == event_type]
        if timeouts != ["START_TO_CLOSE"]:
            missing.append(f"{workflow_id}: {event_type} {timeouts}")
    return missing


def test_kill9_under_load_loses_nothing_acknowledged(servers):
    process, endpoint = servers.start()
    setup = make_client(endpoint)
    setup.register_domain(name=DOMAIN, workflowExecutionRetentionPeriodInDays="1")
    setup.register_workflow_type(domain=DOMAIN, **WORKFLOW_TYPE)
    setup.register_activity_type(domain=DOMAIN, **ACTIVITY_TYPE)

    acked, stop, killed = Acknowledged(), threading.Event(), threading.Event()
    threads = run_load(endpoint, acked, stop, killed)
    try:
        deadline = time.monotonic() + LOAD_CAP
        while not acked.enough() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        in_flight = hand_out_tasks(setup)
        # Mid-load: the load threads are still sending requests when the process dies.
        killed.set()
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        kill_time = time.time()
    finally:
        stop.set()
        for thread in threads:
            thread.join(15)
    assert not any(thread.is_alive() for thread in threads), "a load thread did not stop"
    assert not acked.faults, f"faults answered to valid requests before the kill: {acked.faults[:5]}"
    assert all(acked.counts.values()), f"the load did not get every kind of request through: {acked.counts}"

    _, endpoint = servers.start()  # same database
    client = make_client(endpoint)

    for workflow_id, run_id in acked.executions.items():
        info = client.describe_workflow_execution(domain=DOMAIN, execution={"workflowId": workflow_id, "runId": run_id})
        assert info["executionInfo"]["execution"] == {"workflowId": workflow_id, "runId": run_id}
        assert info["executionInfo"]["executionStatus"] == "OPEN"
    assert missing_events(client, acked) == []

    # Every acknowledged timer still fires; the later ones were due only after the kill,
    # so they fire from the deadlines stored in the database.
    due_after_kill = 0
    for workflow_id, run_id, timer_id in acked.timers:
        started = [e for e in history(client, workflow_id, run_id)
                   if e["eventType"] == "TimerStarted" and attributes(e)["timerId"] == timer_id]
        due_after_kill += started[0]["eventTimestamp"].timestamp() + TIMER_SECONDS > kill_time
    assert due_after_kill, "no acknowledged timer was still pending at the kill: the load ran too long"
    # Tasks handed out before the crash and never answered time out, from stored deadlines.
    wait_until = time.monotonic() + TIMER_SECONDS + 10
    while True:
        unfired, timeouts = unfired_timers(client, acked), missing_timeouts(client, in_flight)
        if not (unfired or timeouts) or time.monotonic() > wait_until:
            break
        time.sleep(0.2)
    assert unfired == [], f"{len(unfired)} of {len(acked.timers)} acknowledged timers never fired"
    assert timeouts == [], "tasks handed out before the kill did not time out after the restart"
