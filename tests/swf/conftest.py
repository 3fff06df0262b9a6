"""Fixtures for the SWF client tests: a real SWF-compatible server on 127.0.0.1.

The local service when it imports; otherwise moto's server in a subprocess (its SWF mock
answers the operations these tests use, without long polls).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_local_service():
    """A started LocalService, or None while it is still being written (moto stands in)."""
    try:
        from greenflow.local import LocalService

        service = LocalService(db_path=":memory:", host="127.0.0.1", port=0, poll_timeout=1.0)
        service.start()
        return service
    except Exception:
        return None


@pytest.fixture(scope="session")
def swf_endpoint():
    """URL of a running SWF-compatible server, stopped after the session."""
    service = _start_local_service()
    if service is not None:
        try:
            yield service.endpoint
        finally:
            service.stop()
        return
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto server did not start")
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(params=["direct", "botocore"])
def swf(swf_endpoint, monkeypatch, request):
    """An SWFClient on the test server (environment cleared of endpoint/region settings), once
    per transport: the direct path local services get, and botocore's, which Amazon SWF gets."""
    from greenflow.swf import connect

    for name in ("GREENFLOW_ENDPOINT", "GREENFLOW_TRANSPORT", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    client = connect(swf_endpoint, transport=request.param)
    yield client
    client.close()


@pytest.fixture
def domain(swf):
    """A freshly registered domain name."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    swf.ensure_domain(name, retention_days=1)
    return name
