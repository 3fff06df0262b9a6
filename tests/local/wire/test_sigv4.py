"""SigV4 verification: what botocore signs passes, anything else gets AWS's auth fault."""

from __future__ import annotations

import hashlib
import http.client
import json
import time

import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from greenflow.local import LocalService
from greenflow.local.wire._faults import Fault
from greenflow.local.wire._sigv4 import SigV4Verifier

from ..rawhttp import post

KEY_ID, SECRET = "AKIDLOCALTEST", "local-secret-key"


def signed(body: bytes = b'{"name":"d"}', *, key_id: str = KEY_ID, secret: str = SECRET,
           region: str = "us-east-1", service: str = "swf", path: str = "/",
           target: str = "SimpleWorkflowService.DescribeDomain") -> tuple[str, dict, bytes]:
    """A request signed by botocore's own signer, as (target, lower-cased headers, body)."""
    request = AWSRequest(method="POST", url=f"http://127.0.0.1:8080{path}", data=body, headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target})
    SigV4Auth(Credentials(key_id, secret), service, region).add_auth(request)  # signs at the current time
    headers = {name.lower(): value for name, value in request.headers.items()}
    headers["host"] = "127.0.0.1:8080"
    return path, headers, body


def verifier(clock_offset: float = 0.0) -> SigV4Verifier:
    """A verifier whose wall clock is ``clock_offset`` seconds ahead of the real one."""
    return SigV4Verifier({KEY_ID: SECRET, "AKIDOTHER": "other"}, now=lambda: time.time() + clock_offset)


def fault_of(call) -> Fault:
    with pytest.raises(Fault) as caught:
        call()
    assert caught.value.namespace == "com.amazon.coral.service"
    return caught.value


# --------------------------------------------------------------------------- unit


def test_botocore_signature_is_accepted():
    target, headers, body = signed()
    assert verifier().verify("POST", target, headers, body) == KEY_ID


def test_any_known_key_and_any_region_is_accepted():
    target, headers, body = signed(key_id="AKIDOTHER", secret="other", region="eu-west-3")
    assert verifier().verify("POST", target, headers, body) == "AKIDOTHER"


def test_query_string_and_empty_body_are_signed_too():
    target, headers, body = signed(b"", path="/?b=2&a=1")
    assert verifier().verify("POST", target, headers, body) == KEY_ID


def test_unsigned_request():
    fault = fault_of(lambda: verifier().verify("POST", "/", {"host": "h"}, b"{}"))
    assert fault.code == "MissingAuthenticationTokenException"


def test_unknown_key_id():
    target, headers, body = signed(key_id="AKIDNOBODY")
    fault = fault_of(lambda: verifier().verify("POST", target, headers, body))
    assert fault.code == "UnrecognizedClientException"
    assert fault.message == "The security token included in the request is invalid."


def test_wrong_secret():
    target, headers, body = signed(secret="wrong")
    fault = fault_of(lambda: verifier().verify("POST", target, headers, body))
    assert fault.code == "InvalidSignatureException"
    assert "does not match" in fault.message


@pytest.mark.parametrize("tamper", ["body", "target", "date-header", "method", "path", "signature"])
def test_tampered_request(tamper):
    target, headers, body = signed()
    method = "POST"
    if tamper == "body":
        body = b'{"name":"e"}'
    elif tamper == "target":
        headers["x-amz-target"] = "SimpleWorkflowService.DeprecateDomain"
    elif tamper == "date-header":
        # Another second within the allowed skew, so only the signature can reject it.
        seconds = headers["x-amz-date"][-3:-1]
        headers["x-amz-date"] = headers["x-amz-date"][:-3] + ("01" if seconds != "01" else "02") + "Z"
    elif tamper == "method":
        method = "PUT"
    elif tamper == "path":
        target = "/other"
    elif tamper == "signature":
        headers["authorization"] = headers["authorization"][:-4] + "0000"
    fault = fault_of(lambda: verifier().verify(method, target, headers, body))
    assert fault.code == "InvalidSignatureException"


