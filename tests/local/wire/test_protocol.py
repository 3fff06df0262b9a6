"""The local service's wire edge: SWF's JSON 1.0 protocol over HTTP, and LocalService's life.

Most tests run the HTTP layer on a small fake core (``core_factory=``), so they test the
protocol alone: what reaches the core, how answers and faults go back, what happens with
broken HTTP. A few run the real core (RegisterDomain/DescribeDomain round trip).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import greenflow
from greenflow.local import LocalService
from greenflow.local._local_service import load_credentials
from greenflow.local.wire._faults import unknown_resource

#: The Content-Type every SWF client sends (botocore's for SWF's JSON 1.0 protocol).
JSON_10 = "application/x-amz-json-1.0"

SESSION = botocore.session.get_session()
#: The repository root, so subprocesses import this greenflow.
REPO = os.path.dirname(os.path.dirname(os.path.abspath(greenflow.__file__)))


def make_client(endpoint: str, **config):
    """A botocore swf client as the brief's tests use it (no retries, long-poll timeout)."""
    options = {"read_timeout": 70, "retries": {"max_attempts": 0}}
    options.update(config)
    return SESSION.create_client("swf", region_name="us-east-1", endpoint_url=endpoint,
                                 aws_access_key_id="AKIDTEST", aws_secret_access_key="secret",
                                 config=Config(**options))


class FakeCore:
    """Stands in for Operations: records requests, answers canned results, can block a poll."""

    def __init__(self):
        self.requests: list[tuple[str, dict]] = []
        self.threads: set[int] = set()
        self.started = False
        self.stopped = False
        self.closed = False
        self.advanced: list[float] = []
        self.poll_release = None  # a gevent Event, made in the service thread

    def start(self):
        self.started = True

    def handle(self, operation, params):
        self.threads.add(threading.get_native_id())
        self.requests.append((operation, params))
        if operation == "DescribeDomain":
            if params["name"] == "missing":
                raise unknown_resource(f"Unknown domain: {params['name']}")
            if params["name"] == "boom":
                raise RuntimeError("a bug in the core")
            if params["name"] == "unencodable":
                return {"domainInfo": object()}
            return {"domainInfo": {"name": params["name"], "status": "REGISTERED",
                                   "arn": "arn:aws:swf:us-east-1:000000000000:/domain/" + params["name"]},
                    "configuration": {"workflowExecutionRetentionPeriodInDays": "1"}}
        if operation == "PollForActivityTask":
            from gevent.event import Event

            self.poll_release = Event()
            self.poll_release.wait()
            return {"taskToken": "", "startedEventId": 0}
        if operation == "CountPendingActivityTasks":
            return {"count": 3, "truncated": False}
        return {}

    def advance_time(self, seconds):
        self.threads.add(threading.get_native_id())
        self.advanced.append(seconds)

    def stop(self):
        self.stopped = True
        if self.poll_release is not None:
            self.poll_release.set()

    def close(self):
        self.stop()
        self.closed = True


@pytest.fixture
def fake():
    return FakeCore()


@pytest.fixture
def service(fake):
    with LocalService(core_factory=lambda: fake) as svc:
        yield svc


@pytest.fixture
def client(service):
    return make_client(service.endpoint)


def raw_request(service, body: bytes | None, *, target: str | None = "SimpleWorkflowService.DescribeDomain",
                method: str = "POST", path: str = "/", headers: dict | None = None):
    """One request over http.client; returns (status, headers, decoded JSON or raw body)."""
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
    try:
        all_headers = {"Content-Type": "application/x-amz-json-1.0"}
        if target is not None:
            all_headers["X-Amz-Target"] = target
        all_headers.update(headers or {})
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        data = response.read()
        try:
            decoded = json.loads(data)
        except ValueError:
            decoded = data
        return response.status, {k.lower(): v for k, v in response.getheaders()}, decoded
    finally:
        connection.close()


# --------------------------------------------------------------------------- through botocore


def test_botocore_call_reaches_the_core_and_gets_the_answer(service, client, fake):
    answer = client.describe_domain(name="orders")
    assert answer["domainInfo"]["name"] == "orders"
    assert answer["configuration"] == {"workflowExecutionRetentionPeriodInDays": "1"}
    assert fake.requests == [("DescribeDomain", {"name": "orders"})]
    metadata = answer["ResponseMetadata"]
    assert metadata["HTTPStatusCode"] == 200
    assert metadata["RequestId"]
    assert metadata["HTTPHeaders"]["content-type"] == "application/x-amz-json-1.0"


