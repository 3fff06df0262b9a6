"""The direct transport (greenflow.swf._direct): the same answers and errors as botocore's
client, against a real local service over HTTP, and sound connection handling."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import botocore.session
import gevent
import pytest
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from greenflow import errors
from greenflow.local import LocalService
from greenflow.swf import connect
from greenflow.swf._direct import DirectTransport

pytestmark = pytest.mark.usefixtures("clean_environment")


@pytest.fixture
def clean_environment(monkeypatch):
    for name in ("GREENFLOW_ENDPOINT", "GREENFLOW_TRANSPORT", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE",
                 "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def service():
    service = LocalService(db_path=":memory:", host="127.0.0.1", port=0, poll_timeout=2.0).start()
    yield service
    service.stop()


def _pair(endpoint):
    """A client on botocore's full path and one that goes direct once the service named itself."""
    slow, fast = connect(endpoint, transport="botocore"), connect(endpoint)
    return slow, fast


def _start(swf, domain, workflow_id, task_list="tl"):
    swf.ensure_workflow_type(domain, _Spec("W"), task_list=task_list)
    return swf.call("StartWorkflowExecution", domain=domain, workflowId=workflow_id,
                    workflowType={"name": "W", "version": "1"}, input="[1]")["runId"]


class _Spec:
    def __init__(self, name):
        self.name, self.version = name, "1"
        self.execution_start_to_close_timeout, self.task_start_to_close_timeout = 3600, 30
        self.child_policy = "TERMINATE"


def test_answers_are_the_same_as_botocores_timestamps_included(service):
    slow, fast = _pair(service.endpoint)
    domain = f"d-{uuid.uuid4().hex[:8]}"
    slow.ensure_domain(domain, retention_days=1)
    fast.call("DescribeDomain", name=domain)  # the first answer names the service: direct from now on
    assert fast.direct and not slow.direct
    run_id = _start(fast, domain, "wf-1")
    execution = {"workflowId": "wf-1", "runId": run_id}
    since = datetime.now(timezone.utc) - timedelta(minutes=5)
    for operation, params in [
        ("DescribeDomain", {"name": domain}),
        ("DescribeWorkflowExecution", {"domain": domain, "execution": execution}),
        ("GetWorkflowExecutionHistory", {"domain": domain, "execution": execution}),
        # Request timestamps in each form botocore takes: aware and naive (UTC) datetimes, epochs.
        ("ListOpenWorkflowExecutions", {"domain": domain, "startTimeFilter": {"oldestDate": since}}),
        ("ListOpenWorkflowExecutions", {"domain": domain,
                                        "startTimeFilter": {"oldestDate": since.replace(tzinfo=None)}}),
        ("CountOpenWorkflowExecutions", {"domain": domain, "startTimeFilter": {"oldestDate": since.timestamp()}}),
    ]:
        expected, got = slow.call(operation, **params), fast.call(operation, **params)
        assert got == expected, operation
    history = fast.call("GetWorkflowExecutionHistory", domain=domain, execution=execution)["events"]
    reference = slow.call("GetWorkflowExecutionHistory", domain=domain, execution=execution)["events"]
    for mine, theirs in zip(history, reference):
        assert isinstance(mine["eventTimestamp"], datetime) and mine["eventTimestamp"].tzinfo is not None
        assert mine["eventTimestamp"] == theirs["eventTimestamp"]
    listed = fast.call("ListOpenWorkflowExecutions", domain=domain, startTimeFilter={"oldestDate": since})
    assert [info["execution"]["workflowId"] for info in listed["executionInfos"]] == ["wf-1"]
    assert fast.calls["GetWorkflowExecutionHistory"] == 2


