"""SWF's JSON protocol spoken directly to a greenflow local service: the client's fast path.

Why it exists: a call through botocore costs about 1.3 ms of client CPU (its event hooks,
request and response objects, urllib3 and ``http.client`` with its e-mail header parser,
shape-walking response parsing), while the request itself costs about 0.07 ms to build,
send and decode. A one-activity workflow makes about eight calls and a ten-activity chain
about forty-five, so on the embedded service botocore was most of a workflow's client CPU
and of its latency. Amazon SWF keeps botocore: there the network dominates, and botocore's
credential chain, signing and endpoint rules are the point.

What it keeps from botocore, so both paths behave alike:

* the **service model**: operation names and ``X-Amz-Target``, which members are
  timestamps in requests and answers (answers get aware ``datetime`` objects equal to
  botocore's, in UTC), the top-level members each operation accepts and requires;
* botocore's **exceptions** (``ClientError`` with the same ``Error``/``ResponseMetadata``
  shape, ``EndpointConnectionError``, ``ConnectTimeoutError``, ``ReadTimeoutError``,
  ``ConnectionClosedError``, ``ParamValidationError``), so :mod:`._errors` maps and retries
  them the same way;
* the botocore client's **request signer**, for an endpoint that checks signatures (a
  ``greenflow server --credentials``); the embedded service is not signed.

What it leaves out: botocore's own retries (greenflow's :mod:`._retry` decides), its event
hooks, and validation below the top level of a request (the service checks every request
against the same model and answers ``ValidationException``).

The HTTP side is a pool of kept-alive HTTP/1.1 connections: one request at a time per
connection, answers read by ``Content-Length`` (a greenflow service always sends it). A
connection is closed, never reused, when a call is interrupted (a killed poll greenlet):
the service then sees the hang-up and withdraws the long poll.
"""

from __future__ import annotations

import calendar
import copy
import collections
import json
import os
import socket
import time
from datetime import datetime, timezone
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from botocore import UNSIGNED
from botocore.awsrequest import AWSRequest
from botocore.exceptions import (ClientError, ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError,
                                 ParamValidationError, ReadTimeoutError)
from botocore.utils import parse_to_aware_datetime

from .. import __version__

__all__ = ["DirectTransport", "USER_AGENT"]

#: The User-Agent of calls on the direct path.
USER_AGENT = f"greenflow/{__version__} direct"

#: Idle connections kept for reuse; beyond that an answered connection is closed.
MAX_IDLE_CONNECTIONS = 1000
#: A connection idle longer than this is not reused: the service closes idle ones at 60 s,
#: and a request sent just as it does would find the connection gone.
MAX_IDLE_SECONDS = 45.0
#: The longest status or header line read from an answer.
MAX_LINE = 65536

_JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
# ASCII with \u escapes, as botocore writes it: a lone surrogate reaches the service (which
# rejects it) instead of failing to encode here.
_ENCODE = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
_DECODE = json.JSONDecoder().decode

# A timestamp member (plan leaf); structures, lists and maps are ("s"|"l"|"m", inner).
_TIMESTAMP = "t"
Plan = Any


def _timestamp_plan(shape: Any, depth: int = 0) -> Plan | None:
    """Where the timestamps are inside ``shape``: a tree of only the branches that hold one."""
    if shape is None or depth > 32:
        return None
    kind = shape.type_name
    if kind == "timestamp":
        return _TIMESTAMP
    if kind == "structure":
        members = {name: plan for name, member in shape.members.items()
                   if (plan := _timestamp_plan(member, depth + 1)) is not None}
        return ("s", members) if members else None
    if kind == "list":
        inner = _timestamp_plan(shape.member, depth + 1)
        return ("l", inner) if inner is not None else None
    if kind == "map":
        inner = _timestamp_plan(shape.value, depth + 1)
        return ("m", inner) if inner is not None else None
    return None


def _convert(value: Any, plan: Plan, convert: Callable[[Any], Any]) -> Any:
    """``value`` with every timestamp the plan names passed through ``convert`` (in place)."""
    if plan is _TIMESTAMP:
        return convert(value)
    kind, inner = plan
    if kind == "s":
        if isinstance(value, dict):
            for name, member in inner.items():
                found = value.get(name)
                if found is not None:
                    value[name] = _convert(found, member, convert)
    elif kind == "l":
        if isinstance(value, list):
            for index, item in enumerate(value):
                value[index] = _convert(item, inner, convert)
    elif isinstance(value, dict):
        for key, item in value.items():
            value[key] = _convert(item, inner, convert)
    return value


