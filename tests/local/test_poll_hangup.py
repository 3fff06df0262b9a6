"""A long poll whose client hangs up is withdrawn, never handed a task.

Raw sockets play the client that goes away (a stopped worker, a killed process); the
engine's waiter lists show whether the service still counts the dead poll, and
CountPendingActivityTasks whether a task it would have taken is still there.
"""

from __future__ import annotations

import http.server
import json
import socket
import struct
import threading
import uuid

import pytest
from gevent import monkey

from greenflow import __version__
from greenflow.local import LocalService
from greenflow.swf import connect
from greenflow.testing import wait_until

#: Long enough that a test still waiting for a poll to end by itself fails its deadline.
POLL_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def service():
    with LocalService(db_path=":memory:", poll_timeout=POLL_TIMEOUT) as local:
        yield local


@pytest.fixture
def client(service):
    swf = connect(service.endpoint)
    yield swf
    swf.close()


class Flow:
    """A domain with one workflow type and one activity type, on fresh task lists."""

    def __init__(self, client):
        self.client = client
        self.domain = f"hang-{uuid.uuid4().hex[:10]}"
        self.task_list = f"act-{uuid.uuid4().hex[:8]}"
        self.decisions = f"dec-{uuid.uuid4().hex[:8]}"
        client.ensure_domain(self.domain, retention_days=1)
        client.call("RegisterWorkflowType", domain=self.domain, name="W", version="1",
                    defaultTaskList={"name": self.decisions}, defaultTaskStartToCloseTimeout="60",
                    defaultExecutionStartToCloseTimeout="3600", defaultChildPolicy="TERMINATE")
        client.call("RegisterActivityType", domain=self.domain, name="A", version="1")

    def schedule_activity(self) -> None:
        """Start an execution and answer its first decision task with ScheduleActivityTask."""
        self.client.call("StartWorkflowExecution", domain=self.domain, workflowId=uuid.uuid4().hex,
                         workflowType={"name": "W", "version": "1"})
        task = self.client.poll_for_decision_task(domain=self.domain, taskList={"name": self.decisions})
        assert task is not None
        self.client.call("RespondDecisionTaskCompleted", taskToken=task["taskToken"], decisions=[{
            "decisionType": "ScheduleActivityTask", "scheduleActivityTaskDecisionAttributes": {
                "activityType": {"name": "A", "version": "1"}, "activityId": "a1",
                "taskList": {"name": self.task_list}, "input": "in",
                "scheduleToCloseTimeout": "600", "scheduleToStartTimeout": "600",
                "startToCloseTimeout": "600", "heartbeatTimeout": "NONE"}}])

    def pending(self) -> int:
        return self.client.call("CountPendingActivityTasks", domain=self.domain,
                                taskList={"name": self.task_list})["count"]


@pytest.fixture
def flow(client):
    return Flow(client)


def waiting_polls(service, domain: str, task_list: str) -> int:
    """How many long polls the engine has waiting on an activity task list."""
    return service.call(lambda core: len(core.engine.core.activity_queues.get(domain, task_list).waiters))