def test_fault_from_the_core_reaches_botocore_as_its_code(client):
    with pytest.raises(ClientError) as caught:
        client.describe_domain(name="missing")
    error = caught.value.response
    assert error["Error"]["Code"] == "UnknownResourceFault"
    assert "missing" in error["Error"]["Message"]
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unexpected_exception_is_a_500_and_the_server_keeps_serving(client, caplog):
    with pytest.raises(ClientError) as caught:
        client.describe_domain(name="boom")
    assert caught.value.response["Error"]["Code"] == "InternalFailure"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert client.describe_domain(name="after")["domainInfo"]["name"] == "after"


def test_unencodable_answer_is_a_500_not_a_broken_connection(client):
    with pytest.raises(ClientError) as caught:
        client.describe_domain(name="unencodable")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert client.describe_domain(name="after")["domainInfo"]["name"] == "after"


def test_validation_error_never_reaches_the_core(service, fake):
    client = make_client(service.endpoint, parameter_validation=False)
    with pytest.raises(ClientError) as caught:
        client.describe_domain(name="x" * 257)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "'name'" in caught.value.response["Error"]["Message"]
    assert fake.requests == []


def test_many_calls_share_one_keep_alive_connection(service, fake):
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
    try:
        for index in range(5):
            connection.request("POST", "/", body=json.dumps({"name": f"d{index}"}),
                               headers={"X-Amz-Target": "SimpleWorkflowService.DescribeDomain",
                                        "Content-Type": JSON_10})
            response = connection.getresponse()
            assert response.status == 200
            assert json.loads(response.read())["domainInfo"]["name"] == f"d{index}"
    finally:
        connection.close()
    assert len(fake.requests) == 5


def test_requests_run_in_the_service_thread_not_the_callers(client, fake):
    client.describe_domain(name="d")
    assert fake.threads and threading.get_native_id() not in fake.threads


def test_advance_time_runs_in_the_service_thread(service, fake):
    service.advance_time(30)
    service.advance_time(0.5)
    assert fake.advanced == [30, 0.5]
    assert threading.get_native_id() not in fake.threads


def test_advance_time_raises_what_the_core_raises(service):
    def fail(core):
        raise ValueError("nope")

    with pytest.raises(ValueError, match="nope"):
        service.call(fail)


# --------------------------------------------------------------------------- raw HTTP


def test_answer_headers(service):
    status, headers, body = raw_request(service, b'{"name": "d"}')
    assert status == 200
    assert headers["content-type"] == "application/x-amz-json-1.0"
    assert headers["x-amzn-requestid"]
    assert int(headers["content-length"]) == len(json.dumps(body, separators=(",", ":")))


def test_answers_are_compact_json(service):
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
    try:
        connection.request("POST", "/", body=b'{"name": "d"}',
                           headers={"X-Amz-Target": "SimpleWorkflowService.DescribeDomain", "Content-Type": JSON_10})
        raw = connection.getresponse().read()
    finally:
        connection.close()
    assert b": " not in raw and b", " not in raw


def test_request_ids_differ(service):
    ids = {raw_request(service, b'{"name": "d"}')[1]["x-amzn-requestid"] for _ in range(3)}
    assert len(ids) == 3


@pytest.mark.parametrize("content_type", [JSON_10, "application/json", "Application/X-Amz-JSON-1.0",
                                          "application/x-amz-json-1.0; charset=UTF-8"])
def test_json_content_types_are_served(service, fake, content_type):
    status, _, body = raw_request(service, b'{"name": "d"}', headers={"Content-Type": content_type})
    assert status == 200
    assert body["domainInfo"]["name"] == "d"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-amz-json-1.1",
                                          "application/x-www-form-urlencoded", None])
def test_other_content_types_are_not_swf_requests(service, fake, content_type):
    # As Amazon SWF's JSON front end: 404 UnknownOperationException (evidence in _http.py).
    headers = {"Content-Type": content_type} if content_type else {}
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
    try:
        connection.request("POST", "/", body=b'{"name": "d"}',
                           headers={"X-Amz-Target": "SimpleWorkflowService.DescribeDomain", **headers})
        response = connection.getresponse()
        status, body = response.status, json.loads(response.read())
    finally:
        connection.close()
    assert status == 404
    assert body["__type"] == "com.amazon.coral.service#UnknownOperationException"
    assert ("Missing Content-Type" if content_type is None else repr(content_type)) in body["message"]
    assert fake.requests == []


