"""The local SWF service's HTTP edge: SWF's JSON 1.0 protocol on a small gevent server.

SWF is one endpoint: every call is ``POST /`` with a JSON body and the operation in the
``X-Amz-Target: SimpleWorkflowService.<Operation>`` header; answers are JSON with
``Content-Type: application/x-amz-json-1.0``; faults are ``{"__type": "<ns>#<Code>",
"message": ...}`` with a 4xx/5xx status, which botocore turns into ``ClientError``.

Each request goes: HTTP parse → method, path, Content-Type and target checks → SigV4 (when
credentials are configured) → JSON parse → validation against botocore's model → the
core's ``handle(operation, params)`` → JSON answer. Every failure on the way is a fault
answer; an unexpected exception in the core is logged and answered as HTTP 500
``InternalFailure``, and the connection goes on serving.

How long a client may take to send a request, how long an idle keep-alive connection
stays open and how many connections there may be is :mod:`._connections`' job; none of
it applies while a request is being answered, so long polls are never cut.

Why not ``gevent.pywsgi``: SWF needs none of WSGI, and a hand-rolled HTTP/1.1 loop over
``StreamServer`` costs less per request. What matters for latency:

* ``TCP_NODELAY`` on every accepted socket, and each answer written with one
  ``send`` (head and body together): otherwise Nagle's algorithm and the client's delayed ACK stall every
  botocore call by ~40 ms;
* keep-alive, so botocore's connection pool reuses one connection per client thread.

Long polls block their connection's greenlet inside ``handle``. A client that hangs up
meanwhile (worker stopped, process killed) must not be handed a task it will never read:
while a ``PollFor*`` request waits, an event-loop watcher reads the connection, and on EOF or
a reset kills the poll with ``GreenletExit`` at its wait point, which removes its waiter
from the task list without taking a task (see :meth:`SWFProtocolHandler._poll_watched`);
and a poll woken by a task first asks whether its client is still there
(:func:`peer_hung_up`), so a hang-up in the same turn of the event loop is not missed.
Every answer carries ``x-greenflow-service: local/<version>``, so clients can tell this
service (which cancels abandoned polls safely) from Amazon SWF (which does not).
"""

from __future__ import annotations

import itertools
import json
import logging
import select
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import gevent
from gevent import monkey
from gevent.event import Event

from ... import __version__
from ..._extensions import CLOSE_WAIT_HEADER, LOCAL_EXTENSION_TARGET, SERVICE_HEADER
from .._close_wait import parse_close_wait
from .._waiting import ClientGone, before_blocking, client_gone, wakes
from . import _model
from ._connections import ConnectionLimits, ConnectionRegistry
from ._emulation import AWSEmulation
from ._faults import COMMON_NAMESPACE, Fault
from ._json import encode_answer as _encode
from ._sigv4 import SigV4Verifier
from ._validation import RequestValidator, default_validator

#: The core's name for the extension operation (see ``LOCAL_EXTENSION_TARGET``).
EXTENSION_OPERATION = "GreenflowDescribeTaskLists"

log = logging.getLogger("greenflow.local")

#: SWF's request size limit: larger bodies are refused without being read.
MAX_BODY_BYTES = 1024 * 1024
#: The most bytes a request line plus headers may take.
MAX_HEAD_BYTES = 64 * 1024
CONTENT_TYPE = "application/x-amz-json-1.0"
#: Media types a request body may be sent as; anything else is not an SWF request.
#: What Amazon SWF does, as far as the evidence goes: its JSON 1.0 front end (AWS "Coral",
#: shared with DynamoDB) routes on the Content-Type. A body sent as another type, or with
#: none, is answered HTTP 404 UnknownOperationException: DynamoDB answers a JSON 1.0 call
#: sent as ``application/x-amz-json-1.1`` with a 404 (rusoto/rusoto#215,
#: huseyinbabal/taws#165), and dynalite, which reproduces DynamoDB's answers byte for byte,
#: gives 404 ``UnknownOperationException`` for any body not sent as
#: ``application/x-amz-json-1.0`` or ``application/json``, and accepts parameters such as
#: ``; charset=UTF-8`` (architect/dynalite#38). A request without a body passes, as there.
#: Where AWS answers that 404 with a bare XML body, we keep the JSON fault form, which
#: every SWF client parses.
REQUEST_CONTENT_TYPES = frozenset({CONTENT_TYPE, "application/json"})
SERVICE_NAME = f"local/{__version__}"
#: Operations that may wait for work (long polls), watched for a client hang-up.
LONG_POLLS = frozenset({"PollForDecisionTask", "PollForActivityTask"})

