"""Idle and slow connections are closed, the connection cap holds, long polls are never cut.

Real sockets on loopback against a real :class:`LocalService`, with short timeouts.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import socket
import time

import botocore.session
import pytest
from botocore.config import Config

from greenflow.local import LocalService
from greenflow.local.wire._connections import ConnectionLimits

from ..rawhttp import read_answer

DOMAIN = "conn"
TASK_LIST = {"name": "conn-tl"}
#: Long enough for anything these tests wait for; a wait this long means a hang.
PATIENCE = 15.0


def swf_client(service: LocalService):
    return botocore.session.get_session().create_client(
        "swf", region_name="us-east-1", endpoint_url=service.endpoint, aws_access_key_id="x",
        aws_secret_access_key="x", config=Config(read_timeout=PATIENCE, retries={"max_attempts": 0}))


def connect(service: LocalService) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", service.port), timeout=PATIENCE)
    return sock


def request_bytes(operation: str, params: dict) -> bytes:
    body = json.dumps(params).encode()
    return (f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: SimpleWorkflowService.{operation}\r\n"
            f"Content-Type: application/x-amz-json-1.0\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def closed_by_service(sock: socket.socket) -> bool:
    """Waits (up to :data:`PATIENCE`) for the service to close ``sock``."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_idle_keep_alive_connection_is_closed_after_the_idle_timeout():
    with LocalService(idle_timeout=0.3, request_timeout=PATIENCE) as service, connect(service) as sock:
        sock.sendall(request_bytes("ListDomains", {"registrationStatus": "REGISTERED"}))
        assert read_answer(sock)[0] == 200
        assert closed_by_service(sock)


def test_keep_alive_connection_in_use_stays_open():
    with LocalService(idle_timeout=0.5, request_timeout=PATIENCE) as service, connect(service) as sock:
        for _ in range(8):  # 1.6 s in all, three idle timeouts, never idle for one
            sock.sendall(request_bytes("ListDomains", {"registrationStatus": "REGISTERED"}))
            assert read_answer(sock)[0] == 200
            time.sleep(0.2)


def test_silent_new_connection_is_closed_after_the_request_timeout():
    with LocalService(request_timeout=0.3, idle_timeout=PATIENCE) as service, connect(service) as sock:
        assert closed_by_service(sock)


def dribble(sock: socket.socket, data: bytes) -> bool:
    """Send ``data`` a byte every 50 ms; whether the service closed the connection first."""
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            return True
        time.sleep(0.05)
    sock.settimeout(0.01)
    try:
        return sock.recv(1) == b""
    except (TimeoutError, BlockingIOError):
        return False
    except ConnectionResetError:
        return True


def test_request_head_sent_a_byte_at_a_time_is_cut_at_the_request_timeout():
    # Each byte comes well within the timeout; the head as a whole does not (slowloris).
    with LocalService(request_timeout=0.5, idle_timeout=PATIENCE) as service, connect(service) as sock:
        assert dribble(sock, b"POST / HTTP/1.1\r\nX-Slow: " + b"a" * 200)


def test_request_body_sent_a_byte_at_a_time_is_cut_at_the_request_timeout():
    with LocalService(request_timeout=0.5, idle_timeout=PATIENCE) as service, connect(service) as sock:
        head = request_bytes("ListDomains", {"registrationStatus": "REGISTERED" + " " * 200})
        head, _, body = head.partition(b"\r\n\r\n")
        sock.sendall(head + b"\r\n\r\n")
        assert dribble(sock, body)


def test_at_the_connection_cap_the_longest_idle_connection_makes_room(caplog):
    limits = {"max_connections": 6, "request_timeout": PATIENCE, "idle_timeout": PATIENCE}
    with caplog.at_level(logging.WARNING, logger="greenflow.local"), LocalService(**limits) as service:
        idle = [connect(service) for _ in range(6)]
        try:
            time.sleep(0.2)  # all accepted, in order
            # A real client is still served: an idle connection is closed for it.
            assert swf_client(service).list_domains(registrationStatus="REGISTERED")["domainInfos"] == []
            assert closed_by_service(idle[0])
        finally:
            for sock in idle:
                sock.close()
    assert any("connection cap reached" in record.getMessage() and "max_connections=6" in record.getMessage()
               for record in caplog.records)


def test_long_polls_outlive_every_limit():
    # Polls wait 1.5 s: longer than both timeouts. Idle connections push the service to its
    # cap again and again meanwhile; the polls are never the connections closed.
    with LocalService(poll_timeout=1.5, request_timeout=0.2, idle_timeout=0.2, max_connections=4) as service:
        swf_client(service).register_domain(name=DOMAIN, workflowExecutionRetentionPeriodInDays="1")
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            polls = [pool.submit(swf_client(service).poll_for_decision_task, domain=DOMAIN, taskList=TASK_LIST)
                     for _ in range(3)]
            time.sleep(0.3)
            pests = []
            for _ in range(6):
                pests.append(connect(service))
                time.sleep(0.1)
            answers = [poll.result(timeout=PATIENCE) for poll in polls]
            for sock in pests:
                sock.close()
        for answer in answers:
            assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
            assert answer.get("taskToken", "") == ""  # an empty task: the poll ran its course


@pytest.mark.parametrize("options", [
    {"request_timeout": 0}, {"idle_timeout": -1}, {"idle_timeout": True}, {"max_connections": 0},
    {"max_connections": 2.5},
])
def test_bad_limits_are_refused(options):
    with pytest.raises(ValueError):
        ConnectionLimits(**options)
    with pytest.raises(ValueError):
        LocalService(**options)