def request(operation: str, params: dict) -> bytes:
    body = json.dumps(params).encode()
    return (f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: SimpleWorkflowService.{operation}\r\n"
            f"Content-Type: application/x-amz-json-1.0\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def read_answer(sock: socket.socket, buffer: bytearray) -> tuple[bytes, dict]:
    """One HTTP answer from ``sock`` (``buffer`` keeps what follows it): (head, JSON body)."""
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        assert data, "the connection closed before an answer"
        buffer += data
    end = buffer.index(b"\r\n\r\n")
    head = bytes(buffer[:end])
    length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    while len(buffer) < end + 4 + length:
        data = sock.recv(65536)
        assert data, "the connection closed mid-answer"
        buffer += data
    body = bytes(buffer[end + 4:end + 4 + length])
    del buffer[:end + 4 + length]
    return head, json.loads(body)


@pytest.mark.parametrize("how", ["close", "reset"])
def test_hung_up_poll_is_withdrawn_and_the_task_goes_to_a_live_poller(service, client, flow, how):
    sock = socket.create_connection(("127.0.0.1", service.port), timeout=30)
    try:
        sock.sendall(request("PollForActivityTask", {"domain": flow.domain, "taskList": {"name": flow.task_list},
                                                     "identity": "dead"}))
        wait_until(lambda: waiting_polls(service, flow.domain, flow.task_list) == 1, what="the poll to wait")
        if how == "reset":
            # SO_LINGER 0: close with a TCP reset instead of a FIN (a killed process on some systems).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        sock.close()
    wait_until(lambda: waiting_polls(service, flow.domain, flow.task_list) == 0,
               what="the engine to drop the hung-up poll")

    flow.schedule_activity()
    assert flow.pending() == 1  # the dead poll took nothing
    task = client.poll_for_activity_task(domain=flow.domain, taskList={"name": flow.task_list}, identity="live")
    assert task is not None and task["activityId"] == "a1"
    started = [e for e in client.history(flow.domain, task["workflowExecution"]["workflowId"],
                                         task["workflowExecution"]["runId"])
               if e["eventType"] == "ActivityTaskStarted"]
    assert [e["activityTaskStartedEventAttributes"]["identity"] for e in started] == ["live"]


def test_pipelined_request_behind_a_long_poll_is_not_a_hang_up(service, flow):
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        # The poll and a second request in one write: the watcher reads the second one
        # while the poll waits, and must keep it for later instead of seeing a hang-up.
        sock.sendall(request("PollForActivityTask", {"domain": flow.domain, "taskList": {"name": flow.task_list},
                                                     "identity": "pipelined"})
                     + request("DescribeDomain", {"name": flow.domain}))
        wait_until(lambda: waiting_polls(service, flow.domain, flow.task_list) == 1, what="the poll to wait")
        flow.schedule_activity()
        buffer = bytearray()
        head, task = read_answer(sock, buffer)
        assert head.startswith(b"HTTP/1.1 200 ")
        assert task["activityId"] == "a1"  # the poll stayed alive and took the task
        head, described = read_answer(sock, buffer)
        assert head.startswith(b"HTTP/1.1 200 ")
        assert described["domainInfo"]["name"] == flow.domain
        # The connection still serves requests after both.
        sock.sendall(request("CountPendingActivityTasks", {"domain": flow.domain,
                                                           "taskList": {"name": flow.task_list}}))
        _, count = read_answer(sock, buffer)
        assert count["count"] == 0


def test_several_requests_pipelined_on_one_connection_with_polls_in_between(service, flow):
    flow.schedule_activity()
    poll = request("PollForActivityTask", {"domain": flow.domain, "taskList": {"name": flow.task_list}})
    describe = request("DescribeDomain", {"name": flow.domain})
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        # The first poll is answered at once (a task is pending); the rest follow in order.
        sock.sendall(poll + describe + describe)
        buffer = bytearray()
        answers = [read_answer(sock, buffer)[1] for _ in range(3)]
    assert answers[0]["activityId"] == "a1"
    assert [a["domainInfo"]["name"] for a in answers[1:]] == [flow.domain] * 2


def test_every_answer_names_the_local_service(service):
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        sock.sendall(request("DescribeDomain", {"name": "no-such-domain"}))
        head, _ = read_answer(sock, bytearray())
    assert head.startswith(b"HTTP/1.1 400 ")  # faults too
    assert f"x-greenflow-service: local/{__version__}".encode() in head.lower()


def test_client_learns_the_endpoint_cancels_polls_safely(service):
    swf = connect(service.endpoint)
    try:
        assert not swf.cancels_polls_safely  # nothing answered yet: assume Amazon SWF
        swf.call("ListDomains", registrationStatus="REGISTERED")
        assert swf.cancels_polls_safely
        assert swf.greenflow_service == f"local/{__version__}"
    finally:
        swf.close()


def test_embedded_service_cancels_polls_safely_before_any_call():
    swf = connect(db_path=":memory:")
    try:
        assert swf.cancels_polls_safely
    finally:
        swf.close()
        swf.local_service.stop()


def test_other_swf_endpoints_do_not_cancel_polls_safely():
    """An endpoint whose answers lack greenflow's header (Amazon SWF, another emulator) is
    assumed to hand tasks to polls whose client hung up."""

    class PlainSWF(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            body = b'{"domainInfos": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), PlainSWF)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    swf = connect(endpoint=f"http://127.0.0.1:{server.server_address[1]}")
    try:
        swf.call("ListDomains", registrationStatus="REGISTERED")
        assert swf.greenflow_service is None
        assert not swf.cancels_polls_safely
    finally:
        swf.close()
        server.shutdown()
        server.server_close()
        thread.join()


def test_hang_up_and_task_in_one_loop_turn_leave_the_task_for_a_live_poller(service, client, flow):
    """The race: the client hangs up, and a task arrives before the service's watcher has
    read the hang-up (both in one turn of its event loop). The woken poll must see that its
    client is gone before it takes the task: the task stays pending, never started for the
    dead client (which would leave it to its start-to-close timeout, here 600 s)."""
    real_socket = monkey.get_original("socket", "socket")
    real_sleep = monkey.get_original("time", "sleep")
    client.call("StartWorkflowExecution", domain=flow.domain, workflowId=uuid.uuid4().hex,
                workflowType={"name": "W", "version": "1"})
    decision = client.poll_for_decision_task(domain=flow.domain, taskList={"name": flow.decisions})
    sock = real_socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", service.port))
    sock.sendall(request("PollForActivityTask", {"domain": flow.domain, "taskList": {"name": flow.task_list},
                                                 "identity": "dead"}))
    wait_until(lambda: waiting_polls(service, flow.domain, flow.task_list) == 1, what="the poll to wait")

    def hang_up_then_schedule(core):
        # In the service's hub, without yielding: the hang-up reaches the kernel, then the
        # task is committed and wakes the poll, before the watcher can read the EOF.
        sock.close()
        real_sleep(0.02)
        core.handle("RespondDecisionTaskCompleted", {"taskToken": decision["taskToken"], "decisions": [{
            "decisionType": "ScheduleActivityTask", "scheduleActivityTaskDecisionAttributes": {
                "activityType": {"name": "A", "version": "1"}, "activityId": "a1",
                "taskList": {"name": flow.task_list}, "input": "in", "scheduleToCloseTimeout": "600",
                "scheduleToStartTimeout": "600", "startToCloseTimeout": "600", "heartbeatTimeout": "NONE"}}]})

    service.call(hang_up_then_schedule)
    wait_until(lambda: waiting_polls(service, flow.domain, flow.task_list) == 0, what="the dead poll to go")
    assert flow.pending() == 1  # not taken by the dead poll
    task = client.poll_for_activity_task(domain=flow.domain, taskList={"name": flow.task_list}, identity="live")
    assert task is not None and task["activityId"] == "a1"
    started = [e["activityTaskStartedEventAttributes"]["identity"]
               for e in client.history(flow.domain, task["workflowExecution"]["workflowId"],
                                       task["workflowExecution"]["runId"])
               if e["eventType"] == "ActivityTaskStarted"]
    assert started == ["live"]
