"""Fuzzing the local service: thousands of bad requests, each answered with a 4xx fault.

Cases are generated (seeded, so a failure reproduces) from botocore's SWF service model for
all 39 operations, plus abuse of the wire itself:

* **model cases**: a request skeleton per operation (its required members, some optional
  ones), with one member, at any depth, made invalid in one way its shape forbids: the
  wrong JSON type, too long or too short, out of range, not in the enum, breaking an SWF
  name/duration/priority rule, ``null`` where required, a lone UTF-16 surrogate, or
  hundreds of levels of nesting; or a required member left out;
* **semantic cases**: well-formed requests that name what does not exist (an unknown
  domain, a forged task token, ARN or page token), which get past validation into the
  service's core;
* **wire cases**: broken HTTP (method, path, target, headers, lengths, chunking) and broken
  JSON (invalid UTF-8, non-objects, NaN, huge numbers, deep nesting).

Every answer must be a JSON fault with a ``__type`` and a 4xx status; afterwards the service
must still answer, and the state set up before (a domain, its types and tags, an open
execution with its history and pending decision task) must be unchanged.
"""

from __future__ import annotations

import copy
import http.client
import json
import random
import socket
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.model import Shape

from greenflow.local import LocalService, VirtualClock

from .rawhttp import read_answer

SEED = 92026
#: How many of the (shuffled) model cases are sent; semantic and wire cases come on top.
MODEL_CASES = 3200
HOME = "fuzz-home"
MODEL = botocore.session.get_session().get_service_model("swf")
DEEP = 400  # levels of nesting: deeper than any recursive walk survives with a small stack
LONE_SURROGATES = ("a\ud800b", "\udfff", "x" * 10 + "\udbff")

# ------------------------------------------------------------------------------ values


def nested(depth: int, kind: str) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": value} if kind == "object" else [value]
    return value


def safe_text(rng: random.Random, low: int | None, high: int | None) -> str:
    """A string any SWF name, id or data member accepts (its length within bounds)."""
    size = max(low or 1, min(high or 12, rng.randint(4, 12)))
    return "fz" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(size - 2))


def valid_value(shape: Shape, rng: random.Random, depth: int = 0) -> Any:
    """A value of ``shape`` as the model describes it (SWF's extra rules aside)."""
    kind = shape.type_name
    if kind == "structure":
        return skeleton(shape, rng, depth + 1)
    if kind == "list":
        return [valid_value(shape.member, rng, depth + 1)]
    if kind == "map":
        return {}
    if kind == "string":
        if shape.enum:
            return rng.choice(shape.enum)
        if shape.name.startswith("DurationInSeconds"):
            return str(rng.randint(1, 3600))
        if shape.name == "DurationInDays":
            return "1"
        if shape.name == "TaskPriority":
            return str(rng.randint(-5, 5))
        return safe_text(rng, shape.metadata.get("min"), shape.metadata.get("max"))
    if kind in ("integer", "long"):
        low, high = shape.metadata.get("min", 0), shape.metadata.get("max", 100)
        return rng.randint(low, min(high, low + 100))
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "timestamp":
        return 1_767_225_600.0 + rng.randint(0, 10**6)
    if kind in ("float", "double"):
        return rng.random()
    return "Zm9v"  # blob: base64


def skeleton(shape: Shape, rng: random.Random, depth: int = 0) -> dict:
    """A structure with its required members and (near the top) some optional ones."""
    value = {}
    for name, member in shape.members.items():
        if name in shape.required_members or (depth < 3 and rng.random() < 0.4):
            value[name] = valid_value(member, rng, depth)
    if shape.name == "Decision":
        # Only the attributes of its own type, so each decision reaches its own handler.
        kind = value["decisionType"]
        value = {"decisionType": kind}
        member = kind[0].lower() + kind[1:] + "DecisionAttributes"
        value[member] = skeleton(shape.members[member], rng, depth + 1)
    return value