def signed_with_content_hash(body: bytes, declared: bytes) -> tuple[str, dict, bytes]:
    """A request whose signed ``X-Amz-Content-SHA256`` header declares ``declared``'s hash."""
    request = AWSRequest(method="POST", url="http://127.0.0.1:8080/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "SimpleWorkflowService.DescribeDomain",
        "X-Amz-Content-SHA256": hashlib.sha256(declared).hexdigest()})
    SigV4Auth(Credentials(KEY_ID, SECRET), "swf", "us-east-1").add_auth(request)
    headers = {name.lower(): value for name, value in request.headers.items()}
    headers["host"] = "127.0.0.1:8080"
    assert "x-amz-content-sha256" in headers["authorization"].split("SignedHeaders=")[1].split(",")[0]
    return "/", headers, body


def test_body_swapped_under_an_unsigned_content_hash_header_is_refused():
    # The attack: a captured signed request, its body replaced, plus an (unsigned)
    # X-Amz-Content-SHA256 naming the original body's hash. The body received is what counts.
    target, headers, original = signed()
    headers["x-amz-content-sha256"] = hashlib.sha256(original).hexdigest()
    fault = fault_of(lambda: verifier().verify("POST", target, headers, b'{"name":"evil"}'))
    assert fault.code == "InvalidSignatureException"


def test_unsigned_content_hash_header_is_refused_even_when_it_matches():
    target, headers, body = signed()
    headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    fault = fault_of(lambda: verifier().verify("POST", target, headers, body))
    assert fault.code == "InvalidSignatureException"
    assert "X-Amz-Content-SHA256" in fault.message


def test_signed_content_hash_header_that_matches_the_body_is_accepted():
    target, headers, body = signed_with_content_hash(b'{"name":"d"}', b'{"name":"d"}')
    assert verifier().verify("POST", target, headers, body) == KEY_ID


def test_signed_content_hash_header_that_does_not_match_the_body_is_refused():
    # Signed by the holder of the secret, but over another body than the one sent.
    target, headers, body = signed_with_content_hash(b'{"name":"evil"}', b'{"name":"d"}')
    fault = fault_of(lambda: verifier().verify("POST", target, headers, body))
    assert fault.code == "InvalidSignatureException"
    assert "X-Amz-Content-SHA256" in fault.message


def test_signed_header_missing_from_the_request():
    target, headers, body = signed()
    del headers["x-amz-target"]
    assert fault_of(lambda: verifier().verify("POST", target, headers, body)).code == "InvalidSignatureException"


def test_clock_skew_within_five_minutes_is_fine():
    target, headers, body = signed()
    for skew in (-290, 290):
        verifier(skew).verify("POST", target, headers, body)


def test_expired_signature():
    target, headers, body = signed()
    fault = fault_of(lambda: verifier(310).verify("POST", target, headers, body))
    assert fault.code == "InvalidSignatureException"
    assert fault.message.startswith("Signature expired: ")


def test_signature_from_the_future():
    target, headers, body = signed()
    fault = fault_of(lambda: verifier(-310).verify("POST", target, headers, body))
    assert fault.code == "InvalidSignatureException"
    assert fault.message.startswith("Signature not yet current: ")


def test_wrong_service_in_scope():
    target, headers, body = signed(service="dynamodb")
    assert fault_of(lambda: verifier().verify("POST", target, headers, body)).code == "InvalidSignatureException"


@pytest.mark.parametrize("authorization", [
    "Basic dXNlcjpwYXNz",
    "AWS4-HMAC-SHA256",
    "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/swf/aws4_request",
    "AWS4-HMAC-SHA256 Credential=AKID/20260101, SignedHeaders=host, Signature=00",
    "AWS4-HMAC-SHA256 Credential=, SignedHeaders=host, Signature=00",
])
def test_malformed_authorization_header(authorization):
    target, headers, body = signed()
    headers["authorization"] = authorization
    assert fault_of(lambda: verifier().verify("POST", target, headers, body)).code == "IncompleteSignatureException"


@pytest.mark.parametrize("date", [None, "yesterday", "2026-01-01T00:00:00Z"])
def test_missing_or_malformed_date(date):
    target, headers, body = signed()
    if date is None:
        del headers["x-amz-date"]
    else:
        headers["x-amz-date"] = date
    assert fault_of(lambda: verifier().verify("POST", target, headers, body)).code == "IncompleteSignatureException"