def test_a_request_without_a_body_needs_no_content_type(service, fake):
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
    try:
        connection.request("POST", "/", headers={"X-Amz-Target": "SimpleWorkflowService.ListDomains",
                                                 "Content-Length": "0"})
        response = connection.getresponse()
        status = response.status
        response.read()
    finally:
        connection.close()
    assert status != 404  # reached validation: registrationStatus is required
    assert fake.requests == []


def test_malformed_json_is_a_serialization_fault(service, fake):
    status, _, body = raw_request(service, b"{not json")
    assert status == 400
    assert body["__type"].endswith("#SerializationException")
    assert fake.requests == []


@pytest.mark.parametrize("payload", [b"[1, 2]", b"null", b'"text"', b"\xff\xfe", b'{"name": NaN}',
                                     b'{"name": "d"} trailing', b"[" * 100_000])
def test_json_that_is_not_an_object_is_a_serialization_fault(service, payload):
    status, _, body = raw_request(service, payload)
    assert status == 400
    assert body["__type"].endswith("#SerializationException")


def test_empty_body_is_an_empty_request(service, fake):
    status, _, body = raw_request(service, b"", target="SimpleWorkflowService.DescribeDomain")
    assert status == 400
    assert body["__type"] == "com.amazon.coral.validate#ValidationException"
    assert "'name'" in body["message"]


def test_unknown_operation(service, fake):
    status, _, body = raw_request(service, b"{}", target="SimpleWorkflowService.LaunchRocket")
    assert status == 400
    assert body["__type"] == "com.amazon.coral.service#UnknownOperationException"
    assert fake.requests == []


@pytest.mark.parametrize("target", [None, "", "DynamoDB_20120810.ListTables", "SimpleWorkflowService.",
                                    "simpleworkflowservice.DescribeDomain"])
def test_bad_or_missing_target(service, target):
    status, _, body = raw_request(service, b'{"name": "d"}', target=target)
    assert status == 400
    assert body["__type"].endswith("#UnknownOperationException")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_wrong_method_is_a_4xx(service, method):
    status, _, body = raw_request(service, b"{}" if method != "GET" else None, method=method)
    assert status == 405
    assert "__type" in body


def test_wrong_path_is_a_4xx(service):
    status, _, body = raw_request(service, b'{"name": "d"}', path="/other")
    assert status == 404
    assert "__type" in body


def test_body_over_one_megabyte_is_refused(service, fake):
    big = json.dumps({"name": "d", "pad": "x" * (1024 * 1024)}).encode()
    status, headers, body = raw_request(service, big)
    assert status == 413
    assert body["__type"].endswith("#RequestEntityTooLargeException")
    assert headers.get("connection") == "close"
    assert fake.requests == []
    # The server goes on serving.
    assert raw_request(service, b'{"name": "d"}')[0] == 200


def test_body_over_one_megabyte_with_expect_100_continue_is_refused_unread(service, fake):
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: SimpleWorkflowService.DescribeDomain\r\n"
                     b"Content-Type: application/x-amz-json-1.0\r\n"
                     b"Expect: 100-continue\r\nContent-Length: 50000000\r\n\r\n")
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"RequestEntityTooLargeException" in answer
    assert fake.requests == []


def test_expect_100_continue_gets_a_go_ahead(service, fake):
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        body = b'{"name": "d"}'
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: SimpleWorkflowService.DescribeDomain\r\n"
                     b"Content-Type: application/x-amz-json-1.0\r\n"
                     b"Expect: 100-continue\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body + b"")
        sock.shutdown(socket.SHUT_WR)
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert fake.requests == [("DescribeDomain", {"name": "d"})]


def test_chunked_body_is_refused(service):
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: SimpleWorkflowService.DescribeDomain\r\n"
                     b"Content-Type: application/x-amz-json-1.0\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 411 ")