def test_faults_and_bad_parameters_map_to_the_same_errors(service):
    slow, fast = _pair(service.endpoint)
    fast.call("ListDomains", registrationStatus="REGISTERED")
    assert fast.direct
    for client in (slow, fast):
        with pytest.raises(errors.UnknownResourceError) as fault:
            client.call("DescribeDomain", name="no-such-domain")
        assert fault.value.code == "UnknownResourceFault" and fault.value.operation == "DescribeDomain"
        with pytest.raises(errors.ValidationError) as unknown:
            client.call("DescribeDomain", name="x", colour="blue")
        assert unknown.value.code == "ParamValidationError" and "colour" in str(unknown.value)
        with pytest.raises(errors.ValidationError) as missing:
            client.call("DescribeDomain")
        assert missing.value.code == "ParamValidationError" and "name" in str(missing.value)
        with pytest.raises(errors.ValidationError) as timestamp:
            client.call("ListOpenWorkflowExecutions", domain="x", startTimeFilter={"oldestDate": "not a date"})
        assert timestamp.value.code == "ParamValidationError"
    # Below the top level the service checks the request against the same model.
    domain = f"d-{uuid.uuid4().hex[:8]}"
    fast.ensure_domain(domain, retention_days=1)
    with pytest.raises(errors.ValidationError) as deep:
        fast.call("ListOpenWorkflowExecutions", domain=domain, startTimeFilter={"oldestDate": 0},
                  typeFilter={"name": 5})
    assert deep.value.code == "ValidationException"


def test_a_connection_the_service_closed_while_idle_is_replaced_without_a_retry(caplog):
    service = LocalService(db_path=":memory:", host="127.0.0.1", port=0, idle_timeout=0.2).start()
    try:
        swf = connect(service.endpoint)
        swf.call("ListDomains", registrationStatus="REGISTERED")
        assert swf.direct
        swf.call("ListDomains", registrationStatus="REGISTERED")  # now on a kept-alive connection
        time.sleep(0.6)  # the service closes it
        with caplog.at_level(logging.WARNING, logger="greenflow.swf"):
            assert "domainInfos" in swf.call("ListDomains", registrationStatus="REGISTERED")
        assert not [r for r in caplog.records if "ListDomains" in r.getMessage()]
        swf.close()
    finally:
        service.stop()


def test_an_abandoned_long_poll_closes_its_connection_so_no_task_is_swallowed(service):
    swf = connect(service.endpoint)
    domain = f"d-{uuid.uuid4().hex[:8]}"
    swf.ensure_domain(domain, retention_days=1)
    assert swf.direct
    poll = gevent.spawn(swf.call, "PollForDecisionTask", domain=domain, taskList={"name": "tl"})
    gevent.sleep(0.3)  # the poll waits at the service
    poll.kill()
    gevent.sleep(0.2)
    _start(swf, domain, "wf-abandoned")
    # Had the killed poll's connection stayed open, the service would have handed it the task.
    task = swf.poll_for_decision_task(domain=domain, taskList={"name": "tl"})
    assert task is not None and task["workflowExecution"]["workflowId"] == "wf-abandoned"


def test_a_service_that_checks_signatures_gets_signed_direct_calls(monkeypatch):
    service = LocalService(db_path=":memory:", host="127.0.0.1", port=0,
                           credentials={"AKIDGREENFLOWTEST": "right-secret"}).start()
    try:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDGREENFLOWTEST")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "right-secret")
        swf = connect(service.endpoint)
        swf.ensure_domain("signed", retention_days=1)
        assert swf.direct
        assert swf.call("DescribeDomain", name="signed")["domainInfo"]["name"] == "signed"
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
        forger = connect(service.endpoint, session=botocore.session.Session())
        codes = []
        for _ in range(2):  # the first through botocore (it names the service), then direct
            with pytest.raises(errors.SWFError) as refused:
                forger.call("DescribeDomain", name="signed")
            codes.append(refused.value.code)
        assert forger.direct and codes[0] == codes[1] and codes[0]
    finally:
        service.stop()


