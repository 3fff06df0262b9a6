"""Error mapping and the retry policy of greenflow.swf."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import ClientError

from greenflow import errors
from greenflow.swf import NO_RETRY, RetryPolicy, connect, map_client_error


class ScriptedServer:
    """A tiny SWF lookalike on 127.0.0.1 answering a scripted list of (status, body) replies."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.targets = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.targets.append(self.headers.get("X-Amz-Target"))
                status, body = server.replies.pop(0) if server.replies else (200, {})
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


THROTTLED = (400, {"__type": "com.amazon.coral.availability#ThrottlingException", "message": "Rate exceeded"})
UNKNOWN = (400, {"__type": "com.amazonaws.swf.base.model#UnknownResourceFault", "message": "Unknown domain: d"})
SERVER_ERROR = (500, {"__type": "InternalFailure", "message": "oops"})
DOMAINS = (200, {"domainInfos": [{"name": "d", "status": "REGISTERED"}]})


def _client(endpoint, delays, attempts=5):
    policy = RetryPolicy(max_attempts=attempts, base=0.5, cap=4.0, sleep=delays.append, random=lambda: 1.0)
    return connect(endpoint, retry=policy)


def test_throttling_is_retried_with_backoff_then_succeeds():
    delays = []
    with ScriptedServer([THROTTLED, THROTTLED, DOMAINS]) as server:
        result = _client(server.endpoint, delays).call("ListDomains", registrationStatus="REGISTERED")
    assert result == {"domainInfos": [{"name": "d", "status": "REGISTERED"}]}
    assert server.targets == ["SimpleWorkflowService.ListDomains"] * 3
    assert delays == [0.5, 1.0]  # exponential: base * 2**(attempt-1), jitter pinned to its upper bound


def test_server_errors_are_retried():
    delays = []
    with ScriptedServer([SERVER_ERROR, DOMAINS]) as server:
        assert _client(server.endpoint, delays).call("list_domains", registrationStatus="REGISTERED")
    assert len(delays) == 1


def test_retries_are_bounded():
    delays = []
    with ScriptedServer([THROTTLED] * 10) as server:
        with pytest.raises(errors.ThrottlingError) as info:
            _client(server.endpoint, delays, attempts=3).call("ListDomains", registrationStatus="REGISTERED")
    assert len(server.targets) == 3
    assert delays == [0.5, 1.0]
    assert info.value.code == "ThrottlingException"
    assert isinstance(info.value.__cause__, ClientError)


def test_backoff_is_capped():
    policy = RetryPolicy(base=1.0, cap=3.0, random=lambda: 1.0)
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 2.0, 3.0, 3.0, 3.0]
    jittered = RetryPolicy(base=1.0, cap=3.0, random=lambda: 0.25)
    assert jittered.delay(2) == 0.5


def test_faults_are_not_retried_and_map_to_greenflow_errors():
    delays = []
    with ScriptedServer([UNKNOWN, DOMAINS]) as server:
        with pytest.raises(errors.UnknownResourceError) as info:
            _client(server.endpoint, delays).call("DescribeDomain", name="d")
    assert len(server.targets) == 1 and delays == []
    error = info.value
    assert error.code == "UnknownResourceFault"
    assert error.operation == "DescribeDomain"
    assert "Unknown domain: d" in str(error)
    assert isinstance(error.__cause__, ClientError)


def test_connection_refused_becomes_service_unavailable():
    with ScriptedServer([]) as server:
        endpoint = server.endpoint
    delays = []
    with pytest.raises(errors.ServiceUnavailableError) as info:
        _client(endpoint, delays, attempts=2).call("ListDomains", registrationStatus="REGISTERED")
    assert info.value.operation == "ListDomains"
    assert len(delays) == 1


def test_unknown_operation_is_a_clear_error():
    with ScriptedServer([]) as server:
        with pytest.raises(ValueError, match="NoSuchThing"):
            connect(server.endpoint, retry=NO_RETRY).call("NoSuchThing")


@pytest.mark.parametrize("code, cls", sorted(errors.SWF_FAULTS.items()))
def test_every_fault_code_maps(code, cls):
    error = ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
                        "StartWorkflowExecution")
    mapped = map_client_error(error, "StartWorkflowExecution")
    assert type(mapped) is cls and mapped.code == code


def test_unknown_fault_code_maps_to_base_class():
    error = ClientError({"Error": {"Code": "Weird", "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
                        "X")
    assert type(map_client_error(error, "X")) is errors.SWFError


def test_unknown_resource_from_real_server(swf):
    with pytest.raises(errors.UnknownResourceError) as info:
        swf.call("DescribeDomain", name="no-such-domain-xyz")
    assert info.value.code == "UnknownResourceFault"
    assert info.value.operation == "DescribeDomain"
    assert isinstance(info.value.__cause__, ClientError)


def test_missing_credentials_is_a_clear_error(monkeypatch, tmp_path):
    import botocore.session
    from botocore.credentials import CredentialResolver

    session = botocore.session.get_session()
    session.register_component("credential_provider", CredentialResolver(providers=[]))
    client = connect(region="us-east-1", session=session, retry=NO_RETRY)
    with pytest.raises(errors.SWFError, match="no AWS credentials") as info:
        client.call("ListDomains", registrationStatus="REGISTERED")
    assert info.value.code == "NoCredentials" and info.value.operation == "ListDomains"