_REASONS = {
    100: "Continue", 200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 411: "Length Required", 413: "Payload Too Large",
    431: "Request Header Fields Too Large", 500: "Internal Server Error", 503: "Service Unavailable",
}
# Request ids shaped like AWS's (a UUID): a random per-process prefix and a counter, which
# is unique without a urandom() system call per request.
_REQUEST_ID_PREFIX = str(uuid.uuid4())[:24]
_request_numbers = itertools.count(1)
# How much of an oversized body is read and thrown away after the answer, so closing the
# socket does not reset the connection before the client read the fault.
_DRAIN_BYTES = 8 * MAX_BODY_BYTES
_DRAIN_SECONDS = 2.0


# The real poll(2), not gevent's: asking whether a peer hung up must never yield.
_select_poll = monkey.get_original("select", "poll")
#: Linux's "the peer closed its end" flag (not in every Python build's select module).
_POLLRDHUP = getattr(select, "POLLRDHUP", 0)
_HUNG_UP_EVENTS = _POLLRDHUP | select.POLLHUP | select.POLLERR | select.POLLNVAL
#: libev's "readable" event mask (EV_READ).
_READABLE = 1


def peer_hung_up(sock: Any) -> bool:
    """Whether the peer of a connected socket has closed or reset it, asked without waiting.

    Pending unread bytes (a pipelined request) are not a hang-up. Where the system has no
    ``POLLRDHUP`` (not Linux), only a reset or an error is seen here.
    """
    try:
        fd = sock.fileno()
    except OSError:
        return True
    if fd < 0:
        return True
    poller = _select_poll()
    poller.register(fd, select.POLLIN | _POLLRDHUP)
    return any(events & _HUNG_UP_EVENTS for _, events in poller.poll(0))


def _reject_constant(name: str):
    # NaN and Infinity are not JSON; Python's parser accepts them unless told not to.
    raise ValueError(f"{name} is not a valid JSON value")


# Built once: json.loads() with options builds a new decoder on every call.
_decode = json.JSONDecoder(parse_constant=_reject_constant).decode