def _epoch_seconds(value: Any) -> Any:
    """A request timestamp as botocore's JSON serializer writes it: epoch seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    aware = parse_to_aware_datetime(value)  # datetimes (naive means UTC), ISO strings, epochs
    seconds = calendar.timegm(aware.utctimetuple())
    return (seconds * 10**6 + aware.microsecond) / 10**6 if aware.microsecond else seconds


class _Operation:
    """What the direct path needs of one operation, derived once from the service model."""

    __slots__ = ("name", "target", "host", "members", "required", "input_plan", "output_plan", "head")

    def __init__(self, model: Any, host: str, user_agent: str):
        self.name: str = model.name
        self.target = f"{model.metadata['targetPrefix']}.{model.name}"
        self.host = host
        shape = model.input_shape
        self.members: frozenset[str] = frozenset(shape.members) if shape is not None else frozenset()
        self.required: tuple[str, ...] = tuple(shape.required_members) if shape is not None else ()
        self.input_plan = _timestamp_plan(shape)
        self.output_plan = _timestamp_plan(model.output_shape)
        # The request head up to the body's length: the same bytes for every call.
        self.head = (f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: {_JSON_CONTENT_TYPE}\r\n"
                     f"X-Amz-Target: {self.target}\r\n"
                     f"User-Agent: {user_agent}\r\n").encode("latin-1")

    def check(self, params: Mapping[str, Any]) -> None:
        """The top-level checks botocore makes before sending (deeper ones are the service's)."""
        problems = [f"Unknown parameter in input: {name!r}, must be one of: {', '.join(sorted(self.members))}"
                    for name in params if name not in self.members]
        problems += [f"Invalid type for parameter {name}, value: None" for name, value in params.items()
                     if value is None and name in self.members]
        problems += [f"Missing required parameter in input: {name!r}" for name in self.required
                     if name not in params]
        if problems:
            raise ParamValidationError(report="\n".join(problems))


class _Connection:
    """One kept-alive HTTP/1.1 connection to the service."""

    __slots__ = ("sock", "reader", "idle_since")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.reader = sock.makefile("rb", buffering=65536)
        self.idle_since = 0.0

    def close(self) -> None:
        for closable in (self.reader, self.sock):
            try:
                closable.close()
            except OSError:
                pass


class _Stale(Exception):
    """A reused connection turned out closed before the service read the request."""


class DirectTransport:
    """Calls SWF operations on a greenflow local service without botocore's per-call machinery.

    Built from a botocore ``swf`` client (its endpoint, model, timeouts and signer);
    :meth:`call` takes and returns what that client's methods do, ``ResponseMetadata``
    (status and lower-cased headers) included. Safe to share between greenlets and threads.
    """

    def __init__(self, botocore_client: Any, user_agent: str = USER_AGENT):
        meta = botocore_client.meta
        self._botocore = botocore_client  # its signer refers back to it weakly
        self.endpoint: str = meta.endpoint_url
        if not self.speaks_to(self.endpoint):
            raise ValueError(f"the direct transport speaks plain HTTP to a local service, not {self.endpoint!r}")
        parts = urlsplit(self.endpoint)
        assert parts.hostname is not None
        self._address = (parts.hostname, parts.port or 80)
        host = parts.netloc
        model = meta.service_model
        self._operations = {name: _Operation(model.operation_model(name), host, user_agent)
                            for name in model.operation_names}
        config = meta.config
        self._connect_timeout = float(config.connect_timeout or 60)
        self._read_timeout = float(config.read_timeout or 60)
        self._keepalive = bool(getattr(config, "tcp_keepalive", False))
        signer = getattr(botocore_client, "_request_signer", None)
        unsigned = signer is None or getattr(signer, "signature_version", None) in (None, UNSIGNED)
        self._signer = None if unsigned else signer
        # Aware datetimes, equal to botocore's; in UTC rather than botocore's local zone,
        # whose dateutil implementation costs more than the rest of decoding an answer.
        self._to_datetime: Callable[[Any], datetime] = lambda value: datetime.fromtimestamp(value, timezone.utc)
        self._idle: collections.deque[_Connection] = collections.deque()
        self._pid = os.getpid()

    def __repr__(self) -> str:
        return f"<DirectTransport {self.endpoint}>"

    @staticmethod
    def speaks_to(endpoint: str) -> bool:
        """Whether the direct path can reach ``endpoint``: plain HTTP only (a service behind
        TLS keeps botocore's client, which brings the certificate handling)."""
        parts = urlsplit(endpoint)
        return parts.scheme == "http" and bool(parts.hostname)

    def call(self, name: str, params: dict[str, Any], headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Call operation ``name`` with ``params``; the parsed answer, or botocore's exception."""
        operation = self._operations[name]
        operation.check(params)
        if operation.input_plan is not None:
            # Rare (the listing filters): copied, since the caller's dicts must stay as given.
            try:
                params = _convert(copy.deepcopy(params), operation.input_plan, _epoch_seconds)
            except (TypeError, ValueError) as error:
                raise ParamValidationError(report=f"Invalid timestamp in input: {error}") from None
        try:
            body = _ENCODE(params).encode("utf-8")
        except (TypeError, ValueError) as error:
            raise ParamValidationError(report=f"the request cannot be written as JSON: {error}") from None
        request = self._request(operation, body, headers)
        status, answer_headers, payload = self._exchange(request)
        return self._answer(operation, status, answer_headers, payload)

    def shape_as_answer(self, name: str, answer: dict[str, Any]) -> dict[str, Any]:
        """``answer`` (a greenflow extension's member, decoded JSON) made what an answer of
        operation ``name`` is: its timestamps become datetimes. Changes it in place."""
        plan = self._operations[name].output_plan
        if plan is not None:
            _convert(answer, plan, self._to_datetime)
        return answer

    def close(self) -> None:
        """Close every idle connection (calls in flight close theirs when they end)."""
        while self._idle:
            self._idle.popleft().close()

    # ------------------------------------------------------------------ request

    def _request(self, operation: _Operation, body: bytes, headers: Mapping[str, str] | None) -> bytes:
        if self._signer is None:
            extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items()) if headers else ""
            return b"%s%sContent-Length: %d\r\n\r\n%s" % (operation.head, extra.encode("latin-1"), len(body), body)
        # A service that checks signatures: botocore's signer for this client signs the
        # very headers sent (its SigV4, its credentials).
        request = AWSRequest(method="POST", url=self.endpoint.rstrip("/") + "/", data=body, headers={
            "Content-Type": _JSON_CONTENT_TYPE,
            "X-Amz-Target": operation.target, **(headers or {})})
        self._signer.sign(operation.name, request)
        lines = "".join(f"{name}: {value}\r\n" for name, value in request.headers.items()
                        if name.lower() not in ("host", "content-length"))
        head = f"POST / HTTP/1.1\r\nHost: {operation.host}\r\n{lines}Content-Length: {len(body)}\r\n\r\n"
        return head.encode("latin-1") + body

    # ------------------------------------------------------------------ connections

    def _checkout(self) -> tuple[_Connection, bool]:
        """An idle connection (reused: True) or a new one (False)."""
        if self._pid != os.getpid():  # forked: the parent's sockets are not ours to use
            self._idle.clear()
            self._pid = os.getpid()
        now = time.monotonic()
        while True:
            try:
                connection = self._idle.pop()  # the most recently used: the least likely closed
            except IndexError:
                break
            if now - connection.idle_since < MAX_IDLE_SECONDS:
                return connection, True
            connection.close()
        return self._connect(), False

    def _connect(self) -> _Connection:
        try:
            sock = socket.create_connection(self._address, timeout=self._connect_timeout)
        except TimeoutError as error:
            raise ConnectTimeoutError(endpoint_url=self.endpoint, error=error) from None
        except OSError as error:
            raise EndpointConnectionError(endpoint_url=self.endpoint, error=error) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._keepalive:  # as botocore does with ``tcp_keepalive``: long polls idle for a minute
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        return _Connection(sock)

    def _checkin(self, connection: _Connection) -> None:
        if len(self._idle) >= MAX_IDLE_CONNECTIONS:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        self._idle.append(connection)

    def _exchange(self, request: bytes) -> tuple[int, dict[str, str], bytes]:
        """Send ``request`` and read its answer, on a kept-alive connection when one is idle."""
        connection, reused = self._checkout()
        try:
            return self._exchange_on(connection, request, reused)
        except _Stale:
            # The service closed that idle connection before reading the request: nothing
            # was done, so the request goes once more on a new connection.
            return self._exchange_on(self._connect(), request, False)

    def _exchange_on(self, connection: _Connection, request: bytes, reused: bool) -> tuple[int, dict[str, str], bytes]:
        done = False
        keep = False
        try:
            connection.sock.settimeout(self._read_timeout)
            try:
                # A request almost always fits the socket buffer: one send() does it, without
                # the getsockopt() call gevent's sendall() makes for every write.
                sent = connection.sock.send(request)
                if sent < len(request):
                    connection.sock.sendall(memoryview(request)[sent:])
                status_line = connection.reader.readline(MAX_LINE)
            except (ConnectionResetError, BrokenPipeError) as error:
                if reused:
                    raise _Stale() from error
                raise ConnectionClosedError(endpoint_url=self.endpoint) from None
            if not status_line:
                if reused:
                    raise _Stale()
                raise ConnectionClosedError(endpoint_url=self.endpoint)
            status, headers, payload, keep = self._read_answer(connection, status_line)
            done = True
            return status, headers, payload
        except TimeoutError:
            raise ReadTimeoutError(endpoint_url=self.endpoint) from None
        except OSError:
            raise ConnectionClosedError(endpoint_url=self.endpoint) from None
        finally:
            # Interrupted (a killed greenlet, a timeout, a malformed answer): never reuse a
            # connection whose answer was not read to the end.
            if done and keep:
                self._checkin(connection)
            else:
                connection.close()

    def _read_answer(self, connection: _Connection, status_line: bytes) -> tuple[int, dict[str, str], bytes, bool]:
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            raise ConnectionClosedError(endpoint_url=self.endpoint)
        status = int(parts[1])
        headers: dict[str, str] = {}
        reader = connection.reader
        while True:
            line = reader.readline(MAX_LINE)
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise ConnectionClosedError(endpoint_url=self.endpoint)
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = headers.get("content-length")
        if length is None or not length.isdigit():
            raise ConnectionClosedError(endpoint_url=self.endpoint)  # a greenflow service always says
        payload = reader.read(int(length))
        if len(payload) < int(length):
            raise ConnectionClosedError(endpoint_url=self.endpoint)
        keep = parts[0] == b"HTTP/1.1" and headers.get("connection", "").lower() != "close"
        return status, headers, payload, keep

    # ------------------------------------------------------------------ answer

    def _answer(self, operation: _Operation, status: int, headers: dict[str, str], payload: bytes) -> dict[str, Any]:
        metadata: dict[str, Any] = {"HTTPStatusCode": status, "HTTPHeaders": headers, "RetryAttempts": 0}
        if "x-amzn-requestid" in headers:
            metadata["RequestId"] = headers["x-amzn-requestid"]
        if status >= 300:
            raise ClientError(self._fault(status, payload, metadata), operation.name)
        try:
            parsed = _DECODE(payload.decode("utf-8")) if payload.strip() else {}
        except ValueError:
            raise ConnectionClosedError(endpoint_url=self.endpoint) from None
        if not isinstance(parsed, dict):
            raise ConnectionClosedError(endpoint_url=self.endpoint)
        if operation.output_plan is not None:
            _convert(parsed, operation.output_plan, self._to_datetime)
        parsed["ResponseMetadata"] = metadata
        return parsed

    @staticmethod
    def _fault(status: int, payload: bytes, metadata: dict[str, Any]) -> dict[str, Any]:
        """A fault answer as botocore's JSON parser shapes it."""
        try:
            body = _DECODE(payload.decode("utf-8")) if payload.strip() else {}
        except ValueError:
            body = {"message": payload.decode("utf-8", "replace")}
        if not isinstance(body, dict):
            body = {"message": str(body)}
        code = str(body.get("__type") or status)
        code = code.split(":", 1)[0].rsplit("#", 1)[-1]
        return {"Error": {"Message": str(body.get("message", body.get("Message", ""))), "Code": code},
                "ResponseMetadata": metadata}