@pytest.mark.parametrize("garbage", [
    b"NONSENSE\r\n\r\n",
    b"POST / HTTP/1.1\r\nno colon here\r\n\r\n",
    b"POST / HTTP/1.1\r\nContent-Length: ten\r\n\r\n",
    b"POST / HTTP/1.1\r\nContent-Length: \xb2\r\n\r\n",
    b"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    b"POST / SPDY/3\r\n\r\n",
])
def test_broken_http_is_a_400_and_the_server_survives(service, garbage):
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        sock.sendall(garbage)
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert raw_request(service, b'{"name": "d"}')[0] == 200


def test_oversized_headers_are_refused(service):
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\n" + b"X-Pad: " + b"p" * 70_000 + b"\r\n\r\n")
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431 ")


def test_client_vanishing_mid_request_does_not_hurt(service):
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost")
    assert raw_request(service, b'{"name": "d"}')[0] == 200


def test_http_1_0_closes_after_the_answer(service):
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        body = b'{"name": "d"}'
        sock.sendall(b"POST / HTTP/1.0\r\nX-Amz-Target: SimpleWorkflowService.DescribeDomain\r\n"
                     b"Content-Type: application/x-amz-json-1.0\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        answer = _read_all(sock)  # returns because the server closed the connection
    assert answer.startswith(b"HTTP/1.1 200 ")


def test_connection_close_is_honoured(service):
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        body = b'{"name": "d"}'
        sock.sendall(b"POST / HTTP/1.1\r\nConnection: close\r\n"
                     b"Content-Type: application/x-amz-json-1.0\r\nX-Amz-Target: SimpleWorkflowService.DescribeDomain"
                     b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        answer = _read_all(sock)
    assert b"Connection: close" in answer


def test_pipelined_requests_are_answered_in_order(service):
    body = b'{"name": "%d"}'
    requests = b"".join(
        b"POST / HTTP/1.1\r\nX-Amz-Target: SimpleWorkflowService.DescribeDomain\r\n"
        b"Content-Type: application/x-amz-json-1.0\r\nContent-Length: "
        + str(len(body % i)).encode() + b"\r\n\r\n" + body % i for i in range(3))
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        sock.sendall(requests + b"POST / HTTP/1.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        answer = _read_all(sock)
    assert answer.count(b"HTTP/1.1 200 ") == 3
    assert answer.index(b'"name":"0"') < answer.index(b'"name":"1"') < answer.index(b'"name":"2"')


def test_unknown_members_are_ignored_and_nulls_dropped(service, fake):
    status, _, _ = raw_request(service, b'{"name": "d", "somethingNew": [1], "other": null}')
    assert status == 200
    assert fake.requests == [("DescribeDomain", {"name": "d", "somethingNew": [1]})]


def test_timestamps_reach_the_core_as_epoch_floats(service, fake):
    body = json.dumps({"domain": "d", "startTimeFilter": {"oldestDate": "2026-01-01T00:00:00Z",
                                                          "latestDate": 1767225660}})
    status, _, _ = raw_request(service, body.encode(), target="SimpleWorkflowService.ListOpenWorkflowExecutions")
    assert status == 200
    _, params = fake.requests[-1]
    assert params["startTimeFilter"] == {"oldestDate": 1767225600.0, "latestDate": 1767225660.0}
    assert all(type(value) is float for value in params["startTimeFilter"].values())


def test_botocore_datetimes_reach_the_core_as_epoch_floats(client, fake):
    import datetime

    client.count_open_workflow_executions(
        domain="d", startTimeFilter={"oldestDate": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)})
    assert fake.requests[-1][1]["startTimeFilter"]["oldestDate"] == 1767225600.0


def _read_all(sock) -> bytes:
    chunks = []
    while True:
        data = sock.recv(65536)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


# --------------------------------------------------------------------------- life of a LocalService


def test_start_returns_listening_and_stop_closes_everything(fake):
    service = LocalService(core_factory=lambda: fake)
    service.start()
    try:
        assert service.running
        assert service.endpoint == f"http://127.0.0.1:{service.port}"
        assert fake.started
        socket.create_connection(("127.0.0.1", service.port), timeout=5).close()
    finally:
        service.stop()
    assert not service.running
    assert fake.stopped and fake.closed
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", service.port), timeout=5).close()
    service.stop()  # a second stop does nothing


def test_stop_answers_waiting_long_polls(fake):
    service = LocalService(core_factory=lambda: fake).start()
    client = make_client(service.endpoint)
    answers = []
    try:
        poller = threading.Thread(target=lambda: answers.append(
            client.poll_for_activity_task(domain="d", taskList={"name": "t"})))
        poller.start()
        deadline = time.monotonic() + 10
        while not any(op == "PollForActivityTask" for op, _ in fake.requests):
            assert time.monotonic() < deadline, "the poll never reached the core"
            time.sleep(0.01)
    finally:
        service.stop()
    poller.join(10)
    assert not poller.is_alive()
    assert answers and answers[0]["taskToken"] == ""


def test_idle_keep_alive_connections_do_not_hold_up_stop(fake):
    service = LocalService(core_factory=lambda: fake).start()
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
    try:
        connection.request("POST", "/", body=b'{"name": "d"}',
                           headers={"X-Amz-Target": "SimpleWorkflowService.DescribeDomain", "Content-Type": JSON_10})
        connection.getresponse().read()
        started = time.monotonic()
        service.stop()
        assert time.monotonic() - started < 3
    finally:
        connection.close()
        service.stop()


def test_serve_forever_in_another_thread_stops_when_asked():
    from gevent import monkey

    start_new_thread = monkey.get_original("_thread", "start_new_thread")
    allocate_lock = monkey.get_original("_thread", "allocate_lock")
    service = LocalService(core_factory=FakeCore)
    ready, done = allocate_lock(), allocate_lock()
    ready.acquire()
    done.acquire()

    def run():
        try:
            service.serve_forever(ready=lambda _: ready.release())
        finally:
            done.release()

    start_new_thread(run, ())
    try:
        assert ready.acquire(timeout=30), "serve_forever never became ready"
        assert make_client(service.endpoint).describe_domain(name="d")["domainInfo"]["name"] == "d"
        service.advance_time(5)
    finally:
        service.stop()
    assert done.acquire(timeout=30), "serve_forever did not return after stop()"
    assert not service.running


def test_context_manager_and_restart(fake):
    with LocalService(core_factory=FakeCore) as service:
        first = service.endpoint
        assert make_client(first).describe_domain(name="d")["domainInfo"]["name"] == "d"
    with service:
        assert make_client(service.endpoint).describe_domain(name="d")["domainInfo"]["name"] == "d"
    assert not service.running


def test_start_twice_is_an_error(service):
    with pytest.raises(RuntimeError, match="already running"):
        service.start()


def test_port_in_use_is_a_clear_error(service):
    other = LocalService(port=service.port, core_factory=FakeCore)
    with pytest.raises(OSError):
        other.start()
    assert not other.running


def test_core_that_fails_to_build_fails_start():
    def broken():
        raise RuntimeError("cannot build")

    service = LocalService(core_factory=broken)
    with pytest.raises(RuntimeError, match="cannot build"):
        service.start()
    assert not service.running
    service.stop()


def test_calls_on_a_stopped_service_are_clear_errors():
    service = LocalService(core_factory=FakeCore)
    with pytest.raises(RuntimeError, match="not started"):
        service.endpoint
    with pytest.raises(RuntimeError, match="not running"):
        service.advance_time(1)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::"])
def test_non_loopback_address_needs_credentials(host):
    with pytest.raises(ValueError, match="loopback"):
        LocalService(host=host, core_factory=FakeCore)
    LocalService(host=host, credentials={"AKID": "secret"}, core_factory=FakeCore)  # allowed, not started


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_addresses_need_no_credentials(host):
    LocalService(host=host, core_factory=FakeCore)


@pytest.mark.parametrize("options", [{"port": -1}, {"port": 70000}, {"port": "80"}, {"poll_timeout": 0},
                                     {"poll_timeout": -1}, {"synchronous": "SOMETIMES"}])
def test_bad_options_are_refused(options):
    with pytest.raises(ValueError):
        LocalService(core_factory=FakeCore, **options)


def test_works_without_monkey_patching(tmp_path):
    """The suite monkey-patches; an unpatched program must work too (own hub, real thread)."""
    script = tmp_path / "unpatched.py"
    script.write_text(
        "import sys, botocore.session\n"
        "from botocore.config import Config\n"
        "import gevent.monkey\n"
        "from greenflow.local import LocalService\n"
        "class Core:\n"
        "    def handle(self, op, params):\n"
        "        return {'count': 7, 'truncated': False}\n"
        "with LocalService(core_factory=Core) as service:\n"
        "    client = botocore.session.get_session().create_client('swf', region_name='us-east-1',\n"
        "        endpoint_url=service.endpoint, aws_access_key_id='a', aws_secret_access_key='b',\n"
        "        config=Config(retries={'max_attempts': 0}))\n"
        "    count = client.count_pending_activity_tasks(domain='d', taskList={'name': 't'})['count']\n"
        "assert not gevent.monkey.is_module_patched('socket')\n"
        "print(count)\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [
                                REPO, os.environ.get("PYTHONPATH")]))))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "7"