def test_extension_headers_reach_the_service_on_both_transports(service):
    # The result waiter's held listing: a client on either path is woken by the service.
    for transport in ("botocore", "direct"):
        swf = connect(service.endpoint, transport=transport)
        domain = f"d-{uuid.uuid4().hex[:8]}"
        swf.ensure_domain(domain, retention_days=1)
        oldest = datetime.now(timezone.utc) - timedelta(minutes=1)
        started = time.monotonic()
        with swf.headers({"x-greenflow-wait-closed": "0.5 0"}):
            swf.call("ListClosedWorkflowExecutions", domain=domain, closeTimeFilter={"oldestDate": oldest})
        assert time.monotonic() - started >= 0.4, transport  # held: nothing closed


# ----------------------------------------------------------------- transport failures


def _botocore_client(endpoint, **config):
    session = botocore.session.get_session()
    return session.create_client("swf", region_name="us-east-1", endpoint_url=endpoint,
                                 aws_access_key_id="x", aws_secret_access_key="y",
                                 config=Config(retries={"max_attempts": 0}, **config))


class _FakeServer:
    """A loopback TCP server answering each request with ``reply`` (or nothing)."""

    def __init__(self, reply: bytes | None):
        self.reply = reply
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.endpoint = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)
            conn.recv(65536)
            if self.reply is not None:
                conn.sendall(self.reply)
                conn.close()

    def close(self):
        self.sock.close()
        for conn in self.connections:
            conn.close()


@pytest.mark.parametrize("reply, complete", [
    (b"", False), (b"garbage\r\n\r\n", False), (b"HTTP/1.1 200 OK\r\n\r\n{}", False),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}", False),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]", True),  # whole, but not an SWF answer
])
def test_a_broken_answer_is_a_closed_connection_error(reply, complete):
    server = _FakeServer(reply)
    try:
        transport = DirectTransport(_botocore_client(server.endpoint))
        with pytest.raises(ConnectionClosedError):
            transport.call("DescribeDomain", {"name": "x"})
        assert len(transport._idle) == complete  # a connection whose answer was cut is never reused
    finally:
        server.close()


def test_no_answer_is_a_read_timeout_and_no_service_a_connection_error():
    server = _FakeServer(None)
    try:
        transport = DirectTransport(_botocore_client(server.endpoint, read_timeout=0.3))
        with pytest.raises(ReadTimeoutError):
            transport.call("DescribeDomain", {"name": "x"})
    finally:
        server.close()
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    transport = DirectTransport(_botocore_client(f"http://127.0.0.1:{port}"))
    with pytest.raises(EndpointConnectionError):
        transport.call("DescribeDomain", {"name": "x"})


def test_the_direct_path_refuses_endpoints_it_cannot_speak_to():
    with pytest.raises(ValueError, match="plain HTTP"):
        DirectTransport(_botocore_client("https://swf.us-east-1.amazonaws.com"))
    with pytest.raises(ValueError, match="transport must be one of"):
        connect("http://127.0.0.1:1", transport="carrier-pigeon")


def test_a_forked_child_opens_its_own_connections(service):
    # A connection kept alive by the parent must not be shared: both processes would read
    # each other's answers from one socket.
    swf = connect(service.endpoint)
    swf.call("ListDomains", registrationStatus="REGISTERED")  # through botocore: names the service
    swf.call("ListDomains", registrationStatus="REGISTERED")
    assert swf.direct and len(swf._direct._idle) == 1
    kept = swf._direct._idle[0]
    pid = os.fork()
    if pid == 0:  # the child: exit status 0 only if its calls work, none on the parent's connection
        status = 1
        try:
            for _ in range(20):
                assert "domainInfos" in swf.call("ListDomains", registrationStatus="REGISTERED")
            status = 0 if kept not in swf._direct._idle else 2
        finally:
            os._exit(status)
    for _ in range(20):
        swf.call("ListDomains", registrationStatus="REGISTERED")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