def invalid_values(shape: Shape, member_name: str) -> Iterator[tuple[str, Any]]:
    """``(label, value)`` pairs that ``shape`` forbids, whatever else the request holds."""
    kind = shape.type_name
    deep = [("deep-object", nested(DEEP, "object")), ("deep-list", nested(DEEP, "list"))]
    if kind == "string":
        yield from [("number", 5), ("bool", True), ("list", ["x"]), ("object", {"x": "y"}), *deep]
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if high is not None and high <= 40_000:
            yield "too-long", "x" * (high + 1)
        if low:
            yield "empty", ""
        if shape.enum:
            yield "enum", "NOT_" + shape.enum[0]
        for index, text in enumerate(LONE_SURROGATES):
            yield f"surrogate-{index}", text
        if shape.name.startswith("DurationInSeconds") or shape.name == "DurationInDays":
            yield from [("duration-text", "soon"), ("duration-negative", "-5"), ("duration-float", "1.5")]
        if shape.name == "TaskPriority":
            yield from [("priority-big", "2147483648"), ("priority-text", "high")]
        if member_name in ("name", "workflowId", "activityId", "timerId", "domain") or shape.name == "Name":
            yield from [("name-colon", "a:b"), ("name-arn", "arn"), ("name-control", "a\u0001b")]
    elif kind in ("integer", "long"):
        yield from [("string", "5"), ("float", 1.5), ("bool", False), ("list", [1]), ("huge", 2**70),
                    ("negative-huge", -(2**70)), *deep]
        if "min" in shape.metadata:
            yield "below-min", shape.metadata["min"] - 1
        if "max" in shape.metadata:
            yield "above-max", shape.metadata["max"] + 1
    elif kind == "boolean":
        yield from [("string", "true"), ("number", 1), ("list", [True]), *deep]
    elif kind == "timestamp":
        yield from [("bool", True), ("text", "yesterday"), ("list", [1]), ("object", {"t": 1}), *deep]
    elif kind == "structure":
        yield from [("string", "x"), ("list", []), ("number", 3), ("deep-list", nested(DEEP, "list"))]
    elif kind == "list":
        yield from [("string", "x"), ("object", {}), ("number", 3), ("null-item", [None]),
                    ("deep-object", nested(DEEP, "object"))]
        if shape.metadata.get("max") is not None and shape.metadata["max"] < 1000:
            yield "too-many", [valid_value(shape.member, random.Random(0))] * (shape.metadata["max"] + 1)
    elif kind == "map":
        yield from [("string", "x"), ("list", []), *deep]
    else:
        yield from [("number", 5), *deep]


def member_paths(value: Any, shape: Shape, path: tuple = ()) -> Iterator[tuple[tuple, Shape, str]]:
    """Every member present in ``value``, at any depth: ``(path, shape, member name)``."""
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, item in value.items():
            member = shape.members[name]
            yield path + (name,), member, name
            yield from member_paths(item, member, path + (name,))
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            yield from member_paths(item, shape.member, path + (index,))


def replaced(request: dict, path: tuple, value: Any) -> dict:
    changed = copy.deepcopy(request)
    target = changed
    for step in path[:-1]:
        target = target[step]
    if value is _REMOVE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


_REMOVE = object()

# ------------------------------------------------------------------------------ cases


def model_cases(rng: random.Random) -> list[tuple[str, str, bytes]]:
    """``(operation, label, body)`` for every operation: one invalid member each."""
    cases = []
    for operation in sorted(MODEL.operation_names):
        shape = MODEL.operation_model(operation).input_shape
        for _ in range(2):  # two skeletons per operation: different optional members
            request = skeleton(shape, rng)
            if "domain" in request:
                request["domain"] = "fuzz-nowhere"  # never the home domain
            # The same request in the home domain: only a lone surrogate makes it invalid
            # there, so it must be refused before it gets anywhere near storage.
            at_home = dict(request, domain=HOME) if "domain" in request else None
            for path, member, name in member_paths(request, shape):
                for label, value in invalid_values(member, name):
                    cases.append((operation, f"{'.'.join(map(str, path))}:{label}", replaced(request, path, value)))
                    if at_home is not None and label.startswith("surrogate") and path != ("domain",):
                        cases.append((operation, f"home {'.'.join(map(str, path))}:{label}",
                                      replaced(at_home, path, value)))
            for name in shape.required_members:
                cases.append((operation, f"{name}:missing", replaced(request, (name,), _REMOVE)))
                cases.append((operation, f"{name}:null", replaced(request, (name,), None)))
            for name, member in shape.members.items():
                if name not in request:
                    for label, value in invalid_values(member, name):
                        cases.append((operation, f"{name}(added):{label}", replaced(request, (name,), value)))
    rng.shuffle(cases)
    return [(operation, label, json.dumps(body).encode()) for operation, label, body in cases]