# --------------------------------------------------------------------------- credentials files


def test_credentials_from_a_json_file(tmp_path):
    path = tmp_path / "creds.json"
    path.write_text('{"AKID1": "s1", "AKID2": "s2"}')
    assert load_credentials(path) == {"AKID1": "s1", "AKID2": "s2"}


def test_credentials_from_a_lines_file(tmp_path):
    path = tmp_path / "creds"
    path.write_text("# comment\nAKID1 s1\n\nAKID2=s2\n  AKID3 = s3  \n")
    assert load_credentials(str(path)) == {"AKID1": "s1", "AKID2": "s2", "AKID3": "s3"}


@pytest.mark.parametrize("text", ["", "# only a comment\n", "AKID\n", "a b c\n", "{not json", "[1]",
                                  '{"AKID": 5}', "AKID=\n"])
def test_malformed_credentials_files_are_clear_errors(tmp_path, text):
    path = tmp_path / "creds"
    path.write_text(text)
    with pytest.raises(ValueError, match=str(path)):
        load_credentials(path)


def test_missing_credentials_file_is_an_error(tmp_path):
    with pytest.raises(OSError):
        LocalService(credentials=tmp_path / "absent", core_factory=FakeCore)


# --------------------------------------------------------------------------- the real core


def test_register_and_describe_a_domain_on_the_real_core():
    with LocalService() as service:
        client = make_client(service.endpoint)
        client.register_domain(name="orders", workflowExecutionRetentionPeriodInDays="1", description="d")
        answer = client.describe_domain(name="orders")
        assert answer["domainInfo"]["name"] == "orders"
        assert answer["domainInfo"]["status"] == "REGISTERED"
        assert answer["configuration"]["workflowExecutionRetentionPeriodInDays"] == "1"
        with pytest.raises(ClientError) as caught:
            client.describe_domain(name="absent")
        assert caught.value.response["Error"]["Code"] == "UnknownResourceFault"