class OperationHandler(Protocol):
    """What the HTTP layer needs of the service core: something that answers operations
    (:class:`greenflow.local._operations.Operations`, or a fake in tests)."""

    def handle(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Answer one validated request; raise :class:`~._faults.Fault` for a fault."""


class _HungUp(ConnectionError):
    """The client closed its connection while its long poll waited; nothing is answered."""


class _BadRequest(Exception):
    """The bytes on the wire are not an HTTP request we can answer in place; close after."""

    def __init__(self, status: int, fault: Fault):
        super().__init__(fault.message)
        self.status = status
        self.fault = fault


def _common_fault(code: str, message: str, status: int = 400) -> Fault:
    return Fault(code, message, namespace=COMMON_NAMESPACE, status=status)


class SWFProtocolHandler:
    """Serves SWF's JSON protocol on accepted sockets (a ``StreamServer`` handle).

    Args:
        core: answers validated requests (``handle(operation, params) -> dict``).
        verifier: checks SigV4 signatures; ``None`` accepts unsigned requests.
        validator: checks requests against the model (the process-wide one by default).
        max_body: the largest request body accepted, in bytes.
        limits: request and idle timeouts and the connection cap (see :mod:`._connections`).
        emulation: the AWS-like mode (latency, throttling, server errors on every call);
            ``None`` serves calls as fast as it can.
    """

    def __init__(self, core: OperationHandler, *, verifier: SigV4Verifier | None = None,
                 validator: RequestValidator | None = None, max_body: int = MAX_BODY_BYTES,
                 limits: ConnectionLimits | None = None, emulation: AWSEmulation | None = None):
        self.core = core
        # The core's ``answer(operation, params, headers)`` when it has one: it also applies
        # the greenflow extensions the headers ask for. A core without it only ``handle``s.
        answer = getattr(core, "answer", None)
        self._call_core: Callable[[str, dict, Mapping[str, str]], dict] = (
            answer if answer is not None else lambda operation, params, headers: core.handle(operation, params))
        self.limits = limits or ConnectionLimits()
        self.connections = ConnectionRegistry(self.limits.connection_cap)
        self.emulation = emulation
        if emulation is not None and emulation.sleep is None:
            emulation.sleep = gevent.sleep
        self.verifier = verifier
        self.validator = validator or default_validator()
        self.max_body = max_body
        self.operations = frozenset(_model.operation_names())
        # "SimpleWorkflowService.": the X-Amz-Target prefix of SWF's operations.
        self.target_prefix = _model.service_model().metadata["targetPrefix"] + "."
        self.stopping = False
        #: Told ``(operation, HTTP status, seconds)`` after each answer (service metrics), or None.
        self.observer: Callable[[str, int, float], None] | None = None
        self._active = 0  # requests being answered right now
        self._idle = Event()
        self._idle.set()

    # ------------------------------------------------------------------ lifecycle

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait (cooperatively) until no request is being answered; ``False`` on timeout."""
        return self._idle.wait(timeout)

    @property
    def active_requests(self) -> int:
        """How many requests are being answered right now (long polls included)."""
        return self._active

    # ------------------------------------------------------------------ connections

    def __call__(self, sock: socket.socket, address: Any) -> None:
        """Serve one connection until the client closes it (keep-alive)."""
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not TCP (tests over socketpair); nothing to tune
        buffer = bytearray()
        me = gevent.getcurrent()
        self.connections.opened(me)
        # A new connection must start its request as soon as a request may take.
        wait_for_request = self.limits.request_timeout
        try:
            while not self.stopping:
                try:
                    request = self._read_request(sock, buffer, wait_for_request)
                except _BadRequest as error:
                    self._send(sock, error.status, error.fault.to_wire(), close=True)
                    return
                if request is None:
                    return  # the client closed the connection
                keep_alive = self._serve(sock, buffer, *request)
                if not keep_alive:
                    return
                self.connections.waiting(me)
                wait_for_request = self.limits.idle_timeout
        except (ConnectionError, TimeoutError):
            return  # the client went away mid-request
        except OSError as error:
            log.debug("connection from %s failed: %s", address, error)
        except Exception:
            # A bug in this layer: log it and drop the connection, never the server.
            log.exception("serving the connection from %s failed", address)
        finally:
            self.connections.closed(me)
            try:
                sock.close()
            except OSError:
                pass

    def _read_request(self, sock, buffer: bytearray, wait: float):
        """Read a request line and headers; ``None`` at a clean end of the connection.

        Waits up to ``wait`` seconds for the request's first byte; from then on the whole
        request must arrive within the request timeout (``TimeoutError`` otherwise).
        """
        end = buffer.find(b"\r\n\r\n")
        deadline = time.monotonic() + (self.limits.request_timeout if buffer else wait)
        while end < 0:
            if len(buffer) > MAX_HEAD_BYTES:
                break
            started = bool(buffer)
            data = _recv_by(sock, deadline)
            if not started:
                deadline = time.monotonic() + self.limits.request_timeout  # its first byte came
            if not data:
                if buffer.strip():
                    raise ConnectionError("connection closed mid-request")
                return None
            buffer += data
            end = buffer.find(b"\r\n\r\n", max(0, len(buffer) - len(data) - 3))
        if end < 0 or end > MAX_HEAD_BYTES:
            raise _BadRequest(431, _common_fault("SerializationException", "Request headers are too large"))
        head = buffer[:end].decode("latin-1")
        del buffer[: end + 4]
        lines = head.split("\r\n")
        # Tolerate stray empty lines between requests (RFC 9112 §2.2).
        while lines and not lines[0]:
            lines.pop(0)
        parts = lines[0].split(" ") if lines else []
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _BadRequest(400, _common_fault("SerializationException", "Malformed HTTP request line"))
        method, target, version = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name or name[0] in " \t":
                raise _BadRequest(400, _common_fault("SerializationException", "Malformed HTTP header"))
            name = name.lower()
            value = value.strip()
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        return method, target, version, headers, deadline

    def _serve(self, sock, buffer: bytearray, method: str, target: str, version: str,
               headers: dict[str, str], deadline: float) -> bool:
        """Answer one request whose body must arrive by ``deadline`` (monotonic);
        returns whether the connection stays open."""
        connection = headers.get("connection", "").lower()
        keep_alive = ("keep-alive" in connection) if version == "HTTP/1.0" else ("close" not in connection)

        if "transfer-encoding" in headers:
            # No SWF client sends chunked bodies; refuse rather than misread the stream.
            fault = _common_fault("SerializationException",
                                  "Chunked request bodies are not supported; send Content-Length")
            self._send(sock, 411, fault.to_wire(), close=True)
            return False
        length_text = headers.get("content-length", "0")
        if not (length_text.isascii() and length_text.isdigit()):
            self._send(sock, 400, _common_fault("SerializationException", "Invalid Content-Length").to_wire(),
                       close=True)
            return False
        length = int(length_text)
        if length > self.max_body:
            self._refuse_body(sock, buffer, length, headers)
            return False
        if headers.get("expect", "").lower() == "100-continue" and len(buffer) < length:
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        while len(buffer) < length:
            data = _recv_by(sock, deadline, max(65536, length - len(buffer)))
            if not data:
                raise ConnectionError("connection closed mid-body")
            buffer += data
        body = bytes(buffer[:length])
        del buffer[:length]

        self.connections.answering(gevent.getcurrent())
        self._active += 1
        self._idle.clear()
        began = time.perf_counter()
        try:
            if self.emulation is not None:
                self.emulation.wait()  # the request's way to the service
            woken = wakes()
            status, answer = self._answer(method, target, headers, body, sock, buffer)
            if wakes() != woken:
                # This request woke a waiting poll (a task it scheduled, a close it made): let
                # that poll answer first. Its answer carries the workflow forward; this one
                # only acknowledges.
                gevent.sleep(0)
            if self.emulation is not None:
                self.emulation.wait()  # the answer's way back
        finally:
            self._active -= 1
            if not self._active:
                self._idle.set()
        if self.observer is not None:
            self.observer(headers.get("x-amz-target", "").rpartition(".")[2], status, time.perf_counter() - began)
        keep_alive = keep_alive and not self.stopping
        self._send(sock, status, answer, close=not keep_alive, http10=version == "HTTP/1.0")
        return keep_alive

    def _refuse_body(self, sock, buffer: bytearray, length: int, headers: Mapping[str, str]) -> None:
        fault = _common_fault(
            "RequestEntityTooLargeException",
            f"Request body of {length} bytes exceeds the limit of {self.max_body} bytes", status=413)
        self._send(sock, 413, fault.to_wire(), close=True)
        if headers.get("expect", "").lower() == "100-continue":
            return  # the client waits for our go-ahead and will not send the body
        # Read and discard a bounded amount of what the client is still sending, so the
        # close does not reset the connection before it read the fault.
        remaining = min(length - len(buffer), _DRAIN_BYTES)
        buffer.clear()
        try:
            with gevent.Timeout(_DRAIN_SECONDS, False):
                sock.shutdown(socket.SHUT_WR)
                while remaining > 0:
                    data = sock.recv(65536)
                    if not data:
                        break
                    remaining -= len(data)
        except OSError:
            pass

    # ------------------------------------------------------------------ requests

    def _answer(self, method: str, target: str, headers: Mapping[str, str], body: bytes,
                sock: Any = None, buffer: bytearray | None = None) -> tuple[int, dict]:
        """The status and JSON answer of one request; never raises for the client's input.

        With ``sock`` (and its read ``buffer``), a long poll is watched for the client
        hanging up, which raises :class:`_HungUp` instead of answering.
        """
        amz_target = ""
        try:
            if method != "POST":
                raise _common_fault("UnknownOperationException",
                                    f"Method {method} is not supported; SWF requests are POST /", status=405)
            if target.partition("?")[0] != "/":
                raise _common_fault("UnknownOperationException",
                                    f"Path {target!r} is not an SWF endpoint; SWF requests are POST /", status=404)
            if body:
                media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
                if media_type not in REQUEST_CONTENT_TYPES:
                    raise _common_fault(
                        "UnknownOperationException",
                        f"Content-Type {media_type!r} is not supported; SWF requests are sent as {CONTENT_TYPE}"
                        if media_type else f"Missing Content-Type; SWF requests are sent as {CONTENT_TYPE}",
                        status=404)
            amz_target = headers.get("x-amz-target", "")
            if amz_target == LOCAL_EXTENSION_TARGET:  # read-only; signed like any request
                if self.verifier is not None:
                    self.verifier.verify(method, target, headers, body)
                return 200, self.core.handle(EXTENSION_OPERATION, self._parse_json(body))
            prefix = self.target_prefix
            operation = amz_target[len(prefix):] if amz_target.startswith(prefix) else None
            if operation not in self.operations:
                raise _common_fault("UnknownOperationException",
                                    f"Unknown operation: X-Amz-Target {amz_target!r}" if amz_target
                                    else "Missing X-Amz-Target header")
            if self.verifier is not None:
                self.verifier.verify(method, target, headers, body)
            if self.emulation is not None:
                self.emulation.admit(operation)  # throttled or failed as Amazon SWF might
            params = self._parse_json(body)
            # A lone surrogate can only be written as a \ud800-\udfff escape: search only then.
            self.validator.validate(operation, params, surrogates_possible=b"\\ud" in body or b"\\uD" in body)
            hold = (parse_close_wait(headers.get(CLOSE_WAIT_HEADER))
                    if operation == "ListClosedWorkflowExecutions" else None)
            if sock is not None and (hold or operation in LONG_POLLS and not params.get("nextPageToken")):
                result = self._poll_watched(sock, buffer, operation, params, headers, hold=hold)
            else:
                result = self._call_core(operation, params, headers)
            return 200, result if result is not None else {}
        except Fault as fault:
            return fault.status, fault.to_wire()
        except _HungUp:
            raise  # nobody to answer: the connection is closed without one
        except Exception:
            # A bug in the service, never the client's fault. The core has already left
            # its transaction (rolled back) by the time the exception reaches us.
            log.exception("%s failed with an unexpected error", amz_target or "a request")
            return 500, _common_fault("InternalFailure", "The local SWF service failed to answer the request; "
                                      "see its log", status=500).to_wire()

    def _poll_watched(self, sock: Any, buffer: bytearray | None, operation: str, params: dict,
                      headers: Mapping[str, str], hold: tuple[float, int] | None = None) -> dict:
        """Run a long poll in this greenlet while a watcher reads the connection for a hang-up.

        ``hold`` (seconds, closes already listed) makes a ``ListClosedWorkflowExecutions``
        call a long poll too: it waits for an execution to close first
        (``greenflow.local._close_wait``).

        The watcher starts when the poll is about to wait (see :mod:`greenflow.local._waiting`).

        On EOF or a reset the watcher kills this greenlet with ``GreenletExit``; the engine
        is then waiting for a task (its only switch point while polling: taking a task
        and committing it happen without a switch), so its waiter is simply removed and no
        task is taken. Pipelined bytes are not a hang-up: they are appended to ``buffer``
        for the next request and the watch goes on. A client that only half-closes
        (``shutdown(SHUT_WR)``) during a long poll looks the same as one that hung up;
        SWF clients never do that.

        A task that wakes the poll in the same turn of the event loop as the hang-up (before
        the watcher could run) is not taken either: right before taking a task the engine
        asks :func:`peer_hung_up` (through :data:`._waiting.client_gone`), which sees the
        hang-up as soon as it reached this machine. What is left is a hang-up that arrives
        between that check and the answer's send (microseconds, no switch in between): that
        task is answered to a closed socket and recovered by its timeout, as on SWF for any
        lost answer.
        """
        handler = gevent.getcurrent()
        pending = buffer if buffer is not None else bytearray()
        hung_up: list[bool] = []
        watchers: list[Any] = []

        def watch() -> None:
            # Only once the poll is about to block: most polls find a task at once. An event
            # loop watcher rather than a greenlet reading the socket: spawning and killing
            # one per waiting poll cost ~75 us of the service's CPU.
            if not watchers:
                watcher = gevent.get_hub().loop.io(sock.fileno(), _READABLE)
                watchers.append(watcher)
                watcher.start(self._on_readable, sock, pending, handler, hung_up, watcher)

        announced = before_blocking.set(watch)
        asked = client_gone.set(lambda: bool(hung_up) or peer_hung_up(sock))
        try:
            if hold:
                hold_until_closed = getattr(self.core, "hold_until_closed", None)
                if hold_until_closed is not None:
                    hold_until_closed(params, hold)
            return self._call_core(operation, params, headers)
        except ClientGone:
            raise _HungUp(f"the client hung up during {operation}") from None
        except gevent.GreenletExit:
            if hung_up:
                raise _HungUp(f"the client hung up during {operation}") from None
            raise  # the server is stopping
        finally:
            client_gone.reset(asked)
            before_blocking.reset(announced)
            if watchers:
                # Stopped before this greenlet reads the socket again (one reader at a time).
                watchers[0].stop()
                watchers[0].close()

    def _on_readable(self, sock: Any, pending: bytearray, handler: Any, hung_up: list, watcher: Any) -> None:
        """The event loop's callback (in the hub, so it never waits) when a waiting long
        poll's connection has something to read: pipelined bytes, EOF or an error."""
        raw = getattr(sock, "_sock", sock)  # the OS socket under gevent's
        try:
            data = raw.recv(65536, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return  # nothing to read after all
        except OSError:
            data = b""  # reset or broken: the client is gone too
        if data:
            pending += data  # a pipelined request: served after this poll
            if len(pending) > MAX_HEAD_BYTES + self.max_body:
                watcher.stop()  # more pipelined than one request can be: stop watching
            return
        watcher.stop()  # EOF: the client closed the connection
        log.debug("client hung up during a long poll; cancelling the poll")
        hung_up.append(True)
        gevent.kill(handler)

    @staticmethod
    def _parse_json(body: bytes) -> dict:
        if not body.strip():
            return {}  # some clients send no body for parameterless calls
        try:
            params = _decode(body.decode("utf-8"))
        except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
            raise _common_fault("SerializationException", f"Request body is not valid JSON: {error}") from None
        if type(params) is not dict:
            raise _common_fault("SerializationException", "Request body must be a JSON object")
        return params

    def _send(self, sock, status: int, answer: dict, *, close: bool = False, http10: bool = False) -> None:
        try:
            payload = _encode(answer).encode("utf-8")
        except (TypeError, ValueError):
            log.exception("cannot encode the answer %r", answer)
            status = 500
            payload = _encode(_common_fault("InternalFailure", "The local SWF service built an invalid answer",
                                            status=500).to_wire()).encode("utf-8")
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
            f"x-amzn-RequestId: {_REQUEST_ID_PREFIX}{next(_request_numbers) & 0xFFFFFFFFFFFF:012x}\r\n"
            f"{SERVICE_HEADER}: {SERVICE_NAME}\r\n"
            f"Content-Type: {CONTENT_TYPE}\r\n"
            f"Content-Length: {len(payload)}\r\n"
        )
        if close:
            head += "Connection: close\r\n"
        elif http10:
            head += "Connection: keep-alive\r\n"
        # One write for head and body: with TCP_NODELAY that is one segment, no Nagle stall.
        data = head.encode("latin-1") + b"\r\n" + payload
        # A client that does not read its answer has as long as it had to send its request.
        sock.settimeout(self.limits.request_timeout)
        # An answer almost always fits the socket buffer: one send() does it, without the
        # getsockopt() call and chunking that gevent's sendall() makes for every write.
        sent = sock.send(data)
        if sent < len(data):
            sock.sendall(memoryview(data)[sent:])


def _recv_by(sock: Any, deadline: float, size: int = 65536) -> bytes:
    """``sock.recv(size)``, raising ``TimeoutError`` if nothing came by ``deadline`` (monotonic)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("the client took too long to send its request")
    sock.settimeout(remaining)
    return sock.recv(size)