def semantic_cases(rng: random.Random) -> list[tuple[str, str, bytes]]:
    """Well-formed requests naming what does not exist: they reach the service's core."""
    cases = []
    for operation in sorted(MODEL.operation_names):
        shape = MODEL.operation_model(operation).input_shape
        for index in range(6):
            request = skeleton(shape, rng)
            if "domain" in request:
                request["domain"] = f"fuzz-unknown-{index}"
            elif "taskToken" in request:
                request["taskToken"] = rng.choice(["AAAA", "not-a-token", "eyJ9", "x" * 1024, "=" * 40])
            elif "resourceArn" in request:
                request["resourceArn"] = rng.choice([
                    "arn:aws:swf:us-east-1:000000000000:/domain/fuzz-unknown",
                    f"arn:aws:swf:us-east-1:000000000000:/domain/{HOME}/extra", "arn", "x" * 1600])
            elif operation.endswith("Domain") and operation != "RegisterDomain":
                request["name"] = f"fuzz-unknown-{index}"
            elif operation in ("RegisterDomain", "ListDomains"):
                continue  # well-formed, these succeed
            else:
                raise AssertionError(f"{operation}: no way to make it name something unknown")
            cases.append((operation, "unknown", json.dumps(request).encode()))
            if "nextPageToken" in shape.members and "domain" in request:
                paged = dict(request, domain=HOME,
                             nextPageToken=rng.choice(["garbage", "eyJ9", "A" * 100, "x.y.z"]))
                if operation not in ("PollForDecisionTask",):
                    cases.append((operation, "forged-page-token", json.dumps(paged).encode()))
    return cases


def wire_cases() -> list[tuple[str, bytes]]:
    """``(label, raw request bytes)``: broken HTTP and broken JSON."""

    def http(body: bytes = b"{}", *, method: str = "POST", path: str = "/", version: str = "HTTP/1.1",
             target: str | None = "SimpleWorkflowService.ListDomains", headers: str = "",
             length: str | None = None) -> bytes:
        head = f"{method} {path} {version}\r\nHost: 127.0.0.1\r\n"
        if target is not None:
            head += f"X-Amz-Target: {target}\r\n"
        head += f"Content-Type: application/x-amz-json-1.0\r\nContent-Length: {length or len(body)}\r\n{headers}\r\n"
        return head.encode("latin-1") + body

    describe = "SimpleWorkflowService.DescribeDomain"
    return [
        ("method-get", http(method="GET")),
        ("method-delete", http(method="DELETE")),
        ("path", http(path="/other")),
        ("path-traversal", http(path="/../../etc/passwd")),
        ("no-target", http(target=None)),
        ("unknown-target", http(target="SimpleWorkflowService.DropDatabase")),
        ("other-service-target", http(target="DynamoDB_20120810.ListTables")),
        ("bare-prefix-target", http(target="SimpleWorkflowService.")),
        ("lowercase-target", http(target="simpleworkflowservice.listdomains")),
        ("not-json", http(b"{not json", target=describe)),
        ("json-array", http(b"[1,2]", target=describe)),
        ("json-string", http(b'"x"', target=describe)),
        ("json-number", http(b"42", target=describe)),
        ("json-null", http(b"null", target=describe)),
        ("invalid-utf8", http(b'{"name":"\xff\xfe"}', target=describe)),
        ("encoded-surrogate-bytes", http(b'{"name":"\xed\xa0\x80"}', target=describe)),
        ("escaped-surrogate", http(b'{"name":"a\\ud800"}', target=describe)),
        ("bom", http(b'\xef\xbb\xbf{"name":"x"}', target=describe)),
        ("nan", http(b'{"name":NaN}', target=describe)),
        ("infinity", http(b'{"maximumPageSize":Infinity,"registrationStatus":"REGISTERED"}')),
        ("huge-exponent", http(b'{"maximumPageSize":1e400,"registrationStatus":"REGISTERED"}')),
        ("huge-integer", http(b'{"maximumPageSize":' + b"9" * 5000 + b',"registrationStatus":"REGISTERED"}')),
        ("deep-arrays", http(b"[" * 100_000 + b"]" * 100_000, target=describe)),
        ("deep-objects", http(b'{"a":' * 50_000 + b"1" + b"}" * 50_000, target=describe)),
        ("deep-member", http(b'{"name":' + b'{"a":' * 330 + b"1" + b"}" * 331, target=describe)),
        ("bad-length", http(length="abc")),
        ("negative-length", http(length="-1")),
        ("two-lengths", http(headers="Content-Length: 2\r\n")),
        ("chunked", http(headers="Transfer-Encoding: chunked\r\n")),
        ("too-large", http(length=str(2 * 1024 * 1024))),
        ("huge-header", http(headers="X-Big: " + "a" * 70_000 + "\r\n")),
        ("bad-request-line", b"HELLO\r\n\r\n"),
        ("http2-version", http(version="HTTP/2.0")),
        ("header-without-colon", http(headers="Broken header\r\n")),
        ("header-folded", http(headers=" folded: yes\r\n")),
        ("binary-garbage", bytes(range(256)) + b"\r\n\r\n"),
    ]


