"""Benchmark: how often a long poll whose client hangs up as a task arrives swallows the task.

    python benchmarks/bench_poll_hangup_race.py            # 400 trials, about 30 s
    python benchmarks/bench_poll_hangup_race.py --trials 50

Each trial: a raw-socket client (a forked process) sends PollForActivityTask and waits;
then, at the same moment, this process schedules an activity on that task list
(RespondDecisionTaskCompleted through botocore) and the client hangs its connection up
after a random delay of 0 to ``--window`` ms (default 10). Just before hanging up, the
client looks whether the answer has already arrived. Outcomes:

* **delivered**: the answer reached the client before it hung up (its task is its own);
* **left**: the client hung up first and the task is still pending for the next poll;
* **swallowed**: the client hung up without the answer, yet the task was started for it:
  it would wait for its start-to-close timeout. The local service aims for none.

Prints the counts and the swallowed rate; exits 1 if any trial swallowed a task.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import socket
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from greenflow.local import LocalService  # noqa: E402
from greenflow.swf import connect  # noqa: E402


def request(operation: str, params: dict) -> bytes:
    body = json.dumps(params).encode()
    return (f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: SimpleWorkflowService.{operation}\r\n"
            f"Content-Type: application/x-amz-json-1.0\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def waiting_polls(service: LocalService, domain: str, task_list: str) -> int:
    return service.call(lambda core: len(core.engine.core.activity_queues.get(domain, task_list).waiters))


def trial(service: LocalService, client, domain: str, window: float) -> str:
    task_list = f"act-{uuid.uuid4().hex[:8]}"
    decisions = f"dec-{uuid.uuid4().hex[:8]}"
    client.call("StartWorkflowExecution", domain=domain, workflowId=uuid.uuid4().hex,
                workflowType={"name": "W", "version": "1"}, taskList={"name": decisions})
    decision = client.poll_for_decision_task(domain=domain, taskList={"name": decisions})
    # The client is a forked process with its own interpreter lock: between its look at the
    # socket and its close() nothing of this process can delay it.
    go_read, go_write = os.pipe()
    report_read, report_write = os.pipe()
    delay = random.random() * window
    child = os.fork()
    if child == 0:  # the client that hangs up
        try:
            sock = socket.create_connection(("127.0.0.1", service.port))
            sock.sendall(request("PollForActivityTask", {"domain": domain, "taskList": {"name": task_list},
                                                         "identity": "dead"}))
            os.write(report_write, b"w")
            os.read(go_read, 1)
            time.sleep(delay)
            readable, _, _ = select.select([sock], [], [], 0)
            sock.close()
            os.write(report_write, b"d" if readable else b"n")
        finally:
            os._exit(0)
    os.read(report_read, 1)  # the poll is sent
    deadline = time.monotonic() + 10
    while waiting_polls(service, domain, task_list) != 1:
        if time.monotonic() > deadline:
            raise RuntimeError("the poll never waited")
        time.sleep(0.001)
    os.write(go_write, b"g")
    client.call("RespondDecisionTaskCompleted", taskToken=decision["taskToken"], decisions=[{
        "decisionType": "ScheduleActivityTask", "scheduleActivityTaskDecisionAttributes": {
            "activityType": {"name": "A", "version": "1"}, "activityId": "a1", "taskList": {"name": task_list},
            "scheduleToCloseTimeout": "600", "scheduleToStartTimeout": "600", "startToCloseTimeout": "600",
            "heartbeatTimeout": "NONE"}}])
    delivered = os.read(report_read, 1) == b"d"
    os.waitpid(child, 0)
    for fd in (go_read, go_write, report_read, report_write):
        os.close(fd)
    if delivered:
        return "delivered"
    deadline = time.monotonic() + 10
    while waiting_polls(service, domain, task_list):  # the dead poll is withdrawn
        if time.monotonic() > deadline:
            break
        time.sleep(0.001)
    pending = client.call("CountPendingActivityTasks", domain=domain, taskList={"name": task_list})["count"]
    return "left" if pending == 1 else "swallowed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--window", type=float, default=10.0, help="hang-up delay range, ms")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    random.seed(args.seed)
    outcomes = {"delivered": 0, "left": 0, "swallowed": 0}
    with LocalService(poll_timeout=30) as service:
        client = connect(service.endpoint)
        domain = f"race-{uuid.uuid4().hex[:8]}"
        client.ensure_domain(domain, retention_days=1)
        client.call("RegisterWorkflowType", domain=domain, name="W", version="1",
                    defaultTaskStartToCloseTimeout="60", defaultExecutionStartToCloseTimeout="3600",
                    defaultChildPolicy="TERMINATE")
        client.call("RegisterActivityType", domain=domain, name="A", version="1")
        for number in range(args.trials):
            outcomes[trial(service, client, domain, args.window / 1000.0)] += 1
            sys.stderr.write(f"\r  trial {number + 1}/{args.trials} {outcomes}")
        sys.stderr.write("\n")
        client.close()
    hung_up = outcomes["left"] + outcomes["swallowed"]
    print(f"trials {args.trials}, hang-up within {args.window:g} ms of the task: {outcomes}")
    print(f"swallowed: {outcomes['swallowed']} of {hung_up} polls hung up before their answer arrived "
          f"({100.0 * outcomes['swallowed'] / max(1, hung_up):.1f}%)")
    return 1 if outcomes["swallowed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
