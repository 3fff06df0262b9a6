"""The embedded service as a child process (connect(embedded="process")): it serves, and it
never outlives its parent (clean stop, and the parent killed with SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from greenflow.swf import connect
from greenflow.swf._child import ChildService

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _wait_gone(pid: int, limit: float = 30.0) -> bool:
    """Whether process ``pid`` is gone within ``limit`` seconds (a bound, not a timing assert)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_process_mode_serves_unsigned_and_stops(tmp_path, monkeypatch):
    for name in ("GREENFLOW_ENDPOINT", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/greenflow-test-config")
    client = connect(db_path=str(tmp_path / "p.db"), embedded="process")
    service = client.local_service
    try:
        assert isinstance(service, ChildService) and service.running and service.pid != os.getpid()
        assert client.endpoint.startswith("http://127.0.0.1:")
        assert client.ensure_domain("child") is True
        assert client.call("DescribeDomain", name="child")["domainInfo"]["name"] == "child"
        assert client.cancels_polls_safely
    finally:
        client.close()
        service.stop()
    assert not service.running
    service.stop()  # twice is fine


def test_bad_mode_is_refused():
    with pytest.raises(ValueError, match="embedded"):
        connect(db_path=":memory:", embedded="fork")


def test_child_stops_when_its_parent_is_killed(tmp_path):
    script = (
        "import sys, time\n"
        "from greenflow.swf import connect\n"
        f"swf = connect(db_path={str(tmp_path / 'k.db')!r}, embedded='process')\n"
        "swf.ensure_domain('d')\n"
        "print(swf.local_service.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT,
                              env={**os.environ, "AWS_CONFIG_FILE": "/nonexistent/greenflow-test-config",
                                   "PYTHONPATH": ROOT})
    try:
        child = int(parent.stdout.readline())
        parent.send_signal(signal.SIGKILL)
        parent.wait(30)
        assert _wait_gone(child), "the embedded service process outlived its killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        parent.stdout.close()
    # What it acknowledged before the parent died is on disk.
    import sqlite3
    with sqlite3.connect(tmp_path / "k.db") as db:
        assert db.execute("SELECT name FROM domains").fetchall() == [("d",)]