def test_real_core_data_survives_a_restart(tmp_path):
    db = str(tmp_path / "swf.db")
    with LocalService(db) as service:
        make_client(service.endpoint).register_domain(name="kept", workflowExecutionRetentionPeriodInDays="2")
    with LocalService(db) as service:
        answer = make_client(service.endpoint).describe_domain(name="kept")
    assert answer["configuration"]["workflowExecutionRetentionPeriodInDays"] == "2"


def test_real_core_empty_long_poll_and_virtual_time():
    from greenflow.local import VirtualClock

    clock = VirtualClock(start=1_767_225_600.0)
    with LocalService(clock=clock, poll_timeout=0.2) as service:
        client = make_client(service.endpoint)
        client.register_domain(name="d", workflowExecutionRetentionPeriodInDays="1")
        answer = client.poll_for_decision_task(domain="d", taskList={"name": "t"})
        assert answer["taskToken"] == ""
        service.advance_time(60)
        assert clock.now() == 1_767_225_660.0


# --------------------------------------------------------------------------- the handler itself


def test_accepted_sockets_get_tcp_nodelay():
    """Without TCP_NODELAY, botocore stalls ~40 ms per call (Nagle + delayed ACK)."""
    import gevent

    from greenflow.local.wire._http import SWFProtocolHandler

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        client_sock = socket.create_connection(listener.getsockname(), timeout=30)
        server_sock, address = listener.accept()
        assert server_sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        handler = gevent.spawn(SWFProtocolHandler(FakeCore()), server_sock, address)
        try:
            body = b'{"name": "d"}'
            client_sock.sendall(b"POST / HTTP/1.1\r\nX-Amz-Target: SimpleWorkflowService.DescribeDomain\r\n"
                                b"Content-Type: application/x-amz-json-1.0\r\n"
                                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            assert client_sock.recv(65536).startswith(b"HTTP/1.1 200 ")
            assert server_sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        finally:
            client_sock.close()
            handler.join(10)
            handler.kill()