# ------------------------------------------------------------------------------ the service


def make_client(service: LocalService):
    return botocore.session.get_session().create_client(
        "swf", region_name="us-east-1", endpoint_url=service.endpoint, aws_access_key_id="x",
        aws_secret_access_key="x", config=Config(retries={"max_attempts": 0}))


def set_up_home(swf) -> str:
    """A domain with types, a tag and an open execution with a pending decision task."""
    swf.register_domain(name=HOME, workflowExecutionRetentionPeriodInDays="1")
    swf.register_workflow_type(domain=HOME, name="wf", version="1", defaultTaskList={"name": "tl"},
                               defaultExecutionStartToCloseTimeout="3600", defaultTaskStartToCloseTimeout="60",
                               defaultChildPolicy="TERMINATE")
    swf.register_activity_type(domain=HOME, name="act", version="1")
    arn = swf.describe_domain(name=HOME)["domainInfo"]["arn"]
    swf.tag_resource(resourceArn=arn, tags=[{"key": "k", "value": "v"}])
    swf.start_workflow_execution(domain=HOME, workflowId="home-run", workflowType={"name": "wf", "version": "1"},
                                 input="in")
    return arn


def snapshot(swf, arn: str) -> dict:
    """Everything the fuzzing must not have changed."""
    def clean(answer: dict) -> dict:
        answer.pop("ResponseMetadata", None)
        return answer

    open_filter = {"oldestDate": 0}
    executions = clean(swf.list_open_workflow_executions(domain=HOME, startTimeFilter=open_filter))
    run_id = executions["executionInfos"][0]["execution"]["runId"]
    return {
        "domains": [clean(swf.list_domains(registrationStatus=status)) for status in ("REGISTERED", "DEPRECATED")],
        "domain": clean(swf.describe_domain(name=HOME)),
        "workflow types": clean(swf.list_workflow_types(domain=HOME, registrationStatus="REGISTERED")),
        "activity types": clean(swf.list_activity_types(domain=HOME, registrationStatus="REGISTERED")),
        "tags": clean(swf.list_tags_for_resource(resourceArn=arn)),
        "open": executions,
        "closed": clean(swf.count_closed_workflow_executions(domain=HOME, startTimeFilter=open_filter)),
        "history": clean(swf.get_workflow_execution_history(
            domain=HOME, execution={"workflowId": "home-run", "runId": run_id})),
        "decision tasks": clean(swf.count_pending_decision_tasks(domain=HOME, taskList={"name": "tl"})),
    }


def check_fault(case: str, status: int, content_type: str | None, body: bytes, failures: list) -> None:
    try:
        answer = json.loads(body)
    except ValueError:
        failures.append(f"{case}: {status}, not JSON: {body[:200]!r}")
        return
    if not 400 <= status < 500 or not isinstance(answer, dict) or not isinstance(answer.get("__type"), str) \
            or content_type != "application/x-amz-json-1.0":
        failures.append(f"{case}: {status} {content_type} {str(answer)[:300]}")


@pytest.fixture(scope="module")
def service():
    with LocalService(clock=VirtualClock(1_767_225_600.0), poll_timeout=0.05) as svc:
        yield svc


def test_every_bad_request_is_a_4xx_fault_and_changes_nothing(service):
    rng = random.Random(SEED)
    swf = make_client(service)
    arn = set_up_home(swf)
    before = snapshot(swf, arn)

    cases = model_cases(rng)[:MODEL_CASES] + semantic_cases(rng)
    assert len({operation for operation, _, _ in cases}) == len(MODEL.operation_names) == 39
    failures: list[str] = []
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
    try:
        for operation, label, body in cases:
            connection.request("POST", "/", body=body, headers={
                "X-Amz-Target": f"SimpleWorkflowService.{operation}",
                "Content-Type": "application/x-amz-json-1.0"})
            response = connection.getresponse()
            check_fault(f"{operation} {label}", response.status, response.getheader("Content-Type"),
                        response.read(), failures)
            if response.will_close:
                connection.close()
    finally:
        connection.close()

    for label, raw in wire_cases():
        with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
            try:
                sock.sendall(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the service answered and closed before reading it all
            status, headers, body = read_answer(sock)
            check_fault(f"wire {label}", status, headers.get("content-type"), body, failures)

    assert not failures, f"{len(failures)} of {len(cases)} answers were not 4xx faults:\n" + "\n".join(failures[:400])
    assert service.running
    assert snapshot(swf, arn) == before
