"""Requests to the local service below botocore: raw bytes and bare ``http.client`` posts.

For tests that send what no SWF client would (forged signatures, broken HTTP, invalid
text) and read exactly what the service answers.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Mapping


def post(port: int, body: bytes, headers: Mapping[str, str]) -> tuple[int, dict]:
    """POST ``body`` to ``/`` on the loopback ``port``; the status and the JSON answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/", body=body, headers=dict(headers))
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP answer from ``sock``: status, headers (names in lower case), body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the service closed the connection without answering"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk, "the service closed the connection mid-answer"
        body += chunk
    return int(lines[0].split()[1]), headers, body