@pytest.mark.parametrize("credentials", [{}, {"": "s"}, {"k": ""}, {"k": 5}])
def test_bad_credentials_are_refused(credentials):
    with pytest.raises(ValueError):
        SigV4Verifier(credentials)


# --------------------------------------------------------------------------- over HTTP


class Core:
    def __init__(self):
        self.requests = []

    def handle(self, operation, params):
        self.requests.append(operation)
        return {"count": 1, "truncated": False}


@pytest.fixture
def secured():
    core = Core()
    with LocalService(credentials={KEY_ID: SECRET}, core_factory=lambda: core) as service:
        yield service, core


def client(endpoint, key_id=KEY_ID, secret=SECRET, **config):
    options = {"read_timeout": 70, "retries": {"max_attempts": 0}}
    options.update(config)
    return botocore.session.get_session().create_client(
        "swf", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id=key_id,
        aws_secret_access_key=secret, config=Config(**options))


def call(swf_client):
    return swf_client.count_pending_decision_tasks(domain="d", taskList={"name": "t"})


def test_correctly_signed_client_is_served(secured):
    service, core = secured
    assert call(client(service.endpoint))["count"] == 1
    assert core.requests == ["CountPendingDecisionTasks"]


@pytest.mark.parametrize("key_id, secret, code", [
    (KEY_ID, "wrong-secret", "InvalidSignatureException"),
    ("AKIDUNKNOWN", SECRET, "UnrecognizedClientException"),
])
def test_wrongly_signed_client_is_refused(secured, key_id, secret, code):
    service, core = secured
    with pytest.raises(ClientError) as caught:
        call(client(service.endpoint, key_id, secret))
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert core.requests == []


def test_unsigned_client_is_refused(secured):
    from botocore import UNSIGNED

    service, core = secured
    with pytest.raises(ClientError) as caught:
        call(client(service.endpoint, signature_version=UNSIGNED))
    assert caught.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"
    assert core.requests == []


def test_raw_unsigned_request_gets_the_wire_fault(secured):
    service, _ = secured
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
    try:
        connection.request("POST", "/", body=b'{"domain":"d","taskList":{"name":"t"}}', headers={
            "X-Amz-Target": "SimpleWorkflowService.CountPendingDecisionTasks", "Content-Type": "application/x-amz-json-1.0"})
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 400
    assert body["__type"] == "com.amazon.coral.service#MissingAuthenticationTokenException"


def test_without_credentials_unsigned_requests_are_served():
    from botocore import UNSIGNED

    core = Core()
    with LocalService(core_factory=lambda: core) as service:
        assert call(client(service.endpoint, signature_version=UNSIGNED))["count"] == 1


def test_credentials_file_secures_the_service(tmp_path):
    path = tmp_path / "credentials"
    path.write_text(f"{KEY_ID} {SECRET}\n")
    with LocalService(credentials=str(path), core_factory=Core) as service:
        assert call(client(service.endpoint))["count"] == 1
        with pytest.raises(ClientError):
            call(client(service.endpoint, secret="nope"))


def test_body_swap_attack_registers_nothing_over_http():
    """Sign RegisterDomain for ``sig-legit``, send ``sig-evil`` with the original body's hash
    in ``X-Amz-Content-SHA256``: refused, and no domain is registered."""
    legit = json.dumps({"name": "sig-legit", "workflowExecutionRetentionPeriodInDays": "1"}).encode()
    evil = json.dumps({"name": "sig-evil", "workflowExecutionRetentionPeriodInDays": "1"}).encode()
    with LocalService(credentials={KEY_ID: SECRET}) as service:
        _, headers, _ = signed(legit, target="SimpleWorkflowService.RegisterDomain")
        headers["x-amz-content-sha256"] = hashlib.sha256(legit).hexdigest()
        status, answer = post(service.port, evil, headers)
        assert status == 400
        assert answer["__type"] == "com.amazon.coral.service#InvalidSignatureException"
        domains = client(service.endpoint).list_domains(registrationStatus="REGISTERED")["domainInfos"]
        assert domains == []
